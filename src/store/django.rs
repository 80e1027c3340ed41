//! Reading a Django service's database for `import-django`, without ever writing to it: a
//! SQLite file is opened read-only, and PostgreSQL reads run in a `READ ONLY` transaction. Each
//! read is one transaction, so users and blacklist rows are one consistent snapshot even while
//! Django keeps serving.
//!
//! It reads Django's own tables: `auth_user` (or a custom user model's table), and simplejwt's `token_blacklist_outstandingtoken`
//! and `token_blacklist_blacklistedtoken` when the `token_blacklist` app is installed. Times
//! come back as Unix seconds, read as UTC (what Django stores with `USE_TZ = True`, its default).

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, PgConnection};

use super::StoreError;
use crate::users::import::{DjangoBlacklistedToken, DjangoSnapshot, DjangoUser};

type UserRow = (i64, String, String, String, bool, i64, Option<i64>);
type TokenRow = (String, Option<i64>, i64, i64);

/// Reads Django's users (from `user_table`, `auth_user` unless a custom user model's) and
/// simplejwt's blacklist from `url`: `sqlite:///path/to/db.sqlite3` (or `sqlite:relative/path`),
/// or `postgres://…`. `now` decides which tokens are still live. `user_table` must be a plain
/// identifier (the command line checks it): it is written into the queries.
pub async fn read(url: &str, user_table: &str, now: i64) -> Result<DjangoSnapshot, DjangoError> {
    if user_table.is_empty()
        || !user_table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(DjangoError::TableName(user_table.to_owned()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(read_postgres(url, user_table, now).await?)
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    {
        if !std::path::Path::new(path).is_file() {
            return Err(DjangoError::NoSuchFile(path.to_owned()));
        }
        Ok(read_sqlite(path, user_table, now).await?)
    } else {
        Err(DjangoError::Url(super::redact(url)))
    }
}

/// Why Django's database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DjangoError {
    #[error(
        "{0:?} is no database URL this command reads: use sqlite:///path/to/db.sqlite3 or \
         postgres://user:password@host/database"
    )]
    Url(String),
    #[error("there is no SQLite file at {0}")]
    NoSuchFile(String),
    #[error("{0:?} is not a table name")]
    TableName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn read_sqlite(path: &str, user_table: &str, now: i64) -> Result<DjangoSnapshot, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let mut tx = connection.begin().await?;
    // Django stores datetimes as text ('2026-12-05 14:20:00.123456'); SQLite reads that format.
    let users: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, username, email, password, is_active,
                CAST(strftime('%s', date_joined) AS INTEGER),
                CAST(strftime('%s', last_login) AS INTEGER)
         FROM {user_table} ORDER BY id"
    )))
    .fetch_all(&mut *tx)
    .await?;
    let table = |name: &'static str| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE name = ?").bind(name)
    };
    // AUTOINCREMENT remembers the highest id ever given, a deleted user's included.
    let sequence: i64 = if table("sqlite_sequence").fetch_one(&mut *tx).await? > 0 {
        sqlx::query_scalar("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)")
            .bind(user_table)
            .fetch_one(&mut *tx)
            .await?
    } else {
        0
    };
    let has_blacklist = table("token_blacklist_blacklistedtoken")
        .fetch_one(&mut *tx)
        .await?
        > 0;
    let (blacklisted, live_tokens, token_user) = if has_blacklist {
        let blacklisted: Vec<TokenRow> = sqlx::query_as(
            "SELECT o.jti, o.user_id, CAST(strftime('%s', o.expires_at) AS INTEGER),
                    CAST(strftime('%s', b.blacklisted_at) AS INTEGER)
             FROM token_blacklist_blacklistedtoken b
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id
             ORDER BY b.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (live, highest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM token_blacklist_outstandingtoken o
                WHERE CAST(strftime('%s', o.expires_at) AS INTEGER) > ?
                AND NOT EXISTS (SELECT 1 FROM token_blacklist_blacklistedtoken b
                                WHERE b.token_id = o.id)),
               (SELECT MAX(user_id) FROM token_blacklist_outstandingtoken)",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        (blacklisted, live, highest)
    } else {
        (Vec::new(), 0, None)
    };
    tx.commit().await?;
    connection.close().await?;
    Ok(snapshot(
        users,
        blacklisted,
        live_tokens,
        sequence.max(token_user.unwrap_or(0)),
        has_blacklist,
    ))
}

async fn read_postgres(
    url: &str,
    user_table: &str,
    now: i64,
) -> Result<DjangoSnapshot, StoreError> {
    let mut connection = PgConnection::connect(url).await?;
    let mut tx = connection.begin().await?;
    // Never a write, and one snapshot for every read below.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let users: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id::bigint, username::text, email::text, password::text, is_active,
                EXTRACT(EPOCH FROM date_joined)::bigint,
                EXTRACT(EPOCH FROM last_login)::bigint
         FROM {user_table} ORDER BY id"
    )))
    .fetch_all(&mut *tx)
    .await?;
    // The id sequence (serial or identity) remembers the highest id ever given.
    let sequence: Option<i64> = sqlx::query_scalar(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)",
    )
    .bind(user_table)
    .fetch_one(&mut *tx)
    .await?;
    let has_blacklist: bool =
        sqlx::query_scalar("SELECT to_regclass('token_blacklist_blacklistedtoken') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    let (blacklisted, live_tokens, token_user) = if has_blacklist {
        let blacklisted: Vec<TokenRow> = sqlx::query_as(
            "SELECT o.jti::text, o.user_id::bigint, EXTRACT(EPOCH FROM o.expires_at)::bigint,
                    EXTRACT(EPOCH FROM b.blacklisted_at)::bigint
             FROM token_blacklist_blacklistedtoken b
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id
             ORDER BY b.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (live, highest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM token_blacklist_outstandingtoken o
                WHERE o.expires_at > to_timestamp($1)
                AND NOT EXISTS (SELECT 1 FROM token_blacklist_blacklistedtoken b
                                WHERE b.token_id = o.id)),
               (SELECT MAX(user_id)::bigint FROM token_blacklist_outstandingtoken)",
        )
        .bind(now as f64)
        .fetch_one(&mut *tx)
        .await?;
        (blacklisted, live, highest)
    } else {
        (Vec::new(), 0, None)
    };
    tx.commit().await?;
    connection.close().await?;
    Ok(snapshot(
        users,
        blacklisted,
        live_tokens,
        sequence.unwrap_or(0).max(token_user.unwrap_or(0)),
        has_blacklist,
    ))
}

fn snapshot(
    users: Vec<UserRow>,
    blacklisted: Vec<TokenRow>,
    live_tokens: i64,
    highest_id: i64,
    has_blacklist: bool,
) -> DjangoSnapshot {
    let users: Vec<DjangoUser> = users
        .into_iter()
        .map(
            |(id, username, email, password, is_active, date_joined, last_login)| DjangoUser {
                id,
                username,
                email,
                password,
                is_active,
                date_joined,
                last_login,
            },
        )
        .collect();
    let highest_id = highest_id.max(users.iter().map(|u| u.id).max().unwrap_or(0));
    DjangoSnapshot {
        users,
        blacklisted: blacklisted
            .into_iter()
            .map(
                |(jti, user_id, expires_at, blacklisted_at)| DjangoBlacklistedToken {
                    jti,
                    user_id,
                    expires_at,
                    blacklisted_at,
                },
            )
            .collect(),
        live_tokens: live_tokens.max(0) as u64,
        highest_id,
        has_blacklist,
    }
}
