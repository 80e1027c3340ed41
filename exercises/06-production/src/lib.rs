//! Chapter 6, "Production deployment": the parts of running a server for real that can be
//! written as plain functions, and so tested without a machine to deploy to.
//!
//! Your exercise: replace each `todo!()` below, step by step, until `cargo test -p
//! ch06-production-exercise` passes. `cargo run -- check 6` says which step to work on next.
//!
//! - Configuration from the environment, every problem reported at once, and a signing key
//!   refused when it is weak: [`parse_duration`] and [`parse_bool`] (step 1),
//!   [`secret_weaknesses`] (step 2), [`signing_key`] (step 3), [`Config::from_env`] (step 4).
//! - Deployment settings checked before anything is written from them, then rendered into
//!   nginx, systemd, container and Procfile files from the tera templates in `templates/`:
//!   [`check_host_name`] and [`parse_upstream`] (step 5), [`validate`] (step 6), [`render`]
//!   (step 7).
//! - A graceful shutdown as a state machine over events: [`Lifecycle::serve`] (step 8) and
//!   [`Lifecycle::drain`] (step 9).
//! - The proxy lines of the nginx site and the stop rules of the systemd unit, written in the
//!   templates themselves (step 10).

// Until each step is written, its arguments go unused (and step 3's list of problems looks
// like it could be a slice, since nothing is pushed onto it yet).
#![allow(unused_variables, dead_code, clippy::ptr_arg)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;

// ANCHOR: warm_up
/// Step 0, a warm-up. A number of seconds written the way the server's flags are: in the
/// largest of `d`, `h`, `m` and `s` that it is a whole number of (`300` is `5m`, `90` is
/// `90s`, `0` is `0s`). Step 1 reads what this writes.
pub fn format_duration(seconds: u64) -> String {
    // TODO: Step 0: the largest unit that divides the seconds exactly.
    todo!()
}
// ANCHOR_END: warm_up

// ANCHOR: value_error
/// Why the value of one environment variable was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Set, but to nothing (or only spaces). `JWT_ACCESS_LIFETIME=` is a mistake, not a way to
    /// ask for the default: the server refuses it too.
    Empty,
    /// A duration starts with a whole number.
    NoNumber,
    /// The number is followed by something other than `s`, `m`, `h` or `d`.
    UnknownUnit { unit: String },
    /// More seconds than a `u64` holds.
    TooLarge,
    /// Not one of the words for true or false.
    NotABoolean,
    /// Not `IP:port`.
    NotAnAddress,
    /// Not `development` or `production`.
    NotAnEnvironment,
}
// ANCHOR_END: value_error

// ANCHOR: parse_duration
/// Step 1. Read a duration the way the server's flags are written: a whole number of seconds,
/// or a whole number followed at once by `s`, `m`, `h` or `d`. Spaces around the value are
/// ignored (values read from files often end with a newline).
///
/// `"300"` and `"5m"` are both 300. The first problem found, in this order: nothing at all
/// ([`ValueError::Empty`]), no digit at the start ([`ValueError::NoNumber`]), a number too
/// large for a `u64` ([`ValueError::TooLarge`]), a unit that is not one of the four
/// ([`ValueError::UnknownUnit`], with the unit as written), and a total too large in seconds
/// ([`ValueError::TooLarge`] again).
pub fn parse_duration(text: &str) -> Result<u64, ValueError> {
    // TODO: Step 1: the number of seconds, or the first problem of the doc comment.
    todo!()
}
// ANCHOR_END: parse_duration

// ANCHOR: parse_bool
/// Step 1, continued. Read a switch the way systemd does: `1`, `yes`, `true` and `on` are true;
/// `0`, `no`, `false` and `off` are false, in any mix of upper and lower case, with spaces
/// around ignored. Anything else is refused rather than guessed: `ture` is a typo, not a yes.
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    // TODO: Step 1, continued: the eight words, and nothing else.
    todo!()
}
// ANCHOR_END: parse_bool

