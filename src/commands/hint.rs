//! `hint N`: the next hint for the step of chapter N that the learner is on (the first one whose
//! tests fail). Each call reveals one more, from a nudge to nearly the answer.

use std::path::Path;

use super::CommandError;
use crate::workbook::Workbook;
use crate::workbook::exercises::{Outcome, run_suite};
use crate::workbook::hints::{ChapterHints, HintsSeen};
use crate::workbook::report;

pub fn run(workbook: &Workbook, chapter: &str, data_dir: &Path) -> Result<(), CommandError> {
    let chapter = workbook.chapter(chapter)?;
    let hints = ChapterHints::load(workbook, &chapter)?;
    let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
    let step = match (&outcome, outcome.first_failing_step()) {
        (Outcome::DoesNotBuild { .. }, _) => {
            println!(
                "The exercise does not compile yet. `cargo run -- check {}` shows the compiler's \
                 first error; fix that before anything else.",
                chapter.number
            );
            return Ok(());
        }
        (_, None) => {
            println!(
                "Chapter {} is solved: no hints needed. See the reference with `cargo run -- solution {}`.",
                chapter.number, chapter.number
            );
            return Ok(());
        }
        (_, Some(step)) => step,
    };
    let Some(step_hints) = hints.step(step).filter(|s| !s.hints.is_empty()) else {
        println!(
            "No hints for step {step} yet. Read {}",
            report::step_link(&chapter, step)
        );
        return Ok(());
    };
    let mut seen = HintsSeen::load(data_dir);
    let shown = seen.reveal(&chapter, step, step_hints.hints.len());
    seen.save()?;
    println!(
        "Step {step}, \"{}\" (hint {shown} of {}):\n",
        step_hints.title,
        step_hints.hints.len()
    );
    for (level, hint) in step_hints.hints.iter().take(shown).enumerate() {
        println!("  {}. {}\n", level + 1, hint.trim());
    }
    if shown < step_hints.hints.len() {
        println!("Run it again for the next hint.");
    }
    println!("The book: {}", report::step_link(&chapter, step));
    Ok(())
}
