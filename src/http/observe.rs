//! What every request leaves behind: a request id (the client's `X-Request-Id` when it is a
//! sane one, else a new one), echoed on the response and attached to every log line the request
//! causes, and one access-log line when it completes. The query string is never logged: a
//! token pasted into a URL must not end up in a log file.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The tracing target of access-log lines (`RUST_LOG=access=info` shows them in text mode).
pub const ACCESS_LOG: &str = "access";

// ANCHOR: request_id
pub async fn observe(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane(id))
        .map_or_else(new_request_id, str::to_owned);
    let value = HeaderValue::from_str(&id).expect("a sane id is a valid header value");
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_LOG,
            status,
            micros = started.elapsed().as_micros() as u64,
            "{method} {path} {status}"
        );
    });
    response.headers_mut().insert(REQUEST_ID, value);
    response
}
// ANCHOR_END: request_id

/// 32 hex digits: this process's random prefix, then a counter. Unique across instances (the
/// prefixes differ) and cheap: no system call per request, as a random UUID would cost.
fn new_request_id() -> String {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: LazyLock<u64> = LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:016x}{:016x}",
        *PREFIX,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
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
        assert!(is_sane(&a));
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
