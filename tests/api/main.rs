//! The server's integration tests: one binary, a module per feature, all driven through the
//! router by `TestApp` (except `smoke`, which uses a real socket).

mod classroom;
mod cli;
mod contract;
mod cookie_mode;
mod cors;
mod deploy;
mod django;
mod helpers;
mod hostile_input;
mod key_rotation;
mod keys;
mod lab;
mod links;
mod login;
mod metrics;
mod observability;
mod oidc;
mod protected;
mod refresh;
mod schema;
mod sessions;
mod simplejwt_settings;
mod sliding;
mod smoke;
mod throttling;
mod unavailable;
mod verification;
