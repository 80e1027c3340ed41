//! The workbook around the server: the book, the exercise crates and the learner's tools.
//!
//! A [`Workbook`] is a checkout of this repository. Chapter `N` has the exercise crate
//! `exercises/NN-topic` and its solution `solutions/NN-topic`, checked by one shared suite whose
//! tests are named `stepK_…` after the chapter's steps.

pub mod book;
pub mod exercises;
pub mod hints;
pub mod report;
pub mod timings;

use std::path::{Path, PathBuf};

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
}
