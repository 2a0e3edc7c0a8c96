//! fdk-emu: a local dev server for Freshworks apps, a drop-in replacement for `fdk run`.
//!
//! The binary is thin (`main.rs`); everything lives here so that tests and benchmarks can
//! drive the same code.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod import;
pub mod invoke;
pub mod json_kind;
pub mod kv;
pub mod net;
pub mod oauth;
pub mod rate;
pub mod server;
pub mod serverless;
pub mod snapshot;
pub mod sources;
pub mod store;
pub mod template;
pub mod term;
pub mod trigger;
pub mod validate;
