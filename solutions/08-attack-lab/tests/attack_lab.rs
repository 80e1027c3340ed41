//! Runs the chapter 8 checks, which live with the exercise, against this solution.

use ch08_attack_lab_solution as sut;

#[path = "../../../exercises/08-attack-lab/tests/suite/mod.rs"]
mod suite;
