//! The attack lab: thirteen small web apps, **each vulnerable on purpose**, one per classic JWT
//! flaw, for the attack-lab chapter of the book and its exercise. Each app has a login for a
//! low-privilege user (`guest` / `guest`) and an admin-only resource holding a flag, random per
//! run; getting the flag is the goal.
//!
//! Nothing here is part of the server: `serve` never routes to this module (a test proves it),
//! and `cargo run -- lab` listens on loopback addresses only. The vulnerable verifiers are in
//! [`apps`]; `keys` holds what each app signs with, `http` the routes, `pages` the HTML. This
//! module starts the apps (keys, flags, files, the SQLite key table, the leaked logs) and keeps
//! a journal of the requests that got a flag, so that the exercise's tests can replay them
//! against the real server.

pub mod apps;
mod http;
mod keys;
mod pages;

pub use http::router;
pub use keys::LabKey;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::Method;
use jsonwebtoken::Header;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::tokens::{Key, KeyAlgorithm};

/// The low-privilege account every app has; its password is on every page.
pub const GUEST: &str = "guest";
pub const GUEST_PASSWORD: &str = "guest";
/// The admin's `user_id`; the admin's password is random and never shown.
pub const ADMIN_ID: &str = "1";
pub const GUEST_ID: &str = "2";
/// Where `cargo run -- lab` listens unless told otherwise: beside `serve`'s 8000.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8001";
/// The word list the weak-secret app takes its secret from, and the attacker their guesses.
pub const WORDLIST: &str = include_str!("wordlist.txt");
/// The `kid`s of the two apps that look keys up by name.
const KID_PATH_KID: &str = "signing-2026.key";
const KID_SQL_KID: &str = "2026-12";
/// How many successful exploits the journal keeps, in memory.
const MAX_JOURNAL: usize = 10_000;
/// How many files the jku app's file sharing keeps, in memory.
const MAX_UPLOADS: usize = 1000;
const STYLE: &str = "body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}\n\
    .warning{background:#b00020;color:white;padding:.8em;font-weight:bold}\n\
    code,pre{background:#f3f3f3}\n";

/// One flaw, one app, mounted at `/lab/<slug>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    Unverified,
    AlgNone,
    WeakSecret,
    JwkHeader,
    JkuHeader,
    KidPath,
    KidSql,
    AlgConfusion,
    RecoveredKey,
    Expired,
    Audience,
    RefreshAsAccess,
    RefreshReuse,
}

