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

/// Checks one present, non-empty value and returns it in the shape to store.
fn check_one(field: &IparamField, kind: IparamType, v: &Value) -> Result<Value, String> {
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
                if !field.options.contains(&s) {
                    return Err(OPTION.to_string());
                }
                out.push(Value::String(s));
            }
            Ok(Value::Array(out))
        }
        IparamType::Dropdown | IparamType::Radio => {
            let s = text(v)?;
            if field.options.contains(&s) {
                Ok(Value::String(s))
            } else {
                Err(OPTION.to_string())
            }
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
                Some(v) if !is_empty(v) => match check_one(field, kind, v) {
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
