//! The real server binary and Debian's headless Chromium, for the tests of the pages the server
//! ships (the token inspector, the class view). Each test binary that includes this module uses
//! a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

/// Debian's package puts it here; `.ci/run` installs it.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Long enough for a cold Chromium on a busy two-core machine; only a hang gets near it.
pub const CHROMIUM_DEADLINE: Duration = Duration::from_secs(120);

// -------------------------------------------------------------------------------------------
// The server.

/// The real binary on a free port, with its own data directory. Killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    pub data: tempfile::TempDir,
    /// The messages of its access-log lines ("GET /inspector/ 200"), as it writes them.
    access: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Server::start_with(&[], extra, tempfile::tempdir().unwrap())
    }

    /// A subcommand (`classroom --students …`, say; none serves), in the data directory given.
    pub fn start_with(subcommand: &[&str], extra: &[&str], data: tempfile::TempDir) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"));
        command.args(subcommand);
        // Configured by its flags alone: no key, algorithm or database from the environment.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("JWT_") || name == "DATABASE_URL" {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args([
                "--addr",
                "127.0.0.1:0",
                "--no-book",
                "--environment",
                "development",
            ])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--log-json")
            .args(extra)
            .env("RUST_LOG", "warn,access=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = BufReader::new(child.stdout.take().unwrap());
        let base = loop {
            let mut line = String::new();
            if banner.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("the server exited before printing its banner");
            }
            if let Some(url) = line.split("serving on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        // Keep reading both streams, so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut banner, &mut std::io::sink()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (sender, access) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if entry["target"] == "access"
                    && let Some(message) = entry["fields"]["message"].as_str()
                    && sender.send(message.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let addr = base.trim_start_matches("http://").to_owned();
        Server {
            child,
            addr,
            data,
            access,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// One request over a fresh connection: the status and the body.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// The demo user's tokens: `{"refresh", "access"}`.
    pub fn log_in(&self) -> Value {
        let credentials = json!({"username": "demo", "password": "demo-password"});
        let (status, body) = self.request("POST", "/api/token/", Some(&credentials));
        assert_eq!(status, 200, "logging in as the demo user: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The demo user's access token.
    pub fn access_token(&self) -> String {
        self.log_in()["access"].as_str().unwrap().to_owned()
    }

    /// Every request the server has finished since the last call. A request of our own marks
    /// the end, so nothing still on its way through the log pipe is missed.
    pub fn requests_seen(&self) -> Vec<String> {
        let marker = "/healthz?marker";
        let (status, _) = self.request("GET", marker, None);
        assert_eq!(status, 200);
        let mut seen = Vec::new();
        loop {
            let message = self
                .access
                .recv_timeout(Duration::from_secs(30))
                .expect("the server logs every request it answers");
            // The query string is never logged.
            if message.starts_with("GET /healthz ") {
                return seen;
            }
            seen.push(message);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// -------------------------------------------------------------------------------------------
// Headless Chromium, run once per page.

pub fn chromium() -> &'static Path {
    let path = Path::new(CHROMIUM);
    assert!(
        path.exists(),
        "\n\nThe inspector's end-to-end tests need Debian's headless Chromium at {CHROMIUM}, \
         and it is not there.\nInstall it with `sudo apt-get install -y chromium` (as .ci/run \
         does), or run the other tests without --ignored.\n\n"
    );
    path
}

/// The flags every run shares: headless, no sandbox (CI runs as root in a container), its own
/// throw-away profile, and virtual time, so that the page's timers and fetches complete before
/// Chromium dumps or photographs it.
pub fn chromium_command(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// Runs Chromium to the end, killing it if it hangs; its stdout, or a panic with its stderr.
pub fn run_chromium(mut command: Command) -> String {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let output = match receiver.recv_timeout(CHROMIUM_DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("chromium did not finish within {CHROMIUM_DEADLINE:?}");
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed ({}):\n{stderr}",
        output.status
    );
    // The page must not throw, and must write nothing to the console: a console is one more
    // place a token could leak to.
    for line in stderr.lines() {
        assert!(
            !line.contains("CONSOLE") && !line.contains("Uncaught"),
            "the page wrote to the console or threw: {line}"
        );
    }
    String::from_utf8(output.stdout).unwrap()
}

// -------------------------------------------------------------------------------------------
// Chromium driven through the DevTools protocol, for what a learner does with the mouse.

/// A headless Chromium that takes DevTools commands over a pipe (`--remote-debugging-pipe`):
/// commands on its file descriptor 3, answers and events on 4, each a JSON text ended by a NUL.
/// One page, attached to as a session.
pub struct Browser {
    child: Child,
    commands: std::io::PipeWriter,
    messages: BufReader<std::io::PipeReader>,
    /// Events that arrived while waiting for an answer.
    pub events: Vec<Value>,
    next_id: u64,
    session: Option<String>,
    stop_watchdog: mpsc::Sender<()>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (their_commands, commands) = std::io::pipe().unwrap();
        let (messages, their_messages) = std::io::pipe().unwrap();
        let (read_fd, write_fd) = (their_commands.as_raw_fd(), their_messages.as_raw_fd());
        let mut command = chromium_command(profile.path());
        command
            .args(["--remote-debugging-pipe", "about:blank"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec the closure only calls fcntl and dup2, which are
        // async-signal-safe. Both ends are first moved above 3 and 4, so neither dup2 can
        // overwrite the other before it is copied.
        unsafe {
            command.pre_exec(move || {
                let read = libc::fcntl(read_fd, libc::F_DUPFD, 10);
                let write = libc::fcntl(write_fd, libc::F_DUPFD, 10);
                if read < 0 || write < 0 || libc::dup2(read, 3) < 0 || libc::dup2(write, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("starting chromium");
        // Only Chromium holds these ends now, so its exit closes the pipe.
        drop((their_commands, their_messages));
        let (stop_watchdog, stopped) = mpsc::channel::<()>();
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHROMIUM_DEADLINE) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        let mut browser = Browser {
            child,
            commands,
            messages: BufReader::new(messages),
            events: Vec::new(),
            next_id: 1,
            session: None,
            stop_watchdog,
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        browser.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser.call("Log.enable", json!({}));
        browser
    }

    /// Sends a command (to the page, once attached) and waits for its answer.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        let mut bytes = command.to_string().into_bytes();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let message = self.next_message(method);
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("DevTools refused {method}: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    pub fn next_message(&mut self, waiting_for: &str) -> Value {
        let mut bytes = Vec::new();
        let read = self.messages.read_until(0, &mut bytes).unwrap();
        assert!(
            read > 0,
            "chromium went away while we waited for {waiting_for}"
        );
        bytes.pop();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Loads a page and waits until it says it is ready.
    pub fn open(&mut self, url: &str) {
        self.events
            .retain(|event| event["method"] != "Page.loadEventFired");
        self.call("Page.navigate", json!({"url": url}));
        while !self
            .events
            .iter()
            .any(|event| event["method"] == "Page.loadEventFired")
        {
            let message = self.next_message("the page to load");
            self.events.push(message);
        }
        self.wait_for("document.body.getAttribute('data-ready') === 'true'");
    }

    /// The value of a JavaScript expression in the page (a promise is awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let answer = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(exception) = answer.get("exceptionDetails") {
            panic!(
                "{expression}\nthrew: {}",
                exception["exception"]["description"]
            );
        }
        answer["result"]["value"].clone()
    }

    /// Waits, inside the page, until a JavaScript expression is truthy; its value.
    pub fn wait_for(&mut self, condition: &str) -> Value {
        let quoted = serde_json::to_string(condition).unwrap();
        self.eval(&format!(
            "new Promise((resolve, reject) => {{
                const started = Date.now();
                const poll = () => {{
                    let value;
                    try {{ value = ({condition}); }} catch (error) {{ value = undefined; }}
                    if (value) resolve(value);
                    else if (Date.now() - started > 20000) reject(new Error('gave up waiting for ' + {quoted}));
                    else setTimeout(poll, 20);
                }};
                poll();
            }})"
        ))
    }

    /// The text of the element with this id.
    pub fn text_of(&mut self, id: &str) -> String {
        let value = self.eval(&format!("document.getElementById('{id}').textContent"));
        value.as_str().unwrap_or_default().to_owned()
    }

    pub fn log_in(&mut self, username: &str, password: &str) {
        self.eval(&format!(
            "document.getElementById('login-username').value = {};
             document.getElementById('login-password').value = {};
             document.getElementById('login-form').requestSubmit();",
            json!(username),
            json!(password)
        ));
    }

    /// Nothing written to the console, nothing thrown, nothing the browser objected to (a
    /// Content-Security-Policy violation, say). The browser's notes on the answers it got
    /// (a 401 is "Failed to load resource") are the expected ones.
    pub fn assert_quiet(&mut self) {
        for event in &self.events {
            let complaint = match event["method"].as_str() {
                Some("Runtime.consoleAPICalled" | "Runtime.exceptionThrown") => true,
                Some("Log.entryAdded") => event["params"]["entry"]["source"] != "network",
                _ => false,
            };
            assert!(
                !complaint,
                "the page wrote to the console or threw: {event}"
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.stop_watchdog.send(());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
