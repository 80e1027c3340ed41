//! The application: its shared state, its router, and serving it until told to stop.

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::classroom::Classroom;
use crate::error::ApiError;
use crate::http::cookies::CookieMode;
use crate::mail::Outbox;
use crate::tokens::{PurposeTokens, RevocationView, TokenService, TokenStore};
use crate::users::{LoginLimits, LoginThrottle, Passwords, User, UserStore};

/// Everything a request handler may need. Cheap to clone: all shared behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub tokens: TokenService,
    pub users: Arc<dyn UserStore>,
    pub revocations: Arc<dyn TokenStore>,
    /// The live revocations, in memory: what protected routes check instead of the database.
    pub revoked: RevocationView,
    pub passwords: Passwords,
    /// Failed logins per user and per client address.
    pub throttle: Arc<LoginThrottle>,
    /// Where a request's client address comes from.
    pub client_address: ClientAddressSource,
    /// With cookie mode, the refresh token travels in an HttpOnly cookie, never in a body.
    pub cookie_mode: Option<CookieMode>,
    /// simplejwt's sliding tokens: their endpoints answer, and protected routes take them too.
    pub sliding_tokens: bool,
    /// Password-reset and email-verification links.
    pub links: PurposeTokens,
    /// Where messages with links go; without one, no link is ever sent.
    pub outbox: Option<Outbox>,
    /// The address links point at. Never taken from a request's `Host` header, which a client
    /// chooses: a reset link pointing at an attacker's site would hand them the token.
    pub public_url: String,
    /// Classroom mode: the room's students and their progress.
    pub classroom: Option<Arc<Classroom>>,
}

/// The client's address is the connection's peer, unless a proxy we trust says otherwise in the
/// header configured for it. A header from anyone else is ignored: any client can send one.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressSource {
    /// e.g. `X-Forwarded-For` (its last address is the one our proxy saw) or `X-Real-IP`.
    pub header: Option<axum::http::HeaderName>,
    /// The proxies whose header is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl AppState {
    /// Throttles logins with the default limits; reads the client address from the connection.
    pub fn new(
        tokens: TokenService,
        users: Arc<dyn UserStore>,
        revocations: Arc<dyn TokenStore>,
        passwords: Passwords,
    ) -> Self {
        Self {
            links: tokens.purpose_tokens(),
            tokens,
            users,
            revoked: RevocationView::new(revocations.clone()),
            revocations,
            passwords,
            throttle: Arc::new(LoginThrottle::new(LoginLimits::default())),
            client_address: ClientAddressSource::default(),
            cookie_mode: None,
            sliding_tokens: false,
            outbox: None,
            public_url: "http://127.0.0.1:8000".into(),
            classroom: None,
        }
    }

    /// Turns classroom mode on: `/class/`, `/api/class/` and `/api/class/progress/` answer.
    pub fn with_classroom(mut self, classroom: Classroom) -> Self {
        self.classroom = Some(Arc::new(classroom));
        self
    }

    /// Sends links as files in `outbox`, pointing at `public_url`.
    pub fn with_outbox(mut self, outbox: Outbox, public_url: impl Into<String>) -> Self {
        self.outbox = Some(outbox);
        self.public_url = public_url.into();
        self
    }

    /// Turns sliding tokens on: `/api/token/sliding/` and `/api/token/sliding/refresh/`.
    pub fn with_sliding_tokens(mut self) -> Self {
        self.sliding_tokens = true;
        self
    }

    /// Turns cookie mode on: see [`crate::http::cookies`].
    pub fn with_refresh_cookie(mut self) -> Self {
        self.cookie_mode = Some(CookieMode {
            max_age: self.tokens.settings().refresh_lifetime,
        });
        self
    }

    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        self.throttle = Arc::new(LoginThrottle::new(limits));
        self
    }

    pub fn with_client_address(mut self, source: ClientAddressSource) -> Self {
        self.client_address = source;
        self
    }

    /// The user a `user_id` claim names. An id that is not a number names nobody (simplejwt
    /// answers such a token with a 500; we say "not found").
    pub async fn find_user(&self, user_id: &str) -> Result<Option<User>, ApiError> {
        let Ok(id) = user_id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.users.find_by_id(id).await?)
    }
}

/// The whole HTTP surface: the API, and the built book at `/` when there is one.
pub fn router(state: AppState, book: Option<&std::path::Path>) -> Router {
    crate::http::router(state, book)
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
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
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
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // Handlers that want the peer address read it the way axum's own server provides it.
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request)
        });
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote, %error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
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
