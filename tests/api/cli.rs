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
        .env_remove("JWT_KEYS_DIR")
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
        "deleted 0 expired revocation record(s)\n\
         deleted 0 expired sign-in record(s) of the OpenID Connect provider"
    );
}

#[test]
fn client_create_prints_the_id_and_secret_once_and_refuses_a_bad_redirect_uri() {
    let data = tempfile::tempdir().unwrap();
    let created = run(
        data.path(),
        &[
            "client",
            "create",
            "--name",
            "Notes",
            "--redirect-uri",
            "http://127.0.0.1:9001/callback",
        ],
        "",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let printed = text(&created.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let id = lines[0].strip_prefix("client_id=").unwrap();
    assert_eq!(lines[1].strip_prefix("client_secret=").unwrap().len(), 43);
    let public = run(
        data.path(),
        &[
            "client",
            "create",
            "--public",
            "--redirect-uri",
            "http://localhost:5173/",
        ],
        "",
    );
    assert!(!text(&public.stdout).contains("client_secret"));
    let listed = text(&run(data.path(), &["client", "list"], "").stdout);
    assert!(
        listed.contains(&format!(
            "{id}  confidential  Notes  http://127.0.0.1:9001/callback"
        )),
        "{listed}"
    );
    assert!(listed.ends_with("2 client(s)\n"), "{listed}");

    let refused = run(
        data.path(),
        &[
            "client",
            "create",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        "",
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("not a usable redirect URI"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn keys_are_generated_rotated_listed_and_retired() {
    let data = tempfile::tempdir().unwrap();
    let generated = run(
        data.path(),
        &["key", "generate", "--algorithm", "EdDSA"],
        "",
    );
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    assert!(text(&generated.stdout).starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(text(&generated.stderr).contains("generated a EdDSA key, kid "));

    let first = run(data.path(), &["key", "rotate", "--algorithm", "ES256"], "");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("signs from now on"),
        "a ring's first key has nobody to wait for: {}",
        text(&first.stdout)
    );
    // Without --algorithm, a rotation keeps the current signing key's algorithm, and the new
    // key only signs after the activation delay.
    let second = run(data.path(), &["key", "rotate"], "");
    assert!(
        text(&second.stdout).contains("ES256 key")
            && text(&second.stdout).contains("is published now and signs from"),
        "{}",
        text(&second.stdout)
    );
    let listed = text(&run(data.path(), &["key", "list"], "").stdout);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert!(rows[0].contains("published, signs from"), "{listed}");
    assert!(rows[1].ends_with("signs and verifies"), "{listed}");

    let third = run(
        data.path(),
        &[
            "key",
            "rotate",
            "--algorithm",
            "EdDSA",
            "--activate-in",
            "0",
        ],
        "",
    );
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert!(
        text(&third.stderr).contains("will sign with EdDSA")
            && text(&third.stderr).contains("must accept EdDSA"),
        "a change of algorithm is warned about: {}",
        text(&third.stderr)
    );
    let listed = text(&run(data.path(), &["key", "list"], "").stdout);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(rows[0].ends_with("signs and verifies"), "{listed}");
    assert!(rows[1].ends_with("verifies"), "{listed}");
    assert!(rows[2].ends_with("verifies"), "{listed}");
    let kid = |row: &str| row.split_whitespace().next().unwrap().to_owned();
    let (newest, never_signed, oldest) = (kid(rows[0]), kid(rows[1]), kid(rows[2]));

    let refused = run(data.path(), &["key", "retire", &newest], "");
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("rotate first"),
        "{}",
        text(&refused.stderr)
    );
    let too_early = run(data.path(), &["key", "retire", &oldest], "");
    assert!(!too_early.status.success());
    assert!(
        text(&too_early.stderr).contains("can be valid until")
            && text(&too_early.stderr).contains("--force"),
        "{}",
        text(&too_early.stderr)
    );
    let retired = run(data.path(), &["key", "retire", &never_signed], "");
    assert!(retired.status.success(), "{}", text(&retired.stderr));
    let forced = run(data.path(), &["key", "retire", &oldest, "--force"], "");
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    // A kid may begin with `-` (it is base64url): still read as the kid, never as an option.
    let dashed = run(data.path(), &["key", "retire", "-Abc"], "");
    assert!(
        text(&dashed.stderr).contains("has no key \"-Abc\""),
        "{}",
        text(&dashed.stderr)
    );
    let unknown = run(data.path(), &["key", "retire", "../../etc/passwd"], "");
    assert!(
        text(&unknown.stderr).contains("has no key"),
        "{}",
        text(&unknown.stderr)
    );

    let bad = run(data.path(), &["key", "generate", "--algorithm", "none"], "");
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("choose HS256, RS256, ES256 or EdDSA"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_taken_address_is_reported_with_the_flag_and_variable_that_pick_another() {
    let data = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let refused = run(
        data.path(),
        &[
            "serve",
            "--no-book",
            "--no-demo-user",
            "--addr",
            &addr.to_string(),
        ],
        "",
    );
    assert!(!refused.status.success());
    let next = format!("127.0.0.1:{}", addr.port() + 1);
    let said = text(&refused.stderr);
    assert!(
        said.contains(&format!(
            "cannot listen on {addr}: another program is already listening there"
        )),
        "{said}"
    );
    assert!(said.contains(&format!("`--addr {next}`")), "{said}");
    assert!(
        said.contains(&format!("JWT_WORKBOOK_ADDR={next}")),
        "{said}"
    );
}

#[test]
fn logs_written_into_a_pipe_carry_no_escape_sequences() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["user", "list"])
        // sqlx logs every statement at debug level: log lines for certain.
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let logs = text(&output.stderr);
    assert!(logs.contains("DEBUG"), "no log line to look at: {logs}");
    assert!(!logs.contains('\x1b'), "{logs:?}");
}

/// With `JWT_USER_ID_FIELD=username` in the environment (the servers' environment file), a new
/// password revokes what tokens naming the user by username hold; without it, by id.
#[tokio::test]
async fn set_password_revokes_by_the_user_id_field_of_the_environment() {
    use jwt_workbook::tokens::Revocation;
    for (field, expected) in [(None, "1"), (Some("username"), "alice")] {
        let data = tempfile::tempdir().unwrap();
        let created = run(
            data.path(),
            &["user", "create", "alice", "--password", "x"],
            "",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"));
        command
            .arg("--data-dir")
            .arg(data.path())
            .args(["user", "set-password", "alice", "--password", "n3w"])
            .env_remove("JWT_USER_ID_FIELD");
        if let Some(field) = field {
            command.env("JWT_USER_ID_FIELD", field);
        }
        let changed = command.output().unwrap();
        assert!(changed.status.success(), "{}", text(&changed.stderr));
        let store = jwt_workbook::store::open(None, data.path()).await.unwrap();
        let revoked = store.revocations_since(0).await.unwrap();
        assert!(
            matches!(&revoked[..], [(_, Revocation::User { user_id, .. })] if user_id == expected),
            "{field:?}: {revoked:?}"
        );
    }
}

#[test]
fn sso_demo_without_a_provider_says_how_to_start_one() {
    let data = tempfile::tempdir().unwrap();
    let demo = run(
        data.path(),
        &[
            "sso-demo",
            "--issuer",
            "http://127.0.0.1:9",
            "--first-port",
            "0",
            "--second-port",
            "0",
        ],
        "",
    );
    assert!(!demo.status.success());
    let said = text(&demo.stderr);
    assert!(said.contains("does not answer"), "{said}");
    assert!(said.contains("cargo run -- --algorithm RS256"), "{said}");
}
