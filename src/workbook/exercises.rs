//! The chapters' exercise crates, and running their shared suite through cargo.
//!
//! Results always come from running the tests now, never from a saved state, so progress cannot
//! go stale. The runner pins insta to "never write a snapshot": a learner's wrong answer must
//! not overwrite the expected one, whatever their environment says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Workbook;

/// One chapter of the workbook with an exercise: `exercises/NN-topic` and `solutions/NN-topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    pub number: u8,
    /// `NN-topic`, the name of its folders in `exercises/`, `solutions/` and `book/src/`.
    pub slug: String,
}

impl Chapter {
    /// The topic without the number: `anatomy` for `01-anatomy`.
    pub fn topic(&self) -> &str {
        self.slug
            .split_once('-')
            .map_or(&self.slug, |(_, topic)| topic)
    }

    /// `ch01-anatomy-exercise`: Cargo refuses package names that start with a digit.
    pub fn exercise_package(&self) -> String {
        format!("ch{:02}-{}-exercise", self.number, self.topic())
    }

    pub fn solution_package(&self) -> String {
        format!("ch{:02}-{}-solution", self.number, self.topic())
    }

    pub fn exercise_dir(&self, workbook: &Workbook) -> PathBuf {
        workbook.root().join("exercises").join(&self.slug)
    }

    pub fn solution_dir(&self, workbook: &Workbook) -> PathBuf {
        workbook.root().join("solutions").join(&self.slug)
    }

    /// The chapter's page in the book, relative to the book's root URL.
    pub fn book_page(&self) -> String {
        format!("{}/index.html", self.slug)
    }
}

/// Why a chapter or the workbook could not be used. Messages are for a learner at a terminal.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error("there is no chapter {0:?}; chapters with exercises: {1}")]
    NoSuchChapter(String, String),
    #[error("cannot read the workbook at {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run cargo: {0}")]
    Cargo(std::io::Error),
}

impl Workbook {
    /// Every chapter with an exercise crate, in order.
    pub fn chapters(&self) -> Result<Vec<Chapter>, WorkbookError> {
        let dir = self.root().join("exercises");
        let entries = std::fs::read_dir(&dir).map_err(|source| WorkbookError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut chapters: Vec<Chapter> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("Cargo.toml").is_file())
            .filter_map(|entry| {
                let slug = entry.file_name().to_str()?.to_string();
                let (number, topic) = slug.split_once('-')?;
                (number.len() == 2 && !topic.is_empty()).then_some(())?;
                Some(Chapter {
                    number: number.parse().ok()?,
                    slug,
                })
            })
            .collect();
        chapters.sort_by_key(|chapter| chapter.number);
        Ok(chapters)
    }

    /// The chapter a learner named: `1`, `01`, `01-anatomy` or `anatomy`.
    pub fn chapter(&self, name: &str) -> Result<Chapter, WorkbookError> {
        let chapters = self.chapters()?;
        let wanted = name.trim();
        let number = wanted.parse::<u8>().ok();
        chapters
            .iter()
            .find(|c| Some(c.number) == number || c.slug == wanted || c.topic() == wanted)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<String> = chapters
                    .iter()
                    .map(|c| format!("{} ({})", c.number, c.slug))
                    .collect();
                WorkbookError::NoSuchChapter(wanted.to_string(), known.join(", "))
            })
    }
}

/// What running a crate's suite found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The crate or its tests did not compile; `output` is the compiler's.
    DoesNotBuild { output: String },
    /// The suite ran. `output` is everything the tests printed (failures, snapshot diffs).
    Tested {
        tests: Vec<TestResult>,
        output: String,
    },
}

/// One test of a suite and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test's path inside its test binary, e.g. `suite::step1_split_cuts_a_token_at_its_two_dots`.
    pub name: String,
    pub passed: bool,
}

