//! What the learner's tools print: a chapter's steps with ticks, the next step with a link to
//! its section of the book, the output of the tests that failed, a progress bar, and a warning
//! when the specification (tests, snapshots) was edited.

use std::path::Path;
use std::process::Command;

use super::Workbook;
use super::exercises::{Chapter, Outcome, StepStatus};
use super::hints::ChapterHints;

/// Where `cargo run` serves the book.
pub const BOOK_URL: &str = "http://127.0.0.1:8000";

/// The link to a step's section of the book.
pub fn step_link(chapter: &Chapter, step: u32) -> String {
    format!("{BOOK_URL}/{}#step-{step}", chapter.book_page())
}

/// A chapter's steps, one line each, then what to do next.
pub fn chapter_report(
    chapter: &Chapter,
    hints: Option<&ChapterHints>,
    outcome: &Outcome,
) -> String {
    let title = |n: u32| hints.map_or_else(|| format!("Step {n}"), |h| h.title(n));
    let mut out = format!("Chapter {} · {}\n", chapter.number, chapter.slug);
    match outcome {
        Outcome::DoesNotBuild { output } => {
            out.push_str(output.trim_end());
            out.push_str(&format!(
                "\n\n✗ The exercise does not compile yet: fix the first error above, in exercises/{}/src/lib.rs.\n",
                chapter.slug
            ));
        }
        Outcome::Tested { .. } => {
            for step in outcome.steps() {
                let mark = if step.solved() { "✓" } else { "✗" };
                out.push_str(&format!(
                    "  {mark} step {}  {:<40} {}/{}\n",
                    step.number,
                    title(step.number),
                    step.passed,
                    step.total
                ));
            }
            match outcome.first_failing_step() {
                None => out.push_str(&format!(
                    "\nChapter {} is solved. Compare with the reference: cargo run -- solution {}\n",
                    chapter.number, chapter.number
                )),
                Some(step) => {
                    out.push_str(&format!(
                        "\nNext: step {step}, \"{}\".\n  Read   {}\n  Stuck? cargo run -- hint {}\n",
                        title(step),
                        step_link(chapter, step),
                        chapter.number
                    ));
                    let failures = failures_of_step(outcome, step);
                    // The message the exercises' placeholder macro panics with.
                    if failures.contains("not yet implemented") {
                        match placeholder_location(&failures) {
                            Some(at) => out.push_str(&format!(
                                "\nThis step is not written yet: replace its placeholder at {at} with your code.\n"
                            )),
                            None => out.push_str("\nThis step is not written yet: replace its placeholder with your code.\n"),
                        }
                    } else if !failures.is_empty() {
                        out.push_str("\nWhat failed:\n");
                        out.push_str(&failures);
                    }
                }
            }
        }
    }
    out
}

/// What is left of a chapter, in a sentence (`5 of 6 steps left in chapter 1.`), or `None` when
/// it is solved.
pub fn what_is_left(chapter: &Chapter, outcome: &Outcome) -> Option<String> {
    let number = chapter.number;
    if let Outcome::DoesNotBuild { .. } = outcome {
        return Some(format!("Chapter {number} does not compile yet."));
    }
    if outcome.all_passed() {
        return None;
    }
    let steps = outcome.steps();
    let left = steps.iter().filter(|step| !step.solved()).count();
    Some(match (left, steps.len()) {
        (_, 0) => format!("Chapter {number} is not solved yet: none of its tests ran."),
        (0, _) => format!("Chapter {number}: every step passes, but a test outside them fails."),
        (left, total) => format!("{left} of {total} steps left in chapter {number}."),
    })
}

/// Where the first placeholder a failing test reached sits (`exercises/02-claims/src/lib.rs:44:5`),
/// read from the panic message: `panicked at <file>:<line>:<column>:` followed by the
/// placeholder's own `not yet implemented`.
fn placeholder_location(failures: &str) -> Option<&str> {
    let lines: Vec<&str> = failures.lines().collect();
    lines.windows(2).find_map(|pair| {
        if !pair[1].starts_with("not yet implemented") {
            return None;
        }
        let (_, at) = pair[0].split_once("panicked at ")?;
        Some(at.trim_end().trim_end_matches(':'))
    })
}