// ANCHOR: weakness
/// Why a signing secret must not be used in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weakness {
    /// It is printed in public documentation, so it is nobody's secret: see
    /// [`PUBLISHED_SECRETS`].
    Published,
    /// It starts with `django-insecure-`: the key `django-admin startproject` writes into a new
    /// project's settings, meant to be replaced before deployment.
    DjangoInsecure,
    /// Shorter than [`MIN_SECRET_BYTES`]: RFC 7518 §3.2 wants an HS256 key of at least 256 bits.
    TooShort { bytes: usize },
    /// Fewer than [`MIN_DISTINCT_BYTES`] different byte values: typed, not random.
    Repetitive { distinct: usize },
}

/// Secrets that sign the example tokens of jwt.io's debugger: the one it used for years, and
/// the one it uses now. The second is 38 bytes of 16 different characters, so it passes every
/// other check here; it is still public.
pub const PUBLISHED_SECRETS: [&str; 2] = [
    "your-256-bit-secret",
    "a-string-secret-at-least-256-bits-long",
];

/// The shortest HS256 key RFC 7518 allows: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewer different bytes than this, and the key was not drawn at random.
pub const MIN_DISTINCT_BYTES: usize = 8;
// ANCHOR_END: weakness

// ANCHOR: secret_weaknesses
/// Step 2. Everything wrong with a signing secret, in the order of [`Weakness`]'s variants;
/// empty when it may be used in production.
pub fn secret_weaknesses(secret: &[u8]) -> Vec<Weakness> {
    // TODO: Step 2: every weakness, in the order of `Weakness`.
    todo!()
}
// ANCHOR_END: secret_weaknesses

// ANCHOR: config
/// Where the server runs: `development` creates a key and a demo user for you; `production`
/// refuses to start without a strong key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A signing key. Its `Debug` says how long it is and nothing else, so a `{:?}` of the
/// configuration in a log line or a panic message never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

/// The server's configuration, read from the environment by [`Config::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub environment: Environment,
    pub addr: SocketAddr,
    /// Seconds.
    pub access_lifetime: u64,
    /// Seconds.
    pub refresh_lifetime: u64,
    /// Seconds between two reads of the revocations other instances made.
    pub revocation_poll: u64,
    pub log_json: bool,
    /// `None` only in development, where the server makes a key and keeps it.
    pub signing_key: Option<Secret>,
}

/// The variables [`Config::from_env`] reads, in the order it checks them, and the default
/// of each one that has a default.
pub const ENVIRONMENT: &str = "JWT_WORKBOOK_ENV";
pub const ADDR: &str = "JWT_WORKBOOK_ADDR";
pub const ACCESS_LIFETIME: &str = "JWT_ACCESS_LIFETIME";
pub const REFRESH_LIFETIME: &str = "JWT_REFRESH_LIFETIME";
pub const REVOCATION_POLL: &str = "JWT_REVOCATION_POLL";
pub const LOG_JSON: &str = "JWT_WORKBOOK_LOG_JSON";
pub const SIGNING_KEY: &str = "JWT_SIGNING_KEY";
pub const SIGNING_KEY_FILE: &str = "JWT_SIGNING_KEY_FILE";
pub const DEFAULTS: [(&str, &str); 6] = [
    (ENVIRONMENT, "production"),
    (ADDR, "127.0.0.1:8000"),
    (ACCESS_LIFETIME, "5m"),
    (REFRESH_LIFETIME, "1d"),
    (REVOCATION_POLL, "1s"),
    (LOG_JSON, "false"),
];

/// Everything wrong with a configuration. [`Config::from_env`] reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// A value that cannot be read. `value` is what was set (never the signing key's: a key
    /// that is set is never refused this way).
    Invalid {
        variable: &'static str,
        value: String,
        error: ValueError,
    },
    /// A lifetime or an interval of 0 seconds.
    NotPositive { variable: &'static str },
    /// An access token that outlives its refresh token makes refreshing pointless.
    AccessOutlivesRefresh { access: u64, refresh: u64 },
    /// Both `JWT_SIGNING_KEY` and `JWT_SIGNING_KEY_FILE`: which one was meant?
    KeyTwice,
    /// `JWT_SIGNING_KEY_FILE` names a file that cannot be read.
    KeyFile { path: String, reason: String },
    /// Production, and no key at all.
    MissingKey,
    /// Production, and a key with this weakness (one problem per weakness).
    WeakKey(Weakness),
}
// ANCHOR_END: config

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The key itself, for the one place that signs with it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.0.len())
    }
}

