//! `GET /api/schema/`: the OpenAPI document covers every route of the router and nothing else,
//! says for each path exactly the methods its `Allow` header says, and names each body's
//! required fields as the handler asks for them. (Its validity is checked by a third-party
//! validator, and its every answer by Schemathesis, in `scripts/fuzz-api`.)

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jwt_workbook::http::schema::{SCHEMA_PATH, document, is_slash_redirect, routed_paths};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// What every path answers besides the documented methods (see the document's description).
const IMPLICIT: [&str; 2] = ["HEAD", "OPTIONS"];

fn documented_paths(document: &Value) -> BTreeSet<String> {
    document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect()
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            all.push((path.clone(), method.to_uppercase(), operation.clone()));
        }
    }
    all
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::new().await;
    let response = app
        .send(Request::get(SCHEMA_PATH).body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let served = response.json();
    assert_eq!(served, document());
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test]
async fn every_route_of_the_router_is_documented_and_nothing_else() {
    let document = document();
    let routed = routed_paths();
    assert!(
        routed.len() > 20,
        "the router's paths could not be read: {routed:?}"
    );
    let documented = documented_paths(&document);
    let undocumented: Vec<_> = routed
        .iter()
        .filter(|path| !documented.contains(*path) && !is_slash_redirect(&document, path))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes not in the document: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented paths no route answers: {unrouted:?}"
    );

    // The routes left out are exactly the slashless twins, and each one only redirects.
    let app = TestApp::new().await;
    let twins: Vec<_> = routed
        .iter()
        .filter(|path| is_slash_redirect(&document, path))
        .collect();
    assert_eq!(
        twins.len(),
        documented.iter().filter(|path| path.ends_with('/')).count()
    );
    for path in twins {
        for method in [Method::GET, Method::POST] {
            let response = app
                .send(
                    Request::builder()
                        .method(method.clone())
                        .uri(format!("{path}?next=1"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::MOVED_PERMANENTLY,
                "{method} {path}"
            );
            assert_eq!(
                response.header("location"),
                Some(&*format!("{path}/?next=1"))
            );
        }
    }
}

#[tokio::test]
async fn each_path_documents_exactly_the_methods_its_allow_header_lists() {
    let document = document();
    let app = TestApp::configured(|settings| {
        settings.sliding_tokens = true;
    })
    .await;
    for path in documented_paths(&document) {
        let response = app
            .send(Request::get(&path).body(Body::empty()).unwrap())
            .await;
        let allow = response
            .header("allow")
            .unwrap_or_else(|| panic!("{path}: no Allow header ({})", response.status));
        let allowed: BTreeSet<String> = allow
            .split(',')
            .map(|method| method.trim().to_owned())
            .filter(|method| !IMPLICIT.contains(&method.as_str()))
            .collect();
        let documented: BTreeSet<String> = document["paths"][&path]
            .as_object()
            .unwrap()
            .keys()
            .map(|method| method.to_uppercase())
            .collect();
        assert_eq!(allowed, documented, "{path}: Allow: {allow}");
        let head = allow.split(',').any(|method| method.trim() == "HEAD");
        assert_eq!(head, documented.contains("GET"), "{path}: Allow: {allow}");
    }
}

#[tokio::test]
async fn each_body_documents_the_fields_its_handler_requires() {
    let document = document();
    let app = TestApp::configured(|settings| {
        settings.sliding_tokens = true;
    })
    .await;
    let (_, access) = app.login().await;
    let mut checked = 0;
    for (path, method, operation) in operations(&document) {
        let Some(body) = operation.get("requestBody") else {
            continue;
        };
        if body["content"].get("application/json").is_none() {
            // The OpenID Connect endpoints take forms only (RFC 6749 §4.1.3, OpenID Connect
            // Core §3.1.2.1) and refuse in OAuth's shape, not DRF's: tests/api/oidc.rs checks
            // those refusals.
            assert!(
                path.starts_with("/oidc/"),
                "{path}: a body that is not JSON"
            );
            let forms: Vec<_> = body["content"].as_object().unwrap().keys().collect();
            assert_eq!(forms, ["application/x-www-form-urlencoded"], "{path}");
            continue;
        }
        let schema = &body["content"]["application/json"]["schema"];
        let name = schema["$ref"]
            .as_str()
            .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
            .unwrap_or_else(|| panic!("{path}: a named body schema"));
        let required: BTreeSet<String> = document["components"]["schemas"][name]["required"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|field| field.as_str().unwrap().to_owned())
            .collect();
        // Flat fields come in all three encodings; a nested body (a progress report) is JSON.
        let encodings = if path == "/api/class/progress/" {
            vec!["application/json"]
        } else {
            vec![
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ]
        };
        let documented: Vec<_> = body["content"].as_object().unwrap().keys().collect();
        assert_eq!(documented, encodings, "{path}");
        let response = app
            .send(
                Request::builder()
                    .method(method.as_str())
                    .uri(&path)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {access}"))
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        if response.status == StatusCode::NOT_FOUND {
            // Classroom mode is off in this app: its operations document that 404.
            assert!(operation["responses"].get("404").is_some(), "{path}");
            continue;
        }
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            response.text()
        );
        let refused: BTreeSet<String> = response
            .json()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(refused, required, "{path}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bodies were checked");
}

#[test]
fn every_operation_has_a_unique_id_answers_and_resolving_references() {
    let document = document();
    let mut ids = BTreeSet::new();
    for (path, method, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: id {id:?} again"
        );
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.contains_key("200"), "{method} {path}");
        assert!(responses.contains_key("406"), "{method} {path}");
        for (status, response) in responses {
            assert!(
                response["description"].is_string(),
                "{method} {path} {status}"
            );
        }
    }
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "{target} resolves");
    }
}

