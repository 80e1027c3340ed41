//! Fault injection against the release-like binary over real sockets, under a load of logins and
//! refreshes: the database's disk fills up; another connection holds the database's write lock
//! past the deadline; PostgreSQL is stopped and started under two instances behind the nginx
//! `deploy` renders. Each test counts the answers by status and checks that none is a 5xx
//! other than 503, that no request hangs, that `/readyz` says "not ready" while the fault lasts
//! and "ready" once it is gone (without a restart), and that every rotation that was answered
//! 200 holds afterwards: the tokens it rotated away are refused, the newest one works.
//!
//! `#[ignore]`d: they need root (to mount a small tmpfs, to run PostgreSQL as its user), nginx
//! and PostgreSQL's binaries; `.ci/run` runs them with `--ignored`.

#[path = "support/processes.rs"]
mod processes;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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

/// Something that answers HTTP requests: an instance directly, or nginx in front of several.
trait Http: Send + Sync + 'static {
    /// One request on a fresh connection: its status and body, or `None` if it hung or the
    /// connection failed.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)>;
}

/// One instance of the server on the SQLite file in `data` (or on `database_url`), listening on
/// a loopback port.
struct Instance {
    _process: Group,
    addr: SocketAddr,
}

impl Instance {
    fn start(data: &Path) -> Instance {
        create_user(data, None);
        Instance::spawn(data, None)
    }

