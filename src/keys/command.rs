//! `key`: generate a key to hand to the server, and rotate, list and retire the keys of a key
//! ring.

use std::path::Path;

use super::{Key, KeyAlgorithm, Keyring};
use crate::cli::{KeyCommand, KeyringArgs};
use crate::clock::{Clock, SystemClock};
use crate::commands::CommandError;

pub fn run(command: KeyCommand, data_dir: &Path) -> Result<(), CommandError> {
    match command {
        KeyCommand::Generate { algorithm } => {
            let (key, text) = Key::generate(algorithm)?;
            print!("{}", text.trim_end());
            println!();
            eprintln!("generated a {algorithm} key, kid {}", key.kid());
        }
        KeyCommand::Rotate { ring, algorithm } => {
            let ring = keyring(&ring, data_dir);
            let algorithm = match algorithm {
                Some(algorithm) => algorithm,
                None => match ring.entries()?.first() {
                    Some(newest) => newest.algorithm.parse()?,
                    None => KeyAlgorithm::ES256,
                },
            };
            let key = ring.rotate(algorithm, SystemClock.now())?;
            println!(
                "{} now signs with {} key {}; restart the servers to use it.",
                ring.dir().display(),
                algorithm,
                key.kid()
            );
        }
        KeyCommand::List { ring } => print!("{}", list(&keyring(&ring, data_dir))?),
        KeyCommand::Retire { kid, ring } => {
            let entry = keyring(&ring, data_dir).retire(&kid)?;
            println!(
                "retired {} key {}: tokens it signed are no longer accepted.",
                entry.algorithm, entry.kid
            );
        }
    }
    Ok(())
}

fn keyring(args: &KeyringArgs, data_dir: &Path) -> Keyring {
    Keyring::at(
        args.keys_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("keys")),
    )
}

/// One line a key, newest first: which signs, which only verify.
fn list(ring: &Keyring) -> Result<String, CommandError> {
    let entries = ring.entries()?;
    if entries.is_empty() {
        return Ok(format!(
            "{} has no keys yet: `key rotate --keys-dir {}` creates the first.\n",
            ring.dir().display(),
            ring.dir().display()
        ));
    }
    let mut out = format!("{:<44} {:<6} {:<20} role\n", "kid", "alg", "created");
    for (at, entry) in entries.iter().enumerate() {
        out.push_str(&format!(
            "{:<44} {:<6} {:<20} {}\n",
            entry.kid,
            entry.algorithm,
            crate::clock::utc_date_time(entry.created_at),
            if at == 0 {
                "signs and verifies"
            } else {
                "verifies"
            }
        ));
    }
    Ok(out)
}
