//! Tiered hints: `exercises/NN-topic/hints.toml` lists, for each step, hints from a nudge to
//! nearly the answer. Each `hint` call reveals the next one for the step the learner is on; how
//! many they have seen is kept in the data directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Workbook;
use super::exercises::{Chapter, WorkbookError};

/// A chapter's `hints.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChapterHints {
    pub step: Vec<StepHints>,
}

/// The hints of one step, and its title (the book's heading for it).
#[derive(Debug, Clone, Deserialize)]
pub struct StepHints {
    pub number: u32,
    pub title: String,
    pub hints: Vec<String>,
}

impl ChapterHints {
    pub fn load(workbook: &Workbook, chapter: &Chapter) -> Result<Self, WorkbookError> {
        let path = chapter.exercise_dir(workbook).join("hints.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| WorkbookError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| WorkbookError::Read {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string()),
        })
    }

    pub fn step(&self, number: u32) -> Option<&StepHints> {
        self.step.iter().find(|s| s.number == number)
    }

    /// The step's title, or a plain "Step N" when the file has none for it.
    pub fn title(&self, number: u32) -> String {
        self.step(number)
            .map_or_else(|| format!("Step {number}"), |s| s.title.clone())
    }
}

/// How many hints a learner has seen, per chapter and step, in `<data dir>/hints-seen.json`.
#[derive(Debug)]
pub struct HintsSeen {
    path: PathBuf,
    seen: BTreeMap<String, BTreeMap<u32, usize>>,
}

impl HintsSeen {
    pub fn load(data_dir: &Path) -> Self {
        let path = data_dir.join("hints-seen.json");
        let seen = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self { path, seen }
    }

    /// Counts one more hint seen for `step` and returns how many have now been seen, at most
    /// `available`.
    pub fn reveal(&mut self, chapter: &Chapter, step: u32, available: usize) -> usize {
        let count = self
            .seen
            .entry(chapter.slug.clone())
            .or_default()
            .entry(step)
            .or_default();
        *count = (*count + 1).min(available);
        *count
    }

    pub fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_vec_pretty(&self.seen).map_err(std::io::Error::other)?;
        std::fs::write(&self.path, text)
    }
}
