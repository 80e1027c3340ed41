//! `book --out DIR`: build the book into a folder, for nginx or a classroom zip.

use std::path::Path;

use super::CommandError;
use crate::workbook::{Workbook, book};

pub fn run(workbook: &Workbook, out: &Path) -> Result<(), CommandError> {
    book::build(&workbook.book_dir(), out)?;
    println!("The book is in {}/ (open index.html)", out.display());
    Ok(())
}
