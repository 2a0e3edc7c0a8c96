//! Which web origins may talk to us: our own pages, and Freshworks product pages that load
//! the app with `?dev=true`. Used by the CORS answers and the cross-site request guard.

use crate::config::Config;

/// The product domains whose pages load local apps in `?dev=true` mode.
const FRESHWORKS_DOMAINS: [&str; 7] = [
    "freshdesk.com",
    "freshservice.com",
    "freshworks.com",
    "myfreshworks.com",
    "freshsales.io",
    "freshchat.com",
    "freshcaller.com",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    /// Our own pages: `http://localhost:PORT` or `http://127.0.0.1:PORT`.
    Own,
    /// An https page of a Freshworks product (`https://acme.freshdesk.com`).
    Freshworks,
    /// Anything else, including `null` and malformed values.
    Other,
}

/// Classifies the value of an `Origin` header.
pub fn classify(origin: &str, config: &Config) -> OriginKind {
    let Ok(url) = url::Url::parse(origin.trim()) else {
        return OriginKind::Other;
    };
    // An origin has no path, query or credentials; anything else is not a real Origin.
    if !url.username().is_empty() || url.password().is_some() || url.path() != "/" {
        return OriginKind::Other;
    }
    let Some(host) = url.host_str() else {
        return OriginKind::Other;
    };
    let host = host.to_ascii_lowercase();
    match url.scheme() {
        "http" => {
            let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
            if local && url.port_or_known_default() == Some(config.port) {
                OriginKind::Own
            } else {
                OriginKind::Other
            }
        }
        "https" => {
            let product = FRESHWORKS_DOMAINS.iter().any(|d| {
                host.strip_suffix(d)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            });
            if product && url.port().is_none() {
                OriginKind::Freshworks
            } else {
                OriginKind::Other
            }
        }
        _ => OriginKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(port: u16) -> Config {
        Config::for_tests(port)
    }

    #[test]
    fn own_origin_needs_our_port() {
        let c = config(10001);
        assert_eq!(classify("http://localhost:10001", &c), OriginKind::Own);
        assert_eq!(classify("http://127.0.0.1:10001", &c), OriginKind::Own);
        assert_eq!(classify("http://localhost:8080", &c), OriginKind::Other);
        assert_eq!(classify("https://localhost:10001", &c), OriginKind::Other);
    }

    #[test]
    fn freshworks_products_over_https_only() {
        let c = config(10001);
        assert_eq!(
            classify("https://acme.freshdesk.com", &c),
            OriginKind::Freshworks
        );
        assert_eq!(
            classify("https://a.b.myfreshworks.com", &c),
            OriginKind::Freshworks
        );
        assert_eq!(
            classify("https://acme.freshsales.io", &c),
            OriginKind::Freshworks
        );
        assert_eq!(classify("http://acme.freshdesk.com", &c), OriginKind::Other);
        assert_eq!(
            classify("https://freshdesk.com.evil.test", &c),
            OriginKind::Other
        );
        assert_eq!(classify("https://evilfreshdesk.com", &c), OriginKind::Other);
        assert_eq!(
            classify("https://acme.freshdesk.com:8443", &c),
            OriginKind::Other
        );
        assert_eq!(classify("null", &c), OriginKind::Other);
    }
}
