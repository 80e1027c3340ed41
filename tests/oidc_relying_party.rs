//! The OpenID Connect provider against a relying-party library nobody here wrote: the real
//! server (with an RS256 key pair), a client registered with `client create`, and Authlib (from
//! PyPI) running `scripts/oidc-relying-party.py` — the full code + PKCE flow through our login
//! page, its own checks of the ID token, `/userinfo`, a refresh, single sign-on, and the misuse
//! cases answered with the right errors.
//!
//! Needs Python with Authlib, so it is ignored; `.ci/run` makes the virtual environment
//! (`target/oidc-rp-venv`) and runs `cargo test --test oidc_relying_party -- --ignored`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "support/processes.rs"]
#[allow(dead_code)] // signal: not needed here
mod processes;

use processes::Group;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// The binary with no configuration from the environment.
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

/// A port nobody listens on now. The issuer URL must name the real port before the server
/// starts, so the port is chosen here rather than by the server.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
#[ignore = "needs Python with Authlib: .ci/run makes target/oidc-rp-venv and runs this"]
fn authlib_runs_the_code_flow_with_pkce_and_gets_the_right_errors_for_misuse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/oidc-rp-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: python3 -m venv target/oidc-rp-venv && target/oidc-rp-venv/bin/pip install authlib requests",
        python.display()
    );
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut server = workbook(data.path());
    server
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
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped());
    let mut server = Group::spawn(&mut server);
    let mut banner = BufReader::new(server.0.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            banner.read_line(&mut line).unwrap() > 0,
            "the server exited before its banner"
        );
        if line.contains("serving on ") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut banner, &mut std::io::sink()));

    let created = workbook(data.path())
        .args([
            "client",
            "create",
            "--name",
            "Authlib",
            "--redirect-uri",
            REDIRECT_URI,
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let printed = String::from_utf8(created.stdout).unwrap();
    let value = |name: &str| {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {printed}"))
            .to_owned()
    };

    let run = Command::new(&python)
        .arg(root.join("scripts/oidc-relying-party.py"))
        .env("OIDC_ISSUER", &issuer)
        .env("OIDC_CLIENT_ID", value("client_id"))
        .env("OIDC_CLIENT_SECRET", value("client_secret"))
        .env("OIDC_REDIRECT_URI", REDIRECT_URI)
        .env("OIDC_USERNAME", "demo")
        .env("OIDC_PASSWORD", "demo-password")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("all relying-party checks passed"));
}
