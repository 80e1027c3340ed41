//! Runs the chapter 2 checks (`tests/suite/mod.rs`) against this crate.

use ch02_claims_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
