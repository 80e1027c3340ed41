//! `verify-workbook`: the workbook's invariants, for CI and for authors of chapters. Every
//! exercise builds and fails every test of its suite as shipped (a test that passes on an
//! unsolved exercise checks nothing the learner writes); every solution passes the same suite;
//! every step has its section in the book.

use super::CommandError;
use crate::workbook::hints::ChapterHints;
use crate::workbook::{Workbook, timings};
use std::collections::BTreeSet;

use crate::workbook::exercises::{Outcome, TestResult, run_suite};

pub fn run(workbook: &Workbook) -> Result<(), CommandError> {
    let chapters = workbook.chapters()?;
    if chapters.is_empty() {
        return Err("no exercise crates found in exercises/".into());
    }
    let mut problems = Vec::new();
    for chapter in &chapters {
        let name = &chapter.slug;
        println!("chapter {name}");
        let exercise = run_suite(workbook.root(), &chapter.exercise_package())?;
        match &exercise {
            Outcome::DoesNotBuild { output } => {
                problems.push(format!("{name}: the exercise does not build:\n{output}"))
            }
            Outcome::Tested { tests, .. } => {
                let passing: Vec<&str> = tests
                    .iter()
                    .filter(|t| t.passed)
                    .map(|t| t.name.as_str())
                    .collect();
                if tests.is_empty() {
                    problems.push(format!("{name}: the exercise's suite has no tests"));
                } else if !passing.is_empty() {
                    problems.push(format!(
                        "{name}: these tests pass on the unsolved exercise: {}",
                        passing.join(", ")
                    ));
                }
                if tests.iter().any(|t| t.step().is_none()) {
                    problems.push(format!("{name}: every test's name must start with stepN_"));
                }
                println!("  exercise builds; {} tests fail as shipped", tests.len());
            }
        }
        let solution = run_suite(workbook.root(), &chapter.solution_package())?;
        if solution.all_passed() {
            println!("  solution passes the same suite");
        } else {
            let output = match &solution {
                Outcome::DoesNotBuild { output } | Outcome::Tested { output, .. } => output,
            };
            problems.push(format!("{name}: the solution fails its suite:\n{output}"));
        }
        if let (Outcome::Tested { tests: ours, .. }, Outcome::Tested { tests: theirs, .. }) =
            (&exercise, &solution)
        {
            let names = |tests: &[TestResult]| -> BTreeSet<String> {
                tests.iter().map(|t| t.name.clone()).collect()
            };
            if names(ours) != names(theirs) {
                problems.push(format!(
                    "{name}: the exercise and the solution ran different suites"
                ));
            }
        }
        match ChapterHints::load(workbook, chapter) {
            Ok(hints) => {
                for step in solution.steps() {
                    if hints.step(step.number).is_none_or(|s| s.hints.is_empty()) {
                        problems.push(format!(
                            "{name}: hints.toml has no hints for step {}",
                            step.number
                        ));
                    }
                }
            }
            Err(error) => problems.push(format!("{name}: {error}")),
        }
        let page = workbook
            .book_dir()
            .join("src")
            .join(&chapter.slug)
            .join("index.md");
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        for step in solution.steps() {
            if !text.contains(&format!("{{#step-{}}}", step.number)) {
                problems.push(format!(
                    "{name}: {} has no section {{#step-{}}} for step {} (check links to it)",
                    page.display(),
                    step.number,
                    step.number
                ));
            }
        }
    }
    match timings::check(&workbook.book_dir().join("src")) {
        Ok(outline) => println!(
            "timings: every chapter adds up; the course takes {} h {} min",
            outline.total / 60,
            outline.total % 60
        ),
        Err(found) => problems.extend(found),
    }
    if problems.is_empty() {
        println!("the workbook holds together: {} chapter(s)", chapters.len());
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}
