//! The attack lab: its apps are never reachable through `serve`, every route it lists exists,
//! every page says the apps are vulnerable on purpose, and `lab` refuses non-loopback addresses.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jwt_workbook::lab::{self, Lab};
use tower::ServiceExt;

use crate::helpers::TestApp;

/// `serve`'s router, with and without a book at `/` (whose files would answer any path they
/// have), answers 404 to every route of the lab.
#[tokio::test]
async fn serve_answers_404_on_every_lab_route() {
    let app = TestApp::new().await;
    let book = tempfile::tempdir().unwrap();
    std::fs::write(
        book.path().join("index.html"),
        "<!doctype html><p>the book</p>",
    )
    .unwrap();
    let routes = lab::routes();
    assert!(routes.len() > 40, "only {} lab routes listed", routes.len());
    for router in [
        app.router.clone(),
        jwt_workbook::app::router(app.state.clone(), Some(book.path())),
    ] {
        for (method, path) in &routes {
            let request = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let status = router.clone().oneshot(request).await.unwrap().status();
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "serve answered {method} {path}"
            );
        }
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

#[tokio::test]
async fn the_jku_app_never_fetches_a_key_set_from_beyond_loopback() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("lab")).await.unwrap();
    let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
    // 192.0.2.0/24 is reserved for documentation: nothing answers there, and nothing is sent.
    let header = b64(r#"{"alg":"HS256","jku":"http://192.0.2.1/keys.json","kid":"k"}"#);
    let payload = b64(r#"{"token_type":"access","exp":9999999999,"user_id":"1","jti":"x"}"#);
    let request = Request::get("/lab/jku-header/api/admin/")
        .header("authorization", format!("Bearer {header}.{payload}.c2ln"))
        .body(Body::empty())
        .unwrap();
    let response = lab::router(lab).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("loopback addresses only"), "{body}");
}

/// `cargo run -- lab`, as a learner starts it: the banner says first that the apps are
/// vulnerable on purpose, and the address it names serves the lab's index page.
#[test]
fn the_lab_banner_says_it_is_vulnerable_on_purpose_and_names_where_it_serves() {
    use std::io::{BufRead, BufReader, Read, Write};

    /// Stops the lab it holds however the test ends.
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let data = tempfile::tempdir().unwrap();
    let mut lab = Stopped(
        std::process::Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["lab", "--addr", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut banner = Vec::new();
    let mut lines = BufReader::new(lab.0.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the banner").unwrap();
        banner.push(line.clone());
        if let Some(rest) = line.strip_prefix("serving on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/lab/")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /lab/ HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    drop(lab);

    assert!(
        banner
            .iter()
            .take(3)
            .any(|line| line.contains("VULNERABLE ON PURPOSE")),
        "{banner:#?}"
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("vulnerable on purpose"), "{page}");
}
