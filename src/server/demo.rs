//! The demo OAuth provider (`--demo-provider`), mounted under `/_demo/`.
//!
//! It lets the README's first command show the whole flow with no network and no account,
//! like Firebase's auth emulator. It behaves like a strict real provider, so what works
//! against it works against one: it checks the client credentials (body or Basic), the
//! redirect URI, codes (single use, 60 s), refresh tokens (rotated on use) and access token
//! expiry (120 s, so the refresh is visible within two minutes). It is a product feature for
//! trying things offline; the tests of the OAuth client use real third-party providers.
//!
//! * `GET/POST /_demo/oauth/authorize`: consent page with an Authorize button;
//! * `POST /_demo/oauth/token`: `authorization_code` and `refresh_token` grants;
//! * `POST /_demo/oauth/revoke`: forgets every token, to try the re-authorization path;
//! * `GET /_demo/api/me`: a protected resource (Bearer token);
//! * `ANY /_demo/api/echo/{tail}`: echoes the request as JSON (method, path, query, headers,
//!   body), for templates that do not use OAuth.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Value, json};

use super::render::{self, ErrorPage};
use crate::config::Config;

pub const CLIENT_ID: &str = "demo-client";
pub const CLIENT_SECRET: &str = "demo-secret";
pub const ACCESS_TTL: Duration = Duration::from_secs(120);
const CODE_TTL: Duration = Duration::from_secs(60);

struct Code {
    redirect_uri: String,
    scope: String,
    issued: Instant,
}

struct Access {
    scope: String,
    expires: Instant,
}

#[derive(Default)]
struct Grants {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    /// refresh token → scope
    refresh: HashMap<String, String>,
}

/// The provider's memory: issued codes and tokens. Lost on restart, like a real provider
/// losing its database — the flow then asks for a new authorization.
pub struct DemoProvider {
    redirect_uri: String,
    grants: Mutex<Grants>,
}

impl DemoProvider {
    /// The provider accepts exactly one redirect URI, this server's callback.
    pub fn new(config: &Config) -> DemoProvider {
        DemoProvider {
            redirect_uri: config.redirect_uri(),
            grants: Mutex::default(),
        }
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_demo")
            .route("/oauth/authorize", web::get().to(authorize_page))
            .route("/oauth/authorize", web::post().to(authorize_decision))
            .route("/oauth/token", web::post().to(token))
            .route("/oauth/revoke", web::post().to(revoke))
            .route("/api/me", web::get().to(me))
            .route("/api/echo/{tail:.*}", web::to(echo)),
    );
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    form(req.query_string().as_bytes())
}

fn bad_request_page(message: String) -> HttpResponse {
    ErrorPage {
        status: StatusCode::BAD_REQUEST,
        title: "Demo provider: bad authorization request",
        message,
        hint: Some(
            "The demo provider accepts the client demo-client and only this server's /auth/callback as redirect URI, as a real provider would."
                .into(),
        ),
        retry_url: None,
        provider_error: None,
    }
    .render()
}

/// Checks what a real provider checks before showing a consent page. Problems with the
/// client or the redirect URI are shown here, never sent to an unverified redirect URI.
fn check_authorize(p: &HashMap<String, String>, demo: &DemoProvider) -> Result<(), String> {
    let client_id = p.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != CLIENT_ID {
        return Err(format!(
            "Unknown client_id \"{client_id}\": the demo provider knows only \"{CLIENT_ID}\"."
        ));
    }
    let redirect = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    if redirect != demo.redirect_uri {
        return Err(format!(
            "The redirect_uri \"{redirect}\" is not registered; the registered one is {}.",
            demo.redirect_uri
        ));
    }
    Ok(())
}

async fn authorize_page(req: HttpRequest, demo: web::Data<DemoProvider>) -> HttpResponse {
    let p = query(&req);
    if let Err(m) = check_authorize(&p, &demo) {
        return bad_request_page(m);
    }
    if p.get("response_type").map(String::as_str) != Some("code") {
        return redirect_error(&p, "unsupported_response_type", "only response_type=code");
    }
    render::sealed_page(
        StatusCode::OK,
        "demo_authorize",
        &json!({
            "client_id": p.get("client_id"),
            "redirect_uri": p.get("redirect_uri"),
            "state": p.get("state").cloned().unwrap_or_default(),
            "scope": p.get("scope").cloned().unwrap_or_default(),
            "ttl": ACCESS_TTL.as_secs(),
            "action": "/_demo/oauth/authorize",
        }),
    )
}

