//! [`Guarded`]: any [`Database`] with two promises added, whatever the store underneath.
//!
//! - **No call outlives its deadline.** The stores bound their own waits (a lock, a connection,
//!   a statement) so the database gives up and rolls back; this is the backstop for a wait they
//!   cannot bound themselves — a network that drops packets, a disk whose `fsync` never returns.
//! - **It logs when the database becomes unusable, and when it is back**, once each: a call
//!   that fails with an "unavailable" error marks the store unavailable; a write that succeeds
//!   marks it available again. [`Guarded::probe`] is what `/readyz` asks: one tiny write under
//!   the deadline (nothing remembered decides readiness, so it comes back by itself).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{Database, StoreError};
use crate::classroom::{ProgressReport, ProgressStore, SubmittedProgress};
use crate::oidc::{AuthorizationCode, BrowserSession, Client, OidcStore, Redemption};
use crate::tokens::{BlacklistEntry, Revocation, Session, TokenStore};
use crate::users::import::{ImportPlan, ImportRecord, ImportStore};
use crate::users::{NewUser, User, UserError, UserStore};

/// A store whose calls are bounded and whose health is watched.
pub struct Guarded {
    inner: Arc<dyn Database>,
    /// The stores' own deadline; the backstop waits a little longer (see [`Guarded::backstop`]).
    deadline: Duration,
    /// Whether the last verdict was "unavailable" (so that each change is logged once).
    unavailable: AtomicBool,
}

impl Guarded {
    pub fn new(inner: Arc<dyn Database>, deadline: Duration) -> Self {
        Self {
            inner,
            deadline,
            unavailable: AtomicBool::new(false),
        }
    }

    /// How long a call may take before it is given up here. Longer than the stores' own
    /// deadline, so that in every case they can handle, the database gives up first and rolls
    /// back: a call abandoned here might still complete underneath.
    pub fn backstop(&self) -> Duration {
        self.deadline * 2 + Duration::from_secs(1)
    }

    /// Whether the database can write now: one tiny write, under the deadline.
    pub async fn probe(&self, now: i64) -> Result<(), StoreError> {
        self.write(self.inner.heartbeat(now)).await
    }

    async fn bounded<T, E: From<StoreError>>(
        &self,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        within(self.backstop(), call).await
    }

    async fn read<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = self.bounded(call).await;
        if let Err(error) = &result {
            self.saw_failure(error);
        }
        result
    }

    async fn write<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = self.bounded(call).await;
        match &result {
            Ok(_) => self.saw_success(),
            Err(error) => self.saw_failure(error),
        }
        result
    }

    async fn write_user<T>(
        &self,
        call: impl Future<Output = Result<T, UserError>>,
    ) -> Result<T, UserError> {
        let result = self.bounded(call).await;
        match &result {
            Err(UserError::Store(error)) => self.saw_failure(error),
            // Any other answer came from a database that answered.
            _ => self.saw_success(),
        }
        result
    }

    fn saw_failure(&self, error: &StoreError) {
        if error.is_unavailable() && !self.unavailable.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "the database became unavailable");
        }
    }

    fn saw_success(&self) {
        if self.unavailable.swap(false, Ordering::Relaxed) {
            tracing::info!("the database is available again");
        }
    }
}

/// `call`'s answer, or [`StoreError::Deadline`] once `limit` has passed without one.
async fn within<T, E: From<StoreError>>(
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Deadline(limit).into()),
    }
}

#[async_trait]
impl TokenStore for Guarded {
    async fn blacklist(&self, entry: BlacklistEntry) -> Result<bool, StoreError> {
        self.write(self.inner.blacklist(entry)).await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.read(self.inner.is_blacklisted(jti)).await
    }

    async fn start_session(&self, session: &Session) -> Result<(), StoreError> {
        self.write(self.inner.start_session(session)).await
    }

    async fn session(&self, id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        self.read(self.inner.session(id)).await
    }

    async fn refresh_state(
        &self,
        jti: &str,
        session: &str,
    ) -> Result<(bool, Option<(Session, bool)>), StoreError> {
        self.read(self.inner.refresh_state(jti, session)).await
    }

    async fn revoke(&self, revocation: Revocation, now: i64) -> Result<(), StoreError> {
        self.write(self.inner.revoke(revocation, now)).await
    }

    async fn log_out(
        &self,
        entry: BlacklistEntry,
        session: Revocation,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(self.inner.log_out(entry, session, now)).await
    }

    async fn revocations_since(&self, after: i64) -> Result<Vec<(i64, Revocation)>, StoreError> {
        self.read(self.inner.revocations_since(after)).await
    }

    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.write(self.inner.delete_expired(now)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(self.inner.ping()).await
    }

    async fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        self.probe(now).await
    }
}

