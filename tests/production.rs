//! The deployment `deploy` renders, run for real: Debian's nginx, with TLS, in front of two
//! instances of the release-like binary that share one PostgreSQL. Through nginx it proves that
//! the book is served by nginx from disk, that the API works, that the client's address reaches
//! the application only through the trusted proxy's header, that a refresh token blacklisted
//! through one instance is refused by the other, and that SIGTERM to an instance under load
//! drops no request.
//!
//! `#[ignore]`d so that `cargo test` passes on a machine without nginx and PostgreSQL; `.ci/run`
//! installs both and runs it with `--ignored` and `JWT_TEST_POSTGRES_URL` set.

#[path = "support/processes.rs"]
mod processes;
#[path = "support/postgres.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jwt_workbook::deploy::{DeploySettings, Overwrite};
use jwt_workbook::workbook::{Workbook, book};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_jwt-workbook");
/// nginx connects to the instances from this address, and they trust its header only.
const PROXY_ADDRESS: &str = "127.0.0.2";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

use processes::Group as Running;

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Retries `check` until it holds or `limit` passes: for processes starting up, whose readiness
/// no clock of ours controls.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Stack {
    dir: tempfile::TempDir,
    https: u16,
    instances: Vec<(u16, Option<Running>)>,
    _nginx: Running,
}

impl Stack {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.https)
    }

    fn resolve(&self) -> String {
        format!("localhost:{}:127.0.0.1", self.https)
    }
}

/// One response from curl: status, lower-cased header lines, body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn curl(args: &[&str]) -> Answer {
    let output = run(Command::new("curl").args(["-sS", "-k", "-i"]).args(args));
    let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Answer {
        status,
        headers: head.to_lowercase(),
        body: body.to_owned(),
    }
}

fn post_json(stack: &Stack, from: &str, path: &str, body: &str, extra: &[&str]) -> Answer {
    let url = stack.url(path);
    let resolve = stack.resolve();
    let mut args = vec![
        "--resolve",
        &resolve,
        "--interface",
        from,
        "-H",
        "Content-Type: application/json",
        "-d",
        body,
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

fn start_instance(dir: &Path, port: u16, database_url: &str, key: &str) -> Running {
    let data = dir.join(format!("instance-{port}"));
    let mut instance = Running::spawn(
        Command::new(BINARY)
            .args(["serve", "--environment", "production", "--no-book"])
            .args(["--addr", &format!("127.0.0.1:{port}")])
            // Metrics on a port of their own, as an operator would scrape them: nginx, which
            // proxies the instance's public port only, must not expose them.
            .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port())])
            .arg("--data-dir")
            .arg(&data)
            .args(["--client-ip-header", "X-Forwarded-For"])
            .args(["--trusted-proxies", PROXY_ADDRESS])
            .args(["--login-failures-per-user", "off"])
            .args(["--login-failures-per-address", "1/1h"])
            .env("DATABASE_URL", database_url)
            .env("JWT_SIGNING_KEY", key)
            .env_remove("JWT_SIGNING_KEY_FILE")
            .env_remove("JWT_KEYS_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    // The banner comes once the instance listens.
    let mut banner = BufReader::new(instance.0.stdout.take().unwrap()).lines();
    loop {
        let line = banner
            .next()
            .expect("the instance exited before serving")
            .unwrap();
        // The metrics line comes last: by then both ports listen.
        if line.contains("/metrics") {
            break;
        }
    }
    std::thread::spawn(move || for _ in banner {});
    instance
}

fn start_stack(database_url: &str) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let key = jwt_workbook::keys::generate_hex_secret();

    let mut create = Command::new(BINARY)
        .args(["user", "create", "alice", "--password-stdin"])
        .arg("--data-dir")
        .arg(root.join("cli"))
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
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

    let book_dir = root.join("book");
    book::build(
        &Workbook::at(env!("CARGO_MANIFEST_DIR")).book_dir(),
        &book_dir,
    )
    .unwrap();
    run(Command::new("openssl")
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
        .arg(root.join("cert.pem")));

    let ports = [free_port(), free_port()];
    let instances: Vec<(u16, Option<Running>)> = ports
        .iter()
        .map(|&port| (port, Some(start_instance(root, port, database_url, &key))))
        .collect();

    let (http, https) = (free_port(), free_port());
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let settings = DeploySettings {
        domain: "localhost".into(),
        upstreams: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
        book_dir: book_dir.clone(),
        user: "jwt-workbook".into(),
        binary: BINARY.into(),
        data_dir: root.join("data"),
        env_file: root.join("jwt-workbook.env"),
        tls_certificate: Some(root.join("cert.pem")),
        tls_certificate_key: Some(root.join("key.pem")),
        http_port: Some(http),
        https_port: Some(https),
        log_dir: logs.clone(),
        ipv6: false,
        proxy_bind: Some(PROXY_ADDRESS.parse().unwrap()),
        database_url: Some(database_url.to_owned()),
    };
    settings
        .write(&root.join("deploy"), Overwrite::Refuse)
        .unwrap();
    listen_on_loopback(&root.join("deploy/nginx.conf"), &[http, https]);
    let main = root.join("nginx-main.conf");
    std::fs::write(
        &main,
        format!(
            "daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/logs/main-error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n    include /etc/nginx/mime.types;\n\
             client_body_temp_path {root}/tmp-body;\n    proxy_temp_path {root}/tmp-proxy;\n\
             fastcgi_temp_path {root}/tmp-fcgi;\n    uwsgi_temp_path {root}/tmp-uwsgi;\n\
             scgi_temp_path {root}/tmp-scgi;\n    include {root}/deploy/nginx.conf;\n}}\n",
            root = root.display()
        ),
    )
    .unwrap();
    // The rendered configuration passes nginx's own check before anything is served.
    run(Command::new("nginx").arg("-t").arg("-c").arg(&main));
    // In the foreground (`daemon off`), leading its own process group with its worker: the
    // test's end kills both.
    let nginx = Running::spawn(
        Command::new("nginx")
            .arg("-c")
            .arg(&main)
            .stdout(Stdio::null()),
    );
    wait_until("nginx", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", https)).is_ok()
    });
    Stack {
        dir,
        https,
        instances,
        _nginx: nginx,
    }
}

