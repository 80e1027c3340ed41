//! The server's one typed configuration, built from flags and environment variables (see
//! `--help`), and the rules that keep a production server from starting with a weak key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use crate::app::ConnectionLimits;
use crate::cli::{Environment, ServeArgs};
use crate::tokens::{SigningKey, TokenSettings};
use crate::users::PasswordCost;
use crate::workbook::Workbook;

/// The name of the development key file inside the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key";
/// The name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "workbook.sqlite3";

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub environment: Environment,
    pub tokens: TokenSettings,
    pub signing_key: SigningKey,
    pub password_cost: PasswordCost,
    pub connections: ConnectionLimits,
    /// Build the book from these sources and serve it at `/`.
    pub book_sources: Option<PathBuf>,
    /// Create (in development only) the demo user the README and the book log in as.
    pub demo_user: bool,
}

/// Why the configuration was refused. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no signing key. In production set JWT_SIGNING_KEY, or JWT_SIGNING_KEY_FILE to a file holding \
         the key: at least 32 random bytes, e.g. the output of `openssl rand -hex 32`"
    )]
    MissingKey,
    #[error(
        "refusing to start in production with this signing key: {0}. Generate one with `openssl rand -hex 32`"
    )]
    WeakKey(String),
    #[error("the signing key file {path} cannot be read: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
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
    ) -> Result<Self, ConfigError> {
        let tokens = TokenSettings {
            access_lifetime: args.access_lifetime.0,
            refresh_lifetime: args.refresh_lifetime.0,
            leeway: args.leeway.0,
        };
        if tokens.access_lifetime <= 0 || tokens.refresh_lifetime <= 0 {
            return Err(ConfigError::Invalid(
                "token lifetimes must be positive".into(),
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
        let signing_key = load_key(&args, &data_dir, environment)?;
        Ok(Self {
            addr: args.addr,
            data_dir,
            environment,
            tokens,
            signing_key,
            password_cost: PasswordCost::RECOMMENDED,
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout.0.unsigned_abs()),
            },
            demo_user: !args.no_demo_user,
            book_sources: (!args.no_book)
                .then(|| Workbook::here().book_dir())
                .filter(|dir| dir.join("book.toml").is_file()),
        })
    }

    pub fn database_path(&self) -> PathBuf {
        database_path(&self.data_dir)
    }

    /// Where `serve` writes the built book.
    pub fn built_book_dir(&self) -> PathBuf {
        self.data_dir.join("book")
    }
}

/// The SQLite file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE_FILE)
}

/// The key from `--signing-key`/`JWT_SIGNING_KEY`, else the key file, else (development only) a
/// random key kept in the data directory so tokens survive a restart.
fn load_key(
    args: &ServeArgs,
    data_dir: &Path,
    environment: Environment,
) -> Result<SigningKey, ConfigError> {
    let key = if let Some(key) = &args.signing_key {
        SigningKey::from_bytes(key.as_bytes())
    } else if let Some(path) = &args.signing_key_file {
        read_key_file(path)?
    } else if environment == Environment::Development {
        let path = data_dir.join(DEV_KEY_FILE);
        if !path.exists() {
            write_private_file(&path, &SigningKey::generate_hex()).map_err(|source| {
                ConfigError::KeyFile {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        read_key_file(&path)?
    } else {
        return Err(ConfigError::MissingKey);
    };
    match (environment, key.weakness()) {
        (Environment::Production, Some(weakness)) => Err(ConfigError::WeakKey(weakness)),
        (Environment::Development, Some(weakness)) => {
            tracing::warn!("the signing key would be refused in production: {weakness}");
            Ok(key)
        }
        (_, None) => Ok(key),
    }
}

fn read_key_file(path: &Path) -> Result<SigningKey, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile {
        path: path.to_owned(),
        source,
    })?;
    // Editors and `echo` add a newline; it is never part of the key.
    Ok(SigningKey::from_bytes(
        text.trim_end_matches(['\r', '\n']).as_bytes(),
    ))
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["jwt-workbook"];
        argv.extend_from_slice(extra);
        crate::cli::Cli::parse_from(argv).serve
    }

    #[test]
    fn development_creates_a_key_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = Config::load(args(&[]), dir.path().into(), Environment::Development).unwrap();
        let again = Config::load(args(&[]), dir.path().into(), Environment::Development).unwrap();
        assert_eq!(first.signing_key.weakness(), None);
        let key = std::fs::read_to_string(dir.path().join(DEV_KEY_FILE)).unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(
            format!("{:?}", first.signing_key),
            format!("{:?}", again.signing_key)
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            Config::load(args(&[]), dir.path().into(), Environment::Production).unwrap_err();
        assert!(matches!(error, ConfigError::MissingKey), "{error}");
        assert!(error.to_string().contains("JWT_SIGNING_KEY"));
    }

    #[test]
    fn production_refuses_a_short_key_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            args(&["--signing-key", "secret"]),
            dir.path().into(),
            Environment::Production,
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
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", config.signing_key),
            "SigningKey(40 bytes, redacted)"
        );
    }

    #[test]
    fn lifetimes_must_be_positive() {
        let dir = tempfile::tempdir().unwrap();
        let error = Config::load(
            args(&["--access-lifetime", "0s"]),
            dir.path().into(),
            Environment::Development,
        )
        .unwrap_err();
        assert!(error.to_string().contains("positive"));
    }
}