/// The output libtest printed for the failing tests of one step (`---- name stdout ----`
/// sections: the panic message or the snapshot diff).
pub fn failures_of_step(outcome: &Outcome, step: u32) -> String {
    let Outcome::Tested { tests, output } = outcome else {
        return String::new();
    };
    let mut out = String::new();
    for test in tests.iter().filter(|t| !t.passed && t.step() == Some(step)) {
        let header = format!("---- {} stdout ----", test.name);
        let Some(start) = output.find(&header) else {
            continue;
        };
        let body = &output[start + header.len()..];
        let end = ["\n---- ", "\nfailures:\n"]
            .iter()
            .filter_map(|marker| body.find(marker))
            .min()
            .unwrap_or(body.len());
        let section = format!("{header}{}", &body[..end])
            .lines()
            .filter(|line| !is_noise(line))
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(section.trim_end());
        out.push_str("\n\n");
    }
    out
}

/// Lines of test output that only distract a learner: how to get a backtrace, and insta's
/// advice to accept new snapshots, which would overwrite the specification with their own
/// answer.
fn is_noise(line: &str) -> bool {
    line.starts_with("note: run with `RUST_BACKTRACE")
        || line.contains("cargo insta")
        || line.contains("INSTA_UPDATE")
}

/// `[#####.....]  5/10`.
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(width - filled)
    )
}

/// Totals over a chapter's steps: (solved, total).
pub fn solved_steps(steps: &[StepStatus]) -> (usize, usize) {
    (steps.iter().filter(|s| s.solved()).count(), steps.len())
}

/// Files of a chapter's specification (its tests and snapshots, its manifest) that differ from
/// git, plus snapshot files insta left beside them. Empty when nothing was touched, or when the
/// workbook is not a git checkout.
pub fn edited_specification(workbook: &Workbook, chapter: &Chapter) -> Vec<String> {
    let exercise = Path::new("exercises").join(&chapter.slug);
    let output = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--ignored",
            "--",
        ])
        .arg(exercise.join("tests"))
        .arg(exercise.join("Cargo.toml"))
        .arg(exercise.join("hints.toml"))
        .current_dir(workbook.root())
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| line.get(3..).unwrap_or(line).trim().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// The warning for [`edited_specification`], or nothing.
pub fn specification_warning(workbook: &Workbook, chapter: &Chapter) -> Option<String> {
    let edited = edited_specification(workbook, chapter);
    if edited.is_empty() {
        return None;
    }
    let mut out = String::from("⚠ These files are the chapter's specification and were changed:\n");
    for file in &edited {
        out.push_str(&format!("    {file}\n"));
    }
    out.push_str(&format!(
        "  Tests and snapshots say what the right answer is; edit only exercises/{}/src/.\n  Restore them with: git checkout -- exercises/{}/tests && git clean -f exercises/{}/tests\n",
        chapter.slug, chapter.slug, chapter.slug
    ));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workbook::exercises::TestResult;

    #[test]
    fn a_failure_is_shown_without_advice_to_accept_the_snapshot() {
        let output = "\
---- suite::step6_inspects_x stdout ----
Snapshot: step6_inspect_x
-  32 bytes
+  43 bytes
To update snapshots run `cargo insta review`
Stopped on the first failure. Run `cargo insta test` to run all snapshots.
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

failures:
";
        let outcome = Outcome::Tested {
            tests: vec![TestResult {
                name: "suite::step6_inspects_x".into(),
                passed: false,
            }],
            output: output.into(),
        };
        assert_eq!(
            failures_of_step(&outcome, 6),
            "---- suite::step6_inspects_x stdout ----\nSnapshot: step6_inspect_x\n-  32 bytes\n+  43 bytes\n\n"
        );
    }

    #[test]
    fn a_placeholder_is_found_by_the_file_and_line_of_its_panic() {
        let failures = "\
---- suite::step1_reads_x stdout ----

thread 'suite::step1_reads_x' (6722) panicked at exercises/02-claims/src/lib.rs:44:5:
not yet implemented
";
        assert_eq!(
            placeholder_location(failures),
            Some("exercises/02-claims/src/lib.rs:44:5")
        );
        let assertion =
            "thread 't' panicked at tests/suite/mod.rs:75:5:\nassertion `left == right` failed\n";
        assert_eq!(placeholder_location(assertion), None);
    }
}
