//! The server's integration tests: one binary, a module per feature, all driven through the
//! router by `TestApp` (except `smoke`, which uses a real socket).

mod contract;
mod helpers;
