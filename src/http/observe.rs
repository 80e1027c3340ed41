//! What every request leaves behind: a request id (the client's `X-Request-Id` when it is a
//! sane one, else a new one), echoed on the response and attached to every log line the request
//! causes, and one access-log line when it completes; and what every response carries: the
//! security headers Django's stock middleware sends, unless the endpoint set its own; and, for
//! `/metrics`, a count and a latency per route and status. The query string is never logged: a
//! token pasted into a URL must not end up in a log file.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use pin_project_lite::pin_project;

use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::logs::{self, RequestContext};
use crate::metrics::{RequestLabels, SharedMetrics, method_label, route_label};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sent with every response that does not set its own (Django's `SecurityMiddleware` and
/// `XFrameOptionsMiddleware` defaults).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    ),
    (
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    ),
    (
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// The tracing target of access-log lines (`RUST_LOG=access=info` shows them in text mode).
pub const ACCESS_LOG: &str = "access";

/// Set on a response that no route answered (a page of the book, or a 404), so its count goes
/// under this name rather than under a path a client made up.
#[derive(Debug, Clone, Copy)]
pub struct Unrouted(pub &'static str);

/// Observes every request of the service it wraps (see the module's documentation). A
/// hand-written layer: it costs a copy of the path, one header and a few atomic additions per
/// request, no boxed future and no span.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    /// Where requests are counted, when `/metrics` is served (`--metrics-addr`); without it
    /// nothing is counted, and counting costs nothing.
    metrics: Option<SharedMetrics>,
}

impl ObserveLayer {
    pub fn new(metrics: Option<SharedMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Option<SharedMetrics>,
}

// ANCHOR: request_id
impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .filter(|value| value.to_str().is_ok_and(is_sane))
            .cloned()
            .unwrap_or_else(new_request_id);
        // What every line logged while answering says about the request (see `crate::logs`).
        let context = RequestContext {
            id,
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
        };
        let access = tracing::enabled!(target: ACCESS_LOG, tracing::Level::INFO);
        // The route label, when the path was seen before (the usual case): no copy of the path.
        let counted = self.metrics.clone().map(|metrics| {
            let route = match crate::metrics::known_route(request.uri().path()) {
                Some(known) => Route::Known(known),
                None => Route::New(request.uri().path().to_owned()),
            };
            (metrics, method_label(request.method().as_str()), route)
        });
        // Timed only when the time is written somewhere: reading the clock is a cost too.
        let started = (access || counted.is_some()).then(Instant::now);
        let answer = Answer {
            inner: self.inner.call(request),
            access,
            started,
            counted,
        };
        Observed {
            inner: logs::within(context, answer),
        }
    }
}

pin_project! {
    /// A request being answered, with its [`RequestContext`] current while it is polled; on
    /// completion, its id on the response.
    pub struct Observed<F> {
        #[pin]
        inner: TaskLocalFuture<RequestContext, Answer<F>>,
    }
}

impl<F> Future for Observed<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Poll::Ready(Ok(mut response)) = this.inner.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        if let Some(context) = this.inner.take_value() {
            response.headers_mut().insert(REQUEST_ID, context.id);
        }
        Poll::Ready(Ok(response))
    }
}

pin_project! {
    /// The handler's answer; on completion (its request still current), its access line, its
    /// count and the security headers.
    pub struct Answer<F> {
        #[pin]
        inner: F,
        // Whether the access line is written.
        access: bool,
        // When the request came in, if it is logged or counted.
        started: Option<Instant>,
        // With metrics on: where to count, the method's label and the route's.
        counted: Option<(SharedMetrics, &'static str, Route)>,
    }
}

/// A path already interned as a route label, or one to intern if a route answered it.
enum Route {
    Known(&'static str),
    New(String),
}

impl<F> Future for Answer<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(Ok(mut response)) = this.inner.poll(cx) else {
            return Poll::Pending;
        };
        let elapsed = this
            .started
            .map(|started| started.elapsed())
            .unwrap_or_default();
        if let Some((metrics, method, route)) = this.counted.take() {
            let route = match (response.extensions().get::<Unrouted>(), route) {
                (Some(Unrouted(name)), _) => name,
                (None, Route::Known(known)) => known,
                (None, Route::New(path)) => route_label(&path),
            };
            metrics.request(
                RequestLabels {
                    route,
                    method,
                    status: response.status().as_u16(),
                },
                elapsed.as_secs_f64(),
            );
        }
        if *this.access {
            let status = response.status().as_u16();
            let micros = elapsed.as_micros() as u64;
            logs::with_current(|request| {
                let (method, path) = (&request.method, &request.path);
                tracing::info!(target: ACCESS_LOG, status, micros, "{method} {path} {status}");
            });
        }
        let headers = response.headers_mut();
        headers.reserve(SECURITY_HEADERS.len() + 1);
        for (name, value) in SECURITY_HEADERS {
            headers.entry(name).or_insert(value);
        }
        Poll::Ready(Ok(response))
    }
}
// ANCHOR_END: request_id

/// 32 hex digits: this process's random prefix, then a counter. Unique across instances (the
/// prefixes differ) and cheap: no system call per request, as a random UUID would cost.
fn new_request_id() -> HeaderValue {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: LazyLock<u64> = LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = (u128::from(*PREFIX) << 64) | u128::from(count);
    let mut digits = [0u8; 32];
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[(id >> (124 - 4 * i)) as usize & 0xf];
    }
    HeaderValue::from_bytes(&digits).expect("hex digits are a valid header value")
}

/// Short, and nothing a log reader or a header could be fooled by.
fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_request_ids_are_distinct_and_sane() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(is_sane(a.to_str().unwrap()));
        // The same prefix, then a count that only goes up.
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        assert_eq!(a[..16], b[..16]);
        let count = |id: &str| u64::from_str_radix(&id[16..], 16).unwrap();
        assert!(count(b) > count(a));
    }

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(is_sane("9f2c-req_1.a"));
        assert!(!is_sane(""));
        assert!(!is_sane("a b"));
        assert!(!is_sane("x\r\ninjected: 1"));
        assert!(!is_sane(&"a".repeat(129)));
    }
}
