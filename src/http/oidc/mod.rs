//! The OpenID Connect provider's HTTP surface: discovery, `/oidc/authorize` and its login page,
//! `/oidc/token`, `/oidc/userinfo`. Handlers parse, call [`crate::oidc::Provider`], render;
//! errors are RFC 6749's and OpenID Connect's (`{"error", "error_description"}`), not DRF's,
//! because relying-party libraries read those.
//!
//! The login page is ours and plain HTML: no script at all, a stylesheet of our own, a strict
//! Content-Security-Policy, and a form protected against cross-site posting by a double-submit
//! token (an HttpOnly cookie whose value the form repeats). A browser signed in here carries
//! the provider's session cookie, scoped to `/oidc/`: with it, a second app signs in without a
//! password.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use utoipa::{ToResponse, ToSchema};
use utoipa_axum::routes;

use super::client::ClientAddr;
use super::cookies::cookie;
use super::schema::{ErrorDetail, StaticFile};
use super::{ApiRouter, endpoint, method_not_allowed};
use crate::app::AppState;
use crate::error::json_body;
use crate::oidc::{
    AuthorizationRequest, AuthorizeRefusal, Authorized, BROWSER_SESSION_LIFETIME,
    ClientCredentials, ErrorCode, LoggedOut, LoginRefusal, Logout, LogoutRequest, OidcError,
    ValidAuthorization, random_token,
};
use crate::storage::StoreError;
use crate::tokens::constant_time_eq;

pub const AUTHORIZE_PATH: &str = "/oidc/authorize";
pub const TOKEN_PATH: &str = "/oidc/token";
pub const USERINFO_PATH: &str = "/oidc/userinfo";
pub const LOGOUT_PATH: &str = "/oidc/logout";
const STYLE_PATH: &str = "/oidc/login.css";

/// The provider's session: which user this browser signed in as, here.
pub const SESSION_COOKIE: &str = "oidc_session";
/// The login form's double-submit token.
pub const CSRF_COOKIE: &str = "oidc_csrf";
/// Both cookies go only to the provider's own paths.
const COOKIE_PATH: &str = "/oidc/";

const STYLE: &str = include_str!("login.css");

pub fn router() -> ApiRouter {
    let css = StaticFile {
        content_type: "text/css; charset=utf-8",
        summary: "The login page's style sheet.",
        classroom_only: false,
    };
    ApiRouter::new()
        .exact(routes!(discovery), |methods| {
            endpoint(methods.fallback(method_not_allowed), "GET, HEAD")
        })
        .exact(routes!(authorize, log_in), |methods| {
            endpoint(methods.fallback(method_not_allowed), "GET, HEAD, POST")
        })
        .exact(routes!(token), |methods| {
            endpoint(methods.fallback(method_not_allowed), "POST")
        })
        .exact(routes!(userinfo_get, userinfo_post), |methods| {
            endpoint(methods.fallback(method_not_allowed), "GET, HEAD, POST")
        })
        .exact(routes!(log_out, confirm_log_out), |methods| {
            endpoint(methods.fallback(method_not_allowed), "GET, HEAD, POST")
        })
        .file(
            STYLE_PATH,
            css,
            endpoint(get(style).fallback(method_not_allowed), "GET, HEAD"),
        )
}

