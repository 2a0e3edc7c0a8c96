//! Where a rendered template goes: FDK's host rules, and the `--upstream` overrides that send
//! a host's requests to a local mock instead.

use std::collections::HashMap;

use url::Url;

/// Host → base URL. Built once from `--upstream`, `<app>/fdk-emu.json` and the demo provider.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    map: HashMap<String, Url>,
    /// The port fdk-emu serves on: an override to it keeps its own `Host`.
    own_port: Option<u16>,
}

impl Upstreams {
    /// Later entries win, so the command line can override the project file.
    pub fn new(entries: impl IntoIterator<Item = (String, Url)>) -> Upstreams {
        Upstreams {
            map: entries
                .into_iter()
                .map(|(h, u)| (h.trim().to_ascii_lowercase(), u))
                .collect(),
            own_port: None,
        }
    }

    /// The same overrides, for a server on `port`.
    pub fn serving_on(self, port: u16) -> Upstreams {
        Upstreams {
            own_port: Some(port),
            ..self
        }
    }

    pub fn get(&self, host: &str) -> Option<&Url> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&host.to_ascii_lowercase())
    }

    /// The `Host` header of a request for `host` when an override routes it to a local
    /// server: the template's host, as the real API would see it
    /// ([`crate::config::host_header`]).
    pub fn host_header(&self, host: &str) -> Option<String> {
        let base = self.get(host.trim())?;
        crate::config::host_header(host, base, self.own_port)
    }
}

/// Why the rendered host or URL cannot be used. The first three keep FDK's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error(
        "Invalid URL - IP is disallowed: the host `{0}` is an IP address; templates must name a domain (to reach a local server, keep a domain name in the template and start fdk-emu with --upstream {0}=http://127.0.0.1:PORT or similar)"
    )]
    Ip(String),
    #[error(
        "Invalid URL - Must be FQDN: the host `{0}` is not a fully qualified domain name (it needs a top-level domain, and only letters, digits, `-` and `.`); to reach a local server, use a domain name in the template and map it with --upstream HOST=http://127.0.0.1:PORT"
    )]
    NotFqdn(String),
    #[error(
        "Invalid URL - protocol `{0}` is not supported: use `https` (or `http` for local testing)"
    )]
    Protocol(String),
    #[error("Invalid URL - the host is empty after substitution")]
    EmptyHost,
    #[error("Invalid URL - `{url}` cannot be parsed: {reason}")]
    Unparsable { url: String, reason: String },
}

/// The URL of a request: `protocol://host` + path, or the override's base + path, in the
/// normalised form of the WHATWG URL standard (the `url` crate): host in lower case,
/// characters outside URLs percent-encoded, `.` and `..` segments resolved.
pub fn build_url(
    protocol: &str,
    host: &str,
    path: &str,
    upstreams: &Upstreams,
) -> Result<String, UrlError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    let slash = if path.starts_with('/') { "" } else { "/" };
    let (text, plain_host) = if let Some(base) = upstreams.get(host) {
        // Already normalised when the override was parsed.
        let base = base.as_str().trim_end_matches('/');
        (format!("{base}{slash}{path}"), true)
    } else {
        if protocol != "https" && protocol != "http" {
            return Err(UrlError::Protocol(protocol.to_string()));
        }
        check_host(host)?;
        let plain = host.is_ascii() && !host.ends_with('.');
        if plain {
            let host = host.to_ascii_lowercase();
            (format!("{protocol}://{host}{slash}{path}"), true)
        } else {
            (format!("{protocol}://{host}{slash}{path}"), false)
        }
    };
    if plain_host && is_plain(path) {
        // Nothing the parser would change: skip it (it was a twentieth of a proxied call,
        // mostly in the international domain name code that plain ASCII hosts never need).
        return Ok(text);
    }
    Url::parse(&text)
        .map(String::from)
        .map_err(|e| UrlError::Unparsable {
            url: text.clone(),
            reason: e.to_string(),
        })
}

