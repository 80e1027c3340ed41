//! `solution N`: the reference solution of chapter N, shown only once the learner's exercise
//! passes, so that it is a comparison and not a shortcut.

use super::CommandError;
use crate::workbook::Workbook;
use crate::workbook::exercises::run_suite;

pub fn run(workbook: &Workbook, chapter: &str) -> Result<(), CommandError> {
    let chapter = workbook.chapter(chapter)?;
    let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
    if !outcome.all_passed() {
        return Err(format!(
            "chapter {} is not solved yet, so its solution stays hidden. `cargo run -- check {}` \
             says which step is next, `cargo run -- hint {}` helps with it.",
            chapter.number, chapter.number, chapter.number
        )
        .into());
    }
    let path = chapter.solution_dir(workbook).join("src/lib.rs");
    let text = std::fs::read_to_string(&path)?;
    println!("{text}");
    println!(
        "// That was {}. Compare with yours: diff {} exercises/{}/src/lib.rs",
        path.display(),
        path.strip_prefix(workbook.root())
            .unwrap_or(&path)
            .display(),
        chapter.slug
    );
    // Chapter 6's step 10 is written in templates: show the solution's too.
    let templates = chapter.solution_dir(workbook).join("templates");
    if let Ok(entries) = std::fs::read_dir(&templates) {
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in files {
            println!(
                "\n// {}\n{}",
                file.display(),
                std::fs::read_to_string(&file)?
            );
        }
    }
    Ok(())
}
