//! `classroom`: accounts for a list of students (and the instructor), their passwords written to
//! a CSV to hand out, then the book and the API served for the room with the class view on.
//!
//! The CSV holds passwords, so by default it goes into the data directory (which git ignores),
//! never into the working tree where a `git add .` would publish it.

use std::path::{Path, PathBuf};

use super::{Roster, accounts_csv, create_accounts, read_students};
use crate::cli::{ClassroomArgs, Environment};
use crate::clock::{Clock, SystemClock};
use crate::commands::{CommandError, StoreLocation, serve};
use crate::config::Config;
use crate::files::write_private_file;
use crate::users::{PasswordCost, Passwords};
use crate::workbook::Workbook;

pub async fn run(
    args: ClassroomArgs,
    data_dir: PathBuf,
    environment: Environment,
    database: StoreLocation<'_>,
    workbook: Option<Workbook>,
) -> Result<(), CommandError> {
    let text = std::fs::read_to_string(&args.students)
        .map_err(|e| format!("{}: {e}", args.students.display()))?;
    let students = read_students(&text);
    if students.is_empty() {
        return Err(format!("{} lists no students", args.students.display()).into());
    }
    let mut names = students.clone();
    names.push(args.instructor.clone());
    let store = database.open().await?;
    let passwords = Passwords::new(PasswordCost::RECOMMENDED)?;
    let accounts = create_accounts(&*store, &passwords, &names, SystemClock.now()).await?;
    drop(store);
    let accounts_file = accounts_path(args.accounts.as_deref(), &data_dir);
    let written = write_accounts(&accounts_file, &accounts_csv(&accounts))?;
    let new = accounts.iter().filter(|(_, p)| p.is_some()).count();
    println!(
        "{new} new account(s), {} already there; passwords in {} (readable by you only)",
        accounts.len() - new,
        written.display()
    );
    let mut config = Config::load(args.serve, data_dir, environment, workbook)?;
    config.app.classroom = Some(Roster {
        instructor: args.instructor,
        students,
    });
    serve::run(config, database).await
}

/// The file the instructor named, or `classroom-accounts.csv` in the data directory.
fn accounts_path(chosen: Option<&Path>, data_dir: &Path) -> PathBuf {
    chosen.map_or_else(|| data_dir.join(ACCOUNTS_FILE), Path::to_owned)
}

/// The accounts file's name in the data directory, unless `--accounts` says otherwise.
pub const ACCOUNTS_FILE: &str = "classroom-accounts.csv";

/// Never overwrites an earlier list (its passwords would be lost): a new name instead.
fn write_accounts(path: &Path, csv: &str) -> Result<PathBuf, CommandError> {
    let mut target = path.to_owned();
    let mut n = 1;
    while target.exists() {
        n += 1;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        target = path.with_file_name(format!("{stem}-{n}.csv"));
    }
    write_private_file(&target, csv).map_err(|e| format!("{}: {e}", target.display()))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accounts_file_goes_into_the_data_directory_unless_named() {
        let data = Path::new("/srv/room/data");
        assert_eq!(
            accounts_path(None, data),
            data.join("classroom-accounts.csv")
        );
        assert_eq!(
            accounts_path(Some(Path::new("slips.csv")), data),
            Path::new("slips.csv")
        );
    }

    #[test]
    fn an_earlier_accounts_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.csv");
        assert_eq!(write_accounts(&path, "first").unwrap(), path);
        let second = write_accounts(&path, "second").unwrap();
        assert_eq!(second, dir.path().join("accounts-2.csv"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(second).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