impl Flaw {
    pub const ALL: [Flaw; 13] = [
        Flaw::Unverified,
        Flaw::AlgNone,
        Flaw::WeakSecret,
        Flaw::JwkHeader,
        Flaw::JkuHeader,
        Flaw::KidPath,
        Flaw::KidSql,
        Flaw::AlgConfusion,
        Flaw::RecoveredKey,
        Flaw::Expired,
        Flaw::Audience,
        Flaw::RefreshAsAccess,
        Flaw::RefreshReuse,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Flaw::Unverified => "unverified",
            Flaw::AlgNone => "alg-none",
            Flaw::WeakSecret => "weak-secret",
            Flaw::JwkHeader => "jwk-header",
            Flaw::JkuHeader => "jku-header",
            Flaw::KidPath => "kid-path",
            Flaw::KidSql => "kid-sql",
            Flaw::AlgConfusion => "alg-confusion",
            Flaw::RecoveredKey => "recovered-key",
            Flaw::Expired => "expired",
            Flaw::Audience => "audience",
            Flaw::RefreshAsAccess => "refresh-as-access",
            Flaw::RefreshReuse => "refresh-reuse",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Flaw::Unverified => "The signature is never checked",
            Flaw::AlgNone => "alg: none is accepted",
            Flaw::WeakSecret => "A weak HMAC secret",
            Flaw::JwkHeader => "The key comes from the token's jwk header",
            Flaw::JkuHeader => "The key set comes from the token's jku URL",
            Flaw::KidPath => "kid is a file path",
            Flaw::KidSql => "kid goes into an SQL query",
            Flaw::AlgConfusion => "Algorithm confusion with the published RSA key",
            Flaw::RecoveredKey => "Algorithm confusion with a key nobody published",
            Flaw::Expired => "exp is not checked",
            Flaw::Audience => "A token for another audience is accepted",
            Flaw::RefreshAsAccess => "A refresh token works as an access token",
            Flaw::RefreshReuse => "A rotated-away refresh token works again",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Flaw> {
        Flaw::ALL.into_iter().find(|flaw| flaw.slug() == slug)
    }

    /// The app's base path, `/lab/<slug>/`.
    pub fn base(self) -> String {
        format!("/lab/{}/", self.slug())
    }

    /// Every route the app answers, with a concrete path (uploads with an example id).
    pub fn routes(self) -> Vec<(Method, String)> {
        let base = self.base();
        let mut routes = vec![
            (Method::GET, base.clone()),
            (Method::POST, format!("{base}api/token/")),
            (Method::GET, format!("{base}api/admin/")),
        ];
        let extra: &[(Method, &str)] = match self {
            Flaw::JkuHeader => &[
                (Method::GET, ".well-known/jwks.json"),
                (Method::POST, "files"),
                (Method::GET, "files/example"),
            ],
            Flaw::AlgConfusion => &[(Method::GET, ".well-known/jwks.json")],
            Flaw::KidPath => &[(Method::GET, "static/lab.css")],
            Flaw::Audience => &[(Method::POST, "staging/api/token/")],
            Flaw::Expired | Flaw::RefreshAsAccess => &[(Method::GET, "logs")],
            Flaw::RefreshReuse => &[(Method::GET, "logs"), (Method::POST, "api/token/refresh/")],
            _ => &[],
        };
        routes.extend(
            extra
                .iter()
                .map(|(method, path)| (method.clone(), format!("{base}{path}"))),
        );
        routes
    }
}

/// Every route of the lab: its index and every app's.
pub fn routes() -> Vec<(Method, String)> {
    let mut routes = vec![(Method::GET, "/lab/".to_owned())];
    routes.extend(Flaw::ALL.into_iter().flat_map(Flaw::routes));
    routes
}

/// A request that got an app's admin power, kept so that tests can send the same request to the
/// real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// `GET …/api/admin/` with `Authorization: Bearer <token>`.
    Bearer(String),
    /// `POST …/api/token/refresh/` with `{"refresh": <token>}`.
    Refresh(String),
}

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "the attack lab's apps are vulnerable on purpose, so it listens on loopback addresses only \
         (127.0.0.1, ::1), never on {0}: pick e.g. --addr 127.0.0.1:8001"
    )]
    NotLoopback(SocketAddr),
    #[error("the lab's files in {path}: {source}")]
    Files {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the lab's key database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the lab's keys: {0}")]
    Key(String),
}

impl From<crate::tokens::KeyError> for LabError {
    fn from(error: crate::tokens::KeyError) -> Self {
        LabError::Key(error.to_string())
    }
}

/// Refuses every address but a loopback one.
pub fn check_address(addr: SocketAddr) -> Result<(), LabError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(LabError::NotLoopback(addr))
    }
}

/// `http://` and a loopback host (`127.x.y.z`, `[::1]` or `localhost`), with a port or not.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<axum::http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    uri.scheme_str() == Some("http")
        && (host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
}

/// One app's keys, flag and leaked tokens.
struct App {
    /// The admin resource: random per run, so only a working exploit can return it.
    flag: String,
    /// What the app signs with.
    key: LabKey,
    /// What a correct app would verify with: the same key, except for the weak secret.
    honest: LabKey,
    /// Requests that replay history before the exploit (the admin's own refresh, say).
    prelude: Vec<Replay>,
    /// What the app's `logs` page shows.
    log: String,
}

struct Inner {
    apps: HashMap<Flaw, App>,
    dir: PathBuf,
    db: SqlitePool,
    uploads: Mutex<HashMap<String, String>>,
    journal: Mutex<Vec<(Flaw, Replay)>>,
    /// Instrumentation, not the refresh-reuse app's logic: which refresh tokens were used.
    used_refresh: Mutex<Vec<String>>,
}

