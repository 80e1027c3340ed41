//! `cleanup`: forget revoked tokens that have expired anyway. `serve` also does this hourly.

use std::path::Path;

use super::CommandError;
use crate::clock::{Clock, SystemClock};
use crate::config::database_path;
use crate::store::SqliteStore;
use crate::tokens::TokenStore;

pub async fn run(data_dir: &Path) -> Result<(), CommandError> {
    let store = SqliteStore::open(&database_path(data_dir)).await?;
    let deleted = store.delete_expired(SystemClock.now()).await?;
    println!("deleted {deleted} expired revoked-token record(s)");
    Ok(())
}
