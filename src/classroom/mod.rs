//! Classroom mode: accounts for a list of students, and a class view that shows the instructor
//! where each student stands, fed by the students' own `progress --submit`.
//!
//! Each student's latest report is kept in the store ([`ProgressStore`]), so that restarting the
//! room's server in the middle of a class (a crash, a laptop that slept, new flags) does not
//! blank the instructor's view until every learner has submitted again.
//!
//! Everything of the feature is in this folder: the roster and the view here, its endpoints and
//! the class page in [`http`], the `classroom` subcommand in [`command`].

pub mod command;
pub mod http;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::storage::StoreError;
use crate::users::{Passwords, UserError, UserStore, create_user};

/// Limits on a submission, so that no student (or anyone with a token) can fill the memory.
pub const MAX_CHAPTERS: usize = 32;
pub const MAX_NAME: usize = 64;

/// Where one learner stands in one chapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChapterProgress {
    /// The chapter's folder name, e.g. `01-anatomy`.
    #[schema(min_length = 1, max_length = 64, example = "01-anatomy")]
    pub chapter: String,
    /// At most `total`.
    #[schema(maximum = 1000)]
    pub solved: u32,
    #[schema(maximum = 1000)]
    pub total: u32,
    /// The first step that fails; `None` when all pass, or when the exercise does not build.
    #[schema(required = false, maximum = 1000)]
    pub next_step: Option<u32>,
    pub builds: bool,
}

/// A learner's report, as `progress --submit` sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgressReport {
    #[schema(max_items = 32)]
    pub chapters: Vec<ChapterProgress>,
}

impl ProgressReport {
    /// Why the report is refused, if it is.
    pub fn problem(&self) -> Option<String> {
        if self.chapters.len() > MAX_CHAPTERS {
            return Some(format!("at most {MAX_CHAPTERS} chapters"));
        }
        self.chapters.iter().find_map(|c| {
            if c.chapter.is_empty() || c.chapter.chars().count() > MAX_NAME {
                Some(format!("a chapter name has 1 to {MAX_NAME} characters"))
            } else if c.solved > c.total || c.total > 1000 {
                Some(format!("{}: solved must be at most total", c.chapter))
            } else if c.next_step.is_some_and(|step| step > 1000) {
                Some(format!("{}: next_step must be at most 1000", c.chapter))
            } else {
                None
            }
        })
    }
}

/// A student's latest report, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedProgress {
    pub username: String,
    pub submitted_at: i64,
    pub report: ProgressReport,
}

/// Where the students' reports are kept.
#[async_trait]
pub trait ProgressStore: Send + Sync + 'static {
    /// Keeps a user's latest report, replacing the one before.
    async fn save_progress(
        &self,
        user_id: i64,
        submitted_at: i64,
        report: &ProgressReport,
    ) -> Result<(), StoreError>;
    /// Every user's latest report, with their username.
    async fn all_progress(&self) -> Result<Vec<SubmittedProgress>, StoreError>;
}

/// One row of the class view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StudentView {
    pub username: String,
    /// `None` until the student's first submission.
    pub submitted_at: Option<i64>,
    pub chapters: Vec<ChapterProgress>,
    /// Steps solved over all chapters, out of how many.
    pub solved: u32,
    pub total: u32,
    /// The first chapter not finished, and its next step: where to go and help.
    pub working_on: Option<String>,
}

/// Who is in the room: the instructor, and the students' usernames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    pub instructor: String,
    pub students: Vec<String>,
}

/// The room: its roster, and where the students' reports are kept.
#[derive(Clone)]
pub struct Classroom {
    roster: Roster,
    reports: Arc<dyn ProgressStore>,
}

impl Classroom {
    pub fn new(roster: Roster, reports: Arc<dyn ProgressStore>) -> Self {
        Self { roster, reports }
    }

    pub fn is_instructor(&self, username: &str) -> bool {
        username == self.roster.instructor
    }

    /// Keeps a user's latest report (the view leaves the instructor's own out).
    pub async fn submit(
        &self,
        user_id: i64,
        report: &ProgressReport,
        now: i64,
    ) -> Result<(), StoreError> {
        self.reports.save_progress(user_id, now, report).await
    }

    /// Every listed student, and anyone else who submitted, by name.
    pub async fn view(&self) -> Result<Vec<StudentView>, StoreError> {
        Ok(class_view(&self.roster, self.reports.all_progress().await?))
    }
}

