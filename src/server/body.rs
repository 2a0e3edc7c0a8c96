//! Reading a request body up to a limit, for handlers that answer an oversized or unreadable
//! body in their own format (FDK's `{message, status}`, the iparams API's JSON errors) rather
//! than with actix's plain-text 413.

use actix_web::web;
use futures_util::StreamExt;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed or the body was malformed (e.g. bad chunked encoding).
    Unreadable(String),
    /// More than the limit; the rest is not read.
    TooLarge,
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it grows past `limit` bytes.
pub async fn read_limited(
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, BodyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
