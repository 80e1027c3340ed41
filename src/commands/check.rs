//! `check [N]`: build a chapter's exercise, then run its suite, and say which step to work on
//! next, with a link to that step in the book. Without N, every chapter. An exercise that is not
//! solved yet is the normal state of things, not an error: `check` ends with how much is left,
//! and only its exit status tells a script so.

use super::{CommandError, Ending};
use crate::workbook::Workbook;
use crate::workbook::exercises::{Chapter, run_suite};
use crate::workbook::hints::ChapterHints;
use crate::workbook::report;

pub fn run(workbook: &Workbook, chapter: Option<&str>) -> Result<Ending, CommandError> {
    let chapters = match chapter {
        Some(name) => vec![workbook.chapter(name)?],
        None => workbook.chapters()?,
    };
    let mut left = Vec::new();
    for chapter in &chapters {
        if let Some(sentence) = check_chapter(workbook, chapter)? {
            left.push(sentence);
        }
    }
    if left.is_empty() {
        return Ok(Ending::Done);
    }
    // Last, where the eye lands when the tests' output has scrolled by.
    println!("{}", left.join("\n"));
    Ok(Ending::NotSolvedYet)
}

/// Prints one chapter's report; returns what is left of the chapter, in a sentence, unless it is
/// solved.
pub fn check_chapter(
    workbook: &Workbook,
    chapter: &Chapter,
) -> Result<Option<String>, CommandError> {
    if let Some(warning) = report::specification_warning(workbook, chapter) {
        eprintln!("{warning}");
    }
    let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
    let hints = ChapterHints::load(workbook, chapter).ok();
    println!(
        "{}",
        report::chapter_report(chapter, hints.as_ref(), &outcome)
    );
    Ok(report::what_is_left(chapter, &outcome))
}
