//! What a key and a value must be, and the platform's limits on them.
//!
//! The numbers (README, "Key-value store"):
//! - a key is not blank and has at most 60 characters, and the key and the value together
//!   take at most 40 KB: the platform docs "Key-value storage" (v2.3 pages of
//!   developers.freshworks.com / freshworks.dev; older pages and FDK's own check said 30
//!   characters and 8 KB);
//! - the value is a JSON object, not blank or `{}`, and empty strings in it are stored as
//!   `null` (same docs);
//! - at most 32 levels of nesting: the limit of DynamoDB, the store behind the platform
//!   (its messages, "The setIf conditional request failed", are DynamoDB's).

use serde_json::{Map, Value};

use super::KvError;
use super::path::kind;

/// The limits a value is checked against; `None` in [`super::Kv`] when they are switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters of a key.
    pub key_chars: usize,
    /// Bytes of the key plus the value's JSON text.
    pub item_bytes: usize,
    /// Levels of objects and arrays, the value itself being the first.
    pub depth: usize,
}

impl Limits {
    pub const PLATFORM: Limits = Limits {
        key_chars: 60,
        item_bytes: 40 * 1024,
        depth: 32,
    };
}

/// A key the platform accepts: not blank, and within the limit when limits apply.
pub fn check_key(key: &str, limits: Option<&Limits>) -> Result<(), KvError> {
    let limit = limits.map_or(usize::MAX, |l| l.key_chars);
    if key.trim().is_empty() || key.chars().count() > limit {
        return Err(KvError::BadKey {
            key: key.to_string(),
            limit: limits.unwrap_or(&Limits::PLATFORM).key_chars,
        });
    }
    Ok(())
}

/// The value of a `set`: a non-empty object, empty strings turned into `null` as the
/// platform stores them.
pub fn object(value: Value) -> Result<Map<String, Value>, KvError> {
    match value {
        Value::Object(m) if !m.is_empty() => {
            let mut v = Value::Object(m);
            nullify_empty_strings(&mut v);
            match v {
                Value::Object(m) => Ok(m),
                _ => unreachable!("an object stays an object"),
            }
        }
        Value::Object(_) => Err(KvError::BadValue {
            found: "an empty object".into(),
        }),
        other => Err(KvError::BadValue {
            found: kind(&other).to_string(),
        }),
    }
}

/// Empty strings become `null`, at every level (platform docs: "empty strings … will be
/// converted to null"; NaN and ±Infinity cannot arrive in JSON, `JSON.stringify` already
/// turns them into `null`).
pub fn nullify_empty_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.is_empty() => *v = Value::Null,
        Value::Array(a) => a.iter_mut().for_each(nullify_empty_strings),
        Value::Object(m) => m.values_mut().for_each(nullify_empty_strings),
        _ => {}
    }
}

/// Levels of objects and arrays in `v` (a scalar is 0, `{"a": 1}` is 1).
pub fn depth(v: &Value) -> usize {
    // Iterative, so that a hostile value cannot overflow the stack (serde_json already
    // refuses more than 128 levels when parsing, but values are also built by updates).
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                deepest = deepest.max(d);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            Value::Object(m) => {
                deepest = deepest.max(d);
                stack.extend(m.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The JSON text to store for `key`, checked against the size and nesting limits.
pub fn stored_text(
    key: &str,
    value: &Map<String, Value>,
    limits: Option<&Limits>,
) -> Result<String, KvError> {
    let text = serde_json::to_string(value).map_err(|e| KvError::BadRequest(e.to_string()))?;
    if let Some(l) = limits {
        let bytes = key.len() + text.len();
        if bytes > l.item_bytes {
            return Err(KvError::TooLarge {
                bytes,
                limit: l.item_bytes,
            });
        }
        let d = value.values().map(depth).max().unwrap_or(0) + 1;
        if d > l.depth {
            return Err(KvError::TooDeep {
                depth: d,
                limit: l.depth,
            });
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_values_as_the_platform_takes_them() {
        let l = Limits::PLATFORM;
        assert!(check_key("ticket:101", Some(&l)).is_ok());
        assert!(check_key(&"k".repeat(60), Some(&l)).is_ok());
        assert!(matches!(
            check_key(&"k".repeat(61), Some(&l)),
            Err(KvError::BadKey { .. })
        ));
        assert!(check_key(&"k".repeat(61), None).is_ok());
        assert!(check_key("  ", None).is_err());
        assert!(object(json!([1])).is_err());
        assert!(object(json!({})).is_err());
        assert!(object(json!("x")).is_err());
        let m = object(json!({"a": "", "b": ["", "x", {"c": ""}]})).expect("object");
        assert_eq!(
            Value::Object(m),
            json!({"a": null, "b": [null, "x", {"c": null}]})
        );
    }

    #[test]
    fn size_and_nesting_limits() {
        let l = Limits::PLATFORM;
        let big = object(json!({"s": "x".repeat(40 * 1024)})).expect("object");
        assert!(matches!(
            stored_text("k", &big, Some(&l)),
            Err(KvError::TooLarge { .. })
        ));
        assert!(stored_text("k", &big, None).is_ok());
        let mut v = json!(1);
        for _ in 0..31 {
            v = json!({"n": v});
        }
        let ok = object(json!({"n": v.clone()})).expect("object");
        assert_eq!(depth(&Value::Object(ok.clone())), 32);
        assert!(stored_text("k", &ok, Some(&l)).is_ok());
        let deep = object(json!({"n": {"n": v}})).expect("object");
        assert!(matches!(
            stored_text("k", &deep, Some(&l)),
            Err(KvError::TooDeep {
                depth: 33,
                limit: 32
            })
        ));
    }
}
