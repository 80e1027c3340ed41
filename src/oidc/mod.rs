//! The OpenID Connect provider's rules, beside the API and on the same users, store and keys:
//! registered clients ([`Client`]), authorization codes bound to a PKCE challenge ([`pkce`]),
//! the provider's own browser sessions (what makes single sign-on), ID tokens ([`id_token`]),
//! and the [`Provider`] service that ties them together. Nothing here knows HTTP: the handlers
//! in `crate::http::oidc` parse, call and render, and errors carry the error codes of RFC 6749
//! and OpenID Connect Core so that the HTTP layer only chooses statuses.
//!
//! Refresh and access tokens are the API's own, issued and rotated by [`crate::sessions`]: a
//! refresh token the provider hands out is a member of a token family like any other, and its
//! reuse revokes the family the same way.

pub mod id_token;
pub mod pkce;
pub mod provider;

pub use provider::{
    AuthorizationRequest, AuthorizeRefusal, Authorized, ClientCredentials, LoggedOut, LoginRefusal,
    Logout, LogoutRequest, Provider, SignedIn, TokenResponse, ValidAuthorization,
};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::storage::StoreError;

/// How long an authorization code can be redeemed: it only has to survive one redirect.
pub const CODE_LIFETIME: i64 = 60;
/// How long an ID token is good for: long enough to be checked on arrival, no longer.
pub const ID_TOKEN_LIFETIME: i64 = 10 * 60;
/// How long a browser stays signed in at the provider (the single sign-on window).
pub const BROWSER_SESSION_LIFETIME: i64 = 12 * 60 * 60;
/// How long a redeemed code is remembered after it expired, so that a late replay is still
/// recognised and revokes what the code issued.
pub const CODE_MEMORY: i64 = 24 * 60 * 60;

/// A registered relying party.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret (base64url); `None` for a public client, which proves itself
    /// with PKCE alone.
    pub secret_hash: Option<String>,
    /// Compared with a request's `redirect_uri` exactly (RFC 9700 §4.1.3): no prefix, no
    /// pattern, no normalisation.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards, compared exactly too.
    pub post_logout_redirect_uris: Vec<String>,
    /// The page the provider loads in a hidden frame when the user logs out (front-channel).
    pub frontchannel_logout_uri: Option<String>,
    pub created_at: i64,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("public", &self.is_public())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

/// An authorization code as stored: named by its hash, never by its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code (base64url).
    pub id: String,
    pub client_id: String,
    /// The exact `redirect_uri` of the request, which the exchange must repeat.
    pub redirect_uri: String,
    pub user_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// When the user last typed their password (the ID token's `auth_time`).
    pub auth_time: i64,
    /// The browser session it was issued in (the ID token's `sid`).
    pub browser_session: Option<String>,
    pub expires_at: i64,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Never redeemed before: this call redeemed it.
    First(AuthorizationCode),
    /// Redeemed before: with the token family the first redemption started, if any.
    Again { issued_session: Option<String> },
    /// No such code.
    Unknown,
}

/// A browser's login at the provider, named by the hash of its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 of the cookie's value (base64url).
    pub id: String,
    pub user_id: i64,
    pub auth_time: i64,
    pub expires_at: i64,
    /// Set when the session was logged out.
    pub ended_at: Option<i64>,
}

