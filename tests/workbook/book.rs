//! Building the book: the real one builds without a warning, and a broken one fails loudly.

use std::path::Path;

use jwt_workbook::workbook::Workbook;
use jwt_workbook::workbook::book::{self, BookError};

/// A one-chapter book in a temporary folder, its chapter text given.
fn fixture_book(chapter: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src/ch")).unwrap();
    std::fs::write(
        dir.path().join("book.toml"),
        "[book]\ntitle = \"fixture\"\n[build]\ncreate-missing = false\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/SUMMARY.md"),
        "# Summary\n\n- [Chapter](ch/index.md)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/ch/index.md"), chapter).unwrap();
    std::fs::write(
        dir.path().join("src/ch/code.rs"),
        "fn outside() {}\n// ANCHOR: shown\nfn shown() {}\n// ANCHOR_END: shown\n// ANCHOR: empty\n// ANCHOR_END: empty\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/ch/output.snap"),
        "---\nsource: x.rs\nexpression: y\n---\nreal output\n",
    )
    .unwrap();
    dir
}

fn build(book_dir: &Path) -> Result<tempfile::TempDir, BookError> {
    let out = tempfile::tempdir().unwrap();
    book::build(book_dir, out.path())?;
    Ok(out)
}

#[test]
fn the_workbook_book_builds_without_a_warning() {
    let out = build(&Workbook::at(env!("CARGO_MANIFEST_DIR")).book_dir())
        .unwrap_or_else(|e| panic!("{e}"));
    for page in [
        "index.html",
        "00-how-to-use/index.html",
        "01-anatomy/index.html",
    ] {
        let html = std::fs::read_to_string(out.path().join(page)).unwrap();
        assert!(!html.contains("{{#"), "{page} has an unprocessed directive");
    }
}

/// The API reference page is rendered from the server's OpenAPI document when the book is
/// built: every operation has its heading there.
#[test]
fn the_api_reference_page_lists_every_operation_of_the_document() {
    let out = build(&Workbook::at(env!("CARGO_MANIFEST_DIR")).book_dir())
        .unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(out.path().join("api-reference.html")).unwrap();
    assert!(!html.contains("{{#"), "an unprocessed directive");
    let document = jwt_workbook::http::schema::document();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let heading = format!(">{} {path}</a></h3>", method.to_uppercase());
            assert!(html.contains(&heading), "{heading} is not on the page");
            operations += 1;
        }
    }
    assert!(operations > 25, "{operations} operations");
    let chapter = std::fs::read_to_string(out.path().join("04-endpoints/index.html")).unwrap();
    assert!(chapter.contains("openapi-python-client generate"));
}

