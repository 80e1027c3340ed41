//! A complete deployment rendered from tera templates (`deploy/templates/`): an nginx site in
//! front of one or more instances, a hardened systemd template unit with one instance per
//! address nginx balances over, a container file, a Procfile and an environment file
//! documenting every variable. Settings are checked before anything is rendered, because each
//! one ends up inside a configuration language: a path with a `;` or a URL with a newline would
//! let a value write its own nginx directive or environment variable. Each refusal names the
//! flag and the value it was given, and never a setting left at its default.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The templates, compiled into the binary so that `deploy` works from any directory.
const TEMPLATES: [(&str, &str); 5] = [
    (
        "nginx.conf",
        include_str!("../deploy/templates/nginx.conf.tera"),
    ),
    (
        UNIT_FILE,
        include_str!("../deploy/templates/jwt-workbook@.service.tera"),
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
        SECRET_FILE,
        include_str!("../deploy/templates/jwt-workbook.env.tera"),
    ),
];

/// The environment file holds secrets: only its owner may read it.
pub const SECRET_FILE: &str = "jwt-workbook.env";

/// The systemd template unit: `jwt-workbook@ADDRESS.service` runs one instance on ADDRESS.
pub const UNIT_FILE: &str = "jwt-workbook@.service";

/// The ports nginx listens on when none is given.
pub const STANDARD_HTTP_PORT: u16 = 80;
pub const STANDARD_HTTPS_PORT: u16 = 443;

/// What a deployment is rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploySettings {
    pub domain: String,
    /// `ip:port` of each instance nginx balances over; each gets a systemd instance listening
    /// on exactly that address.
    pub upstreams: Vec<String>,
    /// Where the built book is on the server (`jwt-workbook book --out DIR`).
    pub book_dir: PathBuf,
    /// The system user the service runs as.
    pub user: String,
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub env_file: PathBuf,
    /// The certificate chain; `None`: where Let's Encrypt puts the domain's.
    pub tls_certificate: Option<PathBuf>,
    /// The certificate's private key; `None`: where Let's Encrypt puts the domain's.
    pub tls_certificate_key: Option<PathBuf>,
    /// `None`: [`STANDARD_HTTP_PORT`].
    pub http_port: Option<u16>,
    /// `None`: [`STANDARD_HTTPS_PORT`].
    pub https_port: Option<u16>,
    pub log_dir: PathBuf,
    pub ipv6: bool,
    /// The address nginx connects to the instances from; they trust X-Forwarded-For from it.
    pub proxy_bind: Option<IpAddr>,
    /// A shared PostgreSQL for several instances (it goes into the environment file only).
    pub database_url: Option<String>,
}

/// May [`DeploySettings::write`] replace an environment file already in the folder? Its
/// secrets are filled in by hand after the first rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse, before writing anything.
    Refuse,
    /// Replace it (`--force`).
    Allow,
}

/// Why the settings were refused, or rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{} already exists and may hold the secrets filled in after the last rendering: \
         render into another folder, or pass --force to replace it",
        path.display()
    )]
    EnvFileExists { path: PathBuf },
    #[error("template {name}: {reason}")]
    Template { name: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One systemd instance of the template unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// The address it listens on, as nginx's upstream names it.
    pub address: String,
    /// `jwt-workbook@…`, the address escaped the way `systemd-escape` does it.
    pub unit: String,
    /// The unit name as a shell word: quoted when the escaping put a backslash in it.
    pub shell_word: String,
}

