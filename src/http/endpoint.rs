//! What DRF adds to every answer of one endpoint, as one layer: content negotiation (a 406 for a
//! client that accepts nothing we send), `Allow`, `Vary: Accept`, and for token and account
//! endpoints `Cache-Control: no-store`.
//!
//! One hand-written layer rather than a middleware function and three header layers: each layer
//! a route carries is a boxed service that axum clones for every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::app::AppState;
use crate::error::ApiError;

/// Adds content negotiation and DRF's `Allow` and `Vary` headers to every answer of one
/// endpoint. `methods` must already answer the methods it does not serve (a 405, see
/// [`super::method_not_allowed`]).
pub(crate) fn endpoint(
    methods: MethodRouter<AppState>,
    allow: &'static str,
) -> MethodRouter<AppState> {
    methods.layer(EndpointLayer {
        allow: HeaderValue::from_static(allow),
        no_store: false,
    })
}

/// [`endpoint`], and its answers must not be kept by any cache in between: they carry tokens or
/// say something about an account (RFC 6749 §5.1).
pub(crate) fn no_store_endpoint(
    methods: MethodRouter<AppState>,
    allow: &'static str,
) -> MethodRouter<AppState> {
    methods.layer(EndpointLayer {
        allow: HeaderValue::from_static(allow),
        no_store: true,
    })
}

#[derive(Clone)]
struct EndpointLayer {
    allow: HeaderValue,
    no_store: bool,
}

impl<S> Layer<S> for EndpointLayer {
    type Service = Endpoint<S>;

    fn layer(&self, inner: S) -> Endpoint<S> {
        Endpoint {
            inner,
            allow: self.allow.clone(),
            no_store: self.no_store,
        }
    }
}

#[derive(Clone)]
struct Endpoint<S> {
    inner: S,
    allow: HeaderValue,
    no_store: bool,
}

impl<S> Service<Request> for Endpoint<S>
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
        let state = if acceptable(request.headers()) {
            State::Answering {
                inner: self.inner.call(request),
            }
        } else {
            State::Refused {
                response: Some(ApiError::NotAcceptable.into_response()),
            }
        };
        Answer {
            state,
            allow: self.allow.clone(),
            no_store: self.no_store,
        }
    }
}

pin_project! {
    /// The endpoint's answer, its headers added.
    struct Answer<F> {
        #[pin]
        state: State<F>,
        allow: HeaderValue,
        no_store: bool,
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
        let headers = response.headers_mut();
        headers.insert(header::ALLOW, this.allow.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        if *this.no_store {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
