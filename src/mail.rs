//! Outgoing mail, as files: each message is written to an outbox directory (one `.eml` file per
//! message, readable by its owner only, since the links in it are as good as a password for a
//! while). The server speaks no SMTP; an operator hands the directory to their mail system, and
//! a learner simply opens the file.

use std::path::{Path, PathBuf};

/// A directory messages are written to.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one message; returns its file.
    pub fn send(&self, to: &str, subject: &str, body: &str, now: i64) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let name = format!("{now}-{}.eml", uuid::Uuid::new_v4().simple());
        let path = self.dir.join(name);
        let message = format!(
            "To: {to}\nSubject: {subject}\nDate: {}\nContent-Type: text/plain; charset=utf-8\n\n{body}",
            crate::clock::utc_date_time(now)
        );
        crate::files::write_private_file(&path, &message)?;
        Ok(path)
    }

    /// The messages written so far, oldest first.
    pub fn messages(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                .collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        files.sort();
        Ok(files)
    }
}