// ANCHOR: signing_key
/// Step 3. The signing key, from `JWT_SIGNING_KEY` or from the file `JWT_SIGNING_KEY_FILE`
/// names (read with `read_file`), and every problem with it pushed onto `problems` as a
/// [`ConfigProblem`]. `strict` (production, or an environment that could not be read) decides
/// whether a missing or weak key is a problem. The rules are the book's "Secrets", "A weak key
/// stops the start" and its step 3.
pub fn signing_key(
    env: &BTreeMap<String, String>,
    read_file: impl Fn(&str) -> Result<String, String>,
    strict: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Secret> {
    // TODO: Step 3: the key from one of its two sources, and every problem with it.
    todo!()
}
// ANCHOR_END: signing_key

impl Config {
    // ANCHOR: from_env
    /// Step 4. Read the configuration from environment variables, and report every problem,
    /// not just the first, so that one attempt to start shows everything there is to fix.
    ///
    /// Each variable of [`DEFAULTS`] takes its default when it is not set at all. The problems
    /// come in this order: each of those variables that cannot be read (in the order of
    /// [`DEFAULTS`]); each of the three durations that is 0; an access lifetime that is not
    /// shorter than the refresh lifetime (only when both were read); then the key's.
    ///
    /// The key's problems are step 3's, judged strictly unless the environment is development;
    /// when the environment itself cannot be read, the key is judged as in production: in
    /// doubt, be strict.
    pub fn from_env(
        env: &BTreeMap<String, String>,
        read_file: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Config, Vec<ConfigProblem>> {
        // TODO: Step 4: every problem of the environment, not only the first; `read_var` (below)
        // reads one variable of `DEFAULTS`, your step 3 the key.
        todo!()
    }
    // ANCHOR_END: from_env
}

// ANCHOR: read_var
/// Reads one variable of [`DEFAULTS`] with `parse`: its value when it is set, its default
/// otherwise. A value that does not parse becomes a [`ConfigProblem::Invalid`] in `problems`,
/// and `None`.
pub fn read_var<T>(
    env: &BTreeMap<String, String>,
    variable: &'static str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let value = env.get(variable).map_or_else(
        || {
            DEFAULTS
                .iter()
                .find(|(name, _)| *name == variable)
                .map_or("", |(_, value)| *value)
        },
        String::as_str,
    );
    match parse(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            problems.push(ConfigProblem::Invalid {
                variable,
                value: value.to_string(),
                error,
            });
            None
        }
    }
}
// ANCHOR_END: read_var

/// `development` or `production`, exactly as the server's `--environment` takes them.
pub fn parse_environment(text: &str) -> Result<Environment, ValueError> {
    match text.trim() {
        "" => Err(ValueError::Empty),
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        _ => Err(ValueError::NotAnEnvironment),
    }
}

/// An `IP:port` to listen on, such as `127.0.0.1:8000` or `[::1]:8000`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, ValueError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ValueError::Empty);
    }
    text.parse().map_err(|_| ValueError::NotAnAddress)
}

fn empty(variable: &'static str) -> ConfigProblem {
    ConfigProblem::Invalid {
        variable,
        value: String::new(),
        error: ValueError::Empty,
    }
}

// ANCHOR: host_problem
/// Why a name is not a host name nginx and DNS will accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostProblem {
    Empty,
    /// More than 253 characters.
    TooLong {
        length: usize,
    },
    /// The first character that is not a lowercase letter, a digit, `-` or `.`.
    Character {
        character: char,
    },
    /// A label (the text between dots) that is empty, longer than 63 characters, or starts or
    /// ends with `-`.
    Label {
        label: String,
    },
}

