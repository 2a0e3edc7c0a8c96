//! Request templates parsed once per app snapshot.
//!
//! The snapshot is immutable and swapped whole by the watcher, so the compiled form of its
//! templates is built lazily for the first call that sees a new snapshot and then reused by
//! every call: a request renders prepared templates and never parses text.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use arc_swap::ArcSwapOption;
use http::Method;
use http::header::HeaderName;

use crate::app::{App, RequestTemplate, TokenType};
use crate::template::{self, ParseError, Template};

/// One string of a template, parsed, with the name of the field it came from.
#[derive(Debug)]
pub struct Field {
    /// `host`, `path`, `headers.Authorization`, `query.page`: used in error messages and
    /// shared by the inspector's records.
    pub name: Arc<str>,
    pub template: Template,
    /// The iparams it uses (`iparam.<key>`), to keep secure ones out of URLs.
    pub iparams: Vec<String>,
    /// Whether it uses `oauth_iparams.…`, which are read (and decrypted) only then.
    pub oauth_iparams: bool,
    /// Every variable it uses, once each, for the inspector's list of substitutions.
    pub variables: Vec<Variable>,
    /// Whether it uses `access_token`: a header holding it is a credential.
    pub access_token: bool,
}

impl Field {
    /// Whether the rendered value carries a secret: the access token or one of the `secure`
    /// iparams. Such a header does not follow a redirect to another origin.
    pub fn carries_secret(&self, secure: &[String]) -> bool {
        self.access_token || self.iparams.iter().any(|k| secure.contains(k))
    }
}

/// A variable a field uses: `iparam.api_key` and its path `["iparam", "api_key"]`.
#[derive(Debug)]
pub struct Variable {
    pub text: Arc<str>,
    pub path: Vec<String>,
}

/// Which OAuth integration a template uses and who holds its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthUse {
    pub integration: String,
    pub token_type: TokenType,
}

#[derive(Debug)]
pub struct Compiled {
    pub name: String,
    pub method: Method,
    pub protocol: String,
    pub host: Field,
    pub path: Field,
    pub headers: Vec<(HeaderName, Field)>,
    pub query: Vec<(String, Field)>,
    pub max_attempts: u32,
    pub retry_delay_ms: u64,
    pub oauth: Option<OAuthUse>,
}

/// Why a template cannot be used at all, whatever the call. Found once per snapshot.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CompileError {
    #[error(
        "template '{template}', schema.{field}: the text is not a valid template: {error}\n{excerpt}"
    )]
    Parse {
        template: String,
        field: String,
        error: ParseError,
        excerpt: String,
    },
    #[error("template '{template}': method `{method}` is not one of GET, POST, PUT, PATCH, DELETE")]
    Method { template: String, method: String },
    #[error("template '{template}': `{header}` is not a valid HTTP header name")]
    HeaderName { template: String, header: String },
    #[error(
        "template '{template}' uses OAuth integration '{integration}', which config/oauth_config.json does not define{defined}"
    )]
    UnknownIntegration {
        template: String,
        integration: String,
        defined: String,
    },
}

/// The compiled templates of one snapshot. A template that failed keeps its error, so the
/// call that uses it gets the message, and other templates still work.
#[derive(Debug, Default)]
pub struct CompiledApp {
    pub templates: HashMap<String, Result<Arc<Compiled>, Arc<CompileError>>>,
}

impl Compiled {
    /// Whether any field uses `oauth_iparams.…`.
    pub fn uses_oauth_iparams(&self) -> bool {
        [&self.host, &self.path]
            .into_iter()
            .chain(self.headers.iter().map(|(_, f)| f))
            .chain(self.query.iter().map(|(_, f)| f))
            .any(|f| f.oauth_iparams)
    }

    /// The first field of the URL (host, path, query) that uses one of the `secure` iparams,
    /// with that iparam.
    pub fn secure_in_url<'a>(&'a self, secure: &[String]) -> Option<(&'a str, &'a str)> {
        if secure.is_empty() {
            return None;
        }
        let url_fields = [&self.host, &self.path]
            .into_iter()
            .chain(self.query.iter().map(|(_, f)| f));
        for f in url_fields {
            if let Some(key) = f.iparams.iter().find(|k| secure.contains(k)) {
                return Some((f.name.as_ref(), key));
            }
        }
        None
    }
}

impl CompiledApp {
    pub fn new(app: &App) -> CompiledApp {
        let templates = app
            .templates
            .iter()
            .map(|(name, t)| {
                let c = compile(app, t).map(Arc::new).map_err(|e| Arc::new(*e));
                (name.clone(), c)
            })
            .collect();
        CompiledApp { templates }
    }
}

