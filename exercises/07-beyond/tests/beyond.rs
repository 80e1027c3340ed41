//! Runs the chapter 7 checks (`tests/suite/mod.rs`) against this crate.

use ch07_beyond_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
