//! `update(key, type, attributes)`: the four update types and how each changes a value.
//!
//! As the platform documents them: `set` adds or replaces attributes at top-level or nested
//! paths; `remove` takes a list of paths; `increment` (numbers) and `append` (arrays) work on
//! top-level attributes only. As FDK and the store behind the platform do it: an update of a
//! key that does not exist creates it (`set`, `increment`, `append`), while `remove` of one is
//! an error; an attribute that `increment` or `append` does not find yet is set to the value
//! given.

use serde_json::{Map, Number, Value};

use super::KvError;
use super::error::UpdateKind;
use super::path::{Path, PathError, kind as kind_of};
use super::value::nullify_empty_strings;

/// A checked update, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Set(Vec<(Path, Value)>),
    Remove(Vec<Path>),
    Increment(Vec<(String, Number)>),
    Append(Vec<(String, Vec<Value>)>),
}

fn bad(kind: UpdateKind, what: impl std::fmt::Display) -> KvError {
    KvError::BadRequest(format!("update of type \"{kind}\": {what}"))
}

fn invalid(kind: UpdateKind, error: PathError) -> KvError {
    KvError::InvalidPath { kind, error }
}

/// Paths of one update may not overlap (the store refuses `a` and `a.b` together).
fn no_overlap(kind: UpdateKind, paths: &[&Path]) -> Result<(), KvError> {
    for (i, a) in paths.iter().enumerate() {
        if let Some(b) = paths[i + 1..].iter().find(|b| a.overlaps(b)) {
            return Err(invalid(
                kind,
                PathError {
                    path: b.to_string(),
                    reason: format!(
                        "it overlaps with the path {:?} of the same update",
                        a.to_string()
                    ),
                },
            ));
        }
    }
    Ok(())
}

/// A top-level attribute name for `increment` and `append`.
fn top_level(kind: UpdateKind, name: &str) -> Result<String, KvError> {
    let path = Path::parse(name).map_err(|e| invalid(kind, e))?;
    if !path.is_top_level() {
        return Err(invalid(
            kind,
            PathError {
                path: name.to_string(),
                reason: format!(
                    "{kind} works on top-level attributes only (platform docs); use set with the new value for a nested one"
                ),
            },
        ));
    }
    Ok(name.to_string())
}

impl Update {
    /// Reads `attributes` for an update of `kind`: an object of path → value, or for
    /// `remove` a list of paths.
    pub fn parse(kind: UpdateKind, attributes: Value) -> Result<Update, KvError> {
        if kind == UpdateKind::Remove {
            let Value::Array(list) = attributes else {
                return Err(bad(
                    kind,
                    format!(
                        "attributes must be a list of paths, e.g. [\"logs.ticket_11233\"]; got {}",
                        kind_of(&attributes)
                    ),
                ));
            };
            if list.is_empty() {
                return Err(bad(
                    kind,
                    "attributes is an empty list; name at least one path",
                ));
            }
            let mut paths = Vec::with_capacity(list.len());
            for item in list {
                let Value::String(s) = item else {
                    return Err(bad(
                        kind,
                        format!("each path must be a string; got {}", kind_of(&item)),
                    ));
                };
                paths.push(Path::parse(&s).map_err(|e| invalid(kind, e))?);
            }
            no_overlap(kind, &paths.iter().collect::<Vec<_>>())?;
            paths.sort_by(Path::removal_order);
            return Ok(Update::Remove(paths));
        }
        let Value::Object(map) = attributes else {
            return Err(bad(
                kind,
                format!(
                    "attributes must be an object of attribute → value, e.g. {{\"count\": 1}}; got {}",
                    kind_of(&attributes)
                ),
            ));
        };
        if map.is_empty() {
            return Err(bad(
                kind,
                "attributes is empty; name at least one attribute",
            ));
        }
        match kind {
            UpdateKind::Set => {
                let mut pairs = Vec::with_capacity(map.len());
                for (p, mut v) in map {
                    nullify_empty_strings(&mut v);
                    pairs.push((Path::parse(&p).map_err(|e| invalid(kind, e))?, v));
                }
                no_overlap(kind, &pairs.iter().map(|(p, _)| p).collect::<Vec<_>>())?;
                Ok(Update::Set(pairs))
            }
            UpdateKind::Increment => {
                let mut pairs = Vec::with_capacity(map.len());
                for (name, v) in map {
                    let name = top_level(kind, &name)?;
                    let Value::Number(n) = v else {
                        return Err(bad(
                            kind,
                            format!(
                                "the value for {name:?} must be a number; got {}",
                                kind_of(&v)
                            ),
                        ));
                    };
                    pairs.push((name, n));
                }
                Ok(Update::Increment(pairs))
            }
            UpdateKind::Append => {
                let mut pairs = Vec::with_capacity(map.len());
                for (name, mut v) in map {
                    let name = top_level(kind, &name)?;
                    nullify_empty_strings(&mut v);
                    let Value::Array(items) = v else {
                        return Err(bad(
                            kind,
                            format!(
                                "the value for {name:?} must be an array of the items to append, e.g. [\"x\"]; got {}",
                                kind_of(&v)
                            ),
                        ));
                    };
                    pairs.push((name, items));
                }
                Ok(Update::Append(pairs))
            }
            UpdateKind::Remove => unreachable!("handled above"),
        }
    }

