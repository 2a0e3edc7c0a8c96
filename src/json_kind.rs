//! How a JSON value is named in error messages ("a string", "an array", …): the db route and
//! invokeTemplate both tell the caller what they sent where something else was expected.

use serde_json::Value;

/// The article and kind of `v`, as a message says it: "`data` must be an object, not a string".
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
