//! `check [N]`: build a chapter's exercise, then run its suite, and say which step to work on
//! next, with a link to that step in the book. Without N, every chapter.

use super::CommandError;
use crate::workbook::Workbook;
use crate::workbook::exercises::{Chapter, run_suite};
use crate::workbook::hints::ChapterHints;
use crate::workbook::report;

pub fn run(workbook: &Workbook, chapter: Option<&str>) -> Result<(), CommandError> {
    let chapters = match chapter {
        Some(name) => vec![workbook.chapter(name)?],
        None => workbook.chapters()?,
    };
    let mut unsolved = 0;
    for chapter in &chapters {
        if !check_chapter(workbook, chapter)? {
            unsolved += 1;
        }
    }
    match unsolved {
        0 => Ok(()),
        // A non-zero exit lets `check` gate a script; the report above says why.
        _ => Err(format!("{unsolved} of {} chapter(s) not solved yet", chapters.len()).into()),
    }
}

/// Prints one chapter's report; true when it is solved.
pub fn check_chapter(workbook: &Workbook, chapter: &Chapter) -> Result<bool, CommandError> {
    if let Some(warning) = report::specification_warning(workbook, chapter) {
        eprintln!("{warning}");
    }
    let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
    let hints = ChapterHints::load(workbook, chapter).ok();
    println!(
        "{}",
        report::chapter_report(chapter, hints.as_ref(), &outcome)
    );
    Ok(outcome.all_passed())
}
