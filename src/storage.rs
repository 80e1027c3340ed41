//! How asking a database can fail. The domain's store traits ([`crate::tokens::TokenStore`],
//! [`crate::users::UserStore`], [`crate::classroom::ProgressStore`]) answer with it and the
//! stores in [`crate::store`] implement them, so it lives here, below both.
//!
//! A failure is either *unavailable* — the database cannot be reached or cannot write just now
//! (a full disk, a read-only filesystem, PostgreSQL stopped, every connection busy, a lock held
//! past the deadline), which passes and is worth a retry — or *internal*: a bug, a broken schema,
//! a value that does not decode. [`StoreError::is_unavailable`] tells them apart, so the HTTP
//! layer can answer the first with a retryable 503 and keep 500 for the second.

use std::time::Duration;

/// A failure of the database itself (not "no such row": that is an `Option` or a domain error).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported database URL {0:?}: use postgres://user:password@host/database, or none for SQLite"
    )]
    Url(String),
    #[error("the database writer has stopped")]
    WriterGone,
    /// The writer's batch failed; the cause was logged by the writer.
    #[error("committing to the database failed: {0}")]
    Write(String),
    /// The writer's batch failed for a reason that passes (a full disk, a lock held too long).
    #[error("the database cannot write just now: {0}")]
    WriteUnavailable(String),
    /// The database took longer than this to answer; the call was given up.
    #[error("the database did not answer within {0:?}")]
    Deadline(Duration),
}

impl StoreError {
    /// Whether the failure is the database being unreachable or unable to write for now, rather
    /// than our fault: the client may retry, and the instance should leave the rotation.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => is_unavailable(error),
            StoreError::WriteUnavailable(_) | StoreError::Deadline(_) => true,
            StoreError::Migration(_)
            | StoreError::Url(_)
            | StoreError::WriterGone
            | StoreError::Write(_) => false,
        }
    }
}

/// Whether sqlx's error is one that passes: the connection, the disk, a lock or a deadline.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(error) => {
            let Some(code) = error.code() else {
                return false;
            };
            if error
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
            {
                code.parse().is_ok_and(sqlite_code_is_unavailable)
            } else {
                sqlstate_is_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLite's extended result codes (the primary code is the low byte) that mean "not now"
/// rather than "never".
fn sqlite_code_is_unavailable(extended: i32) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const NOMEM: i32 = 7;
    const READONLY: i32 = 8;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    const PROTOCOL: i32 = 15;
    matches!(
        extended & 0xff,
        BUSY | LOCKED | NOMEM | READONLY | IOERR | FULL | CANTOPEN | PROTOCOL
    )
}

/// PostgreSQL's SQLSTATEs that mean "not now" rather than "never".
fn sqlstate_is_unavailable(code: &str) -> bool {
    // 08: connection exception; 53: insufficient resources (disk full, out of memory, too many
    // connections); 57P0x: the server is shutting down or starting; 57014: statement_timeout;
    // 55P03: lock_timeout; 40001/40P01: serialization failure, deadlock; 25006: read-only
    // transaction (a standby); 58030: I/O error.
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || matches!(
            code,
            "57014" | "55P03" | "40001" | "40P01" | "25006" | "58030"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_a_read_only_file_and_a_busy_lock_are_unavailable_in_sqlite() {
        for code in [13, 8, 1032, 10, 3338, 5, 517, 6] {
            assert!(sqlite_code_is_unavailable(code), "SQLite code {code}");
        }
    }

    #[test]
    fn a_constraint_or_a_syntax_error_is_internal_in_sqlite() {
        for code in [1, 19, 2067, 11, 20] {
            assert!(!sqlite_code_is_unavailable(code), "SQLite code {code}");
        }
    }

    #[test]
    fn a_lost_connection_a_shutdown_and_a_statement_timeout_are_unavailable_in_postgres() {
        for code in [
            "08006", "08001", "57P01", "57P03", "57014", "53100", "55P03", "25006",
        ] {
            assert!(sqlstate_is_unavailable(code), "SQLSTATE {code}");
        }
    }

    #[test]
    fn a_unique_violation_or_an_undefined_table_is_internal_in_postgres() {
        for code in ["23505", "42P01", "42601", "22P02"] {
            assert!(!sqlstate_is_unavailable(code), "SQLSTATE {code}");
        }
    }

    #[test]
    fn pool_timeouts_io_errors_and_deadlines_are_unavailable_and_decoding_is_not() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::from(sqlx::Error::Io(io)).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::Deadline(Duration::from_secs(3)).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::ColumnNotFound("id".into())).is_unavailable());
        assert!(!StoreError::WriterGone.is_unavailable());
    }
}
