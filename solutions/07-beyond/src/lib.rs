//! Chapter 7, "Other uses of JWT": a password-reset link that works once, and a token from
//! another service checked with the keys its issuer publishes.
//!
//! A reset link carries a JWT that must never pass for anything else, and must stop working as
//! soon as it has been used. Both come from what goes into it: a key derived for this one
//! purpose, its own `token_type` and `aud`, a lifetime of 30 minutes, and a fingerprint of the
//! account's password hash, which changes when the password does. No database table of
//! "used links" is needed.
//!
//! Password hashes here are fixed argon2id PHC strings, made once with the server's
//! parameters: hashing passwords is not this chapter's subject. Time is always a parameter
//! (`now`, seconds since 1970), never the system clock.
//!
//! The steps, from easy to hard: [`derive_key`], [`password_fingerprint`],
//! [`issue_reset_token`], [`decode_reset_token`], [`verify_reset_token`], [`request_reset`]
//! with [`confirm_reset`], and [`service::verify_service_token`]; then encrypted tokens
//! ([`jwe`], steps 8 to 11) and signing in with OpenID Connect ([`oidc`], steps 12 to 14).

pub mod jwe;
pub mod oidc;
pub mod service;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

// ANCHOR: warm_up
/// Step 0, a warm-up. Whether a compact token can go into a URL as it is, with no
/// percent-encoding: only base64url characters and dots (the book's "Links in emails").
pub fn fits_in_a_url(token: &str) -> bool {
    token
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}
// ANCHOR_END: warm_up

// ANCHOR: constants
/// The label that derives the password-reset key from the server's secret (step 1).
pub const RESET_KEY_LABEL: &str = "password-reset";
/// The label of the email-verification key: another purpose, so another key.
pub const VERIFICATION_KEY_LABEL: &str = "email-verification";
/// The `aud` of every reset token: the one place that accepts them.
pub const RESET_AUDIENCE: &str = "password-reset";
/// The `token_type` of every reset token.
pub const RESET_TOKEN_TYPE: &str = "password_reset";
/// How long a reset link works: 30 minutes.
pub const RESET_LIFETIME: i64 = 30 * 60;
/// How many bytes of the HMAC a password fingerprint keeps (step 2).
pub const FINGERPRINT_BYTES: usize = 16;
/// The web page that receives reset links. The token goes after `#`, never after `?`.
pub const RESET_PAGE: &str = "https://app.example.com/reset-password";
/// What `POST /api/password/reset/` answers, whether or not the account exists.
pub const RESET_REQUESTED: &str = "If the account exists, a reset link has been sent.";
// ANCHOR_END: constants

/// How long an access token lives, as on the server.
pub const ACCESS_LIFETIME: i64 = 5 * 60;

// ANCHOR: account
/// A user account, as the server stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: u64,
    /// Case-sensitive: `Alice` is not `alice`.
    pub username: String,
    /// Where reset links go; empty when the user gave none.
    pub email: String,
    /// An argon2id PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. A new password,
    /// even the same one again, gets a new random salt, so a new string.
    pub password_hash: String,
    /// Inactive accounts cannot log in, and get no reset links.
    pub active: bool,
}
// ANCHOR_END: account

/// The accounts: a stand-in for the server's user table.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    accounts: Vec<Account>,
}

impl Accounts {
    pub fn new(accounts: Vec<Account>) -> Self {
        Self { accounts }
    }

    /// The account with this id, active or not.
    pub fn get(&self, id: u64) -> Option<&Account> {
        self.accounts.iter().find(|account| account.id == id)
    }

    /// The account with exactly this username, active or not.
    pub fn find(&self, username: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|account| account.username == username)
    }

    /// Store a new password hash for an account. Returns whether the account exists.
    pub fn set_password_hash(&mut self, id: u64, password_hash: &str) -> bool {
        match self.accounts.iter_mut().find(|account| account.id == id) {
            Some(account) => {
                account.password_hash = password_hash.to_string();
                true
            }
            None => false,
        }
    }
}

// ANCHOR: reset_claims
/// The claims of a password-reset token, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetClaims {
    /// Always [`RESET_TOKEN_TYPE`]: what kind of token this is.
    pub token_type: String,
    /// Always [`RESET_AUDIENCE`]: who may accept it.
    pub aud: String,
    /// The account's id, as a string: RFC 7519 makes `sub` a string.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The account's [`password_fingerprint`] when the token was issued.
    pub pwd_fp: String,
}
// ANCHOR_END: reset_claims