    pub fn kind(&self) -> UpdateKind {
        match self {
            Update::Set(_) => UpdateKind::Set,
            Update::Remove(_) => UpdateKind::Remove,
            Update::Increment(_) => UpdateKind::Increment,
            Update::Append(_) => UpdateKind::Append,
        }
    }

    /// The value after the update; `current` is `None` when the key does not exist.
    pub fn apply(
        &self,
        key: &str,
        current: Option<Map<String, Value>>,
    ) -> Result<Map<String, Value>, KvError> {
        let kind = self.kind();
        if kind == UpdateKind::Remove && current.is_none() {
            return Err(KvError::RemoveMissingKey {
                key: key.to_string(),
            });
        }
        let mut value = current.unwrap_or_default();
        match self {
            Update::Set(pairs) => {
                for (path, v) in pairs {
                    path.set(&mut value, v.clone())
                        .map_err(|e| invalid(kind, e))?;
                }
            }
            Update::Remove(paths) => {
                for path in paths {
                    path.remove(&mut value).map_err(|e| invalid(kind, e))?;
                }
            }
            Update::Increment(pairs) => {
                for (name, by) in pairs {
                    let next = match value.get(name) {
                        None | Some(Value::Null) => Value::Number(by.clone()),
                        Some(Value::Number(n)) => Value::Number(
                            add(n, by)
                                .ok_or_else(|| bad(kind, format!("{name:?} would overflow")))?,
                        ),
                        Some(other) => {
                            return Err(KvError::WrongType {
                                kind,
                                attribute: name.clone(),
                                found: kind_of(other),
                            });
                        }
                    };
                    value.insert(name.clone(), next);
                }
            }
            Update::Append(pairs) => {
                for (name, items) in pairs {
                    match value.get_mut(name) {
                        None | Some(Value::Null) => {
                            value.insert(name.clone(), Value::Array(items.clone()));
                        }
                        Some(Value::Array(a)) => a.extend(items.iter().cloned()),
                        Some(other) => {
                            return Err(KvError::WrongType {
                                kind,
                                attribute: name.clone(),
                                found: kind_of(other),
                            });
                        }
                    }
                }
            }
        }
        Ok(value)
    }
}

