//! The command line: `serve` (the default), the learner's tools (`check`, `progress`, `watch`,
//! `hint`, `reset`, `solution`, `book`) and the operator's (`user`, `key`, `cleanup`). Every option
//! can also come from the environment variable named in `--help`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::clock::Seconds;
use crate::tokens::KeyAlgorithm;
use crate::users::Rate;

/// A JWT authentication workbook and the simplejwt-compatible token server it builds up to.
///
/// With no subcommand, serves the API on 127.0.0.1:8000 (the same as `serve`).
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The same command line with every path a user gave or defaulted to made absolute against
    /// `cwd`, the directory the command runs in. Done once, here at the edge: libraries further
    /// down resolve relative paths against folders of their own (mdBook against the book's).
    pub fn with_paths_from(mut self, cwd: &Path) -> Self {
        let at = |path: &mut PathBuf| *path = absolute(cwd, path);
        at(&mut self.global.data_dir);
        self.serve.paths_from(cwd);
        match &mut self.command {
            Some(Command::Serve(args)) => args.paths_from(cwd),
            Some(Command::Classroom(args)) => {
                at(&mut args.students);
                args.accounts.iter_mut().for_each(at);
                args.serve.paths_from(cwd);
            }
            Some(Command::Book { out }) => at(out),
            // The other paths of `deploy` are paths on the production server, written into the
            // files it renders; only the folder it writes to is on this machine.
            Some(Command::Deploy(args)) => at(&mut args.out),
            Some(Command::Key(
                KeyCommand::Rotate { ring, .. }
                | KeyCommand::List { ring }
                | KeyCommand::Retire { ring, .. },
            )) => ring.keys_dir.iter_mut().for_each(at),
            _ => {}
        }
        self
    }
}

/// Options every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where the SQLite database and the development signing key live.
    #[arg(
        long,
        env = "JWT_WORKBOOK_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `development` generates and keeps a signing key and creates a demo user; `production`
    /// refuses to start without a strong key. Defaults to development in debug builds
    /// (`cargo run`) and production in release builds.
    #[arg(long, env = "JWT_WORKBOOK_ENV", global = true)]
    pub environment: Option<Environment>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "JWT_WORKBOOK_LOG_JSON", global = true)]
    pub log_json: bool,
    /// A shared PostgreSQL database, `postgres://user:password@host/database`, for several
    /// instances; without it, users and tokens live in a SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
}

