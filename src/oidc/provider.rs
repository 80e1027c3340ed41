//! [`Provider`]: the OpenID Connect provider's rules, from an authorization request to the
//! tokens and back. The authorization code flow with PKCE only (OAuth 2.1's shape): no implicit
//! flow, no `plain` challenge, redirect URIs matched exactly, codes single-use and short-lived.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::id_token::IdTokenClaims;
use super::pkce;
use super::{
    AuthorizationCode, BROWSER_SESSION_LIFETIME, BrowserSession, CODE_LIFETIME, Client, ErrorCode,
    ID_TOKEN_LIFETIME, OidcError, OidcStore, Redemption, hash_of, random_token,
};
use crate::keys::{Key, LiveKeys};
use crate::sessions::{SessionError, Sessions};
use crate::storage::StoreError;
use crate::tokens::{TokenType, constant_time_eq, sign_with};
use crate::users::{User, UserStore};

/// The scopes we know; others are ignored, as OpenID Connect Core §3.1.2.1 asks.
pub const SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// An authorization request's parameters as they arrived (query or form), every one optional
/// so that what is missing can be answered with the right error.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
}

/// A request that checked out: the client and its redirect URI are known, and everything else
/// is well formed.
#[derive(Debug, Clone)]
pub struct ValidAuthorization {
    pub client: Client,
    pub redirect_uri: String,
    /// The known scopes asked for, space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// `prompt=login`: ask for the password even if the browser is signed in.
    pub force_login: bool,
    /// `prompt=none`: never show a page; answer `login_required` instead.
    pub no_prompt: bool,
    /// `max_age`: a login older than this many seconds must be repeated.
    pub max_age: Option<i64>,
}

/// Why an authorization request is refused, and how the browser hears of it.
#[derive(Debug)]
pub enum AuthorizeRefusal {
    /// The client or its redirect URI cannot be trusted: never redirect, show this on a page
    /// of our own (RFC 6749 §4.1.2.1). Redirecting would make us an open redirector.
    Page(&'static str),
    /// Back to the client's registered redirect URI with `error` (this URL).
    Redirect(String),
    Store(StoreError),
    /// Something that should not happen. Logged, never shown.
    Internal(String),
}

impl From<StoreError> for AuthorizeRefusal {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What to do with a valid request.
#[derive(Debug)]
pub enum Authorized {
    /// The browser is signed in: back to the client with a code (this URL).
    Redirect(String),
    /// Ask for the user's password first.
    Login(Box<ValidAuthorization>),
}

/// A browser signed in at the provider.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The browser session's id (the hash of its cookie).
    pub session: String,
    pub user: User,
    pub auth_time: i64,
}

/// Why the login form was refused.
#[derive(Debug)]
pub enum LoginRefusal {
    /// Wrong username or password (which one is never said): show the form again.
    BadCredentials(Box<ValidAuthorization>),
    /// Too many failures: try again in this many seconds.
    Throttled(Box<ValidAuthorization>, i64),
    Authorize(AuthorizeRefusal),
}

/// How a client proved who it is at the token endpoint.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
}

/// The token endpoint's answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// The provider and its collaborators: the session rules (which issue and rotate the tokens),
/// its own records, the users, and the server's keys, whose active key pair signs ID tokens.
pub struct Provider {
    sessions: Arc<Sessions>,
    store: Arc<dyn OidcStore>,
    users: Arc<dyn UserStore>,
    keys: LiveKeys,
    /// The key pair the provider started with: it signs should a later key ring hold none.
    first_signer: Key,
    issuer: String,
}

impl Provider {
    /// `issuer` is the server's public URL, exactly as discovery and every ID token say it.
    /// `None` when `keys` hold no key pair to sign ID tokens with (HS256 alone).
    pub fn new(
        sessions: Arc<Sessions>,
        store: Arc<dyn OidcStore>,
        users: Arc<dyn UserStore>,
        keys: LiveKeys,
        issuer: String,
    ) -> Option<Self> {
        let now = sessions.tokens().now();
        let first_signer = super::id_token::signing_key(keys.current().keys(), now)?.clone();
        Some(Self {
            sessions,
            store,
            users,
            keys,
            first_signer,
            issuer,
        })
    }

