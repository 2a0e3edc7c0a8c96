//! The floor of fdk-emu's stack, for `scripts/bench-proxy`: an actix-web server whose one
//! route forwards to the upstream with the same client `invokeTemplate` uses (hyper-util's
//! pooled client, one per worker), and answers the upstream's body as it is. No JSON, no
//! template, no envelope, no log line: what is left is the cost of receiving a request with
//! actix-web and sending one with hyper on this machine, which no work of fdk-emu's own can
//! go below. The bench reads fdk-emu's throughput against it.
//!
//! Usage: `cargo run --release --example bare_proxy -- PORT UPSTREAM_URL`
//! (e.g. `18099 http://127.0.0.1:18080/hello`); every POST to `/dprouter` is forwarded as a
//! GET of UPSTREAM_URL.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{App, HttpResponse, HttpServer, web};
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The same allocator as fdk-emu, so that the difference is the work, not the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
}

async fn forward(up: web::Data<Upstream>, _body: Bytes) -> HttpResponse {
    let request = hyper::Request::get(up.uri.clone())
        .header("accept", "application/json")
        .body(Full::new(Bytes::new()))
        .expect("a GET of a parsed URI is a valid request");
    let answer = tokio::time::timeout(Duration::from_secs(15), async {
        let response = up
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((status, body.to_bytes()))
    })
    .await;
    match answer {
        Ok(Ok((200, body))) => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Ok(Ok((status, _))) => HttpResponse::BadGateway().body(format!("upstream status {status}")),
        Ok(Err(e)) => HttpResponse::BadGateway().body(e),
        Err(_) => HttpResponse::GatewayTimeout().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_proxy PORT UPSTREAM_URL");
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(std::io::Error::other)?;
    let uri: Uri = upstream.parse().map_err(std::io::Error::other)?;
    HttpServer::new(move || {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        App::new()
            .app_data(web::Data::new(Upstream {
                client: Client::builder(TokioExecutor::new()).build(connector),
                uri: uri.clone(),
            }))
            .route("/dprouter", web::post().to(forward))
    })
    .bind(("127.0.0.1", port))?
    .shutdown_timeout(1)
    .run()
    .await
}