// ANCHOR: class_view
/// Every listed student (and anyone else who submitted), by name, with their latest report.
pub fn class_view(roster: &Roster, submitted: Vec<SubmittedProgress>) -> Vec<StudentView> {
    let mut reports: BTreeMap<String, Option<SubmittedProgress>> = roster
        .students
        .iter()
        .map(|name| (name.clone(), None))
        .collect();
    for report in submitted {
        reports.insert(report.username.clone(), Some(report));
    }
    reports
        .into_iter()
        .filter(|(name, _)| *name != roster.instructor)
        .map(|(username, report)| {
            let (submitted_at, chapters) = match report {
                Some(s) => (Some(s.submitted_at), s.report.chapters),
                None => (None, Vec::new()),
            };
            let working_on = chapters
                .iter()
                .find(|c| !c.builds || c.solved < c.total)
                .map(|c| match (c.builds, c.next_step) {
                    (false, _) => format!("{}: does not compile", c.chapter),
                    (true, Some(step)) => format!("{} step {step}", c.chapter),
                    (true, None) => c.chapter.clone(),
                });
            StudentView {
                username,
                submitted_at,
                solved: chapters.iter().map(|c| c.solved).sum(),
                total: chapters.iter().map(|c| c.total).sum(),
                chapters,
                working_on,
            }
        })
        .collect()
}
// ANCHOR_END: class_view

/// The usernames of a students file: one per line; blank lines and `#` comments skipped.
pub fn read_students(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A password to hand out on paper: 16 characters from an alphabet without look-alikes
/// (about 88 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Creates an account for each name that has none yet. Returns each name with its new
/// password, or `None` when the account existed already (its password is left alone).
pub async fn create_accounts(
    users: &dyn UserStore,
    passwords: &Passwords,
    names: &[String],
    now: i64,
) -> Result<Vec<(String, Option<String>)>, UserError> {
    let mut created = Vec::with_capacity(names.len());
    for name in names {
        let password = generate_password();
        match create_user(users, passwords, name, &password, true, now).await {
            Ok(_) => created.push((name.clone(), Some(password))),
            Err(UserError::AlreadyExists(_)) => created.push((name.clone(), None)),
            Err(error) => return Err(error),
        }
    }
    Ok(created)
}

/// The accounts as CSV, for the instructor to hand out.
pub fn accounts_csv(accounts: &[(String, Option<String>)]) -> String {
    let mut csv = String::from("username,password\n");
    for (name, password) in accounts {
        let password = password
            .as_deref()
            .unwrap_or("(unchanged: the account existed)");
        csv.push_str(&format!("{name},{password}\n"));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chapter(name: &str, solved: u32, total: u32, next: Option<u32>) -> ChapterProgress {
        ChapterProgress {
            chapter: name.into(),
            solved,
            total,
            next_step: next,
            builds: true,
        }
    }

    #[test]
    fn the_view_lists_every_student_with_where_to_help() {
        let roster = Roster {
            instructor: "teacher".into(),
            students: vec!["bob".into(), "alice".into()],
        };
        let submitted = |username: &str, chapters| SubmittedProgress {
            username: username.into(),
            submitted_at: 100,
            report: ProgressReport { chapters },
        };
        let view = class_view(
            &roster,
            vec![
                submitted(
                    "alice",
                    vec![
                        chapter("01-anatomy", 6, 6, None),
                        chapter("02-claims", 2, 6, Some(3)),
                    ],
                ),
                submitted("teacher", vec![]),
            ],
        );
        let names: Vec<&str> = view.iter().map(|s| s.username.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(view[0].working_on.as_deref(), Some("02-claims step 3"));
        assert_eq!((view[0].solved, view[0].total), (8, 12));
        assert_eq!(view[1].submitted_at, None);
    }

    #[test]
    fn students_files_skip_blanks_and_comments() {
        assert_eq!(
            read_students("alice\n\n  bob  # back row\n# absent: carol\n"),
            ["alice", "bob"]
        );
    }

    #[test]
    fn oversized_or_impossible_reports_are_refused() {
        let too_many = ProgressReport {
            chapters: (0..40)
                .map(|i| chapter(&format!("{i:02}-x"), 0, 1, Some(1)))
                .collect(),
        };
        assert!(too_many.problem().is_some());
        let impossible = ProgressReport {
            chapters: vec![chapter("01-anatomy", 7, 6, None)],
        };
        assert!(impossible.problem().unwrap().contains("at most total"));
        let far_step = ProgressReport {
            chapters: vec![chapter("01-anatomy", 0, 6, Some(1001))],
        };
        assert!(far_step.problem().unwrap().contains("at most 1000"));
        // Names are counted in characters, as the documented `maxLength` counts them.
        let long_but_allowed = ProgressReport {
            chapters: vec![chapter(&"é".repeat(64), 0, 6, None)],
        };
        assert_eq!(long_but_allowed.problem(), None);
    }

    #[test]
    fn passwords_avoid_look_alikes() {
        let password = generate_password();
        assert_eq!(password.len(), 16);
        assert!(!password.contains(['0', 'o', '1', 'l', 'i']));
    }
}
