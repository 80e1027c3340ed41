//! `progress`: every chapter's steps, solved or not, from running the suites now (never from a
//! saved state that could go stale), with a progress bar.

use super::CommandError;
use crate::workbook::Workbook;
use crate::workbook::exercises::{Outcome, run_suite};
use crate::workbook::report;

pub fn run(workbook: &Workbook) -> Result<(), CommandError> {
    println!("{}", summary(workbook)?);
    Ok(())
}

/// The progress table, as `progress` prints it and the `cargo run` banner shows it.
pub fn summary(workbook: &Workbook) -> Result<String, CommandError> {
    let mut out = String::from("chapter          steps solved   next\n");
    let (mut done, mut total) = (0, 0);
    for chapter in workbook.chapters()? {
        let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
        let steps = outcome.steps();
        let (solved, count) = report::solved_steps(&steps);
        let next = match (&outcome, outcome.first_failing_step()) {
            (Outcome::DoesNotBuild { .. }, _) => "does not compile: cargo run -- check".to_string(),
            (_, Some(step)) => format!("step {step}: {}", report::step_link(&chapter, step)),
            (_, None) => "solved".to_string(),
        };
        out.push_str(&format!(
            "{:<16} {:<14} {next}\n",
            chapter.slug,
            report::progress_bar(solved, count, 6)
        ));
        done += solved;
        total += count;
    }
    out.push_str(&format!(
        "\nall steps        {}\n",
        report::progress_bar(done, total, 30)
    ));
    Ok(out)
}