impl GlobalArgs {
    pub fn environment(&self) -> Environment {
        self.environment.unwrap_or(if cfg!(debug_assertions) {
            Environment::Development
        } else {
            Environment::Production
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(Box<ServeArgs>),
    /// Create, list, deactivate and reactivate users, and set passwords.
    #[command(subcommand)]
    User(UserCommand),
    /// Register and list the OpenID Connect provider's clients (relying parties).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Delete revoked-token records whose tokens have expired anyway.
    Cleanup,
    /// Build a chapter's exercise, run its tests, and say which step to work on next.
    /// Without a chapter, checks them all.
    Check {
        /// The chapter: `1`, `01`, `01-anatomy` or `anatomy`.
        chapter: Option<String>,
    },
    /// Every chapter's steps, solved or not (from running the tests now).
    Progress {
        /// Also send it to the classroom server at this address (http://host:port); your
        /// password is read from standard input.
        #[arg(long)]
        submit: Option<String>,
        /// Your account on the classroom server.
        #[arg(long, requires = "submit")]
        username: Option<String>,
    },
    /// Serve the book and the API for a room, with accounts for a list of students and a class
    /// view for the instructor.
    Classroom(Box<ClassroomArgs>),
    /// Fetch and build everything a learner needs (crates, every exercise's tests, the book), so
    /// that the room needs no network.
    WarmUp,
    /// Check again on every save, until Ctrl-C.
    Watch { chapter: Option<String> },
    /// The next hint for the step you are on; each call reveals one more.
    Hint { chapter: String },
    /// Restore a chapter's exercise as shipped (from the branch you cloned), throwing away your
    /// changes (asks first).
    Reset {
        chapter: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// The reference solution of a chapter, once your exercise passes.
    Solution { chapter: String },
    /// For CI and chapter authors: every exercise fails its suite as shipped, every solution
    /// passes it, every step has its section in the book.
    VerifyWorkbook,
    /// Generate, rotate, list and retire signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Render a deployment: nginx site, systemd unit, container file, Procfile, env file.
    Deploy(Box<DeployArgs>),
    /// Two small apps that sign in with the server's OpenID Connect provider, to watch single
    /// sign-on: sign in to one, open the other. Start the server with a key pair first
    /// (`cargo run -- --algorithm RS256`); the apps register themselves as its clients.
    SsoDemo(SsoDemoArgs),
    /// Serve the attack lab: small apps, each VULNERABLE ON PURPOSE, one per classic JWT
    /// flaw, to break in the attack-lab chapter. Listens on loopback addresses only.
    Lab(LabArgs),
    /// Bring a Django service's users (ids kept) and simplejwt's blacklist here, reading its
    /// database without writing to it. Run it again during the cut-over to bring what changed.
    ImportDjango(ImportDjangoArgs),
    /// Build the book into a folder (for nginx, or a zip for a classroom).
    Book {
        /// Where to write the HTML.
        #[arg(long, default_value = "target/book")]
        out: PathBuf,
    },
}

/// Options of `sso-demo`.
#[derive(Debug, Clone, Args)]
pub struct SsoDemoArgs {
    /// The provider: the server's public URL, as its discovery document says it.
    #[arg(
        long,
        env = "JWT_SSO_DEMO_ISSUER",
        default_value = "http://127.0.0.1:8000"
    )]
    pub issuer: String,
    /// The first app's port (on 127.0.0.1).
    #[arg(long, default_value_t = 9001)]
    pub first_port: u16,
    /// The second app's port (on 127.0.0.1).
    #[arg(long, default_value_t = 9002)]
    pub second_port: u16,
}

/// Options of `import-django`.
#[derive(Debug, Clone, Args)]
pub struct ImportDjangoArgs {
    /// Django's database: `sqlite:///path/to/db.sqlite3` or `postgres://user:password@host/db`.
    #[arg(
        long = "from",
        value_name = "URL",
        env = "JWT_IMPORT_DJANGO_FROM",
        hide_env_values = true
    )]
    pub from: String,
    /// The users' table: Django's `auth_user`, or a custom user model's (`AUTH_USER_MODEL`
    /// subclassing `AbstractUser`, e.g. `accounts_user`).
    #[arg(long, value_name = "TABLE", default_value = "auth_user", value_parser = table_name)]
    pub user_table: String,
    /// Say what the import would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A table name as Django makes them (`app_model`): letters, digits and underscores, so that it
/// can be written into a query as it is.
fn table_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err("use letters, digits and underscores, as Django's table names do".into())
    }
}

/// Options of `lab`.
#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Address to listen on: a loopback address only (127.0.0.1 or ::1); anything else is refused.
    #[arg(long, env = "JWT_WORKBOOK_LAB_ADDR", default_value = crate::lab::DEFAULT_ADDR)]
    pub addr: SocketAddr,
}

impl ServeArgs {
    fn paths_from(&mut self, cwd: &Path) {
        for path in [
            &mut self.mail_outbox,
            &mut self.signing_key_file,
            &mut self.private_key_file,
            &mut self.keys_dir,
        ]
        .into_iter()
        .flatten()
        {
            *path = absolute(cwd, path);
        }
    }
}

