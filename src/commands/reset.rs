//! `reset N`: put chapter N's exercise back as it was shipped, after asking. Only the
//! exercise's `src/` changes; tests, snapshots and the learner's other chapters are untouched.
//!
//! "As shipped" is the version on the branch the workbook was cloned from (`origin/HEAD`), so a
//! learner who committed their work still gets the original back; without a remote, it is the
//! last commit.

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
    let shipped = workbook.shipped_revision();
    let status = Command::new("git")
        .args(["checkout", shipped, "--", &src])
        .current_dir(workbook.root())
        .status()
        .map_err(|e| format!("reset needs git, which could not run: {e}"))?;
    if !status.success() {
        return Err(format!("git could not restore {src}/ (is this a git checkout?)").into());
    }
    let from = if shipped == "HEAD" {
        "as last committed"
    } else {
        "as shipped (origin/HEAD)"
    };
    println!(
        "Restored {src}/ {from}. `cargo run -- check {}` to start again.",
        chapter.number
    );
    Ok(())
}