/// `a + b`, in integers when both are and the sum fits, else in floating point.
fn add(a: &Number, b: &Number) -> Option<Number> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(sum) = x.checked_add(y)
    {
        return Some(Number::from(sum));
    }
    Number::from_f64(a.as_f64()? + b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn apply(kind: UpdateKind, attrs: Value, current: Option<Value>) -> Result<Value, KvError> {
        Update::parse(kind, attrs)?
            .apply("k", current.map(obj))
            .map(Value::Object)
    }

    #[test]
    fn the_four_types() {
        let cur = json!({"count": 1, "tags": ["a"], "logs": {"t1": {"time": 5}}, "l": [1, 2, 3]});
        assert_eq!(
            apply(
                UpdateKind::Increment,
                json!({"count": 2, "new": 1.5}),
                Some(cur.clone())
            ),
            Ok(
                json!({"count": 3, "tags": ["a"], "logs": {"t1": {"time": 5}}, "l": [1, 2, 3], "new": 1.5})
            )
        );
        assert_eq!(
            apply(
                UpdateKind::Append,
                json!({"tags": ["b", ""]}),
                Some(cur.clone())
            )
            .map(|v| v["tags"].clone()),
            Ok(json!(["a", "b", null]))
        );
        assert_eq!(
            apply(
                UpdateKind::Set,
                json!({"logs.t1.time": 500, "logs.t2": {"time": 1}}),
                Some(cur.clone())
            )
            .map(|v| v["logs"].clone()),
            Ok(json!({"t1": {"time": 500}, "t2": {"time": 1}}))
        );
        assert_eq!(
            apply(
                UpdateKind::Remove,
                json!(["l[0]", "l[2]", "logs.t1"]),
                Some(cur.clone())
            )
            .map(|v| (v["l"].clone(), v["logs"].clone())),
            Ok((json!([2]), json!({})))
        );
    }

    #[test]
    fn a_missing_key_is_created_except_by_remove() {
        assert_eq!(
            apply(UpdateKind::Increment, json!({"n": 1}), None),
            Ok(json!({"n": 1}))
        );
        assert_eq!(
            apply(UpdateKind::Append, json!({"l": [1]}), None),
            Ok(json!({"l": [1]}))
        );
        assert_eq!(
            apply(UpdateKind::Set, json!({"a": 1}), None),
            Ok(json!({"a": 1}))
        );
        assert!(matches!(
            apply(UpdateKind::Remove, json!(["a"]), None),
            Err(KvError::RemoveMissingKey { .. })
        ));
    }

    #[test]
    fn type_errors_answer_with_the_platform_message() {
        let e = apply(
            UpdateKind::Increment,
            json!({"name": 1}),
            Some(json!({"name": "x"})),
        )
        .expect_err("string");
        assert_eq!(e.to_string(), "Mandatory attributes missing");
        assert!(
            e.detail().is_some_and(|d| d.contains("holds a string")),
            "{e:?}"
        );
        let e = apply(UpdateKind::Append, json!({"n": [1]}), Some(json!({"n": 1})))
            .expect_err("number");
        assert_eq!(e.to_string(), "Mandatory attributes missing");
        assert!(matches!(
            apply(UpdateKind::Increment, json!({"a.b": 1}), None),
            Err(KvError::InvalidPath { .. })
        ));
        assert!(matches!(
            apply(UpdateKind::Increment, json!({"a": "1"}), None),
            Err(KvError::BadRequest(_))
        ));
        assert!(matches!(
            apply(UpdateKind::Set, json!({"a": 1, "a.b": 2}), None),
            Err(KvError::InvalidPath { .. })
        ));
        assert!(matches!(
            apply(UpdateKind::Set, json!({"x.y": 1}), Some(json!({"a": 1}))),
            Err(KvError::InvalidPath { .. })
        ));
        assert!(matches!(
            apply(UpdateKind::Remove, json!({"a": 1}), Some(json!({"a": 1}))),
            Err(KvError::BadRequest(_))
        ));
    }

    #[test]
    fn big_integers_stay_exact_until_they_overflow() {
        assert_eq!(
            apply(
                UpdateKind::Increment,
                json!({"n": 1}),
                Some(json!({"n": 9007199254740993i64}))
            ),
            Ok(json!({"n": 9007199254740994i64}))
        );
        assert_eq!(
            apply(
                UpdateKind::Increment,
                json!({"n": 1}),
                Some(json!({"n": i64::MAX}))
            )
            .map(|v| v["n"].is_f64()),
            Ok(true)
        );
    }
}
