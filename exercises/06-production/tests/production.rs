//! Runs the chapter 6 checks (`tests/suite/mod.rs`) against this crate.

use ch06_production_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
