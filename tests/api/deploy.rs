//! `deploy` renders every file from the templates: each one snapshot-tested for two typical
//! setups; one systemd instance per upstream, checked by systemd itself where it is installed;
//! refused settings named all at once, by the flags that were given; an environment file with
//! its secrets filled in is never overwritten by accident.

use std::path::Path;
use std::process::{Command, Output};

use jwt_workbook::deploy::{DeployError, DeploySettings, Overwrite};

fn two_instances_on_postgres() -> DeploySettings {
    DeploySettings {
        domain: "api.example.com".into(),
        upstreams: vec!["127.0.0.1:8001".into(), "127.0.0.1:8002".into()],
        book_dir: "/srv/jwt-workbook/book".into(),
        user: "jwt-workbook".into(),
        binary: "/usr/local/bin/jwt-workbook".into(),
        data_dir: "/var/lib/jwt-workbook".into(),
        env_file: "/etc/jwt-workbook/jwt-workbook.env".into(),
        tls_certificate: None,
        tls_certificate_key: None,
        http_port: None,
        https_port: None,
        log_dir: "/var/log/nginx".into(),
        ipv6: true,
        proxy_bind: Some("127.0.0.2".parse().unwrap()),
        database_url: Some("postgres://jwt:Xq7-pg-s3cret@db.internal/jwt".into()),
    }
}

#[test]
fn a_two_instance_deployment_on_postgres_renders_every_file() {
    for (name, text) in two_instances_on_postgres().render().unwrap() {
        insta::assert_snapshot!(format!("deploy_postgres__{name}"), text);
    }
}

#[test]
fn a_single_sqlite_instance_on_other_ports_renders_too() {
    let settings = DeploySettings {
        upstreams: vec!["127.0.0.1:8000".into()],
        data_dir: "/srv/jwt-workbook/data".into(),
        tls_certificate: Some("/etc/ssl/api.pem".into()),
        tls_certificate_key: Some("/etc/ssl/private/api.key".into()),
        http_port: Some(8080),
        https_port: Some(8443),
        ipv6: false,
        proxy_bind: None,
        database_url: None,
        ..two_instances_on_postgres()
    };
    let files = settings.render().unwrap();
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "nginx.conf",
            "jwt-workbook@.service",
            "Containerfile",
            "Procfile",
            "jwt-workbook.env"
        ]
    );
    let file = |wanted: &str| {
        files
            .iter()
            .find(|(name, _)| *name == wanted)
            .unwrap()
            .1
            .clone()
    };
    insta::assert_snapshot!("deploy_sqlite__nginx.conf", file("nginx.conf"));
    assert!(file("jwt-workbook@.service").contains("ReadWritePaths=/srv/jwt-workbook/data"));
    assert!(file("jwt-workbook.env").contains("#DATABASE_URL="));
    assert!(file("jwt-workbook.env").contains("JWT_TRUSTED_PROXIES=127.0.0.1,::1"));
}

#[test]
fn the_env_file_is_written_readable_by_its_owner_only() {
    let out = tempfile::tempdir().unwrap();
    let written = two_instances_on_postgres()
        .write(out.path(), Overwrite::Refuse)
        .unwrap();
    assert_eq!(written.len(), 5);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(out.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("jwt-workbook.env"), 0o600);
        assert_eq!(mode("nginx.conf") & 0o600, 0o600);
    }
}

#[test]
fn a_value_that_would_write_its_own_directive_is_refused() {
    let mut settings = two_instances_on_postgres();
    settings.book_dir = "/srv/book; } server { listen 81".into();
    settings.tls_certificate = Some("cert.pem".into());
    let error = settings.render().unwrap_err().to_string();
    assert!(error.contains("--book-dir"), "{error}");
    assert!(error.contains("--tls-certificate "), "{error}");
}

