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
    /// The checkout this binary was built from: `cargo run` always runs inside it.
    pub fn here() -> Self {
        Self::at(env!("CARGO_MANIFEST_DIR"))
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
