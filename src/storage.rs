//! How asking a database can fail. The domain's store traits ([`crate::tokens::TokenStore`],
//! [`crate::users::UserStore`], [`crate::classroom::ProgressStore`]) answer with it and the
//! stores in [`crate::store`] implement them, so it lives here, below both.

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
}
