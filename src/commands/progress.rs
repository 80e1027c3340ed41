//! `progress`: every chapter's steps, solved or not, from running the suites now (never from a
//! saved state that could go stale), with a progress bar; with `--submit`, also sent to the
//! classroom server so the instructor's class view shows it.

use std::io::BufRead;
use std::time::Duration;

use serde_json::{Value, json};

use super::CommandError;
use crate::classroom::{ChapterProgress, ProgressReport};
use crate::workbook::Workbook;
use crate::workbook::exercises::{Outcome, run_suite};
use crate::workbook::report;

pub fn run(
    workbook: &Workbook,
    submit: Option<&str>,
    username: Option<&str>,
) -> Result<(), CommandError> {
    let Some(server) = submit else {
        println!("{}", measure(workbook)?.0);
        return Ok(());
    };
    let username = username.ok_or("--submit needs --username")?;
    submit_progress(workbook, server, username, || {
        eprint!("password for {username} at {server}: ");
        read_password_quietly()
    })
}

/// `progress --submit`: the password is checked with the server first, so that a typo or a
/// wrong address is reported in a second, not after every chapter's suite has run; then the
/// suites run and the report goes out.
pub fn submit_progress(
    workbook: &Workbook,
    server: &str,
    username: &str,
    read_password: impl FnOnce() -> std::io::Result<String>,
) -> Result<(), CommandError> {
    server_base(server)?;
    let password = read_password()?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(format!("no password given for {username}").into());
    }
    log_in(server, username, password)?;
    let (table, chapters) = measure(workbook)?;
    println!("{table}");
    submit_report(server, username, password, &ProgressReport { chapters })?;
    println!("sent to {server}: your instructor can see it now.");
    Ok(())
}

/// A line from standard input; at a terminal, without echoing it (a projected screen must not
/// show a password).
fn read_password_quietly() -> std::io::Result<String> {
    let mut line = String::new();
    #[cfg(unix)]
    {
        use std::io::IsTerminal;
        use std::os::fd::AsRawFd;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            let fd = stdin.as_raw_fd();
            // SAFETY: termios is plain data, filled by tcgetattr before it is read.
            let mut saved: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(fd, &mut saved) } == 0 {
                let mut quiet = saved;
                quiet.c_lflag &= !libc::ECHO;
                // SAFETY: fd is our stdin; both structs came from tcgetattr.
                unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
                let read = stdin.lock().read_line(&mut line);
                unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
                eprintln!();
                read?;
                return Ok(line);
            }
        }
    }
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line)
}

/// The progress table, as `progress` prints it and the `cargo run` banner shows it.
pub fn summary(workbook: &Workbook) -> Result<String, CommandError> {
    Ok(measure(workbook)?.0)
}

/// Runs every chapter's suite: the table for a person, and the same facts for the class view.
fn measure(workbook: &Workbook) -> Result<(String, Vec<ChapterProgress>), CommandError> {
    let mut out = String::from("chapter          steps solved   next\n");
    let mut chapters = Vec::new();
    let (mut done, mut total) = (0, 0);
    for chapter in workbook.chapters()? {
        let outcome = run_suite(workbook.root(), &chapter.exercise_package())?;
        let steps = outcome.steps();
        let (solved, count) = report::solved_steps(&steps);
        let builds = !matches!(outcome, Outcome::DoesNotBuild { .. });
        let next = match (builds, outcome.first_failing_step()) {
            (false, _) => "does not compile: cargo run -- check".to_string(),
            (true, Some(step)) => format!("step {step}: {}", report::step_link(&chapter, step)),
            (true, None) => "solved".to_string(),
        };
        out.push_str(&format!(
            "{:<16} {:<14} {next}\n",
            chapter.slug,
            report::progress_bar(solved, count, 6)
        ));
        chapters.push(ChapterProgress {
            chapter: chapter.slug.clone(),
            solved: solved as u32,
            total: count as u32,
            next_step: outcome.first_failing_step(),
            builds,
        });
        done += solved;
        total += count;
    }
    out.push_str(&format!(
        "\nall steps        {}\n",
        report::progress_bar(done, total, 30)
    ));
    Ok((out, chapters))
}