fn redirect_error(p: &HashMap<String, String>, error: &str, description: &str) -> HttpResponse {
    let mut target = match p.get("redirect_uri").and_then(|r| url::Url::parse(r).ok()) {
        Some(u) => u,
        None => return bad_request_page("The redirect_uri is not a URL.".into()),
    };
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("error", error);
        q.append_pair("error_description", description);
        if let Some(s) = p.get("state").filter(|s| !s.is_empty()) {
            q.append_pair("state", s);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", target.as_str()))
        .finish()
}

async fn authorize_decision(body: web::Bytes, demo: web::Data<DemoProvider>) -> HttpResponse {
    let p = form(&body);
    if let Err(m) = check_authorize(&p, &demo) {
        return bad_request_page(m);
    }
    if p.get("decision").map(String::as_str) != Some("allow") {
        return redirect_error(&p, "access_denied", "The user denied the authorization.");
    }
    let code = random_token("democode");
    let redirect_uri = p.get("redirect_uri").cloned().unwrap_or_default();
    demo.grants().codes.insert(
        code.clone(),
        Code {
            redirect_uri: redirect_uri.clone(),
            scope: p.get("scope").cloned().unwrap_or_default(),
            issued: Instant::now(),
        },
    );
    let Ok(mut target) = url::Url::parse(&redirect_uri) else {
        return bad_request_page("The redirect_uri is not a URL.".into());
    };
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = p.get("state").filter(|s| !s.is_empty()) {
            q.append_pair("state", s);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", target.as_str()))
        .finish()
}

fn token_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header(("Cache-Control", "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        r.insert_header(("WWW-Authenticate", "Basic realm=\"demo-provider\""));
    }
    r.json(json!({"error": error, "error_description": description}))
}

/// The client's credentials from HTTP Basic or the body (both accepted, like most providers).
fn client_credentials(req: &HttpRequest, p: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(h) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        && let Some(b64) = h.strip_prefix("Basic ")
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (id, secret) = raw.split_once(':')?;
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Some((dec(id), dec(secret)));
    }
    Some((p.get("client_id")?.clone(), p.get("client_secret")?.clone()))
}

async fn token(req: HttpRequest, body: web::Bytes, demo: web::Data<DemoProvider>) -> HttpResponse {
    let p = form(&body);
    match client_credentials(&req, &p) {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => {}
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: use client_id demo-client and client_secret demo-secret.",
            );
        }
    }
    let mut grants = demo.grants();
    let scope = match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = p.get("code").map(String::as_str).unwrap_or("");
            // Removed on first use: a code works once, even when the exchange fails.
            let Some(c) = grants.codes.remove(code) else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code is unknown or was already used.",
                );
            };
            if c.issued.elapsed() > CODE_TTL {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code has expired.",
                );
            }
            if p.get("redirect_uri") != Some(&c.redirect_uri) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The redirect_uri does not match the one of the authorization request.",
                );
            }
            c.scope
        }
        Some("refresh_token") => {
            let rt = p.get("refresh_token").map(String::as_str).unwrap_or("");
            // Rotated: the old refresh token stops working once used.
            let Some(scope) = grants.refresh.remove(rt) else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is unknown, already used or revoked.",
                );
            };
            scope
        }
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Use grant_type authorization_code or refresh_token.",
            );
        }
    };
    let access = random_token("demoat");
    let refresh = random_token("demort");
    let now = Instant::now();
    grants.access.retain(|_, a| a.expires > now);
    grants.access.insert(
        access.clone(),
        Access {
            scope: scope.clone(),
            expires: now + ACCESS_TTL,
        },
    );
    grants.refresh.insert(refresh.clone(), scope.clone());
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.as_secs(),
            "refresh_token": refresh,
            "scope": scope,
        }))
}

async fn revoke(demo: web::Data<DemoProvider>) -> HttpResponse {
    let mut g = demo.grants();
    g.access.clear();
    g.refresh.clear();
    HttpResponse::Ok().json(json!({"revoked": true}))
}

fn unauthorized(description: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            "WWW-Authenticate",
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
        ))
        .json(json!({"error": "invalid_token", "error_description": description}))
}

async fn me(req: HttpRequest, demo: web::Data<DemoProvider>) -> HttpResponse {
    let Some(token) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return unauthorized("No Bearer token in the Authorization header.");
    };
    let g = demo.grants();
    match g.access.get(token) {
        Some(a) if a.expires > Instant::now() => HttpResponse::Ok().json(json!({
            "id": 1,
            "name": "Demo User",
            "email": "demo.user@demo-provider.test",
            "scope": a.scope,
            "token_expires_in": a.expires.saturating_duration_since(Instant::now()).as_secs(),
        })),
        Some(_) => unauthorized("The access token has expired."),
        None => unauthorized("The access token is unknown or revoked."),
    }
}

async fn echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let query: serde_json::Map<String, Value> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let text = String::from_utf8_lossy(&body).into_owned();
    let json_body = serde_json::from_str::<Value>(&text).ok();
    HttpResponse::Ok().json(json!({
        "method": req.method().as_str(),
        "path": req.path().strip_prefix("/_demo/api").unwrap_or(req.path()),
        "query": query,
        "headers": headers,
        "body": text,
        "json": json_body,
    }))
}