impl DeploySettings {
    /// Every problem, each in a sentence, or `Ok`.
    pub fn validate(&self) -> Result<(), DeployError> {
        let mut problems = Vec::new();
        if let Some(placeholder) = placeholder_in(&self.domain) {
            problems.push(placeholder_problem("--domain", &self.domain, placeholder));
        } else if !is_domain(&self.domain) {
            problems.push(format!(
                "--domain {:?} is not a domain name (letters, digits, '-' and '.')",
                self.domain
            ));
        }
        self.check_upstreams(&mut problems);
        let mut paths = vec![
            ("--book-dir", &self.book_dir),
            ("--binary", &self.binary),
            ("--server-data-dir", &self.data_dir),
            ("--env-file", &self.env_file),
            ("--log-dir", &self.log_dir),
        ];
        // Unset, they are built from the domain, which is checked above.
        if let Some(path) = &self.tls_certificate {
            paths.push(("--tls-certificate", path));
        }
        if let Some(path) = &self.tls_certificate_key {
            paths.push(("--tls-certificate-key", path));
        }
        for (flag, path) in paths {
            let text = path.to_string_lossy();
            if let Some(placeholder) = placeholder_in(&text) {
                problems.push(placeholder_problem(flag, &text, placeholder));
            } else if !is_safe_path(path) {
                problems.push(format!(
                    "{flag} {text:?} must be an absolute path without spaces, quotes, ';', '#', \
                     '$', '%' or braces"
                ));
            }
        }
        if let Some(placeholder) = placeholder_in(&self.user) {
            problems.push(placeholder_problem("--user", &self.user, placeholder));
        } else if !is_user_name(&self.user) {
            problems.push(format!(
                "--user {:?} is not a system user name (a-z, 0-9, '_' and '-')",
                self.user
            ));
        }
        if let Some(problem) = self.port_clash() {
            problems.push(problem);
        }
        if let Some(url) = &self.database_url {
            let shown = redact_password(url);
            if let Some(placeholder) = placeholder_in(url).or_else(|| placeholder_password(url)) {
                problems.push(placeholder_problem(
                    "--shared-database-url",
                    &shown,
                    placeholder,
                ));
            } else if !url.starts_with("postgres")
                || url.chars().any(|c| c.is_whitespace() || c == '#')
            {
                problems.push(format!(
                    "--shared-database-url {shown:?} must be one postgres://… URL, without \
                     spaces or line breaks"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DeployError::Invalid(problems.join("\n")))
        }
    }

    fn check_upstreams(&self, problems: &mut Vec<String>) {
        if self.upstreams.is_empty() {
            problems.push("no instance to pass requests to: give one --upstream ip:port".into());
        }
        let mut seen = HashSet::new();
        for upstream in &self.upstreams {
            if let Some(placeholder) = placeholder_in(upstream) {
                problems.push(placeholder_problem("--upstream", upstream, placeholder));
                continue;
            }
            match upstream.parse::<SocketAddr>() {
                Ok(address) if address.port() == 0 => {
                    problems.push(format!("--upstream {upstream:?} needs a port other than 0"));
                }
                Ok(address) => {
                    if !seen.insert(address) {
                        problems.push(format!(
                            "--upstream {upstream} is given twice: one instance listens on each address"
                        ));
                    }
                }
                Err(_) => match upstream.rsplit_once(':') {
                    Some((host, port)) if is_domain(host) && port.parse::<u16>().is_ok() => {
                        problems.push(format!(
                            "--upstream {upstream:?} names a host: its instance must listen on an \
                             IP address, so give the address {host} has, e.g. 10.0.0.5:{port}"
                        ));
                    }
                    _ => problems.push(format!(
                        "--upstream {upstream:?} is not an IP address and port, e.g. 127.0.0.1:8001"
                    )),
                },
            }
        }
        if self.upstreams.len() > 1 && self.database_url.is_none() {
            problems.push(format!(
                "{} --upstream instances would each keep their own SQLite users and sessions: \
                 give them one PostgreSQL to share with --shared-database-url postgres://…",
                self.upstreams.len()
            ));
        }
    }

    /// nginx cannot listen for plain HTTP and TLS on one port. The message names only the
    /// port(s) that were given: a standard one was not the user's choice.
    fn port_clash(&self) -> Option<String> {
        let (http, https) = (self.http_port(), self.https_port());
        if http != https {
            return None;
        }
        Some(match (self.http_port, self.https_port) {
            (Some(_), Some(_)) => {
                format!("--http-port {http} and --https-port {https} must be different ports")
            }
            (Some(_), None) => {
                format!("--http-port {http} is the standard HTTPS port: nginx takes it for TLS")
            }
            _ => format!(
                "--https-port {https} is the standard HTTP port: nginx takes it for redirects"
            ),
        })
    }

    pub fn http_port(&self) -> u16 {
        self.http_port.unwrap_or(STANDARD_HTTP_PORT)
    }

    pub fn https_port(&self) -> u16 {
        self.https_port.unwrap_or(STANDARD_HTTPS_PORT)
    }

    /// The certificate chain nginx presents.
    pub fn tls_certificate(&self) -> PathBuf {
        self.tls_certificate
            .clone()
            .unwrap_or_else(|| self.letsencrypt().join("fullchain.pem"))
    }

    /// The certificate's private key.
    pub fn tls_certificate_key(&self) -> PathBuf {
        self.tls_certificate_key
            .clone()
            .unwrap_or_else(|| self.letsencrypt().join("privkey.pem"))
    }

    fn letsencrypt(&self) -> PathBuf {
        Path::new("/etc/letsencrypt/live").join(&self.domain)
    }

    /// One systemd instance per upstream, in the order given.
    pub fn instances(&self) -> Vec<Instance> {
        self.upstreams
            .iter()
            .map(|upstream| {
                // Validated upstreams parse; the text as given is what nginx and the unit use.
                let address = upstream
                    .parse::<SocketAddr>()
                    .map_or_else(|_| upstream.clone(), |a| a.to_string());
                let unit = format!("jwt-workbook@{}", systemd_escape(&address));
                let shell_word = if unit.contains('\\') {
                    format!("'{unit}'")
                } else {
                    unit.clone()
                };
                Instance {
                    address,
                    unit,
                    shell_word,
                }
            })
            .collect()
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
        // What was left unset, filled in.
        context.insert("http_port", &self.http_port());
        context.insert("https_port", &self.https_port());
        context.insert("tls_certificate", &self.tls_certificate());
        context.insert("tls_certificate_key", &self.tls_certificate_key());
        context.insert("instances", &self.instances());
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

    /// Renders into `out`, the environment file readable by its owner only. An environment
    /// file already there is replaced only with [`Overwrite::Allow`]; otherwise nothing is
    /// written at all.
    pub fn write(&self, out: &Path, overwrite: Overwrite) -> Result<Vec<PathBuf>, DeployError> {
        let files = self.render()?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DeployError::Io { path, source }
        };
        let env_file = out.join(SECRET_FILE);
        if overwrite == Overwrite::Refuse && std::fs::symlink_metadata(&env_file).is_ok() {
            return Err(DeployError::EnvFileExists { path: env_file });
        }
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

/// The placeholder in a value copied from an example and not filled in, if there is one.
fn placeholder_in(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    for marker in ["…", "...", "changeme", "change-me", "change_me"] {
        if lower.contains(marker) {
            return Some(marker);
        }
    }
    // `<password>`, `<your-domain>`.
    let opening = text.find('<')?;
    text[opening..].contains('>').then_some("<…>")
}

/// The password of our own example URL, `postgres://user:password@host/database`.
fn placeholder_password(url: &str) -> Option<&'static str> {
    let (_, authority) = url.split_once("://")?;
    let (user_info, _) = authority.split('/').next()?.rsplit_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    (password == "password").then_some("password")
}

fn placeholder_problem(flag: &str, value: &str, placeholder: &str) -> String {
    format!("{flag} {value:?} holds the placeholder {placeholder:?}: put in the real value")
}

/// The URL with its password, if any, replaced by `***`: refusals are printed, and end up in
/// terminals' scroll-back and CI logs.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// `systemd-escape`: what may stand in a unit name as it is, `/` as `-`, every other byte as
/// `\xNN`, and a leading `.` escaped too. `%I` in the unit turns it back.
fn systemd_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'/' => out.push('-'),
            b'.' if i > 0 => out.push('.'),
            b if b.is_ascii_alphanumeric() || b == b':' || b == b'_' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
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

fn is_safe_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    path.is_absolute()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"';#$%{}\\".contains(c))
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
        assert!(!is_safe_path(Path::new("relative/book")));
        assert!(!is_safe_path(Path::new("/srv/%i/book")));
        assert!(is_user_name("jwt-workbook"));
    }