/// `path` against `cwd`, without the `.` components (`./data` is `cwd/data`).
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    cwd.join(path).components().collect()
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "JWT_WORKBOOK_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// Serve `GET /metrics` (Prometheus / OpenMetrics text) on this address, e.g.
    /// 127.0.0.1:9100: a port of its own, never the public one. Off by default.
    #[arg(long, env = "JWT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Access token lifetime: seconds, or a number with s, m, h or d.
    #[arg(long, env = "JWT_ACCESS_LIFETIME", default_value = "5m")]
    pub access_lifetime: Seconds,
    /// Refresh token lifetime.
    #[arg(long, env = "JWT_REFRESH_LIFETIME", default_value = "1d")]
    pub refresh_lifetime: Seconds,
    /// Absolute session lifetime: however often a refresh token is rotated, the user logs in
    /// again this long after the last login.
    #[arg(long, env = "JWT_SESSION_LIFETIME", default_value = "30d")]
    pub session_lifetime: Seconds,
    /// How often each instance reads the revocations other instances made (logouts, reuse of a
    /// refresh token, password changes): the most another instance may lag behind.
    #[arg(long, env = "JWT_REVOCATION_POLL", default_value = "1s")]
    pub revocation_poll: Seconds,
    /// How often the key ring (--keys-dir) is read again, so a key `key rotate` added is
    /// published, and signs once its activation time comes, without a restart.
    #[arg(long, env = "JWT_KEYRING_POLL", default_value = "10s")]
    pub keyring_poll: Seconds,
    /// How long a request waits for the database (a connection, a lock, a statement) before it
    /// is answered 503 with Retry-After, and `/readyz` says not ready.
    #[arg(long, env = "JWT_STORE_DEADLINE", default_value = "3s")]
    pub store_deadline: Seconds,
    /// Failed logins allowed per username before its logins are refused (429) for a while:
    /// failures/period, e.g. 5/5m, or off.
    #[arg(long, env = "JWT_LOGIN_FAILURES_PER_USER", default_value = "5/5m")]
    pub login_failures_per_user: Rate,
    /// Failed logins allowed per client address, whatever the usernames.
    #[arg(long, env = "JWT_LOGIN_FAILURES_PER_ADDRESS", default_value = "20/1m")]
    pub login_failures_per_address: Rate,
    /// The header a reverse proxy puts the client's address in (X-Forwarded-For, X-Real-IP).
    /// Believed only from --trusted-proxies; without it, the connection's peer is the client.
    #[arg(long, env = "JWT_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// The proxies whose --client-ip-header is believed, comma-separated.
    #[arg(
        long,
        env = "JWT_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1"
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Cookie mode, for browser clients: the refresh token goes in an HttpOnly, Secure,
    /// SameSite=Strict cookie scoped to /api/token/ instead of the body, and spending it takes
    /// the csrftoken cookie's value in an X-CSRFToken header. A `refresh` in the body still works.
    #[arg(long, env = "JWT_REFRESH_COOKIE")]
    pub refresh_cookie: bool,
    /// simplejwt's sliding tokens: POST /api/token/sliding/ and /api/token/sliding/refresh/
    /// answer, and protected routes accept sliding tokens as well as access tokens.
    #[arg(long, env = "JWT_SLIDING_TOKENS")]
    pub sliding_tokens: bool,
    /// A sliding token's lifetime from its last refresh.
    #[arg(long, env = "JWT_SLIDING_LIFETIME", default_value = "5m")]
    pub sliding_lifetime: Seconds,
    /// How long after login a sliding token can still be refreshed.
    #[arg(long, env = "JWT_SLIDING_REFRESH_LIFETIME", default_value = "1d")]
    pub sliding_refresh_lifetime: Seconds,
    /// Where messages with password-reset and verification links are written, one file each
    /// (the server speaks no SMTP). Default in development: `outbox` in the data directory;
    /// in production no link is sent unless this is set.
    #[arg(long, env = "JWT_MAIL_OUTBOX")]
    pub mail_outbox: Option<PathBuf>,
    /// The address links in messages point at, e.g. https://api.example.com (default: http://
    /// and --addr). Never taken from a request's Host header.
    #[arg(long, env = "JWT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Clock-skew allowance for exp, nbf and iat.
    #[arg(long, env = "JWT_LEEWAY", default_value = "0s")]
    pub leeway: Seconds,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open.
    #[arg(long, env = "JWT_WORKBOOK_HEADER_TIMEOUT", default_value = "10s")]
    pub header_timeout: Seconds,
    /// The algorithm new tokens are signed with: HS256 (a shared secret, simplejwt's default),
    /// or a key pair whose public half other services can fetch from /.well-known/jwks.json:
    /// RS256, ES256 or EdDSA. With --keys-dir, the key ring's newest key decides instead.
    #[arg(long, env = "JWT_ALGORITHM", default_value = "HS256")]
    pub algorithm: KeyAlgorithm,
    /// The HS256 signing key itself (prefer the file or the environment: flags show up in `ps`).
    /// With another algorithm or a key ring, it still verifies tokens without a `kid`, such as
    /// those a simplejwt service issued, so nobody is logged out by the move.
    #[arg(long, env = "JWT_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,
    /// A file holding the signing key (a trailing newline is ignored).
    #[arg(long, env = "JWT_SIGNING_KEY_FILE", conflicts_with = "signing_key")]
    pub signing_key_file: Option<PathBuf>,
    /// The RS256/ES256/EdDSA private key as PEM text.
    #[arg(long, env = "JWT_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
    /// A PEM file holding the RS256/ES256/EdDSA private key (PKCS#8, or PKCS#1 / SEC1).
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE", conflicts_with = "private_key")]
    pub private_key_file: Option<PathBuf>,
    /// A key ring directory managed with `key rotate` and `key retire`: its newest active key
    /// signs, all of its keys verify and are published; read again every --keyring-poll.
    #[arg(long, env = "JWT_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Serve only the API, without building and serving the book at `/`.
    #[arg(long, env = "JWT_WORKBOOK_NO_BOOK")]
    pub no_book: bool,
    /// Do not create the demo user in development.
    #[arg(long, env = "JWT_WORKBOOK_NO_DEMO_USER")]
    pub no_demo_user: bool,
    #[command(flatten)]
    pub simplejwt: SimplejwtArgs,
    #[command(flatten)]
    pub cors: CorsArgs,
}