    fn spawn(data: &Path, database_url: Option<&str>) -> Instance {
        let mut command = Command::new(BINARY);
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        } else {
            command.env_remove("DATABASE_URL");
        }
        let mut process = Group::spawn(
            command
                .args(["serve", "--environment", "production", "--no-book"])
                .args(["--addr", "127.0.0.1:0"])
                .arg("--data-dir")
                .arg(data)
                .args(["--store-deadline", &format!("{DEADLINE_SECONDS}s")])
                .args(["--login-failures-per-user", "off"])
                .args(["--login-failures-per-address", "off"])
                .env("JWT_SIGNING_KEY", KEY)
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

    fn ready(&self) -> u16 {
        self.request("GET", "/readyz", None)
            .map_or(0, |(status, _)| status)
    }
}

impl Http for Instance {
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
}

fn create_user(data: &Path, database_url: Option<&str>) {
    let mut command = Command::new(BINARY);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let mut create = command
        .args(["user", "create", "alice", "--password-stdin"])
        .arg("--data-dir")
        .arg(data)
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

/// A client's chain of refresh tokens: every one rotated away by a 200, and the newest; and
/// whether a logout of the newest was answered 200.
struct Chain {
    spent: Vec<String>,
    current: String,
    logged_out: bool,
}

/// Clients logging in and refreshing until told to stop.
struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    clients: Vec<std::thread::JoinHandle<Vec<Chain>>>,
}

impl Load {
    fn start<H: Http>(instance: &Arc<H>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let clients = (0..CLIENTS)
            .map(|_| {
                let (instance, stop, tally) = (instance.clone(), stop.clone(), tally.clone());
                std::thread::spawn(move || client(&*instance, &stop, &tally))
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

/// Logs in, then refreshes; every 20 requests it logs out and logs in again. Records every
/// answer.
fn client(instance: &impl Http, stop: &AtomicBool, tally: &Mutex<Tally>) -> Vec<Chain> {
    let record = |answer: &Option<(u16, Value)>| {
        let key = answer
            .as_ref()
            .map_or("hung".to_owned(), |(status, _)| status.to_string());
        *tally.lock().unwrap().statuses.entry(key).or_default() += 1;
    };
    let mut chains: Vec<Chain> = Vec::new();
    let mut refreshes = 0;
    while !stop.load(Ordering::SeqCst) {
        let logged_out = chains.last().is_none_or(|chain| chain.logged_out);
        if logged_out || refreshes % 20 == 19 {
            if let Some(chain) = chains.last_mut().filter(|chain| !chain.logged_out) {
                let token = json!({ "refresh": chain.current });
                let answer = instance.request("POST", "/api/token/blacklist/", Some(&token));
                record(&answer);
                chain.logged_out = matches!(answer, Some((200, _)));
            }
            let credentials = json!({"username": "alice", "password": "alice-password"});
            let answer = instance.request("POST", "/api/token/", Some(&credentials));
            record(&answer);
            if let Some((200, body)) = answer {
                chains.push(Chain {
                    spent: Vec::new(),
                    current: body["refresh"].as_str().unwrap().to_owned(),
                    logged_out: false,
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

/// Every rotation and logout answered 200 holds: the tokens it rotated away are refused by
/// `verify` ("Token is blacklisted", 400, which revokes nothing), and so is a chain's newest
/// once logged out; the newest of a chain not logged out refreshes (a rotation or a logout that
/// answered 503 left it working).
fn assert_rotations_hold(instance: &impl Http, chains: &[Chain]) {
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
        if chain.logged_out {
            let answer = instance.request(
                "POST",
                "/api/token/verify/",
                Some(&json!({"token": chain.current})),
            );
            assert_eq!(answer.map(|(s, _)| s), Some(400), "a logout was lost");
            continue;
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
    assert_rotations_hold(&*instance, &chains);
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
    assert_rotations_hold(&*instance, &chains);
}

/// A PostgreSQL of the test's own (not the one the rest of the run shares, which other tests
/// and people use): a fresh cluster in a temporary directory, its server a child of the test
/// running as the `postgres` user, on a loopback port. Stopped and started at will.
struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    server: Option<Group>,
}

impl Postgres {
    fn init() -> Postgres {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's PostgreSQL (scripts/start-postgres installs it)")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .max()
            .expect("a PostgreSQL version");
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "chown needs root");
        let initdb = as_postgres(Command::new(bin.join("initdb")).args([
            "-D",
            &dir.path().join("cluster").to_string_lossy(),
            "-U",
            "workbook",
            "--auth=trust",
            "-E",
            "UTF8",
        ]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
        assert!(initdb.status.success(), "initdb: {initdb:?}");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut postgres = Postgres {
            dir,
            bin,
            port,
            server: None,
        };
        postgres.start();
        postgres
    }

    fn url(&self) -> String {
        format!("postgres://workbook@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&mut self) {
        let cluster = self.dir.path().join("cluster");
        self.server = Some(Group::spawn(
            as_postgres(&mut Command::new(self.bin.join("postgres")))
                .arg("-D")
                .arg(&cluster)
                .args(["-p", &self.port.to_string()])
                .arg("-k")
                .arg(self.dir.path())
                .args(["-c", "listen_addresses=127.0.0.1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        ));
        wait_until(
            "PostgreSQL to accept connections",
            Duration::from_secs(30),
            || {
                Command::new(self.bin.join("pg_isready"))
                    .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                    .status()
                    .is_ok_and(|status| status.success())
            },
        );
    }

    /// A fast shutdown (SIGINT): sessions are cut, the server exits cleanly.
    fn stop(&mut self) {
        let mut server = self.server.take().expect("PostgreSQL runs");
        server.signal(libc::SIGINT);
        let _ = server.0.wait();
    }
}

/// `command`, run as the `postgres` user (PostgreSQL refuses to run as root).
fn as_postgres(command: &mut Command) -> &mut Command {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    *command = Command::new("setpriv");
    command
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program)
        .args(args)
}

/// nginx rendered by `deploy` in front of `upstreams`, with TLS, on a loopback port; requests
/// through it go by curl.
struct Nginx {
    _process: Group,
    _dir: tempfile::TempDir,
    https: u16,
}

impl Nginx {
    fn start(upstreams: &[SocketAddr]) -> Nginx {
        use jwt_workbook::deploy::{DeploySettings, Overwrite};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let openssl = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem"))
            .output()
            .unwrap();
        assert!(openssl.status.success(), "{openssl:?}");
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (http, https) = (free(), free());
        let logs = root.join("logs");
        let book = root.join("book");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::create_dir_all(&book).unwrap();
        let settings = DeploySettings {
            domain: "localhost".into(),
            upstreams: upstreams.iter().map(ToString::to_string).collect(),
            book_dir: book,
            user: "jwt-workbook".into(),
            binary: BINARY.into(),
            data_dir: root.join("data"),
            env_file: root.join("jwt-workbook.env"),
            tls_certificate: Some(root.join("cert.pem")),
            tls_certificate_key: Some(root.join("key.pem")),
            http_port: Some(http),
            https_port: Some(https),
            log_dir: logs,
            ipv6: false,
            proxy_bind: None,
            database_url: Some("postgres://unused@127.0.0.1/unused".into()),
        };
        settings
            .write(&root.join("deploy"), Overwrite::Refuse)
            .unwrap();
        // The rendered file listens on every address, as a server's should; the test's nginx
        // listens on the loopback address only.
        let config = root.join("deploy/nginx.conf");
        let mut text = std::fs::read_to_string(&config).unwrap();
        for port in [http, https] {
            text = text.replace(
                &format!("listen {port}"),
                &format!("listen 127.0.0.1:{port}"),
            );
        }
        std::fs::write(&config, text).unwrap();
        let main = root.join("nginx-main.conf");
        std::fs::write(
            &main,
            format!(
                "daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\n\
                 error_log {root}/logs/main-error.log;\nevents {{ worker_connections 256; }}\n\
                 http {{\n    include /etc/nginx/mime.types;\n\
                 client_body_temp_path {root}/tmp-body;\n    proxy_temp_path {root}/tmp-proxy;\n\
                 fastcgi_temp_path {root}/tmp-fcgi;\n    uwsgi_temp_path {root}/tmp-uwsgi;\n\
                 scgi_temp_path {root}/tmp-scgi;\n    include {root}/deploy/nginx.conf;\n}}\n",
                root = root.display()
            ),
        )
        .unwrap();
        let process = Group::spawn(
            Command::new("nginx")
                .arg("-c")
                .arg(&main)
                .stdout(Stdio::null()),
        );
        wait_until("nginx", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", https)).is_ok()
        });
        Nginx {
            _process: process,
            _dir: dir,
            https,
        }
    }
}

impl Http for Nginx {
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
        let mut command = Command::new("curl");
        command
            .args([
                "-sk",
                "--max-time",
                &HANG.as_secs().to_string(),
                "-X",
                method,
            ])
            .args(["--resolve", &format!("localhost:{}:127.0.0.1", self.https)])
            .args(["-w", "\n%{http_code}"]);
        if let Some(body) = body {
            command
                .args(["-H", "Content-Type: application/json", "-d"])
                .arg(body.to_string());
        }
        let output = command
            .arg(format!("https://localhost:{}{path}", self.https))
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (body, status) = text.rsplit_once('\n')?;
        let status = status.trim().parse().ok().filter(|&s| s != 0)?;
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }
}

#[test]
#[ignore = "needs root, PostgreSQL's binaries and nginx; .ci/run runs it with --ignored"]
fn postgres_stopped_and_started_under_load_behind_nginx_answers_503_then_recovers() {
    let mut postgres = Postgres::init();
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), Some(&postgres.url()));
    let instances: Vec<Instance> = ["a", "b"]
        .iter()
        .map(|name| Instance::spawn(&data.path().join(name), Some(&postgres.url())))
        .collect();
    let nginx = Arc::new(Nginx::start(
        &instances.iter().map(|i| i.addr).collect::<Vec<_>>(),
    ));
    let load = Load::start(&nginx);
    wait_until(
        "refreshes before the fault",
        Duration::from_secs(60),
        || load.count("200") >= 40,
    );

    postgres.stop();
    let unavailable = load.count("503");
    wait_until(
        "503s while PostgreSQL is down",
        Duration::from_secs(60),
        || load.count("503") >= unavailable + 5,
    );
    for instance in &instances {
        wait_until("/readyz to say not ready", Duration::from_secs(30), || {
            instance.ready() == 503
        });
    }

    postgres.start();
    for instance in &instances {
        wait_until(
            "/readyz to say ready again",
            Duration::from_secs(60),
            || instance.ready() == 200,
        );
    }
    let recovered = load.count("200");
    wait_until("refreshes after the fault", Duration::from_secs(60), || {
        load.count("200") >= recovered + 40
    });
    let (statuses, chains) = load.finish();
    eprintln!("answers through nginx while PostgreSQL stopped and started: {statuses:?}");
    assert_only_ok_or_unavailable(&statuses);
    assert_rotations_hold(&*nginx, &chains);
}
