//! The class view (`/class/`) end to end: the real `classroom` command with its accounts file,
//! learners submitting with `progress --submit`'s own client, and the page in Debian's headless
//! Chromium, driven through the DevTools protocol as the instructor would use it. The access
//! tokens live two seconds, so the test sees the page renew its token again and again and keep
//! reading the view after its first token has expired; it waits for the page to say so (a
//! bounded poll of the DOM), never for a fixed time. A screenshot is kept as a test artefact:
//! `target/class-view-screenshot.png`.
//!
//! Chromium is not needed for `cargo test`, so this test is ignored; run it with
//! `cargo test --test class_page -- --ignored` (`.ci/run` installs Debian's `chromium` and does).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jwt_workbook::classroom::{ChapterProgress, ProgressReport};
use jwt_workbook::commands::progress::submit_report;
use serde_json::{Value, json};

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{Browser, Server};

/// A zone without daylight saving whose offset (+05:30) moves the minutes too, so a time shown
/// in UTC, or in the machine's zone, cannot pass for it.
const ZONE: &str = "Asia/Kolkata";
const ZONE_OFFSET: i64 = 5 * 3600 + 30 * 60;

/// `classroom` for alice, bob and carol, with two-second access tokens; and the accounts it
/// wrote, by username.
fn classroom() -> (Server, BTreeMap<String, String>) {
    let data = tempfile::tempdir().unwrap();
    let students = data.path().join("students.txt");
    std::fs::write(&students, "alice\nbob\ncarol  # back row\n").unwrap();
    let students = students.to_str().unwrap().to_owned();
    let server = Server::start_with(
        &[
            "classroom",
            "--students",
            &students,
            "--instructor",
            "teacher",
        ],
        &["--access-lifetime", "2s"],
        data,
    );
    // Where git ignores it: in the data directory, not in the folder the command ran from.
    let csv = std::fs::read_to_string(server.data.path().join("classroom-accounts.csv"))
        .expect("classroom writes its accounts into the data directory");
    let accounts = csv
        .lines()
        .skip(1)
        .map(|line| {
            let (name, password) = line.split_once(',').unwrap();
            (name.to_owned(), password.to_owned())
        })
        .collect();
    (server, accounts)
}

fn chapter(name: &str, solved: u32, total: u32, builds: bool) -> ChapterProgress {
    ChapterProgress {
        chapter: name.into(),
        solved,
        total,
        next_step: (builds && solved < total).then_some(solved + 1),
        builds,
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `HH:MM` of a Unix instant, in [`ZONE`].
fn local_clock(seconds: i64) -> String {
    let local = (seconds + ZONE_OFFSET).rem_euclid(86_400);
    format!("{:02}:{:02}", local / 3600, local / 60 % 60)
}

/// What the page's table shows, row by row: the learner, their cells' text, and each chapter
/// cell's bar.
fn table(browser: &mut Browser) -> Value {
    browser.eval(
        "({
            chapters: [...document.querySelectorAll('#class-head th[data-chapter]')]
                .map(th => th.dataset.chapter),
            rows: Object.fromEntries([...document.querySelectorAll('#class-body tr[data-username]')]
                .map(tr => [tr.dataset.username, {
                    submitted: tr.querySelector('.submitted').textContent,
                    time: tr.querySelector('.submitted time')?.textContent ?? null,
                    working_on: tr.querySelector('.working-on').textContent,
                    all: tr.querySelector('td.all progress')
                        ? tr.querySelector('td.all progress').value + '/'
                            + tr.querySelector('td.all progress').max
                        : null,
                    chapters: Object.fromEntries([...tr.querySelectorAll('td[data-chapter]')]
                        .map(td => [td.dataset.chapter, {
                            bar: td.querySelector('progress')
                                ? td.querySelector('progress').value + '/' + td.querySelector('progress').max
                                : null,
                            text: td.textContent,
                        }])),
                }])),
        })",
    )
}

fn log_in_and_wait(browser: &mut Browser, username: &str, password: &str) -> (String, String) {
    browser.eval(
        "document.getElementById('login-status').dataset.state = 'waiting';
         document.getElementById('view-status').dataset.state = 'waiting';",
    );
    browser.log_in(username, password);
    browser.wait_for(
        "['ok', 'error'].includes(document.getElementById('view-status').dataset.state)
         || document.getElementById('login-status').dataset.state === 'error'",
    );
    let state = browser.eval(
        "document.getElementById('login-status').dataset.state === 'error' ? 'refused' : 'in'",
    );
    let says = browser.text_of("login-status");
    (state.as_str().unwrap().to_owned(), says)
}

