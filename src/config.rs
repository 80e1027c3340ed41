//! The server's one typed configuration, built from flags and environment variables (see
//! `--help`): which keys sign and verify, and the rules that keep a production server from
//! starting with a weak one.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use crate::app::{ClientAddressSource, ConnectionLimits, Settings};
use crate::cli::{CorsArgs, Environment, ServeArgs, SimplejwtArgs};
use crate::http::auth::AuthHeader;
use crate::http::cors::{CorsPolicy, CorsSettings};
use crate::keys::{KeySources, LiveKeys, LoadError};
use crate::tokens::TokenSettings;
use crate::users::{LoginLimits, PasswordCost};
use crate::workbook::Workbook;

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, if anywhere (never on `addr`).
    pub metrics_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub environment: Environment,
    /// What the state is built from: keys, token lifetimes, modes (see [`crate::app::build`]).
    pub app: Settings,
    /// How often revocations made by other instances are read.
    pub revocation_poll: Duration,
    /// How often the key ring is read again for keys rotated in or retired (with --keys-dir).
    pub keyring_poll: Duration,
    pub connections: ConnectionLimits,
    /// The workbook the command runs in, if any: its book is built and served at `/`
    /// (unless `--no-book`), and a learner at a terminal sees its progress.
    pub workbook: Option<Workbook>,
    /// Build the book from these sources and serve it at `/`.
    pub book_sources: Option<PathBuf>,
    /// Create (in development only) the demo user the README and the book log in as.
    pub demo_user: bool,
}

/// Why the configuration was refused. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Keys(#[from] LoadError),
    #[error("the data directory {path} cannot be used: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Validates the arguments and loads (or, in development, creates) the signing key.
    pub fn load(
        args: ServeArgs,
        data_dir: PathBuf,
        environment: Environment,
        workbook: Option<Workbook>,
    ) -> Result<Self, ConfigError> {
        let tokens = TokenSettings {
            access_lifetime: args.access_lifetime.0,
            refresh_lifetime: args.refresh_lifetime.0,
            session_lifetime: args.session_lifetime.0,
            sliding_lifetime: args.sliding_lifetime.0,
            sliding_refresh_lifetime: args.sliding_refresh_lifetime.0,
            leeway: args.leeway.0,
            ..claim_settings(&args.simplejwt)?
        };
        let auth_header = AuthHeader::new(
            &args.simplejwt.auth_header_name,
            trimmed(&args.simplejwt.auth_header_types),
        )
        .map_err(ConfigError::Invalid)?;
        let cors = cors_policy(&args.cors)?;
        if tokens.access_lifetime <= 0
            || tokens.refresh_lifetime <= 0
            || tokens.session_lifetime <= 0
            || tokens.sliding_lifetime <= 0
            || tokens.sliding_refresh_lifetime <= 0
            || args.revocation_poll.0 <= 0
            || args.keyring_poll.0 <= 0
        {
            return Err(ConfigError::Invalid(
                "token and session lifetimes, and the revocation and key ring poll intervals, must be positive"
                    .into(),
            ));
        }
        if args.store_deadline.0 <= 0 {
            return Err(ConfigError::Invalid(
                "the store deadline must be positive".into(),
            ));
        }
        if args.header_timeout.0 <= 0 {
            return Err(ConfigError::Invalid(
                "the header timeout must be positive".into(),
            ));
        }
        std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let keys = LiveKeys::load(KeySources {
            algorithm: args.algorithm,
            signing_key: args.signing_key.clone(),
            signing_key_file: args.signing_key_file.clone(),
            private_key: args.private_key.clone(),
            private_key_file: args.private_key_file.clone(),
            keys_dir: args.keys_dir.clone(),
            data_dir: data_dir.clone(),
            development: environment == Environment::Development,
        })?;
        let mail_outbox = args
            .mail_outbox
            .clone()
            .or_else(|| (environment == Environment::Development).then(|| data_dir.join("outbox")));
        Ok(Self {
            addr: args.addr,
            metrics_addr: args.metrics_addr,
            data_dir,
            environment,
            app: Settings {
                keys,
                tokens,
                password_cost: PasswordCost::RECOMMENDED,
                refresh_cookie: args.refresh_cookie,
                sliding_tokens: args.sliding_tokens,
                mail_outbox,
                public_url: args
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", args.addr))
                    .trim_end_matches('/')
                    .to_owned(),
                login_limits: LoginLimits {
                    per_user: args.login_failures_per_user,
                    per_address: args.login_failures_per_address,
                },
                client_address: ClientAddressSource {
                    header: args.client_ip_header.clone(),
                    trusted_proxies: args.trusted_proxies.clone(),
                },
                classroom: None,
                store_deadline: Duration::from_secs(args.store_deadline.0.unsigned_abs()),
                auth_header,
                cors,
                request_metrics: args.metrics_addr.is_some(),
            },
            revocation_poll: Duration::from_secs(args.revocation_poll.0.unsigned_abs()),
            keyring_poll: Duration::from_secs(args.keyring_poll.0.unsigned_abs()),
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout.0.unsigned_abs()),
            },
            demo_user: !args.no_demo_user,
            book_sources: workbook
                .as_ref()
                .filter(|_| !args.no_book)
                .map(Workbook::book_dir),
            workbook,
        })
    }

    /// Where `serve` writes the built book.
    pub fn built_book_dir(&self) -> PathBuf {
        self.data_dir.join("book")
    }
}

