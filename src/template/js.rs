//! The few JavaScript value semantics the language needs: truthiness, strict equality, `+`,
//! and conversion to text.
//!
//! FDK renders templates with lodash, that is with real JavaScript, so where a developer could
//! notice a difference (how `1.50` or `1e21` is printed, what `'a' + 1` gives) we follow
//! JavaScript. Two deliberate departures, both documented where they happen: objects and
//! arrays are written as JSON text (JavaScript would write `[object Object]`, which nobody
//! wants in a request), and integers read from JSON are printed exactly even beyond 2^53
//! (JavaScript would round them, silently corrupting large IDs).

use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

/// A value during evaluation. It borrows from the scope and from the template wherever it
/// can, so rendering a plain path allocates nothing but the output.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Undefined,
    Null,
    Bool(bool),
    /// A number computed by the template or written in it.
    Num(f64),
    /// A number read from the scope, kept as JSON holds it so integers print exactly.
    JsonNum(&'a Number),
    Str(Cow<'a, str>),
    /// An object or array from the scope.
    Composite(&'a Value),
}

impl<'a> Val<'a> {
    pub(crate) fn from_json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::JsonNum(n),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => Val::Composite(v),
        }
    }

    /// JavaScript's ToBoolean.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Val::Undefined | Val::Null => false,
            Val::Bool(b) => *b,
            Val::Num(_) | Val::JsonNum(_) => {
                let n = self.to_number();
                n != 0.0 && !n.is_nan()
            }
            Val::Str(s) => !s.is_empty(),
            Val::Composite(_) => true,
        }
    }

    /// JavaScript's ToNumber for the values that reach numeric `+` (never strings or objects,
    /// which make `+` concatenate).
    fn to_number(&self) -> f64 {
        match self {
            Val::Undefined => f64::NAN,
            Val::Null => 0.0,
            Val::Bool(b) => f64::from(u8::from(*b)),
            Val::Num(n) => *n,
            Val::JsonNum(n) => n.as_f64().unwrap_or(f64::NAN),
            Val::Str(_) | Val::Composite(_) => f64::NAN,
        }
    }

    /// Whether `+` with this operand concatenates. Objects count as strings because
    /// JavaScript's ToPrimitive turns them into strings.
    fn is_stringish(&self) -> bool {
        matches!(self, Val::Str(_) | Val::Composite(_))
    }
}

/// JavaScript's `a + b`.
pub(crate) fn add<'a>(a: Val<'a>, b: &Val<'a>) -> Result<Val<'a>, TooDeep> {
    if a.is_stringish() || b.is_stringish() {
        let mut s = match a {
            Val::Str(s) => s.into_owned(),
            other => {
                let mut s = String::new();
                write_str(&other, &mut s)?;
                s
            }
        };
        write_str(b, &mut s)?;
        Ok(Val::Str(Cow::Owned(s)))
    } else {
        Ok(Val::Num(a.to_number() + b.to_number()))
    }
}

/// JavaScript's `a === b`. Objects are equal only to themselves, as in JavaScript.
pub(crate) fn strict_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Undefined, Val::Undefined) | (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::JsonNum(x), Val::JsonNum(y)) if is_int(x) && is_int(y) => {
            // Exactly, to agree with how they print (see the module comment).
            x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64()
        }
        (Val::Num(_) | Val::JsonNum(_), Val::Num(_) | Val::JsonNum(_)) => {
            a.to_number() == b.to_number()
        }
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Composite(x), Val::Composite(y)) => std::ptr::eq(*x, *y),
        _ => false,
    }
}

fn is_int(n: &Number) -> bool {
    n.is_i64() || n.is_u64()
}

/// An object or array nested deeper than [`MAX_JSON_DEPTH`] cannot be written out.
#[derive(Debug)]
pub(crate) struct TooDeep;

/// Nesting limit when writing an object as JSON text. serde_json's own parser stops at 128,
/// so this only matters for values built in code; it keeps the writer's recursion bounded.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// Appends the string form of a value (JavaScript's String(v), except objects as JSON).
/// `undefined` and `null` are written as JavaScript would; the evaluator never lets them
/// reach the output (they are errors there).
pub(crate) fn write_str(v: &Val<'_>, out: &mut String) -> Result<(), TooDeep> {
    match v {
        Val::Undefined => out.push_str("undefined"),
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => write_js_number(*n, out),
        Val::JsonNum(n) => write_json_number(n, out),
        Val::Str(s) => out.push_str(s),
        Val::Composite(v) => write_json(v, out, 0)?,
    }
    Ok(())
}

fn write_json_number(n: &Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        write_js_number(n.as_f64().unwrap_or(f64::NAN), out);
    }
}