/// The running lab's state: cheap to clone.
#[derive(Clone)]
pub struct Lab {
    inner: Arc<Inner>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl Lab {
    /// Creates every app's keys, flag and files in `dir` (emptied first: it belongs to the lab).
    pub async fn start(dir: &Path) -> Result<Lab, LabError> {
        let files = |source| LabError::Files {
            path: dir.to_owned(),
            source,
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(files)?;
        }
        std::fs::create_dir_all(dir.join("keys")).map_err(files)?;
        std::fs::create_dir_all(dir.join("static")).map_err(files)?;
        std::fs::write(dir.join("static/lab.css"), STYLE).map_err(files)?;

        let words: Vec<&str> = WORDLIST.lines().filter(|w| !w.is_empty()).collect();
        let weak = words[rand::random::<usize>() % words.len()];
        let rsa_pem = tokio::task::spawn_blocking(|| Key::generate(KeyAlgorithm::RS256))
            .await
            .map_err(|e| LabError::Key(e.to_string()))??
            .1;
        let small_e_pem = tokio::task::spawn_blocking(keys::rsa_with_exponent_3)
            .await
            .map_err(|e| LabError::Key(e.to_string()))??;
        let (_, ed_pem) = Key::generate(KeyAlgorithm::EdDSA)?;
        let (_, ed_pem_jku) = Key::generate(KeyAlgorithm::EdDSA)?;

        let kid_path_key = LabKey::random_secret(Some(KID_PATH_KID));
        std::fs::write(
            dir.join("keys").join(KID_PATH_KID),
            kid_path_key.verification_bytes(),
        )
        .map_err(files)?;
        let kid_sql_key = LabKey::random_secret(Some(KID_SQL_KID));
        let database = dir.join("keys.sqlite3");
        let setup = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&database)
                    .create_if_missing(true),
            )
            .await?;
        sqlx::query("CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, secret TEXT NOT NULL)")
            .execute(&setup)
            .await?;
        sqlx::query("INSERT INTO signing_keys (kid, secret) VALUES (?, ?)")
            .bind(KID_SQL_KID)
            .bind(String::from_utf8_lossy(kid_sql_key.verification_bytes()).into_owned())
            .execute(&setup)
            .await?;
        setup.close().await;
        // The injectable app reads through a read-only connection: an injected query can return
        // what the attacker likes, but cannot change or create files.
        let db = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&database)
                    .read_only(true),
            )
            .await?;

        let mut apps = HashMap::new();
        for flaw in Flaw::ALL {
            let key = match flaw {
                Flaw::WeakSecret => LabKey::secret(weak),
                Flaw::JwkHeader => LabKey::pair(KeyAlgorithm::EdDSA, ed_pem.to_string())?,
                Flaw::JkuHeader => LabKey::pair(KeyAlgorithm::EdDSA, ed_pem_jku.to_string())?,
                Flaw::KidPath => kid_path_key.clone(),
                Flaw::KidSql => kid_sql_key.clone(),
                Flaw::AlgConfusion => LabKey::pair(KeyAlgorithm::RS256, rsa_pem.clone())?,
                Flaw::RecoveredKey => LabKey::pair(KeyAlgorithm::RS256, small_e_pem.clone())?,
                _ => LabKey::random_secret(None),
            };
            let honest = match flaw {
                Flaw::WeakSecret => LabKey::random_secret(None),
                _ => key.clone(),
            };
            apps.insert(
                flaw,
                App {
                    flag: random_hex(16),
                    key,
                    honest,
                    prelude: Vec::new(),
                    log: String::new(),
                },
            );
        }
        let lab = Lab {
            inner: Arc::new(Inner {
                apps,
                dir: dir.to_owned(),
                db,
                uploads: Mutex::new(HashMap::new()),
                journal: Mutex::new(Vec::new()),
                used_refresh: Mutex::new(Vec::new()),
            }),
        };
        Ok(lab.with_leaks())
    }

    /// Writes the logs of the three apps whose story starts with a leaked token.
    fn with_leaks(mut self) -> Self {
        let t = now();
        let stamp = |seconds_ago: i64| crate::clock::iso8601_utc(t - seconds_ago);
        let expired = self.issue_at(Flaw::Expired, ADMIN_ID, "access", t - 7200, 300, None);
        let refresh = self.issue_at(
            Flaw::RefreshAsAccess,
            ADMIN_ID,
            "refresh",
            t - 60,
            86_400,
            None,
        );
        let old = self.issue_at(
            Flaw::RefreshReuse,
            ADMIN_ID,
            "refresh",
            t - 120,
            86_400,
            None,
        );
        let jti = claim(&old, "jti");
        let inner = Arc::get_mut(&mut self.inner).expect("not shared yet");
        inner.used_refresh.get_mut().expect("lock").push(jti);
        let app = inner.apps.get_mut(&Flaw::Expired).expect("app");
        app.log = format!(
            "{} GET /lab/expired/api/admin/ 200 user=admin\n\
             {} GET /lab/expired/api/admin/ 200 user=admin authorization=\"Bearer {expired}\" \
             note=\"token expired at {}, safe to log\"\n",
            stamp(7100),
            stamp(3000),
            crate::clock::iso8601_utc(t - 6900),
        );
        let app = inner.apps.get_mut(&Flaw::RefreshAsAccess).expect("app");
        app.log = format!(
            "{} POST /lab/refresh-as-access/api/token/ 200 user=admin client=mobile \
             refresh={refresh} note=\"refresh tokens only work with the mobile client's \
             secret, safe to log\"\n",
            stamp(60),
        );
        let app = inner.apps.get_mut(&Flaw::RefreshReuse).expect("app");
        app.log = format!(
            "{} POST /lab/refresh-reuse/api/token/ 200 user=admin\n\
             {} POST /lab/refresh-reuse/api/token/refresh/ 200 user=admin refresh={old} \
             note=\"rotated: this token was replaced, safe to log\"\n",
            stamp(120),
            stamp(30),
        );
        app.prelude = vec![Replay::Refresh(old)];
        self
    }

    fn app(&self, flaw: Flaw) -> &App {
        &self.inner.apps[&flaw]
    }

    /// The flag an app's admin resource returns in this run.
    pub fn flag(&self, flaw: Flaw) -> &str {
        &self.app(flaw).flag
    }

    /// The key an app signs its tokens with (for the weak-secret app, the weak word).
    pub fn signing_key(&self, flaw: Flaw) -> &LabKey {
        &self.app(flaw).key
    }

    /// The key a correct app would use: the same, but a strong random secret in place of the
    /// weak word.
    pub fn honest_key(&self, flaw: Flaw) -> &LabKey {
        &self.app(flaw).honest
    }

    /// What happened before the attacker came, as requests (the admin's own refresh).
    pub fn prelude(&self, flaw: Flaw) -> Vec<Replay> {
        self.app(flaw).prelude.clone()
    }

    /// The requests that got `flaw`'s app to grant admin power through its flaw, oldest first.
    pub fn exploits(&self, flaw: Flaw) -> Vec<Replay> {
        self.inner
            .journal
            .lock()
            .expect("journal")
            .iter()
            .filter(|(f, _)| *f == flaw)
            .map(|(_, replay)| replay.clone())
            .collect()
    }

    fn record(&self, flaw: Flaw, replay: Replay) {
        let mut journal = self.inner.journal.lock().expect("journal");
        // A lab left running under a script must not grow without end.
        if journal.len() >= MAX_JOURNAL {
            journal.drain(..MAX_JOURNAL / 2);
        }
        journal.push((flaw, replay));
    }

    /// A token in simplejwt's shape, signed the way `flaw`'s app signs.
    fn issue(&self, flaw: Flaw, user_id: &str, token_type: &str, host: Option<&str>) -> String {
        let lifetime = if token_type == "refresh" { 86_400 } else { 300 };
        self.issue_at(flaw, user_id, token_type, now(), lifetime, host)
    }

    fn issue_at(
        &self,
        flaw: Flaw,
        user_id: &str,
        token_type: &str,
        iat: i64,
        lifetime: i64,
        host: Option<&str>,
    ) -> String {
        self.sign(
            flaw,
            &self.app(flaw).key,
            user_id,
            token_type,
            iat,
            lifetime,
            host,
        )
    }

    /// A token shaped as `flaw`'s app issues it, but signed with the app's honest key: what the
    /// real server, configured with that key, must accept. Tests send it first, to show that the
    /// real server's refusal of a forgery is about the forgery.
    pub fn honest_token(&self, flaw: Flaw, user_id: &str, token_type: &str) -> String {
        let lifetime = if token_type == "refresh" { 86_400 } else { 300 };
        let key = &self.app(flaw).honest;
        self.sign(flaw, key, user_id, token_type, now(), lifetime, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        flaw: Flaw,
        key: &LabKey,
        user_id: &str,
        token_type: &str,
        iat: i64,
        lifetime: i64,
        host: Option<&str>,
    ) -> String {
        let mut header = Header::new(key.jwt_algorithm());
        header.kid = key.kid().map(str::to_owned);
        if let (Flaw::JwkHeader, LabKey::Pair { public_jwk, .. }) = (flaw, key) {
            header.jwk = serde_json::from_value(public_jwk.clone()).ok();
        }
        if flaw == Flaw::JkuHeader {
            let host = host.unwrap_or("127.0.0.1:8001");
            header.jku = Some(format!(
                "http://{host}/lab/jku-header/.well-known/jwks.json"
            ));
        }
        let claims = json!({
            "token_type": token_type,
            "exp": iat + lifetime,
            "iat": iat,
            "jti": random_hex(16),
            "user_id": user_id,
        });
        jsonwebtoken::encode(&header, &claims, &key.encoding_key()).expect("the lab signs")
    }

    /// Runs `flaw`'s verifier on a bearer token.
    async fn verify(&self, flaw: Flaw, token: &str) -> Result<apps::Claims, apps::Refusal> {
        let key = self.app(flaw).key.verification_bytes();
        match flaw {
            Flaw::Unverified => apps::unverified(token),
            Flaw::AlgNone => apps::alg_none(token, key, now()),
            Flaw::WeakSecret => apps::weak_secret(token, &String::from_utf8_lossy(key)),
            Flaw::JwkHeader => apps::jwk_header(token),
            Flaw::JkuHeader => apps::jku_header(token).await,
            Flaw::KidPath => apps::kid_path(token, &self.inner.dir.join("keys")),
            Flaw::KidSql => apps::kid_sql(token, &self.inner.db).await,
            Flaw::AlgConfusion | Flaw::RecoveredKey => {
                apps::alg_confusion(token, &String::from_utf8_lossy(key))
            }
            Flaw::Expired => apps::expired(token, key),
            Flaw::Audience => apps::audience(token, key),
            Flaw::RefreshAsAccess => apps::refresh_as_access(token, key),
            Flaw::RefreshReuse => apps::access_token(token, key),
        }
    }
}

