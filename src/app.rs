//! The application: its shared state, its router, and serving it until told to stop.

use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::classroom::{Classroom, Roster};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::http::HttpService;
use crate::http::auth::AuthHeader;
use crate::http::connection_timer::ConnectionTimer;
use crate::http::cookies::CookieMode;
use crate::http::cors::CorsPolicy;
use crate::mail::Outbox;
use crate::metrics::{Metrics, SharedMetrics};
use crate::oidc::Provider;
use crate::sessions::Sessions;
use crate::store::{Database, Guarded};
use crate::tokens::{JtiSource, LiveKeys, PurposeTokens, TokenService, TokenSettings};
use crate::users::{
    CachedUserStore, LoginLimits, LoginThrottle, PasswordCost, Passwords, UserError, UserStore,
};

/// How long a looked-up user is reused before the store is asked again: a deactivation reaches
/// every instance's protected routes within this many seconds.
pub const USER_CACHE_SECONDS: i64 = 5;

/// What the state is built from: the part of the configuration that requests need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The newest active key signs; all verify; a key ring's changes are picked up live.
    pub keys: LiveKeys,
    pub tokens: TokenSettings,
    pub password_cost: PasswordCost,
    pub login_limits: LoginLimits,
    /// Cookie mode: see `--refresh-cookie`.
    pub refresh_cookie: bool,
    /// Sliding tokens: see `--sliding-tokens`.
    pub sliding_tokens: bool,
    /// Where link messages go, if anywhere.
    pub mail_outbox: Option<PathBuf>,
    /// The address links point at.
    pub public_url: String,
    pub client_address: ClientAddressSource,
    /// Classroom mode: the room's instructor and students.
    pub classroom: Option<Roster>,
    /// How long a store call may take before it is answered 503 (see `--store-deadline`).
    pub store_deadline: Duration,
    /// Count every request for `/metrics` (on when `--metrics-addr` is given).
    pub request_metrics: bool,
    /// simplejwt's `AUTH_HEADER_NAME` and `AUTH_HEADER_TYPES` (see `--auth-header-types`).
    pub auth_header: AuthHeader,
    /// Which other origins' pages may call the API (see `--cors-allowed-origins`); none if `None`.
    pub cors: Option<CorsPolicy>,
}

impl Settings {
    /// simplejwt's defaults around `keys`, with the recommended password cost.
    pub fn new(keys: impl Into<LiveKeys>) -> Self {
        Self {
            keys: keys.into(),
            tokens: TokenSettings::default(),
            password_cost: PasswordCost::RECOMMENDED,
            login_limits: LoginLimits::default(),
            refresh_cookie: false,
            sliding_tokens: false,
            mail_outbox: None,
            public_url: "http://127.0.0.1:8000".into(),
            client_address: ClientAddressSource::default(),
            classroom: None,
            store_deadline: crate::store::DEFAULT_DEADLINE,
            request_metrics: false,
            auth_header: AuthHeader::default(),
            cors: None,
        }
    }
}

// ANCHOR: app_state
/// Everything a request handler may need, behind one `Arc`: cloning it for a request is one
/// reference count, whatever it holds. Fields are reached through [`State`].
#[derive(Clone)]
pub struct AppState(Arc<State>);

/// The shared state itself. The session rules live in [`Sessions`]; the rest is what the other
/// endpoints need.
pub struct State {
    /// Login, refresh, logout, password changes, authentication: every session rule.
    pub sessions: Arc<Sessions>,
    /// Issues and verifies tokens (the same service [`Sessions`] uses).
    pub tokens: TokenService,
    /// The users, through a short-lived cache.
    pub users: Arc<dyn UserStore>,
    pub passwords: Passwords,
    /// Where a request's client address comes from.
    pub client_address: ClientAddressSource,
    /// With cookie mode, the refresh token travels in an HttpOnly cookie, never in a body.
    pub cookie_mode: Option<CookieMode>,
    /// Password-reset and email-verification links.
    pub links: PurposeTokens,
    /// Where messages with links go; without one, no link is ever sent.
    pub outbox: Option<Outbox>,
    /// The address links point at. Never taken from a request's `Host` header, which a client
    /// chooses: a reset link pointing at an attacker's site would hand them the token.
    pub public_url: String,
    /// Classroom mode: the room's students and their progress.
    pub classroom: Option<Classroom>,
    /// The store every part above uses, bounded by the deadline; `/readyz` asks it.
    pub database: Arc<Guarded>,
    /// What `/metrics` reports (on `--metrics-addr` only).
    pub metrics: SharedMetrics,
    /// Whether every request is counted into [`State::metrics`] (the session events always are).
    pub request_metrics: bool,
    /// The header a token travels in, and the schemes it may name before the token.
    pub auth_header: AuthHeader,
    /// Cross-origin access, if any origin is allowed.
    pub cors: Option<CorsPolicy>,
    /// The OpenID Connect provider, when the key set has a key pair to sign ID tokens with.
    pub oidc: Option<Provider>,
}
// ANCHOR_END: app_state

