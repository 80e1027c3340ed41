//! Runs the chapter 4 checks, which live with the exercise, against this solution.

use ch04_endpoints_solution as sut;

#[path = "../../../exercises/04-endpoints/tests/suite/mod.rs"]
mod suite;
