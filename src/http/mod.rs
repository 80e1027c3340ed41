//! The HTTP surface: one module per endpoint group, each with its `router()`, plus what every
//! response shares (security headers, content negotiation, DRF's 404/405 and trailing-slash
//! redirect).

mod account;
pub mod auth;
pub mod body;
pub mod client;
mod client_page;
pub mod connection_timer;
pub mod cookies;
pub mod cors;
pub mod deadline;
mod endpoint;
mod health;
mod hello;
mod inspector;
mod jwks;
pub mod observe;
mod oidc;
pub mod schema;
mod tokens;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, Route, any};
use std::convert::Infallible;

use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use endpoint::EndpointRules;
pub(crate) use endpoint::{Endpoint, endpoint, no_store_endpoint};

use crate::app::AppState;
use crate::error::ApiError;

/// Far above any honest login or token body (a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request that takes longer than this is answered 408 and dropped, so no client can hold a
/// worker forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

// ANCHOR: documented_routes
/// A router whose every route carries its own OpenAPI documentation (see [`schema`]) and the
/// rules of its answers (see [`endpoint`]), both declared where the route is.
pub(crate) struct ApiRouter {
    routes: OpenApiRouter<AppState>,
    rules: EndpointRules,
}

impl ApiRouter {
    /// Declares a route once, with its documentation: the handlers of `documented` (made by
    /// `utoipa_axum::routes!`) answer at the path their `#[utoipa::path]` names, served through
    /// `serve` (which adds `OPTIONS`, the 405 for other methods and the endpoint's rules).
    /// No second list of paths to keep in step with the routers or with the document.
    ///
    /// The path ends in `/`; the same path without its slash is redirected to it (keeping the
    /// query), as Django's `APPEND_SLASH` does. The redirect is derived, not documented: see
    /// [`schema::is_slash_redirect`].
    pub fn slashed(
        self,
        documented: UtoipaMethodRouter<AppState>,
        serve: impl FnOnce(MethodRouter<AppState>) -> Endpoint,
    ) -> Self {
        let path = documented_path(&documented);
        assert!(path.ends_with('/') && path.len() > 1, "{path}");
        let slashless = path.trim_end_matches('/').to_owned();
        let mut router = self.exact(documented, serve);
        router.routes = router.routes.route(&slashless, any(append_slash));
        router
    }

    /// The path exactly (a file name, or a path that does not end in `/`).
    pub fn exact(
        mut self,
        (schemas, paths, methods): UtoipaMethodRouter<AppState>,
        serve: impl FnOnce(MethodRouter<AppState>) -> Endpoint,
    ) -> Self {
        let Endpoint { methods, rules } = serve(methods);
        let documented = (schemas, paths, methods);
        self.rules.insert(documented_path(&documented), rules);
        self.routes = self.routes.routes(documented);
        self
    }
    // ANCHOR_END: documented_routes

    pub fn new() -> Self {
        Self {
            routes: OpenApiRouter::new(),
            rules: EndpointRules::default(),
        }
    }

    /// A static file compiled into the binary, `GET` (and `HEAD`) only: documented as such,
    /// redirected from its slashless path when it ends in `/`.
    pub fn file(self, path: &'static str, file: schema::StaticFile, serve: Endpoint) -> Self {
        let documented = (
            Vec::new(),
            schema::static_file(path, &file),
            MethodRouter::new(),
        );
        if path.ends_with('/') {
            self.slashed(documented, |_| serve)
        } else {
            self.exact(documented, |_| serve)
        }
    }

    pub fn merge(mut self, other: ApiRouter) -> Self {
        self.routes = self.routes.merge(other.routes);
        self.rules.extend(other.rules);
        self
    }

    /// A layer around every route registered so far (axum's `Router::layer`).
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.routes = self.routes.layer(layer);
        self
    }

    /// The router, its OpenAPI document and the rules of its endpoints.
    pub fn into_parts(self) -> (Router<AppState>, utoipa::openapi::OpenApi, EndpointRules) {
        let (router, openapi) = self.routes.split_for_parts();
        (router, openapi, self.rules)
    }
}

/// The one path a registration documents.
fn documented_path(documented: &UtoipaMethodRouter<AppState>) -> String {
    let mut paths = documented.1.paths.keys();
    match (paths.next(), paths.next()) {
        (Some(path), None) => path.clone(),
        _ => panic!("one registration documents exactly one path"),
    }
}

