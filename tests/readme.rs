//! The README, run the way a new user meets it: a fresh clone of this repository, its main
//! command exactly as written (only the address moved, through `JWT_WORKBOOK_ADDR`), the book
//! fetched over HTTP, every block of the walkthrough run as written with its output compared to
//! what the README shows (token values and times aside), the other runnable blocks run as
//! written, and `git status` clean afterwards.
//!
//! The blocks are read from README.md itself, so the two cannot drift. The clone builds from an
//! empty target directory, as a first `cargo run` does, so this takes minutes: `.ci/run` runs it
//! (`cargo test --test readme -- --ignored`); it needs git, bash and curl.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

/// A fenced code block of the README and the section (`## …`) it is in.
#[derive(Debug)]
struct Block {
    section: String,
    info: String,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut section = String::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    section: section.clone(),
                    info: info.trim().to_owned(),
                    text: String::new(),
                });
            }
            (Some(_), Some(_)) => found.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {
                if let Some(title) = line.strip_prefix("## ").or(line.strip_prefix("### ")) {
                    section = title.trim().to_owned();
                }
            }
        }
    }
    found
}

fn shell_blocks<'a>(all: &'a [Block], section: &str) -> Vec<&'a Block> {
    let found: Vec<_> = all
        .iter()
        .filter(|b| b.section == section && b.info == "sh")
        .collect();
    assert!(
        !found.is_empty(),
        "the README has no sh block under `## {section}`"
    );
    found
}

/// What may differ from run to run: token values and times.
fn normalize(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.trim().lines() {
        // A JWT (base64url parts, the first a JSON header: `eyJ`) becomes `eyJ…`.
        let mut rest = line.trim_end();
        let mut shown = String::new();
        while let Some(start) = rest.find("eyJ") {
            shown.push_str(&rest[..start]);
            shown.push_str("eyJ…");
            rest = &rest[start + 3..];
            rest =
                rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || "-_.…".contains(c));
        }
        shown.push_str(rest);
        out.push(mask_times(&shown));
    }
    out.join("\n")
}

