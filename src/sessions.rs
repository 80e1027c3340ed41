//! The life of a login session, in one place: log in (throttled, timing-safe), refresh with
//! rotation (a rotated-away token coming back revokes its whole family), adopt a refresh token
//! a simplejwt service issued, log out, log out everywhere, change or reset a password, slide a
//! sliding token, and authenticate an access token on a protected route.
//!
//! [`Sessions`] holds what those rules need — the token service, the token store, the in-memory
//! view of revocations, the user store, the password hasher and the login throttle — and answers
//! with [`SessionError`], which knows nothing of HTTP: `ApiError` maps it to statuses and
//! simplejwt's words.

use std::net::IpAddr;
use std::sync::Arc;

use crate::metrics::{RevocationReason, SessionMetrics};
use crate::storage::StoreError;
use crate::tokens::{
    BlacklistEntry, Revocation, RevocationView, Session, TokenError, TokenPair, TokenService,
    TokenStore, TokenType, VerifiedToken, session_of,
};
use crate::users::{
    Attempt, LoginError, LoginThrottle, Passwords, RetryAfter, User, UserError, UserStore,
    authenticate, change_password, user_id_claim,
};

/// Why a session rule refused. Each variant is one of simplejwt's answers (or ours, where it
/// has none); the HTTP layer chooses the status and the words.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A token endpoint refused the token.
    #[error("{0}")]
    Token(TokenError),
    /// `verify` found a valid token that has been revoked (simplejwt answers this one apart).
    #[error("the token has been revoked")]
    Revoked,
    /// A protected route refused the bearer token: why, for each token class it tried.
    #[error("the bearer token was refused: {0:?}")]
    Bearer(Vec<(TokenType, TokenError)>),
    #[error("the token names no user")]
    NoUserIdentification,
    #[error("the token's user does not exist")]
    UserNotFound,
    #[error("the token's user is inactive")]
    UserInactive,
    /// Bad credentials at login, whichever part was wrong.
    #[error("no active account found with the given credentials")]
    NoActiveAccount,
    /// A refresh for a user who is gone or inactive.
    #[error("no active account found for the given token")]
    NoActiveAccountForToken,
    /// Too many failed logins; try again in this many seconds.
    #[error("throttled for {0} s")]
    Throttled(i64),
    /// The old password given to a password change is not the user's.
    #[error("wrong password")]
    WrongPassword,
    /// A password change to the same password.
    #[error("the new password is the old one")]
    SamePassword,
    /// A new password that cannot be used (empty, say).
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen (the hasher failed, say). Logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl From<UserError> for SessionError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Store(error) => Self::Store(error),
            UserError::InvalidPassword(why) => Self::InvalidPassword(why),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The session rules and their collaborators. Cheap to share: the state holds one behind an `Arc`.
pub struct Sessions {
    tokens: TokenService,
    store: Arc<dyn TokenStore>,
    revoked: RevocationView,
    users: Arc<dyn UserStore>,
    passwords: Passwords,
    throttle: LoginThrottle,
    /// Whether protected routes also take simplejwt's sliding tokens.
    sliding_tokens: bool,
    /// Logins, refreshes and revocations, counted for `/metrics`.
    metrics: SessionMetrics,
}

impl Sessions {
    pub fn new(
        tokens: TokenService,
        store: Arc<dyn TokenStore>,
        users: Arc<dyn UserStore>,
        passwords: Passwords,
        throttle: LoginThrottle,
        sliding_tokens: bool,
    ) -> Self {
        Self {
            revoked: RevocationView::new(store.clone()),
            tokens,
            store,
            users,
            passwords,
            throttle,
            sliding_tokens,
            metrics: SessionMetrics::default(),
        }
    }

    /// What the session rules counted so far.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.metrics
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    pub fn sliding_tokens(&self) -> bool {
        self.sliding_tokens
    }

