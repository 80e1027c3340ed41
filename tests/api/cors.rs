//! Cross-origin requests over HTTP, answered as django-cors-headers answers them: nothing at all
//! unless origins are allowed; then `Vary: origin` everywhere, CORS headers for allowed origins
//! only, preflights answered before any route, credentials only when allowed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jwt_workbook::http::cors::{CorsPolicy, CorsSettings};

use super::helpers::{TestApp, TestResponse};

const FRONT_END: &str = "https://app.example.com";
const ELSEWHERE: &str = "https://evil.example.net";

/// django-cors-headers' defaults, with our front end allowed.
fn settings(credentials: bool) -> CorsSettings {
    CorsSettings {
        allowed_origins: vec![FRONT_END.into(), "http://localhost:3000".into()],
        allow_credentials: credentials,
        allow_headers: [
            "accept",
            "authorization",
            "content-type",
            "user-agent",
            "x-csrftoken",
            "x-requested-with",
        ]
        .map(String::from)
        .to_vec(),
        allow_methods: ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
            .map(String::from)
            .to_vec(),
        preflight_max_age: 86400,
        ..CorsSettings::default()
    }
}

async fn app_with(settings: CorsSettings) -> TestApp {
    TestApp::configured(|app| app.cors = CorsPolicy::new(&settings).unwrap()).await
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

fn cors_headers(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

fn varies_on_origin(response: &TestResponse) -> bool {
    response
        .headers
        .get_all(header::VARY)
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn with_no_origin_allowed_no_response_carries_any_cors_header() {
    let app = TestApp::new().await;
    let (_, access) = app.login().await;
    let bearer = format!("Bearer {access}");
    let answer = request(
        &app,
        Method::GET,
        "/hello/",
        &[("origin", FRONT_END), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(cors_headers(&answer), Vec::<String>::new());
    assert!(!varies_on_origin(&answer));
    let preflight = request(
        &app,
        Method::OPTIONS,
        "/api/token/",
        &[
            ("origin", FRONT_END),
            ("access-control-request-method", "POST"),
        ],
    )
    .await;
    assert_eq!(cors_headers(&preflight), Vec::<String>::new());
}

#[tokio::test]
async fn an_allowed_origin_may_read_answers_and_errors_alike() {
    let app = app_with(settings(false)).await;
    let (_, access) = app.login().await;
    let bearer = format!("Bearer {access}");
    let answer = request(
        &app,
        Method::GET,
        "/hello/",
        &[("origin", FRONT_END), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some(FRONT_END)
    );
    assert_eq!(answer.header("access-control-allow-credentials"), None);
    assert_eq!(cors_headers(&answer), ["access-control-allow-origin"]);
    assert!(varies_on_origin(&answer));

    // The page must be able to read a 401 to know it should refresh.
    let refused = request(&app, Method::GET, "/hello/", &[("origin", FRONT_END)]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some(FRONT_END)
    );
}

#[tokio::test]
async fn another_origin_gets_no_cors_header_but_the_answer_still_varies_on_origin() {
    let app = app_with(settings(true)).await;
    for origin in [
        ELSEWHERE,
        "http://app.example.com",
        "https://app.example.com:8443",
        "null",
    ] {
        let answer = request(&app, Method::GET, "/healthz", &[("origin", origin)]).await;
        assert_eq!(cors_headers(&answer), Vec::<String>::new(), "{origin}");
        assert!(varies_on_origin(&answer), "{origin}");
    }
    let no_origin = request(&app, Method::GET, "/healthz", &[]).await;
    assert_eq!(cors_headers(&no_origin), Vec::<String>::new());
    assert!(varies_on_origin(&no_origin));
}

#[tokio::test]
async fn a_preflight_is_answered_before_any_route_with_the_allowed_methods_and_headers() {
    let app = app_with(settings(false)).await;
    let preflight = request(
        &app,
        Method::OPTIONS,
        "/api/token/",
        &[
            ("origin", FRONT_END),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type",
            ),
        ],
    )
    .await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert!(preflight.body.is_empty());
    assert_eq!(preflight.header("content-length"), Some("0"));
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(FRONT_END)
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("DELETE, GET, OPTIONS, PATCH, POST, PUT")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("86400"));
    assert!(varies_on_origin(&preflight));
    // A preflight for a path no route has is answered the same: routes are not consulted.
    let anywhere = request(
        &app,
        Method::OPTIONS,
        "/api/nothing-here/",
        &[
            ("origin", FRONT_END),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert_eq!(anywhere.status, StatusCode::OK);
    // An OPTIONS without Access-Control-Request-Method is no preflight: the route answers it,
    // with the allowed methods and headers added.
    let options = request(
        &app,
        Method::OPTIONS,
        "/api/token/",
        &[("origin", FRONT_END)],
    )
    .await;
    assert_eq!(options.status, StatusCode::OK);
    assert!(!options.body.is_empty(), "DRF's metadata answer");
    assert!(options.header("access-control-allow-methods").is_some());
}

#[tokio::test]
async fn a_preflight_from_another_origin_is_answered_without_permission() {
    let app = app_with(settings(true)).await;
    let preflight = request(
        &app,
        Method::OPTIONS,
        "/api/token/",
        &[
            ("origin", ELSEWHERE),
            ("access-control-request-method", "POST"),
        ],
    )
    .await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(cors_headers(&preflight), Vec::<String>::new());
}

#[tokio::test]
async fn credentials_are_allowed_only_when_configured_and_only_for_allowed_origins() {
    let app = app_with(settings(true)).await;
    let allowed = request(&app, Method::GET, "/healthz", &[("origin", FRONT_END)]).await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(FRONT_END)
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let other = request(&app, Method::GET, "/healthz", &[("origin", ELSEWHERE)]).await;
    assert_eq!(other.header("access-control-allow-credentials"), None);
    let without = app_with(settings(false)).await;
    let allowed = request(&without, Method::GET, "/healthz", &[("origin", FRONT_END)]).await;
    assert_eq!(allowed.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn exposed_headers_and_max_age_follow_their_settings() {
    let app = app_with(CorsSettings {
        expose_headers: vec!["x-request-id".into()],
        preflight_max_age: 0,
        ..settings(false)
    })
    .await;
    let answer = request(&app, Method::GET, "/healthz", &[("origin", FRONT_END)]).await;
    assert_eq!(
        answer.header("access-control-expose-headers"),
        Some("x-request-id")
    );
    let preflight = request(
        &app,
        Method::OPTIONS,
        "/healthz",
        &[
            ("origin", FRONT_END),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert_eq!(preflight.header("access-control-max-age"), None);
}

/// (An origin with a path after an allowed host is allowed, as django-cors-headers' `urlsplit`
/// reads it; no browser sends one.)
#[tokio::test]
async fn odd_origins_get_no_cors_header_and_never_an_error() {
    let app = app_with(settings(true)).await;
    let long = format!("https://{}.example.com", "a".repeat(4000));
    for origin in [
        &b"https://app.example.com\xff"[..],
        b"",
        b"://app.example.com",
        b"https://",
        b"https://app.example.com, https://app.example.com",
        long.as_bytes(),
    ] {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/token/")
            .header(
                "origin",
                axum::http::HeaderValue::from_bytes(origin).unwrap(),
            )
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{origin:?}");
        assert_eq!(cors_headers(&answer), Vec::<String>::new(), "{origin:?}");
    }
}
