//! The chapter 4 checks, written once. `tests/endpoints.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 4`
//! reports the first step that fails and `cargo run -- hint 4` gives hints for it.
//!
//! Every test builds the shared server's state on a fresh SQLite file, with a clock pinned to
//! one instant and token ids counted from 1, so every token is the same on every run and the
//! snapshots can show them as they are. Ground truth: the statuses, `WWW-Authenticate` headers
//! and bodies the real djangorestframework-simplejwt 5.5.1 gave for the same requests (the
//! project's contract). Where the exercise answers otherwise (a 401 rather than simplejwt's 500
//! for a `user_id` that is not a number, a JSON 404 rather than Django's HTML page, `Allow`
//! without the `OPTIONS` the exercise does not serve), the chapter says why.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use jwt_workbook::app::{self, AppState, Settings};
use jwt_workbook::clock::FixedClock;
use jwt_workbook::store::SqliteStore;
use jwt_workbook::tokens::{Key, KeySet, SequentialJti, TokenType};
use jwt_workbook::users::{PasswordCost, Passwords, User, create_user};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::sut::{
    Credentials, CurrentUser, bearer_token, hello, hello_sync, me, obtain, parse_authorization,
    router, routes, user_for_access_token, verify,
};

/// The instant every test starts at (2026-11-22 14:46:07 UTC): the `iat` of the tokens the
/// real simplejwt issued when the contract was captured.
const NOW: i64 = 1_795_358_767;

/// The test signing key. Never use a key from a test suite anywhere else.
const KEY: &str = "chapter-4-test-key-known-to-everyone-who-reads-this";

/// The shared server's state for one test: users `demo` (active, id 1, password
/// `demo-password`) and `retired` (inactive, id 2, password `retired-password`).
struct World {
    state: AppState,
    clock: FixedClock,
    demo: User,
    retired: User,
    _data: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(&data.path().join("chapter4.sqlite3"))
            .await
            .expect("open the store");
        // The cheapest hash argon2 allows: the tests check the flow, not the hashing.
        let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).expect("the hasher");
        let demo = create_user(&store, &passwords, "demo", "demo-password", true, NOW)
            .await
            .expect("create demo");
        let retired = create_user(
            &store,
            &passwords,
            "retired",
            "retired-password",
            false,
            NOW,
        )
        .await
        .expect("create retired");
        let clock = FixedClock::at(NOW);
        // The server's own wiring, the one `cargo run` uses, with a cheap hash and a test key.
        let mut settings = Settings::new(KeySet::single(Key::hs256(KEY)));
        settings.password_cost = PasswordCost::INSECURE_FOR_TESTS;
        let state = app::build(
            settings,
            Arc::new(store),
            Arc::new(clock.clone()),
            Arc::new(SequentialJti::default()),
        )
        .expect("the server's state");
        Self {
            state,
            clock,
            demo,
            retired,
            _data: data,
        }
    }

    /// A fresh refresh + access pair for `user`, straight from the token service.
    fn pair_for(&self, user: &User) -> (String, String) {
        let pair = self.state.tokens.issue_pair(&user.id.to_string());
        (pair.refresh, pair.access)
    }

    /// An HS256 token with any claims, signed with the test key: what a buggy issuer, or an
    /// attacker holding the key, could make.
    fn sign(&self, claims: Value) -> String {
        sign_with(KEY, claims)
    }

    /// Claims like those of an access token issued now, for `user_id`.
    fn access_claims(&self, user_id: Value) -> Value {
        json!({
            "token_type": "access",
            "exp": NOW + 300,
            "iat": NOW,
            "jti": "f0000000000000000000000000000001",
            "user_id": user_id,
        })
    }
}

fn sign_with(key: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

/// Removes one key from a JSON object.
fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("an object").remove(name);
    claims
}

// --- Requests and answers ------------------------------------------------------------------

/// A request, kept in a form that can be both sent and shown.
struct Call {
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Call {
    fn new(method: Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    fn json(mut self, body: Value) -> Self {
        self.body = body.to_string();
        self.header("content-type", "application/json")
    }

    fn form(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    fn request(&self) -> Request<Body> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str());
        for (name, value) in &self.headers {
            request = request.header(*name, value.as_bytes());
        }
        request
            .body(Body::from(self.body.clone()))
            .expect("a request")
    }

    /// The request as it would appear on the wire (without the headers every client adds).
    fn shown(&self) -> String {
        let mut text = format!("{} {}\n", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        if !self.body.is_empty() {
            text.push_str(&format!("\n{}\n", self.body));
        }
        text
    }
}

/// What came back.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// The headers a client of these endpoints acts on, in the order they are shown.
const HEADERS_SHOWN: [&str; 4] = ["content-type", "www-authenticate", "allow", "location"];

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string field of the JSON body.
    fn field(&self, name: &str) -> String {
        self.json()[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name:?} in {}", self.json()))
            .to_owned()
    }

    /// The answer as `curl -i` shows it, less the headers no client here looks at. JSON
    /// bodies are pretty-printed, keeping their member order.
    fn shown(&self) -> String {
        let mut text = format!("HTTP/1.1 {}\n", self.status);
        for name in HEADERS_SHOWN {
            if let Some(value) = self.header(name) {
                text.push_str(&format!("{name}: {value}\n"));
            }
        }
        text.push('\n');
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(json) => {
                text.push_str(&serde_json::to_string_pretty(&json).expect("JSON"));
                text.push('\n');
            }
            Err(_) if self.body.is_empty() => text.push_str("(no body)\n"),
            Err(_) => text.push_str(&format!("{}\n", String::from_utf8_lossy(&self.body))),
        }
        text
    }

