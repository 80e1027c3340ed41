//! A real Django 5.2 + djangorestframework-simplejwt 5.5.1 service moves to our server:
//! `scripts/django-interop/check.py` makes users and sessions at Django, runs our
//! `import-django` on its database, starts this binary with the same signing key and checks over
//! HTTP that every token and password behaves here as it did there, and that simplejwt accepts
//! the tokens we issue. Once with Django on SQLite, once on PostgreSQL.
//!
//! Ignored in `cargo test`: it needs the venv `.ci/run` installs (target/django-interop-venv)
//! and, for the second, `JWT_TEST_POSTGRES_URL` (`scripts/start-postgres`).
//!
//!     cargo test --test django -- --ignored --nocapture

use std::path::Path;
use std::process::Command;

fn check(postgres: Option<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/django-interop-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: create the venv as .ci/run's Django step does",
        python.display()
    );
    let work = tempfile::tempdir().unwrap();
    let mut command = Command::new(python);
    command
        .arg(root.join("scripts/django-interop/check.py"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_jwt-workbook"))
        .arg("--work-dir")
        .arg(work.path());
    if let Some(url) = postgres {
        command.arg("--postgres").arg(url);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the Django interop check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("every check passed"), "{stdout}");
}

#[test]
#[ignore = "needs the Django venv; run by .ci/run"]
fn a_django_service_on_sqlite_moves_here_with_its_tokens_and_passwords() {
    check(None);
}

#[test]
#[ignore = "needs the Django venv and JWT_TEST_POSTGRES_URL; run by .ci/run"]
fn a_django_service_on_postgres_moves_here_with_its_tokens_and_passwords() {
    let url = std::env::var("JWT_TEST_POSTGRES_URL")
        .expect("set JWT_TEST_POSTGRES_URL (scripts/start-postgres prints one)");
    check(Some(url));
}
