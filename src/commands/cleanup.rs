//! `cleanup`: forget revoked tokens that have expired anyway. `serve` also does this hourly.

use std::path::Path;

use super::CommandError;
use crate::clock::{Clock, SystemClock};
use crate::config::DATABASE_FILE;
use crate::store::SqliteStore;
use crate::tokens::TokenStore;

pub async fn run(data_dir: &Path) -> Result<(), CommandError> {
    let store = SqliteStore::open(&data_dir.join(DATABASE_FILE)).await?;
    let deleted = store.delete_expired(SystemClock.now()).await?;
    println!("deleted {deleted} expired revoked-token record(s)");
    Ok(())
}