#[test]
fn every_problem_is_named_at_once() {
    let mut bad = two_instances_on_postgres();
    bad.domain = "api example.com".into();
    bad.upstreams = vec!["127.0.0.1".into()];
    bad.book_dir = "/srv/book; include /etc/shadow".into();
    bad.user = "Root".into();
    bad.database_url = Some("postgres://x\nJWT_SIGNING_KEY=weak".into());
    let message = bad.validate().unwrap_err().to_string();
    for expected in [
        "--domain",
        "--upstream",
        "--book-dir",
        "--user",
        "--shared-database-url",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert_eq!(message.lines().count(), 5, "{message}");
}

fn file(files: &[(&str, String)], wanted: &str) -> String {
    files
        .iter()
        .find(|(name, _)| *name == wanted)
        .unwrap_or_else(|| panic!("no {wanted}"))
        .1
        .clone()
}

#[test]
fn every_address_nginx_balances_over_gets_an_instance_of_the_template_unit() {
    let settings = DeploySettings {
        upstreams: vec![
            "127.0.0.1:8001".into(),
            "127.0.0.1:8002".into(),
            "[::1]:8003".into(),
        ],
        ..two_instances_on_postgres()
    };
    let files = settings.render().unwrap();
    let nginx = file(&files, "nginx.conf");
    let unit = file(&files, "jwt-workbook@.service");
    for (upstream, enable) in [
        ("127.0.0.1:8001", "jwt-workbook@127.0.0.1:8001"),
        ("127.0.0.1:8002", "jwt-workbook@127.0.0.1:8002"),
        ("[::1]:8003", r"'jwt-workbook@\x5b::1\x5d:8003'"),
    ] {
        assert!(nginx.contains(&format!("server {upstream} ")), "{nginx}");
        assert!(
            unit.contains(&format!("#   systemctl enable --now {enable} ")),
            "{unit}"
        );
    }
    // The instance name is the address: on the command line, where the environment file
    // cannot override it, and absent from the environment file.
    assert!(
        unit.contains(
            "serve --environment production --data-dir /var/lib/jwt-workbook --addr %I\n"
        ),
        "{unit}"
    );
    assert!(!file(&files, "jwt-workbook.env").contains("\nJWT_WORKBOOK_ADDR="));
}

#[test]
fn unit_names_are_the_ones_systemd_escape_gives() {
    let settings = DeploySettings {
        upstreams: vec!["127.0.0.1:8001".into(), "[::1]:8002".into()],
        ..two_instances_on_postgres()
    };
    let ours: Vec<String> = settings.instances().into_iter().map(|i| i.unit).collect();
    assert_eq!(
        ours,
        [
            "jwt-workbook@127.0.0.1:8001",
            r"jwt-workbook@\x5b::1\x5d:8002"
        ]
    );
    match Command::new("systemd-escape")
        .args([
            "--template=jwt-workbook@.service",
            "127.0.0.1:8001",
            "[::1]:8002",
        ])
        .output()
    {
        Ok(output) => {
            assert!(output.status.success(), "{output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout)
                    .split_whitespace()
                    .collect::<Vec<_>>(),
                ours.iter()
                    .map(|u| format!("{u}.service"))
                    .collect::<Vec<_>>()
            );
        }
        Err(_) => eprintln!(
            "systemd-escape is not installed: compared with the names systemd documents only"
        ),
    }
}

#[test]
fn the_template_unit_passes_systemd_analyze_verify() {
    // systemd checks that ExecStart's program exists: point it at this very binary.
    let settings = DeploySettings {
        binary: env!("CARGO_BIN_EXE_jwt-workbook").into(),
        ..two_instances_on_postgres()
    };
    let out = tempfile::tempdir().unwrap();
    settings.write(out.path(), Overwrite::Refuse).unwrap();
    let unit = out.path().join("jwt-workbook@.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains("[Install]\nWantedBy=multi-user.target"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ExecStart={} serve",
            env!("CARGO_BIN_EXE_jwt-workbook")
        )),
        "{text}"
    );
    // systemd 252 (Debian 12) verifies a template as the instance `i`; an unknown key or a
    // doubtful setting is only a warning, so a clean check is one that says nothing.
    match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
    {
        Ok(output) => {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "{said}");
            assert_eq!(
                said.trim(),
                "",
                "systemd-analyze verify had something to say"
            );
        }
        Err(_) => eprintln!(
            "systemd-analyze is not installed: the unit was checked for its sections and command only"
        ),
    }
}

