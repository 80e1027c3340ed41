//! The `Authorization: Bearer <token>` extractor for protected routes, and where it looks: the
//! header and the schemes accepted before the token (simplejwt's `AUTH_HEADER_NAME` and
//! `AUTH_HEADER_TYPES`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::app::AppState;
use crate::error::ApiError;
use crate::tokens::VerifiedToken;
use crate::users::User;

/// An active user, proven by a valid access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub token: VerifiedToken,
}

// ANCHOR: auth_header
/// Where a request carries its token: simplejwt's `AUTH_HEADER_NAME` (`Authorization` by
/// default) and `AUTH_HEADER_TYPES`, the words accepted before the token (`Bearer` by default;
/// `Bearer,JWT` accepts both). The first type is the scheme of the `WWW-Authenticate`
/// challenge, as DRF takes it from the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    name: HeaderName,
    types: Vec<String>,
}

impl Default for AuthHeader {
    fn default() -> Self {
        Self {
            name: header::AUTHORIZATION,
            types: vec!["Bearer".into()],
        }
    }
}

impl AuthHeader {
    /// `name` as a header (`X-Access-Token`) or as Django's `META` key simplejwt's setting
    /// holds (`HTTP_X_ACCESS_TOKEN`); at least one type, each one word of visible ASCII.
    pub fn new(name: &str, types: Vec<String>) -> Result<Self, String> {
        let header = match name.strip_prefix("HTTP_") {
            Some(meta) => meta.replace('_', "-"),
            None => name.to_owned(),
        };
        let name = HeaderName::try_from(header.to_ascii_lowercase()).map_err(|_| {
            format!(
                "the authorization header name {name:?} is not a header name: use e.g. \
                 Authorization, X-Access-Token or HTTP_X_ACCESS_TOKEN"
            )
        })?;
        let usable = |word: &String| {
            !word.is_empty() && word.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
        };
        if types.is_empty() || !types.iter().all(usable) {
            return Err(format!(
                "the authorization header types {types:?} must be one or more single words, \
                 e.g. Bearer,JWT"
            ));
        }
        Ok(Self { name, types })
    }

    /// The header the token travels in.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// Whether `word` is one of the types: case-sensitive, as DRF compares them.
    pub fn accepts(&self, word: &[u8]) -> bool {
        self.types
            .iter()
            .any(|accepted| accepted.as_bytes() == word)
    }

    /// The `WWW-Authenticate` value of a 401: the first type, realm `api`.
    pub fn challenge(&self) -> HeaderValue {
        HeaderValue::try_from(format!(r#"{} realm="api""#, self.types[0]))
            .expect("checked to be visible ASCII when configured")
    }

    /// Whether 401s challenge with `Bearer`, as every 401 does already.
    pub fn challenges_with_bearer(&self) -> bool {
        self.types[0] == "Bearer"
    }
}
// ANCHOR_END: auth_header

/// What the `Authorization` header holds, read as DRF does: split on whitespace, scheme
/// case-sensitive. Any other scheme means "not for us", hence anonymous, not an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    Anonymous,
    Malformed,
    Bearer(&'a [u8]),
}

// ANCHOR: parse_authorization
/// Reads an `Authorization` header value, accepting the scheme words in `types`.
pub fn parse_authorization<'a>(value: Option<&'a [u8]>, types: &AuthHeader) -> Credentials<'a> {
    let Some(value) = value else {
        return Credentials::Anonymous;
    };
    let mut words = value
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None) if types.accepts(scheme) => Credentials::Bearer(token),
        (Some(scheme), _, _) if types.accepts(scheme) => Credentials::Malformed,
        _ => Credentials::Anonymous,
    }
}

/// The request's `Authorization` (or configured) value as Django hands it to DRF: several headers are joined
/// with "," into one value (Django's ASGI handler does it, and so do gunicorn and wsgiref for
/// WSGI), which DRF then refuses when it holds more than two words. The first one alone is never
/// taken: a proxy or a client that adds its own must not pick the user.
pub fn authorization_value<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Option<std::borrow::Cow<'a, [u8]>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(first.as_bytes().into());
    };
    let mut joined = first.as_bytes().to_vec();
    for value in std::iter::once(second).chain(values) {
        joined.push(b',');
        joined.extend_from_slice(value.as_bytes());
    }
    Some(joined.into())
}
// ANCHOR_END: parse_authorization

