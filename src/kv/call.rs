//! FDK's wire format of the `db` route (`POST /dprouter`, `MKP-ROUTE: db`), as the front-end
//! SDK sends it (fdk-oracle §7):
//!
//! ```text
//! {"action":"store",  "dbKey":"k1", "data":{...}, "options":{"ttl":60} | {"setIf":"exist"|"not_exist"}}
//! {"action":"fetch",  "dbKey":"k1"}
//! {"action":"update", "dbKey":"k1", "type":"set"|"append"|"increment"|"remove", "attributes":{...}|[...], "options":{"setIf":…}}
//! {"action":"delete", "dbKey":"k1"}
//! ```
//!
//! and its answers: 201 `{"Created":true}`, 200 with the value, 200 `{"Updated":true}`,
//! 200 `{"Deleted":true}`.

use serde_json::{Map, Value};

use super::error::UpdateKind;
use super::update::Update;
use super::{KvError, SetIf, SetOptions, UpdateOptions};
use crate::store::KvRecord;

/// One call of the `db` route, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Store {
        key: String,
        value: Value,
        options: SetOptions,
    },
    Fetch {
        key: String,
    },
    Update {
        key: String,
        update: Update,
        options: UpdateOptions,
    },
    Delete {
        key: String,
    },
}

/// What a call answers when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Created,
    Fetched(KvRecord),
    Updated,
    Deleted,
}

impl Answer {
    pub fn status(&self) -> u16 {
        match self {
            Answer::Created => 201,
            _ => 200,
        }
    }

    /// The body, as FDK answers it: the stored value itself for a fetch.
    pub fn body_text(&self) -> String {
        match self {
            Answer::Created => r#"{"Created":true}"#.to_string(),
            Answer::Fetched(r) => r.value.clone(),
            Answer::Updated => r#"{"Updated":true}"#.to_string(),
            Answer::Deleted => r#"{"Deleted":true}"#.to_string(),
        }
    }
}

const ACTIONS: &str = "\"store\", \"fetch\", \"update\" or \"delete\"";

impl Call {
    /// Reads a request body.
    pub fn from_slice(body: &[u8]) -> Result<Call, KvError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            KvError::BadRequest(format!(
                "the body of the db call is not JSON ({e}); send e.g. {{\"action\":\"fetch\",\"dbKey\":\"ticket:101\"}}"
            ))
        })?;
        Call::from_json(v)
    }

    pub fn from_json(v: Value) -> Result<Call, KvError> {
        let Value::Object(mut body) = v else {
            return Err(KvError::BadRequest(
                "the body of the db call must be a JSON object with an \"action\"".into(),
            ));
        };
        let action = match body.get("action") {
            Some(Value::String(a)) => a.clone(),
            Some(_) => {
                return Err(KvError::BadRequest(format!(
                    "\"action\" must be a string: {ACTIONS}"
                )));
            }
            None => {
                return Err(KvError::BadRequest(format!(
                    "the db call has no \"action\"; it is one of {ACTIONS}"
                )));
            }
        };
        if !matches!(action.as_str(), "store" | "fetch" | "update" | "delete") {
            return Err(KvError::BadRequest(format!(
                "unknown action {action:?} for the db route; it is one of {ACTIONS}"
            )));
        }
        let key = db_key(&body)?;
        Ok(match action.as_str() {
            "store" => {
                let value = body.remove("data").ok_or_else(|| {
                    KvError::BadRequest(format!(
                        "the store of {key:?} has no \"data\": the value to store, e.g. {{\"ticketId\": 42}}"
                    ))
                })?;
                let options = SetOptions::from_json(body.get("options"))?;
                Call::Store {
                    key,
                    value,
                    options,
                }
            }
            "fetch" => Call::Fetch { key },
            "delete" => Call::Delete { key },
            _ => {
                let kind = match body.get("type") {
                    Some(Value::String(t)) => match t.as_str() {
                        "set" => UpdateKind::Set,
                        "append" => UpdateKind::Append,
                        "increment" => UpdateKind::Increment,
                        "remove" => UpdateKind::Remove,
                        other => {
                            return Err(KvError::BadRequest(format!(
                                "unknown update type {other:?}; it is one of \"set\", \"append\", \"increment\", \"remove\""
                            )));
                        }
                    },
                    _ => {
                        return Err(KvError::BadRequest(format!(
                            "the update of {key:?} has no \"type\": one of \"set\", \"append\", \"increment\", \"remove\""
                        )));
                    }
                };
                let attributes = body.remove("attributes").ok_or_else(|| {
                    KvError::BadRequest(format!(
                        "the update of {key:?} has no \"attributes\" (what to {kind})"
                    ))
                })?;
                Call::Update {
                    update: Update::parse(kind, attributes)?,
                    options: UpdateOptions::from_json(body.get("options"))?,
                    key,
                }
            }
        })
    }

    pub fn key(&self) -> &str {
        match self {
            Call::Store { key, .. }
            | Call::Fetch { key }
            | Call::Update { key, .. }
            | Call::Delete { key } => key,
        }
    }

    /// The action's name, for log lines.
    pub fn action(&self) -> &'static str {
        match self {
            Call::Store { .. } => "store",
            Call::Fetch { .. } => "fetch",
            Call::Update { .. } => "update",
            Call::Delete { .. } => "delete",
        }
    }
}

