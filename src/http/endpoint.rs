//! What DRF adds to every answer of one endpoint: content negotiation (a 406 for a client that
//! accepts nothing we send), `Allow`, `Vary: Accept`, and for token and account endpoints
//! `Cache-Control: no-store`.
//!
//! Each route declares its rules where it is registered ([`endpoint`], [`no_store_endpoint`]);
//! [`super::ApiRouter`] collects them into one [`EndpointRules`] table by path, and one layer
//! around the whole router applies them. A layer on each route instead would be a boxed service
//! that axum clones, and a boxed future it allocates, for every request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::app::AppState;
use crate::error::ApiError;

/// A route's handlers and the rules of its answers, as [`super::ApiRouter`] registers them.
/// `methods` must already answer the methods it does not serve (a 405, see
/// [`super::method_not_allowed`]).
pub(crate) struct Endpoint {
    pub methods: MethodRouter<AppState>,
    pub rules: Rules,
}

/// Content negotiation and DRF's `Allow` and `Vary` headers on every answer of one endpoint.
pub(crate) fn endpoint(methods: MethodRouter<AppState>, allow: &'static str) -> Endpoint {
    Endpoint {
        methods,
        rules: Rules {
            allow: HeaderValue::from_static(allow),
            no_store: false,
        },
    }
}

/// [`endpoint`], and its answers must not be kept by any cache in between: they carry tokens or
/// say something about an account (RFC 6749 §5.1).
pub(crate) fn no_store_endpoint(methods: MethodRouter<AppState>, allow: &'static str) -> Endpoint {
    let mut endpoint = endpoint(methods, allow);
    endpoint.rules.no_store = true;
    endpoint
}

/// What one endpoint's answers carry.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    allow: HeaderValue,
    no_store: bool,
}

/// Every endpoint's [`Rules`], by its exact path (no route has a parameter). A path with none
/// (the book's pages, a 404, a slashless redirect) gets nothing added.
#[derive(Debug, Clone, Default)]
pub(crate) struct EndpointRules(HashMap<String, Rules>);

impl EndpointRules {
    pub fn insert(&mut self, path: String, rules: Rules) {
        self.0.insert(path, rules);
    }

    pub fn extend(&mut self, other: EndpointRules) {
        self.0.extend(other.0);
    }

    /// The layer that applies them.
    pub fn layer(self) -> EndpointRulesLayer {
        EndpointRulesLayer(Arc::new(self))
    }
}

#[derive(Clone)]
pub(crate) struct EndpointRulesLayer(Arc<EndpointRules>);

impl<S> Layer<S> for EndpointRulesLayer {
    type Service = Endpoints<S>;

    fn layer(&self, inner: S) -> Endpoints<S> {
        Endpoints {
            inner,
            rules: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Endpoints<S> {
    inner: S,
    rules: Arc<EndpointRules>,
}

impl<S> Service<Request> for Endpoints<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let rules = self.rules.0.get(request.uri().path()).cloned();
        let state = match &rules {
            Some(_) if !acceptable(request.headers()) => State::Refused {
                response: Some(ApiError::NotAcceptable.into_response()),
            },
            _ => State::Answering {
                inner: self.inner.call(request),
            },
        };
        Answer { state, rules }
    }
}

pin_project! {
    /// The answer, its endpoint's headers added.
    pub(crate) struct Answer<F> {
        #[pin]
        state: State<F>,
        rules: Option<Rules>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Answering { #[pin] inner: F },
        Refused { response: Option<Response> },
    }
}

impl<F> Future for Answer<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.state.project() {
            StateProjection::Answering { inner } => match inner.poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => return Poll::Pending,
            },
            StateProjection::Refused { response } => response
                .take()
                .unwrap_or_else(|| ApiError::NotAcceptable.into_response()),
        };
        if let Some(rules) = this.rules.take() {
            let headers = response.headers_mut();
            headers.insert(header::ALLOW, rules.allow);
            headers.insert(header::VARY, HeaderValue::from_static("Accept"));
            if rules.no_store {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
        }
        Poll::Ready(Ok(response))
    }
}

/// Whether the client accepts something we send. We always answer JSON; `text/html` is
/// tolerated because DRF would answer it too (with its browsable API).
fn acceptable(headers: &HeaderMap) -> bool {
    match headers.get(header::ACCEPT) {
        None => true,
        Some(accept) => String::from_utf8_lossy(accept.as_bytes())
            .split(',')
            .map(|range| range.split(';').next().unwrap_or_default().trim())
            .any(|range| {
                range.is_empty()
                    || ["*/*", "application/*", "application/json", "text/html"]
                        .iter()
                        .any(|ok| range.eq_ignore_ascii_case(ok))
            }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    use super::*;

    /// The rules for `/api/token/` (no-store) and `/hello/`, around a handler that counts its
    /// calls and answers 200.
    fn service(
        calls: &'static AtomicUsize,
    ) -> impl Service<Request, Response = Response, Error = Infallible> {
        let mut rules = EndpointRules::default();
        rules.insert(
            "/api/token/".into(),
            no_store_endpoint(MethodRouter::new(), "POST, OPTIONS").rules,
        );
        rules.insert("/hello/".into(), endpoint(MethodRouter::new(), "GET").rules);
        rules.layer().layer(tower::service_fn(move |_: Request| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, Infallible>(StatusCode::OK.into_response()) }
        }))
    }

    /// The answer of [`service`] to a GET of `path`, with `accept` as its `Accept` header.
    async fn answer(calls: &'static AtomicUsize, path: &str, accept: Option<&str>) -> Response {
        let mut request = Request::builder().uri(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let request = request.body(Body::empty()).unwrap();
        service(calls).oneshot(request).await.unwrap()
    }

    fn header(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn an_endpoints_answers_carry_its_rules_and_no_other_path_gets_them() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let token = answer(&CALLS, "/api/token/", Some("application/json; q=1")).await;
        assert_eq!(header(&token, header::ALLOW), Some("POST, OPTIONS"));
        assert_eq!(header(&token, header::VARY), Some("Accept"));
        assert_eq!(header(&token, header::CACHE_CONTROL), Some("no-store"));
        let hello = answer(&CALLS, "/hello/", None).await;
        assert_eq!(header(&hello, header::ALLOW), Some("GET"));
        assert_eq!(header(&hello, header::CACHE_CONTROL), None);
        // A page of the book (or the slashless redirect): no rules, and any Accept will do.
        let page = answer(&CALLS, "/hello", Some("image/png")).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(header(&page, header::ALLOW), None);
        assert_eq!(header(&page, header::VARY), None);
        assert_eq!(CALLS.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_client_that_accepts_nothing_we_send_gets_a_406_without_the_handler_running() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let refused = answer(&CALLS, "/api/token/", Some("text/plain, image/*")).await;
        assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
        assert_eq!(header(&refused, header::ALLOW), Some("POST, OPTIONS"));
        assert_eq!(header(&refused, header::CACHE_CONTROL), Some("no-store"));
        assert_eq!(CALLS.load(Ordering::Relaxed), 0);
    }
}
