//! Where log lines go and what they say: text for a terminal, JSON lines for production, and on
//! every line written while a request is being answered, that request's id, method and path.
//!
//! The request is not a `tracing` span. A span per request costs more than the rest of a cheap
//! request put together (it is registered, its fields are formatted into a string up front, and
//! every poll enters and leaves it), although most requests never write a line. Here the
//! request's [`RequestContext`] rides in a task-local while its future is polled, and is read
//! only when a line is written. The lines look as they did with a span: the JSON ones carry
//! `"span"` and `"spans"` with `"name":"request"`, the text ones `request{…}:` after the level.

use std::fmt::{self, Write as _};
use std::future::Future;

use axum::http::{HeaderValue, Method};
use tokio::task::futures::TaskLocalFuture;
use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, Format, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// What every log line written while answering a request says about it. The query string is
/// never part of it: a token pasted into a URL must not end up in a log file.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id (see [`crate::http::observe`]): only letters, digits, `-`, `_` and `.`.
    pub id: HeaderValue,
    pub method: Method,
    pub path: String,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// `future`, with `request` as the request every line it logs is about.
pub fn within<F: Future>(request: RequestContext, future: F) -> TaskLocalFuture<RequestContext, F> {
    CURRENT.scope(request, future)
}

/// Runs `f` with the request being answered, if any.
pub fn with_current(f: impl FnOnce(&RequestContext)) {
    let _ = CURRENT.try_with(f);
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event, coloured on a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// How many lines may wait for the writing thread before a line's writer waits too. The queue
/// is allocated whole and every slot is touched as it turns, so this is resident memory
/// (about 40 bytes a line, plus the lines): tracing-appender's default of 128,000 held 5 MiB.
/// The thread writes a batch per system call, so a few thousand lines keep it well ahead.
pub const BUFFERED_LINES: usize = 8_192;

/// Standard error, written by a thread of its own: the request that logs a line hands it over
/// and goes on, and the thread writes the lines that gathered in one system call. Written
/// directly, every access line cost a `write(2)` on the request's own time: more than the
/// rest of a cheap request. Nothing is dropped: with [`BUFFERED_LINES`] waiting, a writer waits
/// (where tracing-appender's default would drop the line). Keep the guard until the process
/// ends: dropping it writes what is left.
pub fn standard_error() -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(false)
        .thread_name("logs")
        .finish(std::io::BufWriter::new(std::io::stderr()))
}

/// The process's subscriber: `filter` chooses the lines, `writer` takes them. The binary
/// installs it with [`standard_error`]; the tests install it with a buffer, to read what a
/// request logs.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.map_event_format(WithRequest).finish()),
        LogFormat::Json => Box::new(builder.json().map_event_format(WithRequest).finish()),
    }
}

/// Room for a usual line, so that formatting one allocates once.
const LINE_CAPACITY: usize = 512;

/// `text` as a JSON string: quoted, with `"`, `\\` and control characters escaped.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An event format that adds the current request, if any, to the lines of the format it wraps.
#[derive(Debug, Clone)]
pub struct WithRequest<F>(F);

impl<F> WithRequest<F> {
    /// `event` as the wrapped format writes it; inside a request, `add` then puts the request
    /// into the line.
    fn format_with<S, N>(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
        add: impl FnOnce(&RequestContext, &mut String) -> fmt::Result,
    ) -> fmt::Result
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
        F: FormatEvent<S, N>,
    {
        let Ok(line) = CURRENT.try_with(|request| {
            let mut line = String::with_capacity(LINE_CAPACITY);
            self.0.format_event(ctx, Writer::new(&mut line), event)?;
            add(request, &mut line)?;
            Ok::<_, fmt::Error>(line)
        }) else {
            return self.0.format_event(ctx, writer, event);
        };
        writer.write_str(&line?)
    }
}

impl<S, N, T> FormatEvent<S, N> for WithRequest<Format<format::Full, T>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    Format<format::Full, T>: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        self.format_with(ctx, writer, event, |request, line| {
            // `<timestamp> <LEVEL> target: message`: the request goes after the level, where a
            // span's name and fields would.
            let level = format!("{:>5} ", event.metadata().level());
            let at = line.find(&level).map_or(0, |at| at + level.len());
            let scope = format!(
                "request{{request_id={:?} method={} path={:?}}}: ",
                request.id.to_str().unwrap_or_default(),
                request.method,
                request.path,
            );
            line.insert_str(at, &scope);
            Ok(())
        })
    }
}

