//! Server-side validation of installation parameters against `config/iparams.json`, with the
//! same rules and messages as the browser-side script (`assets/pages/form.js`).

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};

use crate::app::{IparamField, IparamType};
use crate::store::MASK;

pub const REQUIRED: &str = "This field is required.";
pub const EMAIL: &str = "Enter a valid email address, e.g. name@example.com.";
pub const PHONE: &str = "Enter a 10-digit phone number, e.g. 5551234567 or 555-123-4567.";
pub const URL: &str = "Enter a full URL starting with http:// or https://.";
pub const NUMBER: &str = "Enter a number.";
pub const DATE: &str = "Enter a date as yyyy-mm-dd.";
pub const DOMAIN: &str = "Enter a domain name, e.g. yourcompany.freshdesk.com.";
pub const PATTERN: &str = "The value does not match the expected format.";
pub const OPTION: &str = "Choose one of the listed options.";

/// The message for a subdomain that is not one, for a `domain` field under `suffix`.
pub fn subdomain_message(suffix: &str) -> String {
    format!("Enter the subdomain of the account: yourcompany for yourcompany{suffix}.")
}

/// The subdomain in what was typed into a `domain` field under `suffix`: the value itself,
/// or the whole domain or URL of the account (`https://acme.freshdesk.com/` gives `acme`).
/// `None` when what is left is not a DNS label.
pub fn subdomain(typed: &str, suffix: &str) -> Option<String> {
    let v = typed.trim().to_ascii_lowercase();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(&v);
    let host = v.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.trim_end_matches('.');
    let label = host.strip_suffix(suffix).unwrap_or(host);
    let ok = !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| label.to_string())
}

/// The name of the form value that carries the options each choice field had on the page
/// (JSON, `{"field": ["option", …]}`), set by `assets/pages/form.js`: change handlers of
/// `config/assets/iparams.js` may replace a field's options (`utils.set(name, {values})`),
/// and the server must accept what the user could choose. In JSON bodies the same map is
/// `__meta.options`.
pub const PAGE_OPTIONS: &str = "__options";

/// Field name → message, in iparams.json order.
pub type FieldErrors = IndexMap<String, String>;

/// Values ready to store and the names to encrypt.
#[derive(Debug)]
pub struct Checked {
    pub values: Map<String, Value>,
    pub secure: Vec<String>,
}

fn builtin(kind: IparamType) -> Option<(&'static str, &'static str)> {
    match kind {
        IparamType::Email => Some((r"^[^\s@]+@[^\s@]+\.[^\s@]+$", EMAIL)),
        IparamType::PhoneNumber => Some((r"^(\d{10}|\d{3}-\d{3}-\d{4})$", PHONE)),
        IparamType::Domain => Some((
            r"^(?=.{1,253}$)(?i:([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$",
            DOMAIN,
        )),
        _ => None,
    }
}

fn matches(pattern: &str, v: &str) -> bool {
    // An uncompilable pattern is reported by validation; do not block the user on it.
    fancy_regex::Regex::new(pattern)
        .map(|re| re.is_match(v).unwrap_or(true))
        .unwrap_or(true)
}

