//! Cookie mode: the refresh token travels in an `HttpOnly`, `Secure`, `SameSite=Strict` cookie
//! scoped to `/api/token/`, where no script can read it, and the access token stays in the
//! page's memory. A cookie is sent by the browser on its own, so a request that spends the
//! cookie must also prove it comes from our page: it repeats the value of the readable
//! `csrftoken` cookie in an `X-CSRFToken` header (Django's names), which another site can
//! neither read nor set.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::error::ApiError;
use crate::tokens::constant_time_eq;

/// The refresh token's cookie.
pub const REFRESH_COOKIE: &str = "refresh_token";
/// Only the token endpoints ever receive the refresh cookie.
pub const REFRESH_COOKIE_PATH: &str = "/api/token/";
/// The CSRF cookie (readable by the page) and the header that must repeat it.
pub const CSRF_COOKIE: &str = "csrftoken";
pub const CSRF_HEADER: &str = "x-csrftoken";

/// Whether cookie mode is on, and how long the cookies live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieMode {
    /// The refresh token's lifetime, in seconds: the cookies expire with it.
    pub max_age: i64,
}

/// One cookie from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

// ANCHOR: csrf
/// A request spending the refresh cookie must carry the CSRF cookie's value in the header too.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = cookie(headers, CSRF_COOKIE).filter(|value| !value.is_empty());
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok());
    match (expected, given) {
        (Some(expected), Some(given))
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) =>
        {
            Ok(())
        }
        (Some(_), Some(_)) => Err(ApiError::Csrf("CSRF token incorrect.")),
        (None, _) => Err(ApiError::Csrf("CSRF cookie not set.")),
        (_, None) => Err(ApiError::Csrf("CSRF token missing.")),
    }
}
// ANCHOR_END: csrf

/// Sets the refresh cookie and a fresh CSRF cookie.
pub fn set_cookies(response: &mut Response, mode: CookieMode, refresh: &str) {
    let csrf: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    append(
        response,
        format!(
            "{REFRESH_COOKIE}={refresh}; Max-Age={}; Path={REFRESH_COOKIE_PATH}; HttpOnly; Secure; SameSite=Strict",
            mode.max_age
        ),
    );
    append(
        response,
        format!(
            "{CSRF_COOKIE}={csrf}; Max-Age={}; Path=/; Secure; SameSite=Strict",
            mode.max_age
        ),
    );
}

/// Tells the browser to forget both cookies (logout).
pub fn clear_cookies(response: &mut Response) {
    append(
        response,
        format!(
            "{REFRESH_COOKIE}=; Max-Age=0; Path={REFRESH_COOKIE_PATH}; HttpOnly; Secure; SameSite=Strict"
        ),
    );
    append(
        response,
        format!("{CSRF_COOKIE}=; Max-Age=0; Path=/; Secure; SameSite=Strict"),
    );
}

fn append(response: &mut Response, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cookies_are_found_across_headers_and_pairs() {
        let h = headers(&[
            ("cookie", "a=1; csrftoken=abc"),
            ("cookie", "refresh_token=t.k.n"),
        ]);
        assert_eq!(cookie(&h, "csrftoken"), Some("abc"));
        assert_eq!(cookie(&h, REFRESH_COOKIE), Some("t.k.n"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn csrf_needs_the_cookie_repeated_in_the_header() {
        let ok = headers(&[("cookie", "csrftoken=abc"), ("x-csrftoken", "abc")]);
        assert!(check_csrf(&ok).is_ok());
        for (case, expected) in [
            (
                headers(&[("cookie", "csrftoken=abc"), ("x-csrftoken", "abd")]),
                "CSRF token incorrect.",
            ),
            (
                headers(&[("cookie", "csrftoken=abc")]),
                "CSRF token missing.",
            ),
            (headers(&[("x-csrftoken", "abc")]), "CSRF cookie not set."),
            (
                headers(&[("cookie", "csrftoken="), ("x-csrftoken", "")]),
                "CSRF cookie not set.",
            ),
        ] {
            assert!(matches!(check_csrf(&case), Err(ApiError::Csrf(m)) if m == expected));
        }
    }
}
