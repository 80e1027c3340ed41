//! Users: the model, the [`UserStore`] trait the database implements, password hashing (ours,
//! and the Django hashes an import brings: [`hashes`]), the login check itself
//! ([`authenticate`]), the throttle in front of it ([`throttle`]), and the import of a Django
//! service's users ([`import`]).

pub mod cache;
pub mod hashes;
pub mod import;
pub mod password;
pub mod throttle;

pub use cache::CachedUserStore;
pub use password::{PasswordCost, Passwords, Verdict, WorkLog};
pub use throttle::{Attempt, LoginLimits, LoginThrottle, Rate, RetryAfter};

use async_trait::async_trait;

use crate::storage::StoreError;
use crate::tokens::{Revocation, UserIdField};

/// A user account, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// Case-sensitive, like Django's: `VITOR` is not `vitor`.
    pub username: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// Inactive users cannot log in, refresh, or use their access tokens.
    pub is_active: bool,
    /// Unix seconds.
    pub date_joined: i64,
    /// Where password-reset and verification links go; empty when none was given.
    pub email: String,
    /// Whether the owner followed a verification link sent to `email`.
    pub email_verified: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// A user about to be created; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub is_active: bool,
    pub date_joined: i64,
}

/// What can go wrong managing users.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user named {0:?} already exists")]
    AlreadyExists(String),
    #[error("there is no user named {0:?}")]
    NotFound(String),
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where users are kept.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn find_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    /// The user a token's user id claim names by `field`, for a request that carries the token.
    /// A cache may answer it for a few seconds ([`CachedUserStore`]); `find_by_username`,
    /// which logins use, it never answers. An id that is not a number names nobody.
    async fn find_for_token(
        &self,
        field: UserIdField,
        claim: &str,
    ) -> Result<Option<User>, StoreError> {
        match field {
            UserIdField::Id => match claim.parse::<i64>() {
                Ok(id) => self.find_by_id(id).await,
                Err(_) => Ok(None),
            },
            UserIdField::Username => self.find_by_username(claim).await,
        }
    }
    async fn list(&self) -> Result<Vec<User>, StoreError>;
    /// For counting the accounts' password hash kinds without reading every account: how many
    /// hashes start with `prefix` (ours, at our cost), and every other hash (Django's, until
    /// their users log in).
    async fn password_hashes_unlike(&self, prefix: &str) -> Result<(u64, Vec<String>), StoreError>;
    /// Fails with [`UserError::AlreadyExists`] rather than overwriting anyone.
    async fn create(&self, user: NewUser) -> Result<User, UserError>;
    async fn set_active(&self, username: &str, active: bool) -> Result<(), UserError>;
    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<(), UserError>;
    /// Replaces user `id`'s hash by `new` if it is still `old` (a login's upgrade must never
    /// undo a password change that happened meanwhile); whether it did.
    async fn upgrade_password_hash(
        &self,
        id: i64,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;
    /// A new password and the revocation of everything issued before it, in one transaction:
    /// if it fails, neither happened, and the old password and the old tokens still work.
    async fn set_password_and_revoke(
        &self,
        username: &str,
        hash: &str,
        revocation: &Revocation,
        now: i64,
    ) -> Result<(), UserError>;
    /// A new address, not verified yet.
    async fn set_email(&self, id: i64, email: &str) -> Result<(), UserError>;
    /// Marks `email` verified if it is still the user's address and not verified yet; `false`
    /// otherwise (so a verification link works once, and only for the address it was sent to).
    async fn verify_email(&self, id: i64, email: &str) -> Result<bool, StoreError>;
}

/// Django's username rule: 1–150 characters of letters, digits and `@.+-_`.
pub fn validate_username(username: &str) -> Result<(), UserError> {
    if username.is_empty() || username.chars().count() > 150 {
        return Err(UserError::InvalidUsername("use 1 to 150 characters"));
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        return Err(UserError::InvalidUsername(
            "use only letters, digits and @ . + - _",
        ));
    }
    Ok(())
}

/// Hashes `password` and stores a new user.
pub async fn create_user(
    store: &dyn UserStore,
    passwords: &Passwords,
    username: &str,
    password: &str,
    is_active: bool,
    now: i64,
) -> Result<User, UserError> {
    validate_username(username)?;
    if password.is_empty() {
        return Err(UserError::InvalidPassword("it is empty"));
    }
    let password_hash = passwords.hash(password).await?;
    store
        .create(NewUser {
            username: username.to_owned(),
            password_hash,
            is_active,
            date_joined: now,
        })
        .await
}

