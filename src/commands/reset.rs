//! `reset N`: put chapter N's exercise back as it was committed, after asking. Only the
//! exercise's `src/` changes; tests, snapshots and the learner's other chapters are untouched.

use std::io::{BufRead, Write};
use std::process::Command;

use super::CommandError;
use crate::workbook::Workbook;

pub fn run(workbook: &Workbook, chapter: &str, yes: bool) -> Result<(), CommandError> {
    let chapter = workbook.chapter(chapter)?;
    let src = format!("exercises/{}/src", chapter.slug);
    if !yes {
        print!(
            "This throws away your work in {src}/ and restores the exercise. Type `yes` to go on: "
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Nothing changed.");
            return Ok(());
        }
    }
    let status = Command::new("git")
        .args(["checkout", "HEAD", "--", &src])
        .current_dir(workbook.root())
        .status()
        .map_err(|e| format!("reset needs git, which could not run: {e}"))?;
    if !status.success() {
        return Err(format!("git could not restore {src}/ (is this a git checkout?)").into());
    }
    println!(
        "Restored {src}/ as committed. `cargo run -- check {}` to start again.",
        chapter.number
    );
    Ok(())
}
