//! Building the book with the mdBook library, strictly: mdBook only logs a broken
//! `{{#include}}` and carries on, so we check every include ourselves first and treat anything
//! mdBook warns about as a failed build.
//!
//! The book shows no code that is not compiled and tested: chapters include anchored regions of
//! `src/`, `exercises/` and `solutions/`, and real output through `{{#snapshot path}}`, our own
//! directive that includes an insta snapshot without its metadata header. `{{#openapi}}`
//! renders the server's OpenAPI document (see [`super::api_reference`]).
//!
//! The exercises are included as shipped (from git), not from the learner's working copy: their
//! half-written code must not replace the starting code in the book, and a deleted `ANCHOR`
//! comment must not stop `cargo run` from starting.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mdbook_driver::MDBook;
use mdbook_driver::book::{Book, BookItem};
use mdbook_driver::builtin_preprocessors::LinkPreprocessor;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use super::Workbook;

/// Why the book could not be built. Each message names the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("the book's sources cannot be read: {0}")]
    Load(String),
    #[error("broken includes in the book:\n{}", list(.0))]
    BrokenIncludes(Vec<IncludeProblem>),
    #[error("mdBook failed to build the book: {0}")]
    Build(String),
    #[error("mdBook reported problems while building the book:\n{0}")]
    Warnings(String),
}

fn list(problems: &[IncludeProblem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One `{{#include}}` or `{{#snapshot}}` that does not resolve to something to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeProblem {
    /// The chapter file, relative to the book's `src/`.
    pub chapter: PathBuf,
    pub directive: String,
    pub reason: String,
}

impl std::fmt::Display for IncludeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}",
            self.chapter.display(),
            self.directive,
            self.reason
        )
    }
}

/// Builds the book whose `book.toml` is in `book_dir` into `out_dir` (created if needed).
/// Returns only when the build was clean: every include resolved, no warning from mdBook.
pub fn build(book_dir: &Path, out_dir: &Path) -> Result<(), BookError> {
    let book_dir = &std::path::absolute(book_dir).map_err(|e| BookError::Load(e.to_string()))?;
    let sources = Arc::new(Sources::for_book(book_dir));
    let problems = includes_problems(book_dir, &sources)?;
    if !problems.is_empty() {
        return Err(BookError::BrokenIncludes(problems));
    }
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let capture = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer({
            let log = log.clone();
            move || CapturedLog(log.clone())
        })
        .finish();
    // mdBook builds on this thread; its log lines come to `capture` instead of the terminal.
    tracing::subscriber::with_default(capture, || -> Result<(), BookError> {
        let mut book = MDBook::load(book_dir).map_err(|e| BookError::Load(format!("{e:#}")))?;
        book.config.build.build_dir = out_dir.to_path_buf();
        // Registered under the built-in's name, ours takes its place (and its turn, before
        // everything else); it hands what it does not expand itself on to the built-in.
        book.with_preprocessor(IncludePreprocessor {
            sources: sources.clone(),
        });
        book.with_preprocessor(SnapshotPreprocessor { sources });
        book.build().map_err(|e| BookError::Build(format!("{e:#}")))
    })?;
    let log = String::from_utf8_lossy(&log.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    if log.trim().is_empty() {
        Ok(())
    } else {
        Err(BookError::Warnings(log))
    }
}

/// A log writer appending to a shared buffer.
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every `{{#include path:anchor}}` and `{{#snapshot path}}` in the book's chapters, checked:
/// the file exists; an include names an anchor (never a line range, which silently shifts when
/// the code changes) whose region is not empty; a snapshot has a body.
pub fn check_includes(book_dir: &Path) -> Result<Vec<IncludeProblem>, BookError> {
    let book_dir = &std::path::absolute(book_dir).map_err(|e| BookError::Load(e.to_string()))?;
    includes_problems(book_dir, &Sources::for_book(book_dir))
}

fn includes_problems(book_dir: &Path, sources: &Sources) -> Result<Vec<IncludeProblem>, BookError> {
    let src = book_dir.join("src");
    let mut chapters = Vec::new();
    markdown_files(&src, &mut chapters).map_err(|e| BookError::Load(format!("{src:?}: {e}")))?;
    chapters.sort();
    let mut problems = Vec::new();
    for chapter in chapters {
        let text = std::fs::read_to_string(&chapter)
            .map_err(|e| BookError::Load(format!("{}: {e}", chapter.display())))?;
        let base = chapter.parent().unwrap_or(&src);
        let relative = chapter.strip_prefix(&src).unwrap_or(&chapter).to_path_buf();
        for directive in directives(&text) {
            if let Err(reason) = resolve(base, &directive, sources) {
                problems.push(IncludeProblem {
                    chapter: relative.clone(),
                    directive: directive.text.clone(),
                    reason,
                });
            }
        }
    }
    Ok(problems)
}

fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            markdown_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
    Ok(())
}

/// A `{{#kind argument}}` directive found in a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    kind: String,
    argument: String,
    text: String,
}

