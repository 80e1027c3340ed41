//! The SQLite store: one database file in the data directory, in WAL mode so readers never wait
//! for the writer.
//!
//! All revocations go through one writer task that commits them in batches ("group commit"):
//! SQLite allows one writer at a time, so many connections racing to write would only queue on
//! the file lock. One task draining a queue turns N concurrent rotations into one transaction
//! and one fsync, and `synchronous = FULL` means a rotation is on disk before it is answered.
//!
//! Every wait is bounded by the store's deadline: `busy_timeout` for a lock another connection
//! holds, and a job that waited in the queue past its deadline is answered "unavailable" without
//! being written — its caller has given up, and a revocation committed after its request failed
//! would spend a refresh token whose client never got the new one.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{DEFAULT_DEADLINE, StoreError};
use crate::classroom::{ProgressReport, ProgressStore, SubmittedProgress};
use crate::oidc::{AuthorizationCode, BrowserSession, CODE_MEMORY, Client, OidcStore, Redemption};
use crate::tokens::{BlacklistEntry, Revocation, Session, TokenStore};
use crate::users::import::{ImportPlan, ImportRecord, ImportStore, ImportedUser};
use crate::users::{NewUser, User, UserError, UserStore};

/// The most revocations committed in one transaction.
const MAX_BATCH: usize = 1024;

