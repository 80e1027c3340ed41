//! The PostgreSQL store: one database that several instances of the server share, so that a
//! user, a session or a revocation recorded through one instance holds for all of them.
//!
//! The same tables as the SQLite store, in PostgreSQL's types. PostgreSQL lets writers run at
//! once, so each revocation is a plain statement; the primary key still decides every race.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, Row, Transaction};

use super::{DEFAULT_DEADLINE, StoreError};
use crate::classroom::{ProgressReport, ProgressStore, SubmittedProgress};
use crate::oidc::{AuthorizationCode, BrowserSession, CODE_MEMORY, Client, OidcStore, Redemption};
use crate::tokens::{BlacklistEntry, Revocation, Session, TokenStore};
use crate::users::import::{ImportPlan, ImportRecord, ImportStore, ImportedUser};
use crate::users::{NewUser, User, UserError, UserStore};

/// Every writer of the revocation feed takes this lock first (for the length of its
/// transaction), so sequence numbers become visible in the order they were handed out: a
/// reader that has seen number N can never later find a smaller one appear.
const FEED_LOCK: i64 = 0x6a77_745f_6665_6564; // "jwt_feed"

/// Users and tokens in a shared PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and migrates. Several instances may start at once: the migrations take
    /// PostgreSQL's advisory lock, so exactly one of them applies each.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_deadline(url, DEFAULT_DEADLINE).await
    }

    /// [`Self::connect`], waiting at most `deadline` for a connection or a statement.
    pub async fn connect_with_deadline(url: &str, deadline: Duration) -> Result<Self, StoreError> {
        let millis = deadline.as_millis().max(1).to_string();
        let unbounded: PgConnectOptions = url.parse()?;
        // Migrations wait on each other's advisory lock when instances start together: that
        // wait is no request's, so it runs on a connection without the deadline.
        let mut migrating = PgConnection::connect_with(&unbounded).await?;
        migrator().run(&mut migrating).await?;
        migrating.close().await?;
        let options = unbounded.options([
            ("statement_timeout", millis.as_str()),
            ("lock_timeout", millis.as_str()),
            ("idle_in_transaction_session_timeout", millis.as_str()),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(deadline)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// Closes the connections: queries from now on fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn migrator() -> Migrator {
    super::migrator([
        (
            "users and blacklist",
            include_str!("../../migrations/postgres/0001_users_and_blacklist.sql"),
        ),
        (
            "sessions and revocations",
            include_str!("../../migrations/postgres/0002_sessions_and_revocations.sql"),
        ),
        (
            "user email",
            include_str!("../../migrations/postgres/0003_user_email.sql"),
        ),
        (
            "class progress",
            include_str!("../../migrations/postgres/0004_class_progress.sql"),
        ),
        (
            "heartbeat",
            include_str!("../../migrations/postgres/0005_heartbeat.sql"),
        ),
        (
            "openid connect",
            include_str!("../../migrations/postgres/0006_oidc.sql"),
        ),
        (
            "django import",
            include_str!("../../migrations/postgres/0007_django_import.sql"),
        ),
    ])
}

/// Revokes, in the caller's transaction (which holds the feed's lock), what `revocation` names,
/// and publishes it for every instance.
async fn apply_revocation(
    tx: &mut Transaction<'_, Postgres>,
    revocation: &Revocation,
    now: i64,
) -> Result<(), sqlx::Error> {
    match revocation {
        Revocation::Session { id, expires_at } => {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            publish_session(tx, id, *expires_at).await?;
        }
        Revocation::User {
            user_id,
            cutoff,
            expires_at,
        } => {
            let live: Vec<(String, i64)> = sqlx::query_as(
                "UPDATE sessions SET revoked_at = $1
                 WHERE user_id = $2 AND revoked_at IS NULL AND expires_at >= $1
                 RETURNING id, expires_at",
            )
            .bind(now)
            .bind(user_id)
            .fetch_all(&mut **tx)
            .await?;
            for (id, expires_at) in live {
                publish_session(tx, &id, expires_at).await?;
            }
            sqlx::query(
                "INSERT INTO revocations (user_id, cutoff, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(cutoff)
            .bind(expires_at)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

async fn publish_session(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO revocations (session_id, expires_at) VALUES ($1, $2)")
        .bind(id)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn blacklist(&self, entry: BlacklistEntry) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&entry.jti)
        .bind(&entry.user_id)
        .bind(entry.expires_at)
        .bind(entry.blacklisted_at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM token_blacklist WHERE jti = $1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn start_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, started_at, expires_at) VALUES ($1, $2, $3, $4)
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
            "SELECT id, user_id, started_at, expires_at, revoked_at FROM sessions WHERE id = $1",
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

    async fn revoke(&self, revocation: Revocation, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *tx)
            .await?;
        apply_revocation(&mut tx, &revocation, now).await?;
        tx.commit().await?;
        Ok(())
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
        // The token and its session are revoked together, or neither.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FEED_LOCK)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&entry.jti)
        .bind(&entry.user_id)
        .bind(entry.expires_at)
        .bind(entry.blacklisted_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        publish_session(&mut tx, id, *expires_at).await?;
        tx.commit().await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn revocations_since(&self, after: i64) -> Result<Vec<(i64, Revocation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, session_id, user_id, cutoff, expires_at FROM revocations
             WHERE seq > $1 ORDER BY seq",
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

    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for sql in [
            "DELETE FROM token_blacklist WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
            "DELETE FROM revocations WHERE expires_at < $1",
        ] {
            deleted += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO heartbeat (id, beat_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
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
impl UserStore for PostgresStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, is_active, date_joined, email, email_verified FROM users
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, is_active, date_joined, email, email_verified FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, password_hash, is_active, date_joined, email, email_verified FROM users ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    async fn password_hashes_unlike(&self, prefix: &str) -> Result<(u64, Vec<String>), StoreError> {
        // `prefix` is `$argon2id$v=19$m=…,t=…,p=…$`: no LIKE wildcard (`%`, `_`) in it.
        let pattern = format!("{prefix}%");
        let (ours,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE password_hash LIKE $1")
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await?;
        let others: Vec<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE password_hash NOT LIKE $1")
                .bind(&pattern)
                .fetch_all(&self.pool)
                .await?;
        Ok((ours.max(0) as u64, others))
    }

    async fn create(&self, user: NewUser) -> Result<User, UserError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (username, password_hash, is_active, date_joined)
             VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.is_active)
        .bind(user.date_joined)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(id) = id else {
            return Err(UserError::AlreadyExists(user.username));
        };
        Ok(User {
            id,
            username: user.username,
            password_hash: user.password_hash,
            is_active: user.is_active,
            date_joined: user.date_joined,
            email: String::new(),
            email_verified: false,
        })
    }

    async fn set_active(&self, username: &str, active: bool) -> Result<(), UserError> {
        let result = sqlx::query("UPDATE users SET is_active = $1 WHERE username = $2")
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
        let result = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
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
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
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
        let result: Result<bool, sqlx::Error> = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FEED_LOCK)
                .execute(&mut *tx)
                .await?;
            let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
                .bind(hash)
                .bind(username)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            apply_revocation(&mut tx, revocation, now).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await;
        match result.map_err(StoreError::from)? {
            true => Ok(()),
            false => Err(UserError::NotFound(username.to_owned())),
        }
    }

    async fn set_email(&self, id: i64, email: &str) -> Result<(), UserError> {
        let result =
            sqlx::query("UPDATE users SET email = $1, email_verified = FALSE WHERE id = $2")
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
            "UPDATE users SET email_verified = TRUE
             WHERE id = $1 AND email = $2 AND email <> '' AND email_verified = FALSE",
        )
        .bind(id)
        .bind(email)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

#[async_trait]
impl ProgressStore for PostgresStore {
    async fn save_progress(
        &self,
        user_id: i64,
        submitted_at: i64,
        report: &ProgressReport,
    ) -> Result<(), StoreError> {
        let report = serde_json::to_string(report).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query(
            "INSERT INTO class_progress (user_id, submitted_at, report) VALUES ($1, $2, $3)
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
impl OidcStore for PostgresStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris,
                 post_logout_redirect_uris, frontchannel_logout_uri, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = $1");
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            "UPDATE oidc_codes SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL
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
            sqlx::query_as("SELECT issued_session FROM oidc_codes WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match again {
            Some((issued_session,)) => Redemption::Again { issued_session },
            None => Redemption::Unknown,
        })
    }

    async fn record_issued_session(&self, code: &str, session: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE oidc_codes SET issued_session = $1 WHERE id = $2")
            .bind(session)
            .bind(code)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn start_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_sessions (id, user_id, auth_time, expires_at, ended_at)
             VALUES ($1, $2, $3, $4, $5)",
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
            "SELECT id, user_id, auth_time, expires_at, ended_at FROM oidc_sessions WHERE id = $1",
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
            "INSERT INTO oidc_session_clients (session_id, client_id) VALUES ($1, $2)
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
            "SELECT client_id FROM oidc_session_clients WHERE session_id = $1 ORDER BY client_id",
        )
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn issued_sessions(&self, browser_session: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT issued_session FROM oidc_codes
             WHERE browser_session = $1 AND issued_session IS NOT NULL ORDER BY issued_session",
        )
        .bind(browser_session)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn end_browser_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let ended = sqlx::query(
            "UPDATE oidc_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(ended.rows_affected() == 1)
    }

    async fn delete_expired_oidc(&self, now: i64) -> Result<u64, StoreError> {
        let codes = sqlx::query("DELETE FROM oidc_codes WHERE expires_at < $1")
            .bind(now - CODE_MEMORY)
            .execute(&self.pool)
            .await?;
        let sessions = sqlx::query("DELETE FROM oidc_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(codes.rows_affected() + sessions.rows_affected())
    }
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
                              frontchannel_logout_uri, created_at";

fn client_from_row(row: &PgRow) -> Result<Client, sqlx::Error> {
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
impl ImportStore for PostgresStore {
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
                    "UPDATE users SET username = $1, email = $2,
                     email_verified = CASE WHEN email = $2 THEN email_verified ELSE FALSE END,
                     is_active = $3, date_joined = $4, last_login = $5,
                     password_hash = COALESCE($6, password_hash)
                     WHERE id = $7",
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
            // New users and blacklist rows go in as arrays, a chunk per statement: one round
            // trip per few thousand rows rather than per row.
            for chunk in plan.create.chunks(IMPORT_CHUNK) {
                let column =
                    |f: fn(&ImportedUser) -> String| chunk.iter().map(f).collect::<Vec<_>>();
                sqlx::query(
                    "INSERT INTO users
                     (id, username, email, is_active, date_joined, last_login, password_hash)
                     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::boolean[],
                                          $5::bigint[], $6::bigint[], $7::text[])",
                )
                .bind(chunk.iter().map(|u| u.id).collect::<Vec<_>>())
                .bind(column(|u| u.username.clone()))
                .bind(column(|u| u.email.clone()))
                .bind(chunk.iter().map(|u| u.is_active).collect::<Vec<_>>())
                .bind(chunk.iter().map(|u| u.date_joined).collect::<Vec<_>>())
                .bind(chunk.iter().map(|u| u.last_login).collect::<Vec<_>>())
                .bind(column(|u| {
                    u.password_hash.clone().unwrap_or_else(|| "!".into())
                }))
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO django_users (user_id, password_hash, imported_at)
                     SELECT id, hash, $3 FROM UNNEST($1::bigint[], $2::text[]) AS u (id, hash)",
                )
                .bind(chunk.iter().map(|u| u.id).collect::<Vec<_>>())
                .bind(column(|u| u.django_hash.clone()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE users SET is_active = FALSE WHERE id = ANY($1)")
                .bind(&plan.deactivate)
                .execute(&mut *tx)
                .await?;
            for chunk in plan.blacklist.chunks(IMPORT_CHUNK) {
                sqlx::query(
                    "INSERT INTO token_blacklist (jti, user_id, expires_at, blacklisted_at)
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(chunk.iter().map(|e| e.jti.clone()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.user_id.clone()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.expires_at).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.blacklisted_at).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await?;
            }
            // New users here start above every id Django ever gave, deleted users' included (rows
            // inserted with their own id do not move the sequence).
            sqlx::query(
                "SELECT setval('users_id_seq',
                 GREATEST($1, (SELECT last_value FROM users_id_seq),
                          (SELECT COALESCE(MAX(id), 0) FROM users), 1))",
            )
            .bind(plan.id_floor)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }

    async fn next_user_id(&self) -> Result<i64, StoreError> {
        let (next,): (i64,) = sqlx::query_as(
            "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM users_id_seq",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next)
    }
}

/// How many rows an import writes per statement.
const IMPORT_CHUNK: usize = 5000;

/// Remembers Django's hash for a user just imported (see `django_users`).
async fn remember_import(
    tx: &mut Transaction<'_, Postgres>,
    user: &ImportedUser,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO django_users (user_id, password_hash, imported_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE
         SET password_hash = excluded.password_hash, imported_at = excluded.imported_at",
    )
    .bind(user.id)
    .bind(&user.django_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
