//! Runs the chapter 1 checks, which live with the exercise, against this solution.

use ch01_anatomy_solution as sut;

#[path = "../../../exercises/01-anatomy/tests/suite/mod.rs"]
mod suite;
