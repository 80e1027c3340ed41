//! Login throttling: failed logins per username and per client address, answered 429 with
//! `Retry-After` and DRF's message, before any password is checked; time from the test clock.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, Method, Request, StatusCode, header};
use jwt_workbook::app::ClientAddressSource;
use jwt_workbook::users::LoginLimits;
use serde_json::json;

use crate::helpers::{TestApp, TestResponse};

async fn login_from(
    app: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    password: &str,
) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/token/")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request
        .body(Body::from(
            json!({"username": "vitor", "password": password}).to_string(),
        ))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await
}

fn limits(per_user: &str, per_address: &str) -> LoginLimits {
    LoginLimits {
        per_user: per_user.parse().unwrap(),
        per_address: per_address.parse().unwrap(),
    }
}

#[tokio::test]
async fn an_account_is_throttled_after_five_different_wrong_passwords_even_for_the_right_one() {
    let app = TestApp::new().await;
    // The same wrong password again is no new guess: a client retrying it is not locked out.
    for _ in 0..10 {
        let answer = app.obtain("vitor", "an-old-password").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    for guess in ["wrong-1", "wrong-2", "wrong-3", "wrong-4"] {
        let answer = app.obtain("vitor", guess).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let refused = app.obtain("vitor", "123").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), Some("300"));
    assert_eq!(
        refused.json(),
        json!({"detail": "Request was throttled. Expected available in 300 seconds."})
    );
    // Another account is not affected.
    assert_eq!(
        app.obtain("inactive", "nope").await.status,
        StatusCode::UNAUTHORIZED
    );

    app.clock.advance(299);
    let last_second = app.obtain("vitor", "123").await;
    assert_eq!(
        last_second.json(),
        json!({"detail": "Request was throttled. Expected available in 1 second."})
    );
    app.clock.advance(1);
    assert_eq!(app.obtain("vitor", "123").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_address_guessing_many_usernames_is_throttled() {
    let app = TestApp::configured(|app| app.login_limits = limits("off", "3/1m")).await;
    for guess in ["x1", "x2", "x3"] {
        assert_eq!(
            login_from(&app, "203.0.113.9:5000", None, guess)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = login_from(&app, "203.0.113.9:5001", None, "123").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(
        login_from(&app, "198.51.100.7:5000", None, "123")
            .await
            .status,
        StatusCode::OK
    );
}

/// Behind nginx every connection comes from 127.0.0.1: the forwarded header tells clients
/// apart, but only when it comes from the proxy. A client cannot dodge the limit by writing one.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled() {
    let app = TestApp::configured(|app| {
        app.login_limits = limits("off", "2/1m");
        app.client_address = ClientAddressSource {
            header: Some(HeaderName::from_static("x-forwarded-for")),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        };
    })
    .await;
    let proxy = "127.0.0.1:40000";
    for guess in ["x1", "x2"] {
        login_from(&app, proxy, Some("198.51.100.7"), guess).await;
    }
    let refused = login_from(&app, proxy, Some("198.51.100.7"), "123").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let other_client = login_from(&app, proxy, Some("198.51.100.8"), "123").await;
    assert_eq!(other_client.status, StatusCode::OK);

    // Straight from the internet, a forged header changes nothing: the peer is counted.
    for (forged, guess) in [("10.0.0.1", "y1"), ("10.0.0.2", "y2")] {
        login_from(&app, "203.0.113.9:1", Some(forged), guess).await;
    }
    let refused = login_from(&app, "203.0.113.9:1", Some("10.0.0.3"), "123").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Through `app::serve` on a real socket, with nothing put in the requests by hand: the
/// connection's peer (127.0.0.1 here) is what the per-address limit counts, whichever
/// connection a guess comes on.
#[tokio::test]
async fn the_served_connections_peer_is_the_address_counted() {
    use jwt_workbook::app::{self, ConnectionLimits};
    let app = TestApp::configured(|app| app.login_limits = limits("off", "2/1m")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/token/", listener.local_addr().unwrap());
    let server = tokio::spawn(app::serve(
        listener,
        app.router.clone(),
        ConnectionLimits::default(),
        std::future::pending(),
    ));
    let statuses = tokio::task::spawn_blocking(move || {
        ["x1", "x2", "123"].map(|password| {
            // A new connection each time: the count follows the address, not the connection.
            let agent = ureq::Agent::new_with_defaults();
            let body = json!({"username": "vitor", "password": password});
            match agent.post(&url).send_json(body) {
                Ok(answer) => answer.status().as_u16(),
                Err(ureq::Error::StatusCode(status)) => status,
                Err(other) => panic!("{other}"),
            }
        })
    })
    .await
    .unwrap();
    assert_eq!(statuses, [401, 401, 429]);
    server.abort();
}
