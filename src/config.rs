//! The resolved configuration of one `fdk-emu run`: the command line, FDK's environment
//! variable and `.fdk/configs.json`, fdk-emu's own `fdk-emu.json`, then defaults — resolved
//! once, here, and passed down. No other module reads a knob of its own.
//!
//! One exception on purpose: the store's encryption key (`FDK_EMU_KEY` or the key file) is
//! read by the store itself when it opens, so that the key never sits in this cloneable,
//! printable struct.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of fdk-emu's own project configuration file, in the app folder.
pub const PROJECT_CONFIG: &str = "fdk-emu.json";

/// The host the bundled demo app's templates call; with `--demo-provider` it is routed to
/// `/_demo/api` of this server.
pub const DEMO_API_HOST: &str = "api.demo-provider.test";

/// Where the bundled demo app's `oauth_config.json` points; rewritten to the real port.
pub const DEMO_FIXTURE_ORIGIN: &str = "http://localhost:10001/_demo/";

/// How long a started OAuth handshake may take before its `state` is refused.
pub const OAUTH_STATE_TTL: Duration = Duration::from_secs(600);

/// How long the server waits for the whole body of a request before answering 408. A
/// browser on this machine sends even 8 MB in milliseconds; a body that takes longer is
/// stalled and would hold its connection and buffer open for ever.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the command line of `run` says, before anything is resolved. `cli` fills it in.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub app_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub store: Option<PathBuf>,
    pub demo_provider: bool,
    /// `HOST=URL` as typed.
    pub upstreams: Vec<String>,
    pub request_timeout_ms: Option<u64>,
    pub no_rate_limit: bool,
    pub no_response_limit: bool,
    pub no_db_limits: bool,
    pub refresh_margin_secs: u64,
    /// `--inspector-records N` (0: keep none).
    pub inspector_records: usize,
    pub log_file: Option<PathBuf>,
    pub state_file: Option<PathBuf>,
    /// `--node PATH`.
    pub node: Option<PathBuf>,
}

/// The request inspector's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectorConfig {
    /// How many calls the inspector keeps in memory (0: none; the page says so).
    pub records: usize,
    /// `--log-file PATH`: every call as a line of JSON.
    pub log_file: Option<PathBuf>,
}

impl Default for InspectorConfig {
    fn default() -> InspectorConfig {
        InspectorConfig {
            records: 1000,
            log_file: None,
        }
    }
}

impl InspectorConfig {
    /// Whether calls are recorded at all (kept, or written to the log file).
    pub fn records_calls(&self) -> bool {
        self.records > 0 || self.log_file.is_some()
    }
}

/// Settings of one `fdk-emu run`.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub store_path: PathBuf,
    pub demo_provider: bool,
    /// Host → base URL overrides (`--upstream`, `fdk-emu.json`, the demo provider's API).
    pub upstreams: Vec<(String, url::Url)>,
    pub request_timeout: Duration,
    /// The production rate limits: 50 template requests and 50 key-value requests a minute.
    pub rate_limit: bool,
    pub response_limit: bool,
    /// The key-value store's production limits on keys and values (length, size, nesting).
    pub db_limits: bool,
    pub refresh_margin: Duration,
    /// How long a pending OAuth `state` stays valid: 10 minutes, or
    /// `FDK_EMU_OAUTH_STATE_TTL_SECS` (a knob for the tests of expired states, which cannot
    /// wait ten minutes).
    pub oauth_state_ttl: Duration,
    pub inspector: InspectorConfig,
    /// `--state FILE`: iparams, system settings and db keys loaded into the store at start.
    pub state_file: Option<PathBuf>,
    /// How long a request body may take to arrive: [`BODY_TIMEOUT`], or
    /// `FDK_EMU_BODY_TIMEOUT_MS` (a knob for the tests of stalled bodies).
    pub body_timeout: Duration,
    /// The Node.js that runs `server/server.js`: `--node` (or `FDK_EMU_NODE`), else `node`
    /// on `PATH` (looked up only for apps that have a `server.js`).
    pub node: Option<PathBuf>,
}

