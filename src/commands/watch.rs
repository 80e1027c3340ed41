//! `watch [N]`: check again whenever a file of the exercise changes, until Ctrl-C. It looks at
//! modification times twice a second: no file-notification machinery to install or to fail.
//! At a terminal the screen is cleared before each check; in a pipe or a log, or with
//! `NO_COLOR`, a separator line is printed instead of the escape sequence.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::CommandError;
use super::check::check_chapter;
use crate::terminal;
use crate::workbook::Workbook;

const POLL: Duration = Duration::from_millis(500);

pub async fn run(workbook: &Workbook, chapter: Option<&str>) -> Result<(), CommandError> {
    let chapters = match chapter {
        Some(name) => vec![workbook.chapter(name)?],
        None => workbook.chapters()?,
    };
    let dirs: Vec<PathBuf> = chapters.iter().map(|c| c.exercise_dir(workbook)).collect();
    let mut last = None;
    loop {
        let now = latest_change(&dirs);
        if Some(now) != last {
            last = Some(now);
            if terminal::escapes_allowed(&std::io::stdout()) {
                // Clear the screen: the report stays where the eye expects it.
                print!("\x1b[2J\x1b[H");
            } else {
                println!("\n--- checking again ---\n");
            }
            for chapter in &chapters {
                let (workbook, chapter) = (workbook.clone(), chapter.clone());
                let left = tokio::task::spawn_blocking(move || check_chapter(&workbook, &chapter))
                    .await??;
                if let Some(sentence) = left {
                    println!("{sentence}");
                }
            }
            println!(
                "Watching {} for changes. Ctrl-C to stop.",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The newest modification time of any file under `dirs` (target folders excluded).
fn latest_change(dirs: &[PathBuf]) -> SystemTime {
    dirs.iter()
        .map(|dir| newest(dir))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn newest(path: &Path) -> SystemTime {
    let Ok(metadata) = std::fs::metadata(path) else {
        return SystemTime::UNIX_EPOCH;
    };
    let own = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !metadata.is_dir() {
        return own;
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "target")
        .map(|entry| newest(&entry.path()))
        .fold(own, SystemTime::max)
}
