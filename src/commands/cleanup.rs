//! `cleanup`: forget revoked tokens and sessions that have expired anyway. `serve` also does
//! this hourly.

use super::{CommandError, StoreLocation};
use crate::clock::{Clock, SystemClock};

pub async fn run(database: StoreLocation<'_>) -> Result<(), CommandError> {
    let store = database.open().await?;
    let now = SystemClock.now();
    let deleted = store.delete_expired(now).await?;
    println!("deleted {deleted} expired revocation record(s)");
    let deleted = store.delete_expired_oidc(now).await?;
    println!("deleted {deleted} expired sign-in record(s) of the OpenID Connect provider");
    Ok(())
}