// ANCHOR: refused
/// Why a reset token was refused, in the order the checks are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a JWS with the claims of a reset token: not three segments, bad base64url or JSON,
    /// a claim missing or of the wrong type, or an algorithm jsonwebtoken does not know
    /// (`none` among them).
    Malformed,
    /// Not HS256 with the reset key: a forgery, a token edited after it was signed, or one
    /// signed with another key, such as an access token.
    BadSignature,
    /// Signed with the right key, but `aud` is not [`RESET_AUDIENCE`].
    WrongAudience,
    /// Signed with the right key, but `token_type` is not [`RESET_TOKEN_TYPE`].
    WrongType { found: String },
    /// `now` is at or after `exp`.
    Expired { exp: i64 },
    /// `sub` names no account, or an inactive one.
    UnknownAccount,
    /// The fingerprint does not match the account's password hash any more: the link was used
    /// already, or the password was changed some other way since it was sent.
    PasswordChanged,
}
// ANCHOR_END: refused

// ANCHOR: email
/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}
// ANCHOR_END: email

// ANCHOR: derive_key
/// Step 1. The key for one purpose, derived from the server's secret and the purpose's label
/// as the book's "A key of its own" shows.
///
/// Each label gives an unrelated key, and none of them reveals the secret or the others, so a
/// token signed with the reset key can never verify as an access token (signed with the
/// secret itself) or as an email-verification token, and the other way round.
pub fn derive_key(server_secret: &[u8], label: &str) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(server_secret).expect("HMAC takes a key of any length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}
// ANCHOR_END: derive_key

// ANCHOR: password_fingerprint
/// Step 2. A short, keyed fingerprint of a password hash under `key`, [`FINGERPRINT_BYTES`]
/// bytes long, written so that it fits in a token (the book's "Why the fingerprint is keyed,
/// and short", and its step 2).
///
/// It changes whenever the hash changes, and without the key it tells nothing about the hash:
/// a reset link is readable by whoever sees it, and a hash in the open invites offline guessing.
pub fn password_fingerprint(key: &[u8], password_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(password_hash.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..FINGERPRINT_BYTES])
}
// ANCHOR_END: password_fingerprint

// ANCHOR: issue_reset_token
/// Step 3. Issue a reset token for `account` at `now`: a link that works for
/// [`RESET_LIFETIME`], bound to the account's password hash, and signed with a key no other
/// token shares (the book's "Single use without a table" and "A key of its own", which shows
/// one, decoded).
pub fn issue_reset_token(server_secret: &[u8], account: &Account, now: i64) -> String {
    let key = derive_key(server_secret, RESET_KEY_LABEL);
    let claims = ResetClaims {
        token_type: RESET_TOKEN_TYPE.to_string(),
        aud: RESET_AUDIENCE.to_string(),
        sub: account.id.to_string(),
        iat: now,
        exp: now + RESET_LIFETIME,
        pwd_fp: password_fingerprint(&key, &account.password_hash),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key),
    )
    .expect("HS256 signs any claims that serialize")
}
// ANCHOR_END: issue_reset_token

// ANCHOR: decode_reset_token
/// Step 4. The claims of a reset token, as far as jsonwebtoken can vouch for them under the
/// reset key, configured by you and not by its defaults (the book's step 4 says what to check,
/// and chapter 2 why). Time is not its business here: step 5 judges it with `now`. Each
/// refusal is the [`Refused`] that names its cause.
pub fn decode_reset_token(reset_key: &[u8], token: &str) -> Result<ResetClaims, Refused> {
    let mut validation = Validation::new(Algorithm::HS256);
    // jsonwebtoken would check `exp` against the system clock; we check it against `now`.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    validation.set_audience(&[RESET_AUDIENCE]);
    jsonwebtoken::decode::<ResetClaims>(token, &DecodingKey::from_secret(reset_key), &validation)
        .map(|data| data.claims)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => Refused::BadSignature,
            ErrorKind::InvalidAudience => Refused::WrongAudience,
            _ => Refused::Malformed,
        })
}
// ANCHOR_END: decode_reset_token

// ANCHOR: verify_reset_token
/// Step 5. Check a reset token at `now` against the accounts as they are now, and return the
/// id of the account whose password it may reset, or the first [`Refused`] that applies, in
/// its order (the book's "Every misuse, and its reason" and its step 5).
pub fn verify_reset_token(
    server_secret: &[u8],
    accounts: &Accounts,
    token: &str,
    now: i64,
) -> Result<u64, Refused> {
    let key = derive_key(server_secret, RESET_KEY_LABEL);
    let claims = decode_reset_token(&key, token)?;
    if claims.token_type != RESET_TOKEN_TYPE {
        return Err(Refused::WrongType {
            found: claims.token_type,
        });
    }
    if now >= claims.exp {
        return Err(Refused::Expired { exp: claims.exp });
    }
    let account = claims
        .sub
        .parse::<u64>()
        .ok()
        .and_then(|id| accounts.get(id))
        .filter(|account| account.active)
        .ok_or(Refused::UnknownAccount)?;
    // The fingerprint came from a token whose signature we just checked, so nobody could
    // choose it: a plain comparison leaks nothing worth having.
    if password_fingerprint(&key, &account.password_hash) != claims.pwd_fp {
        return Err(Refused::PasswordChanged);
    }
    Ok(account.id)
}
// ANCHOR_END: verify_reset_token

