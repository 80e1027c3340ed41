//! # jwt-workbook
//!
//! The token server that the workbook builds up to: simplejwt-compatible endpoints on axum,
//! strict JWT verification, refresh-token rotation with a durable blacklist, and users in SQLite.
//!
//! Layers, each importing only those below it:
//! - [`http`] maps requests onto the domain (parse → call → render); [`error`] renders every
//!   failure DRF-style.
//! - The domain: [`sessions`] (every rule of a login session's life), [`tokens`], [`keys`],
//!   [`users`], [`classroom`], and the OpenID Connect provider [`oidc`]; their store traits fail
//!   with [`storage::StoreError`].
//! - [`store`] implements those traits on SQLite and PostgreSQL.
//! - [`cli`] and [`config`] sit on top and hand typed values down; [`app::build`] is the one
//!   place the state is assembled; [`commands`] holds the subcommands of the binary.
//! - [`lab`] is the attack lab: small apps vulnerable on purpose, never routed by `serve`;
//!   [`sso_demo`] is two small apps that sign in with the provider, to watch single sign-on.

pub mod app;
pub mod classroom;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod error;
pub mod files;
pub mod http;
pub mod interfaces;
pub mod keys;
pub mod lab;
pub mod logs;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod sessions;
pub mod sso_demo;
pub mod storage;
pub mod store;
pub mod terminal;
pub mod tokens;
pub mod users;
pub mod workbook;
