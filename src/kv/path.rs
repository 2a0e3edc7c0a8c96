//! Attribute paths of `update`: `logs.ticket_11233.timelog`, `items[2].name`, as the platform
//! documents them (dot notation, `[n]` for an array element).
//!
//! What a path may do follows the store behind the platform (DynamoDB, whose wording the
//! platform's errors keep): a `set` needs the parent of its last step to exist, an index past
//! the end of an array appends, a `remove` of something absent is no error, and two paths of
//! one update may not overlap (one a prefix of the other).

use std::cmp::Ordering;
use std::fmt;

pub use crate::json_kind::kind;
use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Name(String),
    Index(usize),
}

/// A parsed attribute path; never empty, and it starts with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    steps: Vec<Step>,
}

/// Why a path cannot be read or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let err = |reason: &str| PathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        if text.trim().is_empty() {
            return Err(err("the path is empty"));
        }
        let mut steps = Vec::new();
        let mut rest = text;
        // Whether the next character may start a name (at the start and after a dot).
        let mut want_name = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                if want_name && steps.is_empty() {
                    return Err(err("a path starts with an attribute name, not [index]"));
                }
                let close = after.find(']').ok_or_else(|| err("a [ has no closing ]"))?;
                let digits = &after[..close];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("an array index must be a number, as in items[0]"));
                }
                let index = digits
                    .parse::<usize>()
                    .map_err(|_| err("the array index is too large"))?;
                steps.push(Step::Index(index));
                rest = &after[close + 1..];
                want_name = false;
                if let Some(r) = rest.strip_prefix('.') {
                    rest = r;
                    want_name = true;
                    if rest.is_empty() {
                        return Err(err("the path ends with a dot"));
                    }
                } else if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(err("after ] comes a dot or another [index]"));
                }
                continue;
            }
            if !want_name {
                return Err(err("after ] comes a dot or another [index]"));
            }
            let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty() {
                return Err(err(
                    "the path has an empty attribute name (two dots, or a leading dot)",
                ));
            }
            steps.push(Step::Name(name.to_string()));
            rest = &rest[end..];
            if rest.starts_with(']') {
                return Err(err("a ] has no opening ["));
            }
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
                if rest.is_empty() {
                    return Err(err("the path ends with a dot"));
                }
                want_name = true;
            } else {
                want_name = false;
            }
        }
        Ok(Path {
            text: text.to_string(),
            steps,
        })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the path names a top-level attribute (one step).
    pub fn is_top_level(&self) -> bool {
        self.steps.len() == 1
    }

    /// Whether one of the two paths is a prefix of the other (or they are equal).
    pub fn overlaps(&self, other: &Path) -> bool {
        self.steps
            .iter()
            .zip(other.steps.iter())
            .all(|(a, b)| a == b)
    }

    fn error(&self, reason: impl Into<String>) -> PathError {
        PathError {
            path: self.text.clone(),
            reason: reason.into(),
        }
    }

    /// The container that holds the last step, walking from `root`; an error naming the
    /// step when one on the way is missing or of the wrong kind.
    fn parent_mut<'a>(&self, root: &'a mut Map<String, Value>) -> Result<Parent<'a>, PathError> {
        let (last, walk) = self
            .steps
            .split_last()
            .ok_or_else(|| self.error("the path is empty"))?;
        // A one-step path: its parent is the root itself.
        let Some((first, walk)) = walk.split_first() else {
            return Ok(Parent::Object(root));
        };
        let Step::Name(first) = first else {
            return Err(self.error("a path starts with an attribute name"));
        };
        let mut at: &mut Value = root
            .get_mut(first)
            .ok_or_else(|| self.error(format!("there is no attribute {first:?}")))?;
        let mut shown = first.clone();
        for step in walk {
            at = match (step, at) {
                (Step::Name(n), Value::Object(m)) => m
                    .get_mut(n)
                    .ok_or_else(|| self.error(format!("{shown} has no attribute {n:?}")))?,
                (Step::Index(i), Value::Array(a)) => {
                    let len = a.len();
                    a.get_mut(*i).ok_or_else(|| {
                        self.error(format!(
                            "{shown} has {len} element(s), so [{i}] is not there"
                        ))
                    })?
                }
                (Step::Name(n), other) => {
                    return Err(self.error(format!(
                        "{shown} is {}, not an object, so it has no attribute {n:?}",
                        kind(other)
                    )));
                }
                (Step::Index(i), other) => {
                    return Err(self.error(format!(
                        "{shown} is {}, not an array, so it has no element [{i}]",
                        kind(other)
                    )));
                }
            };
            shown = match step {
                Step::Name(n) => format!("{shown}.{n}"),
                Step::Index(i) => format!("{shown}[{i}]"),
            };
        }
        match (last, at) {
            (Step::Name(_), Value::Object(m)) => Ok(Parent::Object(m)),
            (Step::Index(_), Value::Array(a)) => Ok(Parent::Array(a)),
            (Step::Name(n), other) => Err(self.error(format!(
                "{shown} is {}, not an object, so it has no attribute {n:?}",
                kind(other)
            ))),
            (Step::Index(i), other) => Err(self.error(format!(
                "{shown} is {}, not an array, so it has no element [{i}]",
                kind(other)
            ))),
        }
    }

    /// Sets the attribute the path names. Its parent must exist; an index at or past the end
    /// of an array appends.
    pub fn set(&self, root: &mut Map<String, Value>, value: Value) -> Result<(), PathError> {
        let last = self.steps.last().cloned();
        match (self.parent_mut(root)?, last) {
            (Parent::Object(m), Some(Step::Name(n))) => {
                m.insert(n, value);
            }
            (Parent::Array(a), Some(Step::Index(i))) => {
                if i < a.len() {
                    a[i] = value;
                } else {
                    a.push(value);
                }
            }
            _ => return Err(self.error("the path does not fit the value")),
        }
        Ok(())
    }

    /// Removes the attribute the path names; nothing happens when it is not there, but its
    /// parent must exist.
    pub fn remove(&self, root: &mut Map<String, Value>) -> Result<(), PathError> {
        let last = self.steps.last().cloned();
        match (self.parent_mut(root)?, last) {
            (Parent::Object(m), Some(Step::Name(n))) => {
                m.shift_remove(&n);
            }
            (Parent::Array(a), Some(Step::Index(i))) => {
                if i < a.len() {
                    a.remove(i);
                }
            }
            _ => return Err(self.error("the path does not fit the value")),
        }
        Ok(())
    }

    /// The order in which removals must run so that removing an array element never shifts
    /// another path's target: later paths first, indexes compared as numbers.
    pub fn removal_order(a: &Path, b: &Path) -> Ordering {
        for (x, y) in a.steps.iter().zip(b.steps.iter()) {
            let o = match (x, y) {
                (Step::Index(i), Step::Index(j)) => j.cmp(i),
                (Step::Name(m), Step::Name(n)) => n.cmp(m),
                (Step::Name(_), Step::Index(_)) => Ordering::Less,
                (Step::Index(_), Step::Name(_)) => Ordering::Greater,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        b.steps.len().cmp(&a.steps.len())
    }
}

enum Parent<'a> {
    Object(&'a mut Map<String, Value>),
    Array(&'a mut Vec<Value>),
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

    #[test]
    fn paths_parse_as_documented() {
        let p = Path::parse("logs.ticket_id:11233.timelog").expect("path");
        assert_eq!(
            p.steps(),
            &[
                Step::Name("logs".into()),
                Step::Name("ticket_id:11233".into()),
                Step::Name("timelog".into())
            ]
        );
        let p = Path::parse("items[2][0].name").expect("path");
        assert_eq!(
            p.steps(),
            &[
                Step::Name("items".into()),
                Step::Index(2),
                Step::Index(0),
                Step::Name("name".into())
            ]
        );
        for bad in [
            "", " ", ".a", "a.", "a..b", "[0]", "a[x]", "a[", "a]", "a[0]b", "a[-1]",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn set_needs_the_parent_and_appends_past_the_end() {
        let mut v = obj(json!({"a": {"b": 1}, "l": [1, 2]}));
        Path::parse("a.c")
            .expect("p")
            .set(&mut v, json!(2))
            .expect("set");
        Path::parse("l[1]")
            .expect("p")
            .set(&mut v, json!(9))
            .expect("set");
        Path::parse("l[7]")
            .expect("p")
            .set(&mut v, json!(3))
            .expect("set");
        Path::parse("new")
            .expect("p")
            .set(&mut v, json!("x"))
            .expect("set");
        assert_eq!(
            Value::Object(v.clone()),
            json!({"a": {"b": 1, "c": 2}, "l": [1, 9, 3], "new": "x"})
        );
        let e = Path::parse("missing.x")
            .expect("p")
            .set(&mut v, json!(1))
            .expect_err("no parent");
        assert!(e.reason.contains("no attribute \"missing\""), "{e:?}");
        let e = Path::parse("a.b.c")
            .expect("p")
            .set(&mut v, json!(1))
            .expect_err("a number has no attribute");
        assert!(e.reason.contains("a.b is a number"), "{e:?}");
    }

    #[test]
    fn removals_in_order_keep_their_targets() {
        let mut v = obj(json!({"l": [{"x": 1}, "b", {"x": 2}, "d"], "k": 1}));
        let mut paths: Vec<Path> = ["l[0]", "l[2].x", "l[3]", "k", "gone"]
            .iter()
            .map(|p| Path::parse(p).expect("p"))
            .collect();
        paths.sort_by(Path::removal_order);
        for p in &paths {
            p.remove(&mut v).expect("remove");
        }
        assert_eq!(Value::Object(v), json!({"l": ["b", {}]}));
    }

    #[test]
    fn overlapping_paths_are_seen() {
        let a = Path::parse("a.b").expect("p");
        assert!(a.overlaps(&Path::parse("a").expect("p")));
        assert!(a.overlaps(&Path::parse("a.b.c").expect("p")));
        assert!(!a.overlaps(&Path::parse("a.c").expect("p")));
        assert!(!a.overlaps(&Path::parse("ab").expect("p")));
    }
}
