//! The token inspector (`/inspector/`) end to end: the real server binary, a real token from
//! the demo user, and the page rendered by Debian's headless Chromium. Most tests read the DOM
//! Chromium dumps after the page has taken a token from its URL fragment; one drives the page
//! through the DevTools protocol to log in, check a typed secret and ask the server about
//! revocation. The server's access log shows what the page sent: nothing but the calls the
//! learner asked for. A screenshot is kept as a test artefact: `target/inspector-screenshot.png`.
//!
//! Chromium is not needed for `cargo test`, so these tests are ignored; run them with
//! `cargo test --test inspector -- --ignored` (`.ci/run` installs Debian's `chromium` and does).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{Browser, Server, chromium_command, run_chromium};

/// The page as Chromium leaves it once virtual time has run out: the serialised DOM.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = chromium_command(profile.path());
    command.args(["--virtual-time-budget=5000", "--dump-dom", url]);
    let dom = run_chromium(command);
    assert!(
        dom.contains("<body data-ready=\"true\">"),
        "the page never said it was ready:\n{dom}"
    );
    dom
}

/// A PNG of the page, 1200 pixels wide.
fn screenshot(url: &str, path: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let mut command = chromium_command(profile.path());
    command
        .args([
            "--virtual-time-budget=5000",
            "--window-size=1200,1600",
            // Every part of the page painted before the picture is taken.
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--screenshot={}", path.display()))
        .arg(url);
    run_chromium(command);
}

fn inspector_url(server: &Server, token: &str) -> String {
    server.url(&format!("/inspector/#token={token}"))
}

// -------------------------------------------------------------------------------------------
// What only the inspector's page has.

impl Browser {
    /// Waits until a checklist item has this status; its sentence.
    fn wait_for_check(&mut self, name: &str, status: &str) -> String {
        self.wait_for(&format!(
            "document.getElementById('check-{name}').getAttribute('data-status') === '{status}'"
        ));
        self.text_of(&format!("check-{name}"))
    }
    fn check_secret(&mut self, secret: &str) {
        self.eval(&format!(
            "document.getElementById('check-signature').setAttribute('data-status', 'waiting');
             document.getElementById('secret-input').value = {};
             document.getElementById('secret-form').requestSubmit();",
            json!(secret)
        ));
    }
    fn warnings(&mut self) -> Value {
        self.eval("[...document.querySelectorAll('#warnings [data-warning]')].map(w => w.dataset.warning)")
    }
}

// -------------------------------------------------------------------------------------------
// Reading the dumped DOM.

/// The outer HTML of the element with this id.
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let needle = format!(" id=\"{id}\"");
    let at = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("no element with id {id:?} in the page:\n{dom}"));
    let start = dom[..at].rfind('<').unwrap();
    let tag: String = dom[start + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 0;
    let mut i = start;
    loop {
        let next_open = dom[i + 1..]
            .match_indices(&open)
            .map(|(j, _)| i + 1 + j)
            .find(|&j| matches!(dom.as_bytes()[j + open.len()], b' ' | b'>'));
        let next_close = dom[i + 1..]
            .find(&close)
            .map(|j| i + 1 + j)
            .unwrap_or_else(|| panic!("<{tag} id={id:?}> is never closed"));
        match next_open {
            Some(j) if j < next_close => {
                depth += 1;
                i = j;
            }
            _ if depth == 0 => return &dom[start..next_close + close.len()],
            _ => {
                depth -= 1;
                i = next_close;
            }
        }
    }
}

/// What a reader sees of some HTML: its text, tags removed, entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The ✓/✗/– of a checklist item, and its sentence.
fn check(dom: &str, name: &str) -> (String, String) {
    let item = element(dom, &format!("check-{name}"));
    let status = item
        .split("data-status=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("check-{name} has no status: {item}"))
        .to_owned();
    (status, text(item))
}

fn assert_check(dom: &str, name: &str, status: &str, says: &str) {
    let (actual, sentence) = check(dom, name);
    assert_eq!(actual, status, "checklist item {name}: {sentence}");
    assert!(
        sentence.contains(says),
        "checklist item {name} should say {says:?}: {sentence}"
    );
}

/// The `data-warning` keys shown, in order.
fn warnings(dom: &str) -> Vec<String> {
    let list = element(dom, "warnings");
    list.split("data-warning=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn warning_text(dom: &str, key: &str) -> String {
    let list = element(dom, "warnings");
    let at = list
        .find(&format!("data-warning=\"{key}\""))
        .unwrap_or_else(|| panic!("no {key} warning: {}", text(list)));
    let end = list[at..].find("</li>").unwrap();
    text(&list[at..at + end])
}

/// The row of a claim: its kind, and what it shows.
fn claim(dom: &str, name: &str) -> (String, String) {
    let row = element(dom, &format!("claim-{name}"));
    let kind = row
        .split("data-kind=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (kind, text(row))
}

// -------------------------------------------------------------------------------------------
// Tokens.

fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    [parts[0].into(), parts[1].into(), parts[2].into()]
}

fn payload(token: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(&segments(token)[1]).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn encode(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM:SS UTC`, as chapter 1 writes dates.
fn utc(seconds: i64) -> String {
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

/// Where Cargo builds: the directory above the one our binary is in.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_owned()
}

/// Only the page's own files, and at most the public keys: a fragment reaches no server.
fn assert_only_page_files_were_fetched(requests: &[String], token: &str) {
    assert!(!requests.is_empty(), "Chromium never asked for the page");
    for request in requests {
        assert!(
            request.starts_with("GET /inspector/ ")
                || request.starts_with("GET /inspector/inspector.js ")
                || request.starts_with("GET /inspector/inspector.css ")
                || request.starts_with("GET /.well-known/jwks.json "),
            "the page sent a request it had no business sending: {request}"
        );
        assert!(request.ends_with(" 200"), "{request}");
        assert!(!request.contains(&token[..20]));
    }
}

// -------------------------------------------------------------------------------------------
// The tests.

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn a_real_token_is_taken_apart_and_sent_nowhere() {
    let server = Server::start(&[]);
    let token = server.access_token();
    let claims = payload(&token);
    let [header_text, payload_text, signature_text] = segments(&token);
    server.requests_seen();

    let dom = dump_dom(&inspector_url(&server, &token));

    // The three parts, each in its colour, exactly as they are in the token.
    let parts = element(&dom, "token-parts");
    for (part, segment) in [
        ("header", &header_text),
        ("payload", &payload_text),
        ("signature", &signature_text),
    ] {
        assert!(
            parts.contains(&format!(
                "<span class=\"part part-{part}\" data-part=\"{part}\">{segment}</span>"
            )),
            "the {part} is not shown as its own coloured segment: {parts}"
        );
    }
    // Decoded and pretty-printed.
    let decoded_header = text(element(&dom, "decoded-header"));
    assert!(
        decoded_header.contains("\"alg\": \"HS256\""),
        "{decoded_header}"
    );
    let decoded_payload = text(element(&dom, "decoded-payload"));
    assert!(
        decoded_payload.contains(&format!("\"jti\": \"{}\"", claims["jti"].as_str().unwrap())),
        "{decoded_payload}"
    );
    assert!(text(element(&dom, "decoded-signature")).contains("32 bytes made with HS256"));

    // Every claim, with its kind; times in UTC and relative to now.
    let expected = [
        ("token_type", "private", "simplejwt"),
        ("exp", "registered", "Expiration time"),
        ("iat", "registered", "Issued at"),
        ("jti", "registered", "JWT ID"),
        ("user_id", "private", "simplejwt"),
    ];
    for (name, kind, explanation) in expected {
        let (actual, row) = claim(&dom, name);
        assert_eq!(actual, kind, "the kind of {name}: {row}");
        assert!(row.contains(kind), "{row}");
        assert!(row.contains(explanation), "{name} is not explained: {row}");
    }
    let exp = claims["exp"].as_i64().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    let (_, exp_row) = claim(&dom, "exp");
    assert!(exp_row.contains(&utc(exp)), "{exp_row}");
    // A five-minute token, rendered a little after it was issued: "in 4 min 53 s".
    assert!(
        exp_row.contains("UTCin ") && exp_row.contains(" min"),
        "{exp_row}"
    );
    let (_, iat_row) = claim(&dom, "iat");
    assert!(iat_row.contains(&utc(iat)), "{iat_row}");
    assert!(iat_row.contains(" ago"), "{iat_row}");
    let countdown = text(element(&dom, "countdown"));
    assert!(
        countdown.starts_with("Expires in ") && countdown.contains(" min"),
        "{countdown}"
    );

    // The checklist: everything a verifier checks, each with its verdict.
    assert_check(&dom, "signature", "skip", "secret that made it");
    assert_check(&dom, "algorithm", "pass", "HS256");
    assert_check(&dom, "exp", "pass", "Not expired");
    assert_check(&dom, "nbf", "skip", "No nbf");
    assert_check(&dom, "iat", "pass", "Issued");
    assert_check(&dom, "type", "pass", "token_type is \"access\"");
    assert_check(&dom, "jti", "pass", claims["jti"].as_str().unwrap());
    assert_check(&dom, "revoked", "skip", "Not asked yet");
    assert!(text(element(&dom, "check-revoked")).contains("/api/token/verify/"));

    // Only the URL warning: a real token is signed, short-lived and holds no personal data.
    assert_eq!(warnings(&dom), ["token-in-url"]);
    assert!(warning_text(&dom, "token-in-url").contains("history"));

    // The fragment never left the browser, and the page asked for nothing but itself.
    assert_only_page_files_were_fetched(&server.requests_seen(), &token);

    // The artefact.
    let path = target_dir().join("inspector-screenshot.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&path);
    screenshot(&inspector_url(&server, &token), &path);
    let png = std::fs::read(&path).expect("chromium wrote the screenshot");
    assert!(png.len() > 10_000, "a screenshot of {} bytes", png.len());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn an_unsigned_token_gets_the_alg_none_warning_and_fails_its_signature() {
    let server = Server::start(&[]);
    let genuine = server.access_token();
    let [_, payload_text, _] = segments(&genuine);
    let unsigned = format!(
        "{}.{payload_text}.",
        encode(&json!({"alg": "none", "typ": "JWT"}))
    );

    let dom = dump_dom(&inspector_url(&server, &unsigned));

    assert_eq!(warnings(&dom), ["token-in-url", "alg-none"]);
    assert!(warning_text(&dom, "alg-none").contains("not signed"));
    assert_check(&dom, "signature", "fail", "alg is none");
    assert_check(&dom, "algorithm", "fail", "never allowed");
    // The claims are still read: decoding is not verifying.
    assert_check(&dom, "exp", "pass", "Not expired");
    assert_eq!(claim(&dom, "token_type").0, "private");
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn a_malformed_token_is_refused_with_the_reason() {
    let server = Server::start(&[]);
    // The tutorial's token from chapter 1, with its signature "helpfully" turned into plain
    // base64, and two of chapter 1's refusals: the messages are chapter 1's, word for word.
    let tutorial = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNTQ1MjI0MjU5LCJqdGkiOiIyYmQ1NjI3MmIzYjI0YjNmOGI1MjJlNThjMzdjMTdlMSIsInVzZXJfaWQiOjF9.D92tTuVi/YcNkJtiLGHtcn6tBcxLCBxz9FKD3qzhUg8";
    let cases = [
        (
            tutorial,
            "the signature has '/' at byte 8, which is not in the base64url alphabet",
        ),
        (
            "eyJhbGciOiJIUzI1NiJ9.e30=.sig",
            "the payload has '=' padding, which base64url in a JWT never has",
        ),
        (
            "eyJhbGciOiJIUzI1NiJ9.e30",
            "a JWT has 3 segments separated by dots; this one has 2",
        ),
        (
            "eyJhbGciOiJIUzI1NiJ9.WzFd.",
            "the payload must be a JSON object, not an array",
        ),
        (
            "eyJ0eXAiOiJKV1QifQ.e30.",
            "the header has no \"alg\" string naming the algorithm",
        ),
    ];
    for (token, reason) in cases {
        let dom = dump_dom(&inspector_url(&server, token));
        assert_eq!(warnings(&dom), ["token-in-url", "malformed"], "{token}");
        assert_eq!(text(element(&dom, "malformed-reason")), reason, "{token}");
        assert!(
            !dom.contains("id=\"checks\""),
            "a malformed token has nothing to check: {token}"
        );
    }
    // The culprit is marked where it stands.
    let dom = dump_dom(&inspector_url(&server, tutorial));
    let parts = element(&dom, "token-parts");
    assert!(
        parts.contains("D92tTuVi<mark class=\"culprit\" title=\"the problem is here\">/</mark>Yc"),
        "{parts}"
    );
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn an_es256_token_is_verified_with_the_servers_jwks() {
    let server = Server::start(&["--algorithm", "ES256"]);
    let token = server.access_token();
    server.requests_seen();

    let dom = dump_dom(&inspector_url(&server, &token));
    assert_check(&dom, "signature", "pass", "Verified with the server's JWKS");
    assert_check(&dom, "signature", "pass", "an ES256 key");
    assert_check(&dom, "algorithm", "pass", "ES256");
    assert_eq!(warnings(&dom), ["token-in-url"]);
    let requests = server.requests_seen();
    assert!(
        requests
            .iter()
            .any(|r| r == "GET /.well-known/jwks.json 200"),
        "{requests:?}"
    );
    assert_only_page_files_were_fetched(&requests, &token);

    // Change one claim and keep the signature: the same key now refuses it.
    let [header_text, _, signature_text] = segments(&token);
    let mut claims = payload(&token);
    claims["user_id"] = json!("2");
    let forged = format!("{header_text}.{}.{signature_text}", encode(&claims));
    let dom = dump_dom(&inspector_url(&server, &forged));
    assert_check(
        &dom,
        "signature",
        "fail",
        "Does not verify with the server's JWKS",
    );

    // The header claims RS256 for the ES256 key: the algorithm comes from the key, so the
    // token is refused without even trying.
    let mut header =
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(&header_text).unwrap()).unwrap();
    header["alg"] = json!("RS256");
    let confused = format!(
        "{}.{}.{signature_text}",
        encode(&header),
        segments(&token)[1]
    );
    let dom = dump_dom(&inspector_url(&server, &confused));
    assert_check(
        &dom,
        "signature",
        "fail",
        "The algorithm comes from the key",
    );
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn an_eddsa_token_is_verified_with_the_servers_jwks() {
    let server = Server::start(&["--algorithm", "EdDSA"]);
    let token = server.access_token();
    let dom = dump_dom(&inspector_url(&server, &token));
    assert_check(&dom, "signature", "pass", "Verified with the server's JWKS");
    assert_check(&dom, "signature", "pass", "an EdDSA key");
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn a_token_signed_with_a_well_known_secret_is_called_out() {
    let server = Server::start(&["--signing-key", "your-256-bit-secret"]);
    let token = server.access_token();
    let dom = dump_dom(&inspector_url(&server, &token));
    assert_check(&dom, "signature", "fail", "\"your-256-bit-secret\"");
    assert_eq!(warnings(&dom), ["token-in-url", "weak-secret"]);
    assert!(warning_text(&dom, "weak-secret").contains("Anyone can forge"));
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn personal_data_and_a_long_lifetime_are_warned_about() {
    let server = Server::start(&[]);
    let claims = json!({
        "token_type": "access",
        "exp": 4_102_444_800_i64,
        "iat": 1_700_000_000,
        "jti": "1",
        "user_id": "1",
        "email": "ada@example.com",
        "http://example.com/is_root": true,
        "scope": "read",
    });
    let token = format!(
        "{}.{}.c2ln",
        encode(&json!({"alg": "HS256", "typ": "JWT"})),
        encode(&claims)
    );
    let dom = dump_dom(&inspector_url(&server, &token));
    assert_eq!(
        warnings(&dom),
        ["token-in-url", "long-lifetime", "personal-data"]
    );
    assert!(warning_text(&dom, "personal-data").contains("email"));
    assert_eq!(claim(&dom, "email").0, "public");
    assert_eq!(claim(&dom, "scope").0, "public");
    let table = text(element(&dom, "claims"));
    assert!(
        table.contains("http://example.com/is_roottruepublicA collision-resistant name"),
        "{table}"
    );
}

#[test]
#[ignore = "needs Debian's chromium: run with --ignored (.ci/run installs it and does)"]
fn logging_in_checking_a_secret_and_asking_about_revocation_work_in_the_page() {
    let server = Server::start(&["--login-failures-per-user", "1/5m"]);
    let secret = std::fs::read_to_string(server.data.path().join("dev-signing-key")).unwrap();
    let mut browser = Browser::launch();
    browser.open(&server.url("/inspector/"));
    assert!(
        browser
            .text_of("results")
            .contains("Nothing to inspect yet")
    );

    // A wrong password: the server's 401, in words.
    browser.log_in("mallory", "not-the-password");
    let said =
        browser.wait_for("document.getElementById('login-status').textContent.includes('401')");
    assert!(said.is_boolean());
    let status = browser.text_of("login-status");
    assert!(
        status.contains("No active account found with the given credentials"),
        "{status}"
    );
    // Once more: the username is throttled, and the page says for how long.
    browser.log_in("mallory", "still-not-it");
    browser.wait_for("document.getElementById('login-status').textContent.includes('429')");
    let status = browser.text_of("login-status");
    assert!(status.contains("Retry-After: "), "{status}");
    let button = browser.eval(
        "[document.getElementById('login-button').disabled, document.getElementById('login-button').textContent]",
    );
    assert_eq!(button[0], true, "{button}");
    assert!(button[1].as_str().unwrap().contains("wait"), "{button}");

    // Another user is not held back; the access token lands in the inspector.
    browser.log_in("demo", "demo-password");
    browser.wait_for(
        "document.getElementById('login-status').dataset.kind === 'ok' && document.getElementById('check-signature')",
    );
    let access = browser.eval("document.getElementById('token-input').value");
    let access = access.as_str().unwrap().to_owned();
    assert_eq!(payload(&access)["token_type"], "access");
    assert_eq!(
        browser.eval("document.getElementById('login-password').value"),
        ""
    );
    assert_eq!(
        browser.warnings(),
        json!([]),
        "a token from a login is not in a URL"
    );

    // A wrong secret, then the right one: the development key from the data directory.
    browser.check_secret("secret");
    let said = browser.wait_for_check("signature", "fail");
    assert!(said.contains("Does not verify with this secret"), "{said}");
    browser.check_secret(secret.trim());
    let said = browser.wait_for_check("signature", "pass");
    assert!(said.contains("Verified with your secret"), "{said}");
    assert_eq!(
        browser.warnings(),
        json!([]),
        "a 64-byte random key is not weak"
    );

    // Revoked? Not yet.
    browser.eval("document.getElementById('revoked-button').click()");
    let said = browser.wait_for_check("revoked", "pass");
    assert!(said.contains("Not revoked"), "{said}");

    // The refresh token of the same login, after logging out with it: revoked.
    browser.eval("document.querySelector('#login-status button').click()");
    browser.wait_for(
        "document.getElementById('claim-token_type') && document.getElementById('claim-token_type').textContent.includes('refresh')",
    );
    let refresh = browser.eval("document.getElementById('token-input').value");
    let (status, body) = server.request(
        "POST",
        "/api/token/blacklist/",
        Some(&json!({"refresh": refresh})),
    );
    assert_eq!(status, 200, "{body}");
    browser.eval("document.getElementById('revoked-button').click()");
    let said = browser.wait_for_check("revoked", "fail");
    assert!(said.contains("Token is blacklisted"), "{said}");

    // State lives in memory only, and the console stayed empty.
    let stored =
        browser.eval("localStorage.length + sessionStorage.length + document.cookie.length");
    assert_eq!(stored, 0);
    browser.assert_quiet();

    // What reached the server: the page itself, and exactly the calls made above.
    let requests = server.requests_seen();
    let (posts, others): (Vec<&String>, Vec<&String>) =
        requests.iter().partition(|r| r.starts_with("POST "));
    assert_eq!(
        posts,
        [
            "POST /api/token/ 401",
            "POST /api/token/ 429",
            "POST /api/token/ 200",
            "POST /api/token/verify/ 200",
            "POST /api/token/blacklist/ 200",
            "POST /api/token/verify/ 400",
        ]
    );
    let others: Vec<String> = others.into_iter().cloned().collect();
    assert_only_page_files_were_fetched(&others, &access);
}
