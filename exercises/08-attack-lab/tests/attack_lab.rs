//! Runs the chapter 8 checks (`tests/suite/mod.rs`) against this crate.

use ch08_attack_lab_exercise as sut;

#[path = "suite/mod.rs"]
mod suite;
