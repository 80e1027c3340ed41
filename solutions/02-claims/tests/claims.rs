//! Runs the chapter 2 checks, which live with the exercise, against this solution.

use ch02_claims_solution as sut;

#[path = "../../../exercises/02-claims/tests/suite/mod.rs"]
mod suite;
