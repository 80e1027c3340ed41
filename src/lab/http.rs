//! The lab's HTTP side: the routes every app shares (its page, login, the admin resource) and
//! the few that tell each app's story (logs, key sets, file sharing, staging). Handlers call
//! the vulnerable verifiers through [`Lab`], and record what got the flag.

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jsonwebtoken::Header;
use serde_json::{Value, json};

use super::{
    ADMIN_ID, DEFAULT_ADDR, Flaw, GUEST, GUEST_ID, GUEST_PASSWORD, Lab, LabKey, MAX_UPLOADS,
    Replay, apps, now, pages, random_hex,
};

fn is_admin(claims: &apps::Claims) -> bool {
    match claims.get("user_id") {
        Some(Value::String(id)) => id == ADMIN_ID,
        Some(Value::Number(id)) => id.to_string() == ADMIN_ID,
        _ => false,
    }
}

/// The lab's routes, with `lab` as their state. Never merged into the server's router.
pub fn router(lab: Lab) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/lab/") }))
        .route("/lab/", get(index))
        .route("/lab/{flaw}/", get(app_page))
        .route("/lab/{flaw}/api/token/", post(login))
        .route("/lab/{flaw}/api/admin/", get(admin))
        .route("/lab/{flaw}/api/token/refresh/", post(refresh))
        .route("/lab/{flaw}/.well-known/jwks.json", get(jwks))
        .route("/lab/{flaw}/logs", get(logs))
        .route("/lab/jku-header/files", post(upload))
        .route("/lab/jku-header/files/{id}", get(download))
        .route("/lab/kid-path/static/lab.css", get(stylesheet))
        .route("/lab/audience/staging/api/token/", post(staging_login))
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(pages::not_found())) })
        .with_state(lab)
}

type Answer = Result<Response, Response>;

fn detail(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "detail": text.into() }))).into_response()
}

fn not_here() -> Response {
    (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response()
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

async fn index() -> Html<String> {
    Html(pages::index())
}

async fn app_page(
    State(lab): State<Lab>,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
) -> Answer {
    let flaw = Flaw::from_slug(&slug).ok_or_else(not_here)?;
    let host = host(&headers).unwrap_or(DEFAULT_ADDR);
    Ok(Html(pages::app(flaw, lab.app(flaw).key.kid(), host)).into_response())
}

/// Username and password from a JSON body.
fn credentials(body: &[u8]) -> Option<(String, String)> {
    let body: Value = serde_json::from_slice(body).ok()?;
    Some((
        body.get("username")?.as_str()?.to_owned(),
        body.get("password")?.as_str()?.to_owned(),
    ))
}

async fn login(
    State(lab): State<Lab>,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Answer {
    let flaw = Flaw::from_slug(&slug).ok_or_else(not_here)?;
    let Some((username, password)) = credentials(&body) else {
        return Err(detail(
            StatusCode::BAD_REQUEST,
            "send JSON: {\"username\": \"guest\", \"password\": \"guest\"}",
        ));
    };
    // The admin's password is random and nobody's business: only the guest logs in.
    if username != GUEST || password != GUEST_PASSWORD {
        return Err(detail(
            StatusCode::UNAUTHORIZED,
            "No active account found with the given credentials",
        ));
    }
    let host = host(&headers);
    Ok(axum::Json(json!({
        "refresh": lab.issue(flaw, GUEST_ID, "refresh", host),
        "access": lab.issue(flaw, GUEST_ID, "access", host),
    }))
    .into_response())
}

async fn admin(
    State(lab): State<Lab>,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
) -> Answer {
    let flaw = Flaw::from_slug(&slug).ok_or_else(not_here)?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            detail(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.",
            )
        })?;
    let claims = lab
        .verify(flaw, token)
        .await
        .map_err(|reason| detail(StatusCode::UNAUTHORIZED, format!("Token refused: {reason}")))?;
    if !is_admin(&claims) {
        return Err(detail(
            StatusCode::FORBIDDEN,
            "This resource is for the admin only (user_id 1).",
        ));
    }
    if flaw != Flaw::RefreshReuse {
        lab.record(flaw, Replay::Bearer(token.to_owned()));
    }
    Ok(axum::Json(json!({ "flag": lab.flag(flaw) })).into_response())
}

async fn refresh(
    State(lab): State<Lab>,
    UrlPath(slug): UrlPath<String>,
    body: axum::body::Bytes,
) -> Answer {
    if Flaw::from_slug(&slug).ok_or_else(not_here)? != Flaw::RefreshReuse {
        return Err(not_here());
    }
    let flaw = Flaw::RefreshReuse;
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("refresh")?.as_str().map(str::to_owned))
        .ok_or_else(|| detail(StatusCode::BAD_REQUEST, "send JSON: {\"refresh\": \"…\"}"))?;
    let claims = apps::refresh_reuse(&token, lab.app(flaw).key.verification_bytes())
        .map_err(|reason| detail(StatusCode::UNAUTHORIZED, format!("Token refused: {reason}")))?;
    let user_id = match claims.get("user_id") {
        Some(Value::String(id)) => id.clone(),
        _ => {
            return Err(detail(
                StatusCode::UNAUTHORIZED,
                "Token refused: no user_id",
            ));
        }
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    {
        let mut used = lab.inner.used_refresh.lock().expect("used");
        if used.iter().any(|u| u == jti) && user_id == ADMIN_ID {
            lab.record(flaw, Replay::Refresh(token.clone()));
        }
        used.push(jti.to_owned());
    }
    Ok(axum::Json(json!({
        "access": lab.issue(flaw, &user_id, "access", None),
        "refresh": lab.issue(flaw, &user_id, "refresh", None),
    }))
    .into_response())
}

async fn jwks(State(lab): State<Lab>, UrlPath(slug): UrlPath<String>) -> Answer {
    let flaw = Flaw::from_slug(&slug).ok_or_else(not_here)?;
    match (flaw, &lab.app(flaw).key) {
        (Flaw::AlgConfusion | Flaw::JkuHeader, LabKey::Pair { public_jwk, .. }) => {
            Ok(axum::Json(json!({ "keys": [public_jwk] })).into_response())
        }
        _ => Err(not_here()),
    }
}

async fn logs(State(lab): State<Lab>, UrlPath(slug): UrlPath<String>) -> Answer {
    let flaw = Flaw::from_slug(&slug).ok_or_else(not_here)?;
    let log = &lab.app(flaw).log;
    if log.is_empty() {
        return Err(not_here());
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("# {} (vulnerable on purpose)\n{log}", flaw.base()),
    )
        .into_response())
}