impl Config {
    /// Resolves the run configuration: flags first, then FDK's environment variable and the
    /// app's `.fdk/configs.json`, then defaults. The error names the flag or file at fault.
    pub fn resolve(flags: &Flags) -> Result<Config, String> {
        let root = flags.app_dir.as_path();
        // The project file first, so that --upstream on the command line wins.
        let mut upstreams = project_upstreams(root)?;
        for spec in &flags.upstreams {
            let (host, url) = spec.split_once('=').ok_or_else(|| {
                format!(
                    "--upstream {spec}: expected HOST=URL, e.g. api.example.com=http://127.0.0.1:8001"
                )
            })?;
            let url = url::Url::parse(url)
                .map_err(|e| format!("--upstream {spec}: {url} is not a URL ({e})"))?;
            upstreams.push((host.trim().to_ascii_lowercase(), url));
        }
        let request_timeout = flags
            .request_timeout_ms
            .or_else(|| std::env::var("REQUEST_TIMEOUT").ok()?.trim().parse().ok())
            .or_else(|| fdk_config_timeout(root))
            .unwrap_or(15_000);
        let oauth_state_ttl = std::env::var("FDK_EMU_OAUTH_STATE_TTL_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(OAUTH_STATE_TTL, Duration::from_secs);
        let body_timeout = std::env::var("FDK_EMU_BODY_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(BODY_TIMEOUT, Duration::from_millis);
        Ok(Config {
            app_dir: root.to_path_buf(),
            host: flags.host.clone(),
            port: flags.port,
            store_path: store_path(root, flags.store.as_ref()),
            demo_provider: flags.demo_provider,
            upstreams,
            request_timeout: Duration::from_millis(request_timeout),
            rate_limit: !flags.no_rate_limit,
            response_limit: !flags.no_response_limit,
            db_limits: !flags.no_db_limits,
            refresh_margin: Duration::from_secs(flags.refresh_margin_secs),
            oauth_state_ttl,
            inspector: InspectorConfig {
                records: flags.inspector_records,
                log_file: flags.log_file.clone(),
            },
            state_file: flags.state_file.clone(),
            body_timeout,
            node: flags.node.clone(),
        })
    }

    /// The origin the browser uses for us. `localhost`, not the bind address, because that
    /// is what FDK prints and what developers register as the OAuth redirect.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The OAuth redirect URI, exactly as it must be registered with the provider.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.base_url())
    }

    /// The configuration once the listener is bound (`--port 0` picks a free port). With
    /// `--demo-provider`, the demo API host is routed to this port's `/_demo/api`, unless an
    /// explicit override already names it.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.port = addr.port();
        let demo_api = format!("http://127.0.0.1:{}/_demo/api", self.port);
        if self.demo_provider
            && !self.upstreams.iter().any(|(h, _)| h == DEMO_API_HOST)
            && let Ok(url) = url::Url::parse(&demo_api)
        {
            self.upstreams.push((DEMO_API_HOST.to_string(), url));
        }
        self
    }

    /// With `--demo-provider`, URLs of the bundled demo app (`http://localhost:10001/_demo/…`)
    /// follow `--port`, so the demo works on any port. Other URLs are returned as they are.
    pub fn demo_url(&self, url: &str) -> String {
        if self.demo_provider
            && let Some(rest) = url.strip_prefix(DEMO_FIXTURE_ORIGIN)
        {
            return format!("{}/_demo/{rest}", self.base_url());
        }
        url.to_string()
    }

    /// Where a request for `url` goes when its host is overridden (`--upstream`,
    /// `fdk-emu.json`; the last entry for a host wins): the override's base with `url`'s
    /// path and query, and the `Host` header to send ([`host_header`]). `None` when the host
    /// is not overridden.
    pub fn route(&self, url: &url::Url) -> Option<Routed> {
        let host = url.host_str()?.to_ascii_lowercase();
        let (_, base) = self.upstreams.iter().rev().find(|(h, _)| *h == host)?;
        let mut text = base.as_str().trim_end_matches('/').to_string();
        text.push_str(url.path());
        if let Some(q) = url.query() {
            text.push('?');
            text.push_str(q);
        }
        let routed = url::Url::parse(&text).ok()?;
        Some(Routed {
            url: routed,
            host: host_header(&host, base, Some(self.port)),
        })
    }

    /// The command line's defaults on `port`, for unit tests.
    pub fn for_tests(port: u16) -> Config {
        Config {
            app_dir: ".".into(),
            host: "127.0.0.1".into(),
            port,
            store_path: "x".into(),
            demo_provider: false,
            upstreams: vec![],
            request_timeout: Duration::from_secs(15),
            rate_limit: true,
            response_limit: true,
            db_limits: true,
            refresh_margin: Duration::from_secs(60),
            oauth_state_ttl: OAUTH_STATE_TTL,
            inspector: InspectorConfig::default(),
            state_file: None,
            body_timeout: BODY_TIMEOUT,
            node: None,
        }
    }
}

/// A request sent elsewhere by a host override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub url: url::Url,
    /// The `Host` header to send instead of the one of `url`, if any.
    pub host: Option<String>,
}

