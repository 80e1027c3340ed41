//! The binary's subcommands, run as a person or a deployment script would run them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("JWT_SIGNING_KEY")
        .env_remove("JWT_SIGNING_KEY_FILE")
        .env_remove("JWT_WORKBOOK_ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_are_managed_non_interactively() {
    let data = tempfile::tempdir().unwrap();
    let created = run(
        data.path(),
        &["user", "create", "alice", "--password-stdin"],
        "s3cret\n",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains(r#"created user "alice" (id 1)"#));

    let again = run(
        data.path(),
        &["user", "create", "alice", "--password", "x"],
        "",
    );
    assert!(!again.status.success());
    assert_eq!(
        text(&again.stderr).trim(),
        r#"error: a user named "alice" already exists"#
    );

    let deactivated = run(data.path(), &["user", "deactivate", "alice"], "");
    assert!(deactivated.status.success());
    let listed = text(&run(data.path(), &["user", "list"], "").stdout);
    assert!(listed.contains("     1  no        alice"), "{listed}");

    let changed = run(
        data.path(),
        &["user", "set-password", "alice", "--password-stdin"],
        "n3w\n",
    );
    assert!(changed.status.success(), "{}", text(&changed.stderr));
    let nobody = run(data.path(), &["user", "activate", "bob"], "");
    assert_eq!(
        text(&nobody.stderr).trim(),
        r#"error: there is no user named "bob""#
    );
}

#[test]
fn bad_input_gets_a_readable_message_not_a_panic() {
    let data = tempfile::tempdir().unwrap();
    let empty = run(
        data.path(),
        &["user", "create", "bob", "--password-stdin"],
        "",
    );
    assert_eq!(
        text(&empty.stderr).trim(),
        "error: no password on standard input"
    );
    let bad_name = run(
        data.path(),
        &["user", "create", "bo b", "--password", "x"],
        "",
    );
    assert!(
        text(&bad_name.stderr).contains("invalid username"),
        "{}",
        text(&bad_name.stderr)
    );
    let bad_duration = run(data.path(), &["serve", "--access-lifetime", "soon"], "");
    assert!(!bad_duration.status.success());
    assert!(text(&bad_duration.stderr).contains("use a number with s, m, h or d"));
}

#[test]
fn production_refuses_to_start_without_a_strong_key() {
    let data = tempfile::tempdir().unwrap();
    let no_key = run(data.path(), &["--environment", "production", "serve"], "");
    assert!(!no_key.status.success());
    assert!(
        text(&no_key.stderr).contains("no signing key"),
        "{}",
        text(&no_key.stderr)
    );

    let weak = run(
        data.path(),
        &[
            "--environment",
            "production",
            "serve",
            "--signing-key",
            "secret",
        ],
        "",
    );
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("at least 32 bytes"),
        "{}",
        text(&weak.stderr)
    );
}

#[test]
fn cleanup_reports_what_it_deleted() {
    let data = tempfile::tempdir().unwrap();
    let cleaned = run(data.path(), &["cleanup"], "");
    assert!(cleaned.status.success(), "{}", text(&cleaned.stderr));
    assert_eq!(
        text(&cleaned.stdout).trim(),
        "deleted 0 expired revoked-token record(s)"
    );
}
