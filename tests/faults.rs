//! Fault injection against the release-like binary over real sockets: the database's disk fills
//! up under a load of logins and refreshes, and another connection holds the database's write
//! lock past the deadline. Each test counts the answers by status and checks that none is a 5xx
//! other than 503, that no request hangs, that `/readyz` says "not ready" while the fault lasts
//! and "ready" once it is gone (without a restart), and that every rotation that was answered
//! 200 holds afterwards: the tokens it rotated away are refused, the newest one works.
//!
//! `#[ignore]`d: they need root (to mount a small tmpfs); `.ci/run` runs them with `--ignored`.

#[path = "support/processes.rs"]
#[allow(dead_code)] // this binary never signals a leader alone
mod processes;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use processes::Group;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_jwt-workbook");
const KEY: &str = "fault-injection-test-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// The instances' `--store-deadline`, in seconds.
const DEADLINE_SECONDS: u64 = 1;
/// Longer than any answer may take (the deadline, the backstop's, a busy machine): a request
/// still unanswered then has hung.
const HANG: Duration = Duration::from_secs(15);
/// How many clients log in and refresh at once.
const CLIENTS: usize = 4;

/// Retries `check` until it holds or `limit` passes: for events no clock of ours controls.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One instance of the server on the SQLite file in `data`, listening on a loopback port.
struct Instance {
    _process: Group,
    addr: SocketAddr,
}

impl Instance {
    fn start(data: &Path) -> Instance {
        create_user(data);
        let mut process = Group::spawn(
            Command::new(BINARY)
                .args(["serve", "--environment", "production", "--no-book"])
                .args(["--addr", "127.0.0.1:0"])
                .arg("--data-dir")
                .arg(data)
                .args(["--store-deadline", &format!("{DEADLINE_SECONDS}s")])
                .args(["--login-failures-per-user", "off"])
                .args(["--login-failures-per-address", "off"])
                .env("JWT_SIGNING_KEY", KEY)
                .env_remove("DATABASE_URL")
                .env_remove("JWT_SIGNING_KEY_FILE")
                .env_remove("JWT_KEYS_DIR")
                .env("RUST_LOG", "error")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let mut banner = BufReader::new(process.0.stdout.take().unwrap()).lines();
        let base = loop {
            let line = banner
                .next()
                .expect("the instance exited before serving")
                .unwrap();
            if let Some(url) = line.split("serving on ").nth(1) {
                break url.trim().trim_start_matches("http://").to_owned();
            }
        };
        std::thread::spawn(move || for _ in banner {});
        Instance {
            _process: process,
            addr: base.parse().expect("a socket address in the banner"),
        }
    }

    /// One request on a fresh connection: its status and body, or `None` if it hung or the
    /// connection failed.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
        let mut stream = TcpStream::connect_timeout(&self.addr, HANG).ok()?;
        stream.set_read_timeout(Some(HANG)).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    fn ready(&self) -> u16 {
        self.request("GET", "/readyz", None)
            .map_or(0, |(status, _)| status)
    }
}

fn create_user(data: &Path) {
    let mut create = Command::new(BINARY)
        .args(["user", "create", "alice", "--password-stdin"])
        .arg("--data-dir")
        .arg(data)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"alice-password\n")
        .unwrap();
    let created = create.wait_with_output().unwrap();
    assert!(created.status.success(), "{created:?}");
}

/// What the load saw: answers by status ("hung" for none), and each client's rotations.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<String, usize>,
}

impl Tally {
    fn count(&self, status: &str) -> usize {
        self.statuses.get(status).copied().unwrap_or(0)
    }
}

/// A client's chain of refresh tokens: every one rotated away by a 200, and the newest.
struct Chain {
    spent: Vec<String>,
    current: String,
}

/// Clients logging in and refreshing until told to stop.
struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    clients: Vec<std::thread::JoinHandle<Vec<Chain>>>,
}

impl Load {
    fn start(instance: &Arc<Instance>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let clients = (0..CLIENTS)
            .map(|_| {
                let (instance, stop, tally) = (instance.clone(), stop.clone(), tally.clone());
                std::thread::spawn(move || client(&instance, &stop, &tally))
            })
            .collect();
        Load {
            stop,
            tally,
            clients,
        }
    }

    fn count(&self, status: &str) -> usize {
        self.tally.lock().unwrap().count(status)
    }

    fn finish(mut self) -> (BTreeMap<String, usize>, Vec<Chain>) {
        self.stop.store(true, Ordering::SeqCst);
        let chains = std::mem::take(&mut self.clients)
            .into_iter()
            .flat_map(|client| client.join().expect("a client panicked"))
            .collect();
        let statuses = std::mem::take(&mut self.tally.lock().unwrap().statuses);
        (statuses, chains)
    }
}

/// A test that fails midway still stops its clients, so they let go of the instance and its
/// process is killed: a client left running would keep it alive past the test.
impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients.drain(..) {
            let _ = client.join();
        }
    }
}

/// Logs in, then refreshes; a new login every 20 refreshes. Records every answer.
fn client(instance: &Instance, stop: &AtomicBool, tally: &Mutex<Tally>) -> Vec<Chain> {
    let record = |answer: &Option<(u16, Value)>| {
        let key = answer
            .as_ref()
            .map_or("hung".to_owned(), |(status, _)| status.to_string());
        *tally.lock().unwrap().statuses.entry(key).or_default() += 1;
    };
    let mut chains: Vec<Chain> = Vec::new();
    let mut refreshes = 0;
    while !stop.load(Ordering::SeqCst) {
        let needs_login = chains.last().is_none() || refreshes % 20 == 19;
        if needs_login {
            let credentials = json!({"username": "alice", "password": "alice-password"});
            let answer = instance.request("POST", "/api/token/", Some(&credentials));
            record(&answer);
            if let Some((200, body)) = answer {
                chains.push(Chain {
                    spent: Vec::new(),
                    current: body["refresh"].as_str().unwrap().to_owned(),
                });
            }
            refreshes += 1;
            continue;
        }
        let chain = chains.last_mut().unwrap();
        let token = json!({ "refresh": chain.current });
        let answer = instance.request("POST", "/api/token/refresh/", Some(&token));
        record(&answer);
        if let Some((200, body)) = answer {
            let next = body["refresh"].as_str().unwrap().to_owned();
            chain
                .spent
                .push(std::mem::replace(&mut chain.current, next));
        }
        refreshes += 1;
    }
    chains
}

