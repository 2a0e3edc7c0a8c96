//! The OAuth 2.0 authorization-code handshake, the token lifecycle and the demo provider.
//!
//! * [`state`]: one-time `state` values binding a callback to the handshake that started it;
//! * [`authorize`]: the provider's authorization URL (FDK's parameters and order);
//! * [`client`]: the token endpoint (code exchange, refresh, Basic fallback);
//! * [`demo`]: the built-in provider behind `--demo-provider`;
//! * [`pages`]: the handshake's HTML pages.

pub mod authorize;
pub mod client;
pub mod demo;
pub mod pages;
pub mod state;