/// simplejwt's settings for what a token says, checked: claim names that cannot be confused
/// with each other or with the time claims, an issuer and audiences that are not empty.
fn claim_settings(args: &SimplejwtArgs) -> Result<TokenSettings, ConfigError> {
    let names = [
        ("--user-id-claim", &args.user_id_claim),
        ("--token-type-claim", &args.token_type_claim),
        ("--jti-claim", &args.jti_claim),
    ];
    for (i, (flag, name)) in names.iter().enumerate() {
        if name.is_empty()
            || ["exp", "iat", "nbf", "iss", "aud", "refresh_exp"].contains(&name.as_str())
        {
            return Err(ConfigError::Invalid(format!(
                "{flag} {name:?} cannot be used: name a claim of its own"
            )));
        }
        if let Some((other, _)) = names[..i].iter().find(|(_, other)| other == name) {
            return Err(ConfigError::Invalid(format!(
                "{flag} and {other} both name the claim {name:?}: give each its own"
            )));
        }
    }
    if args.issuer.as_deref() == Some("") || args.audience.iter().any(String::is_empty) {
        return Err(ConfigError::Invalid(
            "the issuer and the audiences cannot be empty strings".into(),
        ));
    }
    Ok(TokenSettings {
        issuer: args.issuer.clone(),
        audience: trimmed(&args.audience),
        user_id_field: args.user_id_field,
        user_id_claim: args.user_id_claim.clone(),
        token_type_claim: args.token_type_claim.clone(),
        jti_claim: args.jti_claim.clone(),
        ..TokenSettings::default()
    })
}

/// A comma-separated list's items without the spaces around them (`shop, admin`).
fn trimmed(items: &[String]) -> Vec<String> {
    items.iter().map(|item| item.trim().to_owned()).collect()
}

