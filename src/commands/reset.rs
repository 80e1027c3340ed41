//! `reset N`: put chapter N's exercise back as it was shipped, after asking. Only what the
//! learner edits changes: the exercise's `src/`, and its `templates/` where it has some
//! (chapter 6); tests, snapshots and the learner's other chapters are untouched.
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
    let mut edited = vec![format!("exercises/{}/src", chapter.slug)];
    let templates = format!("exercises/{}/templates", chapter.slug);
    if workbook.root().join(&templates).is_dir() {
        edited.push(templates);
    }
    let src = edited
        .iter()
        .map(|folder| format!("{folder}/"))
        .collect::<Vec<_>>()
        .join(" and ");
    if !yes {
        print!(
            "This throws away your work in {src} and restores the exercise. Type `yes` to go on: "
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
        .args(["checkout", shipped, "--"])
        .args(&edited)
        .current_dir(workbook.root())
        .status()
        .map_err(|e| format!("reset needs git, which could not run: {e}"))?;
    if !status.success() {
        return Err(format!("git could not restore {src} (is this a git checkout?)").into());
    }
    let from = if shipped == "HEAD" {
        "as last committed"
    } else {
        "as shipped (origin/HEAD)"
    };
    println!(
        "Restored {src} {from}. `cargo run -- check {}` to start again.",
        chapter.number
    );
    Ok(())
}