/// The jku app's file sharing: any text, published at a URL on the app's own host.
async fn upload(State(lab): State<Lab>, headers: HeaderMap, body: String) -> Answer {
    if body.len() > 16 * 1024 {
        return Err(detail(StatusCode::PAYLOAD_TOO_LARGE, "16 KiB at most"));
    }
    let id = random_hex(8);
    let path = format!("/lab/jku-header/files/{id}");
    {
        let mut uploads = lab.inner.uploads.lock().expect("uploads");
        if uploads.len() >= MAX_UPLOADS {
            return Err(detail(
                StatusCode::INSUFFICIENT_STORAGE,
                format!("the lab keeps {MAX_UPLOADS} files at most: restart it to start afresh"),
            ));
        }
        uploads.insert(id, body);
    }
    let url = format!(
        "http://{}{path}",
        host(&headers).unwrap_or("127.0.0.1:8001")
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "url": url, "path": path })),
    )
        .into_response())
}

async fn download(State(lab): State<Lab>, UrlPath(id): UrlPath<String>) -> Answer {
    let uploads = lab.inner.uploads.lock().expect("uploads");
    let body = uploads
        .get(&id)
        .cloned()
        .ok_or_else(|| detail(StatusCode::NOT_FOUND, "no such file"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn stylesheet(State(lab): State<Lab>) -> Answer {
    let css = std::fs::read(lab.inner.dir.join("static/lab.css")).map_err(|_| not_here())?;
    Ok(([(header::CONTENT_TYPE, "text/css")], css).into_response())
}

/// Staging trusts its developers: any username, no password. It signs with production's key and
/// says so in `aud`.
async fn staging_login(State(lab): State<Lab>, body: axum::body::Bytes) -> Answer {
    let username = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("username")?.as_str().map(str::to_owned))
        .ok_or_else(|| detail(StatusCode::BAD_REQUEST, "send JSON: {\"username\": \"…\"}"))?;
    let user_id = match username.as_str() {
        "admin" => ADMIN_ID,
        GUEST => GUEST_ID,
        _ => return Err(detail(StatusCode::UNAUTHORIZED, "no such user on staging")),
    };
    let key = &lab.app(Flaw::Audience).key;
    let t = now();
    let claims = json!({
        "token_type": "access",
        "exp": t + 300,
        "iat": t,
        "jti": random_hex(16),
        "user_id": user_id,
        "aud": "staging",
    });
    let access = jsonwebtoken::encode(&Header::default(), &claims, &key.encoding_key())
        .expect("the lab signs");
    Ok(axum::Json(json!({ "access": access })).into_response())
}
