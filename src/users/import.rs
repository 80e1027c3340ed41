//! Bringing a Django service's users and simplejwt's blacklist here (`import-django`), so that
//! a service can move without logging anyone out, and without anyone becoming someone else.
//!
//! What Django has is read into a [`DjangoSnapshot`] (by [`crate::store::django`]); [`plan`]
//! compares it with what this server already holds and says what to change, and an
//! [`ImportStore`] applies the plan in one transaction. Running it again brings what changed
//! at Django since (the cut-over window): the rules are in [`plan`].

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use super::hashes::{self, Stored, Unusable};
use super::{User, UserStore};
use crate::storage::StoreError;
use crate::tokens::{BlacklistEntry, TokenStore};

/// One row of Django's `auth_user`, as much as this server keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct DjangoUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    /// Django's `password` column: `pbkdf2_sha256$…`, `argon2$…`, `!…`, …
    pub password: String,
    pub is_active: bool,
    /// Unix seconds.
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

impl std::fmt::Debug for DjangoUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A refresh token simplejwt blacklisted (logged out, or rotated away with
/// `BLACKLIST_AFTER_ROTATION`): a row of `token_blacklist_blacklistedtoken` joined to its
/// `token_blacklist_outstandingtoken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DjangoBlacklistedToken {
    pub jti: String,
    /// Null when the user was deleted since.
    pub user_id: Option<i64>,
    pub expires_at: i64,
    pub blacklisted_at: i64,
}

/// Everything read from the Django database, in one read-only transaction.
#[derive(Debug, Clone, Default)]
pub struct DjangoSnapshot {
    pub users: Vec<DjangoUser>,
    pub blacklisted: Vec<DjangoBlacklistedToken>,
    /// Refresh tokens simplejwt issued that are neither blacklisted nor expired: the sessions
    /// that go on here (adopted at their first refresh).
    pub live_tokens: u64,
    /// The highest user id Django ever handed out: its id sequence, or the highest id any row
    /// (a user, a token) names, whichever is higher. Deleted users' ids count too.
    pub highest_id: i64,
    /// Whether simplejwt's `token_blacklist` app's tables were there at all.
    pub has_blacklist: bool,
}

/// A user as the import writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub is_active: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
    /// The hash to store; `None` keeps the one this server has (it upgraded Django's at a
    /// login here, and Django's has not changed since).
    pub password_hash: Option<String>,
    /// Django's hash as read now, remembered so that a later run can tell a password changed
    /// at Django from one upgraded here.
    pub django_hash: String,
}

/// What this server remembers of an imported user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub user_id: i64,
    /// Django's hash at the last import.
    pub django_hash: String,
    pub last_login: Option<i64>,
}

/// A user whose Django hash this server cannot check: imported without a usable password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusablePassword {
    pub id: i64,
    pub username: String,
    pub why: Unusable,
}

/// What an import will change.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub create: Vec<ImportedUser>,
    pub update: Vec<ImportedUser>,
    /// Imported before, gone from Django now (deleted there): deactivated here, id kept.
    pub deactivate: Vec<i64>,
    /// Imported before and unchanged at Django.
    pub unchanged: usize,
    /// Of `create` and `update`, those whose Django hash cannot be checked here.
    pub unusable: Vec<UnusablePassword>,
    /// Of `update`, those whose password changed at Django since the last import.
    pub passwords_changed: usize,
    /// simplejwt's blacklist rows not here yet (expired ones are left: their `exp` refuses them).
    pub blacklist: Vec<BlacklistEntry>,
    pub blacklisted_expired: usize,
    pub blacklisted_already: usize,
    /// New users here get ids above this.
    pub id_floor: i64,
}