// ANCHOR: request_reset
/// Step 6a. `POST /api/password/reset/ {"username"}`: the message to put in the outbox, if any.
///
/// The HTTP answer is always [`RESET_REQUESTED`], so this returns only what nobody but the
/// account's owner sees: an email with a reset link for an account that may have one, and
/// `None` otherwise (the book's "A token in a URL", "Saying nothing about who has an account"
/// and its step 6).
pub fn request_reset(
    server_secret: &[u8],
    accounts: &Accounts,
    username: &str,
    now: i64,
) -> Option<Email> {
    let account = accounts
        .find(username)
        .filter(|account| account.active && !account.email.is_empty())?;
    let token = issue_reset_token(server_secret, account, now);
    Some(reset_email(account, &format!("{RESET_PAGE}#token={token}")))
}
// ANCHOR_END: request_reset

// ANCHOR: confirm_reset
/// Step 6b. `POST /api/password/reset/confirm/ {"token", "new_password"}`: verify the token
/// and store the new password's hash. Returns the account's id.
///
/// Storing the new hash is what uses the link up: from then on its fingerprint no longer
/// matches, and neither does any other link sent before.
pub fn confirm_reset(
    server_secret: &[u8],
    accounts: &mut Accounts,
    token: &str,
    new_password_hash: &str,
    now: i64,
) -> Result<u64, Refused> {
    let id = verify_reset_token(server_secret, accounts, token, now)?;
    accounts.set_password_hash(id, new_password_hash);
    Ok(id)
}
// ANCHOR_END: confirm_reset

/// The message a reset request puts in the outbox.
pub fn reset_email(account: &Account, link: &str) -> Email {
    Email {
        to: account.email.clone(),
        subject: "Reset your password".to_string(),
        body: format!(
            "Someone, hopefully you, asked to reset the password of the account \"{}\".\n\
             Open this link within 30 minutes to choose a new one:\n\
             \n\
             {link}\n\
             \n\
             The link works once. If you did not ask for it, ignore this message: your password\n\
             stays as it is.\n",
            account.username
        ),
    }
}

// ANCHOR: access_token
/// The claims of an access token, in simplejwt's names (chapter 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub user_id: String,
}

/// An access token as the server issues it: HS256, signed with the server's secret itself.
/// (The server adds a `jti`, which nothing here needs.)
pub fn issue_access_token(server_secret: &[u8], user_id: u64, now: i64) -> String {
    let claims = AccessClaims {
        token_type: "access".to_string(),
        exp: now + ACCESS_LIFETIME,
        iat: now,
        user_id: user_id.to_string(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(server_secret),
    )
    .expect("HS256 signs any claims that serialize")
}

/// What the API checks on `Authorization: Bearer …`: HS256 with the server's secret, an
/// access token, not expired at `now`. Returns the user's id.
pub fn verify_access_token(server_secret: &[u8], token: &str, now: i64) -> Result<u64, Refused> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(server_secret),
        &validation,
    )
    .map_err(|error| match error.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => Refused::BadSignature,
        _ => Refused::Malformed,
    })?
    .claims;
    if claims.token_type != "access" {
        return Err(Refused::WrongType {
            found: claims.token_type,
        });
    }
    if now >= claims.exp {
        return Err(Refused::Expired { exp: claims.exp });
    }
    claims.user_id.parse().map_err(|_| Refused::Malformed)
}
// ANCHOR_END: access_token

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Malformed => write!(f, "this is not a token this server could have issued"),
            Refused::BadSignature => write!(
                f,
                "the signature is not this key's: forged, edited, or made for another purpose"
            ),
            Refused::WrongAudience => {
                write!(f, "the token is meant for someone else (its aud is wrong)")
            }
            Refused::WrongType { found } => {
                write!(f, "its token_type is {found:?}, not the one expected here")
            }
            Refused::Expired { exp } => write!(f, "the token expired at {}", utc(*exp)),
            Refused::UnknownAccount => write!(f, "no active account has this id"),
            Refused::PasswordChanged => write!(
                f,
                "the password has changed since this link was sent: it was used, or replaced"
            ),
        }
    }
}

impl std::error::Error for Refused {}

/// A NumericDate (seconds since 1970-01-01T00:00:00Z) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm: eras of 400 years, each 146,097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

impl fmt::Display for Email {
    /// The message as the outbox stores it: headers, an empty line, the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "To: {}\nSubject: {}\n\n{}",
            self.to, self.subject, self.body
        )
    }
}
