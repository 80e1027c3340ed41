//! Cross-origin requests from browsers, answered as django-cors-headers' `CorsMiddleware`
//! answers them, so a front end moved along with its API sees the same headers.
//!
//! With origins allowed, every response says `Vary: origin` (a cache must not hand one origin's
//! answer to another); a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
//! here, empty, before any route; and a request from an allowed origin gets
//! `Access-Control-Allow-Origin` (and `…-Allow-Credentials: true` when credentials are allowed),
//! plus the allowed headers, methods and max-age on `OPTIONS`. A request from any other origin
//! gets no CORS header at all, so the browser keeps its answer from the calling page. With no
//! origin allowed the layer is not in the stack: it costs nothing.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

const REQUEST_METHOD: HeaderName = HeaderName::from_static("access-control-request-method");

// ANCHOR: policy
/// Which origins may call the API from a browser, and what they may send: django-cors-headers'
/// settings, checked once at start-up and kept as ready-made header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    /// `CORS_ALLOWED_ORIGINS`, as (scheme, host[:port]) pairs; `None` for `CORS_ALLOW_ALL_ORIGINS`.
    origins: Option<Vec<(String, String)>>,
    /// `CORS_ALLOW_CREDENTIALS`.
    credentials: bool,
    allow_headers: HeaderValue,
    allow_methods: HeaderValue,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}
// ANCHOR_END: policy

/// django-cors-headers' settings, as given.
#[derive(Debug, Clone, Default)]
pub struct CorsSettings {
    pub allowed_origins: Vec<String>,
    pub allow_all_origins: bool,
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    /// Seconds; 0 sends no `Access-Control-Max-Age`.
    pub preflight_max_age: i64,
}

impl CorsPolicy {
    /// The policy the settings describe, `None` when they allow no origin; a sentence saying
    /// what to fix when they cannot be used.
    pub fn new(settings: &CorsSettings) -> Result<Option<Self>, String> {
        let origins = if settings.allow_all_origins {
            None
        } else if settings.allowed_origins.is_empty() {
            return Ok(None);
        } else {
            let origins = settings.allowed_origins.iter().map(|origin| {
                split_origin(origin)
                    .filter(|(scheme, host)| {
                        !scheme.is_empty() && !host.is_empty() || origin == "null"
                    })
                    .filter(|_| !has_path(origin))
                    .map(|(scheme, host)| (scheme, host.to_owned()))
                    .ok_or_else(|| {
                        format!(
                            "the CORS origin {origin:?} is not scheme://host[:port] \
                             (e.g. https://app.example.com, with no path, not even a final /)"
                        )
                    })
            });
            Some(origins.collect::<Result<Vec<_>, _>>()?)
        };
        let list = |names: &[String], what: &str| {
            HeaderValue::try_from(names.join(", "))
                .map_err(|_| format!("the CORS {what} {names:?} cannot go in a header"))
        };
        if settings.preflight_max_age < 0 {
            return Err("the CORS preflight max-age cannot be negative".into());
        }
        Ok(Some(Self {
            origins,
            credentials: settings.allow_credentials,
            allow_headers: list(&settings.allow_headers, "headers")?,
            allow_methods: list(&settings.allow_methods, "methods")?,
            expose_headers: match settings.expose_headers.as_slice() {
                [] => None,
                names => Some(list(names, "exposed headers")?),
            },
            max_age: (settings.preflight_max_age > 0)
                .then(|| HeaderValue::from(settings.preflight_max_age)),
        }))
    }

    /// Whether a page of `origin` may read our answers: the same scheme and `host[:port]` as an
    /// allowed origin (the scheme in any case, the rest exactly), or `null` when it is listed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        let Some(origins) = &self.origins else {
            return true;
        };
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        if origin == "null" {
            return origins
                .iter()
                .any(|(scheme, host)| scheme == "null" && host.is_empty());
        }
        let Some((scheme, host)) = split_origin(origin) else {
            return false;
        };
        origins
            .iter()
            .any(|(allowed_scheme, allowed_host)| *allowed_scheme == scheme && allowed_host == host)
    }

    /// django-cors-headers' `add_response_headers`.
    fn decorate(&self, headers: &mut HeaderMap, origin: Option<&HeaderValue>, options: bool) {
        add_vary_origin(headers);
        let Some(origin) =
            origin.filter(|origin| !origin.is_empty() && self.allows(origin.as_bytes()))
        else {
            return;
        };
        let allow_origin = if self.origins.is_none() && !self.credentials {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose_headers {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
        if options {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                self.allow_headers.clone(),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                self.allow_methods.clone(),
            );
            if let Some(max_age) = &self.max_age {
                headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
            }
        }
    }
}

/// `scheme://host[:port]…` → (the scheme in lower case, `host[:port]`), as Python's `urlsplit`
/// reads an origin; `("null", "")` for `null`.
fn split_origin(origin: &str) -> Option<(String, &str)> {
    if origin == "null" {
        return Some(("null".into(), ""));
    }
    let (scheme, rest) = origin.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some((scheme.to_ascii_lowercase(), host))
}

/// Whether an origin from the settings goes on past `host[:port]`.
fn has_path(origin: &str) -> bool {
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains(['/', '?', '#']))
}

