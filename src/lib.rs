//! # jwt-workbook
//!
//! The token server that the workbook builds up to: simplejwt-compatible endpoints on axum,
//! strict JWT verification, refresh-token rotation with a durable blacklist, and users in SQLite.
//!
//! - [`tokens`] issues and verifies tokens; [`keyring`] keeps rotating keys on disk; [`users`]
//!   checks passwords; [`store`] persists both.
//! - [`http`] maps them onto simplejwt's endpoints; [`error`] renders every failure DRF-style.
//! - [`lab`] is the attack lab: small apps vulnerable on purpose, never routed by `serve`.
//! - [`app`] wires the state and the router; [`commands`] holds the subcommands of the binary.

pub mod app;
pub mod classroom;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod error;
pub mod http;
pub mod interfaces;
pub mod keyring;
pub mod lab;
pub mod mail;
pub mod store;
pub mod terminal;
pub mod tokens;
pub mod users;
pub mod workbook;