/// Whether the URL parser leaves `path` (with its query, if any) exactly as it is: only
/// characters that are never percent-encoded, and no `.` or `..` segment to resolve.
fn is_plain(path: &str) -> bool {
    let chars_ok = path.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
            )
    });
    let before_query = path.split('?').next().unwrap_or_default();
    chars_ok
        && !before_query
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// FDK's rules for a host without override: a domain name, not an IP, with a top-level
/// domain (so `localhost` fails), labels of letters, digits and `-` only.
pub fn check_host(host: &str) -> Result<(), UrlError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Err(UrlError::Ip(host.to_string()));
    }
    let h = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|t| {
        t.len() >= 2 && t.chars().all(|c| c.is_alphabetic() || c == '-') || t.starts_with("xn--")
    });
    if labels.len() < 2 || h.len() > 253 || !labels.iter().all(label_ok) || !tld_ok {
        // An IPv4 address with a port or similar still reads as "an IP" to the user.
        if labels
            .iter()
            .all(|l| l.chars().all(|c| c.is_ascii_digit() || c == ':'))
        {
            return Err(UrlError::Ip(host.to_string()));
        }
        return Err(UrlError::NotFqdn(host.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdk_host_rules() {
        assert_eq!(check_host("api.example.com"), Ok(()));
        assert_eq!(check_host("acme.freshdesk.com"), Ok(()));
        assert!(matches!(check_host("127.0.0.1"), Err(UrlError::Ip(_))));
        assert!(matches!(check_host("::1"), Err(UrlError::Ip(_))));
        assert!(matches!(check_host("[::1]"), Err(UrlError::Ip(_))));
        assert!(matches!(check_host("localhost"), Err(UrlError::NotFqdn(_))));
        assert!(matches!(
            check_host("my_host.com"),
            Err(UrlError::NotFqdn(_))
        ));
        assert!(matches!(
            check_host("api.example.com:8443"),
            Err(UrlError::NotFqdn(_))
        ));
        assert!(matches!(check_host("a.b/c"), Err(UrlError::NotFqdn(_))));
        assert!(matches!(
            check_host("example.123"),
            Err(UrlError::NotFqdn(_))
        ));
    }

    #[test]
    fn overrides_replace_scheme_host_and_port() {
        let up = Upstreams::new([(
            "API.example.com".to_string(),
            Url::parse("http://127.0.0.1:8001/base/").unwrap_or_else(|_| unreachable!()),
        )]);
        let u = build_url("https", "api.EXAMPLE.com", "/v1/x", &up);
        assert_eq!(u, Ok("http://127.0.0.1:8001/base/v1/x".to_string()));
        // Without override the rules apply.
        assert!(matches!(
            build_url("https", "127.0.0.1", "/", &up),
            Err(UrlError::Ip(_))
        ));
        assert_eq!(
            build_url("https", "other.example.com", "x", &up),
            Ok("https://other.example.com/x".to_string())
        );
        assert!(matches!(
            build_url("ftp", "other.example.com", "/", &up),
            Err(UrlError::Protocol(_))
        ));
    }

    proptest::proptest! {
        /// The shortcut for plain URLs gives exactly what the URL parser gives.
        #[test]
        fn plain_urls_are_what_the_parser_makes(
            host in "(API|api|Api)\\.(example|EXAMPLE|bücher)\\.(com|de)\\.?",
            path in "[a-zA-Z0-9./?&=%#'\" <>{}|^`~!$()*+,;:@_\\-]{0,24}",
            upstream in proptest::bool::ANY,
        ) {
            let up = if upstream {
                Upstreams::new([(
                    host.clone(),
                    Url::parse("http://127.0.0.1:8001/base/").unwrap_or_else(|_| unreachable!()),
                )])
            } else {
                Upstreams::default()
            };
            let ours = build_url("https", &host, &path, &up);
            let slash = if path.starts_with('/') { "" } else { "/" };
            let full = if upstream {
                format!("http://127.0.0.1:8001/base{slash}{path}")
            } else {
                format!("https://{host}{slash}{path}")
            };
            let parsed = Url::parse(&full).map(String::from);
            proptest::prop_assert_eq!(ours.ok(), parsed.ok());
        }
    }
}
