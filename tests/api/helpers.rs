//! `TestApp`: the whole application on a fresh SQLite file, a pinned clock and predictable token
//! ids, driven through the router without a socket. One method per endpoint.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_workbook::app::{self, AppState, Settings};
use jwt_workbook::clock::FixedClock;
use jwt_workbook::store::SqliteStore;
use jwt_workbook::tokens::{Key, KeySet, SequentialJti, TokenSettings};
use jwt_workbook::users::{PasswordCost, Passwords, User, create_user};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The instant every test starts at: the `iat` of the contract's captured tokens.
pub const NOW: i64 = 1_795_358_767;
/// The database file inside a test's data directory.
pub const DATABASE: &str = "test.sqlite3";
/// The test signing key (never used outside tests).
pub const KEY: &str = "test-only-signing-key-0123456789abcdefghij";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: FixedClock,
    /// `vitor` / `123`, active: the contract's user.
    pub vitor: User,
    /// `inactive` / `123`, deactivated.
    pub inactive: User,
    /// The store behind the state, for what a test sets up directly (a classroom, say).
    pub store: SqliteStore,
    pub data: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string field of the JSON body (a token, usually).
    pub fn field(&self, name: &str) -> String {
        self.json()[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name:?} in {}", self.text()))
            .to_owned()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(TokenSettings::default()).await
    }

    pub async fn with_settings(settings: TokenSettings) -> Self {
        Self::build(KEY, settings).await
    }

    /// The app signing with `key` (as a Django `SECRET_KEY` would be used).
    pub async fn build(key: &str, settings: TokenSettings) -> Self {
        Self::with_keys(KeySet::single(Key::hs256(key)), settings).await
    }

    /// The app signing with the first of `keys` and verifying with all of them.
    pub async fn with_keys(keys: KeySet, settings: TokenSettings) -> Self {
        Self::configured(|app| {
            app.keys = keys.into();
            app.tokens = settings;
        })
        .await
    }

    /// The app with the test key and defaults, then whatever `configure` changes (cookie mode,
    /// sliding tokens, limits…), built by the production wiring: [`app::build`].
    pub async fn configured(configure: impl FnOnce(&mut Settings)) -> Self {
        Self::configured_in(|settings, _| configure(settings)).await
    }

    /// [`Self::configured`], for settings that name a place in the test's data directory.
    pub async fn configured_in(configure: impl FnOnce(&mut Settings, &std::path::Path)) -> Self {
        let data = tempfile::tempdir().expect("temporary directory");
        let mut settings = Settings::new(KeySet::single(Key::hs256(KEY)));
        settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
        configure(&mut settings, data.path());
        let store =
            SqliteStore::open_with_deadline(&data.path().join(DATABASE), settings.store_deadline)
                .await
                .expect("open the store");
        let passwords = Passwords::new(settings.password_cost).expect("hasher");
        let clock = FixedClock::at(NOW);
        let vitor = create_user(&store, &passwords, "vitor", "123", true, NOW)
            .await
            .unwrap();
        let inactive = create_user(&store, &passwords, "inactive", "123", false, NOW)
            .await
            .unwrap();
        let state = app::build(
            settings,
            Arc::new(store.clone()),
            Arc::new(clock.clone()),
            Arc::new(SequentialJti::default()),
        )
        .expect("the state");
        Self {
            router: app::router(state.clone(), None),
            state,
            clock,
            vitor,
            inactive,
            store,
            data,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn post_json(&self, path: &str, body: Value) -> TestResponse {
        self.post_raw(path, "application/json", body.to_string())
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    pub async fn obtain(&self, username: &str, password: &str) -> TestResponse {
        self.post_json(
            "/api/token/",
            json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self, refresh: &str) -> TestResponse {
        self.post_json("/api/token/refresh/", json!({ "refresh": refresh }))
            .await
    }

    pub async fn verify(&self, token: &str) -> TestResponse {
        self.post_json("/api/token/verify/", json!({ "token": token }))
            .await
    }

    pub async fn blacklist(&self, refresh: &str) -> TestResponse {
        self.post_json("/api/token/blacklist/", json!({ "refresh": refresh }))
            .await
    }

    pub async fn hello(&self, access: &str) -> TestResponse {
        self.get_with_token("/hello/", access).await
    }

    pub async fn me(&self, access: &str) -> TestResponse {
        self.get_with_token("/api/me/", access).await
    }

    async fn get_with_token(&self, path: &str, access: &str) -> TestResponse {
        let request = Request::builder()
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// Logs `vitor` in: `(refresh, access)`.
    pub async fn login(&self) -> (String, String) {
        let response = self.obtain("vitor", "123").await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        (response.field("refresh"), response.field("access"))
    }

    /// Claims like the server's own, for `user_id`, issued now.
    pub fn claims(&self, token_type: &str, user_id: Value) -> Value {
        let lifetime = if token_type == "refresh" { 86_400 } else { 300 };
        json!({
            "token_type": token_type,
            "exp": NOW + lifetime,
            "iat": NOW,
            "jti": format!("{:032x}", rand_jti()),
            "user_id": user_id,
        })
    }

    /// Signs arbitrary claims with the server's key: how an attacker who stole the key, or a
    /// buggy issuer, would make tokens.
    pub fn forge(&self, claims: &Value) -> String {
        forge_with(Algorithm::HS256, KEY.as_bytes(), claims)
    }
}

/// Signs claims with any HMAC algorithm and key.
pub fn forge_with(algorithm: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// A token with any header JSON, signed with the test key over exactly those bytes.
pub fn forge_with_header(header_json: &str, claims: &Value) -> String {
    forge_raw(header_json, claims, KEY.as_bytes())
}

/// A token with any header JSON, HMAC-SHA256-signed with `key` over exactly those bytes.
pub fn forge_raw(header_json: &str, claims: &Value, key: &[u8]) -> String {
    forge_bytes(header_json, claims.to_string().as_bytes(), key)
}

/// A token with any header JSON and any payload bytes (JSON or not), HMAC-SHA256-signed with
/// `key`: a token only a holder of the key could make, with a payload no honest issuer writes.
pub fn forge_bytes(header_json: &str, payload: &[u8], key: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = EncodingKey::from_secret(key);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

/// An unsigned `alg: none` token.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The decoded payload of a token (no checks: for looking at what the server issued).
pub fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).expect("three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
}

fn rand_jti() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0xf000);
    u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
}
