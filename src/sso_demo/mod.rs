//! `sso-demo`: two small apps that sign their users in with the server's OpenID Connect
//! provider, to watch single sign-on happen. Each is a confidential client with its own port,
//! its own session cookie and its own in-memory sessions; the provider's session cookie is what
//! lets the second app sign in without a password. Logging out of either sends the browser to
//! the provider's `end_session_endpoint`, which loads both apps' front-channel logout pages.
//!
//! Like the attack lab, this is a module of its own, never routed by `serve`.

pub mod relying_party;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use serde_json::{Map, Value};

use relying_party::{PendingSignIn, validate_id_token};

/// What an app learned from the provider's discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
}

/// One demo app's configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Shown on its pages ("Notes", "Calendar").
    pub name: String,
    /// Its cookies' prefix: both apps share the host 127.0.0.1, and cookies ignore ports.
    pub slug: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The other app's address, linked from the page.
    pub other: (String, String),
    pub client_id: String,
    pub client_secret: String,
}

/// A signed-in user, as this app remembers them.
#[derive(Debug, Clone)]
struct AppSession {
    username: String,
    subject: String,
    /// The provider's browser session (the ID token's `sid`): front-channel logout names it.
    provider_session: Option<String>,
    /// Sent back as `id_token_hint` at logout.
    id_token: String,
    auth_time: i64,
}

struct DemoApp {
    config: AppConfig,
    provider: ProviderMetadata,
    jwks: JwkSet,
    /// Sign-ins on their way, by `state`.
    pending: Mutex<HashMap<String, PendingSignIn>>,
    /// Signed-in users, by session cookie.
    sessions: Mutex<HashMap<String, AppSession>>,
}

/// The provider's discovery document and keys, fetched once when the apps start.
pub fn discover(issuer: &str) -> Result<(ProviderMetadata, JwkSet), String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .new_agent();
    let url = format!("{issuer}/.well-known/openid-configuration");
    let metadata: ProviderMetadata = agent
        .get(&url)
        .call()
        .and_then(|mut response| response.body_mut().read_json())
        .map_err(|e| format!("{url}: {e}"))?;
    let jwks: JwkSet = agent
        .get(&metadata.jwks_uri)
        .call()
        .and_then(|mut response| response.body_mut().read_json())
        .map_err(|e| format!("{}: {e}", metadata.jwks_uri))?;
    Ok((metadata, jwks))
}