#[test]
fn the_document_describes_the_bearer_scheme_and_cookie_mode() {
    let document = document();
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        schemes["jwtAuth"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": schemes["jwtAuth"]["description"]})
    );
    assert_eq!(schemes["refreshCookie"]["in"], "cookie");
    assert_eq!(schemes["refreshCookie"]["name"], "refresh_token");
    assert_eq!(schemes["csrfCookie"]["name"], "csrftoken");
    assert_eq!(schemes["csrfHeader"]["in"], "header");
    assert_eq!(schemes["csrfHeader"]["name"], "X-CSRFToken");
    let refresh = &document["paths"]["/api/token/refresh/"]["post"];
    assert_eq!(
        refresh["security"],
        json!([{}, {"refreshCookie": [], "csrfCookie": [], "csrfHeader": []}])
    );
    assert!(refresh["responses"]["403"].is_object());
    assert!(refresh["responses"]["200"]["headers"]["Set-Cookie"].is_object());
    let me = &document["paths"]["/api/me/"]["get"];
    assert_eq!(me["security"], json!([{"jwtAuth": []}]));
    let unauthorized = &me["responses"]["401"];
    assert_eq!(
        unauthorized["headers"]["WWW-Authenticate"]["schema"]["const"],
        r#"Bearer realm="api""#
    );
    let throttled = &document["paths"]["/api/token/"]["post"]["responses"]["429"];
    assert!(throttled["headers"]["Retry-After"]["required"] == true);
}

/// The document leaves `OPTIONS` implicit, so the `Allow` header is its only word on it: a path
/// that lists it answers it, and one that does not refuses it.
#[tokio::test]
async fn options_is_answered_exactly_where_allow_lists_it() {
    let document = document();
    let app = TestApp::configured(|settings| {
        settings.sliding_tokens = true;
    })
    .await;
    let (_, access) = app.login().await;
    for path in documented_paths(&document) {
        let response = app
            .send(
                Request::builder()
                    .method(Method::OPTIONS)
                    .uri(&path)
                    .header("authorization", format!("Bearer {access}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let allow = response.header("allow").unwrap_or_default().to_owned();
        let listed = allow.split(',').any(|method| method.trim() == "OPTIONS");
        let answered = response.status != StatusCode::METHOD_NOT_ALLOWED;
        assert_eq!(
            answered, listed,
            "{path}: OPTIONS answered {} with Allow: {allow}",
            response.status
        );
    }
}