/// The rendered file listens on every address, as a server's should; the test's nginx must not
/// be reachable from outside the machine, so its `listen` lines name the loopback address.
fn listen_on_loopback(config: &Path, ports: &[u16]) {
    let mut text = std::fs::read_to_string(config).unwrap();
    for port in ports {
        let rendered = format!("listen {port}");
        assert!(
            text.contains(&rendered),
            "no {rendered:?} in the rendered file"
        );
        text = text.replace(&rendered, &format!("listen 127.0.0.1:{port}"));
    }
    std::fs::write(config, text).unwrap();
}

fn login(stack: &Stack, from: &str) -> (String, String) {
    let answer = post_json(
        stack,
        from,
        "/api/token/",
        r#"{"username":"alice","password":"alice-password"}"#,
        &[],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    (
        body["refresh"].as_str().unwrap().to_owned(),
        body["access"].as_str().unwrap().to_owned(),
    )
}

#[test]
#[ignore = "needs nginx and PostgreSQL: set JWT_TEST_POSTGRES_URL and run with --ignored (.ci/run does)"]
fn nginx_in_front_of_two_instances_on_one_postgres() {
    let database_url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::fresh_postgres_database());
    let mut stack = start_stack(&database_url);
    let resolve = stack.resolve();

    // The book comes from nginx, from disk: none of the application's headers are on it.
    let page = curl(&["--resolve", &resolve, &stack.url("/")]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("How to use this workbook"),
        "{}",
        page.body
    );
    assert!(page.headers.contains("server: nginx"), "{}", page.headers);
    assert!(!page.headers.contains("x-request-id"), "{}", page.headers);
    assert!(
        page.headers.contains("strict-transport-security"),
        "{}",
        page.headers
    );

    // The API goes through to an instance, which stamps every answer with its request id.
    let (refresh, access) = login(&stack, "127.0.0.1");
    let hello = curl(&[
        "--resolve",
        &resolve,
        "-H",
        &format!("Authorization: Bearer {access}"),
        &stack.url("/hello/"),
    ]);
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert!(hello.headers.contains("x-request-id"), "{}", hello.headers);
    let ready = curl(&["--resolve", &resolve, &stack.url("/readyz")]);
    assert_eq!(ready.json()["database"], "ok");
    // The instances serve /metrics on ports of their own; through nginx there is none.
    let metrics = curl(&["--resolve", &resolve, &stack.url("/metrics")]);
    assert_eq!(metrics.status, 404, "{}", metrics.body);
    assert!(
        !metrics.body.contains("http_requests_total"),
        "{}",
        metrics.body
    );
    // The browser client the book links to comes from an instance too, with its strict CSP.
    let client = curl(&["--resolve", &resolve, &stack.url("/client/")]);
    assert_eq!(client.status, 200, "{}", client.body);
    assert!(
        client.headers.contains("x-request-id"),
        "{}",
        client.headers
    );
    assert!(
        client
            .headers
            .contains("content-security-policy: default-src 'none'"),
        "{}",
        client.headers
    );

    client_addresses_come_only_from_the_trusted_proxy(&stack);
    a_logout_through_one_instance_holds_on_the_other(&stack, &refresh);
    // A session of its own, from an address no failed login was counted against.
    let (_, access) = login(&stack, "127.0.0.5");
    sigterm_under_load_drops_no_request(&mut stack, &access);
}