/// The fields of the login form (`POST /oidc/authorize`): the authorization request again, as
/// hidden fields, with the CSRF token and the credentials. Documentation only: the handler
/// reads [`LoginForm`].
#[derive(ToSchema)]
#[allow(dead_code)]
struct LoginFields {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    /// The form's double-submit token: the `oidc_csrf` cookie's value.
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The fields of the logout confirmation (`POST /oidc/logout`). Documentation only.
#[derive(ToSchema)]
#[allow(dead_code)]
struct LogoutFields {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    csrf: Option<String>,
}

/// An error of the token and userinfo endpoints (RFC 6749 §5.2, RFC 6750 §3): what OAuth and
/// OpenID Connect client libraries read.
#[derive(ToSchema)]
#[allow(dead_code)]
struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token`, `server_error`, …
    error: String,
    error_description: Option<String>,
}

const PROVIDER_OFF: &str = "OpenID Connect is off: start the server with an RS256 or ES256 key \
                            (--algorithm RS256) to sign ID tokens with.";

/// The provider is off: the server has no RS256 or ES256 key to sign ID tokens with.
#[derive(ToResponse)]
#[response(example = json!({ "detail": PROVIDER_OFF }))]
#[allow(dead_code)]
struct ProviderOff(ErrorDetail);

/// The database cannot be reached just now.
#[derive(ToResponse)]
#[response(content_type = "text/html; charset=utf-8")]
#[allow(dead_code)]
struct UnavailablePage(String);

/// A GET request's query as `T`, if its parameters are well formed.
fn query_parameters<T: serde::de::DeserializeOwned>(query: Option<&str>) -> Option<T> {
    serde_urlencoded::from_str(query.unwrap_or_default()).ok()
}

/// The error page for a query whose parameters are malformed.
fn malformed_parameters() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "The request's parameters are malformed.",
    )
}

/// Whether a form's CSRF value is the one this browser's cookie holds (double submit).
fn csrf_matches(headers: &HeaderMap, submitted: &str) -> bool {
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
    !expected.is_empty() && constant_time_eq(expected.as_bytes(), submitted.as_bytes())
}

/// The answer while the provider is off: the server has no key pair to sign ID tokens with.
fn provider_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        json_body(&json!({ "detail": PROVIDER_OFF })),
    )
        .into_response()
}

// ANCHOR: discovery
/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): where everything
/// is, and what we accept. The keys are the server's own JWKS.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "oidc_discovery",
    tag = "openid-connect",
    responses(
        (status = 200, description = "OpenID Connect Discovery 1.0: where the provider's endpoints are and what it accepts.", body = Object),
        (status = 404, response = inline(ProviderOff)),
    ),
)]
async fn discovery(State(state): State<AppState>) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let issuer = provider.issuer();
    let mut response = json_body(&json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "end_session_endpoint": format!("{issuer}{LOGOUT_PATH}"),
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "jwks_uri": format!("{issuer}{}", super::jwks::JWKS_PATH),
        "scopes_supported": crate::oidc::provider::SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [provider.signing_algorithm()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp",
            "at_hash", "sid", "preferred_username", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
    }));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
// ANCHOR_END: discovery

/// `GET /oidc/authorize`: straight back with a code when this browser is signed in here, the
/// login page otherwise.
#[utoipa::path(
    get,
    path = "/oidc/authorize",
    operation_id = "oidc_authorize",
    extensions(("x-refused-beyond-schema" = json!([400]))),
    tag = "openid-connect",
    params(
        ("client_id" = Option<String>, Query, description = "The client, as `client create` registered it."),
        ("redirect_uri" = Option<String>, Query, description = "One of the client's redirect URIs, exactly."),
        ("response_type" = Option<String>, Query, description = "`code`."),
        ("scope" = Option<String>, Query, description = "Must include `openid`; `profile` and `email` add claims."),
        ("state" = Option<String>, Query, description = "Returned as it is, for the client's CSRF check."),
        ("nonce" = Option<String>, Query, description = "Repeated in the ID token."),
        ("code_challenge" = Option<String>, Query, description = "PKCE: base64url SHA-256 of the verifier."),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`, the only one."),
        ("prompt" = Option<String>, Query, description = "`none` or `login`."),
        ("max_age" = Option<String>, Query, description = "Seconds since the last login that are still good enough."),
    ),
    responses(
        (status = 200, description = "The login page.", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Back to the client's redirect URI, with a code (this browser is signed in) or an error.", headers(("Location" = String, description = "The client's redirect URI with `code` and `state`, or `error`."))),
        (status = 400, description = "An error page: an unknown client or a redirect URI it did not register (never redirected to), or a malformed request.", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, response = inline(UnavailablePage)),
    ),
)]
async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let Some(request) = query_parameters::<AuthorizationRequest>(query.as_deref()) else {
        return malformed_parameters();
    };
    let secure = provider.serves_https();
    match provider
        .authorize(&request, cookie(&headers, SESSION_COOKIE))
        .await
    {
        Ok(Authorized::Redirect(to)) => redirect(&to),
        Ok(Authorized::Login(valid)) => {
            let csrf = cookie(&headers, CSRF_COOKIE)
                .filter(|value| value.len() == 43)
                .map_or_else(random_token, str::to_owned);
            let mut page = login_page(&request, &valid, &csrf, None, StatusCode::OK);
            set_cookie(&mut page, CSRF_COOKIE, &csrf, None, "Strict", secure);
            page
        }
        Err(refusal) => refused(refusal),
    }
}

