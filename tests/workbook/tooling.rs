//! The learner's tools against a small workbook built in a temporary folder: one chapter whose
//! exercise is solved step by step while the tools watch.

use std::path::Path;
use std::process::Command;

use jwt_workbook::workbook::Workbook;
use jwt_workbook::workbook::exercises::{Outcome, run_suite};
use jwt_workbook::workbook::hints::{ChapterHints, HintsSeen};
use jwt_workbook::workbook::report;

const SUITE: &str = r#"
use crate::sut::{answer, double};

#[test]
fn step1_the_answer_is_42() {
    assert_eq!(answer(), 42);
}

#[test]
fn step2_double_doubles() {
    assert_eq!(double(21), 42);
}
"#;

// An unwritten step panics the way the exercises' placeholder macro does.
const UNSOLVED: &str = "pub fn answer() -> u32 {\n    panic!(\"not yet implemented\")\n}\n\npub fn double(x: u32) -> u32 {\n    let _ = x;\n    panic!(\"not yet implemented\")\n}\n";
const STEP_ONE_SOLVED: &str = "pub fn answer() -> u32 {\n    42\n}\n\npub fn double(x: u32) -> u32 {\n    let _ = x;\n    panic!(\"not yet implemented\")\n}\n";
const SOLVED: &str =
    "pub fn answer() -> u32 {\n    42\n}\n\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n";

const HINTS: &str = r#"
[[step]]
number = 1
title = "Find the answer"
hints = ["Think of a number.", "It is 42."]

[[step]]
number = 2
title = "Double it"
hints = ["Multiply."]
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

/// A workspace with chapter `01-demo`: exercise, solution, shared suite, hints; committed to git.
fn demo_workbook() -> (tempfile::TempDir, Workbook) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"exercises/01-demo\", \"solutions/01-demo\"]\n",
    );
    for (kind, lib) in [("exercise", UNSOLVED), ("solution", SOLVED)] {
        let folder = root.join(format!("{kind}s/01-demo"));
        write(
            &folder.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"ch01-demo-{kind}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"
            ),
        );
        write(&folder.join("src/lib.rs"), lib);
        let suite = if kind == "exercise" {
            "suite/mod.rs"
        } else {
            "../../../exercises/01-demo/tests/suite/mod.rs"
        };
        write(
            &folder.join("tests/demo.rs"),
            &format!("use ch01_demo_{kind} as sut;\n#[path = \"{suite}\"]\nmod suite;\n"),
        );
    }
    write(&root.join("exercises/01-demo/tests/suite/mod.rs"), SUITE);
    write(&root.join("exercises/01-demo/hints.toml"), HINTS);
    write(&root.join(".gitignore"), "/target\n*.snap.new\n");
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "shipped"]);
    let workbook = Workbook::at(root);
    (dir, workbook)
}

fn exercise_lib(workbook: &Workbook) -> std::path::PathBuf {
    workbook.root().join("exercises/01-demo/src/lib.rs")
}

#[test]
fn a_chapter_is_found_by_number_folder_or_topic() {
    let (_dir, workbook) = demo_workbook();
    for name in ["1", "01", "01-demo", "demo"] {
        assert_eq!(workbook.chapter(name).unwrap().slug, "01-demo", "{name}");
    }
    let error = workbook.chapter("9").unwrap_err().to_string();
    assert!(error.contains("1 (01-demo)"), "{error}");
}

#[test]
fn check_follows_the_learner_from_step_to_step() {
    let (_dir, workbook) = demo_workbook();
    let chapter = workbook.chapter("1").unwrap();
    let hints = ChapterHints::load(&workbook, &chapter).unwrap();
    let package = chapter.exercise_package();

    let shipped = run_suite(workbook.root(), &package).unwrap();
    assert_eq!(shipped.first_failing_step(), Some(1));
    let text = report::chapter_report(&chapter, Some(&hints), &shipped);
    assert!(text.contains("✗ step 1  Find the answer"), "{text}");
    assert!(
        text.contains("http://127.0.0.1:8000/01-demo/index.html#step-1"),
        "{text}"
    );
    assert!(text.contains("is not written yet"), "{text}");

    std::fs::write(exercise_lib(&workbook), STEP_ONE_SOLVED).unwrap();
    let halfway = run_suite(workbook.root(), &package).unwrap();
    assert_eq!(halfway.first_failing_step(), Some(2));
    let text = report::chapter_report(&chapter, Some(&hints), &halfway);
    assert!(text.contains("✓ step 1"), "{text}");
    assert!(text.contains("Next: step 2, \"Double it\""), "{text}");

    std::fs::write(exercise_lib(&workbook), SOLVED.replace("x * 2", "x + 2")).unwrap();
    let wrong = run_suite(workbook.root(), &package).unwrap();
    let text = report::chapter_report(&chapter, Some(&hints), &wrong);
    assert!(text.contains("What failed:"), "{text}");
    assert!(
        text.contains("left: 23"),
        "the assertion's own message is shown: {text}"
    );

    std::fs::write(exercise_lib(&workbook), SOLVED).unwrap();
    let solved = run_suite(workbook.root(), &package).unwrap();
    assert!(solved.all_passed());
    let text = report::chapter_report(&chapter, Some(&hints), &solved);
    assert!(text.contains("is solved"), "{text}");
}