fn field(template: &str, name: String, src: &str) -> Result<Field, Box<CompileError>> {
    match template::parse(src) {
        Ok(t) => {
            let refs = t.references();
            let oauth_iparams = refs.iter().any(|r| r.root() == "oauth_iparams");
            let mut variables: Vec<Variable> = Vec::new();
            for r in &refs {
                if !variables.iter().any(|v| v.path == r.path) {
                    variables.push(Variable {
                        text: r.dotted().into(),
                        path: r.path.clone(),
                    });
                }
            }
            let access_token = refs.iter().any(|r| r.root() == "access_token");
            let mut iparams: Vec<String> = refs
                .into_iter()
                .filter(|r| r.root() == "iparam")
                .filter_map(|r| r.path.get(1).cloned())
                .collect();
            iparams.dedup();
            Ok(Field {
                name: name.into(),
                template: t,
                iparams,
                oauth_iparams,
                variables,
                access_token,
            })
        }
        Err(error) => Err(Box::new(CompileError::Parse {
            template: template.to_string(),
            excerpt: error.excerpt(src),
            field: name,
            error,
        })),
    }
}

fn compile(app: &App, t: &RequestTemplate) -> Result<Compiled, Box<CompileError>> {
    let name = &t.name;
    let method = match t.method.as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        other => {
            return Err(Box::new(CompileError::Method {
                template: name.clone(),
                method: other.to_string(),
            }));
        }
    };
    let mut headers = Vec::with_capacity(t.headers.len());
    for (k, v) in &t.headers {
        let header = HeaderName::from_bytes(k.trim().as_bytes()).map_err(|_| {
            Box::new(CompileError::HeaderName {
                template: name.clone(),
                header: k.clone(),
            })
        })?;
        headers.push((header, field(name, format!("headers.{k}"), v)?));
    }
    let mut query = Vec::with_capacity(t.query.len());
    for (k, v) in &t.query {
        query.push((k.clone(), field(name, format!("query.{k}"), v)?));
    }
    let oauth = match t.integration().map(str::to_string) {
        None => None,
        Some(integration) => {
            let found = app
                .oauth
                .as_ref()
                .and_then(|o| o.integrations.get(&integration));
            match found {
                Some(i) => Some(OAuthUse {
                    token_type: i.token_type.unwrap_or(TokenType::Account),
                    integration,
                }),
                None => {
                    let names: Vec<&str> = app
                        .oauth
                        .as_ref()
                        .map(|o| o.integrations.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let defined = if names.is_empty() {
                        " (the app has no OAuth configuration)".to_string()
                    } else {
                        format!(" (defined: {})", names.join(", "))
                    };
                    return Err(Box::new(CompileError::UnknownIntegration {
                        template: name.clone(),
                        integration,
                        defined,
                    }));
                }
            }
        }
    };
    Ok(Compiled {
        name: name.clone(),
        method,
        protocol: t.protocol.clone(),
        host: field(name, "host".into(), &t.host)?,
        path: field(name, "path".into(), &t.path)?,
        headers,
        query,
        max_attempts: t.options.max_attempts.clamp(1, 5),
        retry_delay_ms: t.options.retry_delay_ms.min(1500),
        oauth,
    })
}

/// The compiled templates of the snapshot seen last.
///
/// Keyed by the snapshot's address. The cache holds a `Weak` to it, which keeps the
/// allocation (not the app) alive, so the address cannot be reused by a newer snapshot
/// while the entry exists: comparing addresses is exact.
#[derive(Default)]
pub struct Cache {
    entry: ArcSwapOption<(Weak<App>, Arc<CompiledApp>)>,
}

impl Cache {
    pub fn get(&self, app: &Arc<App>) -> Arc<CompiledApp> {
        if let Some(e) = self.entry.load().as_ref()
            && std::ptr::eq(e.0.as_ptr(), Arc::as_ptr(app))
        {
            return e.1.clone();
        }
        let compiled = Arc::new(CompiledApp::new(app));
        self.entry
            .store(Some(Arc::new((Arc::downgrade(app), compiled.clone()))));
        compiled
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn a_field_knows_whether_it_needs_oauth_iparams() {
        let f = |src: &str| field("t", "headers.X-Tenant".into(), src).expect("parses");
        assert!(f("<%= oauth_iparams.tenant %>").oauth_iparams);
        assert!(f("t-<%= oauth_iparams.tenant || 'none' %>").oauth_iparams);
        assert!(!f("<%= iparam.tenant %>").oauth_iparams);
        assert_eq!(
            f("<%= iparam.tenant %>").iparams,
            vec!["tenant".to_string()]
        );
        assert!(
            !f("oauth_iparams.tenant").oauth_iparams,
            "plain text is no reference"
        );
    }

    #[test]
    fn a_field_knows_whether_it_carries_a_secret() {
        let f = |src: &str| field("t", "headers.X".into(), src).expect("parses");
        let secure = ["api_key".to_string()];
        assert!(f("Bearer <%= access_token %>").carries_secret(&[]));
        assert!(f("<%= iparam.api_key %>").carries_secret(&secure));
        assert!(
            f("Basic <%= encode(iparam.user + ':' + iparam.api_key) %>").carries_secret(&secure)
        );
        assert!(!f("<%= iparam.api_key %>").carries_secret(&[]));
        assert!(!f("<%= iparam.plan %>").carries_secret(&secure));
        assert!(!f("access_token").carries_secret(&secure));
    }
}
