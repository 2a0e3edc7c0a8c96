//! The OAuth 2.0 authorization-code handshake, the token lifecycle and the demo provider.
//!
//! * [`routes`]: `GET /auth/index`, `GET /auth/callback`, `POST /dprouter` (`MKP-ROUTE: oauth`);
//! * [`manager`]: [`TokenManager`], the account-level tokens: valid access tokens, refresh
//!   before expiry and after a 401, single flight per integration, `/api/status` entries;
//! * [`state`]: one-time `state` values binding a callback to the handshake that started it;
//! * [`resolve`]: an integration as used now (rendered with its `oauth_iparams`, setup-page
//!   credentials);
//! * [`authorize`]: the provider's authorization URL (FDK's parameters and order);
//! * [`client`]: the token endpoint (code exchange, refresh, Basic fallback);
//! * [`demo`]: the built-in provider behind `--demo-provider`;
//! * [`pages`]: the handshake's HTML pages.

pub mod authorize;
pub mod client;
pub mod demo;
pub mod error;
pub mod manager;
pub mod pages;
pub mod resolve;
pub mod routes;
pub mod state;

pub use demo::demo_upstream;
pub use error::TokenError;
pub use manager::{IntegrationStatus, RefreshError, TokenManager};

/// Registers the handshake routes (not the demo provider: see [`demo::configure`]).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    routes::configure(cfg);
}