/// simplejwt's `SIMPLE_JWT` settings for what a token says, named after them (see the book's
/// "simplejwt settings" page). Unset, tokens are exactly simplejwt's defaults.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "simplejwt settings")]
pub struct SimplejwtArgs {
    /// ISSUER: written as `iss` into every token, then required (equal) in every token.
    #[arg(long, env = "JWT_ISSUER")]
    pub issuer: Option<String>,
    /// AUDIENCE: written as `aud` into every token, then required: a token must name one of
    /// them. Repeat the flag or separate with commas for several.
    #[arg(long, env = "JWT_AUDIENCE", value_delimiter = ',')]
    pub audience: Vec<String>,
    /// USER_ID_FIELD: the user attribute tokens name, and users are looked up by: id or username.
    #[arg(long, env = "JWT_USER_ID_FIELD", default_value = "id")]
    pub user_id_field: crate::tokens::UserIdField,
    /// USER_ID_CLAIM: the claim naming the user.
    #[arg(long, env = "JWT_USER_ID_CLAIM", default_value = "user_id")]
    pub user_id_claim: String,
    /// TOKEN_TYPE_CLAIM: the claim holding "access", "refresh" or "sliding".
    #[arg(long, env = "JWT_TOKEN_TYPE_CLAIM", default_value = "token_type")]
    pub token_type_claim: String,
    /// JTI_CLAIM: the claim holding the token's id.
    #[arg(long, env = "JWT_JTI_CLAIM", default_value = "jti")]
    pub jti_claim: String,
    /// AUTH_HEADER_TYPES: the schemes accepted before the token in `Authorization`, separated
    /// by commas (e.g. Bearer,JWT); 401 challenges name the first.
    #[arg(
        long,
        env = "JWT_AUTH_HEADER_TYPES",
        value_delimiter = ',',
        default_value = "Bearer"
    )]
    pub auth_header_types: Vec<String>,
    /// AUTH_HEADER_NAME: the header the token travels in, as a header (X-Access-Token) or as
    /// simplejwt's setting names it (HTTP_X_ACCESS_TOKEN). Add it to --cors-allow-headers too.
    #[arg(long, env = "JWT_AUTH_HEADER_NAME", default_value = "Authorization")]
    pub auth_header_name: String,
}

