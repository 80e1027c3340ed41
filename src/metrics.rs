//! What operators scrape (`GET /metrics` on `--metrics-addr`, never on the public address):
//! requests by route and status with their latency, logins by outcome, refreshes, reuse
//! detections, revocations by reason, and password hashes in flight, in the OpenMetrics text
//! format Prometheus reads. Counting is a few atomic additions per request; the text is made
//! only when scraped.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One request, as counted: its route (a declared path, `book` or `unmatched`), its method and
/// its status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Why a session (or all of a user's) was revoked.
#[derive(Debug, Clone, Copy)]
pub enum RevocationReason {
    Logout,
    /// A rotated-away refresh token came back: the family is revoked.
    Reuse,
    LogoutEverywhere,
    PasswordChange,
}

impl RevocationReason {
    fn label(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Reuse => "reuse",
            Self::LogoutEverywhere => "logout_everywhere",
            Self::PasswordChange => "password_change",
        }
    }
}

/// The session rules' counters, kept by [`crate::sessions::Sessions`]. Clones count into the
/// same numbers.
#[derive(Debug, Clone, Default)]
pub struct SessionMetrics {
    logins: Family<OutcomeLabels, Counter>,
    refreshes: Family<OutcomeLabels, Counter>,
    revocations: Family<ReasonLabels, Counter>,
}

impl SessionMetrics {
    /// `ok`, `failed` (wrong credentials) or `throttled` (refused before any hash).
    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// `ok`, or `refused` (invalid, expired, revoked or reused).
    pub fn refresh(&self, outcome: &'static str) {
        self.refreshes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn revoked(&self, reason: RevocationReason) {
        self.revocations
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc();
    }
}

/// Every metric, registered once; shared by the request layer and the scrape endpoint.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    hashes_in_flight: Gauge,
    /// Read when scraped.
    in_flight: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl Metrics {
    /// Registers the request metrics, `sessions`' counters, and a gauge of the password hashes
    /// `in_flight` reports (queued or running) when scraped.
    pub fn new(
        sessions: &SessionMetrics,
        in_flight: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 14)));
        let hashes_in_flight = Gauge::default();
        registry.register(
            "http_requests",
            "Requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from the request's arrival to its response's head, by route",
            latency.clone(),
        );
        registry.register(
            "logins",
            "Login attempts by outcome: ok, failed (wrong credentials) or throttled",
            sessions.logins.clone(),
        );
        registry.register(
            "token_refreshes",
            "Refresh-token rotations by outcome: ok or refused",
            sessions.refreshes.clone(),
        );
        registry.register(
            "revocations",
            "Sessions revoked, by reason; reason=reuse counts refresh-token reuse detections",
            sessions.revocations.clone(),
        );
        registry.register(
            "password_hashes_in_flight",
            "Password hashes queued or running",
            hashes_in_flight.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            hashes_in_flight,
            in_flight: Box::new(in_flight),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, labels: RequestLabels, seconds: f64) {
        self.latency
            .get_or_create(&RouteLabels {
                route: labels.route,
            })
            .observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// The OpenMetrics text of every metric now.
    pub fn render(&self) -> String {
        self.hashes_in_flight.set((self.in_flight)());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

static SEEN: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(Default::default);

/// The label of a path a route answered before, if any.
pub fn known_route(path: &str) -> Option<&'static str> {
    SEEN.read().ok()?.get(path).copied()
}

/// A request path that a route declared, as a `&'static str` label. Only paths the router
/// matched come here, so the set is as small as the route table, whatever clients send.
pub fn route_label(path: &str) -> &'static str {
    if let Some(known) = known_route(path) {
        return known;
    }
    let mut seen = SEEN
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = seen.get(path) {
        return known;
    }
    let leaked: &'static str = Box::leak(path.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// A method as a label: the standard ones by name, any other as `other`, so a client cannot
/// grow the label set.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Shared by the state and the request layer.
pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_in_the_text_with_their_labels() {
        let sessions = SessionMetrics::default();
        let metrics = Metrics::new(&sessions, || 3);
        metrics.request(
            RequestLabels {
                route: "/api/token/",
                method: "POST",
                status: 200,
            },
            0.002,
        );
        sessions.login("throttled");
        sessions.revoked(RevocationReason::Reuse);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{route="/api/token/",method="POST",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"logins_total{outcome="throttled"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"revocations_total{reason="reuse"} 1"#),
            "{text}"
        );
        assert!(text.contains("password_hashes_in_flight 3"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn labels_come_from_a_bounded_set() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        let a = route_label("/hello/");
        assert!(std::ptr::eq(a, route_label("/hello/")), "interned once");
    }
}