/// One demo app's routes.
pub fn router(config: AppConfig, provider: ProviderMetadata, jwks: JwkSet) -> Router {
    let app = Arc::new(DemoApp {
        config,
        provider,
        jwks,
        pending: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/", get(home))
        .route("/login", get(log_in))
        .route("/callback", get(callback))
        .route("/logout", get(log_out))
        .route("/frontchannel-logout", get(frontchannel_logout))
        .with_state(app)
}

fn random() -> String {
    crate::oidc::random_token()
}

impl DemoApp {
    fn session_cookie(&self) -> String {
        format!("{}_session", self.config.slug)
    }

    fn state_cookie(&self) -> String {
        format!("{}_state", self.config.slug)
    }

    fn current(&self, headers: &HeaderMap) -> Option<(String, AppSession)> {
        let cookie = crate::http::cookies::cookie(headers, &self.session_cookie())?;
        let sessions = self.sessions.lock().expect("sessions lock");
        sessions
            .get(cookie)
            .map(|session| (cookie.to_owned(), session.clone()))
    }
}

/// The app's one page: who is signed in, and the way to sign in or out.
async fn home(State(app): State<Arc<DemoApp>>, headers: HeaderMap) -> Response {
    let name = escape(&app.config.name);
    let (other_name, other_base) = &app.config.other;
    let body = match app.current(&headers) {
        Some((_, session)) => format!(
            "<p id=\"status\" data-state=\"in\">Signed in as <strong id=\"username\">{}</strong> \
             (sub {}, signed in at the provider at {}).</p>\
             <p><a id=\"log-out\" href=\"/logout\">Log out</a> (of both apps)</p>",
            escape(&session.username),
            escape(&session.subject),
            crate::clock::iso8601_utc(session.auth_time),
        ),
        None => "<p id=\"status\" data-state=\"out\">Not signed in.</p>\
                 <p><a id=\"sign-in\" href=\"/login\">Sign in with jwt-workbook</a></p>"
            .to_owned(),
    };
    page(
        StatusCode::OK,
        &format!(
            "<h1>{name}</h1>{body}<p>The other app: <a id=\"other\" href=\"{}/\">{}</a></p>",
            escape(other_base),
            escape(other_name)
        ),
        &format!("{name} — SSO demo"),
    )
}

// ANCHOR: log_in
/// Starts a sign-in: a fresh `state` (kept in a cookie, to match the answer to this browser),
/// a nonce and a PKCE pair, then off to the provider.
async fn log_in(State(app): State<Arc<DemoApp>>) -> Response {
    let state = random();
    let pending = PendingSignIn::new();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", &app.config.client_id),
        ("redirect_uri", &format!("{}/callback", app.config.base)),
        ("scope", "openid profile"),
        ("state", &state),
        ("nonce", &pending.nonce),
        ("code_challenge", &pending.challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    app.pending
        .lock()
        .expect("pending lock")
        .insert(state.clone(), pending);
    let mut response = redirect(&format!("{}?{query}", app.provider.authorization_endpoint));
    let cookie = format!(
        "{}={state}; Path=/; HttpOnly; SameSite=Lax",
        app.state_cookie()
    );
    append_cookie(&mut response, &cookie);
    response
}
// ANCHOR_END: log_in

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// The provider's answer: the state must be this browser's, the issuer ours; then the code is
/// exchanged (with the verifier), the ID token checked, and the user asked for at `/userinfo`.
async fn callback(
    State(app): State<Arc<DemoApp>>,
    headers: HeaderMap,
    Query(answer): Query<CallbackQuery>,
) -> Response {
    if let Some(error) = answer.error {
        return failure(&app, &format!("the provider answered {error}"));
    }
    let expected = crate::http::cookies::cookie(&headers, &app.state_cookie()).unwrap_or_default();
    let (Some(code), Some(state)) = (answer.code, answer.state) else {
        return failure(&app, "the answer has no code or no state");
    };
    if state != expected {
        return failure(&app, "the state is not this browser's sign-in");
    }
    if answer.iss.as_deref() != Some(app.provider.issuer.as_str()) {
        return failure(&app, "the answer comes from another issuer");
    }
    let Some(pending) = app.pending.lock().expect("pending lock").remove(&state) else {
        return failure(&app, "this sign-in was already completed");
    };
    let exchanged = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || finish_sign_in(&app, &code, &pending))
            .await
            .map_err(|e| e.to_string())
            .and_then(|result| result)
    };
    let session = match exchanged {
        Ok(session) => session,
        Err(why) => return failure(&app, &why),
    };
    let cookie = random();
    app.sessions
        .lock()
        .expect("sessions lock")
        .insert(cookie.clone(), session);
    let mut response = redirect("/");
    append_cookie(
        &mut response,
        &format!(
            "{}={cookie}; Path=/; HttpOnly; SameSite=Lax",
            app.session_cookie()
        ),
    );
    append_cookie(
        &mut response,
        &format!("{}=; Path=/; Max-Age=0", app.state_cookie()),
    );
    response
}

/// The back-channel half of a sign-in: code → tokens, ID token checks, `/userinfo`.
fn finish_sign_in(
    app: &DemoApp,
    code: &str,
    pending: &PendingSignIn,
) -> Result<AppSession, String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let redirect_uri = format!("{}/callback", app.config.base);
    let mut response = agent
        .post(&app.provider.token_endpoint)
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &pending.verifier),
            ("client_id", &app.config.client_id),
            ("client_secret", &app.config.client_secret),
        ])
        .map_err(|e| e.to_string())?;
    let tokens: Value = response.body_mut().read_json().map_err(|e| e.to_string())?;
    let (Some(id_token), Some(access)) =
        (tokens["id_token"].as_str(), tokens["access_token"].as_str())
    else {
        return Err(format!("the token endpoint answered {tokens}"));
    };
    let claims = validate_id_token(
        id_token,
        &app.jwks,
        &app.provider.issuer,
        &app.config.client_id,
        &pending.nonce,
        access,
    )?;
    let userinfo: Value = agent
        .get(&app.provider.userinfo_endpoint)
        .header("Authorization", &format!("Bearer {access}"))
        .call()
        .and_then(|mut response| response.body_mut().read_json())
        .map_err(|e| e.to_string())?;
    let text = |claims: &Map<String, Value>, name: &str| {
        claims.get(name).and_then(Value::as_str).map(str::to_owned)
    };
    let subject = text(&claims, "sub").unwrap_or_default();
    if userinfo["sub"] != subject.as_str() {
        return Err("/userinfo names another user".into());
    }
    Ok(AppSession {
        username: userinfo["preferred_username"]
            .as_str()
            .unwrap_or(&subject)
            .to_owned(),
        subject,
        provider_session: text(&claims, "sid"),
        id_token: id_token.to_owned(),
        auth_time: claims
            .get("auth_time")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
    })
}

// ANCHOR: log_out
/// RP-initiated logout: forget our own session, then send the browser to the provider with
/// the ID token as a hint and our registered address to come back to.
async fn log_out(State(app): State<Arc<DemoApp>>, headers: HeaderMap) -> Response {
    let Some((cookie, session)) = app.current(&headers) else {
        return redirect("/");
    };
    app.sessions.lock().expect("sessions lock").remove(&cookie);
    let query = serde_urlencoded::to_string([
        ("id_token_hint", session.id_token.as_str()),
        ("post_logout_redirect_uri", &format!("{}/", app.config.base)),
        ("state", &random()),
    ])
    .unwrap_or_default();
    redirect(&format!("{}?{query}", app.provider.end_session_endpoint))
}

/// Front-channel logout: the provider's "signed out" page loads this in a hidden frame. Every
/// session of ours that came from that provider session ends.
async fn frontchannel_logout(
    State(app): State<Arc<DemoApp>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut ended = 0;
    if query.get("iss") == Some(&app.provider.issuer)
        && let Some(sid) = query.get("sid")
    {
        let mut sessions = app.sessions.lock().expect("sessions lock");
        let before = sessions.len();
        sessions.retain(|_, session| session.provider_session.as_ref() != Some(sid));
        ended = before - sessions.len();
    }
    let mut response = page(
        StatusCode::OK,
        &format!("<p>{ended} session(s) ended.</p>"),
        "signed out",
    );
    // Only the provider's page may frame this one.
    let origin = app
        .provider
        .issuer
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    if let Ok(policy) =
        HeaderValue::from_str(&format!("default-src 'none'; frame-ancestors {origin}"))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}
// ANCHOR_END: log_out

fn failure(app: &DemoApp, why: &str) -> Response {
    tracing::warn!(app = %app.config.name, %why, "sign-in refused");
    page(
        StatusCode::BAD_REQUEST,
        &format!(
            "<h1>{}</h1><p id=\"status\" data-state=\"error\">Sign-in refused: {}</p>\
             <p><a href=\"/\">Back</a></p>",
            escape(&app.config.name),
            escape(why)
        ),
        "sign-in refused",
    )
}

fn page(status: StatusCode, body: &str, title: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body data-ready=\"true\">{body}</body></html>\n",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