/// Why an upstream is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamProblem {
    /// No `:` at all.
    NoPort,
    /// The host part is not a host name.
    Host(HostProblem),
    /// `[…]` around something that is not an IPv6 address.
    Ipv6,
    /// Not a number from 1 to 65535.
    Port { port: String },
}

/// An application instance nginx passes requests to: `127.0.0.1:8001`, `app-2:8000` or
/// `[::1]:8001` (the brackets are part of `host`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}
// ANCHOR_END: host_problem

// ANCHOR: check_host_name
/// Step 5. Whether `name` is a host name nginx and DNS will accept (the rules of the book's
/// step 5), or its first problem, in the order of [`HostProblem`]'s variants, the characters
/// read from left to right. Uppercase is refused rather than lowered: one name, one spelling.
pub fn check_host_name(name: &str) -> Result<(), HostProblem> {
    // TODO: Step 5: the first problem of the doc comment's order.
    todo!()
}
// ANCHOR_END: check_host_name

// ANCHOR: parse_upstream
/// Step 5, continued. Read `host:port`, cutting at the last `:`. The host is either an IPv6
/// address in brackets or a host name ([`check_host_name`]; an IPv4 address is one); it is
/// checked before the port.
pub fn parse_upstream(text: &str) -> Result<Upstream, UpstreamProblem> {
    // TODO: Step 5, continued: a host and a port that can be trusted in a configuration file.
    todo!()
}
// ANCHOR_END: parse_upstream

// ANCHOR: deploy_settings
/// What the operator asks for, as typed on a command line: nothing is checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySettings {
    /// The public name, e.g. `api.example.com`.
    pub domain: String,
    /// The instances, each `host:port`.
    pub upstreams: Vec<String>,
    /// Where the built book is, for nginx to serve from disk.
    pub book_dir: String,
    /// The system user the instances run as.
    pub user: String,
    /// The largest request body nginx lets through, in KiB.
    pub max_body_kib: u32,
}

/// Settings that passed [`validate`], and so are safe to write into configuration files. The
/// fields are private: `validate` is the only way to make one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    domain: String,
    upstreams: Vec<Upstream>,
    book_dir: String,
    user: String,
    max_body_kib: u32,
}

/// Everything wrong with deployment settings. [`validate`] reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployProblem {
    Domain {
        domain: String,
        problem: HostProblem,
    },
    /// A name without a dot, like `localhost`, can have no public certificate.
    DomainWithoutDot {
        domain: String,
    },
    NoUpstreams,
    Upstream {
        upstream: String,
        problem: UpstreamProblem,
    },
    /// The same instance twice would get twice the traffic.
    DuplicateUpstream {
        upstream: String,
    },
    BookDirNotAbsolute {
        path: String,
    },
    /// The first character outside `A`–`Z`, `a`–`z`, `0`–`9`, `.`, `_`, `-` and `/`.
    BookDirCharacter {
        path: String,
        character: char,
    },
    /// A `..` segment.
    BookDirParent {
        path: String,
    },
    /// The service must never run as root.
    RootUser,
    /// Not a system user name: a lowercase letter or `_`, then up to 31 lowercase letters,
    /// digits, `_` or `-`.
    User {
        user: String,
    },
    /// 0 (which turns nginx's limit off) or more than [`MAX_BODY_KIB`].
    BodyLimit {
        kib: u32,
    },
}

/// Nothing this API accepts comes near 1 MiB.
pub const MAX_BODY_KIB: u32 = 1024;
// ANCHOR_END: deploy_settings