/// Every route, each with its documentation, before the shared layers and the fallback.
pub(crate) fn api_routes(document: schema::SchemaDocument) -> ApiRouter {
    ApiRouter::new()
        .merge(tokens::router())
        .merge(hello::router())
        .merge(jwks::router())
        .merge(oidc::router())
        .merge(account::router())
        .merge(health::router())
        .merge(crate::classroom::http::router())
        .merge(inspector::router())
        .merge(client_page::router())
        .merge(schema::router(document))
}

/// What [`service`] is: the whole HTTP surface as one tower service, cheap to clone (a few
/// reference counts) and called once per request.
pub trait HttpService:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> HttpService for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// [`service`] as an axum [`Router`], for tests that drive it without a socket and for code
/// that merges it into a router of its own. `serve` calls the service itself: the router shell
/// costs a boxed clone of the whole stack per request.
pub fn router(state: AppState, book: Option<&Path>) -> Router {
    Router::new().fallback_service(service(state, book))
}

/// The API with every shared layer; with `book`, the built book's pages too, at `/`.
pub fn service(state: AppState, book: Option<&Path>) -> impl HttpService {
    let document = schema::SchemaDocument::default();
    let (api, openapi, endpoints) = api_routes(document.clone()).into_parts();
    document.publish(schema::finish(openapi));
    let book: Option<Arc<Path>> = book.map(Arc::from);
    let metrics = state.request_metrics.then(|| state.metrics.clone());
    // Both cost nothing unless configured: the layer is then not in the stack at all.
    let cors = state.cors.clone().map(cors::CorsLayer::new);
    let challenge = (!state.auth_header.challenges_with_bearer()).then(|| {
        let challenge = state.auth_header.challenge();
        SetResponseHeaderLayer::overriding(header::WWW_AUTHENTICATE, move |response: &Response| {
            response
                .headers()
                .contains_key(header::WWW_AUTHENTICATE)
                .then(|| challenge.clone())
        })
    });
    let api = api
        .fallback(move |request: Request| fallback(book.clone(), request))
        .with_state(state);
    // What every request goes through, wrapped once around the whole router rather than
    // around each route (as `Router::layer` does): a route's layers are boxed services that
    // are cloned for every request, one allocation per layer. The result is returned as it is,
    // not boxed, for the same reason.
    ServiceBuilder::new()
        .layer(observe::ObserveLayer::new(metrics))
        .option_layer(cors)
        .option_layer(challenge)
        .layer(deadline::DeadlineLayer::new(REQUEST_TIMEOUT))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(endpoints.layer())
        .service(api)
}

pub(crate) async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// Paths no route claims: a page of the book, when it is served; else a DRF-shaped 404.
async fn fallback(book: Option<Arc<Path>>, request: Request) -> Response {
    let (mut response, name) = match book {
        Some(book)
            if !request.uri().path().starts_with("/api/")
                && matches!(*request.method(), Method::GET | Method::HEAD) =>
        {
            (book_page(&book, request).await, "book")
        }
        _ => (ApiError::NotFound.into_response(), "unmatched"),
    };
    response.extensions_mut().insert(observe::Unrouted(name));
    response
}

/// `GET /metrics` for `--metrics-addr`: the OpenMetrics text of [`crate::metrics::Metrics`].
/// Never routed on the public address.
pub fn metrics_router(state: AppState) -> Router {
    let metrics = move || {
        let text = state.metrics.render();
        async move { ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text) }
    };
    Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .fallback(|| async { ApiError::NotFound })
}

/// A file of the built book. A browser asking for a page that is not there gets the book's own
/// 404 page; an API client gets the usual JSON.
async fn book_page(book: &Path, request: Request) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .is_some_and(|accept| String::from_utf8_lossy(accept.as_bytes()).contains("text/html"));
    let Ok(page) = ServeDir::new(book).oneshot(request).await;
    if page.status() != StatusCode::NOT_FOUND {
        return page.into_response();
    }
    match std::fs::read(book.join("404.html")) {
        Ok(html) if wants_html => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        _ => ApiError::NotFound.into_response(),
    }
}

/// Django's `APPEND_SLASH`: a route asked for without its trailing slash is redirected to it.
async fn append_slash(uri: Uri) -> Response {
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let Ok(location) = HeaderValue::from_str(&location) else {
        return ApiError::NotFound.into_response();
    };
    (
        StatusCode::MOVED_PERMANENTLY,
        [
            (header::LOCATION, location),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
        ],
    )
        .into_response()
}
