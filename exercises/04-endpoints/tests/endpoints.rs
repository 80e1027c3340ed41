//! Runs the chapter 4 checks (`tests/suite/mod.rs`) against this crate.

use ch04_endpoints_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
