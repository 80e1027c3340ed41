//! One module per subcommand, each with a `run`. `main` parses the command line and calls
//! [`run`]; everything else happens here.

pub mod book;
pub mod check;
pub mod cleanup;
pub mod client;
pub mod deploy;
pub mod hint;
pub mod import_django;
pub mod lab;
pub mod progress;
pub mod reset;
pub mod serve;
pub mod solution;
pub mod sso_demo;
pub mod user;
pub mod verify;
pub mod warm_up;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::workbook::Workbook;

/// Where the database is: a PostgreSQL URL, or the SQLite file in the data directory.
#[derive(Debug, Clone, Copy)]
pub struct StoreLocation<'a> {
    pub url: Option<&'a str>,
    pub data_dir: &'a std::path::Path,
}

impl StoreLocation<'_> {
    pub async fn open(self) -> Result<std::sync::Arc<dyn crate::store::Database>, CommandError> {
        self.open_with_deadline(crate::store::DEFAULT_DEADLINE)
            .await
    }

    /// [`Self::open`], every wait for the database bounded by `deadline`.
    pub async fn open_with_deadline(
        self,
        deadline: std::time::Duration,
    ) -> Result<std::sync::Arc<dyn crate::store::Database>, CommandError> {
        std::fs::create_dir_all(self.data_dir)?;
        Ok(crate::store::open_with_deadline(self.url, self.data_dir, deadline).await?)
    }
}

/// What a subcommand can fail with: a message for a person at a terminal.
pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

/// How a command that did its work ended. `check` on an exercise that is not solved yet worked
/// as intended, so it is no error; its exit status still tells a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Done,
    /// `check` found steps left to solve (and has said which).
    NotSolvedYet,
}

/// Runs the parsed command line in the current directory: its paths are resolved against it, and
/// the learner's commands act on the workbook around it.
pub async fn run(cli: Cli) -> Result<Ending, CommandError> {
    let cwd = std::env::current_dir()
        .map_err(|e| format!("the current directory cannot be read: {e}"))?;
    let cli = cli.with_paths_from(&cwd);
    let found = Workbook::enclosing(&cwd);
    let workbook = || {
        found.clone().ok_or_else(|| {
            format!(
                "{} is not inside a jwt-workbook checkout (a folder with book/ and exercises/): \
                 run this command in your clone of the workbook",
                cwd.display()
            )
        })
    };
    let environment = cli.global.environment();
    let database_url = cli.global.database_url.clone();
    let database = StoreLocation {
        url: database_url.as_deref(),
        data_dir: &cli.global.data_dir,
    };
    let data_dir = cli.global.data_dir.clone();
    let done = match cli.command {
        None => {
            serve::run(
                Config::load(cli.serve, data_dir, environment, found.clone())?,
                database,
            )
            .await
        }
        Some(Command::Serve(args)) => {
            serve::run(
                Config::load(*args, data_dir, environment, found.clone())?,
                database,
            )
            .await
        }
        Some(Command::User(command)) => {
            user::run(command, database, cli.serve.simplejwt.user_id_field).await
        }
        Some(Command::Client(command)) => client::run(command, database).await,
        Some(Command::Cleanup) => cleanup::run(database).await,
        Some(Command::SsoDemo(args)) => sso_demo::run(args, database).await,
        Some(Command::ImportDjango(args)) => import_django::run(args, database).await,
        Some(Command::Key(command)) => crate::keys::command::run(command, &data_dir),
        Some(Command::Deploy(args)) => deploy::run(*args),
        Some(Command::Book { out }) => book::run(&workbook()?, &out),
        Some(Command::VerifyWorkbook) => verify::run(&workbook()?),
        Some(Command::Lab(args)) => lab::run(args, &data_dir).await,
        Some(Command::Check { chapter }) => return check::run(&workbook()?, chapter.as_deref()),
        Some(Command::Progress { submit, username }) => {
            progress::run(&workbook()?, submit.as_deref(), username.as_deref())
        }
        Some(Command::Classroom(args)) => {
            crate::classroom::command::run(*args, data_dir, environment, database, found.clone())
                .await
        }
        Some(Command::WarmUp) => warm_up::run(&workbook()?),
        Some(Command::Watch { chapter }) => watch::run(&workbook()?, chapter.as_deref()).await,
        Some(Command::Hint { chapter }) => hint::run(&workbook()?, &chapter, &data_dir),
        Some(Command::Reset { chapter, yes }) => reset::run(&workbook()?, &chapter, yes),
        Some(Command::Solution { chapter }) => solution::run(&workbook()?, &chapter),
    };
    done.map(|()| Ending::Done)
}
