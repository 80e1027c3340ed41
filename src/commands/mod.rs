//! One module per subcommand, each with a `run`. `main` parses the command line and calls
//! [`run`]; everything else happens here.

pub mod cleanup;
pub mod serve;
pub mod user;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// What a subcommand can fail with: a message for a person at a terminal.
pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
    let environment = cli.global.environment();
    let data_dir = cli.global.data_dir;
    match cli.command {
        None => serve::run(Config::load(cli.serve, data_dir, environment)?).await,
        Some(Command::Serve(args)) => serve::run(Config::load(args, data_dir, environment)?).await,
        Some(Command::User(command)) => user::run(command, &data_dir).await,
        Some(Command::Cleanup) => cleanup::run(&data_dir).await,
    }
}
