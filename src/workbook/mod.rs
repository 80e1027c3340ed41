//! The workbook around the server: the book, the exercise crates and the learner's tools.
//!
//! A [`Workbook`] is a checkout of this repository. Chapter `N` has the exercise crate
//! `exercises/NN-topic` and its solution `solutions/NN-topic`, checked by one shared suite whose
//! tests are named `stepK_…` after the chapter's steps.

pub mod api_reference;
pub mod book;
pub mod exercises;
pub mod hints;
pub mod report;
pub mod timings;

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// A checkout of the workbook: the book, the exercises and the solutions.
#[derive(Debug, Clone)]
pub struct Workbook {
    root: PathBuf,
}

impl Workbook {
    /// The workbook a command run in `dir` acts on: the nearest folder, `dir` or above it, that
    /// holds `book/book.toml` and `exercises/`. Never the checkout the binary was compiled in:
    /// two clones sharing one `CARGO_TARGET_DIR` run the same binary on their own exercises.
    pub fn enclosing(dir: &Path) -> Option<Self> {
        dir.ancestors()
            .find(|root| root.join("book/book.toml").is_file() && root.join("exercises").is_dir())
            .map(Self::at)
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The mdBook sources (`book.toml`, `src/`).
    pub fn book_dir(&self) -> PathBuf {
        self.root.join("book")
    }

    /// The revision the exercises were shipped at: `origin/HEAD` when the workbook was cloned
    /// (it names the upstream branch, so a learner's own commits do not count), else `HEAD`.
    pub fn shipped_revision(&self) -> &'static str {
        let upstream = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                "refs/remotes/origin/HEAD",
            ])
            .current_dir(&self.root)
            .output();
        match upstream {
            Ok(output) if output.status.success() => "origin/HEAD",
            _ => "HEAD",
        }
    }

    /// A file of the workbook as shipped at `revision` (see [`Self::shipped_revision`]),
    /// whatever the learner has done to their copy; `None` when the workbook is not a git
    /// checkout or the file was not shipped.
    pub fn shipped_file(&self, revision: &str, path: &Path) -> Option<String> {
        let relative = normalize(path).strip_prefix(&self.root).ok()?.to_owned();
        let spec = format!("{revision}:{}", relative.to_str()?);
        let output = Command::new("git")
            .args(["show", &spec])
            .current_dir(&self.root)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).ok())
            .flatten()
    }

    /// True for a path inside the exercise crates, the files a learner edits.
    pub fn is_exercise(&self, path: &Path) -> bool {
        normalize(path).starts_with(self.root.join("exercises"))
    }
}

/// `path` with its `.` and `..` components folded away, without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