/// Why an import cannot go ahead. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "user #{id} here is {ours:?}, which was not imported from Django, and Django's user #{id} \
         is {theirs:?}: a Django token for #{id} would authenticate as the wrong person. Import \
         into a new database (--database-url, or an empty --data-dir)"
    )]
    IdTaken {
        id: i64,
        ours: String,
        theirs: String,
    },
    #[error(
        "the username {username:?} is user #{ours} here but #{theirs} at Django: import into a \
         new database, or rename one of them first"
    )]
    UsernameTaken {
        username: String,
        ours: i64,
        theirs: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where an import is written: the users and the blacklist, in one transaction.
#[async_trait]
pub trait ImportStore: UserStore + TokenStore {
    /// Every user imported so far.
    async fn import_records(&self) -> Result<Vec<ImportRecord>, StoreError>;
    /// Every token id on the blacklist (one query, rather than one per Django row).
    async fn blacklisted_jtis(&self) -> Result<HashSet<String>, StoreError>;
    /// Applies `plan` in one transaction (all of it, or none), at `now`.
    async fn apply_import(&self, plan: &ImportPlan, now: i64) -> Result<(), StoreError>;
    /// The id the next user created here will get.
    async fn next_user_id(&self) -> Result<i64, StoreError>;
}

// ANCHOR: plan
/// What to change so that this server holds what Django holds:
///
/// - a Django user this server does not have is created with the same id; one imported before
///   is updated (username, email, active flag, dates). Its password hash is Django's, unless
///   Django's is the one imported last time and this server has since replaced it at a login
///   (so a re-run never undoes an upgrade, and always brings a password changed at Django);
/// - a user imported before and gone from Django is deactivated (its id stays taken);
/// - an id or a username this server already gives to someone who was not imported stops the
///   import: a Django token for that id would authenticate as someone else;
/// - a hash this server cannot check (`!…`, `md5`, …) is imported as unusable, and named;
/// - simplejwt's blacklisted tokens that have not expired are blacklisted here too;
/// - new ids continue after the highest id Django ever gave, deleted users' included.
pub async fn plan(
    store: &dyn ImportStore,
    django: &DjangoSnapshot,
    now: i64,
) -> Result<ImportPlan, ImportError> {
    let ours: HashMap<i64, User> = store.list().await?.into_iter().map(|u| (u.id, u)).collect();
    let by_name: HashMap<&str, i64> = ours.values().map(|u| (u.username.as_str(), u.id)).collect();
    let records: HashMap<i64, ImportRecord> = store
        .import_records()
        .await?
        .into_iter()
        .map(|r| (r.user_id, r))
        .collect();
    let mut plan = ImportPlan::default();
    for theirs in &django.users {
        if let Some(&id) = by_name.get(theirs.username.as_str())
            && id != theirs.id
        {
            return Err(ImportError::UsernameTaken {
                username: theirs.username.clone(),
                ours: id,
                theirs: theirs.id,
            });
        }
        let (password_hash, unusable) = hash_to_store(&theirs.password);
        if let Some(why) = unusable {
            plan.unusable.push(UnusablePassword {
                id: theirs.id,
                username: theirs.username.clone(),
                why,
            });
        }
        let mut imported = ImportedUser {
            id: theirs.id,
            username: theirs.username.clone(),
            email: theirs.email.clone(),
            is_active: theirs.is_active,
            date_joined: theirs.date_joined,
            last_login: theirs.last_login,
            password_hash: Some(password_hash),
            django_hash: theirs.password.clone(),
        };
        match (ours.get(&theirs.id), records.get(&theirs.id)) {
            (None, _) => plan.create.push(imported),
            (Some(mine), None) => {
                return Err(ImportError::IdTaken {
                    id: theirs.id,
                    ours: mine.username.clone(),
                    theirs: theirs.username.clone(),
                });
            }
            (Some(mine), Some(record)) => {
                let password_changed = record.django_hash != theirs.password;
                if !password_changed {
                    imported.password_hash = None;
                    // Only a user whose hash is new at Django needs naming again.
                    plan.unusable.retain(|u| u.id != theirs.id);
                }
                let same = !password_changed
                    && mine.username == theirs.username
                    && mine.email == theirs.email
                    && mine.is_active == theirs.is_active
                    && mine.date_joined == theirs.date_joined
                    && record.last_login == theirs.last_login;
                if same {
                    plan.unchanged += 1;
                } else {
                    plan.passwords_changed += usize::from(password_changed);
                    plan.update.push(imported);
                }
            }
        }
    }
    let at_django: HashSet<i64> = django.users.iter().map(|u| u.id).collect();
    plan.deactivate = records
        .keys()
        .filter(|id| !at_django.contains(id))
        .filter(|id| ours.get(id).is_some_and(|u| u.is_active))
        .copied()
        .collect();
    plan.deactivate.sort_unstable();
    let blacklisted_here = store.blacklisted_jtis().await?;
    for token in &django.blacklisted {
        if token.expires_at <= now {
            plan.blacklisted_expired += 1;
        } else if blacklisted_here.contains(&token.jti) {
            plan.blacklisted_already += 1;
        } else {
            plan.blacklist.push(BlacklistEntry {
                jti: token.jti.clone(),
                user_id: token.user_id.map(|id| id.to_string()),
                expires_at: token.expires_at,
                blacklisted_at: token.blacklisted_at,
            });
        }
    }
    plan.id_floor = django
        .highest_id
        .max(django.users.iter().map(|u| u.id).max().unwrap_or(0));
    Ok(plan)
}
// ANCHOR_END: plan

/// The hash to store for a Django hash: itself when this server can check it; otherwise an
/// unusable marker that keeps no weak hash material (an `md5` hash is as good as the password),
/// and why.
fn hash_to_store(django: &str) -> (String, Option<Unusable>) {
    match hashes::read(django) {
        Stored::Unusable(Unusable::NoPassword) if django.starts_with('!') => {
            (django.to_owned(), Some(Unusable::NoPassword))
        }
        Stored::Unusable(why) => {
            let marker = match &why {
                Unusable::UnknownAlgorithm(name) => format!("!django-{name}-not-imported"),
                _ => "!django-hash-not-imported".to_owned(),
            };
            (marker, Some(why))
        }
        _ => (django.to_owned(), None),
    }
}

impl ImportPlan {
    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty()
            && self.update.is_empty()
            && self.deactivate.is_empty()
            && self.blacklist.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_this_server_cannot_check_is_stored_as_unusable_without_its_material() {
        let (stored, why) = hash_to_store("md5$seasalt$37da67e81000a61f0698842990646bdd");
        assert_eq!(stored, "!django-md5-not-imported");
        assert_eq!(why, Some(Unusable::UnknownAlgorithm("md5".into())));
        let (stored, why) = hash_to_store("!abc");
        assert_eq!((stored.as_str(), why), ("!abc", Some(Unusable::NoPassword)));
        let (stored, why) = hash_to_store("");
        assert_eq!(stored, "!django-hash-not-imported");
        assert_eq!(why, Some(Unusable::NoPassword));
        let django = "pbkdf2_sha256$1000$abc$z2/+JYqJwL9fihakRDN/fuurMnDwSnLq9uUgMTUETRc=";
        assert_eq!(hash_to_store(django), (django.to_owned(), None));
    }
}