/// The `Host` header of a request for `host` that an override sends to `base`; `own_port`
/// is the port fdk-emu serves on.
///
/// An override to a local server (an IP address or `localhost`: a mock, httpbin, a proxy
/// on this machine) stands in for the real API, so the request keeps the host the real API
/// would see, `api.example.com`, and a virtual host or an assertion on `Host` behaves as in
/// production. Two kinds of override say otherwise, and get the `Host` of their own URL
/// (`None` here: the client writes it): one to another domain name (that server is reached
/// by its own name: its virtual host, and the name its TLS certificate is for), and one to
/// fdk-emu itself (the demo provider's API), which answers only to `localhost` and
/// `127.0.0.1` (the guard against DNS rebinding).
pub fn host_header(host: &str, base: &url::Url, own_port: Option<u16>) -> Option<String> {
    let local = match base.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    };
    let ours = own_port.is_some() && base.port_or_known_default() == own_port;
    (local && !ours).then(|| host.trim().trim_end_matches('.').to_ascii_lowercase())
}

/// The store file of an app: `--store`, else `<app>/.fdk/localstore.sqlite`.
pub fn store_path(app_dir: &Path, flag: Option<&PathBuf>) -> PathBuf {
    flag.cloned()
        .unwrap_or_else(|| app_dir.join(".fdk").join("localstore.sqlite"))
}

/// `upstreams` of `<app>/fdk-emu.json`: `{"upstreams": {"api.example.com": "http://127.0.0.1:8001"}}`.
/// A missing file is fine; a broken one is an error that names the file and the entry.
fn project_upstreams(root: &Path) -> Result<Vec<(String, url::Url)>, String> {
    let path = root.join(PROJECT_CONFIG);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let Some(map) = v.get("upstreams") else {
        return Ok(Vec::new());
    };
    let map = map.as_object().ok_or_else(|| {
        format!(
            "{}: \"upstreams\" must be an object such as {{\"api.example.com\": \"http://127.0.0.1:8001\"}}",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for (host, url) in map {
        let text = url
            .as_str()
            .ok_or_else(|| format!("{}: upstreams.{host} must be a URL string", path.display()))?;
        let url = url::Url::parse(text).map_err(|e| {
            format!(
                "{}: upstreams.{host}: {text} is not a URL ({e})",
                path.display()
            )
        })?;
        out.push((host.trim().to_ascii_lowercase(), url));
    }
    Ok(out)
}

/// `request.timeout` of `<app>/.fdk/configs.json` (FDK's `fdk config set --scope local`).
fn fdk_config_timeout(root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(root.join(".fdk").join("configs.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let t = v.get("request")?.get("timeout")?;
    t.as_u64().or_else(|| t.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overridden_urls_keep_path_and_query_and_say_which_host_to_send() {
        let url = |s: &str| url::Url::parse(s).expect("url");
        let mut c = Config::for_tests(0);
        c.upstreams = vec![
            (
                "auth.example.com".into(),
                url("http://127.0.0.1:9000/base/"),
            ),
            ("api.example.com".into(), url("http://127.0.0.1:1")),
            ("api.example.com".into(), url("https://staging.example.net")),
        ];
        let r = c
            .route(&url("https://AUTH.example.com/oauth/authorize?a=1&b=%20"))
            .expect("routed");
        assert_eq!(
            r.url.as_str(),
            "http://127.0.0.1:9000/base/oauth/authorize?a=1&b=%20"
        );
        assert_eq!(r.host.as_deref(), Some("auth.example.com"));
        // The last entry wins; a named upstream is reached by its own name.
        let r = c.route(&url("https://api.example.com/v1")).expect("routed");
        assert_eq!(r.url.as_str(), "https://staging.example.net/v1");
        assert_eq!(r.host, None);
        assert_eq!(c.route(&url("https://other.example.com/")), None);
        assert_eq!(
            host_header("api.example.com", &url("http://localhost:8001"), None).as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            host_header("api.example.com", &url("http://[::1]:8001"), Some(10001)).as_deref(),
            Some("api.example.com")
        );
        // fdk-emu itself (the demo provider's API) answers to its own name only.
        assert_eq!(
            host_header(
                "api.demo.test",
                &url("http://127.0.0.1:10001/_demo"),
                Some(10001)
            ),
            None
        );
    }

    #[test]
    fn the_demo_api_follows_the_bound_port_and_explicit_overrides_win() {
        let mut c = Config::for_tests(0);
        c.demo_provider = true;
        let c = c.with_addr("127.0.0.1:12345".parse().expect("addr"));
        assert_eq!(
            c.upstreams,
            vec![(
                DEMO_API_HOST.to_string(),
                url::Url::parse("http://127.0.0.1:12345/_demo/api").expect("url")
            )]
        );
        assert_eq!(
            c.demo_url("http://localhost:10001/_demo/oauth/token"),
            "http://localhost:12345/_demo/oauth/token"
        );
        let mut c = Config::for_tests(0);
        c.demo_provider = true;
        let mine = url::Url::parse("http://127.0.0.1:9/x").expect("url");
        c.upstreams.push((DEMO_API_HOST.to_string(), mine.clone()));
        let c = c.with_addr("127.0.0.1:12345".parse().expect("addr"));
        assert_eq!(c.upstreams, vec![(DEMO_API_HOST.to_string(), mine)]);
    }
}
