//! The workbook's own checks: the book builds cleanly and shows only code that exists, and the
//! book build refuses what mdBook alone would let through.

mod book;
mod served;
mod tooling;
