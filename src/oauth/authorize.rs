//! The provider's authorization URL, built the way FDK builds it (reference §4.3) with one
//! deliberate difference: `redirect_uri` is exactly the registered
//! `http://localhost:PORT/auth/callback`, without FDK's own query string, because providers
//! that compare redirect URIs exactly reject FDK's.

use serde_json::{Map, Value};

/// `options` keys that are not authorization parameters.
pub const CUSTOM_HEADERS: &str = "customHeaders";

/// Parameters we set ourselves; a same-named key of `authorize_url`'s own query is replaced.
const OURS: [&str; 4] = ["response_type", "redirect_uri", "state", "client_id"];

/// Builds the URL the browser is sent to.
///
/// Order as FDK: `authorize_url`'s own query, then every `options` key except
/// `customHeaders`, then `response_type`, `redirect_uri`, `state`, and `client_id` last.
pub fn authorize_url(
    base: &url::Url,
    options: &Map<String, Value>,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> url::Url {
    let mut url = base.clone();
    let option_keys: Vec<&str> = options
        .keys()
        .map(String::as_str)
        .filter(|k| *k != CUSTOM_HEADERS)
        .collect();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !OURS.contains(&k.as_ref()) && !option_keys.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.set_query(None);
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        for (k, v) in options {
            if k == CUSTOM_HEADERS {
                continue;
            }
            for value in option_values(k, v) {
                q.append_pair(k, &value);
            }
        }
        q.append_pair("response_type", "code");
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("state", state);
        q.append_pair("client_id", client_id);
    }
    url
}

/// How one `options` value becomes query values: strings as given, numbers and booleans as
/// text, a `scope` list joined with spaces (passport's default separator), other lists as
/// repeated parameters, `null` left out, objects as JSON text.
fn option_values(key: &str, v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => {
            let items: Vec<String> = items.iter().flat_map(|i| option_values(key, i)).collect();
            if key == "scope" {
                vec![items.join(" ")]
            } else {
                items
            }
        }
        other => vec![other.to_string()],
    }
}

/// The `customHeaders` of `options`, sent on every token request. Non-string values are sent
/// as their JSON text.
pub fn custom_headers(options: &Map<String, Value>) -> Vec<(String, String)> {
    options
        .get(CUSTOM_HEADERS)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fdk_order_and_own_query_kept() {
        let base = url::Url::parse("https://idp.example/acme/authorize?tenant=t1").unwrap();
        let url = authorize_url(
            &base,
            &opts(json!({"scope": "read write", "access_type": "offline",
                         "customHeaders": {"X-A": "1"}})),
            "cid",
            "http://localhost:10001/auth/callback",
            "S",
        );
        assert_eq!(
            url.as_str(),
            "https://idp.example/acme/authorize?tenant=t1&scope=read+write&access_type=offline\
             &response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A10001%2Fauth%2Fcallback\
             &state=S&client_id=cid"
        );
    }

    #[test]
    fn our_parameters_replace_the_urls_own() {
        let base =
            url::Url::parse("https://idp.example/auth?client_id=old&state=x&scope=a").unwrap();
        let url = authorize_url(&base, &opts(json!({"scope": "b"})), "new", "R", "S");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("scope".into(), "b".into()),
                ("response_type".into(), "code".into()),
                ("redirect_uri".into(), "R".into()),
                ("state".into(), "S".into()),
                ("client_id".into(), "new".into()),
            ]
        );
    }

    #[test]
    fn non_string_options() {
        let base = url::Url::parse("https://idp.example/auth").unwrap();
        let url = authorize_url(
            &base,
            &opts(json!({"scope": ["a", "b"], "prompt": null, "max_age": 5, "x": [1, 2]})),
            "c",
            "R",
            "S",
        );
        assert!(url.as_str().starts_with(
            "https://idp.example/auth?scope=a+b&max_age=5&x=1&x=2&response_type=code"
        ));
    }

    #[test]
    fn custom_headers_are_read() {
        let h = custom_headers(&opts(json!({"customHeaders": {"X-A": "1", "X-N": 2}})));
        assert_eq!(
            h,
            vec![("X-A".into(), "1".into()), ("X-N".into(), "2".into())]
        );
    }
}
