//! Persistence: the SQLite database that holds users and revoked tokens, behind the
//! [`UserStore`](crate::users::UserStore) and [`TokenStore`](crate::tokens::TokenStore) traits.

mod sqlite;

pub use sqlite::SqliteStore;

/// A failure of the database itself (not "no such row": that is an `Option` or a domain error).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("the database writer has stopped")]
    WriterGone,
    /// The writer's batch failed; the cause was logged by the writer.
    #[error("committing to the database failed: {0}")]
    Write(String),
}