// ANCHOR: auth_user
impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = authorization_value(&parts.headers, state.auth_header.name());
        let raw = match parse_authorization(header.as_deref(), &state.auth_header) {
            Credentials::Anonymous => return Err(ApiError::NotAuthenticated),
            Credentials::Malformed => return Err(ApiError::BadAuthorizationHeader),
            Credentials::Bearer(raw) => raw,
        };
        let raw = std::str::from_utf8(raw).unwrap_or_default();
        let (user, token) = state.sessions.authenticate(raw).await?;
        Ok(AuthUser { user, token })
    }
}
// ANCHOR_END: auth_user

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_like_drf_reads_them() {
        use Credentials::*;
        let bearer = AuthHeader::default();
        let cases: [(&[u8], Credentials); 8] = [
            (b"", Anonymous),
            (b"Token abc", Anonymous),
            (b"bearer abc", Anonymous),
            (b"Basic dml0b3I6MTIz", Anonymous),
            (b"Bearer", Malformed),
            (b"Bearer abc extra", Malformed),
            (b"Bearer abc", Bearer(b"abc")),
            (b"Bearer  abc", Bearer(b"abc")),
        ];
        for (header, expected) in cases {
            assert_eq!(
                parse_authorization(Some(header), &bearer),
                expected,
                "{header:?}"
            );
        }
        assert_eq!(parse_authorization(None, &bearer), Anonymous);
    }

    #[test]
    fn every_configured_header_type_is_accepted_and_the_first_is_the_challenge() {
        use Credentials::*;
        let types = AuthHeader::new("Authorization", vec!["Bearer".into(), "JWT".into()]).unwrap();
        assert_eq!(
            parse_authorization(Some(b"JWT abc"), &types),
            Bearer(b"abc")
        );
        assert_eq!(
            parse_authorization(Some(b"Bearer abc"), &types),
            Bearer(b"abc")
        );
        assert_eq!(parse_authorization(Some(b"JWT"), &types), Malformed);
        assert_eq!(parse_authorization(Some(b"jwt abc"), &types), Anonymous);
        assert_eq!(types.challenge(), r#"Bearer realm="api""#);
        let jwt = AuthHeader::new("Authorization", vec!["JWT".into()]).unwrap();
        assert_eq!(parse_authorization(Some(b"Bearer abc"), &jwt), Anonymous);
        assert_eq!(jwt.challenge(), r#"JWT realm="api""#);
        assert!(AuthHeader::new("Authorization", vec![]).is_err());
        assert!(AuthHeader::new("Authorization", vec!["Two words".into()]).is_err());
        assert!(types.challenges_with_bearer() && !jwt.challenges_with_bearer());
    }

    #[test]
    fn the_header_is_named_as_a_header_or_as_djangos_meta_key() {
        let bearer = || vec!["Bearer".into()];
        for name in ["X-Access-Token", "x-access-token", "HTTP_X_ACCESS_TOKEN"] {
            let header = AuthHeader::new(name, bearer()).unwrap();
            assert_eq!(header.name(), "x-access-token", "{name}");
        }
        assert_eq!(
            AuthHeader::new("HTTP_AUTHORIZATION", bearer()).unwrap(),
            AuthHeader::default()
        );
        let error = AuthHeader::new("X Access Token", bearer()).unwrap_err();
        assert!(error.contains("is not a header name"), "{error}");
    }

    #[test]
    fn several_authorization_headers_are_joined_as_django_joins_them() {
        let mut headers = HeaderMap::new();
        let name = &header::AUTHORIZATION;
        assert_eq!(authorization_value(&headers, name), None);
        headers.append(name, HeaderValue::from_static("Bearer a"));
        assert_eq!(
            authorization_value(&headers, name).as_deref(),
            Some(&b"Bearer a"[..])
        );
        headers.append(name, HeaderValue::from_static("Bearer b"));
        let joined = authorization_value(&headers, name).unwrap();
        assert_eq!(&*joined, b"Bearer a,Bearer b");
        assert_eq!(
            parse_authorization(Some(&joined), &AuthHeader::default()),
            Credentials::Malformed
        );
    }
}
