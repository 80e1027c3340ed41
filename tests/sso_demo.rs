//! Single sign-on you can watch, in Debian's headless Chromium: the real server with an RS256
//! key pair (the provider) and `sso-demo`'s two apps. Signing in to the first asks for the
//! password; opening the second signs in without one (the provider's session cookie); logging
//! out of the second ends the provider's session and, through the front-channel logout frames
//! of the provider's "signed out" page, the first app's session too. No page runs a script.
//!
//! Chromium is not needed for `cargo test`, so this test is ignored; `.ci/run` runs
//! `cargo test --test sso_demo -- --ignored`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/processes.rs"]
#[allow(dead_code)]
mod processes;

use chromium::Browser;
use processes::Group;

fn workbook(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("JWT_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command.arg("--data-dir").arg(data);
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `command` and waits until its standard output has said `serving on` `times` times.
fn start(command: &mut Command, times: usize) -> Group {
    command.env("RUST_LOG", "warn").stdout(Stdio::piped());
    let mut group = Group::spawn(command);
    let mut out = BufReader::new(group.0.stdout.take().unwrap());
    let mut seen = 0;
    while seen < times {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "{command:?} exited before serving"
        );
        seen += usize::from(line.contains("serving on "));
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    group
}

/// Runs `script` in the page (a click, a submit) and waits for the page it leads to.
fn navigate_by(browser: &mut Browser, script: &str) {
    browser
        .events
        .retain(|event| event["method"] != "Page.loadEventFired");
    browser.eval(&format!("setTimeout(() => {{ {script} }}, 0); true"));
    while !browser
        .events
        .iter()
        .any(|event| event["method"] == "Page.loadEventFired")
    {
        let message = browser.next_message("the next page to load");
        browser.events.push(message);
    }
    browser.wait_for("document.body && document.body.getAttribute('data-ready') === 'true'");
}

fn status(browser: &mut Browser) -> String {
    browser
        .eval("document.getElementById('status').dataset.state")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn location(browser: &mut Browser) -> String {
    browser.eval("location.href").as_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test sso_demo -- --ignored (.ci/run does)"]
fn signing_in_to_one_app_signs_in_to_the_other_and_logging_out_ends_both() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let _server = start(
        workbook(data.path())
            .args([
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--public-url",
                &issuer,
            ])
            .args([
                "--no-book",
                "--environment",
                "development",
                "--algorithm",
                "RS256",
            ]),
        1,
    );
    let (first_port, second_port) = (free_port(), free_port());
    let _apps = start(
        workbook(data.path()).args([
            "sso-demo",
            "--issuer",
            &issuer,
            "--first-port",
            &first_port.to_string(),
            "--second-port",
            &second_port.to_string(),
        ]),
        2,
    );
    let notes = format!("http://127.0.0.1:{first_port}");
    let calendar = format!("http://127.0.0.1:{second_port}");

    let mut browser = Browser::launch();
    browser.open(&format!("{notes}/"));
    assert_eq!(status(&mut browser), "out");

    // The first app: the provider's own login page asks for the password.
    browser.open(&format!("{notes}/login"));
    assert!(location(&mut browser).starts_with(&format!("{issuer}/oidc/authorize?")));
    assert!(browser.text_of("sign-in").contains("Sign in"));
    navigate_by(
        &mut browser,
        "document.getElementById('username').value = 'demo';
         document.getElementById('password').value = 'demo-password';
         document.querySelector('form').requestSubmit();",
    );
    assert_eq!(location(&mut browser), format!("{notes}/"));
    assert_eq!(status(&mut browser), "in");
    assert_eq!(browser.text_of("username"), "demo");

    // The second app: straight back, signed in, no password asked.
    browser.open(&format!("{calendar}/"));
    assert_eq!(status(&mut browser), "out");
    browser.open(&format!("{calendar}/login"));
    assert_eq!(location(&mut browser), format!("{calendar}/"));
    assert_eq!(status(&mut browser), "in");
    assert_eq!(browser.text_of("username"), "demo");

    // Logging out of the second: the provider's page loads both apps' front-channel logout
    // pages in frames (its load event waits for them), then moves on.
    browser.open(&format!("{calendar}/logout"));
    assert!(location(&mut browser).starts_with(&format!("{issuer}/oidc/logout?")));
    assert_eq!(browser.text_of("signed-out"), "You are signed out");
    let frames = browser.eval("document.querySelectorAll('iframe').length");
    assert_eq!(frames, 2);
    browser.open(&format!("{notes}/"));
    assert_eq!(
        status(&mut browser),
        "out",
        "the first app's session ended too"
    );
    browser.open(&format!("{calendar}/"));
    assert_eq!(status(&mut browser), "out");

    // And the provider asks for the password again.
    browser.open(&format!("{notes}/login"));
    assert!(location(&mut browser).starts_with(&format!("{issuer}/oidc/authorize?")));
    browser.assert_quiet();
}