/// `JSON.stringify(v)` (compact, keys in their stored order).
fn write_json(v: &Value, out: &mut String, depth: usize) -> Result<(), TooDeep> {
    if depth > MAX_JSON_DEPTH {
        return Err(TooDeep);
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_json_number(n, out),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string literal with the escapes JSON.stringify uses.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JavaScript's Number.prototype.toString(): the shortest digits that read back as the same
/// number, in plain notation for 1e-7 < |x| < 1e21 and in exponent notation (`1e+21`,
/// `1.5e-7`) outside that range.
pub(crate) fn write_js_number(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x == 0.0 {
        out.push('0'); // also -0, as JavaScript prints it
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.2345e3" or "5e-7".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n = exp + 1; // position of the decimal point relative to the digits
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn js(x: f64) -> String {
        let mut s = String::new();
        write_js_number(x, &mut s);
        s
    }

    #[test]
    fn numbers_print_like_javascript() {
        // Expected values are what node prints for String(x).
        for (x, want) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (-1.5, "-1.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100"),
            (123456789.125, "123456789.125"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (-0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9007199254740992"),
            (0.5, "0.5"),
            (123e-20, "1.23e-18"),
        ] {
            assert_eq!(js(x), want, "{x:e}");
        }
    }

    fn s(v: &Val<'_>) -> String {
        let mut out = String::new();
        write_str(v, &mut out).unwrap();
        out
    }

    #[test]
    fn json_values_to_string() {
        let v = json!({"a": [1, 1.0, 1.5, "x\"\n\u{1}", null, true], "b": {}, "big": 12345678901234567890u64, "neg": -3});
        assert_eq!(
            s(&Val::from_json(&v)),
            r#"{"a":[1,1,1.5,"x\"\n\u0001",null,true],"b":{},"big":12345678901234567890,"neg":-3}"#
        );
        assert_eq!(s(&Val::from_json(&json!(1.0))), "1");
        assert_eq!(
            s(&Val::from_json(&json!(12345678901234567890u64))),
            "12345678901234567890"
        );
        assert_eq!(s(&Val::from_json(&json!("a"))), "a");
        assert_eq!(s(&Val::from_json(&json!(false))), "false");
    }

    #[test]
    fn json_writer_stops_at_depth_limit() {
        let mut v = json!(1);
        for _ in 0..(MAX_JSON_DEPTH + 5) {
            v = json!([v]);
        }
        let mut out = String::new();
        assert!(write_json(&v, &mut out, 0).is_err());
        // Dropping a value this deep is serde_json's business and fine at this size.
    }

    #[test]
    fn plus_follows_javascript() {
        let one = json!(1);
        let a = Val::from_json(&one);
        let cases: Vec<(Val<'_>, Val<'_>, &str)> = vec![
            (a.clone(), Val::Num(2.0), "3"),
            (Val::Str("a".into()), Val::Num(1.0), "a1"),
            (Val::Num(1.0), Val::Str("a".into()), "1a"),
            (Val::Bool(true), Val::Num(1.0), "2"),
            (Val::Bool(true), Val::Str("!".into()), "true!"),
            (Val::Num(0.1), Val::Num(0.2), "0.30000000000000004"),
        ];
        for (x, y, want) in cases {
            assert_eq!(s(&add(x.clone(), &y).unwrap()), want, "{x:?} + {y:?}");
        }
        let obj = json!({"k": 1});
        assert_eq!(
            s(&add(Val::Str("o=".into()), &Val::from_json(&obj)).unwrap()),
            r#"o={"k":1}"#
        );
        assert_eq!(
            s(&add(Val::Num(1.0), &Val::from_json(&obj)).unwrap()),
            r#"1{"k":1}"#
        );
    }

    #[test]
    fn truthiness() {
        let zero = json!(0);
        let zf = json!(0.0);
        let empty_obj = json!({});
        let empty_arr = json!([]);
        for (v, want) in [
            (Val::Undefined, false),
            (Val::Null, false),
            (Val::Bool(false), false),
            (Val::Bool(true), true),
            (Val::Num(0.0), false),
            (Val::Num(f64::NAN), false),
            (Val::Num(-1.0), true),
            (Val::from_json(&zero), false),
            (Val::from_json(&zf), false),
            (Val::Str("".into()), false),
            (Val::Str("0".into()), true),
            (Val::from_json(&empty_obj), true),
            (Val::from_json(&empty_arr), true),
        ] {
            assert_eq!(v.truthy(), want, "{v:?}");
        }
    }

    #[test]
    fn strict_equality() {
        let one = json!(1);
        let one_f = json!(1.0);
        let big1 = json!(9007199254740993u64);
        let big2 = json!(9007199254740992u64);
        let obj = json!({"a": 1});
        let obj2 = json!({"a": 1});
        assert!(strict_eq(&Val::from_json(&one), &Val::Num(1.0)));
        assert!(strict_eq(&Val::from_json(&one), &Val::from_json(&one_f)));
        assert!(!strict_eq(&Val::from_json(&big1), &Val::from_json(&big2)));
        assert!(!strict_eq(&Val::Num(1.0), &Val::Str("1".into())));
        assert!(!strict_eq(&Val::Null, &Val::Undefined));
        assert!(strict_eq(&Val::Undefined, &Val::Undefined));
        assert!(strict_eq(&Val::Null, &Val::Null));
        assert!(!strict_eq(&Val::Num(f64::NAN), &Val::Num(f64::NAN)));
        assert!(strict_eq(
            &Val::Str("a".into()),
            &Val::Str(String::from("a").into())
        ));
        assert!(strict_eq(&Val::from_json(&obj), &Val::from_json(&obj)));
        assert!(!strict_eq(&Val::from_json(&obj), &Val::from_json(&obj2)));
        assert!(strict_eq(&Val::Bool(true), &Val::Bool(true)));
        assert!(!strict_eq(&Val::Bool(true), &Val::Num(1.0)));
    }
}
