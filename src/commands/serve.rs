//! `serve`: open the store, build the state, bind, print the banner, serve until Ctrl-C or
//! SIGTERM, then let in-flight requests finish.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::{CommandError, StoreLocation, progress};
use crate::app::{self, AppState};
use crate::cli::Environment;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::interfaces;
use crate::tokens::RandomJti;
use crate::users::{UserError, create_user};
use crate::workbook::{Workbook, book};

/// The account `cargo run` creates in development, so the README's `curl` lines just work.
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-password";

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How often expired revocation records are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

pub async fn run(config: Config, database: StoreLocation<'_>) -> Result<(), CommandError> {
    limit_allocator_arenas();
    let store = database
        .open_with_deadline(config.app.store_deadline)
        .await?;
    let clock = Arc::new(SystemClock);
    let state = app::build(
        config.app.clone(),
        store.clone(),
        clock.clone(),
        Arc::new(RandomJti),
    )?;
    state.sessions.sync_revocations().await?;
    // A missing account's login costs what one of the accounts' costs (see `users::password`):
    // after an import from Django they are not all argon2id yet.
    state.sessions.learn_password_mix().await?;
    let demo = config.environment == Environment::Development && config.demo_user;
    if demo {
        match create_user(
            &*store,
            &state.passwords,
            DEMO_USERNAME,
            DEMO_PASSWORD,
            true,
            clock.now(),
        )
        .await
        {
            Ok(_) | Err(UserError::AlreadyExists(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    // Before the book is built: a taken address is said at once, not after the build.
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| cannot_listen(config.addr, ("--addr", "JWT_WORKBOOK_ADDR"), &e))?;
    let book = match &config.book_sources {
        Some(sources) => Some(build_book(sources.clone(), config.built_book_dir()).await?),
        None => None,
    };
    print_banner(
        listener.local_addr()?,
        &config,
        demo,
        book.is_some(),
        state.classroom.is_some(),
    );
    if let Some(workbook) = config.workbook.clone().filter(|_| demo && book.is_some())
        && std::io::stdout().is_terminal()
    {
        tokio::task::spawn_blocking(move || print_progress(&workbook));
    }

    let metrics_server = match config.metrics_addr {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| cannot_listen(addr, ("--metrics-addr", "JWT_METRICS_ADDR"), &e))?;
            println!(
                "  metrics         GET  http://{}/metrics",
                listener.local_addr()?
            );
            let router = app::metrics_router(state.clone());
            let limits = config.connections;
            Some(tokio::spawn(async move {
                app::serve(listener, router, limits, std::future::pending()).await
            }))
        }
        None => None,
    };
    let cleaner = tokio::spawn(clean_periodically(
        store.clone(),
        state.clone(),
        clock.clone(),
    ));
    let follower = tokio::spawn(follow_revocations(state.clone(), config.revocation_poll));
    let key_follower = state.tokens.live_keys().reloads().then(|| {
        tokio::spawn(follow_key_ring(
            state.tokens.live_keys().clone(),
            config.keyring_poll,
        ))
    });
    // ANCHOR: drain
    let (drain_started, draining) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = drain_started.send(());
    };
    let server = app::serve(
        listener,
        app::service(state, book.as_deref()),
        config.connections,
        shutdown,
    );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        _ = async { if draining.await.is_ok() { tokio::time::sleep(DRAIN_TIMEOUT).await } else { std::future::pending().await } } => {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; stopping anyway");
        }
    }
    cleaner.abort();
    follower.abort();
    key_follower.inspect(tokio::task::JoinHandle::abort);
    metrics_server.inspect(tokio::task::JoinHandle::abort);
    // ANCHOR_END: drain
    tracing::info!("stopped");
    Ok(())
}

/// Why `addr` cannot be listened on, and for the usual reason (another server, often an
/// earlier `cargo run`, has it) how to pick another address.
/// `flag` and `variable` name the setting the address came from.
fn cannot_listen(
    addr: SocketAddr,
    (flag, variable): (&str, &str),
    error: &std::io::Error,
) -> String {
    if error.kind() != std::io::ErrorKind::AddrInUse {
        return format!("cannot listen on {addr}: {error}");
    }
    let other = SocketAddr::new(addr.ip(), addr.port().checked_add(1).unwrap_or(8001));
    format!(
        "cannot listen on {addr}: another program is already listening there (perhaps another \
         `cargo run`).\nStop it, or listen elsewhere: `{flag} {other}`, or \
         {variable}={other} in the environment."
    )
}

/// Builds the book off the async runtime (it takes a second or two).
async fn build_book(sources: PathBuf, out: PathBuf) -> Result<PathBuf, CommandError> {
    let built = tokio::task::spawn_blocking(move || {
        book::build(&sources, &out)?;
        Ok(out)
    })
    .await?;
    give_freed_memory_back();
    built
}

/// Allocations at least this large get a mapping of their own (glibc's default, made fixed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// glibc gives threads that contend for the allocator arenas of their own, up to eight per core,
/// and each keeps what it freed: the database's reader threads and the password hashers would
/// each hold megabytes. One arena per core serves this server as fast (small allocations are
/// served from each thread's cache) in a fraction of the memory.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(2);
        // SAFETY: mallopt sets a tuning parameter; it takes no pointers.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            // Blocks this large (an argon2 working memory) are mapped on their own and
            // unmapped when freed. Left to itself, glibc raises this threshold after the first
            // such free, and later ones stay in the heap for good.
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