/// The login form's fields: the authorization request again, the CSRF token, the credentials.
#[derive(Deserialize)]
struct LoginForm {
    #[serde(flatten)]
    request: AuthorizationRequest,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

// ANCHOR: log_in
/// `POST /oidc/authorize`: the login form. The CSRF token must repeat the cookie (another site
/// can post a form here, but can neither read nor set our cookie); then the provider checks the
/// request again and the password, and the browser goes back to the client with a code and a
/// provider session cookie.
#[utoipa::path(
    post,
    path = "/oidc/authorize",
    operation_id = "oidc_log_in",
    extensions(("x-refused-beyond-schema" = json!([400]))),
    tag = "openid-connect",
    request_body(content = LoginFields, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The login page again, saying the credentials were wrong.", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Back to the client with a code; the provider's session cookie is set.", headers(("Location" = String, description = "The client's redirect URI with `code` and `state`."))),
        (status = 400, description = "An error page: malformed fields, or a request that does not check out.", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "The CSRF token does not repeat the cookie.", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, response = inline(ProviderOff)),
        (status = 429, description = "Too many failed logins: the login page says when to try again.", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, response = inline(UnavailablePage)),
    ),
)]
async fn log_in(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The form's fields are malformed.");
    };
    if !csrf_matches(&headers, &form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired or did not come from this site. Go back to the application and sign in again.",
        );
    }
    let secure = provider.serves_https();
    match provider
        .log_in(&form.request, &form.username, &form.password, address)
        .await
    {
        Ok((to, session)) => {
            let mut response = redirect(&to);
            let max_age = Some(BROWSER_SESSION_LIFETIME);
            set_cookie(
                &mut response,
                SESSION_COOKIE,
                &session,
                max_age,
                "Lax",
                secure,
            );
            response
        }
        Err(LoginRefusal::BadCredentials(valid)) => login_page(
            &form.request,
            &valid,
            &form.csrf,
            Some("Please enter a correct username and password."),
            StatusCode::OK,
        ),
        Err(LoginRefusal::Throttled(valid, seconds)) => {
            let mut page = login_page(
                &form.request,
                &valid,
                &form.csrf,
                Some("Too many failed attempts. Wait a moment and try again."),
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                page.headers_mut().insert(header::RETRY_AFTER, value);
            }
            page
        }
        Err(LoginRefusal::Authorize(refusal)) => refused(refusal),
    }
}
// ANCHOR_END: log_in

// ANCHOR: log_out
/// `GET /oidc/logout` (the `end_session_endpoint`): an app sends the browser here to sign out
/// everywhere. With an `id_token_hint` for this browser's user the logout happens at once;
/// without one the user is asked first (a form, CSRF-protected like the login form).
#[utoipa::path(
    get,
    path = "/oidc/logout",
    operation_id = "oidc_logout",
    extensions(("x-refused-beyond-schema" = json!([400]))),
    tag = "openid-connect",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token the provider gave this browser's user: with it, the logout happens at once."),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Where to go afterwards: one the client registered."),
        ("state" = Option<String>, Query, description = "Returned as it is."),
        ("client_id" = Option<String>, Query, description = "The client asking."),
    ),
    responses(
        (status = 200, description = "The signed-out page (it loads each app's front-channel logout page), or a confirmation form when nothing proves who asks.", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Signed out, back to the client's post-logout redirect URI.", headers(("Location" = String, description = "The registered post-logout redirect URI, with `state`."))),
        (status = 400, description = "An error page: a hint that is not ours, or a redirect URI the client did not register.", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, response = inline(UnavailablePage)),
    ),
)]
async fn log_out(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let Some(request) = query_parameters::<LogoutRequest>(query.as_deref()) else {
        return malformed_parameters();
    };
    let secure = provider.serves_https();
    match provider
        .end_session(&request, cookie(&headers, SESSION_COOKIE), false)
        .await
    {
        Ok(Logout::Done(done)) => logged_out(&done, secure),
        Ok(Logout::Confirm) => {
            let csrf = cookie(&headers, CSRF_COOKIE)
                .filter(|value| value.len() == 43)
                .map_or_else(random_token, str::to_owned);
            let mut page = confirm_page(&request, &csrf);
            set_cookie(&mut page, CSRF_COOKIE, &csrf, None, "Strict", secure);
            page
        }
        Err(refusal) => refused(refusal),
    }
}
// ANCHOR_END: log_out

