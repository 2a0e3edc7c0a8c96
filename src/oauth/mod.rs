//! The OAuth 2.0 authorization-code handshake's state and the token lifecycle, with no HTTP
//! server in it: the routes that drive it live in `server::handshake` and
//! `server::dprouter::oauth`, the demo provider in `server::demo`.
//!
//! * [`manager`]: [`TokenManager`], the account-level tokens: valid access tokens, refresh
//!   before expiry and after a 401, single flight per integration, `/api/status` entries;
//! * [`state`]: one-time `state` values binding a callback to the handshake that started it;
//! * [`resolve`]: an integration as used now (rendered with its `oauth_iparams`, setup-page
//!   credentials);
//! * [`authorize`]: the provider's authorization URL (FDK's parameters and order);
//! * [`client`]: the token endpoint (code exchange, refresh, Basic fallback).

pub mod authorize;
pub mod client;
pub mod error;
pub mod manager;
pub mod resolve;
pub mod state;

pub use error::TokenError;
pub use manager::{Expired, IntegrationStatus, LastRefresh, RefreshError, TokenManager};
