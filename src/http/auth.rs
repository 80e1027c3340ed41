//! The `Authorization: Bearer <token>` extractor for protected routes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

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

/// What the `Authorization` header holds, read as DRF does: split on whitespace, scheme
/// case-sensitive. Any other scheme means "not for us", hence anonymous, not an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    Anonymous,
    Malformed,
    Bearer(&'a [u8]),
}

// ANCHOR: parse_authorization
/// Reads an `Authorization` header value.
pub fn parse_authorization(value: Option<&[u8]>) -> Credentials<'_> {
    let Some(value) = value else {
        return Credentials::Anonymous;
    };
    let mut words = value
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    match (words.next(), words.next(), words.next()) {
        (Some(b"Bearer"), Some(token), None) => Credentials::Bearer(token),
        (Some(b"Bearer"), _, _) => Credentials::Malformed,
        _ => Credentials::Anonymous,
    }
}
// ANCHOR_END: parse_authorization

// ANCHOR: auth_user
impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let raw = match parse_authorization(header) {
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
            assert_eq!(parse_authorization(Some(header)), expected, "{header:?}");
        }
        assert_eq!(parse_authorization(None), Anonymous);
    }
}
