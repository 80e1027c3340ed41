//! `user`: manage accounts from the command line, non-interactively (like Django's
//! `createsuperuser --noinput`), so scripts and deployments can seed users.

use std::io::BufRead;

use super::{CommandError, StoreLocation};
use crate::cli::{PasswordInput, UserCommand};
use crate::clock::{Clock, SystemClock};
use crate::tokens::UserIdField;
use crate::users::{PasswordCost, Passwords, change_password, create_user};

/// How long a password change's revocation is kept. This command does not know the servers'
/// token lifetimes, so it outlasts any sensible session cap (the default is 30 days).
const REVOCATION_MEMORY: i64 = 400 * 24 * 60 * 60;

/// `user_id_field` is the servers' `--user-id-field` (from the environment they share): a new
/// password revokes the tokens that name the user by it.
pub async fn run(
    command: UserCommand,
    database: StoreLocation<'_>,
    user_id_field: UserIdField,
) -> Result<(), CommandError> {
    let store = database.open().await?;
    let store = &*store;
    match command {
        UserCommand::Create {
            username,
            password,
            inactive,
        } => {
            let password = read_password(&password)?;
            let passwords = Passwords::new(PasswordCost::RECOMMENDED)?;
            let user = create_user(
                store,
                &passwords,
                &username,
                &password,
                !inactive,
                SystemClock.now(),
            )
            .await?;
            println!("created user {:?} (id {})", user.username, user.id);
        }
        UserCommand::List => {
            let users = store.list().await?;
            println!("{:>6}  {:<8}  username", "id", "active");
            for user in &users {
                let active = if user.is_active { "yes" } else { "no" };
                println!("{:>6}  {:<8}  {}", user.id, active, user.username);
            }
            println!("{} user(s)", users.len());
        }
        UserCommand::Deactivate { username } => {
            store.set_active(&username, false).await?;
            println!("deactivated {username:?}: their tokens are refused from now on");
        }
        UserCommand::Activate { username } => {
            store.set_active(&username, true).await?;
            println!("activated {username:?}");
        }
        UserCommand::SetPassword { username, password } => {
            let password = read_password(&password)?;
            if password.is_empty() {
                return Err("the password is empty".into());
            }
            let passwords = Passwords::new(PasswordCost::RECOMMENDED)?;
            change_password(
                store,
                &passwords,
                &username,
                &password,
                SystemClock.now(),
                REVOCATION_MEMORY,
                user_id_field,
            )
            .await?;
            println!(
                "password of {username:?} changed; every token issued to them so far is revoked"
            );
        }
    }
    Ok(())
}

fn read_password(input: &PasswordInput) -> Result<String, CommandError> {
    if let Some(password) = &input.password {
        return Ok(password.clone());
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(password)
}
