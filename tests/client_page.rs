//! The browser client (`/client/`) and its injected-script demo (`/client/xss-demo/`) end to end:
//! the real server in cookie mode, with access tokens that live three seconds, and the pages in
//! Debian's headless Chromium, driven through the DevTools protocol. The test waits for the
//! access token the page holds to expire by polling the expiry the page shows (a bounded poll,
//! never a fixed sleep), then fires five calls at once and reads the server's access log to see
//! that exactly one refresh reached it. A second tab of the page, opened by the first, shows the
//! two tabs' refreshes taking turns under their Web Lock: while the test holds the lock, every
//! failed call waits and no refresh leaves; released, each tab refreshes once, with the newest
//! cookie, and no refresh is mistaken for a reuse.
//!
//! Chromium is not needed for `cargo test`, so this test is ignored; run it with
//! `cargo test --test client_page -- --ignored` (`.ci/run` installs Debian's `chromium` and does).

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{Browser, Server};

/// `GET path` with a bearer token, over a fresh connection: the status.
fn get_with_bearer(server: &Server, path: &str, token: &str) -> u16 {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

/// The browser's cookies for the token endpoints (what it would send there), by name.
fn token_cookies(browser: &mut Browser, server: &Server) -> Vec<Value> {
    let cookies = browser.call(
        "Network.getCookies",
        json!({"urls": [server.url("/api/token/refresh/")]}),
    );
    cookies["cookies"].as_array().unwrap().clone()
}

fn refresh_cookie(browser: &mut Browser, server: &Server) -> Option<Value> {
    token_cookies(browser, server)
        .into_iter()
        .find(|cookie| cookie["name"] == "refresh_token")
}

/// Clicks a button of the client and waits until its log has one more line; that line.
fn click(browser: &mut Browser, button: &str) -> String {
    let before = browser
        .eval("Number(document.getElementById('log').dataset.done)")
        .as_u64()
        .unwrap();
    browser.eval(&format!("document.getElementById('{button}').click()"));
    browser.wait_for(&format!(
        "Number(document.getElementById('log').dataset.done) > {before}"
    ));
    browser
        .eval("document.getElementById('log').lastElementChild.textContent")
        .as_str()
        .unwrap()
        .to_owned()
}

fn log_in(browser: &mut Browser) {
    browser.eval("document.getElementById('login-status').dataset.state = 'waiting'");
    browser.log_in("demo", "demo-password");
    browser.wait_for("document.getElementById('login-status').dataset.state !== 'waiting'");
    assert_eq!(browser.text_of("login-status"), "Logged in.");
}

fn count(requests: &[String], line: &str) -> usize {
    requests.iter().filter(|seen| *seen == line).count()
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test client_page -- --ignored (.ci/run does)"]
fn the_client_refreshes_once_for_many_failed_calls_and_logs_out_for_real() {
    let server = Server::start(&["--refresh-cookie", "--access-lifetime", "3s"]);
    let mut browser = Browser::launch();
    browser.open(&server.url("/client/"));
    log_in(&mut browser);

    // The refresh token is where the page cannot reach it: an HttpOnly, Secure, SameSite=Strict
    // cookie for /api/token/ only (Chromium keeps Secure cookies on http://127.0.0.1, a secure
    // context), and nothing was written to localStorage.
    let cookie = refresh_cookie(&mut browser, &server).expect("the login set the refresh cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["secure"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/api/token/", "{cookie}");
    assert_eq!(browser.eval("localStorage.length"), 0);
    assert_eq!(
        browser.eval("document.cookie.includes('refresh_token')"),
        false
    );

    // A reload forgets the access token; the page gets a new one with the cookie.
    browser.open(&server.url("/client/"));
    browser.wait_for("document.getElementById('session').dataset.state === 'in'");
    assert_eq!(
        browser.eval("document.getElementById('session').dataset.refreshes"),
        "1"
    );

    let me = click(&mut browser, "me-button");
    assert!(
        me.starts_with("GET /api/me/ → 200") && me.contains("\"username\":\"demo\""),
        "{me}"
    );

    // The access token in memory expires; the page shows when.
    let expires = browser.wait_for("Number(document.getElementById('session').dataset.expires)");
    assert!(expires.as_f64().unwrap() > 0.0);
    browser.wait_for(
        "Date.now() / 1000 >= Number(document.getElementById('session').dataset.expires)",
    );
    server.requests_seen();

    // Five calls at once, all refused: one refresh between them, and each retried once.
    browser.eval("document.getElementById('burst-button').click()");
    browser.wait_for("Number(document.getElementById('log').dataset.done) === 6");
    let lines = browser
        .eval("[...document.querySelectorAll('#log li')].slice(1).map(li => li.textContent)");
    for line in lines.as_array().unwrap() {
        assert!(line.as_str().unwrap().contains(" → 200 "), "{line}");
    }
    assert_eq!(
        browser.eval("document.getElementById('session').dataset.refreshes"),
        "2"
    );
    assert_eq!(
        browser.eval("document.getElementById('session').dataset.retries"),
        "5"
    );
    let requests = server.requests_seen();
    assert_eq!(
        count(&requests, "POST /api/token/refresh/ 200"),
        1,
        "exactly one refresh reaches the server: {requests:?}"
    );
    assert_eq!(count(&requests, "GET /api/me/ 401"), 5, "{requests:?}");
    assert_eq!(count(&requests, "GET /api/me/ 200"), 5, "{requests:?}");
    assert_eq!(requests.len(), 11, "{requests:?}");

    // Logout: the refresh token it held is blacklisted and its cookie is gone, so the next call
    // fails and the page's attempt to refresh is refused.
    let rotated = refresh_cookie(&mut browser, &server).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, cookie["value"].as_str().unwrap(), "rotated twice");
    let out = click(&mut browser, "logout-button");
    assert!(out.starts_with("log out → 200"), "{out}");
    assert_eq!(refresh_cookie(&mut browser, &server), None);
    let (status, body) = server.request(
        "POST",
        "/api/token/refresh/",
        Some(&json!({"refresh": rotated})),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("Token is blacklisted"), "{body}");
    let me = click(&mut browser, "me-button");
    assert!(me.starts_with("GET /api/me/ → 401"), "{me}");
    let requests = server.requests_seen();
    assert!(
        requests.contains(&"POST /api/token/refresh/ 400".to_owned()),
        "the page tried one refresh, without a cookie: {requests:?}"
    );

    // Logout everywhere, from the page: another device's access token stops working too.
    log_in(&mut browser);
    let page_refresh = refresh_cookie(&mut browser, &server).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_device = server.access_token();
    assert_eq!(get_with_bearer(&server, "/hello/", &other_device), 200);
    let everywhere = click(&mut browser, "logout-all-button");
    assert!(
        everywhere.starts_with("log out everywhere → 200"),
        "{everywhere}"
    );
    assert_eq!(get_with_bearer(&server, "/hello/", &other_device), 401);
    let (status, body) = server.request(
        "POST",
        "/api/token/refresh/",
        Some(&json!({"refresh": page_refresh})),
    );
    assert_eq!(status, 401, "{body}");
    let hello = click(&mut browser, "hello-button");
    assert!(hello.starts_with("GET /hello/ → 401"), "{hello}");

    browser.assert_quiet();
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test client_page -- --ignored (.ci/run does)"]
fn two_tabs_share_the_cookie_and_take_turns_refreshing_it() {
    let server = Server::start(&["--refresh-cookie", "--access-lifetime", "3s"]);
    let mut browser = Browser::launch();
    browser.open(&server.url("/client/"));
    log_in(&mut browser);
    // A second tab of the same page, opened by the first (as a click would), which can reach
    // into it: the same origin. It gets its access token with the cookie, as a reload does.
    browser.call(
        "Runtime.evaluate",
        json!({"expression": "window.other = window.open('/client/', 'other'); true",
               "userGesture": true}),
    );
    browser.wait_for(
        "window.other && other.document.body
         && other.document.getElementById('session')?.dataset.state === 'in'",
    );
    browser.wait_for(
        "Date.now() / 1000 >= Math.max(
            Number(document.getElementById('session').dataset.expires),
            Number(other.document.getElementById('session').dataset.expires))",
    );
    server.requests_seen();

    // Both tabs find their tokens expired at once, while something else holds the lock the
    // tabs refresh under: every call waits, and no refresh leaves either tab.
    browser.eval(
        "navigator.locks.request('jwt-workbook-refresh',
             () => new Promise(release => { window.releaseLock = release; }));
         true",
    );
    browser.wait_for("typeof window.releaseLock === 'function'");
    browser.eval(
        "document.getElementById('burst-button').click();
         other.document.getElementById('burst-button').click();",
    );
    browser.wait_for(
        "document.getElementById('session').dataset.waiting === '5'
         && other.document.getElementById('session').dataset.waiting === '5'",
    );
    assert_eq!(
        browser.eval(
            "[document.getElementById('session').dataset.refreshes,
              other.document.getElementById('session').dataset.refreshes]"
        ),
        json!(["0", "1"]),
        "the second tab's refresh on load was its only one; none has started since"
    );
    let requests = server.requests_seen();
    assert_eq!(count(&requests, "GET /api/me/ 401"), 10, "{requests:?}");
    assert!(
        !requests
            .iter()
            .any(|seen| seen.starts_with("POST /api/token/refresh/")),
        "{requests:?}"
    );

    // Released, each tab refreshes in turn with the newest cookie, so neither refresh looks
    // like a reuse and nobody is logged out.
    browser.eval("window.releaseLock(); true");
    browser.wait_for(
        "Number(document.getElementById('log').dataset.done) === 5
         && Number(other.document.getElementById('log').dataset.done) === 5",
    );
    let lines = browser.eval(
        "[...document.querySelectorAll('#log li'), ...other.document.querySelectorAll('#log li')]
            .map(li => li.textContent)",
    );
    for line in lines.as_array().unwrap() {
        assert!(line.as_str().unwrap().contains(" → 200 "), "{line}");
    }
    let requests = server.requests_seen();
    assert_eq!(
        count(&requests, "POST /api/token/refresh/ 200"),
        2,
        "one refresh per tab, one after the other: {requests:?}"
    );
    assert_eq!(count(&requests, "GET /api/me/ 200"), 10, "{requests:?}");
    assert_eq!(requests.len(), 12, "{requests:?}");

    browser.assert_quiet();
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test client_page -- --ignored (.ci/run does)"]
fn an_injected_script_reads_the_local_storage_token_but_not_the_http_only_cookie() {
    let server = Server::start(&["--refresh-cookie"]);
    let mut browser = Browser::launch();
    browser.open(&server.url("/client/xss-demo/"));
    browser.log_in("demo", "demo-password");
    browser.wait_for("document.getElementById('login-status').dataset.state === 'ok'");
    let stored = browser.eval("localStorage.getItem('access_token')");
    let stored = stored
        .as_str()
        .expect("the demo keeps its token in localStorage");
    let cookie = refresh_cookie(&mut browser, &server).expect("the refresh cookie is set");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    let refresh = cookie["value"].as_str().unwrap();
    assert!(refresh.split('.').count() == 3, "{refresh}");

    browser.eval("document.getElementById('inject-button').click()");
    browser.wait_for("document.getElementById('stolen').dataset.ran === 'true'");
    let stolen = browser.text_of("stolen");
    assert!(
        stolen.contains(stored),
        "the script read the token: {stolen}"
    );
    assert!(
        stolen.contains("csrftoken="),
        "it reads the cookies a script may: {stolen}"
    );
    assert!(!stolen.contains(refresh), "{stolen}");
    assert!(!stolen.contains("refresh_token"), "{stolen}");
    assert_eq!(
        browser.eval("document.getElementById('stolen').dataset.accessToken"),
        "read"
    );
    assert_eq!(
        browser.eval("document.getElementById('stolen').dataset.refreshCookie"),
        "unreadable"
    );

    browser.assert_quiet();
}
