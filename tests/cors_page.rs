//! CORS from a real browser: a page on another origin (a second port, served by this test)
//! calls the real server in Debian's headless Chromium. From the listed origin it logs in
//! (through a preflight), calls a protected route with its bearer token, and, with credentials
//! allowed, spends the refresh cookie of cookie mode; from an origin not listed, and with
//! credentials not allowed, the browser keeps every answer from the page.
//!
//! Chromium is not needed for `cargo test`, so this test is ignored; run it with
//! `cargo test --test cors_page -- --ignored` (`.ci/run` installs Debian's `chromium` and does).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use serde_json::{Value, json};

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{Browser, Server};

/// A page with nothing on it, for scripts to run from its origin: every request on `listener`
/// gets it. The thread ends with the test process.
fn serve_blank_page(listener: TcpListener) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            let page = r#"<!doctype html><title>another origin</title><body data-ready="true">"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
}

/// Runs `fetch(url, init)` in the page: `{status, body}` when the page may read the answer,
/// `{error}` when the browser keeps it from the page.
fn fetch(browser: &mut Browser, url: &str, init: &str) -> Value {
    browser.eval(&format!(
        "(async () => {{
            try {{
                const answer = await fetch({url}, {init});
                return {{status: answer.status, body: await answer.text()}};
            }} catch (error) {{
                return {{error: String(error)}};
            }}
        }})()",
        url = json!(url)
    ))
}

const LOG_IN: &str = r#"{method: 'POST', credentials: 'include',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username: 'demo', password: 'demo-password'})}"#;

fn bearer(access: &str) -> String {
    format!(
        "{{headers: {{'Authorization': 'Bearer ' + {}}}}}",
        json!(access)
    )
}

/// The page's own origin on its port, listed or not.
struct Pages {
    port: u16,
}

impl Pages {
    fn start() -> Pages {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        serve_blank_page(listener);
        Pages { port }
    }

    /// The listed origin.
    fn listed(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The same page by another name: another origin, not listed.
    fn unlisted(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test cors_page -- --ignored (.ci/run does)"]
fn a_listed_origin_logs_in_calls_and_refreshes_with_its_cookie_and_no_other_origin_can() {
    let pages = Pages::start();
    let listed = pages.listed();
    let server = Server::start(&[
        "--refresh-cookie",
        "--cors-allowed-origins",
        &listed,
        "--cors-allow-credentials",
    ]);
    let api = server.url("");
    let mut browser = Browser::launch();

    browser.open(&format!("{listed}/"));
    let login = fetch(&mut browser, &format!("{api}/api/token/"), LOG_IN);
    assert_eq!(login["status"], 200, "{login}");
    let tokens: Value = serde_json::from_str(login["body"].as_str().unwrap()).unwrap();
    let access = tokens["access"].as_str().unwrap();
    assert!(tokens.get("refresh").is_none(), "cookie mode: {tokens}");

    let me = fetch(&mut browser, &format!("{api}/api/me/"), &bearer(access));
    assert_eq!(me["status"], 200, "{me}");
    assert!(me["body"].as_str().unwrap().contains("\"demo\""), "{me}");

    // The refresh cookie went along (credentials allowed), with the CSRF cookie's value, which
    // this page can read: cookies are per host, not per port.
    let refresh = fetch(
        &mut browser,
        &format!("{api}/api/token/refresh/"),
        "{method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json',
          'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]}, body: '{}'}",
    );
    assert_eq!(refresh["status"], 200, "{refresh}");
    assert!(
        refresh["body"].as_str().unwrap().contains("access"),
        "{refresh}"
    );

    // The same page under another name is another origin, not listed: the browser sends the
    // request, and keeps every answer from the page.
    browser.open(&format!("{}/", pages.unlisted()));
    let login = fetch(&mut browser, &format!("{api}/api/token/"), LOG_IN);
    assert!(login["error"].as_str().is_some(), "{login}");
    let me = fetch(&mut browser, &format!("{api}/api/me/"), &bearer(access));
    assert!(me["error"].as_str().is_some(), "{me}");
    let health = fetch(&mut browser, &format!("{api}/healthz"), "{}");
    assert!(health["error"].as_str().is_some(), "{health}");
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test cors_page -- --ignored (.ci/run does)"]
fn without_credentials_allowed_a_listed_origin_calls_with_tokens_but_never_with_cookies() {
    let pages = Pages::start();
    let listed = pages.listed();
    let server = Server::start(&["--cors-allowed-origins", &listed]);
    let api = server.url("");
    let mut browser = Browser::launch();
    browser.open(&format!("{listed}/"));

    let with_cookies = fetch(&mut browser, &format!("{api}/api/token/"), LOG_IN);
    assert!(with_cookies["error"].as_str().is_some(), "{with_cookies}");
    let without = fetch(
        &mut browser,
        &format!("{api}/api/token/"),
        &LOG_IN.replace("'include'", "'omit'"),
    );
    assert_eq!(without["status"], 200, "{without}");
    let tokens: Value = serde_json::from_str(without["body"].as_str().unwrap()).unwrap();
    let me = fetch(
        &mut browser,
        &format!("{api}/api/me/"),
        &bearer(tokens["access"].as_str().unwrap()),
    );
    assert_eq!(me["status"], 200, "{me}");

    // With no origin listed at all, not even this one may read an answer.
    let closed = Server::start(&[]);
    let health = fetch(&mut browser, &format!("{}/healthz", closed.url("")), "{}");
    assert!(health["error"].as_str().is_some(), "{health}");
}
