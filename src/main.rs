//! The `jwt-workbook` binary: parse the command line, start logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use jwt_workbook::cli::Cli;
use jwt_workbook::commands::Ending;
use jwt_workbook::logs::{self, LogFormat};
use jwt_workbook::terminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // JSON logs are for production, where an access line per request is wanted; the text
    // logs of development leave them out unless RUST_LOG asks (`RUST_LOG=info,access=info`).
    let default_filter = if cli.global.log_json {
        "info,sqlx=warn"
    } else {
        "info,sqlx=warn,access=warn"
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let format = if cli.global.log_json {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    let ansi = terminal::escapes_allowed(&std::io::stderr());
    // Lines still waiting are written when the guard goes, at the end of `main`.
    let (stderr, _written_on_drop) = logs::standard_error();
    logs::subscriber(format, filter, ansi, stderr).init();
    match jwt_workbook::commands::run(cli).await {
        Ok(Ending::Done) => ExitCode::SUCCESS,
        // `check` has said what is left; the exit status is for scripts.
        Ok(Ending::NotSolvedYet) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