#[test]
fn every_include_in_the_workbook_book_resolves_to_an_anchored_region() {
    let problems =
        book::check_includes(&Workbook::at(env!("CARGO_MANIFEST_DIR")).book_dir()).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn anchored_includes_and_snapshots_are_rendered() {
    let dir = fixture_book(
        "# Chapter\n\n```rust,ignore\n{{#include code.rs:shown}}\n```\n\n```text\n{{#snapshot output.snap}}\n```\n",
    );
    let out = build(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(out.path().join("ch/index.html")).unwrap();
    assert!(html.contains("shown"), "{html}");
    assert!(
        !html.contains("outside"),
        "only the anchored region is shown"
    );
    assert!(html.contains("real output"), "{html}");
    assert!(
        !html.contains("expression: y"),
        "the snapshot's metadata is left out"
    );
}

#[test]
fn a_broken_include_fails_the_build_and_names_the_chapter() {
    for (directive, reason) in [
        ("{{#include code.rs:missing}}", "does not have"),
        ("{{#include code.rs:empty}}", "region is empty"),
        ("{{#include nowhere.rs:shown}}", "cannot read"),
        ("{{#include code.rs}}", "name an anchor"),
        ("{{#include code.rs:2:3}}", "line range"),
        ("{{#snapshot nowhere.snap}}", "cannot read"),
    ] {
        let dir = fixture_book(&format!("# Chapter\n\n{directive}\n"));
        let error = build(dir.path()).expect_err(directive).to_string();
        assert!(error.contains("ch/index.md"), "{directive}: {error}");
        assert!(error.contains(directive), "{directive}: {error}");
        assert!(error.contains(reason), "{directive}: {error}");
    }
}

#[test]
fn an_escaped_directive_is_left_alone() {
    let dir = fixture_book("# Chapter\n\nWrite `\\{{#include file.rs:anchor}}` in a chapter.\n");
    let out = build(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(out.path().join("ch/index.html")).unwrap();
    assert!(html.contains("{{#include file.rs:anchor}}"), "{html}");
}

#[test]
fn a_chapter_missing_from_disk_fails_the_build() {
    let dir = fixture_book("# Chapter\n");
    std::fs::write(
        dir.path().join("src/SUMMARY.md"),
        "# Summary\n\n- [Chapter](ch/index.md)\n- [Missing](missing.md)\n",
    )
    .unwrap();
    let error = build(dir.path()).expect_err("missing chapter").to_string();
    assert!(error.contains("missing.md"), "{error}");
}

#[test]
fn anything_mdbook_warns_about_fails_the_build() {
    // mdBook logs a footnote defined twice and builds the page anyway.
    let dir = fixture_book("# Chapter\n\nText[^a].\n\n[^a]: one\n\n[^a]: two\n");
    let error = build(dir.path()).expect_err("a warning").to_string();
    assert!(error.contains("footnote `a`"), "{error}");
}

/// The instructor's course outline and every chapter's own timing table agree, and each adds up.
#[test]
fn the_course_timings_add_up() {
    let src = Workbook::at(env!("CARGO_MANIFEST_DIR"))
        .book_dir()
        .join("src");
    if let Err(problems) = jwt_workbook::workbook::timings::check(&src) {
        panic!("{}", problems.join("\n"));
    }
}

#[test]
fn a_chapter_whose_timing_drifted_from_the_outline_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let table = |rows: &[(&str, &str)], total: &str| {
        let mut text = String::from("| Part | Time |\n|---|---|\n");
        for (label, time) in rows {
            text.push_str(&format!("| {label} | {time} |\n"));
        }
        text + &format!("| **Total** | **{total}** |\n")
    };
    std::fs::create_dir_all(src.join("instructor")).unwrap();
    std::fs::create_dir_all(src.join("01-demo")).unwrap();
    std::fs::write(
        src.join("instructor/index.md"),
        format!(
            "# Guide\n\n## Course outline\n\n{}\n\
             | Chapter | Minutes per step | Exercise | Pair up at |\n|---|---|---|---|\n\
             | 1 | 15 | 20 min | step 1 |\n",
            table(&[("1 Demo", "30 min")], "30 min")
        ),
    )
    .unwrap();
    std::fs::write(
        src.join("01-demo/index.md"),
        format!(
            "# Demo\n\n## Timing for instructors\n\n{}",
            table(&[("Read", "20 min"), ("Step 1", "20 min")], "about 35 min")
        ),
    )
    .unwrap();
    let problems = jwt_workbook::workbook::timings::check(src).unwrap_err();
    assert_eq!(
        problems,
        [
            "01-demo: the timing rows add up to 40 min, its Total says 35 min",
            "instructor/index.md: chapter 1's minutes per step are [15]; its own table says [20]",
            "instructor/index.md: chapter 1's steps add up to 15 min, its Exercise column says 20 min",
            "the course outline plans 30 min for chapter 1; the chapter says 35 min",
        ]
    );
}

/// Every "Read http://…#step-N" link that `check` and `hint` print leads, over HTTP from the
/// real binary serving this workbook's book, to a page that has that anchor.
#[test]
fn every_step_link_the_tools_print_leads_to_its_section_of_the_served_book() {
    use jwt_workbook::workbook::hints::ChapterHints;
    use jwt_workbook::workbook::report::{BOOK_URL, step_link};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = tempfile::tempdir().unwrap();
    let served = crate::served::Served::start(root, &["--data-dir", data.path().to_str().unwrap()]);
    let get = |path: &str| served.get(path);

    let workbook = Workbook::at(root);
    let mut followed = 0;
    let mut broken = Vec::new();
    for chapter in workbook.chapters().unwrap() {
        let hints = ChapterHints::load(&workbook, &chapter).unwrap();
        for step in &hints.step {
            let link = step_link(&chapter, step.number);
            let (page, anchor) = link
                .strip_prefix(BOOK_URL)
                .and_then(|rest| rest.split_once('#'))
                .unwrap_or_else(|| panic!("{link} is not a link into the book"));
            let response = get(page);
            followed += 1;
            if !response.starts_with("HTTP/1.1 200")
                || !response.contains(&format!("id=\"{anchor}\""))
            {
                broken.push(link);
            }
        }
    }
    drop(served);
    assert!(broken.is_empty(), "links to nowhere: {broken:#?}");
    assert!(followed >= 30, "only {followed} step links were followed");
}