/// Cross-origin requests from browsers, as django-cors-headers' settings allow them. With no
/// origin allowed (the default), no response carries any CORS header.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "CORS (django-cors-headers settings)")]
pub struct CorsArgs {
    /// CORS_ALLOWED_ORIGINS: the origins (scheme://host[:port]) whose pages may call the API,
    /// comma-separated or repeated.
    #[arg(long, env = "JWT_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// CORS_ALLOW_ALL_ORIGINS: any origin may (answered `*`, or the origin with credentials).
    #[arg(long, env = "JWT_CORS_ALLOW_ALL_ORIGINS")]
    pub cors_allow_all_origins: bool,
    /// CORS_ALLOW_CREDENTIALS: allowed origins may send cookies (cookie mode's refresh cookie).
    #[arg(long, env = "JWT_CORS_ALLOW_CREDENTIALS")]
    pub cors_allow_credentials: bool,
    /// CORS_ALLOW_HEADERS: the request headers a preflight allows.
    #[arg(
        long,
        env = "JWT_CORS_ALLOW_HEADERS",
        value_delimiter = ',',
        default_value = "accept,authorization,content-type,user-agent,x-csrftoken,x-requested-with"
    )]
    pub cors_allow_headers: Vec<String>,
    /// CORS_ALLOW_METHODS: the methods a preflight allows.
    #[arg(
        long,
        env = "JWT_CORS_ALLOW_METHODS",
        value_delimiter = ',',
        default_value = "DELETE,GET,OPTIONS,PATCH,POST,PUT"
    )]
    pub cors_allow_methods: Vec<String>,
    /// CORS_EXPOSE_HEADERS: response headers the calling page's script may read.
    #[arg(long, env = "JWT_CORS_EXPOSE_HEADERS", value_delimiter = ',')]
    pub cors_expose_headers: Vec<String>,
    /// CORS_PREFLIGHT_MAX_AGE: how long a browser may reuse a preflight's answer (0: no header).
    #[arg(long, env = "JWT_CORS_PREFLIGHT_MAX_AGE", default_value = "1d")]
    pub cors_preflight_max_age: Seconds,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password comes from --password-stdin (preferred) or --password.
    Create {
        username: String,
        #[command(flatten)]
        password: PasswordInput,
        /// Create the account deactivated.
        #[arg(long)]
        inactive: bool,
    },
    /// List all users.
    List,
    /// Refuse a user's logins, refreshes and access tokens from now on.
    Deactivate { username: String },
    /// Let a deactivated user back in.
    Activate { username: String },
    /// Replace a user's password.
    SetPassword {
        username: String,
        #[command(flatten)]
        password: PasswordInput,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a relying party. Prints its client_id and, unless --public, its secret (shown
    /// once: only a hash is kept).
    Create {
        /// A name the login page shows ("to continue to …").
        #[arg(long, default_value = "Application")]
        name: String,
        /// Where the provider may send the browser back with a code; compared exactly. Repeat
        /// for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where the provider may send the browser after logging out; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The page the provider loads in a hidden frame when the user logs out.
        #[arg(long)]
        frontchannel_logout_uri: Option<String>,
        /// A browser or native app that cannot keep a secret: no secret, PKCE alone.
        #[arg(long)]
        public: bool,
    },
    /// List the registered clients.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new private key: PEM for RS256, ES256 and EdDSA, 64 hex characters for HS256.
    /// Its kid goes to standard error.
    Generate {
        #[arg(long, default_value = "ES256")]
        algorithm: KeyAlgorithm,
    },
    /// Add a new signing key to the key ring (created if missing). Running servers publish it
    /// in their JWKS within --keyring-poll, and sign with it once --activate-in has passed;
    /// older keys keep verifying the tokens they signed.
    Rotate {
        #[command(flatten)]
        ring: KeyringArgs,
        /// The new key's algorithm; by default the current signing key's (ES256 for a new ring).
        #[arg(long)]
        algorithm: Option<KeyAlgorithm>,
        /// How long the new key is only published before it signs: longer than the JWKS's
        /// cache lifetime (5 minutes) plus --keyring-poll, so every instance and every JWKS
        /// cache knows it before a token names it. A ring's first key signs at once.
        #[arg(long, env = "JWT_KEY_ACTIVATION_DELAY", default_value = "10m")]
        activate_in: Seconds,
    },
    /// The key ring's keys, newest (signing) first.
    List {
        #[command(flatten)]
        ring: KeyringArgs,
    },
    /// Remove an old key: tokens it signed stop verifying. Refused until they have all expired
    /// (the token lifetime after a newer key took over), unless --force.
    Retire {
        /// A thumbprint kid may begin with `-`: it is still the kid, not an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[command(flatten)]
        ring: KeyringArgs,
        /// The longest a token signed by the key can live: the servers' refresh lifetime
        /// (emailed links, which live a day, are counted too).
        #[arg(long, env = "JWT_REFRESH_LIFETIME", default_value = "1d")]
        refresh_lifetime: Seconds,
        /// Retire it now, even though tokens it signed are still valid (a leaked key): they
        /// stop working at once.
        #[arg(long)]
        force: bool,
    },
}

/// Options of `classroom`.
#[derive(Debug, Clone, Args)]
pub struct ClassroomArgs {
    /// The students' usernames, one per line (blank lines and # comments skipped).
    #[arg(long)]
    pub students: PathBuf,
    /// The instructor's username: the only account whose token opens the class view.
    #[arg(long, default_value = "instructor")]
    pub instructor: String,
    /// Where the new accounts' passwords are written (never overwritten). Defaults to
    /// `classroom-accounts.csv` in the data directory, which git ignores.
    #[arg(long)]
    pub accounts: Option<PathBuf>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Options of `deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The public name clients use, e.g. api.example.com.
    #[arg(long)]
    pub domain: String,
    /// The address of an instance nginx passes requests to, ip:port (repeat for several): each
    /// gets its own systemd instance, jwt-workbook@ip:port.
    #[arg(long = "upstream", default_value = "127.0.0.1:8000")]
    pub upstreams: Vec<String>,
    /// Where the built book lies on the server (`jwt-workbook book --out DIR`).
    #[arg(long, default_value = "/srv/jwt-workbook/book")]
    pub book_dir: PathBuf,
    /// The system user the service runs as.
    #[arg(long, default_value = "jwt-workbook")]
    pub user: String,
    /// The installed binary.
    #[arg(long, default_value = "/usr/local/bin/jwt-workbook")]
    pub binary: PathBuf,
    /// The service's data directory on the server.
    #[arg(long, default_value = "/var/lib/jwt-workbook")]
    pub server_data_dir: PathBuf,
    /// Where the environment file will be installed.
    #[arg(long, default_value = "/etc/jwt-workbook/jwt-workbook.env")]
    pub env_file: PathBuf,
    /// TLS certificate chain (default: Let's Encrypt's path for the domain).
    #[arg(long)]
    pub tls_certificate: Option<PathBuf>,
    /// TLS private key (default: Let's Encrypt's path for the domain).
    #[arg(long)]
    pub tls_certificate_key: Option<PathBuf>,
    /// The port nginx redirects plain HTTP from [default: 80].
    #[arg(long)]
    pub http_port: Option<u16>,
    /// The port nginx serves TLS on [default: 443].
    #[arg(long)]
    pub https_port: Option<u16>,
    /// nginx's log directory.
    #[arg(long, default_value = "/var/log/nginx")]
    pub log_dir: PathBuf,
    /// Listen on IPv4 only.
    #[arg(long)]
    pub no_ipv6: bool,
    /// The address nginx connects to the instances from; the instances then trust
    /// X-Forwarded-For from that address only.
    #[arg(long)]
    pub proxy_bind: Option<std::net::IpAddr>,
    /// The PostgreSQL the instances share, written into the environment file.
    #[arg(long)]
    pub shared_database_url: Option<String>,
    /// The folder to write the files into.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the environment file already in --out, and the secrets filled in there.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeyringArgs {
    /// The key ring directory (default: `keys` inside the data directory).
    #[arg(long, env = "JWT_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct PasswordInput {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password itself (visible to other users of this machine in `ps`).
    #[arg(long)]
    pub password: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::parse_from(["jwt-workbook"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(cli.serve.access_lifetime, Seconds(300));
    }

    #[test]
    fn every_path_a_user_gives_or_defaults_to_is_made_absolute_against_the_working_directory() {
        let cwd = Path::new("/home/learner/jwt-workbook");
        let cli = Cli::parse_from([
            "jwt-workbook",
            "--mail-outbox",
            "./mail",
            "--signing-key-file",
            "secret.txt",
            "--keys-dir",
            "/etc/keys",
        ])
        .with_paths_from(cwd);
        assert_eq!(cli.global.data_dir, cwd.join("data"));
        assert_eq!(cli.serve.mail_outbox, Some(cwd.join("mail")));
        assert_eq!(cli.serve.signing_key_file, Some(cwd.join("secret.txt")));
        assert_eq!(
            cli.serve.keys_dir,
            Some("/etc/keys".into()),
            "absolute stays"
        );

        let book = Cli::parse_from(["jwt-workbook", "book", "--out", "built-book"]);
        let Some(Command::Book { out }) = book.with_paths_from(cwd).command else {
            unreachable!()
        };
        assert_eq!(out, cwd.join("built-book"));

        let classroom = Cli::parse_from([
            "jwt-workbook",
            "classroom",
            "--students",
            "room/students.txt",
            "--private-key-file",
            "../es256.pem",
        ]);
        let Some(Command::Classroom(args)) = classroom.with_paths_from(cwd).command else {
            unreachable!()
        };
        assert_eq!(args.students, cwd.join("room/students.txt"));
        assert_eq!(args.serve.private_key_file, Some(cwd.join("../es256.pem")));

        let ring = Cli::parse_from(["jwt-workbook", "key", "list", "--keys-dir", "ring"]);
        let Some(Command::Key(KeyCommand::List { ring })) = ring.with_paths_from(cwd).command
        else {
            unreachable!()
        };
        assert_eq!(ring.keys_dir, Some(cwd.join("ring")));
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
