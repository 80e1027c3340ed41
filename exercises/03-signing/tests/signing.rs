//! Runs the chapter 3 checks (`tests/suite/mod.rs`) against this crate.

use ch03_signing_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