/// The logout confirmation form: the request again, and the CSRF token.
#[derive(Deserialize)]
struct LogoutForm {
    #[serde(flatten)]
    request: LogoutRequest,
    #[serde(default)]
    csrf: String,
}

/// `POST /oidc/logout`: the user confirmed.
#[utoipa::path(
    post,
    path = "/oidc/logout",
    operation_id = "oidc_logout_confirm",
    extensions(("x-refused-beyond-schema" = json!([400]))),
    tag = "openid-connect",
    request_body(content = LogoutFields, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The signed-out page.", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Signed out, back to the client's post-logout redirect URI.", headers(("Location" = String, description = "The registered post-logout redirect URI, with `state`."))),
        (status = 400, description = "An error page: malformed fields, or the logout was not confirmed.", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "The CSRF token does not repeat the cookie.", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, response = inline(UnavailablePage)),
    ),
)]
async fn confirm_log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let Ok(form) = serde_urlencoded::from_bytes::<LogoutForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The form's fields are malformed.");
    };
    if !csrf_matches(&headers, &form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired or did not come from this site.",
        );
    }
    let secure = provider.serves_https();
    match provider
        .end_session(&form.request, cookie(&headers, SESSION_COOKIE), true)
        .await
    {
        Ok(Logout::Done(done)) => logged_out(&done, secure),
        Ok(Logout::Confirm) => error_page(StatusCode::BAD_REQUEST, "The logout was not confirmed."),
        Err(refusal) => refused(refusal),
    }
}

/// Signed out: the provider's cookie is cleared, and the page loads each app's front-channel
/// logout page in a hidden frame (the page's `load` event waits for every frame), then moves
/// on to the app's `post_logout_redirect_uri` — with no script, by a `<meta>` refresh.
fn logged_out(done: &LoggedOut, secure: bool) -> Response {
    let mut response = if done.frontchannel.is_empty()
        && let Some(to) = &done.redirect
    {
        redirect(to)
    } else {
        let frames: String = done
            .frontchannel
            .iter()
            .map(|uri| {
                format!(
                    "<iframe src=\"{}\" title=\"signing out\"></iframe>\n",
                    escape(uri)
                )
            })
            .collect();
        let (refresh, next) = match &done.redirect {
            Some(to) => (
                format!(
                    "<meta http-equiv=\"refresh\" content=\"1; url={}\">",
                    escape(to)
                ),
                format!(
                    "<p><a id=\"continue\" href=\"{}\">Continue</a></p>",
                    escape(to)
                ),
            ),
            None => (String::new(), String::new()),
        };
        let body = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
             <title>Signed out</title><link rel=\"stylesheet\" href=\"{STYLE_PATH}\"></head>\
             <body data-ready=\"true\"><main><h1 id=\"signed-out\">You are signed out</h1>\
             <p>Every application you signed in to through this page is being signed out too.</p>\n\
             {next}{frames}</main></body></html>\n"
        );
        let origins: Vec<&str> = done
            .frontchannel
            .iter()
            .filter_map(|uri| origin_of(uri))
            .collect();
        let frame_src = if origins.is_empty() {
            "'none'".to_owned()
        } else {
            origins.join(" ")
        };
        let policy = format!(
            "default-src 'none'; style-src 'self'; frame-src {frame_src}; form-action 'none'; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        html(StatusCode::OK, policy, body)
    };
    let mut clear =
        format!("{SESSION_COOKIE}=; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=0");
    if secure {
        clear.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// "Sign out?" with the request in hidden fields.
fn confirm_page(request: &LogoutRequest, csrf: &str) -> Response {
    let hidden = [
        ("id_token_hint", &request.id_token_hint),
        (
            "post_logout_redirect_uri",
            &request.post_logout_redirect_uri,
        ),
        ("state", &request.state),
        ("client_id", &request.client_id),
    ];
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign out</title><link rel=\"stylesheet\" href=\"{STYLE_PATH}\"></head>\n\
         <body data-ready=\"true\"><main>\n<h1>Sign out?</h1>\n\
         <p>You will be signed out of every application you signed in to here.</p>\n\
         <form method=\"post\" action=\"{LOGOUT_PATH}\">\n{fields}\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <button type=\"submit\" id=\"sign-out\">Sign out</button>\n</form>\n</main></body></html>\n",
        fields = hidden_fields(&hidden),
        csrf = escape(csrf),
    );
    let origin = request
        .post_logout_redirect_uri
        .as_deref()
        .and_then(origin_of);
    html(StatusCode::OK, page_policy(origin), body)
}

/// `<input type="hidden">` for each field that has a value.
fn hidden_fields(fields: &[(&str, &Option<String>)]) -> String {
    let mut html = String::new();
    for (name, value) in fields {
        if let Some(value) = value {
            html.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(value)
            ));
        }
    }
    html
}