impl Deployment {
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    pub fn book_dir(&self) -> &str {
        &self.book_dir
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn max_body_kib(&self) -> u32 {
        self.max_body_kib
    }
}

// ANCHOR: validate
/// Step 6. Check every setting and report every problem, in the order of [`DeployProblem`]'s
/// variants, field by field. One problem at most per field, except for the upstreams, where
/// each bad or repeated one is its own problem (an upstream repeats when it reads as the same
/// host and port as an earlier one).
pub fn validate(settings: &DeploySettings) -> Result<Deployment, Vec<DeployProblem>> {
    // TODO: Step 6: every problem, field by field; `is_system_user_name` (below) checks the user.
    todo!()
}
// ANCHOR_END: validate

fn is_system_user_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && name.len() <= 32
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

// ANCHOR: templates
/// The files a deployment is made of, and the tera template each one is rendered from.
pub const TEMPLATES: [(&str, &str); 4] = [
    ("nginx.conf", include_str!("../templates/nginx.conf.tera")),
    (
        "jwt-workbook@.service",
        include_str!("../templates/jwt-workbook@.service.tera"),
    ),
    (
        "Containerfile",
        include_str!("../templates/Containerfile.tera"),
    ),
    ("Procfile", include_str!("../templates/Procfile.tera")),
];
// ANCHOR_END: templates

// ANCHOR: render
/// Step 7. Render every file of [`TEMPLATES`] for a deployment: file name → contents.
///
/// The templates see the deployment's fields under their own names (`domain`, `upstreams`,
/// each with a `host` and a `port`, `book_dir`, `user`, `max_body_kib`). A template that uses
/// anything else fails to render: tera refuses undefined variables.
pub fn render(deployment: &Deployment) -> Result<BTreeMap<String, String>, tera::Error> {
    // TODO: Step 7: every template of `TEMPLATES`, rendered by tera for this deployment.
    todo!()
}
// ANCHOR_END: render

// ANCHOR: lifecycle_types
/// Something that happens to a running server. Times are milliseconds on one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A request arrived.
    Request(u32),
    /// A request's response has been sent.
    Finished(u32),
    /// SIGTERM: `systemctl stop`, `docker stop`, a platform replacing the instance. (Ctrl-C,
    /// SIGINT, is handled the same way.)
    Terminate,
    /// Nothing happened, but time passed: lets the drain deadline be noticed.
    Tick,
}

/// One line of what the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A request taken on while serving.
    Accepted(u32),
    /// A request's response sent.
    Completed(u32),
    /// A request refused while draining: 503 with `Connection: close`.
    Refused(u32),
    /// The first SIGTERM: the listening socket is closed; `in_flight` requests remain.
    StoppedAccepting { in_flight: usize },
    /// Another SIGTERM while draining changes nothing.
    AlreadyStopping,
    /// Every in-flight request has finished.
    Drained,
    /// The drain deadline passed with these requests still running (in increasing order).
    GaveUp { abandoned: Vec<u32> },
    /// Only once no request can use the database any more.
    DatabaseClosed,
    /// The process ends.
    Exited,
}

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Serving,
    /// Finishing what is in flight, until `deadline`.
    Draining {
        deadline: u64,
    },
    Exited,
}

/// A server's life from the shutdown's point of view: which requests are in flight, and what
/// happens to each event.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    drain_timeout: u64,
    phase: Phase,
    in_flight: BTreeSet<u32>,
}
// ANCHOR_END: lifecycle_types