#[test]
fn the_containers_health_check_asks_the_server_on_the_port_it_listens_on() {
    let files = two_instances_on_postgres().render().unwrap();
    let containerfile = file(&files, "Containerfile");
    assert!(containerfile.contains("JWT_WORKBOOK_ADDR=0.0.0.0:8000"));
    let check = containerfile
        .split("\nHEALTHCHECK")
        .nth(1)
        .expect("a HEALTHCHECK")
        .split("\n#")
        .next()
        .unwrap();
    assert!(
        check.contains(r#""http://127.0.0.1:8000/healthz""#),
        "{check}"
    );
    assert!(check.contains(r#""--fail""#), "{check}");
    // The image has what the check runs.
    assert!(
        containerfile.contains("ca-certificates curl"),
        "{containerfile}"
    );
}

#[test]
fn an_env_file_already_in_the_folder_is_replaced_only_when_forced() {
    let out = tempfile::tempdir().unwrap();
    let settings = two_instances_on_postgres();
    settings.write(out.path(), Overwrite::Refuse).unwrap();
    let env = out.path().join("jwt-workbook.env");
    let nginx = out.path().join("nginx.conf");
    std::fs::write(&env, "JWT_SIGNING_KEY=filled-in-by-hand\n").unwrap();
    std::fs::write(&nginx, "edited\n").unwrap();

    let error = settings.write(out.path(), Overwrite::Refuse).unwrap_err();
    assert!(
        matches!(error, DeployError::EnvFileExists { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "JWT_SIGNING_KEY=filled-in-by-hand\n"
    );
    assert_eq!(
        std::fs::read_to_string(&nginx).unwrap(),
        "edited\n",
        "nothing at all is written"
    );

    settings.write(out.path(), Overwrite::Allow).unwrap();
    assert!(
        std::fs::read_to_string(&env)
            .unwrap()
            .contains("DATABASE_URL=postgres://")
    );
}

#[test]
fn values_copied_from_an_example_are_refused_as_placeholders() {
    for (change, flag, placeholder) in [
        (
            &(|s: &mut DeploySettings| s.domain = "…".into()) as &dyn Fn(&mut DeploySettings),
            "--domain",
            "…",
        ),
        (
            &|s: &mut DeploySettings| {
                s.database_url = Some("postgres://jwt:…@db.internal/jwt".into())
            },
            "--shared-database-url",
            "…",
        ),
        (
            &|s: &mut DeploySettings| {
                s.database_url = Some("postgres://jwt:<password>@db.internal/jwt".into())
            },
            "--shared-database-url",
            "<…>",
        ),
        (
            &|s: &mut DeploySettings| {
                s.database_url = Some("postgres://user:password@host/database".into())
            },
            "--shared-database-url",
            "password",
        ),
        (
            &|s: &mut DeploySettings| s.domain = "CHANGEME.example.com".into(),
            "--domain",
            "changeme",
        ),
        (
            &|s: &mut DeploySettings| s.book_dir = "/srv/.../book".into(),
            "--book-dir",
            "...",
        ),
        (
            &|s: &mut DeploySettings| s.upstreams = vec!["...:8000".into()],
            "--upstream",
            "...",
        ),
    ] {
        let mut settings = two_instances_on_postgres();
        change(&mut settings);
        let message = settings.validate().unwrap_err().to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.starts_with(&format!("{flag} ")),
            "{flag}: {message}"
        );
        assert!(
            message.contains(&format!(
                "the placeholder {placeholder:?}: put in the real value"
            )),
            "{message}"
        );
    }
}

#[test]
fn a_refused_database_url_is_named_without_its_password() {
    let mut settings = two_instances_on_postgres();
    settings.database_url = Some("mysql://jwt:Xq7-s3cret@db/jwt".into());
    let message = settings.validate().unwrap_err().to_string();
    assert_eq!(
        message,
        r#"--shared-database-url "mysql://jwt:***@db/jwt" must be one postgres://… URL, without spaces or line breaks"#
    );
}

#[test]
fn every_upstream_must_be_an_address_of_its_own_on_a_shared_database() {
    let mut settings = two_instances_on_postgres();
    settings.upstreams = vec![
        "127.0.0.1:8001".into(),
        "app-1.internal:8000".into(),
        "127.0.0.1:8001".into(),
    ];
    settings.database_url = None;
    let message = settings.validate().unwrap_err().to_string();
    assert_eq!(
        message.lines().collect::<Vec<_>>(),
        [
            r#"--upstream "app-1.internal:8000" names a host: its instance must listen on an IP address, so give the address app-1.internal has, e.g. 10.0.0.5:8000"#,
            "--upstream 127.0.0.1:8001 is given twice: one instance listens on each address",
            "3 --upstream instances would each keep their own SQLite users and sessions: give them one PostgreSQL to share with --shared-database-url postgres://…",
        ]
    );
}

/// `jwt-workbook deploy` with these arguments, rendering into `out`.
fn deploy(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
        .arg("deploy")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_refusal_names_the_flags_given_and_never_a_default() {
    let out = tempfile::tempdir().unwrap();
    // The certificate paths are built from the domain: only the domain is wrong.
    let bad_domain = deploy(out.path(), &["--domain", "api example.com"]);
    assert!(!bad_domain.status.success());
    assert_eq!(
        stderr(&bad_domain).trim(),
        r#"error: --domain "api example.com" is not a domain name (letters, digits, '-' and '.')"#
    );

    let http = deploy(
        out.path(),
        &["--domain", "api.example.com", "--http-port", "443"],
    );
    assert_eq!(
        stderr(&http).trim(),
        "error: --http-port 443 is the standard HTTPS port: nginx takes it for TLS"
    );
    let https = deploy(
        out.path(),
        &["--domain", "api.example.com", "--https-port", "80"],
    );
    assert_eq!(
        stderr(&https).trim(),
        "error: --https-port 80 is the standard HTTP port: nginx takes it for redirects"
    );
    let both = deploy(
        out.path(),
        &[
            "--domain",
            "api.example.com",
            "--http-port",
            "8443",
            "--https-port",
            "8443",
        ],
    );
    assert_eq!(
        stderr(&both).trim(),
        "error: --http-port 8443 and --https-port 8443 must be different ports"
    );

    let data_dir = deploy(
        out.path(),
        &["--domain", "api.example.com", "--server-data-dir", "data"],
    );
    assert_eq!(
        stderr(&data_dir).trim(),
        r#"error: --server-data-dir "data" must be an absolute path without spaces, quotes, ';', '#', '$', '%' or braces"#
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "a refusal writes nothing"
    );
}

#[test]
fn deploying_twice_into_one_folder_takes_force() {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "--domain",
        "api.example.com",
        "--upstream",
        "127.0.0.1:8001",
        "--upstream",
        "127.0.0.1:8002",
        "--shared-database-url",
        "postgres://jwt:Xq7-pg-s3cret@db.internal/jwt",
    ];
    let first = deploy(out.path(), &args);
    assert!(first.status.success(), "{}", stderr(&first));
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        said.contains(
            "systemctl enable --now jwt-workbook@127.0.0.1:8001 jwt-workbook@127.0.0.1:8002\n"
        ),
        "{said}"
    );

    let again = deploy(out.path(), &args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("pass --force to replace it"),
        "{}",
        stderr(&again)
    );

    let forced = deploy(out.path(), &[&args[..], &["--force"]].concat());
    assert!(forced.status.success(), "{}", stderr(&forced));
}
