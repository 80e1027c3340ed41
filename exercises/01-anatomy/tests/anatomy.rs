//! Runs the chapter 1 checks (`tests/suite/mod.rs`) against this crate.

use ch01_anatomy_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