impl std::ops::Deref for AppState {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

// ANCHOR: build
/// The one place the state is assembled: `serve`, the tests and chapter 4's suite all call it,
/// so every test runs the production wiring. The clock and the token ids are injected so tests
/// can pin them.
pub fn build(
    settings: Settings,
    store: Arc<dyn Database>,
    clock: Arc<dyn Clock>,
    jti: Arc<dyn JtiSource>,
) -> Result<AppState, UserError> {
    let passwords = Passwords::new(settings.password_cost)?;
    let database = Arc::new(Guarded::new(store, settings.store_deadline));
    let store: Arc<dyn Database> = database.clone();
    let refresh_lifetime = settings.tokens.refresh_lifetime;
    let tokens = TokenService::new(settings.keys, settings.tokens, clock.clone(), jti);
    let users: Arc<dyn UserStore> = Arc::new(CachedUserStore::new(
        store.clone(),
        clock,
        USER_CACHE_SECONDS,
    ));
    let sessions = Arc::new(Sessions::new(
        tokens.clone(),
        store.clone(),
        users.clone(),
        passwords.clone(),
        LoginThrottle::new(settings.login_limits),
        settings.sliding_tokens,
    ));
    let metrics = Arc::new(Metrics::new(sessions.metrics(), {
        let passwords = passwords.clone();
        move || passwords.in_flight()
    }));
    let public_url = settings.public_url.trim_end_matches('/').to_owned();
    let oidc = Provider::new(
        sessions.clone(),
        store.clone(),
        users.clone(),
        tokens.live_keys().clone(),
        public_url.clone(),
    );
    Ok(AppState(Arc::new(State {
        metrics,
        request_metrics: settings.request_metrics,
        links: tokens.purpose_tokens(),
        cookie_mode: settings.refresh_cookie.then_some(CookieMode {
            max_age: refresh_lifetime,
        }),
        sessions,
        tokens,
        users,
        passwords,
        client_address: settings.client_address,
        outbox: settings.mail_outbox.as_deref().map(Outbox::at),
        public_url,
        classroom: settings
            .classroom
            .map(|roster| Classroom::new(roster, store)),
        database,
        auth_header: settings.auth_header,
        cors: settings.cors,
        oidc,
    })))
}
// ANCHOR_END: build

/// The client's address is the connection's peer, unless a proxy we trust says otherwise in the
/// header configured for it. A header from anyone else is ignored: any client can send one.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressSource {
    /// e.g. `X-Forwarded-For` (its last address is the one our proxy saw) or `X-Real-IP`.
    pub header: Option<axum::http::HeaderName>,
    /// The proxies whose header is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl State {
    /// The user a `user_id` claim names (see [`Sessions::find_user`]).
    pub async fn find_user(&self, user_id: &str) -> Result<Option<crate::users::User>, ApiError> {
        Ok(self.sessions.find_user(user_id).await?)
    }
}

/// The whole HTTP surface as a [`Router`]: the API, and the built book at `/` when there is one.
pub fn router(state: AppState, book: Option<&std::path::Path>) -> Router {
    crate::http::router(state, book)
}

/// The same surface as [`router`], as the service [`serve`] runs in production.
pub fn service(state: AppState, book: Option<&std::path::Path>) -> impl HttpService {
    crate::http::service(state, book)
}

/// What `--metrics-addr` serves: `GET /metrics`, and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    crate::http::metrics_router(state)
}

/// Limits on a connection before any handler sees a request.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers (and how long an idle keep-alive
    /// connection stays open). Without it, a client sending one header byte at a time would
    /// hold a connection forever ("slowloris").
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on an already bound listener until `shutdown` completes, then lets in-flight
/// requests finish. Binding first lets tests use port 0 and callers print the real address.
///
/// We drive hyper ourselves rather than through `axum::serve` because only hyper's own builder
/// can time out a client that never finishes its headers.
pub async fn serve(
    listener: TcpListener,
    service: impl HttpService,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.header_read_timeout(limits.header_timeout);
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The connection's own copy of the stack. HTTP/1 hands it one request at a time, so it
        // is lent to each in turn rather than copied for each.
        let app = RefCell::new(service.clone());
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            call_when_ready(&mut *app.borrow_mut(), request.map(Body::new))
        });
        let connection = http
            .clone()
            .timer(ConnectionTimer::default())
            .serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        // Handlers that want the peer's address find it in the task of its connection.
        tokio::spawn(crate::http::client::peer_scope(remote, async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote, %error, "connection closed with an error");
            }
        }));
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

/// `service`'s answer to `request`. Every layer of the stack is ready at once (none holds
/// requests back), so the connection's copy is called in place; were one ever not ready, a
/// fresh copy waits for it rather than the request being refused.
fn call_when_ready<S: HttpService>(
    service: &mut S,
    request: axum::extract::Request,
) -> Either<S::Future, tower::util::Oneshot<S, axum::extract::Request>> {
    let mut ready = std::task::Context::from_waker(std::task::Waker::noop());
    match service.poll_ready(&mut ready) {
        std::task::Poll::Ready(Ok(())) => Either::Left(service.call(request)),
        std::task::Poll::Ready(Err(never)) => match never {},
        std::task::Poll::Pending => Either::Right(service.clone().oneshot(request)),
    }
}

/// Accepting fails when the process is out of file descriptors or a client reset the connection
/// before we got to it. The first passes with time; the second needs no wait.
async fn wait_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
