//! Persistence: users, sessions, revocations and classroom progress behind the [`UserStore`],
//! [`TokenStore`] and [`ProgressStore`] traits, in a SQLite file by default ([`SqliteStore`])
//! or in a PostgreSQL database that several instances share ([`PostgresStore`]). [`open`] picks
//! one from the database URL.

pub mod django;
mod guard;
mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

pub use guard::Guarded;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

pub use crate::storage::StoreError;

use crate::classroom::ProgressStore;
use crate::oidc::OidcStore;
use crate::tokens::TokenStore;
use crate::users::UserStore;
use crate::users::import::ImportStore;

/// How long a store call may wait (for a connection, a lock, a statement) before it is given up
/// and answered "unavailable": `serve --store-deadline` sets it.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);

/// The name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "workbook.sqlite3";

/// Every part of the database, as one object the commands can hold.
pub trait Database: UserStore + TokenStore + ProgressStore + OidcStore + ImportStore {}

impl<T: UserStore + TokenStore + ProgressStore + OidcStore + ImportStore> Database for T {}

/// The database a URL names: `postgres://…` (or `postgresql://…`) is the shared PostgreSQL;
/// anything else, or nothing, is the SQLite file in the data directory.
pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Database>, StoreError> {
    open_with_deadline(url, data_dir, DEFAULT_DEADLINE).await
}

/// [`open`], with every wait bounded by `deadline` instead of [`DEFAULT_DEADLINE`].
pub async fn open_with_deadline(
    url: Option<&str>,
    data_dir: &Path,
    deadline: Duration,
) -> Result<Arc<dyn Database>, StoreError> {
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(
            Arc::new(PostgresStore::connect_with_deadline(url, deadline).await?),
        ),
        Some(other) => Err(StoreError::Url(redact(other))),
        None => Ok(Arc::new(
            SqliteStore::open_with_deadline(&data_dir.join(DATABASE_FILE), deadline).await?,
        )),
    }
}

/// A URL fit for an error message: its password, if any, replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Numbered migrations from `(description, sql)` pairs, version 1 first.
fn migrator<const N: usize>(steps: [(&'static str, &'static str); N]) -> Migrator {
    let migrations = steps
        .into_iter()
        .zip(1..)
        .map(|((description, sql), version)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_an_error_message() {
        assert_eq!(
            redact("mysql://app:s3cret@db/app"),
            "mysql://app:***@db/app"
        );
        assert_eq!(redact("mysql://db/app"), "mysql://db/app");
    }
}