    // ANCHOR: log_in
    /// The user a username and password prove. Too many failures for the username or from the
    /// address, and the attempt is refused before any password is hashed.
    pub async fn log_in(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<User, SessionError> {
        let address = address.map(|ip| ip.to_string());
        let now = self.tokens.now();
        self.admit(username, address.as_deref(), now)
            .inspect_err(|_| self.metrics.login("throttled"))?;
        match authenticate(&*self.users, &self.passwords, username, password).await {
            Ok(user) => {
                self.throttle.record_success(username);
                self.metrics.login("ok");
                Ok(user)
            }
            Err(LoginError::NoActiveAccount) => {
                let attempt = Attempt::Password(password);
                self.throttle
                    .record_failure(username, address.as_deref(), now, attempt);
                self.metrics.login("failed");
                Err(SessionError::NoActiveAccount)
            }
            Err(LoginError::Store(error)) => Err(error.into()),
        }
    }
    // ANCHOR_END: log_in

    /// Counts a request that may be abused to flood (a password-reset mail) against the same
    /// limits as a failed login, refusing it when they are spent.
    pub fn count_against_login_limits(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<(), SessionError> {
        let address = address.map(|ip| ip.to_string());
        let now = self.tokens.now();
        self.admit(username, address.as_deref(), now)?;
        self.throttle
            .record_failure(username, address.as_deref(), now, Attempt::Every);
        Ok(())
    }

    /// Refuses an attempt while the username's or the address's failures are over the limit.
    fn admit(&self, username: &str, address: Option<&str>, now: i64) -> Result<(), SessionError> {
        self.throttle
            .check(username, address, now)
            .map_err(|RetryAfter(seconds)| SessionError::Throttled(seconds))
    }

    /// A new session for a user who just proved who they are, recorded, and its first pair.
    pub async fn start(&self, user: &User) -> Result<TokenPair, SessionError> {
        let (pair, session) = self.tokens.start_session(&self.user_id_of(user));
        self.store.start_session(&session).await?;
        Ok(pair)
    }

    /// A new session whose tokens carry `claims` too (the OpenID Connect provider's
    /// `client_id` and `scope`), recorded; its first pair and the session's id.
    pub async fn start_with_claims(
        &self,
        user: &User,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(TokenPair, String), SessionError> {
        let (pair, session) = self.tokens.start_session_with(&user.id.to_string(), claims);
        self.store.start_session(&session).await?;
        Ok((pair, session.id))
    }

    /// Revokes a whole token family by its id, everywhere: what a replayed authorization
    /// code started is no longer trusted.
    pub async fn revoke_family(&self, session_id: &str) -> Result<(), SessionError> {
        let now = self.tokens.now();
        let revocation = self.family_revocation(session_id, now).await?;
        Ok(self.revoked.revoke(revocation, now).await?)
    }

    /// A new sliding session (simplejwt's sliding tokens): one token for both uses.
    pub async fn start_sliding(&self, user: &User) -> Result<String, SessionError> {
        let (token, session) = self.tokens.start_sliding_session(&self.user_id_of(user));
        self.store.start_session(&session).await?;
        Ok(token)
    }

    // ANCHOR: refresh
    /// A refresh token → a new pair. The old refresh token is revoked before anything is
    /// issued, and the revocation is the race's referee: of two requests with the same token,
    /// only the one that revoked it gets new tokens.
    ///
    /// A refresh token that was already rotated away and comes back has been copied: either the
    /// thief or the user now holds a newer one, and we cannot tell which. So the whole session
    /// is revoked, and both must log in again (RFC 9700 §4.14.2).
    pub async fn refresh(&self, raw: &str) -> Result<TokenPair, SessionError> {
        let refreshed = self.rotate(raw).await;
        self.metrics
            .refresh(if refreshed.is_ok() { "ok" } else { "refused" });
        refreshed
    }

    async fn rotate(&self, raw: &str) -> Result<TokenPair, SessionError> {
        let token = self
            .tokens
            .verify(raw, Some(TokenType::Refresh))
            .map_err(SessionError::Token)?;
        let now = self.tokens.now();
        let (blacklisted, recorded) = self
            .store
            .refresh_state(&token.jti, session_of(&token.jti))
            .await?;
        if blacklisted {
            self.revoke_session(&token, now).await?;
            return Err(SessionError::Token(TokenError::Blacklisted));
        }
        let session = self.current_session(&token, recorded, now).await?;
        // An inactive user's token is not consumed: it works again once they are reactivated.
        self.active_user_of(&token).await.map_err(for_refresh)?;
        if !self.store.blacklist(self.blacklist_entry(&token)).await? {
            // Lost the race against a concurrent request with the same token: a reuse too.
            self.revoke_session(&token, now).await?;
            return Err(SessionError::Token(TokenError::Blacklisted));
        }
        Ok(self.tokens.rotate(&token, session.expires_at))
    }
    // ANCHOR_END: refresh

    /// A sliding token → the same token with a new `exp`, until its `refresh_exp`. A revoked
    /// session's token slides no further.
    pub async fn slide(&self, raw: &str) -> Result<String, SessionError> {
        let token = self
            .tokens
            .verify(raw, Some(TokenType::Sliding))
            .map_err(SessionError::Token)?;
        if self.is_revoked(&token).await? {
            return Err(SessionError::Token(TokenError::Blacklisted));
        }
        self.active_user_of(&token).await.map_err(for_refresh)?;
        self.tokens.slide(&token).map_err(SessionError::Token)
    }

    /// Is this token (of any type) valid and not revoked?
    pub async fn verify(&self, raw: &str) -> Result<VerifiedToken, SessionError> {
        let token = self.tokens.verify(raw, None).map_err(SessionError::Token)?;
        if self.is_revoked(&token).await? {
            return Err(SessionError::Revoked);
        }
        Ok(token)
    }

    // ANCHOR: log_out
    /// Logout: revokes the refresh token so it can never be used again, and its whole
    /// session, so the access tokens issued with it stop working now rather than when they
    /// expire. A token that was already revoked is refused (after its session is revoked too).
    pub async fn log_out(&self, raw: &str) -> Result<(), SessionError> {
        let token = self
            .tokens
            .verify(raw, Some(TokenType::Refresh))
            .map_err(SessionError::Token)?;
        // No separate "already revoked?" read: the insert answers that, atomically. The token
        // and its session are revoked in one transaction: a logout answered 503 did neither.
        let now = self.tokens.now();
        let session = self.session_revocation(&token, now).await?;
        let revoked_now = self
            .store
            .log_out(self.blacklist_entry(&token), session, now)
            .await?;
        self.revoked.sync(now).await?;
        if revoked_now {
            self.metrics.revoked(RevocationReason::Logout);
            Ok(())
        } else {
            Err(SessionError::Token(TokenError::Blacklisted))
        }
    }
    // ANCHOR_END: log_out

    /// "Log out everywhere": every live session of the user, and by the cutoff every other
    /// token issued to them before this second (those of a simplejwt service we replaced, say).
    pub async fn log_out_everywhere(&self, user: &User) -> Result<(), SessionError> {
        let now = self.tokens.now();
        let settings = self.tokens.settings();
        let revocation = Revocation::User {
            user_id: self.user_id_of(user),
            cutoff: now,
            expires_at: now + settings.refresh_lifetime.max(settings.access_lifetime),
        };
        self.revoked.revoke(revocation, now).await?;
        self.metrics.revoked(RevocationReason::LogoutEverywhere);
        Ok(())
    }

    // ANCHOR: change_password
    /// A signed-in user's new password: the old one is checked as slowly as a login (a stolen
    /// access token alone cannot change it), every older token of the user is revoked, and a
    /// new session starts for the device that asked.
    pub async fn change_password(
        &self,
        user: &User,
        old: &str,
        new: &str,
    ) -> Result<TokenPair, SessionError> {
        if authenticate(&*self.users, &self.passwords, &user.username, old)
            .await
            .is_err()
        {
            return Err(SessionError::WrongPassword);
        }
        if new == old {
            return Err(SessionError::SamePassword);
        }
        self.set_password(user, new).await?;
        self.start(user).await
    }
    // ANCHOR_END: change_password

    /// Sets a user's password and revokes every token issued to them until now, here at once
    /// and on every instance.
    pub async fn set_password(&self, user: &User, new: &str) -> Result<(), SessionError> {
        let now = self.tokens.now();
        let settings = self.tokens.settings();
        change_password(
            &*self.users,
            &self.passwords,
            &user.username,
            new,
            now,
            settings.session_lifetime.max(settings.refresh_lifetime),
            settings.user_id_field,
        )
        .await?;
        self.metrics.revoked(RevocationReason::PasswordChange);
        Ok(self.revoked.sync(now).await?)
    }

    // ANCHOR: authenticate
    /// The active user a bearer token proves, on a protected route: an access token (or, with
    /// sliding tokens on, a sliding one), not revoked, naming a user who exists and is active.
    /// Like simplejwt, every accepted class is tried in turn, and a refusal says why each failed.
    /// The revocation check is from memory: no query but the user's (which is cached).
    pub async fn authenticate(&self, raw: &str) -> Result<(User, VerifiedToken), SessionError> {
        let classes: &[TokenType] = if self.sliding_tokens {
            &[TokenType::Access, TokenType::Sliding]
        } else {
            &[TokenType::Access]
        };
        // Allocated only when a class refuses the token, which is not the usual case.
        let mut refusals = Vec::new();
        let mut accepted = None;
        for &class in classes {
            match self.tokens.verify(raw, Some(class)) {
                Ok(token) if self.revoked.is_revoked(&token) => {
                    refusals.push((class, TokenError::Blacklisted));
                }
                Ok(token) => {
                    accepted = Some(token);
                    break;
                }
                Err(reason) => refusals.push((class, reason)),
            }
        }
        let Some(token) = accepted else {
            tracing::debug!(?refusals, "bearer token refused");
            return Err(SessionError::Bearer(refusals));
        };
        let user = self.active_user_of(&token).await?;
        Ok((user, token))
    }
    // ANCHOR_END: authenticate

    /// The user a user id claim names, by the configured field (`USER_ID_FIELD`). An id that
    /// is not a number names nobody (simplejwt answers such a token with a 500; we say "not
    /// found").
    pub async fn find_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let field = self.tokens.settings().user_id_field;
        self.users.find_for_token(field, user_id).await
    }

    /// What a token issued to `user` names them by: the configured field's value.
    pub fn user_id_of(&self, user: &User) -> String {
        user_id_claim(user, self.tokens.settings().user_id_field)
    }

    /// Counts the accounts' password hash kinds, so that a login for a missing account costs
    /// what one of them costs (see [`crate::users::password`]). `serve` calls it at start and
    /// hourly.
    pub async fn learn_password_mix(&self) -> Result<(), StoreError> {
        let (ours, others) = self
            .users
            .password_hashes_unlike(&self.passwords.our_prefix())
            .await?;
        self.passwords
            .learn_mix_with(ours, others.iter().map(String::as_str));
        Ok(())
    }

    /// Applies the revocations other instances published since the last call.
    pub async fn sync_revocations(&self) -> Result<(), StoreError> {
        self.revoked.sync(self.tokens.now()).await
    }

    /// How many revocations this instance holds in memory: (sessions, users).
    pub fn revocations_in_memory(&self) -> (usize, usize) {
        self.revoked.len()
    }

    /// The one active-user rule, for every route and endpoint that takes a token.
    async fn active_user_of(&self, token: &VerifiedToken) -> Result<User, SessionError> {
        let user_id = token
            .user_id
            .as_deref()
            .ok_or(SessionError::NoUserIdentification)?;
        let user = self
            .find_user(user_id)
            .await?
            .ok_or(SessionError::UserNotFound)?;
        if user.is_active {
            Ok(user)
        } else {
            Err(SessionError::UserInactive)
        }
    }

    /// Revoked, from memory (sessions, users) or by the blacklist (this very token).
    async fn is_revoked(&self, token: &VerifiedToken) -> Result<bool, StoreError> {
        Ok(self.revoked.is_revoked(token) || self.store.is_blacklisted(&token.jti).await?)
    }

    /// The session of a refresh token, as the store recorded it. A revoked one refuses the token. A token
    /// with no recorded session (simplejwt issued it, before we took over) starts one now.
    async fn current_session(
        &self,
        token: &VerifiedToken,
        recorded: Option<(Session, bool)>,
        now: i64,
    ) -> Result<Session, SessionError> {
        if self.revoked.is_revoked(token) {
            return Err(SessionError::Token(TokenError::Blacklisted));
        }
        let id = session_of(&token.jti);
        match recorded {
            Some((_, true)) => Err(SessionError::Token(TokenError::Blacklisted)),
            Some((session, false)) => Ok(session),
            None => {
                let session = Session {
                    id: id.to_owned(),
                    user_id: token.user_id.clone().unwrap_or_default(),
                    started_at: now,
                    expires_at: now + self.tokens.settings().session_lifetime,
                };
                self.store.start_session(&session).await?;
                Ok(session)
            }
        }
    }

    /// Revokes a reused token's session everywhere. The revocation outlives every token the
    /// session can still have: its recorded cap, or else the longest lifetime from now.
    async fn revoke_session(&self, token: &VerifiedToken, now: i64) -> Result<(), StoreError> {
        let revocation = self.session_revocation(token, now).await?;
        self.revoked.revoke(revocation, now).await?;
        self.metrics.revoked(RevocationReason::Reuse);
        Ok(())
    }

    /// The revocation of a token's session, lasting as long as any token of it can.
    async fn session_revocation(
        &self,
        token: &VerifiedToken,
        now: i64,
    ) -> Result<Revocation, StoreError> {
        self.family_revocation(session_of(&token.jti), now).await
    }

    /// The revocation of a session by its id, lasting as long as any token of it can.
    async fn family_revocation(&self, id: &str, now: i64) -> Result<Revocation, StoreError> {
        let settings = self.tokens.settings();
        let expires_at = match self.store.session(id).await? {
            Some((session, _)) => session.expires_at,
            None => now + settings.refresh_lifetime.max(settings.access_lifetime),
        };
        Ok(Revocation::Session {
            id: id.to_owned(),
            expires_at,
        })
    }

    fn blacklist_entry(&self, token: &VerifiedToken) -> BlacklistEntry {
        BlacklistEntry {
            jti: token.jti.clone(),
            user_id: token.user_id.clone(),
            expires_at: token.exp,
            blacklisted_at: self.tokens.now(),
        }
    }
}

/// A refresh names the account differently when it is gone or inactive (simplejwt's words).
fn for_refresh(error: SessionError) -> SessionError {
    match error {
        SessionError::UserNotFound | SessionError::UserInactive => {
            SessionError::NoActiveAccountForToken
        }
        other => other,
    }
}