fn valid_date(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        v[0..4].parse::<u32>(),
        v[5..7].parse::<u32>(),
        v[8..10].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

pub(super) fn valid_url(v: &str) -> bool {
    url::Url::parse(v)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The pattern list and message the browser checks for this field (`regex` of iparams.json).
pub fn regex_for(field: &IparamField) -> (Vec<String>, Option<String>) {
    let patterns: Vec<String> = field.regex.iter().map(|r| r.pattern.clone()).collect();
    let messages: Vec<&str> = field
        .regex
        .iter()
        .filter_map(|r| r.error_message.as_deref())
        .collect();
    let message = (!messages.is_empty()).then(|| messages.join(" / "));
    (patterns, message)
}

/// Checks one present, non-empty value and returns it in the shape to store. `page_options`
/// are the options the page offered besides the file's.
fn check_one(
    field: &IparamField,
    kind: IparamType,
    v: &Value,
    page_options: &[String],
) -> Result<Value, String> {
    let allowed = |s: &String| field.options.contains(s) || page_options.contains(s);
    let text = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.trim().to_string()),
            _ => Err(format!("Expected text, got {}.", type_name(v))),
        }
    };
    match kind {
        IparamType::Checkbox => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" || s == "on" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" || s.is_empty() => Ok(Value::Bool(false)),
            _ => Err(format!("Expected true or false, got {}.", type_name(v))),
        },
        IparamType::Number => {
            let n = match v {
                Value::Number(n) => return Ok(Value::Number(n.clone())),
                Value::String(s) => s.trim().to_string(),
                _ => return Err(NUMBER.to_string()),
            };
            if !matches(r"^-?\d+(\.\d+)?$", &n) {
                return Err(NUMBER.to_string());
            }
            if let Ok(i) = n.parse::<i64>() {
                return Ok(Value::Number(i.into()));
            }
            n.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| NUMBER.to_string())
        }
        IparamType::Multiselect => {
            let items = match v {
                Value::Array(a) => a.clone(),
                Value::String(s) => vec![Value::String(s.clone())],
                _ => return Err(format!("Expected a list of options, got {}.", type_name(v))),
            };
            let mut out = Vec::new();
            for item in items {
                let s = text(&item)?;
                if !allowed(&s) {
                    return Err(OPTION.to_string());
                }
                out.push(Value::String(s));
            }
            Ok(Value::Array(out))
        }
        IparamType::Dropdown | IparamType::Radio => {
            let s = text(v)?;
            if allowed(&s) {
                Ok(Value::String(s))
            } else {
                Err(OPTION.to_string())
            }
        }
        IparamType::Domain if field.domain_suffix.is_some() => {
            let suffix = field.domain_suffix.unwrap_or_default();
            subdomain(&text(v)?, suffix)
                .map(Value::String)
                .ok_or_else(|| subdomain_message(suffix))
        }
        _ => {
            let s = text(v)?;
            let (patterns, message) = regex_for(field);
            if !patterns.is_empty() {
                if patterns.iter().any(|p| matches(p, &s)) {
                    return Ok(Value::String(s));
                }
                return Err(message.unwrap_or_else(|| PATTERN.to_string()));
            }
            let ok = match kind {
                IparamType::Url => valid_url(&s),
                IparamType::Date => valid_date(&s),
                _ => builtin(kind).is_none_or(|(p, _)| matches(p, &s)),
            };
            if ok {
                Ok(Value::String(s))
            } else {
                Err(match kind {
                    IparamType::Url => URL.to_string(),
                    IparamType::Date => DATE.to_string(),
                    _ => builtin(kind).map(|(_, m)| m).unwrap_or(PATTERN).to_string(),
                })
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Checks `input` against the fields. A secure field left empty (or sent back as the mask)
/// keeps its `stored` value; hidden fields keep theirs (or their default).
pub fn check_values(
    fields: &IndexMap<String, IparamField>,
    input: &Map<String, Value>,
    stored: Option<&Map<String, Value>>,
) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut values = Map::new();
    let mut secure = Vec::new();
    let page_options = |name: &str| -> Vec<String> {
        input
            .get("__meta")
            .and_then(|m| m.get("options"))
            .and_then(|o| o.get(name))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (name, field) in fields {
        let Some(kind) = field.kind else { continue };
        let given = input.get(name);
        let stored_value = stored.and_then(|s| s.get(name));
        if !field.visible {
            if let Some(v) = given
                .filter(|v| !is_empty(v))
                .or(stored_value)
                .or(field.default_value.as_ref())
            {
                if field.secure {
                    secure.push(name.clone());
                }
                values.insert(name.clone(), v.clone());
            }
            continue;
        }
        let keep_secret = field.secure
            && given.is_none_or(|v| is_empty(v) || v.as_str() == Some(MASK))
            && stored_value.is_some();
        let value = if keep_secret {
            stored_value.cloned()
        } else {
            match given {
                Some(v) if !is_empty(v) => match check_one(field, kind, v, &page_options(name)) {
                    Ok(v) => Some(v),
                    Err(msg) => {
                        errors.insert(name.clone(), msg);
                        continue;
                    }
                },
                _ if kind == IparamType::Checkbox => Some(Value::Bool(false)),
                _ => None,
            }
        };
        match value {
            Some(v) => {
                if field.secure {
                    secure.push(name.clone());
                }
                values.insert(name.clone(), v);
            }
            None if field.required => {
                errors.insert(name.clone(), REQUIRED.to_string());
            }
            None => {}
        }
    }
    let meta_secure: Vec<String> = input
        .get("__meta")
        .and_then(|m| m.get("secure"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for (name, v) in input {
        if name == "__meta" || fields.contains_key(name) {
            continue;
        }
        // `$<domain field>` is what FDK's form adds after verifying a domain + api_key pair.
        if name.starts_with('$') {
            values.insert(name.clone(), v.clone());
        } else {
            errors.insert(
                name.clone(),
                "Not a field of config/iparams.json; remove it or add the field there.".into(),
            );
        }
    }
    for name in meta_secure {
        if values.contains_key(&name) && !secure.contains(&name) {
            secure.push(name);
        }
    }
    if errors.is_empty() {
        Ok(Checked { values, secure })
    } else {
        Err(errors)
    }
}

/// Turns form pairs into the JSON shapes [`check_values`] expects (lists for multiselect,
/// booleans for checkboxes).
pub fn from_form(
    fields: &IndexMap<String, IparamField>,
    pairs: &[(String, String)],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, field) in fields {
        if !field.visible {
            continue;
        }
        let all: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let v = match field.kind {
            Some(IparamType::Multiselect) => {
                Value::Array(all.iter().map(|s| Value::String(s.to_string())).collect())
            }
            Some(IparamType::Checkbox) => Value::Bool(all.contains(&"true")),
            _ => match all.first() {
                Some(s) => Value::String(s.to_string()),
                None => continue,
            },
        };
        out.insert(name.clone(), v);
    }
    let options = pairs
        .iter()
        .find(|(k, _)| k == PAGE_OPTIONS)
        .and_then(|(_, v)| serde_json::from_str::<Value>(v).ok())
        .filter(Value::is_object);
    if let Some(options) = options {
        let mut meta = Map::new();
        meta.insert("options".into(), options);
        out.insert("__meta".into(), Value::Object(meta));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::iparams::fields_from_value;
    use serde_json::json;

    fn fields() -> IndexMap<String, IparamField> {
        fields_from_value(Some(&json!({
            "name": {"display_name": "N", "type": "text", "required": true,
                     "regex": {"lower": "^[a-z]+$", "lower-error": "lower case only"}},
            "mail": {"display_name": "M", "type": "email"},
            "n": {"display_name": "Num", "type": "number"},
            "d": {"display_name": "D", "type": "date"},
            "plan": {"display_name": "P", "type": "dropdown", "options": ["a", "b"], "default_value": "a"},
            "multi": {"display_name": "X", "type": "multiselect", "options": ["a", "b"], "default_value": ["a"]},
            "flag": {"display_name": "F", "type": "checkbox", "default_value": false},
            "key": {"display_name": "K", "type": "text", "secure": true, "required": true},
            "hidden": {"display_name": "H", "type": "text", "visible": false, "default_value": "h"}
        })))
    }

    #[test]
    fn good_values_are_normalised() {
        let input = json!({"name": "abc", "mail": "a@b.co", "n": "42", "d": "2024-02-29",
                           "plan": "b", "multi": ["a", "b"], "key": "s3cret"});
        let c = check_values(&fields(), input.as_object().expect("obj"), None).expect("valid");
        assert_eq!(c.values["n"], json!(42));
        assert_eq!(c.values["flag"], json!(false));
        assert_eq!(c.values["hidden"], json!("h"));
        assert_eq!(c.secure, vec!["key".to_string()]);
    }

    #[test]
    fn bad_values_get_messages() {
        let input = json!({"name": "ABC", "mail": "nope", "n": "x", "d": "2023-02-29",
                           "plan": "zzz", "multi": "c", "extra": 1, "flag": 3});
        let e =
            check_values(&fields(), input.as_object().expect("obj"), None).expect_err("invalid");
        assert_eq!(e["name"], "lower case only");
        assert_eq!(e["mail"], EMAIL);
        assert_eq!(e["n"], NUMBER);
        assert_eq!(e["d"], DATE);
        assert_eq!(e["plan"], OPTION);
        assert_eq!(e["multi"], OPTION);
        assert_eq!(e["key"], REQUIRED);
        assert!(e["extra"].contains("iparams.json"));
        assert!(e["flag"].contains("true or false"));
    }

    #[test]
    fn options_the_page_offered_are_accepted_and_no_others() {
        let pairs: Vec<(String, String)> = [
            ("name", "abc"),
            ("key", "k"),
            ("plan", "from-handler"),
            ("multi", "a"),
            ("multi", "also-from-handler"),
            (
                PAGE_OPTIONS,
                r#"{"plan": ["from-handler"], "multi": ["also-from-handler"]}"#,
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let input = from_form(&fields(), &pairs);
        let c = check_values(&fields(), &input, None).expect("valid");
        assert_eq!(c.values["plan"], json!("from-handler"));
        assert_eq!(c.values["multi"], json!(["a", "also-from-handler"]));
        assert!(!c.values.contains_key("__meta"));
        // Not on the page: refused, whatever the page offered for other fields.
        let input = json!({"name": "abc", "key": "k", "plan": "made-up",
                           "__meta": {"options": {"multi": ["made-up"]}}});
        let e =
            check_values(&fields(), input.as_object().expect("obj"), None).expect_err("invalid");
        assert_eq!(e["plan"], OPTION);
    }

    #[test]
    fn domain_fields_take_the_subdomain() {
        let fields = fields_from_value(Some(&json!({
            "fd": {"display_name": "D", "type": "domain", "type_attributes": {"product": "freshdesk"}},
            "fs": {"display_name": "S", "type": "domain", "type_attributes": {"product": "freshsales"}}
        })));
        let check = |fd: &str| {
            let input = json!({"fd": fd, "fs": "acme.myfreshworks.com"});
            check_values(&fields, input.as_object().expect("obj"), None)
        };
        for typed in [
            "acme",
            "ACME.freshdesk.com",
            "https://acme.freshdesk.com/a/tickets",
        ] {
            assert_eq!(
                check(typed).expect("valid").values["fd"],
                json!("acme"),
                "{typed}"
            );
        }
        for typed in ["acme.freshdesk.com.evil", "a b", "-acme", "acme.other.com"] {
            assert_eq!(
                check(typed).expect_err("invalid")["fd"],
                subdomain_message(".freshdesk.com"),
                "{typed}"
            );
        }
        // A product with several account domains: the whole domain, as before.
        let c = check("acme").expect("valid");
        assert_eq!(c.values["fs"], json!("acme.myfreshworks.com"));
    }

    #[test]
    fn secure_value_is_kept_when_left_empty_or_masked() {
        let stored = json!({"name": "abc", "key": "old"});
        for given in [json!(""), json!(MASK)] {
            let input = json!({"name": "abc", "key": given});
            let c = check_values(
                &fields(),
                input.as_object().expect("obj"),
                stored.as_object(),
            )
            .expect("valid");
            assert_eq!(c.values["key"], json!("old"));
        }
    }
}