#[test]
#[ignore = "needs Debian's chromium: cargo test --test class_page -- --ignored (.ci/run does)"]
fn the_instructor_sees_the_room_and_the_page_outlives_its_tokens() {
    let (server, accounts) = classroom();
    assert_eq!(
        accounts.keys().collect::<Vec<_>>(),
        ["alice", "bob", "carol", "teacher"]
    );
    let room = server.url("");
    let before = now();
    let alice = ProgressReport {
        chapters: vec![
            chapter("01-anatomy", 6, 6, true),
            chapter("02-claims", 2, 6, true),
        ],
    };
    submit_report(&room, "alice", &accounts["alice"], &alice).unwrap();
    let bob = ProgressReport {
        chapters: vec![chapter("01-anatomy", 0, 6, false)],
    };
    submit_report(&room, "bob", &accounts["bob"], &bob).unwrap();
    let after = now();
    server.requests_seen();

    let mut browser = Browser::launch();
    browser.call(
        "Emulation.setTimezoneOverride",
        json!({ "timezoneId": ZONE }),
    );
    browser.open(&server.url("/class/"));

    // Wrong doors first: a learner's account, then a wrong password. Clear words, no view.
    let (state, says) = log_in_and_wait(&mut browser, "alice", &accounts["alice"]);
    assert_eq!(state, "refused", "{says}");
    assert!(says.contains("not the instructor"), "{says}");
    let (state, says) = log_in_and_wait(&mut browser, "teacher", "not-the-password");
    assert_eq!(state, "refused", "{says}");
    assert!(says.contains("No active account"), "{says}");
    assert_eq!(
        browser.eval("document.getElementById('class-section').hidden"),
        json!(true)
    );

    let (state, says) = log_in_and_wait(&mut browser, "teacher", &accounts["teacher"]);
    assert_eq!(state, "in", "{says}");
    assert_eq!(
        browser.eval("document.getElementById('login-section').hidden"),
        json!(true)
    );
    assert_eq!(
        browser.eval("document.getElementById('login-password').value"),
        json!(""),
        "the password does not stay in the form"
    );

    let view = table(&mut browser);
    assert_eq!(view["chapters"], json!(["01-anatomy", "02-claims"]));
    let rows = &view["rows"];
    assert_eq!(
        rows.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alice", "bob", "carol"],
        "every learner, the instructor left out: {view}"
    );
    assert_eq!(rows["alice"]["working_on"], "02-claims step 3");
    assert_eq!(rows["alice"]["all"], "8/12");
    assert_eq!(rows["alice"]["chapters"]["01-anatomy"]["bar"], "6/6");
    assert_eq!(rows["alice"]["chapters"]["02-claims"]["bar"], "2/6");
    assert!(
        rows["alice"]["chapters"]["02-claims"]["text"]
            .as_str()
            .unwrap()
            .contains("step 3"),
        "{view}"
    );
    assert!(
        rows["bob"]["chapters"]["01-anatomy"]["text"]
            .as_str()
            .unwrap()
            .contains("does not compile"),
        "{view}"
    );
    assert_eq!(rows["bob"]["chapters"]["02-claims"]["bar"], json!(null));
    assert_eq!(rows["carol"]["submitted"], "not submitted yet");
    assert_eq!(rows["carol"]["time"], json!(null));
    assert_eq!(rows["carol"]["all"], json!(null));

    // The submission time, as a clock in the browser's zone reads it.
    let shown = rows["alice"]["time"].as_str().unwrap().to_owned();
    let expected: Vec<String> = (before..=after).map(local_clock).collect();
    assert!(
        expected.iter().any(|clock| shown.ends_with(clock.as_str())),
        "alice submitted at {expected:?} in {ZONE}; the page says {shown:?}"
    );

    // The page renews its two-second token by itself. Two renewals later the token it logged
    // in with has expired, and the view still opens.
    browser.wait_for("Number(document.getElementById('session-status').dataset.renewals) >= 2");
    browser.eval(
        "document.getElementById('view-status').dataset.state = 'waiting';
         document.getElementById('reload-button').click();",
    );
    browser.wait_for("document.getElementById('view-status').dataset.state === 'ok'");
    let renewed = browser.text_of("session-status");
    assert!(renewed.contains("Token renewed"), "{renewed}");
    let requests = server.requests_seen();
    let renewals = requests
        .iter()
        .filter(|r| r.starts_with("POST /api/token/refresh/ 200"))
        .count();
    assert!(renewals >= 2, "renewed {renewals} times: {requests:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /api/class/ 200")),
        "{requests:?}"
    );

    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1300, "height": 520, "deviceScaleFactor": 1, "mobile": false }),
    );
    let shot = browser.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    let path = Path::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("class-view-screenshot.png");
    std::fs::write(&path, png).unwrap();

    // Logging out forgets the tokens and revokes the refresh token on the server.
    browser.eval("document.getElementById('logout-button').click()");
    browser.wait_for("!document.getElementById('login-section').hidden");
    browser.wait_for("document.getElementById('login-status').textContent === 'Logged out.'");
    let requests = server.requests_seen();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /api/token/blacklist/ 200")),
        "{requests:?}"
    );
    browser.assert_quiet();
}
