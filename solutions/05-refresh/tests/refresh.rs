//! Runs the chapter 5 checks, which live with the exercise, against this solution.

use ch05_refresh_solution as sut;

#[path = "../../../exercises/05-refresh/tests/suite/mod.rs"]
mod suite;