#[test]
fn code_that_does_not_compile_is_reported_before_any_test() {
    let (_dir, workbook) = demo_workbook();
    let chapter = workbook.chapter("1").unwrap();
    std::fs::write(
        exercise_lib(&workbook),
        "pub fn answer() -> u32 { \"forty-two\" }\n",
    )
    .unwrap();
    let outcome = run_suite(workbook.root(), &chapter.exercise_package()).unwrap();
    let Outcome::DoesNotBuild { output } = &outcome else {
        panic!("expected a build failure, got {outcome:?}");
    };
    assert!(output.contains("mismatched types"), "{output}");
    let text = report::chapter_report(&chapter, None, &outcome);
    assert!(text.contains("does not compile yet"), "{text}");
}

#[test]
fn hints_are_revealed_one_more_each_time_and_remembered() {
    let (_dir, workbook) = demo_workbook();
    let chapter = workbook.chapter("1").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut seen = HintsSeen::load(data.path());
    assert_eq!(seen.reveal(&chapter, 1, 2), 1);
    seen.save().unwrap();
    let mut seen = HintsSeen::load(data.path());
    assert_eq!(seen.reveal(&chapter, 1, 2), 2);
    assert_eq!(seen.reveal(&chapter, 1, 2), 2, "never beyond the last hint");
    assert_eq!(seen.reveal(&chapter, 2, 1), 1, "each step counts apart");
}

#[test]
fn editing_a_test_or_a_snapshot_is_warned_about() {
    let (_dir, workbook) = demo_workbook();
    let chapter = workbook.chapter("1").unwrap();
    assert_eq!(report::specification_warning(&workbook, &chapter), None);
    std::fs::write(exercise_lib(&workbook), SOLVED).unwrap();
    assert_eq!(
        report::specification_warning(&workbook, &chapter),
        None,
        "solving the exercise is not tampering"
    );
    let suite = workbook.root().join("exercises/01-demo/tests/suite/mod.rs");
    std::fs::write(&suite, SUITE.replace("42);", "0);")).unwrap();
    write(
        &workbook
            .root()
            .join("exercises/01-demo/tests/suite/snapshots/x.snap.new"),
        "accepted by hand",
    );
    let warning = report::specification_warning(&workbook, &chapter).unwrap();
    assert!(
        warning.contains("exercises/01-demo/tests/suite/mod.rs"),
        "{warning}"
    );
    assert!(warning.contains("x.snap.new"), "{warning}");
}

/// A learner who committed their attempt still gets the shipped exercise back from `reset`: the
/// version on the branch they cloned, not their own last commit.
#[test]
fn reset_restores_the_shipped_exercise_even_over_a_learners_commit() {
    let (upstream, _) = demo_workbook();
    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", upstream.path().to_str().unwrap(), "."],
    );
    let workbook = Workbook::at(clone.path());
    write(&exercise_lib(&workbook), STEP_ONE_SOLVED);
    git(clone.path(), &["commit", "-q", "-am", "my attempt"]);
    write(&exercise_lib(&workbook), SOLVED);

    jwt_workbook::commands::reset::run(&workbook, "1", true).unwrap();
    assert_eq!(
        std::fs::read_to_string(exercise_lib(&workbook)).unwrap(),
        UNSOLVED
    );

    // Without a remote to tell what was shipped, the last commit is all there is.
    let (_dir, local) = demo_workbook();
    write(&exercise_lib(&local), SOLVED);
    jwt_workbook::commands::reset::run(&local, "1", true).unwrap();
    assert_eq!(
        std::fs::read_to_string(exercise_lib(&local)).unwrap(),
        UNSOLVED
    );
}

/// `check` on an unsolved chapter did its job: it ends with what is left, as a sentence, and
/// tells a script through `Ending`, which the binary turns into a non-zero exit without an
/// `error:` line.
#[test]
fn check_ends_with_the_steps_left_rather_than_an_error() {
    use jwt_workbook::commands::{Ending, check};

    let (_dir, workbook) = demo_workbook();
    let chapter = workbook.chapter("1").unwrap();
    let package = chapter.exercise_package();
    let left = |workbook: &Workbook| {
        report::what_is_left(&chapter, &run_suite(workbook.root(), &package).unwrap())
    };

    assert_eq!(
        check::run(&workbook, Some("1")).unwrap(),
        Ending::NotSolvedYet
    );
    assert_eq!(
        left(&workbook).as_deref(),
        Some("2 of 2 steps left in chapter 1.")
    );
    std::fs::write(exercise_lib(&workbook), STEP_ONE_SOLVED).unwrap();
    assert_eq!(
        left(&workbook).as_deref(),
        Some("1 of 2 steps left in chapter 1.")
    );
    std::fs::write(
        exercise_lib(&workbook),
        "pub fn answer() -> u32 { \"42\" }\n",
    )
    .unwrap();
    assert_eq!(
        left(&workbook).as_deref(),
        Some("Chapter 1 does not compile yet.")
    );
    std::fs::write(exercise_lib(&workbook), SOLVED).unwrap();
    assert_eq!(left(&workbook), None);
    assert_eq!(check::run(&workbook, Some("1")).unwrap(), Ending::Done);
}