/// Every status seen is a success or a 503; none hung.
fn assert_only_ok_or_unavailable(statuses: &BTreeMap<String, usize>) {
    let other: Vec<_> = statuses
        .iter()
        .filter(|(status, _)| !matches!(status.as_str(), "200" | "503"))
        .collect();
    assert!(other.is_empty(), "unexpected answers: {statuses:?}");
}

/// Every rotation answered 200 holds: the tokens it rotated away are refused by `verify`
/// ("Token is blacklisted", 400, which revokes nothing), and the newest refreshes.
fn assert_rotations_hold(instance: &Instance, chains: &[Chain]) {
    let mut checked = 0;
    for chain in chains {
        for spent in &chain.spent {
            let answer =
                instance.request("POST", "/api/token/verify/", Some(&json!({"token": spent})));
            assert_eq!(
                answer.map(|(s, _)| s),
                Some(400),
                "a rotated-away token works again"
            );
            checked += 1;
        }
        let answer = instance.request(
            "POST",
            "/api/token/refresh/",
            Some(&json!({"refresh": chain.current})),
        );
        assert_eq!(
            answer.as_ref().map(|(s, _)| *s),
            Some(200),
            "the newest token of a chain was lost: {answer:?}"
        );
    }
    assert!(checked > 0, "no rotation was acknowledged");
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Writes a file until the filesystem has no space left.
    fn fill(&self) -> PathBuf {
        let filler = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(error) => panic!("filling the disk: {error}"),
            }
        }
        // The last partial chunk, a byte at a time.
        while file.write(&[0]).is_ok_and(|n| n == 1) {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

// ANCHOR: full_disk
#[test]
#[ignore = "needs root (a tmpfs is mounted); .ci/run runs it with --ignored"]
fn a_full_disk_under_load_answers_503_then_recovers_and_loses_no_rotation() {
    let disk = SmallDisk::mount("16m");
    let data = disk.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let instance = Arc::new(Instance::start(&data));
    assert_eq!(instance.ready(), 200);
    let load = Load::start(&instance);
    wait_until(
        "refreshes before the fault",
        Duration::from_secs(60),
        || load.count("200") >= 40,
    );

    let filler = disk.fill();
    wait_until(
        "503s while the disk is full",
        Duration::from_secs(60),
        || load.count("503") >= 5,
    );
    wait_until("/readyz to say not ready", Duration::from_secs(30), || {
        instance.ready() == 503
    });
    // Liveness is about the process: it is alive, and restarting it would cure nothing.
    let live = instance.request("GET", "/healthz", None).map(|(s, _)| s);
    assert_eq!(live, Some(200));

    std::fs::remove_file(filler).unwrap();
    wait_until(
        "/readyz to say ready again",
        Duration::from_secs(30),
        || instance.ready() == 200,
    );
    let recovered = load.count("200");
    wait_until("refreshes after the fault", Duration::from_secs(60), || {
        load.count("200") >= recovered + 40
    });
    let (statuses, chains) = load.finish();
    eprintln!("answers under a full disk: {statuses:?}");
    assert_only_ok_or_unavailable(&statuses);
    assert_rotations_hold(&instance, &chains);
}
// ANCHOR_END: full_disk

#[test]
#[ignore = "starts the binary under load; .ci/run runs it with --ignored"]
fn a_lock_held_past_the_deadline_answers_503_in_time_then_recovers() {
    use sqlx::Connection;
    let data = tempfile::tempdir().unwrap();
    let instance = Arc::new(Instance::start(data.path()));
    let load = Load::start(&instance);
    wait_until(
        "refreshes before the fault",
        Duration::from_secs(60),
        || load.count("200") >= 40,
    );

    // Another connection takes the write lock and keeps it, as a long backup or a stuck
    // maintenance script would.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let file = data.path().join(jwt_workbook::store::DATABASE_FILE);
    let mut holder = runtime.block_on(async {
        let mut holder = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
        holder
    });
    let started = Instant::now();
    let unavailable = load.count("503");
    wait_until(
        "503s while the lock is held",
        Duration::from_secs(60),
        || load.count("503") >= unavailable + 5,
    );
    let slowest = Instant::now();
    assert_eq!(instance.ready(), 503);
    // /readyz itself waits at most the deadline and the backstop's.
    assert!(slowest.elapsed() < Duration::from_secs(3 * DEADLINE_SECONDS + 2));
    eprintln!("first 503s after {:?}", started.elapsed());

    runtime.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
        holder.close().await.unwrap();
    });
    wait_until(
        "/readyz to say ready again",
        Duration::from_secs(30),
        || instance.ready() == 200,
    );
    let recovered = load.count("200");
    wait_until("refreshes after the fault", Duration::from_secs(60), || {
        load.count("200") >= recovered + 40
    });
    let (statuses, chains) = load.finish();
    eprintln!("answers under a held lock: {statuses:?}");
    assert_only_ok_or_unavailable(&statuses);
    assert_rotations_hold(&instance, &chains);
}