impl<S, N, T> FormatEvent<S, N> for WithRequest<Format<format::Json, T>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    Format<format::Json, T>: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        self.format_with(ctx, writer, event, |request, line| {
            let mut span = String::with_capacity(128);
            span.push_str(r#"{"method":"#);
            push_json_string(&mut span, request.method.as_str());
            span.push_str(r#","path":"#);
            push_json_string(&mut span, &request.path);
            span.push_str(r#","request_id":"#);
            push_json_string(&mut span, request.id.to_str().unwrap_or_default());
            span.push_str(r#","name":"request"}"#);
            // Keys are written unescaped only by the formatter itself: a value holding
            // `"spans":[` is escaped, so this finds the key or nothing.
            if let Some(list) = line.find(",\"spans\":[") {
                // Spans of its own are open: the request is the outermost.
                line.insert_str(list + ",\"spans\":[".len(), &format!("{span},"));
                return Ok(());
            }
            let end = line.trim_end().len();
            if !line[..end].ends_with('}') {
                return Err(fmt::Error);
            }
            line.truncate(end - 1);
            for part in [",\"span\":", &span, ",\"spans\":[", &span, "]}\n"] {
                line.push_str(part);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What `format` writes for one line logged inside a request and one outside.
    fn lines(format: LogFormat) -> (String, String) {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let written = written.clone();
            move || Buffer(written.clone())
        };
        let subscriber = subscriber(format, EnvFilter::new("info"), false, writer);
        tracing::subscriber::with_default(subscriber, || {
            let request = RequestContext {
                id: HeaderValue::from_static("abc-1"),
                method: Method::POST,
                path: "/a \"quoted\" path/".into(),
            };
            let mut inside = std::pin::pin!(within(request, async {
                tracing::info!(status = 200, "inside");
            }));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(inside.as_mut().poll(&mut cx).is_ready());
            tracing::info!("outside");
        });
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let mut lines = written.lines().map(str::to_owned);
        (lines.next().unwrap(), lines.next().unwrap())
    }

    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_text_line_names_its_request_after_the_level_with_the_path_escaped() {
        let (inside, outside) = lines(LogFormat::Text);
        assert!(
            inside.contains(
                r#" INFO request{request_id="abc-1" method=POST path="/a \"quoted\" path/"}: jwt_workbook::logs::tests: inside status=200"#
            ),
            "{inside}"
        );
        assert!(
            outside.ends_with(" INFO jwt_workbook::logs::tests: outside"),
            "{outside}"
        );
    }

    #[test]
    fn a_json_line_carries_its_request_as_the_span_it_would_be() {
        let (inside, outside) = lines(LogFormat::Json);
        let inside: serde_json::Value = serde_json::from_str(&inside).unwrap();
        let span = serde_json::json!({
            "method": "POST", "path": "/a \"quoted\" path/", "request_id": "abc-1", "name": "request",
        });
        assert_eq!(inside["span"], span);
        assert_eq!(inside["spans"], serde_json::json!([span]));
        assert_eq!(inside["fields"]["status"], 200);
        let outside: serde_json::Value = serde_json::from_str(&outside).unwrap();
        assert!(outside.get("span").is_none(), "{outside}");
        assert_eq!(outside["fields"]["message"], "outside");
    }

    #[test]
    fn json_strings_are_escaped_as_json_reads_them() {
        for text in [
            "plain",
            "/a \"quoted\" path/",
            "back\\slash",
            "bell\u{7}\nnew",
            "é ✓",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text, "{out}");
        }
    }

    #[test]
    fn a_span_of_its_own_comes_after_the_request() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let written = written.clone();
            move || Buffer(written.clone())
        };
        let subscriber = subscriber(LogFormat::Json, EnvFilter::new("info"), false, writer);
        tracing::subscriber::with_default(subscriber, || {
            let request = RequestContext {
                id: HeaderValue::from_static("abc-2"),
                method: Method::GET,
                path: "/b/".into(),
            };
            let mut inside = std::pin::pin!(within(request, async {
                let _query = tracing::info_span!("query", table = "users").entered();
                tracing::info!("inside");
            }));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(inside.as_mut().poll(&mut cx).is_ready());
        });
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(written.trim()).unwrap();
        assert_eq!(line["span"]["name"], "query", "{line}");
        assert_eq!(line["spans"][0]["request_id"], "abc-2", "{line}");
        assert_eq!(line["spans"][1]["name"], "query", "{line}");
    }
}