impl Lifecycle {
    /// A server that is serving, and will wait `drain_timeout` milliseconds for in-flight
    /// requests once told to stop.
    pub fn new(drain_timeout: u64) -> Self {
        Self {
            drain_timeout,
            phase: Phase::Serving,
            in_flight: BTreeSet::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    // ANCHOR: on
    /// What the server does when `event` happens at `at`, as log entries. Written for you: the
    /// phase decides which of your steps 8 and 9 answers, and once the server has exited,
    /// nothing happens any more.
    pub fn on(&mut self, at: u64, event: Event) -> Vec<Entry> {
        match self.phase {
            Phase::Serving => self.serve(at, event),
            Phase::Draining { deadline } => self.drain(at, deadline, event),
            Phase::Exited => Vec::new(),
        }
    }
    // ANCHOR_END: on

    // ANCHOR: serve
    /// Step 8. What a serving server does with `event` at `at`, up to and including the SIGTERM
    /// that ends serving and starts a drain of the drain timeout, from that moment (the book's
    /// "Stopping gracefully" and its step 8). A request it never took on is not its business.
    pub fn serve(&mut self, at: u64, event: Event) -> Vec<Entry> {
        // TODO: Step 8: each event while serving, and the SIGTERM that ends it.
        todo!()
    }
    // ANCHOR_END: serve

    // ANCHOR: drain
    /// Step 9. What a draining server does with `event` at `at`, the drain ending at
    /// `deadline`: the requests in flight may finish, nothing new is taken on, and the server
    /// exits as soon as it can, or at the deadline at the latest, and never while a request
    /// may still use its database (the book's "Stopping gracefully" and its step 9).
    pub fn drain(&mut self, at: u64, deadline: u64, event: Event) -> Vec<Entry> {
        // TODO: Step 9: the deadline first, then the event, then whether anything is left.
        todo!()
    }
    // ANCHOR_END: drain

    fn exit(&mut self, log: &mut Vec<Entry>) {
        log.push(Entry::DatabaseClosed);
        log.push(Entry::Exited);
        self.phase = Phase::Exited;
    }
}

// ANCHOR: simulate
/// Runs a script of timed events through a new [`Lifecycle`] and returns its log, one line per
/// entry, each stamped with the time of the event that caused it.
pub fn simulate(drain_timeout: u64, script: &[(u64, Event)]) -> String {
    let mut server = Lifecycle::new(drain_timeout);
    let mut log = String::new();
    for &(at, event) in script {
        for entry in server.on(at, event) {
            log.push_str(&format!("{:>3}.{:03}s  {entry}\n", at / 1000, at % 1000));
        }
    }
    log
}
// ANCHOR_END: simulate

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Empty => write!(f, "empty; unset it to get the default"),
            ValueError::NoNumber => write!(
                f,
                "a duration starts with a whole number: 300, 300s, 5m, 12h or 1d"
            ),
            ValueError::UnknownUnit { unit } => write!(
                f,
                "unknown unit {unit:?}: write s, m, h or d right after the number"
            ),
            ValueError::TooLarge => write!(f, "too large"),
            ValueError::NotABoolean => write!(
                f,
                "not a boolean: use true or false (1/0, yes/no and on/off work too)"
            ),
            ValueError::NotAnAddress => write!(
                f,
                "not an address to listen on: use IP:port, e.g. 127.0.0.1:8000 or [::1]:8000"
            ),
            ValueError::NotAnEnvironment => write!(f, "use development or production"),
        }
    }
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Weakness::Published => write!(
                f,
                "it is published: jwt.io signs its example tokens with it"
            ),
            Weakness::DjangoInsecure => {
                write!(f, "it is a Django development key (\"django-insecure-…\")")
            }
            Weakness::TooShort { bytes } => write!(
                f,
                "it is {bytes} bytes long; HS256 needs at least {MIN_SECRET_BYTES} (256 bits)"
            ),
            Weakness::Repetitive { distinct } => write!(
                f,
                "it uses only {distinct} of the 256 possible byte values; \
                 a random key uses far more"
            ),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::Invalid {
                variable,
                value,
                error,
            } => write!(f, "{variable}={value:?}: {error}"),
            ConfigProblem::NotPositive { variable } => {
                write!(f, "{variable} must be longer than 0 seconds")
            }
            ConfigProblem::AccessOutlivesRefresh { access, refresh } => write!(
                f,
                "{ACCESS_LIFETIME} ({access} s) must be shorter than \
                 {REFRESH_LIFETIME} ({refresh} s)"
            ),
            ConfigProblem::KeyTwice => write!(
                f,
                "both {SIGNING_KEY} and {SIGNING_KEY_FILE} are set: keep one"
            ),
            ConfigProblem::KeyFile { path, reason } => {
                write!(f, "{SIGNING_KEY_FILE}={path:?} cannot be read: {reason}")
            }
            ConfigProblem::MissingKey => write!(
                f,
                "no signing key: set {SIGNING_KEY_FILE} to a file (mode 0600) holding at least \
                 32 random bytes, e.g. from `openssl rand -hex 32`"
            ),
            ConfigProblem::WeakKey(weakness) => {
                write!(f, "the signing key is refused in production: {weakness}")
            }
        }
    }
}