/// Django's `patch_vary_headers(response, ("origin",))`: `origin` joins the `Vary` list once
/// (not at all when it, or `*`, is already there). One allocation when the list grows.
fn add_vary_origin(headers: &mut HeaderMap) {
    let mut length = 0;
    for value in headers.get_all(header::VARY) {
        let already = value.as_bytes().split(|b| *b == b',').any(|name| {
            let name = name.trim_ascii();
            name == b"*" || name.eq_ignore_ascii_case(b"origin")
        });
        if already {
            return;
        }
        length += value.len() + 2;
    }
    if length == 0 {
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
        return;
    }
    let mut joined = Vec::with_capacity(length + "origin".len());
    for value in headers.get_all(header::VARY) {
        joined.extend_from_slice(value.as_bytes());
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(b"origin");
    if let Ok(joined) = HeaderValue::from_maybe_shared(Bytes::from(joined)) {
        headers.insert(header::VARY, joined);
    }
}

// ANCHOR: layer
/// Applies a [`CorsPolicy`] to every request of the service it wraps. Hand-written like
/// [`super::observe::ObserveLayer`]: no boxed future, and a preflight never reaches a route.
#[derive(Debug, Clone)]
pub struct CorsLayer(Arc<CorsPolicy>);

impl CorsLayer {
    pub fn new(policy: CorsPolicy) -> Self {
        Self(Arc::new(policy))
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors {
            inner,
            policy: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    policy: Arc<CorsPolicy>,
}

impl<S> Service<Request> for Cors<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let options = request.method() == Method::OPTIONS;
        let origin = request.headers().get(header::ORIGIN).cloned();
        let preflight = options && request.headers().contains_key(REQUEST_METHOD);
        let inner = if preflight {
            None
        } else {
            Some(self.inner.call(request))
        };
        CorsFuture {
            inner,
            policy: self.policy.clone(),
            origin,
            options,
        }
    }
}
// ANCHOR_END: layer

pin_project! {
    /// A request being answered (or a preflight, answered at once); on completion, its CORS
    /// headers.
    pub struct CorsFuture<F> {
        #[pin]
        inner: Option<F>,
        policy: Arc<CorsPolicy>,
        origin: Option<HeaderValue>,
        options: bool,
    }
}

impl<F> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.as_pin_mut() {
            Some(inner) => match inner.poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Pending => return Poll::Pending,
            },
            None => preflight_answer(),
        };
        this.policy
            .decorate(response.headers_mut(), this.origin.as_ref(), *this.options);
        Poll::Ready(Ok(response))
    }
}

/// django-cors-headers' answer to a preflight: 200, empty (a Django `HttpResponse`).
fn preflight_answer() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], credentials: bool) -> CorsPolicy {
        CorsPolicy::new(&CorsSettings {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            allow_credentials: credentials,
            allow_headers: vec!["authorization".into(), "content-type".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            preflight_max_age: 86400,
            ..CorsSettings::default()
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn no_origin_allowed_means_no_policy_at_all() {
        assert_eq!(CorsPolicy::new(&CorsSettings::default()), Ok(None));
    }

    #[test]
    fn origins_match_on_scheme_and_host_and_port_like_urlsplit_reads_them() {
        let policy = policy(&["https://app.example.com", "http://localhost:3000"], false);
        for allowed in [
            "https://app.example.com",
            "HTTPS://app.example.com",
            "http://localhost:3000",
        ] {
            assert!(policy.allows(allowed.as_bytes()), "{allowed}");
        }
        for refused in [
            "https://evil.example.com",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://APP.example.com",
            "https://app.example.com.evil.net",
            "http://localhost:3001",
            "null",
            "app.example.com",
            "",
        ] {
            assert!(!policy.allows(refused.as_bytes()), "{refused}");
        }
        assert!(self::policy(&["null"], false).allows(b"null"));
    }

    #[test]
    fn origins_with_a_path_or_no_scheme_are_refused_at_start_up() {
        for bad in [
            "https://app.example.com/",
            "https://a.com/x",
            "app.example.com",
            "https://",
        ] {
            let error = CorsPolicy::new(&CorsSettings {
                allowed_origins: vec![bad.into()],
                ..CorsSettings::default()
            })
            .unwrap_err();
            assert!(error.contains("scheme://host[:port]"), "{bad}: {error}");
        }
    }

    #[test]
    fn vary_gains_origin_once_as_django_patches_it() {
        let mut headers = HeaderMap::new();
        add_vary_origin(&mut headers);
        assert_eq!(headers[header::VARY], "origin");
        add_vary_origin(&mut headers);
        assert_eq!(headers.get_all(header::VARY).iter().count(), 1);
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        add_vary_origin(&mut headers);
        assert_eq!(headers[header::VARY], "Accept, origin");
        let mut headers = HeaderMap::new();
        headers.append(header::VARY, HeaderValue::from_static("Accept"));
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
        add_vary_origin(&mut headers);
        assert_eq!(headers[header::VARY], "Accept, Cookie, origin");
        assert_eq!(headers.get_all(header::VARY).iter().count(), 1);
        for present in ["Accept, Origin", "*"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::VARY, HeaderValue::from_static(present));
            add_vary_origin(&mut headers);
            assert_eq!(headers[header::VARY], present);
        }
    }

    #[test]
    fn all_origins_are_answered_with_a_star_unless_credentials_are_allowed() {
        let all = |credentials| {
            CorsPolicy::new(&CorsSettings {
                allow_all_origins: true,
                allow_credentials: credentials,
                ..CorsSettings::default()
            })
            .unwrap()
            .unwrap()
        };
        let origin = HeaderValue::from_static("https://anyone.example");
        let mut headers = HeaderMap::new();
        all(false).decorate(&mut headers, Some(&origin), false);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let mut headers = HeaderMap::new();
        all(true).decorate(&mut headers, Some(&HeaderValue::from_static("")), false);
        assert_eq!(
            headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            None,
            "an empty Origin"
        );
        let mut headers = HeaderMap::new();
        all(true).decorate(&mut headers, Some(&origin), false);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    }
}
