//! Runs the chapter 6 checks, which live with the exercise, against this solution.

use ch06_production_solution as sut;

#[path = "../../../exercises/06-production/tests/suite/mod.rs"]
mod suite;