// ANCHOR: submit
/// Logs in to the classroom server and posts the report with the access token it gets.
pub fn submit_report(
    server: &str,
    username: &str,
    password: &str,
    report: &ProgressReport,
) -> Result<(), CommandError> {
    let access = log_in(server, username, password)?;
    let report = serde_json::to_string(report)?;
    let (status, body) = post(server, "/api/class/progress/", Some(&access), &report)?;
    match status {
        200 => Ok(()),
        404 => {
            Err(format!("{server} is not running a classroom (`cargo run -- classroom`)").into())
        }
        _ => Err(format!("{server} refused the report ({status}): {}", detail(&body)).into()),
    }
}

/// The access token of a login, or why there is none.
fn log_in(server: &str, username: &str, password: &str) -> Result<String, CommandError> {
    let login = json!({ "username": username, "password": password });
    let (status, body) = post(server, "/api/token/", None, &login.to_string())?;
    match status {
        200 => {}
        401 => {
            return Err(format!(
                "{server} refused the login (401): {}; check the username and the password \
                 on your slip",
                detail(&body)
            )
            .into());
        }
        _ => {
            return Err(format!("{server} refused the login ({status}): {}", detail(&body)).into());
        }
    }
    Ok(serde_json::from_str::<Value>(&body)?["access"]
        .as_str()
        .ok_or("the login answer had no access token")?
        .to_owned())
}
// ANCHOR_END: submit

fn detail(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The server's base address, `http://host[:port]`, without a trailing slash.
fn server_base(server: &str) -> Result<&str, CommandError> {
    server
        .strip_prefix("http://")
        .filter(|host| !host.trim_end_matches('/').is_empty())
        .map(|_| server.trim_end_matches('/'))
        .ok_or_else(|| format!("{server}: give the classroom server as http://host:port").into())
}

/// One POST of JSON, through ureq (a classroom runs on the room's network, over plain HTTP):
/// its status and body, whatever the status.
fn post(
    server: &str,
    path: &str,
    token: Option<&str>,
    json: &str,
) -> Result<(u16, String), CommandError> {
    let url = format!("{}{path}", server_base(server)?);
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        // A refusal is an answer to report, not a transport error.
        .http_status_as_error(false)
        // Nothing to follow: a redirect would resend the password somewhere else.
        .max_redirects(0)
        .build()
        .new_agent();
    let mut request = agent.post(&url).header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(json).map_err(|e| match e {
        ureq::Error::Io(e) => format!("cannot reach the classroom server at {url}: {e}"),
        other => format!("talking to the classroom server at {url}: {other}"),
    })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("reading the classroom server's answer: {e}"))?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A server answering in chunks, as a proxy in front of the classroom server may: the
    /// client must read the body whole. (A raw socket on purpose: this is the other side.)
    #[test]
    fn a_chunked_answer_is_read_whole() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        let answering = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).unwrap();
            let body = br#"{"access":"a-token","refresh":"r"}"#;
            let (first, second) = body.split_at(10);
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            for chunk in [first, second] {
                write!(stream, "{:x}\r\n", chunk.len()).unwrap();
                stream.write_all(chunk).unwrap();
                stream.write_all(b"\r\n").unwrap();
            }
            stream.write_all(b"0\r\n\r\n").unwrap();
        });
        assert_eq!(log_in(&server, "amy", "pw").unwrap(), "a-token");
        answering.join().unwrap();
    }

    #[test]
    fn only_plain_http_addresses_are_taken() {
        assert_eq!(
            server_base("http://10.0.0.5:8000/").unwrap(),
            "http://10.0.0.5:8000"
        );
        for wrong in ["10.0.0.5:8000", "http://", "ftp://x"] {
            let error = server_base(wrong).unwrap_err().to_string();
            assert!(error.contains("http://host:port"), "{error}");
        }
    }
}