/// Where the provider's records are kept. [`OidcStore::redeem_code`] must be atomic: of two
/// concurrent redemptions of one code, exactly one sees [`Redemption::First`].
#[async_trait]
pub trait OidcStore: Send + Sync + 'static {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Every client, oldest first.
    async fn clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn save_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    /// Marks the code redeemed at `now` and says what it was.
    async fn redeem_code(&self, id: &str, now: i64) -> Result<Redemption, StoreError>;
    /// Records the token family a redeemed code started.
    async fn record_issued_session(&self, code: &str, session: &str) -> Result<(), StoreError>;
    async fn start_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError>;
    async fn browser_session(&self, id: &str) -> Result<Option<BrowserSession>, StoreError>;
    /// Remembers that `client_id` signed in through this browser session.
    async fn add_session_client(&self, session: &str, client_id: &str) -> Result<(), StoreError>;
    /// The clients signed in through a browser session.
    async fn session_clients(&self, session: &str) -> Result<Vec<String>, StoreError>;
    /// The token families the codes of a browser session started: what its logout revokes.
    async fn issued_sessions(&self, browser_session: &str) -> Result<Vec<String>, StoreError>;
    /// Ends a browser session (a logout); `Ok(false)` if it was already ended or unknown.
    async fn end_browser_session(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Forgets codes and browser sessions that can no longer matter; returns how many.
    async fn delete_expired_oidc(&self, now: i64) -> Result<u64, StoreError>;
}

/// The error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1 and OpenID Connect Core §3.1.2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    LoginRequired,
    InvalidToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::LoginRequired => "login_required",
            Self::InvalidToken => "invalid_token",
        }
    }
}

/// Why the provider refused: an error code and a sentence for the developer reading it.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{code}: {description}", code = .0.as_str(), description = .1)]
    Refused(ErrorCode, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen. Logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl OidcError {
    pub(crate) fn refused(code: ErrorCode, description: &'static str) -> Self {
        Self::Refused(code, description)
    }
}

/// Why a client could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "{0:?} is not a usable redirect URI: it must be an absolute https:// URL (http:// only for \
         localhost or 127.0.0.1), without a fragment or spaces"
    )]
    BadUri(String),
    #[error("a client needs at least one --redirect-uri")]
    NoRedirectUri,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `client create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub frontchannel_logout_uri: Option<String>,
    /// A browser or native app that cannot keep a secret.
    pub public: bool,
}

/// Registers a client: a random id and, for a confidential client, a random secret, returned
/// once (only its hash is kept).
pub async fn register_client(
    store: &dyn OidcStore,
    new: NewClient,
    now: i64,
) -> Result<(Client, Option<String>), ClientError> {
    if new.redirect_uris.is_empty() {
        return Err(ClientError::NoRedirectUri);
    }
    let uris = new
        .redirect_uris
        .iter()
        .chain(&new.post_logout_redirect_uris)
        .chain(&new.frontchannel_logout_uri);
    if let Some(bad) = uris.into_iter().find(|uri| !is_acceptable_uri(uri)) {
        return Err(ClientError::BadUri(bad.clone()));
    }
    let secret = (!new.public).then(random_token);
    let client = Client {
        id: random_token()[..22].to_owned(),
        name: new.name,
        secret_hash: secret.as_deref().map(hash_of),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        frontchannel_logout_uri: new.frontchannel_logout_uri,
        created_at: now,
    };
    store.create_client(&client).await?;
    Ok((client, secret))
}

/// An absolute `https` URL, or `http` on the loopback interface (RFC 8252 §7.3), with no
/// fragment (RFC 6749 §3.1.2) and nothing a browser would rewrite.
pub fn is_acceptable_uri(uri: &str) -> bool {
    let rest = if let Some(rest) = uri.strip_prefix("https://") {
        rest
    } else if let Some(rest) = uri.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return false;
        }
        rest
    } else {
        return false;
    };
    !rest.is_empty()
        && !rest.starts_with('/')
        && !uri.contains('#')
        && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// 256 random bits, base64url: codes, cookies, secrets.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What we store instead of a code, a cookie or a secret: whoever reads the database cannot
/// use them.
pub fn hash_of(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http_without_fragments() {
        for good in [
            "https://app.example/callback",
            "http://127.0.0.1:9001/callback",
            "http://localhost/cb?x=1",
            "http://[::1]:8080/cb",
        ] {
            assert!(is_acceptable_uri(good), "{good}");
        }
        for bad in [
            "http://app.example/callback",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "/relative",
            "https:///path",
            "https://app.example/a b",
            "http://127.0.0.1.evil.example/cb",
            "",
        ] {
            assert!(!is_acceptable_uri(bad), "{bad}");
        }
    }
}
