//! A complete deployment rendered from tera templates (`deploy/templates/`): an nginx site in
//! front of one or more instances, a hardened systemd unit, a container file, a Procfile and an
//! environment file documenting every variable. Settings are checked before anything is
//! rendered, because each one ends up inside a configuration language: a path with a `;` or a
//! URL with a newline would let a value write its own nginx directive or environment variable.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The templates, compiled into the binary so that `deploy` works from any directory.
const TEMPLATES: [(&str, &str); 5] = [
    (
        "nginx.conf",
        include_str!("../deploy/templates/nginx.conf.tera"),
    ),
    (
        "jwt-workbook.service",
        include_str!("../deploy/templates/jwt-workbook.service.tera"),
    ),
    (
        "Containerfile",
        include_str!("../deploy/templates/Containerfile.tera"),
    ),
    (
        "Procfile",
        include_str!("../deploy/templates/Procfile.tera"),
    ),
    (
        "jwt-workbook.env",
        include_str!("../deploy/templates/jwt-workbook.env.tera"),
    ),
];

/// The environment file holds secrets: only its owner may read it.
pub const SECRET_FILE: &str = "jwt-workbook.env";

/// What a deployment is rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploySettings {
    pub domain: String,
    /// `host:port` of each instance nginx balances over.
    pub upstreams: Vec<String>,
    /// Where the built book is on the server (`jwt-workbook book --out DIR`).
    pub book_dir: PathBuf,
    /// The system user the service runs as.
    pub user: String,
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub env_file: PathBuf,
    pub tls_certificate: PathBuf,
    pub tls_certificate_key: PathBuf,
    pub http_port: u16,
    pub https_port: u16,
    pub log_dir: PathBuf,
    pub ipv6: bool,
    /// The address nginx connects to the instances from; they trust X-Forwarded-For from it.
    pub proxy_bind: Option<IpAddr>,
    /// A shared PostgreSQL for several instances (it goes into the environment file only).
    pub database_url: Option<String>,
}

/// Why the settings were refused, or rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Invalid(String),
    #[error("template {name}: {reason}")]
    Template { name: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DeploySettings {
    /// Every problem, each in a sentence, or `Ok`.
    pub fn validate(&self) -> Result<(), DeployError> {
        let mut problems = Vec::new();
        if !is_domain(&self.domain) {
            problems.push(format!(
                "--domain {:?} is not a domain name (letters, digits, '-' and '.')",
                self.domain
            ));
        }
        if self.upstreams.is_empty() {
            problems.push("give at least one --upstream host:port".into());
        }
        for upstream in &self.upstreams {
            if !is_host_port(upstream) {
                problems.push(format!("--upstream {upstream:?} is not host:port"));
            }
        }
        let paths = [
            ("--book-dir", &self.book_dir),
            ("--binary", &self.binary),
            ("--data-dir", &self.data_dir),
            ("--env-file", &self.env_file),
            ("--tls-certificate", &self.tls_certificate),
            ("--tls-certificate-key", &self.tls_certificate_key),
            ("--log-dir", &self.log_dir),
        ];
        for (flag, path) in paths {
            if !is_safe_path(path) {
                problems.push(format!(
                    "{flag} {} must be an absolute path without spaces, quotes, ';', '#', '$' or braces",
                    path.display()
                ));
            }
        }
        if !is_user_name(&self.user) {
            problems.push(format!(
                "--user {:?} is not a system user name (a-z, 0-9, '_' and '-')",
                self.user
            ));
        }
        if self.http_port == self.https_port {
            problems.push("--http-port and --https-port must differ".into());
        }
        if let Some(url) = &self.database_url
            && (!url.starts_with("postgres") || url.chars().any(|c| c.is_whitespace() || c == '#'))
        {
            problems.push(
                "--database-url must be one postgres://… URL, without spaces or line breaks".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DeployError::Invalid(problems.join("\n")))
        }
    }

    // ANCHOR: render
    /// Each file's name and contents.
    pub fn render(&self) -> Result<Vec<(&'static str, String)>, DeployError> {
        self.validate()?;
        let mut tera = tera::Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        for (name, text) in TEMPLATES {
            tera.add_raw_template(name, text)
                .map_err(|e| template_error(name, &e))?;
        }
        let mut context =
            tera::Context::from_serialize(self).map_err(|e| template_error("", &e))?;
        let trusted: Vec<String> = match self.proxy_bind {
            Some(address) => vec![address.to_string()],
            None => vec!["127.0.0.1".into(), "::1".into()],
        };
        context.insert("trusted_proxies", &trusted);
        context.insert("postgres", &self.database_url.is_some());
        let state_directory = self
            .data_dir
            .strip_prefix("/var/lib")
            .ok()
            .map(|rest| rest.display().to_string());
        context.insert("state_directory", &state_directory);
        TEMPLATES
            .iter()
            .map(|(name, _)| {
                let text = tera
                    .render(name, &context)
                    .map_err(|e| template_error(name, &e))?;
                Ok((*name, text))
            })
            .collect()
    }
    // ANCHOR_END: render

    /// Renders into `out`, the environment file readable by its owner only.
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, DeployError> {
        let files = self.render()?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DeployError::Io { path, source }
        };
        std::fs::create_dir_all(out).map_err(io(out))?;
        let mut written = Vec::new();
        for (name, text) in files {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(io(&path))?;
            #[cfg(unix)]
            if name == SECRET_FILE {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io(&path))?;
            }
            written.push(path);
        }
        Ok(written)
    }
}

fn template_error(name: &'static str, error: &tera::Error) -> DeployError {
    DeployError::Template {
        name,
        reason: error.to_string(),
    }
}

fn is_domain(text: &str) -> bool {
    (1..=253).contains(&text.len())
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn is_host_port(text: &str) -> bool {
    if text.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match text.rsplit_once(':') {
        Some((host, port)) => is_domain(host) && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

fn is_safe_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    path.is_absolute()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"';#${}\\".contains(c))
}

fn is_user_name(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_the_way_their_configuration_reads_them() {
        assert!(is_domain("api.example.com"));
        assert!(!is_domain("-api.example.com"));
        assert!(!is_domain("API.example.com"));
        assert!(is_host_port("[::1]:8000"));
        assert!(is_host_port("app-1.internal:8000"));
        assert!(!is_host_port("app:0"));
        assert!(!is_safe_path(Path::new("relative/book")));
        assert!(is_user_name("jwt-workbook"));
    }
}
