//! `lab`: serve the attack lab's apps, vulnerable on purpose, on a loopback address only, with a
//! banner that says so. Its files (keys, the SQLite key table) live in `<data dir>/lab/` and are
//! made anew at every start.

use super::CommandError;
use super::serve::shutdown_signal;
use crate::cli::LabArgs;
use crate::lab::{self, Flaw, GUEST, GUEST_PASSWORD, Lab};

pub async fn run(args: LabArgs, data_dir: &std::path::Path) -> Result<(), CommandError> {
    // Refused before anything is bound or written.
    lab::check_address(args.addr)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let lab = Lab::start(&data_dir.join("lab")).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("\njwt-workbook attack lab: THESE APPS ARE VULNERABLE ON PURPOSE.");
    println!("Break them on this machine; never expose them to a network.\n");
    println!(
        "serving on {base}/lab/  (log in as {GUEST} / {GUEST_PASSWORD}; the admin resource is the goal)"
    );
    for flaw in Flaw::ALL {
        println!("  {:<48} {base}{}", flaw.title(), flaw.base());
    }
    println!("\nThe book's attack-lab chapter explains each one. Press Ctrl-C to stop.\n");
    lab::serve(listener, lab, shutdown_signal()).await
}
