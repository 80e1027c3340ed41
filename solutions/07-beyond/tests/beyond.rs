//! Runs the chapter 7 checks, which live with the exercise, against this solution.

use ch07_beyond_solution as sut;

#[path = "../../../exercises/07-beyond/tests/suite/mod.rs"]
mod suite;