    /// Runs `f` with the key pair that signs ID tokens now (see [`super::id_token::signing_key`]),
    /// or, should the key ring have been rotated to secrets alone, the one it started with.
    fn with_signer<R>(&self, f: impl FnOnce(&Key) -> R) -> R {
        let keys = self.keys.current();
        match super::id_token::signing_key(keys.keys(), self.now()) {
            Some(signer) => f(signer),
            None => f(&self.first_signer),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether the provider is reached over HTTPS: its cookies are then `Secure`.
    pub fn serves_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The ID tokens' algorithm, for discovery.
    pub fn signing_algorithm(&self) -> &'static str {
        self.with_signer(|key| key.algorithm().as_str())
    }

    fn now(&self) -> i64 {
        self.sessions.tokens().now()
    }

    // ANCHOR: check_request
    /// Checks an authorization request. The client and the redirect URI come first: until
    /// both are known to belong together, no error may be sent to that URI.
    pub async fn check_request(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<ValidAuthorization, AuthorizeRefusal> {
        let Some(client_id) = request.client_id.as_deref() else {
            return Err(AuthorizeRefusal::Page(
                "The request names no client (client_id).",
            ));
        };
        let Some(client) = self.store.client(client_id).await? else {
            return Err(AuthorizeRefusal::Page("The client is not registered here."));
        };
        let Some(redirect_uri) = request.redirect_uri.clone() else {
            return Err(AuthorizeRefusal::Page("The request has no redirect_uri."));
        };
        if !client.redirect_uris.contains(&redirect_uri) {
            return Err(AuthorizeRefusal::Page(
                "The redirect_uri is not one this client registered.",
            ));
        }
        // From here on the redirect URI is the client's own: errors go back to it.
        let refuse = |code: ErrorCode, why: &'static str| {
            AuthorizeRefusal::Redirect(self.error_redirect(
                &redirect_uri,
                code,
                why,
                request.state.as_deref(),
            ))
        };
        match request.response_type.as_deref() {
            Some("code") => {}
            None => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "response_type is missing",
                ));
            }
            Some(_) => {
                return Err(refuse(
                    ErrorCode::UnsupportedResponseType,
                    "only the authorization code flow (response_type=code) is offered",
                ));
            }
        }
        let asked = request.scope.as_deref().unwrap_or_default();
        if !asked.split(' ').any(|scope| scope == "openid") {
            return Err(refuse(
                ErrorCode::InvalidScope,
                "this provider speaks OpenID Connect only: the scope must include openid",
            ));
        }
        let scope = SCOPES
            .into_iter()
            .filter(|known| asked.split(' ').any(|scope| scope == *known))
            .collect::<Vec<_>>()
            .join(" ");
        let Some(code_challenge) = request.code_challenge.clone() else {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        };
        if request.code_challenge_method.as_deref() != Some(pkce::S256) {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        if !pkce::is_well_formed_challenge(&code_challenge) {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            ));
        }
        let prompts: Vec<&str> = request
            .prompt
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .collect();
        let max_age = match request.max_age.as_deref() {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(seconds) if seconds >= 0 => Some(seconds),
                _ => {
                    return Err(refuse(
                        ErrorCode::InvalidRequest,
                        "max_age must be a number of seconds",
                    ));
                }
            },
        };
        Ok(ValidAuthorization {
            client,
            redirect_uri,
            scope,
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge,
            force_login: prompts.contains(&"login"),
            no_prompt: prompts.contains(&"none"),
            max_age,
        })
    }
    // ANCHOR_END: check_request

    // ANCHOR: authorize
    /// `GET /authorize`: a browser already signed in here goes straight back with a code —
    /// that is single sign-on; any other is asked for its password.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        cookie: Option<&str>,
    ) -> Result<Authorized, AuthorizeRefusal> {
        let valid = self.check_request(request).await?;
        let signed_in = self.signed_in(cookie).await?;
        let fresh_enough = |session: &SignedIn| {
            valid
                .max_age
                .is_none_or(|max_age| session.auth_time + max_age >= self.now())
        };
        match signed_in {
            Some(session) if !valid.force_login && fresh_enough(&session) => Ok(
                Authorized::Redirect(self.issue_code(&valid, &session).await?),
            ),
            _ if valid.no_prompt => Err(AuthorizeRefusal::Redirect(self.error_redirect(
                &valid.redirect_uri,
                ErrorCode::LoginRequired,
                "the user is not signed in and prompt=none forbids asking",
                valid.state.as_deref(),
            ))),
            _ => Ok(Authorized::Login(Box::new(valid))),
        }
    }
    // ANCHOR_END: authorize

    /// The login form: the same request checked again (its hidden fields are the client's
    /// word, not ours), the password checked as `/api/token/` checks it (throttled, timing-safe),
    /// then a browser session for single sign-on and a code. Returns the redirect URL and the
    /// new session cookie's value.
    pub async fn log_in(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<(String, String), LoginRefusal> {
        let valid = self
            .check_request(request)
            .await
            .map_err(LoginRefusal::Authorize)?;
        let user = match self.sessions.log_in(username, password, address).await {
            Ok(user) => user,
            Err(SessionError::NoActiveAccount) => {
                return Err(LoginRefusal::BadCredentials(Box::new(valid)));
            }
            Err(SessionError::Throttled(seconds)) => {
                return Err(LoginRefusal::Throttled(Box::new(valid), seconds));
            }
            Err(SessionError::Store(error)) => {
                return Err(LoginRefusal::Authorize(AuthorizeRefusal::Store(error)));
            }
            Err(other) => {
                tracing::error!(error = %other, "login at the provider failed");
                return Err(LoginRefusal::BadCredentials(Box::new(valid)));
            }
        };
        let now = self.now();
        let cookie = random_token();
        let session = BrowserSession {
            id: hash_of(&cookie),
            user_id: user.id,
            auth_time: now,
            expires_at: now + BROWSER_SESSION_LIFETIME,
            ended_at: None,
        };
        let into_refusal = |e: StoreError| LoginRefusal::Authorize(AuthorizeRefusal::Store(e));
        self.store
            .start_browser_session(&session)
            .await
            .map_err(into_refusal)?;
        let signed_in = SignedIn {
            session: session.id,
            user,
            auth_time: now,
        };
        let redirect = self
            .issue_code(&valid, &signed_in)
            .await
            .map_err(into_refusal)?;
        Ok((redirect, cookie))
    }

    /// The browser session a cookie names, if it is live and its user still active.
    pub async fn signed_in(&self, cookie: Option<&str>) -> Result<Option<SignedIn>, StoreError> {
        let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let Some(session) = self.store.browser_session(&hash_of(cookie)).await? else {
            return Ok(None);
        };
        if session.ended_at.is_some() || session.expires_at <= self.now() {
            return Ok(None);
        }
        match self.users.find_by_id(session.user_id).await? {
            Some(user) if user.is_active => Ok(Some(SignedIn {
                session: session.id,
                user,
                auth_time: session.auth_time,
            })),
            _ => Ok(None),
        }
    }

    // ANCHOR: issue_code
    /// A code for this request and this signed-in user, kept by its hash, and the URL that
    /// takes it back to the client (with `state`, and `iss` as RFC 9207 asks, so the client
    /// can tell which provider answered).
    async fn issue_code(
        &self,
        valid: &ValidAuthorization,
        signed_in: &SignedIn,
    ) -> Result<String, StoreError> {
        let code = random_token();
        self.store
            .save_code(&AuthorizationCode {
                id: hash_of(&code),
                client_id: valid.client.id.clone(),
                redirect_uri: valid.redirect_uri.clone(),
                user_id: signed_in.user.id,
                scope: valid.scope.clone(),
                nonce: valid.nonce.clone(),
                code_challenge: valid.code_challenge.clone(),
                auth_time: signed_in.auth_time,
                browser_session: Some(signed_in.session.clone()),
                expires_at: self.now() + CODE_LIFETIME,
            })
            .await?;
        self.store
            .add_session_client(&signed_in.session, &valid.client.id)
            .await?;
        let mut answer = vec![("code", code.as_str())];
        answer.extend(valid.state.as_deref().map(|state| ("state", state)));
        answer.push(("iss", &self.issuer));
        Ok(with_query(&valid.redirect_uri, &answer))
    }
    // ANCHOR_END: issue_code

    /// The client's redirect URI with an error for it.
    fn error_redirect(
        &self,
        redirect_uri: &str,
        code: ErrorCode,
        description: &str,
        state: Option<&str>,
    ) -> String {
        let mut answer = vec![("error", code.as_str()), ("error_description", description)];
        answer.extend(state.map(|state| ("state", state)));
        answer.push(("iss", &self.issuer));
        with_query(redirect_uri, &answer)
    }

    /// The client a token request comes from, if its credentials prove it: a confidential
    /// client by its secret, a public one by its id alone (its code still needs the verifier).
    async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<Client, OidcError> {
        let unknown =
            || OidcError::refused(ErrorCode::InvalidClient, "client authentication failed");
        let client = self
            .store
            .client(&credentials.client_id)
            .await?
            .ok_or_else(unknown)?;
        match (&client.secret_hash, &credentials.secret) {
            (None, None) => Ok(client),
            (Some(expected), Some(secret))
                if constant_time_eq(expected.as_bytes(), hash_of(secret).as_bytes()) =>
            {
                Ok(client)
            }
            _ => Err(unknown()),
        }
    }

    // ANCHOR: exchange_code
    /// `grant_type=authorization_code`: the code, once, by the client it was issued to, with
    /// the same redirect URI and the verifier whose challenge came with the request. A code
    /// presented a second time was stolen or replayed: the tokens it issued are revoked.
    pub async fn exchange_code(
        &self,
        credentials: &ClientCredentials,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, OidcError> {
        let client = self.authenticate_client(credentials).await?;
        let invalid_grant = |why| OidcError::refused(ErrorCode::InvalidGrant, why);
        let code = code.ok_or(OidcError::refused(
            ErrorCode::InvalidRequest,
            "code is missing",
        ))?;
        let now = self.now();
        let code_id = hash_of(code);
        let code = match self.store.redeem_code(&code_id, now).await? {
            Redemption::First(code) => code,
            Redemption::Unknown => return Err(invalid_grant("the code is not valid")),
            Redemption::Again { issued_session } => {
                if let Some(family) = issued_session {
                    self.sessions
                        .revoke_family(&family)
                        .await
                        .map_err(internal)?;
                }
                return Err(invalid_grant(
                    "the code was already used; the tokens it issued are revoked",
                ));
            }
        };
        if code.client_id != client.id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if code.expires_at <= now {
            return Err(invalid_grant("the code has expired"));
        }
        if redirect_uri != Some(code.redirect_uri.as_str()) {
            return Err(invalid_grant(
                "redirect_uri must be the one the authorization request used",
            ));
        }
        let Some(verifier) = verifier else {
            return Err(OidcError::refused(
                ErrorCode::InvalidRequest,
                "code_verifier is missing",
            ));
        };
        if !pkce::verifies(verifier, &code.code_challenge) {
            return Err(invalid_grant(
                "the code_verifier does not match the code_challenge",
            ));
        }
        let user = match self.users.find_by_id(code.user_id).await? {
            Some(user) if user.is_active => user,
            _ => return Err(invalid_grant("the user is no longer active")),
        };
        let mut claims = Map::new();
        claims.insert("client_id".into(), client.id.clone().into());
        claims.insert("scope".into(), code.scope.clone().into());
        let (pair, family) = self
            .sessions
            .start_with_claims(&user, &claims)
            .await
            .map_err(internal)?;
        // A replay arriving between the redemption above and this line finds no family to
        // revoke yet: the window is one insert long.
        self.store.record_issued_session(&code_id, &family).await?;
        let id_token = IdTokenClaims {
            issuer: &self.issuer,
            subject: user.id.to_string(),
            client_id: &client.id,
            issued_at: now,
            expires_at: now + ID_TOKEN_LIFETIME,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            access_token: &pair.access,
            session: code.browser_session.as_deref(),
        };
        Ok(TokenResponse {
            id_token: Some(self.with_signer(|key| sign_with(key, &id_token.to_map()))),
            access_token: pair.access,
            token_type: "Bearer",
            expires_in: self.sessions.tokens().settings().access_lifetime,
            refresh_token: pair.refresh,
            scope: code.scope,
        })
    }
    // ANCHOR_END: exchange_code

    // ANCHOR: refresh
    /// `grant_type=refresh_token`: the API's own rotation, for the client the token was issued
    /// to. A rotated-away token coming back revokes its whole family, as on `/api/token/refresh/`.
    pub async fn refresh(
        &self,
        credentials: &ClientCredentials,
        refresh_token: Option<&str>,
    ) -> Result<TokenResponse, OidcError> {
        let client = self.authenticate_client(credentials).await?;
        let invalid_grant = |why| OidcError::refused(ErrorCode::InvalidGrant, why);
        let raw = refresh_token.ok_or(OidcError::refused(
            ErrorCode::InvalidRequest,
            "refresh_token is missing",
        ))?;
        let token = self
            .sessions
            .tokens()
            .verify(raw, Some(TokenType::Refresh))
            .map_err(|_| invalid_grant("the refresh token is not valid"))?;
        let claims = token.payload.claims();
        let claim = |name| claims.get(name).and_then(Value::as_str);
        if claim("client_id") != Some(client.id.as_str()) {
            return Err(invalid_grant(
                "the refresh token was not issued to this client",
            ));
        }
        let scope = claim("scope").unwrap_or_default().to_owned();
        let pair = match self.sessions.refresh(raw).await {
            Ok(pair) => pair,
            Err(SessionError::Store(error)) => return Err(error.into()),
            Err(SessionError::Internal(cause)) => return Err(OidcError::Internal(cause)),
            Err(_) => {
                return Err(invalid_grant(
                    "the refresh token is revoked or no longer valid",
                ));
            }
        };
        Ok(TokenResponse {
            access_token: pair.access,
            token_type: "Bearer",
            expires_in: self.sessions.tokens().settings().access_lifetime,
            refresh_token: pair.refresh,
            id_token: None,
            scope,
        })
    }
    // ANCHOR_END: refresh

    /// `/userinfo`: the claims an access token the provider issued may see, by its scope.
    pub async fn userinfo(&self, bearer: &str) -> Result<Value, OidcError> {
        let (user, token) = match self.sessions.authenticate(bearer).await {
            Ok(found) => found,
            Err(SessionError::Store(error)) => return Err(error.into()),
            Err(_) => {
                return Err(OidcError::refused(
                    ErrorCode::InvalidToken,
                    "the access token is not valid",
                ));
            }
        };
        let granted = token.payload.claims();
        let scope = granted.get("scope").and_then(Value::as_str);
        let Some(scope) = scope.filter(|scope| scope.split(' ').any(|s| s == "openid")) else {
            return Err(OidcError::refused(
                ErrorCode::InvalidToken,
                "the access token was not issued by the OpenID Connect provider",
            ));
        };
        let mut claims = json!({ "sub": user.id.to_string() });
        if scope.split(' ').any(|s| s == "profile") {
            claims["preferred_username"] = user.username.clone().into();
        }
        if scope.split(' ').any(|s| s == "email") && !user.email.is_empty() {
            claims["email"] = user.email.clone().into();
            claims["email_verified"] = user.email_verified.into();
        }
        Ok(claims)
    }
}

/// RP-initiated logout's parameters (OpenID Connect RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// What a logout request leads to.
#[derive(Debug)]
pub enum Logout {
    /// Nothing proves the request comes from an app this browser's user signed in to: ask
    /// the user first, or any page could sign them out.
    Confirm,
    Done(LoggedOut),
}

/// A finished logout: where the browser goes next, and the front-channel logout pages of the
/// clients the browser session signed in to, each with `iss` and `sid`.
#[derive(Debug, Default)]
pub struct LoggedOut {
    pub redirect: Option<String>,
    pub frontchannel: Vec<String>,
}

impl Provider {
    // ANCHOR: end_session
    /// `end_session_endpoint`: ends this browser's session at the provider, revokes every
    /// token family its codes started, and names the clients' front-channel logout pages, so
    /// that each app ends its own session too. The browser goes back only to a
    /// `post_logout_redirect_uri` the client registered.
    pub async fn end_session(
        &self,
        request: &LogoutRequest,
        cookie: Option<&str>,
        confirmed: bool,
    ) -> Result<Logout, AuthorizeRefusal> {
        let hint = match request.id_token_hint.as_deref() {
            None => None,
            // Any of our key pairs: a hint signed before a rotation is still ours.
            Some(token) => match self.keys.with(|keys| {
                keys.keys()
                    .iter()
                    .find_map(|key| super::id_token::read_own(key, token))
            }) {
                Some(claims) if claims.get("iss").and_then(Value::as_str) == Some(&self.issuer) => {
                    Some(claims)
                }
                _ => {
                    return Err(AuthorizeRefusal::Page(
                        "The id_token_hint is not an ID token of ours.",
                    ));
                }
            },
        };
        let claim = |name: &str| {
            hint.as_ref()
                .and_then(|claims| claims.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let client_id = match (claim("aud"), request.client_id.clone()) {
            (Some(aud), Some(given)) if aud != given => {
                return Err(AuthorizeRefusal::Page(
                    "The client_id is not the one the id_token_hint was issued to.",
                ));
            }
            (aud, given) => aud.or(given),
        };
        let redirect = match &request.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let Some(client_id) = client_id else {
                    return Err(AuthorizeRefusal::Page(
                        "A post_logout_redirect_uri needs an id_token_hint or a client_id.",
                    ));
                };
                let registered = self.store.client(&client_id).await?;
                if !registered.is_some_and(|client| client.post_logout_redirect_uris.contains(uri))
                {
                    return Err(AuthorizeRefusal::Page(
                        "The post_logout_redirect_uri is not one this client registered.",
                    ));
                }
                let mut answer = Vec::new();
                answer.extend(request.state.as_deref().map(|state| ("state", state)));
                Some(if answer.is_empty() {
                    uri.clone()
                } else {
                    with_query(uri, &answer)
                })
            }
        };
        let Some(signed_in) = self.signed_in(cookie).await? else {
            return Ok(Logout::Done(LoggedOut {
                redirect,
                frontchannel: Vec::new(),
            }));
        };
        let hinted_user = claim("sub") == Some(signed_in.user.id.to_string());
        if !confirmed && !hinted_user {
            return Ok(Logout::Confirm);
        }
        for family in self.store.issued_sessions(&signed_in.session).await? {
            self.sessions
                .revoke_family(&family)
                .await
                .map_err(|error| match error {
                    SessionError::Store(error) => AuthorizeRefusal::Store(error),
                    other => AuthorizeRefusal::Internal(other.to_string()),
                })?;
        }
        let mut frontchannel = Vec::new();
        for client_id in self.store.session_clients(&signed_in.session).await? {
            if let Some(uri) = self
                .store
                .client(&client_id)
                .await?
                .and_then(|client| client.frontchannel_logout_uri)
            {
                let answer = [("iss", self.issuer.as_str()), ("sid", &signed_in.session)];
                frontchannel.push(with_query(&uri, &answer));
            }
        }
        self.store
            .end_browser_session(&signed_in.session, self.now())
            .await?;
        Ok(Logout::Done(LoggedOut {
            redirect,
            frontchannel,
        }))
    }
    // ANCHOR_END: end_session
}

fn internal(error: SessionError) -> OidcError {
    match error {
        SessionError::Store(error) => OidcError::Store(error),
        other => OidcError::Internal(other.to_string()),
    }
}

/// `uri` with `pairs` added to its query, form-encoded.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_added_to_the_redirect_uris_own_query() {
        assert_eq!(
            with_query("https://a.example/cb", &[("code", "x y"), ("state", "s&t")]),
            "https://a.example/cb?code=x+y&state=s%26t"
        );
        assert_eq!(
            with_query("https://a.example/cb?app=1", &[("code", "c")]),
            "https://a.example/cb?app=1&code=c"
        );
    }
}