/// One claim of a token the lab signed itself, as text.
fn claim(token: &str, name: &str) -> String {
    jsonwebtoken::dangerous::insecure_decode::<apps::Claims>(token)
        .ok()
        .and_then(|data| {
            data.claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// Serves the lab on an already bound loopback listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    lab: Lab,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    check_address(listener.local_addr()?)?;
    crate::app::serve(
        listener,
        router(lab),
        crate::app::ConnectionLimits::default(),
        shutdown,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_accepted() {
        assert!(check_address("127.0.0.1:8001".parse().unwrap()).is_ok());
        assert!(check_address("[::1]:8001".parse().unwrap()).is_ok());
        let refused = check_address("0.0.0.0:8001".parse().unwrap()).unwrap_err();
        assert!(
            refused.to_string().contains("vulnerable on purpose"),
            "{refused}"
        );
        assert!(check_address("192.168.1.10:8001".parse().unwrap()).is_err());
    }

    #[test]
    fn the_lab_fetches_only_from_loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:8001/x.json"));
        assert!(is_loopback_url("http://localhost/x.json"));
        assert!(is_loopback_url("http://[::1]:9/x"));
        assert!(!is_loopback_url("https://127.0.0.1/x"));
        assert!(!is_loopback_url("http://example.com/x"));
        assert!(!is_loopback_url("http://10.0.0.1/x"));
        assert!(!is_loopback_url("file:///etc/passwd"));
    }

    #[test]
    fn every_flaw_has_its_own_slug_and_index_routes() {
        let slugs: std::collections::HashSet<&str> = Flaw::ALL.iter().map(|f| f.slug()).collect();
        assert_eq!(slugs.len(), Flaw::ALL.len());
        assert!(routes().len() > 3 * Flaw::ALL.len());
        for flaw in Flaw::ALL {
            assert_eq!(Flaw::from_slug(flaw.slug()), Some(flaw));
        }
    }
}