/// `2026-12-05T12:00:00Z` (an ISO 8601 time in UTC, as `date_joined`) becomes `<time>`.
fn mask_times(line: &str) -> String {
    let shape = |s: &[u8]| {
        s.len() >= 20
            && s.iter().enumerate().take(19).all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) =
        (0..rest.len()).find(|&i| rest.is_char_boundary(i) && shape(&rest.as_bytes()[i..]))
    {
        let end = rest[at + 19..]
            .find('Z')
            .map_or(at + 19, |z| at + 19 + z + 1);
        out.push_str(&rest[..at]);
        out.push_str("<time>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Runs `script` in bash in `dir`, as a user pasting it into a terminal there would.
fn bash(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .env_remove("JWT_WORKBOOK_DATA_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn http_get(url: &str) -> String {
    let output = Command::new("curl")
        .args(["-s", "-i", "-H", "Accept: text/html", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The server started by the README's main command; stopped (with everything `cargo run`
/// started) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "clones the workbook and builds it from scratch: run by .ci/run"]
fn the_readme_works_as_written_on_a_fresh_clone() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("jwt-workbook");
    git(
        tmp.path(),
        &["clone", "-q", here.to_str().unwrap(), "jwt-workbook"],
    );
    let readme = std::fs::read_to_string(clone.join("README.md")).unwrap();
    let all = blocks(&readme);

    // The two commands: the first runs the book and the API, the second is what `.ci/run` runs.
    let two = shell_blocks(&all, "The two commands")[0];
    let commands: Vec<&str> = two
        .text
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(commands, ["cargo run", "cargo test"]);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let mut child = Command::new("bash")
        .args(["-c", commands[0]])
        .current_dir(&clone)
        .env("JWT_WORKBOOK_ADDR", &addr)
        .env_remove("JWT_WORKBOOK_DATA_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let banner = BufReader::new(child.stdout.take().unwrap());
    let server = Server(child);
    let mut lines = banner.lines();
    let served = loop {
        let line = lines
            .next()
            .expect("`cargo run` ended before it served")
            .unwrap();
        if let Some(url) = line.split("serving on ").nth(1) {
            break url.trim().to_owned();
        }
    };
    assert_eq!(served, format!("http://{addr}"));
    // The rest of the banner is not read: keep draining it so the server never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));

    // The book, at the root, as the banner says.
    let home = http_get(&format!("http://{addr}/"));
    println!(
        "first run: {:.0} s from `cargo run` on a fresh clone to the first page served",
        started.elapsed().as_secs_f64()
    );
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains("<title>How to use this workbook"), "{home}");
    let chapter = http_get(&format!("http://{addr}/01-anatomy/index.html"));
    assert!(chapter.starts_with("HTTP/1.1 200"), "{chapter}");
    assert!(chapter.contains("Anatomy of a JWT"), "{chapter}");
    assert!(chapter.contains("id=\"step-1\""), "{chapter}");

    // The walkthrough: each shell block, then the output the README shows under it.
    let section = "Walkthrough with curl";
    let walkthrough: Vec<&Block> = all.iter().filter(|b| b.section == section).collect();
    let mut script = String::from("set -u\n");
    let mut expected = Vec::new();
    for (i, pair) in walkthrough.chunks(2).enumerate() {
        let [command, output] = pair else {
            panic!("the walkthrough's blocks come in pairs: a command, then its output")
        };
        assert_eq!(
            (command.info.as_str(), output.info.as_str()),
            ("sh", "text")
        );
        script.push_str(&format!("echo '@@ step {}'\n", i + 1));
        script.push_str(&command.text.replace("127.0.0.1:8000", &addr));
        expected.push(output.text.clone());
    }
    assert!(expected.len() >= 7, "the walkthrough lost steps");
    let run = bash(&clone, &script);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: Vec<&str> = stdout.split("@@ step ").skip(1).collect();
    assert_eq!(printed.len(), expected.len(), "{stdout}");
    for (i, (printed, expected)) in printed.iter().zip(&expected).enumerate() {
        let printed = printed.split_once('\n').map_or("", |(_, rest)| rest);
        assert_eq!(
            normalize(printed),
            normalize(expected),
            "walkthrough step {} printed something else than the README shows",
            i + 1
        );
    }

    // The book in a folder, with a relative path, as the README writes it.
    let book_line = readme
        .lines()
        .find(|line| line.starts_with("cargo run -- book --out "))
        .expect("the README shows `book --out`");
    let book_command = book_line.split('#').next().unwrap().trim();
    let out = book_command.rsplit(' ').next().unwrap();
    let built = bash(&clone, book_command);
    assert!(built.status.success(), "{book_command}: {built:?}");
    assert!(
        clone.join(out).join("index.html").is_file(),
        "{book_command}"
    );
    assert!(clone.join(out).join("01-anatomy/index.html").is_file());

    // The operator's blocks, as written.
    for section in ["Users and maintenance", "Keys and rotation", "Deployment"] {
        let block = shell_blocks(&all, section)[0];
        let run = bash(&clone, &block.text);
        assert!(
            run.status.success(),
            "the README's `{section}` block failed:\n{}\n{}{}",
            block.text,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }

    // Nothing a user ran left anything for git to see.
    drop(server);
    let status = git(&clone, &["status", "--porcelain", "--ignored=no"]);
    assert_eq!(status, "", "the README's commands left files in the tree");
}

#[test]
fn token_values_are_ignored_and_nothing_else() {
    assert_eq!(
        normalize(r#"{"refresh":"eyJhbGciOi.eyJ0b2tl.4VSz-x_y","access":"eyJ…"}  "#),
        r#"{"refresh":"eyJ…","access":"eyJ…"}"#
    );
    assert_ne!(
        normalize(r#"{"detail":"a"}"#),
        normalize(r#"{"detail":"b"}"#)
    );
}

#[test]
fn readme_blocks_are_read_with_their_section() {
    let found = blocks("## One\n\n```sh\na\n```\n\n## Two\n```text\nb\nc\n```\n");
    assert_eq!(found.len(), 2);
    assert_eq!(
        (
            found[0].section.as_str(),
            found[0].info.as_str(),
            found[0].text.as_str()
        ),
        ("One", "sh", "a\n")
    );
    assert_eq!(
        (
            found[1].section.as_str(),
            found[1].info.as_str(),
            found[1].text.as_str()
        ),
        ("Two", "text", "b\nc\n")
    );
}