#[async_trait]
impl UserStore for Guarded {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.read(self.inner.find_by_username(username)).await
    }

    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(self.inner.find_by_id(id)).await
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        self.read(self.inner.list()).await
    }

    async fn password_hashes_unlike(&self, prefix: &str) -> Result<(u64, Vec<String>), StoreError> {
        self.read(self.inner.password_hashes_unlike(prefix)).await
    }

    async fn create(&self, user: NewUser) -> Result<User, UserError> {
        self.write_user(self.inner.create(user)).await
    }

    async fn set_active(&self, username: &str, active: bool) -> Result<(), UserError> {
        self.write_user(self.inner.set_active(username, active))
            .await
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserError> {
        self.write_user(self.inner.set_password_hash(username, hash))
            .await
    }

    async fn upgrade_password_hash(
        &self,
        id: i64,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.write(self.inner.upgrade_password_hash(id, old, new))
            .await
    }

    async fn set_password_and_revoke(
        &self,
        username: &str,
        hash: &str,
        revocation: &Revocation,
        now: i64,
    ) -> Result<(), UserError> {
        self.write_user(
            self.inner
                .set_password_and_revoke(username, hash, revocation, now),
        )
        .await
    }

    async fn set_email(&self, id: i64, email: &str) -> Result<(), UserError> {
        self.write_user(self.inner.set_email(id, email)).await
    }

    async fn verify_email(&self, id: i64, email: &str) -> Result<bool, StoreError> {
        self.write(self.inner.verify_email(id, email)).await
    }
}

#[async_trait]
impl ProgressStore for Guarded {
    async fn save_progress(
        &self,
        user_id: i64,
        submitted_at: i64,
        report: &ProgressReport,
    ) -> Result<(), StoreError> {
        self.write(self.inner.save_progress(user_id, submitted_at, report))
            .await
    }

    async fn all_progress(&self) -> Result<Vec<SubmittedProgress>, StoreError> {
        self.read(self.inner.all_progress()).await
    }
}

#[async_trait]
impl OidcStore for Guarded {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        self.write(self.inner.create_client(client)).await
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.read(self.inner.client(id)).await
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.read(self.inner.clients()).await
    }

    async fn save_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.write(self.inner.save_code(code)).await
    }

    async fn redeem_code(&self, id: &str, now: i64) -> Result<Redemption, StoreError> {
        self.write(self.inner.redeem_code(id, now)).await
    }

    async fn record_issued_session(&self, code: &str, session: &str) -> Result<(), StoreError> {
        self.write(self.inner.record_issued_session(code, session))
            .await
    }

    async fn start_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        self.write(self.inner.start_browser_session(session)).await
    }

    async fn browser_session(&self, id: &str) -> Result<Option<BrowserSession>, StoreError> {
        self.read(self.inner.browser_session(id)).await
    }

    async fn add_session_client(&self, session: &str, client_id: &str) -> Result<(), StoreError> {
        self.write(self.inner.add_session_client(session, client_id))
            .await
    }

    async fn session_clients(&self, session: &str) -> Result<Vec<String>, StoreError> {
        self.read(self.inner.session_clients(session)).await
    }

    async fn issued_sessions(&self, browser_session: &str) -> Result<Vec<String>, StoreError> {
        self.read(self.inner.issued_sessions(browser_session)).await
    }

    async fn end_browser_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.write(self.inner.end_browser_session(id, now)).await
    }

    async fn delete_expired_oidc(&self, now: i64) -> Result<u64, StoreError> {
        self.write(self.inner.delete_expired_oidc(now)).await
    }
}

/// An import is a command's, never a request's: no deadline, and no verdict on availability.
#[async_trait]
impl ImportStore for Guarded {
    async fn import_records(&self) -> Result<Vec<ImportRecord>, StoreError> {
        self.inner.import_records().await
    }

    async fn blacklisted_jtis(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        self.inner.blacklisted_jtis().await
    }

    async fn apply_import(&self, plan: &ImportPlan, now: i64) -> Result<(), StoreError> {
        self.inner.apply_import(plan, now).await
    }

    async fn next_user_id(&self) -> Result<i64, StoreError> {
        self.inner.next_user_id().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_never_answers_is_given_up_at_the_limit_as_unavailable() {
        let limit = Duration::from_millis(50);
        let started = std::time::Instant::now();
        let never = std::future::pending::<Result<(), StoreError>>();
        let error = within(limit, never).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        let waited = started.elapsed();
        assert!(
            waited >= limit && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_call_that_answers_in_time_keeps_its_answer() {
        let answer = within(Duration::from_secs(7), async { Ok::<_, StoreError>(42) }).await;
        assert_eq!(answer.unwrap(), 42);
    }
}