    /// Two lines for a table of cases: the status with the headers that matter, then the
    /// body, compact, with each token replaced by what it is.
    fn summary(&self) -> String {
        let mut first = format!("{}", self.status);
        for name in ["www-authenticate", "allow", "location"] {
            if let Some(value) = self.header(name) {
                first.push_str(&format!(" | {name}: {value}"));
            }
        }
        let body = match serde_json::from_slice::<Value>(&self.body) {
            Ok(json) => describe_tokens(json).to_string(),
            Err(_) if self.body.is_empty() => "(no body)".to_owned(),
            Err(_) => String::from_utf8_lossy(&self.body).into_owned(),
        };
        format!("  {first}\n  {body}\n")
    }
}

async fn send(router: &Router, call: &Call) -> Answer {
    let response = router
        .clone()
        .oneshot(call.request())
        .await
        .expect("axum's router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// A request and its answer, for a transcript.
async fn exchange(router: &Router, call: &Call) -> (Answer, String) {
    let answer = send(router, call).await;
    let text = format!("{}\n{}", call.shown(), answer.shown());
    (answer, text)
}

/// The payload of a token, compact, without checking anything.
fn claims(token: &str) -> String {
    let segment = token.split('.').nth(1).expect("three segments");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    String::from_utf8(bytes).expect("UTF-8")
}

/// Replaces each JWT in a JSON object's string values with `<access token for user 1>`.
fn describe_tokens(json: Value) -> Value {
    let Value::Object(fields) = json else {
        return json;
    };
    fields
        .into_iter()
        .map(|(name, value)| {
            let value = match value.as_str() {
                Some(text) if text.starts_with("eyJ") && text.matches('.').count() == 2 => {
                    let payload: Value = serde_json::from_str(&claims(text)).expect("JSON claims");
                    let user_id = match &payload["user_id"] {
                        Value::String(id) => id.clone(),
                        other => other.to_string(),
                    };
                    Value::String(format!(
                        "<{} token for user {user_id}>",
                        payload["token_type"].as_str().unwrap_or("untyped"),
                    ))
                }
                _ => value,
            };
            (name, value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// How a test shows a header value: quoted, with bytes that are not text escaped.
fn quoted(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

fn show(credentials: Credentials<'_>) -> String {
    match credentials {
        Credentials::Anonymous => "Anonymous".to_owned(),
        Credentials::Malformed => "Malformed".to_owned(),
        Credentials::Bearer(token) => format!("Bearer({})", quoted(token)),
    }
}

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_path_gets_a_trailing_slash_only_when_it_lacks_one() {
    use crate::sut::with_trailing_slash;
    assert_eq!(with_trailing_slash("/api/token"), "/api/token/");
    assert_eq!(
        with_trailing_slash("/api/token/"),
        "/api/token/",
        "the slash is already there: a second one would be another path"
    );
    assert_eq!(
        with_trailing_slash("/"),
        "/",
        "the root already ends with its slash"
    );
    assert_eq!(
        with_trailing_slash(""),
        "/",
        "an empty path lacks its slash too"
    );
    for depth in 1..8 {
        let path: String = (0..depth).map(|i| format!("/p{i}")).collect();
        assert_eq!(with_trailing_slash(&path), format!("{path}/"));
        assert_eq!(with_trailing_slash(&format!("{path}/")), format!("{path}/"));
    }
}

// --- Step 1: read the Authorization header --------------------------------------------------

#[test]
fn step1_reads_authorization_headers_as_drf_does() {
    let cases: [Option<&[u8]>; 18] = [
        None,
        Some(b""),
        Some(b"   "),
        Some(b"Bearer eyJ.e30.sig"),
        Some(b"Bearer  eyJ.e30.sig"),
        Some(b"Bearer\teyJ.e30.sig"),
        Some(b"  Bearer eyJ.e30.sig  "),
        Some(b"Bearer abc"),
        Some(b"Bearer"),
        Some(b"Bearer "),
        Some(b"Bearer eyJ.e30.sig extra"),
        Some(b"bearer eyJ.e30.sig"),
        Some(b"BEARER eyJ.e30.sig"),
        Some(b"Bearer: eyJ.e30.sig"),
        Some(b"Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        Some(b"JWT eyJ.e30.sig"),
        Some(b"Basic ZGVtbzpkZW1vLXBhc3N3b3Jk"),
        Some(b"Token"),
    ];
    let mut report = String::new();
    for header in cases {
        let shown = header.map_or_else(|| "(no header)".to_owned(), quoted);
        let verdict = show(parse_authorization(header));
        report.push_str(&format!("{shown:<52} {verdict}\n"));
    }
    insta::assert_snapshot!("step1_authorization_headers", report);
}

#[test]
fn step1_hands_over_the_token_exactly_as_it_came() {
    let header: &[u8] = b"Bearer  eyJhbGciOiJIUzI1NiJ9.e30.c2ln ";
    assert_eq!(
        parse_authorization(Some(header)),
        Credentials::Bearer(b"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
        "the token is the one word after Bearer, without the whitespace around it"
    );
    // Bytes that are not text are not ours to judge here: the token service refuses them later.
    assert_eq!(
        parse_authorization(Some(b"Bearer \xff\xfe")),
        Credentials::Bearer(b"\xff\xfe")
    );
    // Only ASCII whitespace separates words: a Latin-1 non-breaking space (0xA0) does not, so
    // this is one word, which is not `Bearer`.
    assert_eq!(
        parse_authorization(Some(b"Bearer\xa0eyJ.e30.sig")),
        Credentials::Anonymous
    );
}

// --- Step 2: the same endpoint, synchronously ---------------------------------------------

/// An answer as a client sees it: the status and the body.
fn seen(answer: Result<Value, jwt_workbook::error::ApiError>) -> String {
    match answer {
        Ok(body) => format!("200 {body}"),
        Err(error) => format!("{} {}", error.status(), error.body()),
    }
}

#[tokio::test]
async fn step2_hello_answers_a_valid_access_token_with_the_greeting() {
    let world = World::new().await;
    let users = [world.demo.clone(), world.retired.clone()];
    let (_, access) = world.pair_for(&world.demo);
    let header = format!("Bearer {access}");
    assert_eq!(
        hello_sync(Some(header.as_bytes()), &world.state.tokens, &users)
            .map_err(|error| error.body()),
        Ok(json!({"message": "Hello, World!"}))
    );
}

#[tokio::test]
async fn step2_hello_refuses_every_other_request_as_a_protected_route_does() {
    use jwt_workbook::error::ApiError;
    let world = World::new().await;
    let users = [world.demo.clone(), world.retired.clone()];
    let tokens = &world.state.tokens;
    let (refresh, access) = world.pair_for(&world.demo);
    let (_, retired_access) = world.pair_for(&world.retired);
    let no_user_id = world.sign(without(world.access_claims(json!("1")), "user_id"));
    let unknown = tokens.issue_pair("99").access;
    let not_a_number = tokens.issue_pair("abc").access;
    // What the token service itself says about a token that is not a valid access token.
    let refused = |token: &str| {
        ApiError::AccessToken(
            tokens
                .verify(token, Some(TokenType::Access))
                .expect_err("the test expects this token to be refused"),
        )
    };
    let cases: Vec<(&str, Option<Vec<u8>>, ApiError)> = vec![
        ("no header", None, ApiError::NotAuthenticated),
        ("an empty header", Some(vec![]), ApiError::NotAuthenticated),
        (
            "another scheme: Token <access>",
            Some(format!("Token {access}").into_bytes()),
            ApiError::NotAuthenticated,
        ),
        (
            "Bearer alone",
            Some(b"Bearer".to_vec()),
            ApiError::BadAuthorizationHeader,
        ),
        (
            "Bearer <access> extra",
            Some(format!("Bearer {access} extra").into_bytes()),
            ApiError::BadAuthorizationHeader,
        ),
        (
            "the refresh token",
            Some(format!("Bearer {refresh}").into_bytes()),
            refused(&refresh),
        ),
        (
            "not a JWT",
            Some(b"Bearer not.a.jwt".to_vec()),
            refused("not.a.jwt"),
        ),
        (
            "a token that is not UTF-8",
            Some(b"Bearer \xff\xfe".to_vec()),
            refused(""),
        ),
        (
            "no user_id claim",
            Some(format!("Bearer {no_user_id}").into_bytes()),
            ApiError::NoUserIdentification,
        ),
        (
            "user 99, who does not exist",
            Some(format!("Bearer {unknown}").into_bytes()),
            ApiError::UserNotFound,
        ),
        (
            "user \"abc\", which is not an id",
            Some(format!("Bearer {not_a_number}").into_bytes()),
            ApiError::UserNotFound,
        ),
        (
            "the inactive user's access token",
            Some(format!("Bearer {retired_access}").into_bytes()),
            ApiError::UserInactive,
        ),
    ];
    for (what, header, expected) in cases {
        assert_eq!(
            seen(hello_sync(header.as_deref(), tokens, &users)),
            seen(Err(expected)),
            "{what}"
        );
    }
}

#[tokio::test]
async fn step2_hello_looks_users_up_only_among_those_it_is_given() {
    let world = World::new().await;
    let (_, access) = world.pair_for(&world.demo);
    let header = format!("Bearer {access}");
    assert_eq!(
        seen(hello_sync(
            Some(header.as_bytes()),
            &world.state.tokens,
            &[]
        )),
        seen(Err(jwt_workbook::error::ApiError::UserNotFound)),
        "no users at all: demo's token names nobody here"
    );
}

// --- Step 3: from an access token to a user -------------------------------------------------

#[tokio::test]
async fn step3_a_valid_access_token_proves_its_user() {
    let world = World::new().await;
    let (_, access) = world.pair_for(&world.demo);
    let user = user_for_access_token(&world.state, &access)
        .await
        .expect("demo's own access token");
    assert_eq!(user, world.demo);

    // simplejwt writes user_id as a string ("1"); a number (1) names the same user.
    let numeric = world.sign(world.access_claims(json!(1)));
    let user = user_for_access_token(&world.state, &numeric)
        .await
        .expect("user_id as a JSON number");
    assert_eq!(user, world.demo);
}

#[tokio::test]
async fn step3_refuses_every_other_token_with_its_own_answer() {
    let world = World::new().await;
    let (refresh, access) = world.pair_for(&world.demo);
    let (_, retired_access) = world.pair_for(&world.retired);
    let unknown_access = world.state.tokens.issue_pair("99").access;
    let not_a_number = world.state.tokens.issue_pair("abc").access;
    let cases = [
        ("the refresh token of the pair", refresh),
        ("an empty string", String::new()),
        ("not a JWT at all", "not.a.jwt".to_owned()),
        (
            "signed with another key",
            sign_with("some-other-key", world.access_claims(json!("1"))),
        ),
        (
            "no token_type claim",
            world.sign(without(world.access_claims(json!("1")), "token_type")),
        ),
        (
            "no user_id claim",
            world.sign(without(world.access_claims(json!("1")), "user_id")),
        ),
        ("user 99, who does not exist", unknown_access),
        ("user \"abc\", which is not an id", not_a_number),
        ("the inactive user's", retired_access),
    ];
    let mut report = String::new();
    for (what, token) in &cases {
        report.push_str(&verdict(&world, what, token).await);
    }

    world.clock.advance(300);
    report.push_str(&verdict(&world, "demo's access token, 300 s later", &access).await);
    world.clock.set(NOW);

    world
        .state
        .users
        .set_active("demo", false)
        .await
        .expect("deactivate demo");
    report.push_str(&verdict(&world, "demo's access token, demo deactivated", &access).await);

    insta::assert_snapshot!("step3_token_refusals", report);
}

async fn verdict(world: &World, what: &str, token: &str) -> String {
    match user_for_access_token(&world.state, token).await {
        Ok(user) => format!("{what}:\n  the user {:?} (id {})\n", user.username, user.id),
        Err(error) => format!("{what}:\n  {}\n  {}\n", error.status(), error.body()),
    }
}

// --- Step 4: the token from the request's headers ------------------------------------------

/// The headers of a request that carries `authorization` (and a header of another name, which
/// must not count).
fn headers_with(authorization: Option<&[u8]>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-authorization", "Bearer decoy".parse().expect("a header"));
    if let Some(value) = authorization {
        headers.insert(
            "authorization",
            axum::http::HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    headers
}

fn token_or_refusal(headers: &HeaderMap) -> String {
    match bearer_token(headers) {
        Ok(token) => format!("the token {token:?}"),
        Err(error) => format!("{} {}", error.status(), error.body()),
    }
}

#[test]
fn step4_reads_the_token_or_the_refusal_from_the_headers() {
    let cases: [(&str, Option<&[u8]>); 9] = [
        ("no Authorization header", None),
        ("an empty header", Some(b"")),
        ("DRF's own scheme", Some(b"Token abc.def.ghi")),
        ("lower case bearer", Some(b"bearer abc.def.ghi")),
        ("Bearer alone", Some(b"Bearer")),
        ("Bearer and two words", Some(b"Bearer abc.def.ghi extra")),
        ("Bearer and a token", Some(b"Bearer abc.def.ghi")),
        ("a tab and trailing spaces", Some(b"Bearer\tabc.def.ghi  ")),
        ("a token that is not text", Some(b"Bearer abc\xe9def")),
    ];
    let mut report = String::new();
    for (what, header) in cases {
        report.push_str(&format!(
            "{what}\n  {}\n",
            token_or_refusal(&headers_with(header))
        ));
    }
    insta::assert_snapshot!("step4_bearer_token", report);
}

#[test]
fn step4_a_header_that_is_not_text_is_still_read() {
    let headers = headers_with(Some(b"Bearer abc\xe9def"));
    match bearer_token(&headers) {
        Ok(token) => assert_eq!(
            token, "",
            "a token that is not text (byte 0xE9) cannot be one of ours: it is the empty token, \
             which the token service refuses"
        ),
        Err(error)
            if error.status() == StatusCode::UNAUTHORIZED && error.body()["code"].is_null() =>
        {
            panic!(
                "\"Bearer abc\\xe9def\" was taken for no credentials at all: the header was read \
                 as text (`HeaderValue::to_str` gives up on any byte outside visible ASCII); read \
                 its bytes, as step 1 takes them"
            )
        }
        Err(error) => panic!(
            "\"Bearer abc\\xe9def\" is a well-formed Bearer header (two words): its token is not \
             text, so it is the empty token, which the token service refuses later, not {}",
            error.body()
        ),
    }
}

#[test]
fn step4_hands_over_tokens_drawn_at_random() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..8 {
        let token: String = (0..rng.gen_range(1..40))
            .map(|_| {
                let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
                alphabet[rng.gen_range(0..alphabet.len())] as char
            })
            .collect();
        let spaces = " ".repeat(rng.gen_range(1..4));
        let header = format!("Bearer{spaces}{token}");
        assert_eq!(
            bearer_token(&headers_with(Some(header.as_bytes()))).map_err(|error| error.body()),
            Ok(token.as_str()),
            "the header {header:?}"
        );
    }
}

// --- Step 5: the extractor ------------------------------------------------------------------

/// A handler that only needs to know who is calling.
async fn whoami(CurrentUser(user): CurrentUser) -> String {
    format!("you are {} (user {})", user.username, user.id)
}

fn whoami_router(world: &World) -> Router {
    Router::new()
        .route("/whoami/", get(whoami))
        .with_state(world.state.clone())
}

#[tokio::test]
async fn step5_a_bearer_token_lets_the_request_in() {
    let world = World::new().await;
    let router = whoami_router(&world);
    let (_, access) = world.pair_for(&world.demo);
    let (answer, transcript) = exchange(&router, &Call::get("/whoami/").bearer(&access)).await;
    assert_eq!(answer.status, StatusCode::OK);
    insta::assert_snapshot!("step5_bearer_lets_in", transcript);
}

#[tokio::test]
async fn step5_every_other_header_is_a_401_with_www_authenticate() {
    let world = World::new().await;
    let router = whoami_router(&world);
    let (refresh, access) = world.pair_for(&world.demo);
    let cases = [
        ("no Authorization header", None),
        ("an empty header", Some(String::new())),
        (
            "DRF's own scheme: Token <access>",
            Some(format!("Token {access}")),
        ),
        (
            "lower case: bearer <access>",
            Some(format!("bearer {access}")),
        ),
        ("Bearer alone", Some("Bearer".to_owned())),
        (
            "Bearer <access> extra",
            Some(format!("Bearer {access} extra")),
        ),
        ("Bearer <refresh>", Some(format!("Bearer {refresh}"))),
        ("Bearer not.a.jwt", Some("Bearer not.a.jwt".to_owned())),
        (
            "two spaces: Bearer  <access>",
            Some(format!("Bearer  {access}")),
        ),
    ];
    let mut report = String::new();
    for (what, header) in cases {
        let mut call = Call::get("/whoami/");
        if let Some(header) = header {
            call = call.header("authorization", header);
        }
        let answer = send(&router, &call).await;
        if answer.status == StatusCode::UNAUTHORIZED {
            assert_eq!(
                answer.header("www-authenticate"),
                Some("Bearer realm=\"api\""),
                "every 401 says how to authenticate: {what}"
            );
        }
        report.push_str(&format!("{what}\n{}", answer.summary()));
    }
    insta::assert_snapshot!("step5_header_refusals", report);
}

// --- Step 6: log in -------------------------------------------------------------------------

fn obtain_router(world: &World) -> Router {
    Router::new()
        .route("/api/token/", post(obtain))
        .with_state(world.state.clone())
}

#[tokio::test]
async fn step6_logs_in_with_a_json_body() {
    let world = World::new().await;
    let router = obtain_router(&world);
    let call =
        Call::post("/api/token/").json(json!({"username": "demo", "password": "demo-password"}));
    let (answer, mut transcript) = exchange(&router, &call).await;
    assert_eq!(answer.status, StatusCode::OK);
    let order: Vec<String> = answer.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(order, ["refresh", "access"], "simplejwt's order");
    transcript.push_str(&format!(
        "\nrefresh payload: {}\naccess payload:  {}\n",
        claims(&answer.field("refresh")),
        claims(&answer.field("access"))
    ));
    insta::assert_snapshot!("step6_login", transcript);
}

#[tokio::test]
async fn step6_takes_the_bodies_drf_takes() {
    let world = World::new().await;
    let router = obtain_router(&world);
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ndemo\r\n\
                     --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ndemo-password\r\n\
                     --XyZ--\r\n";
    let cases = [
        (
            "JSON",
            Call::post("/api/token/")
                .json(json!({"username": "demo", "password": "demo-password"})),
        ),
        (
            "form-encoded (what curl -d and an HTML form send)",
            Call::post("/api/token/").form("username=demo&password=demo-password"),
        ),
        ("multipart (what curl -F sends)", {
            let mut call = Call::post("/api/token/")
                .header("content-type", "multipart/form-data; boundary=XyZ");
            call.body = multipart.to_owned();
            call
        }),
        (
            "JSON with an extra field, which is ignored",
            Call::post("/api/token/")
                .json(json!({"username": "demo", "password": "demo-password", "remember": true})),
        ),
        (
            "spaces around the username, which are trimmed",
            Call::post("/api/token/")
                .json(json!({"username": " demo ", "password": "demo-password"})),
        ),
        (
            "a garbage Authorization header, which login never reads",
            Call::post("/api/token/")
                .json(json!({"username": "demo", "password": "demo-password"}))
                .header("authorization", "Bearer garbage"),
        ),
    ];
    let mut report = String::new();
    for (what, call) in cases {
        let answer = send(&router, &call).await;
        assert_eq!(answer.status, StatusCode::OK, "{what}");
        report.push_str(&format!("{what}\n{}", answer.summary()));
    }
    insta::assert_snapshot!("step6_login_bodies", report);
}

#[tokio::test]
async fn step6_refuses_bad_fields_and_bad_credentials() {
    let world = World::new().await;
    let router = obtain_router(&world);
    let cases = [
        ("no fields at all", json!({})),
        ("no password", json!({"username": "demo"})),
        ("no username", json!({"password": "demo-password"})),
        ("blank fields", json!({"username": "", "password": "  "})),
        ("null fields", json!({"username": null, "password": null})),
        (
            "a username that is an object",
            json!({"username": {"name": "demo"}, "password": "demo-password"}),
        ),
        (
            "the wrong password",
            json!({"username": "demo", "password": "demo-passw0rd"}),
        ),
        (
            "a user who does not exist",
            json!({"username": "nobody", "password": "demo-password"}),
        ),
        (
            "the username in capitals",
            json!({"username": "DEMO", "password": "demo-password"}),
        ),
        (
            "an inactive user, right password",
            json!({"username": "retired", "password": "retired-password"}),
        ),
        (
            "a JSON array instead of an object",
            json!(["demo", "demo-password"]),
        ),
    ];
    let mut report = String::new();
    for (what, body) in cases {
        let answer = send(&router, &Call::post("/api/token/").json(body.clone())).await;
        report.push_str(&format!("{what}: {body}\n{}", answer.summary()));
    }
    insta::assert_snapshot!("step6_login_refusals", report);
}

// --- Step 7: verify -------------------------------------------------------------------------

fn verify_router(world: &World) -> Router {
    Router::new()
        .route("/api/token/verify/", post(verify))
        .with_state(world.state.clone())
}

#[tokio::test]
async fn step7_verify_answers_an_empty_object_for_a_good_token() {
    let world = World::new().await;
    let router = verify_router(&world);
    let (_, access) = world.pair_for(&world.demo);
    let call = Call::post("/api/token/verify/").json(json!({ "token": access }));
    let (answer, transcript) = exchange(&router, &call).await;
    assert_eq!(answer.status, StatusCode::OK);
    insta::assert_snapshot!("step7_verify", transcript);
}

#[tokio::test]
async fn step7_verify_judges_the_token_alone() {
    let world = World::new().await;
    let router = verify_router(&world);
    let (refresh, access) = world.pair_for(&world.demo);
    let (_, retired_access) = world.pair_for(&world.retired);
    let unknown_access = world.state.tokens.issue_pair("99").access;
    let untyped = world.sign(without(world.access_claims(json!("1")), "token_type"));
    let userless = world.sign(without(world.access_claims(json!("1")), "user_id"));
    let no_jti = world.sign(without(world.access_claims(json!("1")), "jti"));
    let other_key = sign_with("some-other-key", world.access_claims(json!("1")));
    let cases = [
        ("a refresh token", json!({ "token": refresh })),
        (
            "the inactive user's access token",
            json!({ "token": retired_access }),
        ),
        (
            "an access token for user 99, who does not exist",
            json!({ "token": unknown_access }),
        ),
        ("a token without token_type", json!({ "token": untyped })),
        ("a token without user_id", json!({ "token": userless })),
        ("a token without jti", json!({ "token": no_jti })),
        (
            "a token signed with another key",
            json!({ "token": other_key }),
        ),
        ("not a JWT", json!({ "token": "not.a.jwt" })),
        ("no token field", json!({ "access": access })),
        ("a blank token", json!({ "token": "" })),
    ];
    let mut report = String::new();
    for (what, body) in cases {
        let answer = send(&router, &Call::post("/api/token/verify/").json(body)).await;
        report.push_str(&format!("{what}\n{}", answer.summary()));
    }
    let form = Call::post("/api/token/verify/").form(&format!("token={access}"));
    let answer = send(&router, &form).await;
    report.push_str(&format!(
        "the access token, form-encoded\n{}",
        answer.summary()
    ));

    world.clock.advance(300);
    let answer = send(
        &router,
        &Call::post("/api/token/verify/").json(json!({ "token": access })),
    )
    .await;
    report.push_str(&format!(
        "the access token, 300 s later\n{}",
        answer.summary()
    ));
    insta::assert_snapshot!("step7_verify_cases", report);
}

// --- Step 8: protected routes ---------------------------------------------------------------

fn protected_router(world: &World) -> Router {
    Router::new()
        .route("/hello/", get(hello))
        .route("/api/me/", get(me))
        .with_state(world.state.clone())
}

#[tokio::test]
async fn step8_hello_and_me_answer_an_authenticated_caller() {
    let world = World::new().await;
    let router = protected_router(&world);
    let (_, access) = world.pair_for(&world.demo);
    let (hello_answer, hello_transcript) =
        exchange(&router, &Call::get("/hello/").bearer(&access)).await;
    let (me_answer, me_transcript) =
        exchange(&router, &Call::get("/api/me/").bearer(&access)).await;
    assert_eq!(hello_answer.status, StatusCode::OK);
    assert_eq!(me_answer.status, StatusCode::OK);
    insta::assert_snapshot!(
        "step8_hello_and_me",
        format!("{hello_transcript}\n---\n\n{me_transcript}")
    );
}

#[tokio::test]
async fn step8_hello_and_me_refuse_everyone_else() {
    let world = World::new().await;
    let router = protected_router(&world);
    let (refresh, _) = world.pair_for(&world.demo);
    for path in ["/hello/", "/api/me/"] {
        let anonymous = send(&router, &Call::get(path)).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            anonymous.json(),
            json!({"detail": "Authentication credentials were not provided."}),
            "{path}"
        );
        let with_refresh = send(&router, &Call::get(path).bearer(&refresh)).await;
        assert_eq!(with_refresh.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            with_refresh.json()["messages"][0]["message"],
            json!("Token has wrong type"),
            "{path}"
        );
    }
}

// --- Steps 9 and 10: the routes, then the router -----------------------------------------------

#[tokio::test]
async fn step9_a_whole_session() {
    let world = World::new().await;
    let router = routes().with_state(world.state.clone());
    let mut transcript = String::new();
    let mut step = |text: &str, exchange: String| {
        transcript.push_str(&format!("### {text}\n\n{exchange}\n"));
    };

    let login =
        Call::post("/api/token/").json(json!({"username": "demo", "password": "demo-password"}));
    let (answer, text) = exchange(&router, &login).await;
    step("Log in (at 14:46:07)", text);
    let access = answer.field("access");

    let (_, text) = exchange(&router, &Call::get("/hello/").bearer(&access)).await;
    step("Call a protected route with the access token", text);
    let (_, text) = exchange(&router, &Call::get("/api/me/").bearer(&access)).await;
    step("Ask who the token belongs to", text);
    let verify = Call::post("/api/token/verify/").json(json!({ "token": access }));
    let (_, text) = exchange(&router, &verify).await;
    step("Verify the token", text);

    world.clock.advance(300);
    let (answer, text) = exchange(&router, &Call::get("/hello/").bearer(&access)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    step(
        "Five minutes later (14:51:07): the access token has expired",
        text,
    );

    let login_again = Call::post("/api/token/").form("username=demo&password=demo-password");
    let (answer, text) = exchange(&router, &login_again).await;
    step("Log in again, with a form-encoded body this time", text);
    let (answer, text) = exchange(
        &router,
        &Call::get("/hello/").bearer(&answer.field("access")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    step("The new access token works", text);

    insta::assert_snapshot!("step9_session", transcript);
}

#[tokio::test]
async fn step9_each_route_answers_its_methods_and_refuses_the_others() {
    let world = World::new().await;
    let app = routes().with_state(world.state.clone());
    let (_, access) = world.pair_for(&world.demo);
    for (path, wrong, allow) in [
        ("/api/token/", Method::GET, "POST"),
        ("/api/token/verify/", Method::PUT, "POST"),
        ("/hello/", Method::POST, "GET, HEAD"),
        ("/api/me/", Method::DELETE, "GET, HEAD"),
    ] {
        let answer = send(&app, &Call::new(wrong.clone(), path).bearer(&access)).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{wrong} {path}"
        );
        assert_eq!(
            answer.header("allow"),
            Some(allow),
            "{wrong} {path}: the Allow header"
        );
        assert!(
            !answer.body.is_empty(),
            "{wrong} {path}: a 405 without a body is axum's own answer to a method the route does \
             not serve; DRF's has its detail, and only the route's own fallback can give it"
        );
        assert_eq!(
            answer.json(),
            json!({"detail": format!("Method \"{wrong}\" not allowed.")}),
            "{wrong} {path}"
        );
    }
    for path in ["/hello/", "/api/me/"] {
        let answer = send(&app, &Call::post(path)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "an anonymous POST {path}: DRF authenticates before it looks at the method, so \
             the caller who proves nobody gets the 401, not the 405 (the book's \"Which check \
             comes first\")"
        );
    }
    let answer = send(&app, &Call::new(Method::HEAD, "/hello/").bearer(&access)).await;
    assert_eq!(answer.status, StatusCode::OK, "a GET route answers HEAD");
    assert!(answer.body.is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn step10_methods_paths_and_slashes() {
    let world = World::new().await;
    let router = router(world.state.clone());
    let (_, access) = world.pair_for(&world.demo);
    let cases = [
        ("GET /api/token/", Call::get("/api/token/")),
        (
            "PUT /api/token/verify/",
            Call::new(Method::PUT, "/api/token/verify/").json(json!({"token": access})),
        ),
        ("POST /hello/, anonymous", Call::post("/hello/")),
        (
            "POST /hello/, with a token",
            Call::post("/hello/").bearer(&access),
        ),
        (
            "DELETE /api/me/, with a token",
            Call::new(Method::DELETE, "/api/me/").bearer(&access),
        ),
        (
            "HEAD /hello/, with a token",
            Call::new(Method::HEAD, "/hello/").bearer(&access),
        ),
        (
            "POST /api/token (no slash)",
            Call::post("/api/token").json(json!({"username": "demo", "password": "demo-password"})),
        ),
        (
            "POST /api/token/verify (no slash)",
            Call::post("/api/token/verify"),
        ),
        ("GET /hello (no slash)", Call::get("/hello").bearer(&access)),
        (
            "GET /api/me (no slash)",
            Call::get("/api/me").bearer(&access),
        ),
        ("GET /api/nothing-here/", Call::get("/api/nothing-here/")),
        (
            "GET /api/token/refresh/ (chapter 5's)",
            Call::get("/api/token/refresh/"),
        ),
    ];
    let mut report = String::new();
    for (what, call) in cases {
        let answer = send(&router, &call).await;
        report.push_str(&format!("{what}\n{}", answer.summary()));
    }
    insta::assert_snapshot!("step10_routing", report);
}

// --- Inputs drawn at random, for the steps the snapshots above check with fixed inputs ------

/// A user created for this run with a name and a password drawn at random, so that no table of
/// answers for `demo` can pass.
async fn random_user(world: &World) -> (User, String) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let name: String = (0..rng.gen_range(4..12))
        .map(|_| rng.gen_range(b'a'..=b'z') as char)
        .collect();
    let password = format!("pw-{}", rng.r#gen::<u64>());
    let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).expect("the hasher");
    let user = create_user(&*world.state.users, &passwords, &name, &password, true, NOW)
        .await
        .expect("create a random user");
    (user, password)
}

#[tokio::test]
async fn step5_the_extractor_names_a_user_drawn_at_random() {
    let world = World::new().await;
    let (user, _) = random_user(&world).await;
    let (_, access) = world.pair_for(&user);
    let answer = send(
        &whoami_router(&world),
        &Call::get("/whoami/").bearer(&access),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        String::from_utf8_lossy(&answer.body),
        format!("you are {} (user {})", user.username, user.id)
    );
}

#[tokio::test]
async fn step6_logs_in_a_user_drawn_at_random_and_refuses_a_wrong_password() {
    let world = World::new().await;
    let (user, password) = random_user(&world).await;
    let router = obtain_router(&world);
    let answer = send(
        &router,
        &Call::post("/api/token/").json(json!({"username": user.username, "password": password})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.shown());
    let access = answer.field("access");
    let verified = world
        .state
        .tokens
        .verify(&access, Some(TokenType::Access))
        .expect("the access token verifies");
    assert_eq!(
        verified.user_id,
        Some(user.id.to_string()),
        "the pair is issued for the user's id, as a string: the user_id claim names user {} \
         ({:?}), whose name can change",
        user.id,
        user.username
    );
    let wrong = send(
        &router,
        &Call::post("/api/token/")
            .json(json!({"username": user.username, "password": format!("{password}!")})),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn step7_verify_judges_tokens_drawn_at_random() {
    use rand::Rng;
    let world = World::new().await;
    let router = verify_router(&world);
    let mut rng = rand::thread_rng();
    for _ in 0..4 {
        let claims = json!({
            "token_type": if rng.gen_bool(0.5) { "access" } else { "refresh" },
            "exp": NOW + rng.gen_range(1..100_000),
            "iat": NOW - rng.gen_range(0..100),
            "jti": format!("{:032x}", rng.r#gen::<u128>()),
            "user_id": rng.gen_range(1..1000).to_string(),
        });
        let good = world.sign(claims.clone());
        let answer = send(
            &router,
            &Call::post("/api/token/verify/").json(json!({"token": good})),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{claims} is signed with the server's key and unexpired, so it is valid, whatever its \
             type and whoever it names; the answer was {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(
            answer.json(),
            json!({}),
            "simplejwt answers a valid token with {{}}"
        );
        let other_key = format!("another-key-{}", rng.r#gen::<u64>());
        let forged = sign_with(&other_key, claims.clone());
        let answer = send(
            &router,
            &Call::post("/api/token/verify/").json(json!({"token": forged})),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{claims}, another key"
        );
    }
}

#[tokio::test]
async fn step8_me_describes_a_user_drawn_at_random() {
    let world = World::new().await;
    let (user, _) = random_user(&world).await;
    let (_, access) = world.pair_for(&user);
    let answer = send(
        &protected_router(&world),
        &Call::get("/api/me/").bearer(&access),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["id"], json!(user.id));
    assert_eq!(body["username"], json!(user.username));
    assert_eq!(body["is_active"], json!(true));
}

#[tokio::test]
async fn step10_paths_drawn_at_random_are_not_found_and_slashless_ones_redirect() {
    use rand::Rng;
    let world = World::new().await;
    let app = router(world.state.clone());
    let mut rng = rand::thread_rng();
    for _ in 0..4 {
        let path: String = (0..rng.gen_range(3..10))
            .map(|_| rng.gen_range(b'a'..=b'z') as char)
            .collect();
        let answer = send(&app, &Call::get(&format!("/{path}/"))).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "/{path}/");
        assert_eq!(answer.json(), json!({"detail": "Not found."}), "/{path}/");
    }
    for (path, method) in [
        ("/api/token", Method::POST),
        ("/api/token/verify", Method::POST),
        ("/hello", Method::GET),
        ("/api/me", Method::GET),
    ] {
        let answer = send(&app, &Call::new(method, path)).await;
        assert_eq!(
            answer.status,
            StatusCode::MOVED_PERMANENTLY,
            "{path}: Django's APPEND_SLASH redirects with a 301 Moved Permanently (not a 308, \
             which is what axum's `Redirect::permanent` sends), whatever the method"
        );
        assert_eq!(
            answer.header("location"),
            Some(format!("{path}/").as_str()),
            "{path}: the Location is the same path with its slash"
        );
    }
}
