//! `key`: generate a key to hand to the server, and rotate, list and retire the keys of a key
//! ring.

use std::path::Path;

use super::{Key, KeyAlgorithm, Keyring};
use crate::cli::{KeyCommand, KeyringArgs};
use crate::clock::{Clock, SystemClock};
use crate::commands::CommandError;
use crate::tokens::Purpose;

pub fn run(command: KeyCommand, data_dir: &Path) -> Result<(), CommandError> {
    match command {
        KeyCommand::Generate { algorithm } => {
            let (key, text) = Key::generate(algorithm)?;
            print!("{}", text.trim_end());
            println!();
            eprintln!("generated a {algorithm} key, kid {}", key.kid());
        }
        KeyCommand::Rotate {
            ring,
            algorithm,
            activate_in,
        } => {
            let ring = keyring(&ring, data_dir);
            let now = SystemClock.now();
            let entries = ring.entries()?;
            let signing = entries.iter().find(|entry| entry.activation() <= now);
            let algorithm = match (algorithm, signing) {
                (Some(algorithm), _) => algorithm,
                (None, Some(signing)) => signing.algorithm.parse()?,
                (None, None) => KeyAlgorithm::ES256,
            };
            let key = ring.rotate(algorithm, now, activate_in.0)?;
            println!("{}", rotated(&ring, &key, now));
            if let Some(signing) = signing.filter(|s| s.algorithm != algorithm.as_str()) {
                eprintln!(
                    "{}",
                    algorithm_change(&signing.algorithm, algorithm, key.activates_at())
                );
            }
        }
        KeyCommand::List { ring } => {
            print!("{}", list(&keyring(&ring, data_dir), SystemClock.now())?)
        }
        KeyCommand::Retire {
            kid,
            ring,
            refresh_lifetime,
            force,
        } => {
            let lifetime = refresh_lifetime.0.max(Purpose::longest_lifetime());
            let entry =
                keyring(&ring, data_dir).retire(&kid, SystemClock.now(), lifetime, force)?;
            println!(
                "retired {} key {}: tokens it signed are no longer accepted.",
                entry.algorithm, entry.kid
            );
        }
    }
    Ok(())
}

/// What a rotation did, and when the new key takes over.
fn rotated(ring: &Keyring, key: &Key, now: i64) -> String {
    let dir = ring.dir().display();
    let (kid, algorithm) = (key.kid(), key.algorithm());
    if key.activates_at() <= now {
        return format!("{dir}: {algorithm} key {kid} signs from now on.");
    }
    format!(
        "{dir}: {algorithm} key {kid} is published now and signs from {} ({} s from now). \
         Running servers pick it up within --keyring-poll; no restart needed.",
        crate::clock::utc_date_time(key.activates_at()),
        key.activates_at() - now
    )
}

/// A verifier pinned to one algorithm (PyJWT's `algorithms=[…]`, jose's `algorithms`) refuses
/// tokens of another, whatever the JWKS says: its owners must be told before the key signs.
fn algorithm_change(from: &str, to: KeyAlgorithm, at: i64) -> String {
    format!(
        "warning: the ring signs with {from} today and will sign with {to} from {}. Services \
         that verify these tokens with a fixed list of algorithms must accept {to} by then, \
         or they will refuse every new token.",
        crate::clock::utc_date_time(at)
    )
}

fn keyring(args: &KeyringArgs, data_dir: &Path) -> Keyring {
    Keyring::at(
        args.keys_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("keys")),
    )
}

/// One line a key, newest first: which signs, which only verify.
fn list(ring: &Keyring, now: i64) -> Result<String, CommandError> {
    let entries = ring.entries()?;
    if entries.is_empty() {
        return Ok(format!(
            "{} has no keys yet: `key rotate --keys-dir {}` creates the first.\n",
            ring.dir().display(),
            ring.dir().display()
        ));
    }
    let signer = entries.iter().position(|entry| entry.activation() <= now);
    let mut out = format!("{:<44} {:<6} {:<20} role\n", "kid", "alg", "created");
    for (at, entry) in entries.iter().enumerate() {
        let role = if Some(at) == signer {
            "signs and verifies".to_owned()
        } else if signer.is_none_or(|signer| at < signer) {
            format!(
                "published, signs from {}",
                crate::clock::utc_date_time(entry.activation())
            )
        } else {
            "verifies".to_owned()
        };
        out.push_str(&format!(
            "{:<44} {:<6} {:<20} {role}\n",
            entry.kid,
            entry.algorithm,
            crate::clock::utc_date_time(entry.created_at),
        ));
    }
    Ok(out)
}