/// `dbKey`: a string, or a number as JavaScript turns it into a property name.
fn db_key(body: &Map<String, Value>) -> Result<String, KvError> {
    match body.get("dbKey") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(KvError::BadRequest(format!(
            "\"dbKey\" must be a string, e.g. \"ticket:101\"; got {}",
            super::path::kind(other)
        ))),
        None => Err(KvError::BadRequest(
            "the db call has no \"dbKey\": the key to read or write, e.g. \"ticket:101\"".into(),
        )),
    }
}

/// `setIf` of the options: `"exist"` or `"not_exist"`.
fn set_if(options: &Map<String, Value>) -> Result<Option<SetIf>, KvError> {
    match options.get("setIf") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "exist" => Ok(Some(SetIf::Exist)),
        Some(Value::String(s)) if s == "not_exist" => Ok(Some(SetIf::NotExist)),
        Some(other) => Err(KvError::BadRequest(format!(
            "options.setIf is \"exist\" or \"not_exist\"; got {other}"
        ))),
    }
}

fn options_object(options: Option<&Value>) -> Result<Map<String, Value>, KvError> {
    match options {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(KvError::BadRequest(format!(
            "\"options\" must be an object such as {{\"ttl\": 60}}; got {}",
            super::path::kind(other)
        ))),
    }
}

impl SetOptions {
    /// The `options` of a store. `ttl` in seconds, integer or float (a numeric string too,
    /// as FDK reads it with `parseFloat`); zero or less means no expiry.
    pub fn from_json(options: Option<&Value>) -> Result<SetOptions, KvError> {
        let o = options_object(options)?;
        let ttl = match o.get("ttl") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => Some(s.trim().parse::<f64>().map_err(|_| {
                KvError::BadRequest(format!(
                    "options.ttl must be a number of seconds, e.g. 60; got the string {s:?}"
                ))
            })?),
            Some(other) => {
                return Err(KvError::BadRequest(format!(
                    "options.ttl must be a number of seconds, e.g. 60; got {}",
                    super::path::kind(other)
                )));
            }
        };
        Ok(SetOptions {
            set_if: set_if(&o)?,
            ttl: ttl.filter(|t| t.is_finite() && *t > 0.0),
        })
    }
}

impl UpdateOptions {
    /// The `options` of an update: `setIf`. An update keeps the key's expiry.
    pub fn from_json(options: Option<&Value>) -> Result<UpdateOptions, KvError> {
        let o = options_object(options)?;
        Ok(UpdateOptions {
            set_if: set_if(&o)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Call, KvError> {
        Call::from_json(v)
    }

    #[test]
    fn fdk_bodies_parse() {
        assert_eq!(
            parse(
                json!({"action": "store", "dbKey": "k1", "data": {"x": 1}, "options": {"ttl": 60}})
            ),
            Ok(Call::Store {
                key: "k1".into(),
                value: json!({"x": 1}),
                options: SetOptions {
                    set_if: None,
                    ttl: Some(60.0)
                }
            })
        );
        assert_eq!(
            parse(
                json!({"action": "store", "dbKey": 7, "data": {"x": 1}, "options": {"setIf": "not_exist", "ttl": -1}})
            ),
            Ok(Call::Store {
                key: "7".into(),
                value: json!({"x": 1}),
                options: SetOptions {
                    set_if: Some(SetIf::NotExist),
                    ttl: None
                }
            })
        );
        assert_eq!(
            parse(json!({"action": "fetch", "dbKey": "k"})),
            Ok(Call::Fetch { key: "k".into() })
        );
        assert!(matches!(
            parse(
                json!({"action": "update", "dbKey": "k", "type": "increment", "attributes": {"n": 1}})
            ),
            Ok(Call::Update { .. })
        ));
    }

    #[test]
    fn bad_calls_name_the_problem() {
        let msg = |v: Value| match parse(v) {
            Err(KvError::BadRequest(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(msg(json!({"dbKey": "k"})).contains("no \"action\""));
        assert!(msg(json!({"action": "list", "dbKey": "k"})).contains("unknown action \"list\""));
        assert!(msg(json!({"action": "fetch"})).contains("no \"dbKey\""));
        assert!(msg(json!({"action": "store", "dbKey": "k"})).contains("no \"data\""));
        assert!(
            msg(json!({"action": "update", "dbKey": "k", "type": "merge", "attributes": {}}))
                .contains("unknown update type \"merge\"")
        );
        assert!(msg(json!({"action": "store", "dbKey": "k", "data": {"a": 1}, "options": {"setIf": "maybe"}})).contains("setIf"));
        assert!(msg(json!({"action": "store", "dbKey": "k", "data": {"a": 1}, "options": {"ttl": "soon"}})).contains("ttl"));
        assert!(
            matches!(Call::from_slice(b"not json"), Err(KvError::BadRequest(m)) if m.contains("not JSON"))
        );
    }
}