    #[test]
    fn unit_names_are_escaped_the_way_systemd_escape_does_it() {
        assert_eq!(systemd_escape("127.0.0.1:8001"), "127.0.0.1:8001");
        assert_eq!(systemd_escape("[::1]:8000"), "\\x5b::1\\x5d:8000");
        assert_eq!(systemd_escape(".hidden/a-b"), "\\x2ehidden-a\\x2db");
    }

    #[test]
    fn values_copied_from_an_example_are_recognised() {
        assert_eq!(placeholder_in("postgres://jwt:…@db/jwt"), Some("…"));
        assert_eq!(placeholder_in("/srv/.../book"), Some("..."));
        assert_eq!(placeholder_in("postgres://u:<password>@db/x"), Some("<…>"));
        assert_eq!(placeholder_in("CHANGEME.example.com"), Some("changeme"));
        assert_eq!(placeholder_in("postgres://jwt:Xq7-w2@db/jwt"), None);
        assert_eq!(
            placeholder_password("postgres://user:password@host/database"),
            Some("password")
        );
        assert_eq!(placeholder_password("postgres://user:pass@host/db"), None);
    }

    #[test]
    fn a_refused_database_url_is_shown_without_its_password() {
        assert_eq!(
            redact_password("postgres://jwt:s3cret@db.internal:5432/jwt"),
            "postgres://jwt:***@db.internal:5432/jwt"
        );
        assert_eq!(redact_password("postgres://db/jwt"), "postgres://db/jwt");
        assert_eq!(
            redact_password("postgres://jwt@db/jwt"),
            "postgres://jwt@db/jwt"
        );
    }
}