impl TestResult {
    /// The step a test checks, from its name: `step3_…` checks step 3.
    pub fn step(&self) -> Option<u32> {
        let name = self.name.rsplit("::").next()?;
        let digits: String = name
            .strip_prefix("step")?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

/// How far a chapter's exercise is, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepStatus {
    pub number: u32,
    pub passed: usize,
    pub total: usize,
}

impl StepStatus {
    pub fn solved(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

impl Outcome {
    /// Per-step totals, in step order. Empty when the crate does not build.
    pub fn steps(&self) -> Vec<StepStatus> {
        let Outcome::Tested { tests, .. } = self else {
            return Vec::new();
        };
        let mut steps: Vec<StepStatus> = Vec::new();
        for test in tests {
            let Some(number) = test.step() else { continue };
            let index = match steps.iter().position(|s| s.number == number) {
                Some(index) => index,
                None => {
                    steps.push(StepStatus {
                        number,
                        passed: 0,
                        total: 0,
                    });
                    steps.len() - 1
                }
            };
            steps[index].total += 1;
            steps[index].passed += usize::from(test.passed);
        }
        steps.sort_by_key(|s| s.number);
        steps
    }

    /// Every test ran and passed.
    pub fn all_passed(&self) -> bool {
        matches!(self, Outcome::Tested { tests, .. } if !tests.is_empty() && tests.iter().all(|t| t.passed))
    }

    /// The first step with a failing test.
    pub fn first_failing_step(&self) -> Option<u32> {
        self.steps()
            .into_iter()
            .find(|step| !step.solved())
            .map(|step| step.number)
    }
}

/// Builds, then tests, one package of the workspace at `root`.
pub fn run_suite(root: &Path, package: &str) -> Result<Outcome, WorkbookError> {
    let build = cargo(root, &["test", "--quiet", "-p", package, "--no-run"])?;
    if !build.status.success() {
        return Ok(Outcome::DoesNotBuild {
            output: String::from_utf8_lossy(&build.stderr).into_owned(),
        });
    }
    let run = cargo(root, &["test", "-p", package, "--no-fail-fast"])?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    Ok(Outcome::Tested {
        tests: parse_test_lines(&stdout),
        output: format!("{stdout}{stderr}"),
    })
}

fn cargo(root: &Path, args: &[&str]) -> Result<Output, WorkbookError> {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        // The workbook's own target directory, whatever CARGO_TARGET_DIR says: two clones
        // sharing one would share test binaries too, and cargo would run the other clone's
        // exercise when this one's sources are older than its build.
        .arg("--target-dir")
        .arg(root.join("target"))
        .current_dir(root)
        // A snapshot is the expected answer: never let a run write or accept one.
        .env("INSTA_UPDATE", "no")
        .env_remove("INSTA_FORCE_PASS")
        .env("CARGO_TERM_COLOR", "never")
        // insta's diffs are coloured when this asks, even into a pipe: we print them again.
        .env_remove("CLICOLOR_FORCE")
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(WorkbookError::Cargo)
}

/// The `test name ... ok` lines of libtest's output.
fn parse_test_lines(output: &str) -> Vec<TestResult> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, verdict) = rest.rsplit_once(" ... ")?;
            let passed = match verdict.trim() {
                "ok" => true,
                "FAILED" => false,
                _ => return None,
            };
            Some(TestResult {
                name: name.trim().to_string(),
                passed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_become_results_and_steps() {
        let output = "running 3 tests\n\
            test suite::step1_split ... ok\n\
            test suite::step2_alphabet ... FAILED\n\
            test suite::step1_refuses ... FAILED\n\
            test helper ... ok\n\
            test result: FAILED. 2 passed; 2 failed\n";
        let outcome = Outcome::Tested {
            tests: parse_test_lines(output),
            output: output.into(),
        };
        assert_eq!(
            outcome.steps(),
            [
                StepStatus {
                    number: 1,
                    passed: 1,
                    total: 2
                },
                StepStatus {
                    number: 2,
                    passed: 0,
                    total: 1
                }
            ]
        );
        assert_eq!(outcome.first_failing_step(), Some(1));
        assert!(!outcome.all_passed());
    }
}
