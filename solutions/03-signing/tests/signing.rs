//! Runs the chapter 3 checks, which live with the exercise, against this solution.

use ch03_signing_solution as sut;

#[path = "../../../exercises/03-signing/tests/suite/mod.rs"]
mod suite;
