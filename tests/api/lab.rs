//! The attack lab: its apps are never reachable through `serve`, every route it lists exists,
//! every page says the apps are vulnerable on purpose, and `lab` refuses non-loopback addresses.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jwt_workbook::lab::{self, Lab};
use tower::ServiceExt;

use crate::helpers::TestApp;

#[tokio::test]
async fn serve_answers_404_on_every_lab_route() {
    let app = TestApp::new().await;
    let routes = lab::routes();
    assert!(routes.len() > 40, "only {} lab routes listed", routes.len());
    for (method, path) in routes {
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "serve answered {method} {path}"
        );
    }
}

#[tokio::test]
async fn every_listed_lab_route_is_answered_by_the_lab_and_its_pages_say_it_is_vulnerable() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("lab")).await.unwrap();
    let router = lab::router(lab);
    for (method, path) in lab::routes() {
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("host", "127.0.0.1:8001")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains("No such page in the lab"),
            "{method} {path} is listed but not routed"
        );
        if status == StatusCode::OK && body.starts_with("<!doctype html>") {
            assert!(
                body.contains("vulnerable on purpose"),
                "{path} does not say so"
            );
        }
    }
}

#[test]
fn the_lab_refuses_to_listen_beyond_loopback() {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["lab", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("vulnerable on purpose") && stderr.contains("loopback"),
        "{stderr}"
    );
    assert!(
        !data.path().join("lab").exists(),
        "nothing is written before the address is checked"
    );
}