/// The token request's fields (RFC 6749 §4.1.3 and §6).
#[derive(Deserialize, ToSchema)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

// ANCHOR: token
/// `POST /oidc/token`: a code or a refresh token for tokens. The client authenticates with
/// HTTP Basic or with its id and secret in the form (a public client with its id alone).
#[utoipa::path(
    post,
    path = "/oidc/token",
    operation_id = "oidc_token",
    extensions(("x-refused-beyond-schema" = json!([400]))),
    tag = "openid-connect",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens: `access_token`, `refresh_token`, `token_type`, `expires_in`, `scope`, and for a code `id_token`.", body = Object),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request`, `invalid_grant` (a wrong, used or expired code, a wrong verifier, a spent refresh token), `unsupported_grant_type`.", body = OAuthError),
        (status = 401, description = "`invalid_client`: an unknown client or a wrong secret.", body = OAuthError, headers(("WWW-Authenticate" = String, description = "`Basic`, when the client tried HTTP Basic."))),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, description = "The database cannot be reached just now.", body = OAuthError),
    ),
)]
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let form: TokenForm = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(_) => return token_error(&invalid_request("the body must be a form")),
    };
    let credentials = match client_credentials(&headers, &form) {
        Ok(credentials) => credentials,
        Err(error) => return token_error(&error),
    };
    let answer = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            provider
                .exchange_code(
                    &credentials,
                    form.code.as_deref(),
                    form.redirect_uri.as_deref(),
                    form.code_verifier.as_deref(),
                )
                .await
        }
        Some("refresh_token") => {
            provider
                .refresh(&credentials, form.refresh_token.as_deref())
                .await
        }
        None => Err(invalid_request("grant_type is missing")),
        Some(_) => Err(OidcError::Refused(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code or refresh_token",
        )),
    };
    match answer {
        Ok(tokens) => no_store(json_body(&tokens)),
        Err(error) => token_error(&error),
    }
}
// ANCHOR_END: token

/// Who the client says it is: HTTP Basic (RFC 6749 §2.3.1: id and secret form-encoded, then
/// base64), or `client_id` (and `client_secret`) in the form, never both.
fn client_credentials(
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<ClientCredentials, OidcError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "));
    let failed = || OidcError::Refused(ErrorCode::InvalidClient, "client authentication failed");
    match basic {
        Some(encoded) => {
            if form.client_secret.is_some() {
                return Err(invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| failed())?;
            let decoded = String::from_utf8(decoded).map_err(|_| failed())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(failed)?;
            let (id, secret) = (form_decoded(id).ok_or_else(failed)?, form_decoded(secret));
            if form.client_id.as_ref().is_some_and(|given| *given != id) {
                return Err(invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(ClientCredentials {
                client_id: id,
                secret: Some(secret.ok_or_else(failed)?),
            })
        }
        None => match &form.client_id {
            Some(id) => Ok(ClientCredentials {
                client_id: id.clone(),
                secret: form.client_secret.clone(),
            }),
            None => Err(failed()),
        },
    }
}

/// One `application/x-www-form-urlencoded` value, decoded.
fn form_decoded(value: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={value}")).ok()?;
    match pairs.as_slice() {
        [(_, value)] => Some(value.clone()),
        _ => None,
    }
}

// ANCHOR: userinfo
/// `GET` or `POST /oidc/userinfo` with an access token the provider issued: the user's claims,
/// as far as the token's scope allows. Refusals are RFC 6750's.
#[utoipa::path(
    get,
    path = "/oidc/userinfo",
    operation_id = "oidc_userinfo",
    tag = "openid-connect",
    params(("Authorization" = Option<String>, Header, description = "`Bearer` and an access token the provider issued.")),
    responses(
        (status = 200, description = "The user's claims, as far as the token's scope allows (`sub`; `preferred_username` with `profile`; `email`, `email_verified` with `email`).", body = Object),
        (status = 401, description = "RFC 6750: no token, or one the provider did not issue, expired or revoked.", body = OAuthError, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"oidc\"`, with `error` and `error_description` when a token was given."))),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, description = "The database cannot be reached just now.", body = OAuthError),
    ),
)]
async fn userinfo_get(state: State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers).await
}

