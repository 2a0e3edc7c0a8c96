//! The request guard wrapped around the whole app.
//!
//! * DNS-rebinding defence: a page of `evil.example` whose name resolves to 127.0.0.1 reaches
//!   us with `Host: evil.example`; we answer only to `localhost` and `127.0.0.1` (and `[::1]`),
//!   with any port, and refuse others with 421 Misdirected Request.
//!
//! Which origins may call us is decided once, by the CORS middleware ([`super::cors`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::Shared;

/// Whether a `Host` header value names this machine.
pub fn host_allowed(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port))
                if port.is_empty() || port.strip_prefix(':').is_some_and(valid_port) =>
            {
                return ip == "::1";
            }
            _ => return false,
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) if valid_port(port) => name.to_string(),
            Some(_) => return false,
            None => host,
        }
    };
    name == "localhost" || name == "127.0.0.1"
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Our own address as the user should open it, for the messages of refusals.
pub fn own_url(req: &ServiceRequest) -> String {
    req.app_data::<web::Data<Shared>>()
        .map(|s| s.config.base_url())
        .unwrap_or_else(|| "http://localhost:PORT".to_string())
}

pub fn is_state_changing(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        None => {
            let res = HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "fdk-emu: the request has no Host header. Open {}/ in a browser.",
                    own_url(&req)
                ));
            return Ok(req.into_response(res));
        }
        Some(h) if !host_allowed(&h) => {
            let res = HttpResponse::MisdirectedRequest()
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "fdk-emu answers only to localhost and 127.0.0.1, not to Host {h:?} (a defence against DNS rebinding). Open the page as {}/ instead.",
                    own_url(&req)
                ));
            return Ok(req.into_response(res));
        }
        Some(_) => {}
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn hosts() {
        for ok in [
            "localhost",
            "localhost:10001",
            "127.0.0.1:8",
            "LOCALHOST:1",
            "[::1]:10001",
            "[::1]",
        ] {
            assert!(host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:10001",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "localhost:",
            "localhost:abc",
            "[::2]:1",
            "0.0.0.0:10001",
            "",
        ] {
            assert!(!host_allowed(bad), "{bad}");
        }
    }
}