/// The include-like directives of a chapter, skipping escaped ones (`\{{#include …}}`).
fn directives(text: &str) -> Vec<Directive> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{#") {
        let escaped = start > 0 && rest.as_bytes()[start - 1] == b'\\';
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 3..start + length].trim();
        let (kind, argument) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        if !escaped
            && matches!(
                kind,
                "include" | "rustdoc_include" | "snapshot" | "playground" | "openapi"
            )
        {
            found.push(Directive {
                kind: kind.to_string(),
                argument: argument.trim().to_string(),
                text: rest[start..start + length + 2].to_string(),
            });
        }
        offset += start + length + 2;
        rest = &text[offset..];
    }
    found
}

/// Where the book's included files are read from: the working tree, except the exercises,
/// which are read as shipped whenever git has them.
struct Sources {
    /// The workbook around the book, and the revision its exercises were shipped at.
    workbook: Option<(Workbook, &'static str)>,
    shipped: Mutex<HashMap<PathBuf, Option<String>>>,
}

impl Sources {
    fn for_book(book_dir: &Path) -> Self {
        Self {
            workbook: Workbook::enclosing(book_dir).map(|w| {
                let revision = w.shipped_revision();
                (w, revision)
            }),
            shipped: Mutex::default(),
        }
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        if let Some((workbook, revision)) =
            self.workbook.as_ref().filter(|(w, _)| w.is_exercise(path))
        {
            let mut shipped = self.shipped.lock().unwrap_or_else(|e| e.into_inner());
            let text = shipped
                .entry(path.to_owned())
                .or_insert_with(|| workbook.shipped_file(revision, path));
            // A file the author has not committed yet is read as it is.
            if let Some(text) = text {
                return Ok(text.clone());
            }
        }
        std::fs::read_to_string(path)
    }
}

/// What a directive shows, or why it shows nothing.
fn resolve(base: &Path, directive: &Directive, sources: &Sources) -> Result<String, String> {
    match directive.kind.as_str() {
        "snapshot" => {
            let path = base.join(&directive.argument);
            let text = sources
                .read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let body = snapshot_body(&text);
            if body.trim().is_empty() {
                Err("is an empty snapshot".into())
            } else {
                Ok(body.to_string())
            }
        }
        "openapi" => Ok(super::api_reference::render(
            &crate::http::schema::document(),
        )),
        "include" | "rustdoc_include" => {
            let (file, anchor) = match directive.argument.split_once(':') {
                Some((file, anchor)) => (file, anchor),
                None => (directive.argument.as_str(), ""),
            };
            if anchor.is_empty() {
                return Err("includes a whole file: name an anchor (`path:anchor`)".into());
            }
            if anchor.starts_with(|c: char| c.is_ascii_digit()) {
                return Err("uses a line range: name an anchor instead".into());
            }
            let path = base.join(file);
            let text = sources
                .read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let region = anchored_region(&text, anchor)
                .ok_or_else(|| format!("names anchor `{anchor}`, which {file} does not have"))?;
            if region.trim().is_empty() {
                Err(format!("names anchor `{anchor}`, whose region is empty"))
            } else {
                Ok(region)
            }
        }
        _ => Err("is a playground, which needs the internet and cannot see our crates".into()),
    }
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, without other anchors' markers.
fn anchored_region(text: &str, anchor: &str) -> Option<String> {
    let is_marker = |line: &str, kind: &str| {
        line.split_once(kind)
            .is_some_and(|(_, name)| name.trim().trim_end_matches("-->").trim() == anchor)
    };
    let mut lines = text.lines();
    lines.by_ref().find(|line| is_marker(line, "ANCHOR:"))?;
    let mut region = Vec::new();
    for line in lines {
        if is_marker(line, "ANCHOR_END:") {
            return Some(region.join("\n"));
        }
        if !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            region.push(line);
        }
    }
    None
}

/// An insta snapshot without its `---`-fenced metadata header.
fn snapshot_body(text: &str) -> &str {
    text.strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map_or(text, |(_, body)| body)
}

/// Shifts the lines of every Rust code block left by the indentation they all share, so a
/// method included from inside an `impl` starts at the margin like the rest.
fn dedent_code_blocks(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut block: Option<Vec<&str>> = None;
    for line in content.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        match (&mut block, fence) {
            // Only Rust: a text block shows output, whose indentation is part of it.
            (None, true) if line.trim_start().starts_with("```rust") => {
                out.push_str(line);
                block = Some(Vec::new());
            }
            (None, _) => out.push_str(line),
            (Some(lines), false) => lines.push(line),
            (Some(lines), true) => {
                let shared = lines
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.len() - l.trim_start_matches(' ').len())
                    .min()
                    .unwrap_or(0);
                for l in lines.iter() {
                    out.push_str(
                        l.get(shared..)
                            .filter(|_| !l.trim().is_empty())
                            .unwrap_or(l.trim_start_matches(' ')),
                    );
                }
                out.push_str(line);
                block = None;
            }
        }
    }
    if let Some(lines) = block {
        lines.iter().for_each(|l| out.push_str(l));
    }
    out
}

