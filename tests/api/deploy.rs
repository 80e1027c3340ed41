//! `deploy` renders every file from the templates: each one snapshot-tested for two typical
//! setups, and refused settings named all at once.

use jwt_workbook::deploy::DeploySettings;

fn two_instances_on_postgres() -> DeploySettings {
    DeploySettings {
        domain: "api.example.com".into(),
        upstreams: vec!["127.0.0.1:8001".into(), "127.0.0.1:8002".into()],
        book_dir: "/srv/jwt-workbook/book".into(),
        user: "jwt-workbook".into(),
        binary: "/usr/local/bin/jwt-workbook".into(),
        data_dir: "/var/lib/jwt-workbook".into(),
        env_file: "/etc/jwt-workbook/jwt-workbook.env".into(),
        tls_certificate: "/etc/letsencrypt/live/api.example.com/fullchain.pem".into(),
        tls_certificate_key: "/etc/letsencrypt/live/api.example.com/privkey.pem".into(),
        http_port: 80,
        https_port: 443,
        log_dir: "/var/log/nginx".into(),
        ipv6: true,
        proxy_bind: Some("127.0.0.2".parse().unwrap()),
        database_url: Some("postgres://jwt:change-me@db.internal/jwt".into()),
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
        http_port: 8080,
        https_port: 8443,
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
            "jwt-workbook.service",
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
    assert!(file("jwt-workbook.service").contains("ReadWritePaths=/srv/jwt-workbook/data"));
    assert!(file("jwt-workbook.env").contains("#DATABASE_URL="));
    assert!(file("jwt-workbook.env").contains("JWT_TRUSTED_PROXIES=127.0.0.1,::1"));
}

#[test]
fn the_env_file_is_written_readable_by_its_owner_only() {
    let out = tempfile::tempdir().unwrap();
    let written = two_instances_on_postgres().write(out.path()).unwrap();
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
    settings.tls_certificate = "cert.pem".into();
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
        "--database-url",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert_eq!(message.lines().count(), 5, "{message}");
}