// ANCHOR: change_password
/// Gives `username` a new password and revokes every token issued to them until now: whoever
/// learnt the old password may hold tokens, and changing it is how a user throws them out.
/// `revoke_for` is how long the revocation must be remembered: the longest a token can live.
pub async fn change_password(
    users: &dyn UserStore,
    passwords: &Passwords,
    username: &str,
    new_password: &str,
    now: i64,
    revoke_for: i64,
    user_id_field: UserIdField,
) -> Result<User, UserError> {
    if new_password.is_empty() {
        return Err(UserError::InvalidPassword("it is empty"));
    }
    let user = users
        .find_by_username(username)
        .await?
        .ok_or_else(|| UserError::NotFound(username.to_owned()))?;
    let hash = passwords.hash(new_password).await?;
    // One transaction: should it fail (a full disk, a database gone), nothing changed, and the
    // old password and the old tokens still work; never one without the other.
    let revocation = Revocation::User {
        user_id: user_id_claim(&user, user_id_field),
        cutoff: now,
        expires_at: now + revoke_for,
    };
    users
        .set_password_and_revoke(username, &hash, &revocation, now)
        .await?;
    Ok(user)
}
// ANCHOR_END: change_password

/// The value a token's user id claim holds for `user`: simplejwt's `str(getattr(user,
/// USER_ID_FIELD))`. Revocations of "everything issued to a user" are keyed by it too.
pub fn user_id_claim(user: &User, field: UserIdField) -> String {
    match field {
        UserIdField::Id => user.id.to_string(),
        UserIdField::Username => user.username.clone(),
    }
}

/// Why a login failed. The HTTP layer answers all of them with the same message, as simplejwt
/// does, so that a caller cannot tell which usernames exist.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("no active account found with the given credentials")]
    NoActiveAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

// ANCHOR: authenticate
/// Checks a username and password. The work costs what an account's check costs whether or not
/// the user exists (see [`password`]), so response times do not reveal who has an account; an
/// inactive user is refused only after the password check, for the same reason.
///
/// A password that matched a hash of another kind (one imported from Django) is hashed again
/// with ours and stored, as Django upgrades a hash at login: the old kind's cost is gone after
/// each user's next login.
pub async fn authenticate(
    store: &dyn UserStore,
    passwords: &Passwords,
    username: &str,
    password: &str,
) -> Result<User, LoginError> {
    let user = store.find_by_username(username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verdict = passwords.check(username, password, hash).await;
    match user {
        Some(user) if verdict.matched && user.is_active => {
            if verdict.upgrade {
                upgrade_hash(store, passwords, &user, password, &verdict).await;
            }
            Ok(user)
        }
        _ => Err(LoginError::NoActiveAccount),
    }
}
// ANCHOR_END: authenticate

/// Replaces a matched legacy hash by ours. A failure only leaves the old hash in place (it still
/// works, and the next login tries again): the login itself succeeds.
async fn upgrade_hash(
    store: &dyn UserStore,
    passwords: &Passwords,
    user: &User,
    password: &str,
    verdict: &Verdict,
) {
    let new = match passwords.hash(password).await {
        Ok(new) => new,
        Err(error) => {
            tracing::warn!(%error, user_id = user.id, "rehashing a legacy password failed");
            return;
        }
    };
    match store
        .upgrade_password_hash(user.id, &user.password_hash, &new)
        .await
    {
        Ok(true) => {
            passwords.upgraded(&verdict.work);
            tracing::info!(
                user_id = user.id,
                "legacy password hash replaced by argon2id"
            );
        }
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(%error, user_id = user.id, "storing an upgraded password hash failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_djangos_rule() {
        assert!(validate_username("vitor").is_ok());
        assert!(validate_username("a.b+c-d_e@f").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("with space").is_err());
        assert!(validate_username(&"x".repeat(151)).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_hash() {
        let user = User {
            id: 1,
            username: "vitor".into(),
            password_hash: "$argon2id$secret".into(),
            is_active: true,
            date_joined: 0,
            email: String::new(),
            email_verified: false,
        };
        assert!(!format!("{user:?}").contains("argon2id"));
    }
}
