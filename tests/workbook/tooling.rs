//! The learner's tools against a small workbook built in a temporary folder: one chapter whose
//! exercise is solved step by step while the tools watch.

use std::path::Path;
use std::process::Command;

use jwt_workbook::workbook::Workbook;

use crate::served::Served;
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
const UNSOLVED: &str = "// ANCHOR: answer\npub fn answer() -> u32 {\n    panic!(\"not yet implemented\")\n}\n// ANCHOR_END: answer\n\npub fn double(x: u32) -> u32 {\n    let _ = x;\n    panic!(\"not yet implemented\")\n}\n";
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
    write(
        &root.join("book/book.toml"),
        "[book]\ntitle = \"Demo\"\nsrc = \"src\"\n",
    );
    write(
        &root.join("book/src/SUMMARY.md"),
        "# Summary\n\n- [Demo](01-demo/index.md)\n",
    );
    write(
        &root.join("book/src/01-demo/index.md"),
        "# Chapter 1: the demo chapter\n\n## Step 1 {#step-1}\n\n\
         ```rust,ignore\n{{#include ../../../exercises/01-demo/src/lib.rs:answer}}\n```\n\n\
         ## Step 2 {#step-2}\n",
    );
    write(&root.join(".gitignore"), "/target\n/data\n*.snap.new\n");
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
    assert!(
        text.contains("replace its placeholder at ") && text.contains("src/lib.rs:"),
        "the placeholder's file and line are named: {text}"
    );

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

/// The real binary, run in `dir` as a learner runs it, building into `target`.
fn workbook_tool(dir: &Path, target: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("JWT_WORKBOOK_DATA_DIR")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Two clones sharing one target directory run one and the same binary: each must check and
/// reset the exercises of the clone it runs in, never those of the checkout it was built from.
#[test]
fn two_clones_sharing_a_target_directory_each_act_on_their_own_exercises() {
    let (_a, a) = demo_workbook();
    let (_b, b) = demo_workbook();
    let target = tempfile::tempdir().unwrap();
    write(&exercise_lib(&a), SOLVED);

    let in_a = workbook_tool(a.root(), target.path(), &["check", "1"]);
    assert!(
        in_a.status.success(),
        "a's exercise is solved: {}",
        String::from_utf8_lossy(&in_a.stdout)
    );
    // From a folder inside the clone, as a learner in `exercises/01-demo` would run it.
    let in_b = workbook_tool(
        &b.root().join("exercises/01-demo"),
        target.path(),
        &["check", "1"],
    );
    assert!(!in_b.status.success(), "b's exercise is not solved");
    assert!(
        String::from_utf8_lossy(&in_b.stdout).contains("step 1"),
        "{}",
        String::from_utf8_lossy(&in_b.stdout)
    );

    write(&exercise_lib(&b), SOLVED);
    let reset = workbook_tool(b.root(), target.path(), &["reset", "1", "--yes"]);
    assert!(reset.status.success(), "{reset:?}");
    assert_eq!(std::fs::read_to_string(exercise_lib(&b)).unwrap(), UNSOLVED);
    assert_eq!(
        std::fs::read_to_string(exercise_lib(&a)).unwrap(),
        SOLVED,
        "a reset in b leaves a alone"
    );
}

#[test]
fn outside_a_workbook_the_learners_tools_say_where_to_run_them() {
    let elsewhere = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let output = workbook_tool(elsewhere.path(), target.path(), &["check", "1"]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("is not inside a jwt-workbook checkout"),
        "{error}"
    );
}

/// mdBook resolves a relative build directory against the book's own folder; the binary must
/// resolve it against the directory it runs in, as the user means it.
#[test]
fn a_relative_book_out_folder_is_where_the_user_runs_the_command() {
    let (_dir, workbook) = demo_workbook();
    let target = tempfile::tempdir().unwrap();
    let output = workbook_tool(
        workbook.root(),
        target.path(),
        &["book", "--out", "built-book"],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(workbook.root().join("built-book/index.html").is_file());
    assert!(
        workbook
            .root()
            .join("built-book/01-demo/index.html")
            .is_file()
    );
    assert!(!workbook.root().join("book/built-book").exists());
}

/// `cargo run` as a learner starts it: the default, relative `data` folder, and the book at `/`.
#[test]
fn the_default_relative_data_dir_serves_the_book_at_the_root() {
    let (_dir, workbook) = demo_workbook();
    let served = Served::start(workbook.root(), &[]);
    let get = |path| served.get(path);
    let home = get("/");
    let chapter = get("/01-demo/index.html");
    drop(served);
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains("the demo chapter"), "{home}");
    assert!(chapter.starts_with("HTTP/1.1 200"), "{chapter}");
    assert!(chapter.contains("id=\"step-1\""), "{chapter}");
    assert!(workbook.root().join("data/book/index.html").is_file());
    assert!(!workbook.root().join("book/data").exists());
}

/// The book shows each exercise as shipped: a learner's half-written code, or a deleted anchor
/// comment, neither shows up in the book nor stops it from building.
#[test]
fn the_book_shows_the_exercise_as_shipped_whatever_the_learner_did_to_it() {
    let (_dir, workbook) = demo_workbook();
    write(
        &exercise_lib(&workbook),
        "pub fn answer() -> u32 {\n    41 + 1 // my own try\n}\n",
    );
    let out = tempfile::tempdir().unwrap();
    jwt_workbook::workbook::book::build(&workbook.book_dir(), out.path())
        .unwrap_or_else(|e| panic!("the learner's edit broke the book: {e}"));
    let page = std::fs::read_to_string(out.path().join("01-demo/index.html")).unwrap();
    assert!(page.contains("not yet implemented"), "{page}");
    assert!(!page.contains("my own try"), "{page}");
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
