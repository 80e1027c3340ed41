//! Runs the chapter 5 checks (`tests/suite/mod.rs`) against this crate.

use ch05_refresh_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