/// mdBook allocates tens of MiB for the build (pages, the search index) and frees them; glibc
/// keeps freed memory for later, so a server that built the book would sit on it for good.
fn give_freed_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn print_banner(addr: SocketAddr, config: &Config, demo: bool, book: bool, classroom: bool) {
    let environment = match config.environment {
        Environment::Development => "development",
        Environment::Production => "production",
    };
    // Bound to every interface, the server is reached at the machine's own addresses: those
    // are what a room needs, never 0.0.0.0.
    let reachable = interfaces::reachable(addr, &interfaces::interface_addresses());
    let base = match reachable.first() {
        Some(first) => format!("http://{first}"),
        None => format!("http://{}", SocketAddr::new(loopback_of(addr), addr.port())),
    };
    println!("\njwt-workbook ({environment}) is serving on {base}");
    if addr.ip().is_unspecified() {
        for other in reachable.iter().skip(1) {
            println!("  also at         http://{other}");
        }
        if reachable.is_empty() {
            println!(
                "  (listening on {addr}, but this machine has no network address yet: only it can \
                 reach the server)"
            );
        }
    }
    if book {
        println!("  the book        {base}/");
    }
    println!("  token inspector {base}/inspector/");
    println!("  browser client  {base}/client/   (with --refresh-cookie; chapter 5)");
    println!("  obtain tokens   POST {base}/api/token/");
    println!("  refresh         POST {base}/api/token/refresh/");
    println!("  verify          POST {base}/api/token/verify/");
    println!(
        "  log out         POST {base}/api/token/blacklist/   (everywhere: /api/token/logout-all/)"
    );
    println!("  public keys     GET  {base}/.well-known/jwks.json");
    if crate::oidc::id_token::signing_key(config.app.keys.current().keys(), i64::MAX).is_some() {
        println!(
            "  OpenID Connect  GET  {}/.well-known/openid-configuration   (watch it: cargo run -- sso-demo)",
            config.app.public_url
        );
    }
    println!("  health          GET  {base}/healthz   and   {base}/readyz");
    println!("  protected       GET  {base}/hello/   and   {base}/api/me/");
    if classroom {
        println!("  class view      {base}/class/   (log in as the instructor)");
        println!("                  GET  {base}/api/class/   (the same, as JSON)");
        println!("  learners send   cargo run -- progress --submit {base} --username NAME");
    }
    println!("  data            {}", config.data_dir.display());
    if demo {
        println!("  demo user       {DEMO_USERNAME} / {DEMO_PASSWORD}");
        println!("\nTry it:");
        println!(
            "  curl -s -X POST {base}/api/token/ -H 'Content-Type: application/json' \\\n       -d '{{\"username\": \"{DEMO_USERNAME}\", \"password\": \"{DEMO_PASSWORD}\"}}'"
        );
    }
    println!("\nPress Ctrl-C to stop.\n");
    if demo && book && std::io::stdout().is_terminal() {
        println!("Checking your exercises; your progress will show here in a moment.\n");
    }
}

/// The loopback address of a wildcard's family (`0.0.0.0` → `127.0.0.1`, `::` → `::1`).
fn loopback_of(addr: SocketAddr) -> IpAddr {
    match addr {
        SocketAddr::V4(_) if addr.ip().is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V6(_) if addr.ip().is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        _ => addr.ip(),
    }
}

/// A learner who starts the server sees where they stand. Running the suites takes a while
/// (the first time, the exercise crates compile), so the table follows the banner when it is
/// ready, and the server answers meanwhile. Only for a person at a terminal: a script or a
/// test that starts the server must not set off a `cargo test` of every chapter.
fn print_progress(workbook: &Workbook) {
    match progress::summary(workbook) {
        Ok(table) => println!("Your progress (cargo run -- progress):\n\n{table}"),
        Err(error) => println!("Your progress could not be checked: {error}\n"),
    }
}

/// Learns what other instances (and the `user` subcommand) revoked. Between two polls another
/// instance's logout is not yet known here: `--revocation-poll` bounds that window.
async fn follow_revocations(state: AppState, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = state.sessions.sync_revocations().await {
            tracing::warn!(%error, "reading new revocations failed; retrying");
        }
    }
}

/// Reads the key ring again every `every`: a key `key rotate` added is published (and signs
/// once its time comes), one `key retire` removed stops verifying, with no restart.
async fn follow_key_ring(keys: crate::keys::LiveKeys, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let keys = keys.clone();
        match tokio::task::spawn_blocking(move || keys.reload()).await {
            Ok(Ok(Some(fresh))) => {
                let kids: Vec<String> = fresh
                    .keys()
                    .iter()
                    .map(|key| format!("{} from {}", key.kid(), key.activates_at().max(0)))
                    .collect();
                tracing::info!(keys = ?kids, "the key ring changed; the new keys are in use");
            }
            Ok(Ok(None)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "reading the key ring failed; keeping the keys in use")
            }
            Err(error) => tracing::warn!(%error, "reading the key ring failed"),
        }
    }
}

/// Hourly housekeeping: forgets expired revocation records, and counts the accounts' hash kinds
/// again (upgrades made by other instances sharing the database show up here too).
async fn clean_periodically(
    store: Arc<dyn crate::store::Database>,
    state: AppState,
    clock: Arc<SystemClock>,
) {
    let mut ticks = tokio::time::interval(CLEANUP_INTERVAL);
    loop {
        ticks.tick().await;
        match store.delete_expired(clock.now()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired revoked-token records"),
            Err(error) => tracing::warn!(%error, "cleaning up revoked tokens failed"),
        }
        match store.delete_expired_oidc(clock.now()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired sign-in records"),
            Err(error) => tracing::warn!(%error, "cleaning up sign-in records failed"),
        }
        if let Err(error) = state.sessions.learn_password_mix().await {
            tracing::warn!(%error, "counting the accounts' password hash kinds failed");
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what systemd and container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
