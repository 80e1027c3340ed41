//! `warm-up`: everything a learner's machine needs, fetched and built ahead of the class, so a
//! room without a network (or with a slow one) loses no time: every crate, every exercise's and
//! solution's tests, and the book.

use std::process::Command;

use super::CommandError;
use crate::workbook::{Workbook, book};

pub fn run(workbook: &Workbook) -> Result<(), CommandError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let steps: [(&str, &[&str]); 3] = [
        ("fetching every crate", &["fetch"]),
        ("building the server", &["build", "--workspace", "--bins"]),
        (
            "building every exercise's and solution's tests",
            &["test", "--workspace", "--no-run"],
        ),
    ];
    for (what, args) in steps {
        println!("==> {what}: cargo {}", args.join(" "));
        let status = Command::new(&cargo)
            .args(args)
            .current_dir(workbook.root())
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("`cargo {}` failed", args.join(" ")).into());
        }
    }
    println!("==> building the book");
    let out = workbook.root().join("target/book");
    book::build(&workbook.book_dir(), &out)?;
    println!(
        "\nReady: this machine can build, test and read the workbook offline.\n\
         For a room with no network at all, vendor the crates once and copy the folder:\n\n  \
         cargo vendor vendor/ > .cargo/config.toml\n\n\
         (`cargo vendor` prints the [source] lines that make cargo use vendor/ instead of the \
         network.)"
    );
    Ok(())
}