/// django-cors-headers' settings, checked.
fn cors_policy(args: &CorsArgs) -> Result<Option<CorsPolicy>, ConfigError> {
    CorsPolicy::new(&CorsSettings {
        allowed_origins: trimmed(&args.cors_allowed_origins),
        allow_all_origins: args.cors_allow_all_origins,
        allow_credentials: args.cors_allow_credentials,
        allow_headers: trimmed(&args.cors_allow_headers),
        allow_methods: trimmed(&args.cors_allow_methods),
        expose_headers: trimmed(&args.cors_expose_headers),
        preflight_max_age: args.cors_preflight_max_age.0,
    })
    .map_err(ConfigError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::load::{DEV_KEY_FILE, dev_private_key_file};
    use crate::keys::{KeyAlgorithm, Keyring};
    use clap::Parser;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["jwt-workbook"];
        argv.extend_from_slice(extra);
        crate::cli::Cli::parse_from(argv).serve
    }

    #[test]
    fn development_creates_a_key_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let first =
            Config::load(args(&[]), dir.path().into(), Environment::Development, None).unwrap();
        let key = std::fs::read_to_string(dir.path().join(DEV_KEY_FILE)).unwrap();
        Config::load(args(&[]), dir.path().into(), Environment::Development, None).unwrap();
        assert_eq!(first.app.keys.current().signing(i64::MAX).weakness(), None);
        assert_eq!(key.len(), 64);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DEV_KEY_FILE)).unwrap(),
            key
        );
    }

    #[test]
    fn development_creates_a_key_pair_for_an_asymmetric_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(
            args(&["--algorithm", "EdDSA"]),
            dir.path().into(),
            Environment::Development,
            None,
        )
        .unwrap();
        assert_eq!(
            config.app.keys.current().signing(i64::MAX).algorithm(),
            KeyAlgorithm::EdDSA
        );
        let pem = dir.path().join(dev_private_key_file(KeyAlgorithm::EdDSA));
        assert!(
            std::fs::read_to_string(pem)
                .unwrap()
                .contains("PRIVATE KEY")
        );
        assert_eq!(
            config.app.keys.current().jwks()["keys"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn production_refuses_an_asymmetric_algorithm_without_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            args(&["--algorithm", "ES256"]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("JWT_PRIVATE_KEY_FILE"),
            "{error}"
        );
    }

    #[test]
    fn a_private_key_file_that_is_not_a_key_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.pem");
        std::fs::write(&file, "hello").unwrap();
        let error = Config::load(
            args(&[
                "--algorithm",
                "RS256",
                "--private-key-file",
                file.to_str().unwrap(),
            ]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("key.pem"), "{error}");
        assert!(error.to_string().contains("RS256 private key"), "{error}");
    }

    #[test]
    fn a_key_ring_signs_and_a_configured_secret_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("keys");
        let empty = Config::load(
            args(&["--keys-dir", ring.to_str().unwrap()]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap_err();
        assert!(empty.to_string().contains("key rotate"), "{empty}");

        let newest = Keyring::at(&ring)
            .rotate(KeyAlgorithm::ES256, 1, 0)
            .unwrap();
        let secret = crate::keys::generate_hex_secret();
        let config = Config::load(
            args(&[
                "--keys-dir",
                ring.to_str().unwrap(),
                "--signing-key",
                &secret,
            ]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap();
        assert_eq!(
            config.app.keys.current().signing(i64::MAX).kid(),
            newest.kid()
        );
        assert!(
            config
                .app
                .keys
                .current()
                .verifying_key("HS256", None)
                .is_some()
        );
    }

    #[test]
    fn a_weak_secret_is_refused_in_production_even_when_it_only_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("keys");
        Keyring::at(&ring)
            .rotate(KeyAlgorithm::EdDSA, 1, 0)
            .unwrap();
        let error = Config::load(
            args(&[
                "--keys-dir",
                ring.to_str().unwrap(),
                "--signing-key",
                "secret",
            ]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap_err();
        assert!(
            matches!(error, ConfigError::Keys(LoadError::WeakKey(_))),
            "{error}"
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            Config::load(args(&[]), dir.path().into(), Environment::Production, None).unwrap_err();
        assert!(
            matches!(error, ConfigError::Keys(LoadError::MissingKey)),
            "{error}"
        );
        assert!(error.to_string().contains("JWT_SIGNING_KEY"));
    }

    #[test]
    fn production_refuses_a_short_key_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            args(&["--signing-key", "secret"]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("at least 32 bytes"), "{error}");
    }

    #[test]
    fn a_key_file_is_read_without_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "0123456789abcdef-a-key-file-of-40-bytes!\n").unwrap();
        let config = Config::load(
            args(&["--signing-key-file", file.to_str().unwrap()]),
            dir.path().into(),
            Environment::Production,
            None,
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", config.app.keys.current().signing(i64::MAX)),
            "Key(HS256, 40 bytes, redacted)"
        );
    }

    #[test]
    fn lifetimes_must_be_positive() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            args(&["--access-lifetime", "0s"]),
            dir.path().into(),
            Environment::Development,
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("positive"));
    }

    fn load(extra: &[&str]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        Config::load(
            args(extra),
            dir.path().into(),
            Environment::Development,
            None,
        )
    }

    #[test]
    fn simplejwts_settings_reach_the_token_settings() {
        let config = load(&[
            "--issuer",
            "https://auth.example.com",
            "--audience",
            "shop, admin",
            "--audience",
            "mail",
            "--user-id-field",
            "username",
            "--user-id-claim",
            "sub",
            "--token-type-claim",
            "typ",
            "--jti-claim",
            "token_id",
            "--leeway",
            "30s",
            "--auth-header-types",
            "Bearer, JWT",
            "--auth-header-name",
            "HTTP_X_ACCESS_TOKEN",
        ])
        .unwrap();
        let tokens = &config.app.tokens;
        assert_eq!(tokens.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(tokens.audience, ["shop", "admin", "mail"]);
        assert_eq!(tokens.user_id_field, crate::tokens::UserIdField::Username);
        assert_eq!(
            (
                &*tokens.user_id_claim,
                &*tokens.token_type_claim,
                &*tokens.jti_claim
            ),
            ("sub", "typ", "token_id")
        );
        assert_eq!(tokens.leeway, 30);
        assert!(config.app.auth_header.accepts(b"JWT"));
        assert_eq!(config.app.auth_header.name(), "x-access-token");
        assert_eq!(config.app.cors, None);
        let defaults = load(&[]).unwrap();
        assert_eq!(defaults.app.tokens, TokenSettings::default());
        assert_eq!(defaults.app.auth_header, AuthHeader::default());
    }

    #[test]
    fn claim_names_that_would_be_confused_are_refused_with_the_flag_to_fix() {
        for (argv, expected) in [
            (
                &["--jti-claim", "user_id"][..],
                "--jti-claim and --user-id-claim",
            ),
            (&["--user-id-claim", "exp"][..], "--user-id-claim \"exp\""),
            (&["--token-type-claim", ""][..], "--token-type-claim \"\""),
            (&["--auth-header-types", ""][..], "single words"),
            (&["--issuer", ""][..], "cannot be empty"),
        ] {
            let error = match load(argv) {
                Err(error) => error.to_string(),
                Ok(_) => panic!("{argv:?} was accepted"),
            };
            assert!(error.contains(expected), "{argv:?}: {error}");
        }
        let error = crate::cli::Cli::try_parse_from(["jwt-workbook", "--user-id-field", "email"])
            .unwrap_err();
        assert!(error.to_string().contains("use id or username"), "{error}");
    }

    #[test]
    fn cors_origins_are_checked_at_start_up() {
        let config = load(&[
            "--cors-allowed-origins",
            "https://app.example.com, http://localhost:3000",
        ])
        .unwrap();
        let cors = config.app.cors.unwrap();
        assert!(cors.allows(b"http://localhost:3000"));
        let error = load(&["--cors-allowed-origins", "https://app.example.com/"])
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("scheme://host[:port]"),
            "{error}"
        );
    }
}
