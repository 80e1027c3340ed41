//! Through a real socket: the server answers over TCP, and a shutdown lets a request that is
//! already in flight finish. Also the real binary, started and stopped as a user would.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use jwt_workbook::app::{self, ConnectionLimits};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{TcpListener, TcpStream};

use super::helpers::TestApp;

const LOGIN: &str = r#"{"username": "vitor", "password": "123"}"#;

fn post(path: &str, body: &str, extra_headers: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let app = TestApp::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(
        listener,
        app.router.clone(),
        ConnectionLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));

    // Headers only, asking to be told when the server wants the body: the "100 Continue" proves
    // the request has reached the handler.
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut stream = AsyncBufReader::new(stream);
    let headers = post(
        "/api/token/",
        "",
        "Expect: 100-continue\r\nConnection: close\r\n",
    );
    let headers = headers.replace(
        "Content-Length: 0",
        &format!("Content-Length: {}", LOGIN.len()),
    );
    stream
        .get_mut()
        .write_all(headers.as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    assert_eq!(line.trim_end(), "HTTP/1.1 100 Continue");

    stop.send(()).unwrap();
    // The server is shutting down, but this request still completes.
    stream.get_mut().write_all(LOGIN.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.contains("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#"{"refresh":"#), "{response}");

    server.await.unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn the_binary_serves_the_demo_user_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .args(["--environment", "development", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("JWT_SIGNING_KEY")
        .env_remove("JWT_SIGNING_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = banner.next().expect("the banner").unwrap();
        if let Some(url) = line.split("serving on ").nth(1) {
            break url.trim().to_owned();
        }
    };
    let addr = base.trim_start_matches("http://").to_owned();

    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let login = r#"{"username": "demo", "password": "demo-password"}"#;
    let request = post("/api/token/", login, "Connection: close\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body["access"].is_string());
    assert!(data.path().join("dev-signing-key").exists());

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// Production's logs, from the real binary: an access line per request, naming it, and every
/// line written before the process exits, though lines are written by a thread of their own.
#[tokio::test]
async fn the_binary_logs_json_access_lines_and_writes_its_last_line_before_exiting() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .args(["--environment", "development", "--addr", "127.0.0.1:0"])
        .args(["--log-json", "--no-book"])
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("JWT_SIGNING_KEY")
        .env_remove("JWT_SIGNING_KEY_FILE")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let mut banner = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = banner.next().expect("the banner").unwrap();
        if let Some(url) = line.split("serving on ").nth(1) {
            break url.trim().to_owned();
        }
    };
    // The server may print more; a closed pipe would end it.
    std::thread::spawn(move || banner.for_each(drop));
    let addr = base.trim_start_matches("http://").to_owned();

    for (path, id) in [
        ("/healthz", "json-log-1"),
        ("/nope/?token=a-pasted-secret", "json-log-2"),
    ] {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: {id}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(
            response.contains(&format!("x-request-id: {id}")),
            "{response}"
        );
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());

    let logs = logs.join().unwrap();
    assert!(!logs.contains("a-pasted-secret"), "{logs}");
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access = |id: &str| {
        lines
            .iter()
            .find(|line| line["target"] == "access" && line["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id}:\n{logs}"))
    };
    assert_eq!(
        access("json-log-1")["fields"]["message"],
        "GET /healthz 200"
    );
    assert_eq!(access("json-log-2")["fields"]["message"], "GET /nope/ 404");
    assert_eq!(access("json-log-2")["spans"][0]["path"], "/nope/");
    let last = lines.last().expect("some lines");
    assert_eq!(last["fields"]["message"], "stopped", "{logs}");
}

/// A client that starts a request and never finishes its headers ("slowloris") must not hold a
/// connection forever. The limit is made short here; the test waits for the server to hang up,
/// not for a fixed time.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ConnectionLimits {
        header_timeout: std::time::Duration::from_millis(200),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, app.router.clone(), limits, async {
        let _ = stopped.await;
    }));

    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /hello/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        slow.read_to_end(&mut answer),
    )
    .await;
    assert!(closed.is_ok(), "the server still holds the connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A client that sends its request promptly is still served.
    let mut prompt = TcpStream::connect(addr).await.unwrap();
    prompt
        .write_all(post("/api/token/", LOGIN, "Connection: close\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    prompt.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