struct WriteJob {
    entry: BlacklistEntry,
    /// Past this, the caller has been told the write failed: it must not happen any more.
    expires: Instant,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// Users and revoked tokens in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
    deadline: Duration,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`, and starts its writer.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_deadline(path, DEFAULT_DEADLINE).await
    }

    /// [`Self::open`], waiting at most `deadline` for a lock or a queued write.
    pub async fn open_with_deadline(path: &Path, deadline: Duration) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Another process (the `user` subcommand) may hold the write lock for a moment;
            // longer than the deadline, and we answer "unavailable" rather than wait.
            .busy_timeout(deadline);
        // Readers run on threads of their own; more of them than cores only adds threads, each
        // with its own page cache and allocator arena.
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let pool = SqlitePoolOptions::new()
            .max_connections(readers as u32)
            .min_connections(1)
            .acquire_timeout(deadline)
            .connect_with(options.clone())
            .await?;
        migrator().run(&pool).await?;
        let connection = SqliteConnection::connect_with(&options).await?;
        let (writer, queue) = mpsc::channel(8 * MAX_BATCH);
        tokio::spawn(run_writer(connection, options, queue));
        Ok(Self {
            pool,
            writer,
            deadline,
        })
    }
}

impl SqliteStore {
    /// Closes the connections: queries from now on fail (what shutdown does last).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn migrator() -> Migrator {
    super::migrator([
        (
            "users and blacklist",
            include_str!("../../migrations/0001_users_and_blacklist.sql"),
        ),
        (
            "sessions and revocations",
            include_str!("../../migrations/0002_sessions_and_revocations.sql"),
        ),
        (
            "user email",
            include_str!("../../migrations/0003_user_email.sql"),
        ),
        (
            "class progress",
            include_str!("../../migrations/0004_class_progress.sql"),
        ),
        (
            "heartbeat",
            include_str!("../../migrations/0005_heartbeat.sql"),
        ),
        (
            "openid connect",
            include_str!("../../migrations/0006_oidc.sql"),
        ),
        (
            "django import",
            include_str!("../../migrations/0007_django_import.sql"),
        ),
    ])
}

/// Drains the queue: whatever is waiting when the writer comes round goes into one transaction.
///
/// A batch that failed may leave its transaction open inside SQLite (a `COMMIT` that hit a full
/// disk does), holding the write lock for good. So after a failure the connection is thrown
/// away and the next batch opens a fresh one: the lock goes with it, and the writer recovers by
/// itself once the disk has room again.
async fn run_writer(
    connection: SqliteConnection,
    options: SqliteConnectOptions,
    mut queue: mpsc::Receiver<WriteJob>,
) {
    let mut connection = Some(connection);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A job whose caller gave up, or is about to, is refused rather than written late.
        let now = Instant::now();
        batch.retain_mut(|job| {
            let abandoned = job.reply.is_closed() || job.expires <= now;
            if abandoned && !job.reply.is_closed() {
                let (reply, _) = oneshot::channel();
                let reply = std::mem::replace(&mut job.reply, reply);
                let _ = reply.send(Err(StoreError::WriteUnavailable(
                    "the write waited in the queue past its deadline".into(),
                )));
            }
            !abandoned
        });
        if batch.is_empty() {
            continue;
        }
        let outcome = match connection.as_mut() {
            Some(open) => commit_batch(open, &batch).await,
            None => match SqliteConnection::connect_with(&options).await {
                Ok(fresh) => commit_batch(connection.insert(fresh), &batch).await,
                Err(error) => Err(error),
            },
        };
        match outcome {
            Ok(outcomes) => {
                for (job, revoked_now) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(revoked_now));
                }
            }
            Err(error) => {
                if let Some(broken) = connection.take() {
                    let _ = broken.close_hard().await;
                }
                let unavailable = crate::storage::is_unavailable(&error);
                if unavailable {
                    tracing::warn!(%error, "committing revocations failed; nothing was written");
                } else {
                    tracing::error!(%error, "committing revocations failed");
                }
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(if unavailable {
                        StoreError::WriteUnavailable(error.to_string())
                    } else {
                        StoreError::Write(error.to_string())
                    }));
                }
            }
        }
    }
}

/// Revokes a batch of token ids in one statement, hence one trip to the connection's thread and
/// one commit (one fsync), and says for each job whether it was the one that revoked its id.
async fn commit_batch(
    connection: &mut SqliteConnection,
    batch: &[WriteJob],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at) ",
    );
    insert.push_values(batch, |mut row, job| {
        let entry = &job.entry;
        row.push_bind(&entry.jti)
            .push_bind(&entry.user_id)
            .push_bind(entry.expires_at)
            .push_bind(entry.blacklisted_at);
    });
    // The primary key makes this the one place a race is decided: a jti goes in once, whether
    // the other attempt was an earlier batch or an earlier row of this one.
    insert.push(" ON CONFLICT (jti) DO NOTHING RETURNING jti");
    let rows = insert.build().fetch_all(&mut *connection).await?;
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        inserted.insert(row.try_get::<String, _>("jti")?);
    }
    // Of several jobs for one jti, the first is the one that inserted it.
    Ok(batch
        .iter()
        .map(|job| inserted.remove(&job.entry.jti))
        .collect())
}

/// Revokes, in the caller's transaction, what `revocation` names, and publishes it for every
/// instance.
async fn apply_revocation(
    tx: &mut SqliteConnection,
    revocation: &Revocation,
    now: i64,
) -> Result<(), sqlx::Error> {
    match revocation {
        Revocation::Session { id, expires_at } => {
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            publish_session(tx, id, *expires_at).await?;
        }
        Revocation::User {
            user_id,
            cutoff,
            expires_at,
        } => {
            // Each live session by name, so that its tokens issued within this very second
            // are refused too; the cutoff covers older tokens, sessions or not.
            let live: Vec<(String, i64)> = sqlx::query_as(
                "UPDATE sessions SET revoked_at = ?
             WHERE user_id = ? AND revoked_at IS NULL AND expires_at >= ?
             RETURNING id, expires_at",
            )
            .bind(now)
            .bind(user_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for (id, expires_at) in live {
                publish_session(tx, &id, expires_at).await?;
            }
            sqlx::query("INSERT INTO revocations (user_id, cutoff, expires_at) VALUES (?, ?, ?)")
                .bind(user_id)
                .bind(cutoff)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn blacklist(&self, entry: BlacklistEntry) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let expires = Instant::now() + self.deadline;
        self.writer
            .send(WriteJob {
                entry,
                expires,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM token_blacklist WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn start_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, started_at, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(session.started_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, started_at, expires_at, revoked_at FROM sessions WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session = Session {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            started_at: row.try_get("started_at")?,
            expires_at: row.try_get("expires_at")?,
        };
        let revoked: Option<i64> = row.try_get("revoked_at")?;
        Ok(Some((session, revoked.is_some())))
    }

    async fn refresh_state(
        &self,
        jti: &str,
        session: &str,
    ) -> Result<(bool, Option<(Session, bool)>), StoreError> {
        // One statement, so one trip to the connection's thread instead of two.
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM token_blacklist WHERE jti = ?1) AS blacklisted,
                    s.id, s.user_id, s.started_at, s.expires_at, s.revoked_at
             FROM (SELECT 1) LEFT JOIN sessions s ON s.id = ?2",
        )
        .bind(jti)
        .bind(session)
        .fetch_one(&self.pool)
        .await?;
        let blacklisted: bool = row.try_get("blacklisted")?;
        let Some(id) = row.try_get::<Option<String>, _>("id")? else {
            return Ok((blacklisted, None));
        };
        let session = Session {
            id,
            user_id: row.try_get("user_id")?,
            started_at: row.try_get("started_at")?,
            expires_at: row.try_get("expires_at")?,
        };
        let revoked: Option<i64> = row.try_get("revoked_at")?;
        Ok((blacklisted, Some((session, revoked.is_some()))))
    }

    async fn revoke(&self, revocation: Revocation, now: i64) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        let result: Result<(), sqlx::Error> = async {
            let mut tx = connection.begin().await?;
            apply_revocation(&mut tx, &revocation, now).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // See `run_writer`: a failed COMMIT may leave the transaction open, holding the
            // write lock; this connection must not go back to the pool.
            connection.close_on_drop();
        }
        Ok(result?)
    }

    async fn log_out(
        &self,
        entry: BlacklistEntry,
        session: Revocation,
        now: i64,
    ) -> Result<bool, StoreError> {
        let Revocation::Session { id, expires_at } = &session else {
            return Err(StoreError::Write("a logout revokes a session".into()));
        };
        // One transaction beside the writer's (SQLite's write lock orders them; the primary key
        // still decides a race): the token and its session are revoked together, or neither.
        let mut connection = self.pool.acquire().await?;
        let result: Result<bool, sqlx::Error> = async {
            let mut tx = connection.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at)
             VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(&entry.jti)
            .bind(&entry.user_id)
            .bind(entry.expires_at)
            .bind(entry.blacklisted_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            publish_session(&mut tx, id, *expires_at).await?;
            tx.commit().await?;
            Ok(inserted.rows_affected() == 1)
        }
        .await;
        if result.is_err() {
            // As in `revoke`: never back to the pool with a transaction possibly open.
            connection.close_on_drop();
        }
        Ok(result?)
    }

    async fn revocations_since(&self, after: i64) -> Result<Vec<(i64, Revocation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, session_id, user_id, cutoff, expires_at FROM revocations
             WHERE seq > ? ORDER BY seq",
        )
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let expires_at: i64 = row.try_get("expires_at")?;
                let session: Option<String> = row.try_get("session_id")?;
                let revocation = match session {
                    Some(id) => Revocation::Session { id, expires_at },
                    None => Revocation::User {
                        user_id: row.try_get("user_id")?,
                        cutoff: row.try_get::<Option<i64>, _>("cutoff")?.unwrap_or(i64::MAX),
                        expires_at,
                    },
                };
                Ok((row.try_get("seq")?, revocation))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO heartbeat (id, beat_at) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for table in ["token_blacklist", "sessions", "revocations"] {
            let sql = format!("DELETE FROM {table} WHERE expires_at < ?");
            deleted += sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }
}

async fn publish_session(
    tx: &mut sqlx::SqliteConnection,
    id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO revocations (session_id, expires_at) VALUES (?, ?)")
        .bind(id)
        .bind(expires_at)
        .execute(tx)
        .await?;
    Ok(())
}

const USER_COLUMNS: &str =
    "id, username, password_hash, is_active, date_joined, email, email_verified";

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_active: row.try_get("is_active")?,
        date_joined: row.try_get("date_joined")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    async fn password_hashes_unlike(&self, prefix: &str) -> Result<(u64, Vec<String>), StoreError> {
        // `prefix` is `$argon2id$v=19$m=…,t=…,p=…$`: no LIKE wildcard (`%`, `_`) in it.
        let pattern = format!("{prefix}%");
        let (ours,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE password_hash LIKE ?")
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await?;
        let others: Vec<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE password_hash NOT LIKE ?")
                .bind(&pattern)
                .fetch_all(&self.pool)
                .await?;
        Ok((ours.max(0) as u64, others))
    }

    async fn create(&self, user: NewUser) -> Result<User, UserError> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, is_active, date_joined)
             VALUES (?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.is_active)
        .bind(user.date_joined)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from)?;
        if result.rows_affected() == 0 {
            return Err(UserError::AlreadyExists(user.username));
        }
        Ok(User {
            id: result.last_insert_rowid(),
            username: user.username,
            password_hash: user.password_hash,
            is_active: user.is_active,
            date_joined: user.date_joined,
            email: String::new(),
            email_verified: false,
        })
    }

    async fn set_active(&self, username: &str, active: bool) -> Result<(), UserError> {
        let result = sqlx::query("UPDATE users SET is_active = ? WHERE username = ?")
            .bind(active)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        if result.rows_affected() == 0 {
            return Err(UserError::NotFound(username.to_owned()));
        }
        Ok(())
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserError> {
        let result = sqlx::query("UPDATE users SET password_hash = ? WHERE username = ?")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        if result.rows_affected() == 0 {
            return Err(UserError::NotFound(username.to_owned()));
        }
        Ok(())
    }

    async fn upgrade_password_hash(
        &self,
        id: i64,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")
                .bind(new)
                .bind(id)
                .bind(old)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn set_password_and_revoke(
        &self,
        username: &str,
        hash: &str,
        revocation: &Revocation,
        now: i64,
    ) -> Result<(), UserError> {
        let mut connection = self.pool.acquire().await.map_err(StoreError::from)?;
        let result: Result<bool, sqlx::Error> = async {
            let mut tx = connection.begin().await?;
            let updated = sqlx::query("UPDATE users SET password_hash = ? WHERE username = ?")
                .bind(hash)
                .bind(username)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            apply_revocation(&mut tx, revocation, now).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await;
        if result.is_err() {
            // As in `revoke`: a failed COMMIT may leave the write lock held.
            connection.close_on_drop();
        }
        match result.map_err(StoreError::from)? {
            true => Ok(()),
            false => Err(UserError::NotFound(username.to_owned())),
        }
    }

    async fn set_email(&self, id: i64, email: &str) -> Result<(), UserError> {
        let result = sqlx::query("UPDATE users SET email = ?, email_verified = 0 WHERE id = ?")
            .bind(email)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        if result.rows_affected() == 0 {
            return Err(UserError::NotFound(format!("#{id}")));
        }
        Ok(())
    }

    async fn verify_email(&self, id: i64, email: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE users SET email_verified = 1
             WHERE id = ? AND email = ? AND email <> '' AND email_verified = 0",
        )
        .bind(id)
        .bind(email)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

#[async_trait]
impl ProgressStore for SqliteStore {
    async fn save_progress(
        &self,
        user_id: i64,
        submitted_at: i64,
        report: &ProgressReport,
    ) -> Result<(), StoreError> {
        let report = serde_json::to_string(report).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query(
            "INSERT INTO class_progress (user_id, submitted_at, report) VALUES (?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE
             SET submitted_at = excluded.submitted_at, report = excluded.report",
        )
        .bind(user_id)
        .bind(submitted_at)
        .bind(report)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn all_progress(&self) -> Result<Vec<SubmittedProgress>, StoreError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT users.username, class_progress.submitted_at, class_progress.report
             FROM class_progress JOIN users ON users.id = class_progress.user_id
             ORDER BY users.username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(username, submitted_at, report)| {
                let report = serde_json::from_str(&report)
                    .map_err(|e| StoreError::from(sqlx::Error::Decode(e.into())))?;
                Ok(SubmittedProgress {
                    username,
                    submitted_at,
                    report,
                })
            })
            .collect()
    }
}

#[async_trait]
impl OidcStore for SqliteStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris,
                 post_logout_redirect_uris, frontchannel_logout_uri, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&client.id)
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(client.redirect_uris.join("\n"))
        .bind(client.post_logout_redirect_uris.join("\n"))
        .bind(&client.frontchannel_logout_uri)
        .bind(client.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(client_from_row).transpose()?)
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(client_from_row).collect::<Result<_, _>>()?)
    }

    async fn save_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_codes (id, client_id, redirect_uri, user_id, scope, nonce,
                 code_challenge, auth_time, browser_session, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&code.id)
        .bind(&code.client_id)
        .bind(&code.redirect_uri)
        .bind(code.user_id)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.auth_time)
        .bind(&code.browser_session)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn redeem_code(&self, id: &str, now: i64) -> Result<Redemption, StoreError> {
        // One statement decides the race: only the first redemption finds redeemed_at empty.
        let redeemed = sqlx::query(
            "UPDATE oidc_codes SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL
             RETURNING id, client_id, redirect_uri, user_id, scope, nonce, code_challenge,
                 auth_time, browser_session, expires_at",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = redeemed {
            return Ok(Redemption::First(AuthorizationCode {
                id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                user_id: row.try_get("user_id")?,
                scope: row.try_get("scope")?,
                nonce: row.try_get("nonce")?,
                code_challenge: row.try_get("code_challenge")?,
                auth_time: row.try_get("auth_time")?,
                browser_session: row.try_get("browser_session")?,
                expires_at: row.try_get("expires_at")?,
            }));
        }
        let again: Option<(Option<String>,)> =
            sqlx::query_as("SELECT issued_session FROM oidc_codes WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match again {
            Some((issued_session,)) => Redemption::Again { issued_session },
            None => Redemption::Unknown,
        })
    }

    async fn record_issued_session(&self, code: &str, session: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE oidc_codes SET issued_session = ? WHERE id = ?")
            .bind(session)
            .bind(code)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn start_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_sessions (id, user_id, auth_time, expires_at, ended_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&session.id)
        .bind(session.user_id)
        .bind(session.auth_time)
        .bind(session.expires_at)
        .bind(session.ended_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn browser_session(&self, id: &str) -> Result<Option<BrowserSession>, StoreError> {
        let row: Option<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, user_id, auth_time, expires_at, ended_at FROM oidc_sessions WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(id, user_id, auth_time, expires_at, ended_at)| BrowserSession {
                id,
                user_id,
                auth_time,
                expires_at,
                ended_at,
            },
        ))
    }

    async fn add_session_client(&self, session: &str, client_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_session_clients (session_id, client_id) VALUES (?, ?)
             ON CONFLICT (session_id, client_id) DO NOTHING",
        )
        .bind(session)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_clients(&self, session: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT client_id FROM oidc_session_clients WHERE session_id = ? ORDER BY client_id",
        )
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn issued_sessions(&self, browser_session: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT issued_session FROM oidc_codes
             WHERE browser_session = ? AND issued_session IS NOT NULL ORDER BY issued_session",
        )
        .bind(browser_session)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn end_browser_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let ended =
            sqlx::query("UPDATE oidc_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(ended.rows_affected() == 1)
    }

    async fn delete_expired_oidc(&self, now: i64) -> Result<u64, StoreError> {
        let codes = sqlx::query("DELETE FROM oidc_codes WHERE expires_at < ?")
            .bind(now - CODE_MEMORY)
            .execute(&self.pool)
            .await?;
        let sessions = sqlx::query("DELETE FROM oidc_sessions WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(codes.rows_affected() + sessions.rows_affected())
    }
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
                              frontchannel_logout_uri, created_at";

fn client_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Client, sqlx::Error> {
    let lines = |text: String| -> Vec<String> {
        text.lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(Client {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        redirect_uris: lines(row.try_get("redirect_uris")?),
        post_logout_redirect_uris: lines(row.try_get("post_logout_redirect_uris")?),
        frontchannel_logout_uri: row.try_get("frontchannel_logout_uri")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import_records(&self) -> Result<Vec<ImportRecord>, StoreError> {
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT d.user_id, d.password_hash, u.last_login
             FROM django_users d JOIN users u ON u.id = d.user_id ORDER BY d.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, django_hash, last_login)| ImportRecord {
                user_id,
                django_hash,
                last_login,
            })
            .collect())
    }

    async fn blacklisted_jtis(&self) -> Result<HashSet<String>, StoreError> {
        let jtis: Vec<String> = sqlx::query_scalar("SELECT jti FROM token_blacklist")
            .fetch_all(&self.pool)
            .await?;
        Ok(jtis.into_iter().collect())
    }

    async fn apply_import(&self, plan: &ImportPlan, now: i64) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        let result: Result<(), sqlx::Error> = async {
            let mut tx = connection.begin().await?;
            // Updates first: a username freed by a rename at Django may be a new user's.
            for user in &plan.update {
                sqlx::query(
                    "UPDATE users SET username = ?1, email = ?2,
                     email_verified = CASE WHEN email = ?2 THEN email_verified ELSE 0 END,
                     is_active = ?3, date_joined = ?4, last_login = ?5,
                     password_hash = COALESCE(?6, password_hash)
                     WHERE id = ?7",
                )
                .bind(&user.username)
                .bind(&user.email)
                .bind(user.is_active)
                .bind(user.date_joined)
                .bind(user.last_login)
                .bind(&user.password_hash)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
                remember_import(&mut tx, user, now).await?;
            }
            for user in &plan.create {
                sqlx::query(
                    "INSERT INTO users
                     (id, username, email, is_active, date_joined, last_login, password_hash)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(user.id)
                .bind(&user.username)
                .bind(&user.email)
                .bind(user.is_active)
                .bind(user.date_joined)
                .bind(user.last_login)
                .bind(user.password_hash.as_deref().unwrap_or("!"))
                .execute(&mut *tx)
                .await?;
                remember_import(&mut tx, user, now).await?;
            }
            for id in &plan.deactivate {
                sqlx::query("UPDATE users SET is_active = 0 WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            for entry in &plan.blacklist {
                sqlx::query(
                    "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at)
                     VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(&entry.jti)
                .bind(&entry.user_id)
                .bind(entry.expires_at)
                .bind(entry.blacklisted_at)
                .execute(&mut *tx)
                .await?;
            }
            // AUTOINCREMENT never hands out an id at or below `sqlite_sequence`'s: new users
            // here start above every id Django ever gave, deleted users' included.
            sqlx::query(
                "INSERT INTO sqlite_sequence (name, seq)
                 SELECT 'users', 0 WHERE NOT EXISTS
                 (SELECT 1 FROM sqlite_sequence WHERE name = 'users')",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'users'")
                .bind(plan.id_floor)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // As in `revoke`: a failed COMMIT may leave the write lock held.
            connection.close_on_drop();
        }
        Ok(result?)
    }

    async fn next_user_id(&self) -> Result<i64, StoreError> {
        let (next,): (i64,) = sqlx::query_as(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'users'), 0),
                        COALESCE((SELECT MAX(id) FROM users), 0)) + 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next)
    }
}

/// Remembers Django's hash for a user just imported (see `django_users`).
async fn remember_import(
    tx: &mut SqliteConnection,
    user: &ImportedUser,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO django_users (user_id, password_hash, imported_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE
         SET password_hash = excluded.password_hash, imported_at = excluded.imported_at",
    )
    .bind(user.id)
    .bind(&user.django_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