/// The limit is one failed login per address. Through nginx, each client is counted by its own
/// address, whatever it claims in its own X-Forwarded-For; straight to an instance, the header
/// comes from no trusted proxy and is ignored.
fn client_addresses_come_only_from_the_trusted_proxy(stack: &Stack) {
    let wrong = r#"{"username":"alice","password":"wrong"}"#;
    let forged = |address: &str| format!("X-Forwarded-For: {address}");
    // Two failures, so that both instances (nginx alternates) have counted 127.0.0.3.
    for claim in ["10.0.0.1", "10.0.0.2"] {
        let answer = post_json(
            stack,
            "127.0.0.3",
            "/api/token/",
            wrong,
            &["-H", &forged(claim)],
        );
        assert!([401, 429].contains(&answer.status), "{}", answer.body);
    }
    let throttled = post_json(
        stack,
        "127.0.0.3",
        "/api/token/",
        wrong,
        &["-H", &forged("10.0.0.3")],
    );
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert!(
        throttled.headers.contains("retry-after:"),
        "{}",
        throttled.headers
    );
    let other_client = post_json(stack, "127.0.0.4", "/api/token/", wrong, &[]);
    assert_eq!(other_client.status, 401, "{}", other_client.body);

    // Straight to an instance from 127.0.0.1, which is not the trusted proxy.
    let direct = format!("http://127.0.0.1:{}/api/token/", stack.instances[0].0);
    let try_direct = |claim: &str| {
        curl(&[
            "-H",
            "Content-Type: application/json",
            "-H",
            &forged(claim),
            "-d",
            wrong,
            &direct,
        ])
    };
    assert_eq!(try_direct("10.9.9.1").status, 401);
    assert_eq!(
        try_direct("10.9.9.2").status,
        429,
        "the forged header was believed"
    );
}

/// Logout straight on instance A; refresh straight on instance B: refused, because the
/// revocation is in the database they share.
fn a_logout_through_one_instance_holds_on_the_other(stack: &Stack, refresh: &str) {
    let body = format!(r#"{{"refresh":"{refresh}"}}"#);
    let on = |instance: usize, path: &str| {
        curl(&[
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
            &format!("http://127.0.0.1:{}{path}", stack.instances[instance].0),
        ])
    };
    assert_eq!(on(0, "/api/token/blacklist/").status, 200);
    let refused = on(1, "/api/token/refresh/");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["detail"], "Token is blacklisted");
}

/// A few hundred requests through nginx, logins (slow: a password hash each) among them; half
/// way, instance A gets SIGTERM. It finishes what it has started and stops; nginx sends the
/// rest to B. Every request must come back 200.
fn sigterm_under_load_drops_no_request(stack: &mut Stack, access: &str) {
    let total = 300;
    let config = stack.dir.path().join("load.curl");
    // `next` starts a new transfer and forgets the previous one's options, so each block
    // carries its own.
    let mut blocks = Vec::with_capacity(total);
    for i in 0..total {
        let mut lines = format!(
            "insecure\nresolve = \"{}\"\ninterface = \"127.0.0.6\"\n",
            stack.resolve()
        );
        if i % 5 == 0 {
            lines.push_str(&format!(
                "url = \"{}\"\nheader = \"Content-Type: application/json\"\n\
                 data = \"{{\\\"username\\\":\\\"alice\\\",\\\"password\\\":\\\"alice-password\\\"}}\"\n",
                stack.url("/api/token/")
            ));
        } else {
            lines.push_str(&format!(
                "url = \"{}\"\nheader = \"Authorization: Bearer {access}\"\n",
                stack.url("/hello/")
            ));
        }
        lines.push_str("output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\n");
        blocks.push(lines);
    }
    std::fs::write(&config, blocks.join("next\n")).unwrap();
    let before = access_lines(stack);
    let mut load = Running::spawn(
        Command::new("curl")
            .args(["-sS", "--parallel", "--parallel-max", "12"])
            .arg("-K")
            .arg(&config)
            .stdout(Stdio::piped()),
    );
    // curl's own output is buffered until it ends, so progress is read from nginx's access
    // log, which gets a line as each request completes.
    let mut a = stack.instances[0].1.take().expect("instance A runs");
    wait_until("a third of the load", Duration::from_secs(60), || {
        access_lines(stack) >= before + total / 3
    });
    a.signal(libc::SIGTERM);
    let at_signal = access_lines(stack);
    let statuses: Vec<String> = BufReader::new(load.0.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    assert!(
        at_signal < before + total,
        "the load was over before the signal: nothing was in flight"
    );
    assert!(load.0.wait().unwrap().success());
    assert_eq!(statuses.len(), total);
    let failed: Vec<&String> = statuses.iter().filter(|s| *s != "200").collect();
    assert!(
        failed.is_empty(),
        "{} of {total} failed: {failed:?}",
        failed.len()
    );
    let exit = a.0.wait().unwrap();
    assert!(exit.success(), "instance A after SIGTERM: {exit}");
    // B carries on alone.
    let after = curl(&[
        "--resolve",
        &stack.resolve(),
        "-H",
        &format!("Authorization: Bearer {access}"),
        &stack.url("/hello/"),
    ]);
    assert_eq!(after.status, 200);
}

fn access_lines(stack: &Stack) -> usize {
    let log = stack.dir.path().join("logs/jwt-workbook.access.log");
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}