impl fmt::Display for HostProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostProblem::Empty => write!(f, "it is empty"),
            HostProblem::TooLong { length } => {
                write!(f, "it is {length} characters long; the most is 253")
            }
            HostProblem::Character { character } => write!(
                f,
                "{character:?} is not allowed: only lowercase letters, digits, '-' and '.'"
            ),
            HostProblem::Label { label } => write!(
                f,
                "the label {label:?} must be 1 to 63 characters, not starting or ending with '-'"
            ),
        }
    }
}

impl fmt::Display for UpstreamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamProblem::NoPort => write!(f, "no port: write host:port"),
            UpstreamProblem::Host(HostProblem::Character { character: ':' }) => write!(
                f,
                "':' in the host: no http:// (nginx adds it), \
                 and an IPv6 address goes in brackets, [::1]:8001"
            ),
            UpstreamProblem::Host(problem) => write!(f, "the host: {problem}"),
            UpstreamProblem::Ipv6 => write!(
                f,
                "the brackets hold no IPv6 address; an IPv6 upstream is written [::1]:8001"
            ),
            UpstreamProblem::Port { port } => {
                write!(f, "the port {port:?} is not a number from 1 to 65535")
            }
        }
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Display for DeployProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployProblem::Domain { domain, problem } => {
                write!(f, "domain {domain:?}: {problem}")
            }
            DeployProblem::DomainWithoutDot { domain } => write!(
                f,
                "domain {domain:?}: a name without a dot can have no public certificate"
            ),
            DeployProblem::NoUpstreams => write!(f, "no upstream: give at least one host:port"),
            DeployProblem::Upstream { upstream, problem } => {
                write!(f, "upstream {upstream:?}: {problem}")
            }
            DeployProblem::DuplicateUpstream { upstream } => {
                write!(f, "upstream {upstream:?} is given twice")
            }
            DeployProblem::BookDirNotAbsolute { path } => write!(
                f,
                "book directory {path:?}: nginx needs an absolute path (starting with /)"
            ),
            DeployProblem::BookDirCharacter { path, character } => write!(
                f,
                "book directory {path:?}: {character:?} is not allowed \
                 in a path written into nginx.conf"
            ),
            DeployProblem::BookDirParent { path } => {
                write!(f, "book directory {path:?}: no '..' segments")
            }
            DeployProblem::RootUser => write!(f, "user \"root\": the service must not run as root"),
            DeployProblem::User { user } => write!(
                f,
                "user {user:?} is not a system user name (a-z or _, then a-z, 0-9, _ or -)"
            ),
            DeployProblem::BodyLimit { kib } => write!(
                f,
                "body limit {kib} KiB: use 1 to {MAX_BODY_KIB} (0 turns nginx's limit off)"
            ),
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Accepted(id) => write!(f, "request {id} accepted"),
            Entry::Completed(id) => write!(f, "request {id} completed"),
            Entry::Refused(id) => write!(
                f,
                "request {id} refused: 503 Service Unavailable, Connection: close"
            ),
            Entry::StoppedAccepting { in_flight } => write!(
                f,
                "SIGTERM: stopped accepting connections; {in_flight} in flight"
            ),
            Entry::AlreadyStopping => write!(f, "SIGTERM again: already shutting down"),
            Entry::Drained => write!(f, "drained: nothing in flight"),
            Entry::GaveUp { abandoned } => {
                let ids: Vec<String> = abandoned.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "drain timeout: giving up on request(s) {}",
                    ids.join(", ")
                )
            }
            Entry::DatabaseClosed => write!(f, "database pool closed"),
            Entry::Exited => write!(f, "exit"),
        }
    }
}