#[utoipa::path(
    post,
    path = "/oidc/userinfo",
    operation_id = "oidc_userinfo_post",
    tag = "openid-connect",
    params(("Authorization" = Option<String>, Header, description = "`Bearer` and an access token the provider issued.")),
    responses(
        (status = 200, description = "The user's claims, as far as the token's scope allows (`sub`; `preferred_username` with `profile`; `email`, `email_verified` with `email`).", body = Object),
        (status = 401, description = "RFC 6750: no token, or one the provider did not issue, expired or revoked.", body = OAuthError, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"oidc\"`, with `error` and `error_description` when a token was given."))),
        (status = 404, response = inline(ProviderOff)),
        (status = 503, description = "The database cannot be reached just now.", body = OAuthError),
    ),
)]
async fn userinfo_post(state: State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers).await
}

async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return provider_off();
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(bearer) = bearer else {
        return bearer_refusal(None);
    };
    match provider.userinfo(bearer.trim()).await {
        Ok(claims) => no_store(json_body(&claims)),
        Err(OidcError::Refused(code, why)) => bearer_refusal(Some((code, why))),
        Err(error) => server_error(&error),
    }
}
// ANCHOR_END: userinfo

/// 401 with `WWW-Authenticate: Bearer`, naming the error when a token was given.
fn bearer_refusal(error: Option<(ErrorCode, &str)>) -> Response {
    let challenge = match error {
        Some((code, why)) => format!(
            "Bearer realm=\"oidc\", error=\"{}\", error_description=\"{why}\"",
            code.as_str()
        ),
        None => "Bearer realm=\"oidc\"".to_owned(),
    };
    let body = match error {
        Some((code, why)) => json!({"error": code.as_str(), "error_description": why}),
        None => json!({"error": "invalid_request", "error_description": "no access token"}),
    };
    let mut response = (StatusCode::UNAUTHORIZED, json_body(&body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn invalid_request(why: &'static str) -> OidcError {
    OidcError::Refused(ErrorCode::InvalidRequest, why)
}

/// The token endpoint's error answer (RFC 6749 §5.2): 401 for a client that failed to
/// authenticate, 400 for the rest; 503 when the store cannot answer.
fn token_error(error: &OidcError) -> Response {
    let (status, code, description) = match error {
        OidcError::Refused(ErrorCode::InvalidClient, why) => {
            (StatusCode::UNAUTHORIZED, "invalid_client", *why)
        }
        OidcError::Refused(code, why) => (StatusCode::BAD_REQUEST, code.as_str(), *why),
        other => return server_error(other),
    };
    let mut response = (
        status,
        json_body(&json!({"error": code, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oidc\""),
        );
    }
    no_store(response)
}

/// A store that cannot answer now: 503, to retry; anything else: 500, logged, never shown.
fn server_error(error: &OidcError) -> Response {
    match error {
        OidcError::Store(store) if store.is_unavailable() => {
            tracing::warn!(%store, "the database is unavailable");
            let body = json!({"error": "temporarily_unavailable", "error_description": "try again shortly"});
            (StatusCode::SERVICE_UNAVAILABLE, json_body(&body)).into_response()
        }
        other => {
            tracing::error!(error = %other, "the OpenID Connect provider failed");
            let body = json!({"error": "server_error"});
            (StatusCode::INTERNAL_SERVER_ERROR, json_body(&body)).into_response()
        }
    }
}

/// An authorization request refused: our own page, or the client's redirect URI with an error.
fn refused(refusal: AuthorizeRefusal) -> Response {
    match refusal {
        AuthorizeRefusal::Page(why) => error_page(StatusCode::BAD_REQUEST, why),
        AuthorizeRefusal::Redirect(to) => redirect(&to),
        AuthorizeRefusal::Store(error) => store_page(&error),
        AuthorizeRefusal::Internal(cause) => {
            tracing::error!(%cause, "the OpenID Connect provider failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}

fn store_page(error: &StoreError) -> Response {
    if error.is_unavailable() {
        tracing::warn!(%error, "the database is unavailable");
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing in is unavailable for a moment. Try again shortly.",
        )
    } else {
        tracing::error!(%error, "the OpenID Connect provider failed");
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        )
    }
}

/// 303: the browser follows with a GET, whatever the method was.
fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect URI is malformed."),
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn set_cookie(
    response: &mut Response,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: &str,
    secure: bool,
) {
    let mut cookie = format!("{name}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite={same_site}");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

// ANCHOR: csp
/// The pages' policy: no script at all, our stylesheet only, framed by nobody. The form may
/// post to us, and — because a browser applies `form-action` to the redirect that follows the
/// post — send the browser on to the client's own origin, and nowhere else.
fn page_policy(redirect_origin: Option<&str>) -> String {
    let form_action = match redirect_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'none'; style-src 'self'; form-action {form_action}; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}
// ANCHOR_END: csp

/// `scheme://host[:port]` of a URL we have already accepted as a redirect URI.
fn origin_of(uri: &str) -> Option<&str> {
    let after_scheme = uri.find("://")? + 3;
    let end = uri[after_scheme..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| after_scheme + i);
    Some(&uri[..end])
}

fn html(status: StatusCode, policy: String, body: String) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    no_store(response)
}

/// A page of ours saying what went wrong; it links nowhere, least of all to the client.
fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign-in error</title><link rel=\"stylesheet\" href=\"{STYLE_PATH}\"></head>\
         <body data-ready=\"true\"><main><h1>Sign-in error</h1><p class=\"error\" id=\"error\">{}</p></main></body></html>\n",
        escape(message)
    );
    html(status, page_policy(None), body)
}

/// The login page: the request's parameters ride along in hidden fields (checked again on
/// post), with the CSRF token.
fn login_page(
    request: &AuthorizationRequest,
    valid: &ValidAuthorization,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let hidden = [
        ("client_id", &request.client_id),
        ("redirect_uri", &request.redirect_uri),
        ("response_type", &request.response_type),
        ("scope", &request.scope),
        ("state", &request.state),
        ("nonce", &request.nonce),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", &request.code_challenge_method),
    ];
    let fields = hidden_fields(&hidden);
    let error = error.map_or_else(String::new, |message| {
        format!("<p class=\"error\" id=\"error\">{}</p>\n", escape(message))
    });
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in</title><link rel=\"stylesheet\" href=\"{STYLE_PATH}\"></head>\n\
         <body data-ready=\"true\"><main>\n<h1>Sign in</h1>\n\
         <p class=\"client\">to continue to <strong>{client}</strong></p>\n{error}\
         <form method=\"post\" action=\"{AUTHORIZE_PATH}\">\n{fields}\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus>\n\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\" id=\"sign-in\">Sign in</button>\n</form>\n</main></body></html>\n",
        client = escape(&valid.client.name),
        csrf = escape(csrf),
    );
    html(status, page_policy(origin_of(&valid.redirect_uri)), body)
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

/// Text safe inside HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_may_lead_only_to_the_clients_origin() {
        assert_eq!(
            origin_of("http://127.0.0.1:9001/callback?x=1"),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(
            origin_of("https://app.example"),
            Some("https://app.example")
        );
        assert!(
            page_policy(Some("https://app.example"))
                .contains("form-action 'self' https://app.example;")
        );
    }

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("\"><script>alert('x')</script>"),
            "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
        );
    }
}
