//! The application: its shared state, its router, and serving it until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::tokens::{TokenService, TokenStore};
use crate::users::{Passwords, User, UserStore};

/// Everything a request handler may need. Cheap to clone: all shared behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub tokens: TokenService,
    pub users: Arc<dyn UserStore>,
    pub revocations: Arc<dyn TokenStore>,
    pub passwords: Passwords,
}

impl AppState {
    /// The user a `user_id` claim names. An id that is not a number names nobody (simplejwt
    /// answers such a token with a 500; we say "not found").
    pub async fn find_user(&self, user_id: &str) -> Result<Option<User>, ApiError> {
        let Ok(id) = user_id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.users.find_by_id(id).await?)
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    crate::http::router(state)
}

/// Serves `router` on an already bound listener until `shutdown` completes, then lets in-flight
/// requests finish. Binding first lets tests use port 0 and callers print the real address.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