/// The footer of every numbered chapter: the token inspector, served beside the book.
const INSPECTOR_LINK: &str = "\n\n---\n\nTake any token of this chapter apart in the \
    [token inspector](/inspector/), served by `cargo run` beside this book: it runs in your \
    browser and sends your token nowhere.\n";

/// `01-anatomy/index.md` and the like: the chapters that teach (not the how-to or the guide).
fn is_numbered_chapter(source: &Path) -> bool {
    source
        .components()
        .next()
        .and_then(|first| first.as_os_str().to_str())
        .is_some_and(|folder| {
            folder.len() > 3
                && folder.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                && !folder.starts_with("00")
        })
}

/// Replaces every directive of one kind in every chapter with what it shows, read through
/// `sources`; `finish` then gets each chapter's text and its source path.
fn expand(
    ctx: &PreprocessorContext,
    book: &mut Book,
    kinds: &[&str],
    sources: &Sources,
    finish: impl Fn(&mut String, &Path),
) -> mdbook_driver::errors::Result<()> {
    let src = ctx.root.join(&ctx.config.book.src);
    let mut failure = None;
    book.for_each_mut(|item| {
        let BookItem::Chapter(chapter) = item else {
            return;
        };
        let Some(source) = &chapter.source_path else {
            return;
        };
        let base = src
            .join(source)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(src.clone());
        for directive in directives(&chapter.content) {
            if !kinds.contains(&directive.kind.as_str()) {
                continue;
            }
            match resolve(&base, &directive, sources) {
                Ok(body) => {
                    chapter.content = chapter
                        .content
                        .replace(&directive.text, body.trim_end_matches('\n'));
                }
                Err(reason) => {
                    failure.get_or_insert(format!(
                        "{}: {} {reason}",
                        source.display(),
                        directive.text
                    ));
                }
            }
        }
        finish(&mut chapter.content, source);
    });
    match failure {
        Some(message) => Err(mdbook_driver::errors::Error::msg(message)),
        None => Ok(()),
    }
}

/// Expands `{{#include path:anchor}}` from [`Sources`] (the exercises as shipped), then lets
/// mdBook's own link preprocessor do the rest (escaped directives, titles). Named `links`, so
/// it replaces the built-in in its place.
struct IncludePreprocessor {
    sources: Arc<Sources>,
}

impl Preprocessor for IncludePreprocessor {
    fn name(&self) -> &str {
        LinkPreprocessor::NAME
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_driver::errors::Result<Book> {
        expand(
            ctx,
            &mut book,
            &["include", "rustdoc_include"],
            &self.sources,
            |_, _| {},
        )?;
        LinkPreprocessor::new().run(ctx, book)
    }
}

/// Replaces `{{#snapshot path}}` with the snapshot's body and `{{#openapi}}` with the API
/// reference, and dedents code blocks. Runs after the includes.
struct SnapshotPreprocessor {
    sources: Arc<Sources>,
}

impl Preprocessor for SnapshotPreprocessor {
    fn name(&self) -> &str {
        "snapshot"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_driver::errors::Result<Book> {
        expand(
            ctx,
            &mut book,
            &["snapshot", "openapi"],
            &self.sources,
            |content, source| {
                *content = dedent_code_blocks(content);
                if is_numbered_chapter(source) {
                    content.push_str(INSPECTOR_LINK);
                }
            },
        )?;
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchored_region_leaves_out_its_markers_and_nested_ones() {
        let text = "a\n// ANCHOR: outer\nb\n// ANCHOR: inner\nc\n// ANCHOR_END: inner\n// ANCHOR_END: outer\nd";
        assert_eq!(anchored_region(text, "outer").as_deref(), Some("b\nc"));
        assert_eq!(anchored_region(text, "inner").as_deref(), Some("c"));
        assert_eq!(anchored_region(text, "missing"), None);
        assert_eq!(anchored_region("// ANCHOR: open\nx", "open"), None);
    }

    #[test]
    fn directives_are_found_and_escaped_ones_skipped() {
        let text = "x {{#include ../a.rs:one}} y \\{{#include b.rs:two}} {{#title T}} {{#snapshot s.snap}}";
        let kinds: Vec<_> = directives(text)
            .into_iter()
            .map(|d| (d.kind, d.argument))
            .collect();
        assert_eq!(
            kinds,
            [
                ("include".to_string(), "../a.rs:one".to_string()),
                ("snapshot".to_string(), "s.snap".to_string())
            ]
        );
    }

    #[test]
    fn code_blocks_lose_the_indentation_all_their_lines_share() {
        let page = "text\n    indented prose\n```rust\n    fn a() {\n\n        b();\n    }\n```\n```text\n  output\n```\n";
        assert_eq!(
            dedent_code_blocks(page),
            "text\n    indented prose\n```rust\nfn a() {\n\n    b();\n}\n```\n```text\n  output\n```\n"
        );
    }

    #[test]
    fn a_snapshot_body_has_no_metadata() {
        let snap = "---\nsource: a.rs\nexpression: x\n---\nline 1\nline 2\n";
        assert_eq!(snapshot_body(snap), "line 1\nline 2\n");
    }
}
