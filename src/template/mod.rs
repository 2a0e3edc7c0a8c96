//! The `<%= expression %>` substitution language of `config/requests.json` and
//! `config/oauth_config.json`.
//!
//! FDK renders these files with lodash's `_.template`, i.e. it runs arbitrary JavaScript. We do
//! not embed a JavaScript engine: we parse the small language real apps use and evaluate it
//! ourselves. That keeps the server safe (an app's config cannot run code), fast (a template is
//! parsed once and rendered per request without re-parsing), and lets errors name the exact
//! variable that is missing instead of lodash's "Error while substituting the templates".
//!
//! # The language
//!
//! Text outside tags is copied as is. A tag is `<%= expr %>` (`<%- expr %>` is the same: there
//! is no HTML to escape). Any other `<%` is an error: we do not run code blocks. Expressions:
//!
//! * variables: `iparam.api_key`, `context.ticket.id`, `context["a-b"]`, `context.items[0]`,
//!   `access_token`. The first name (the *root*) is looked up in the scope given to
//!   [`Template::render`]; which roots exist depends on the caller (`iparam`, `context`,
//!   `access_token`, `oauth_iparams`, `current_host`, …);
//! * literals: `'…'` and `"…"` with JavaScript escapes, numbers, `true`, `false`, `null`,
//!   `undefined`;
//! * `a + b` (string concatenation if either side is a string or object, else addition),
//!   `a || b`, `c ? a : b`, `a === b`, `a !== b`, parentheses, and `-` before a number;
//! * `encode(x)`: standard base64 (with padding) of x's text; a second argument such as
//!   `encode(x, 'base64')` is accepted and ignored, as FDK only supports base64.
//!
//! # Stricter than lodash, on purpose
//!
//! lodash renders a missing key or `null` as an empty string or `undefined` and sends the
//! request anyway; the developer then debugs a 401 from the remote API. Here a missing
//! variable or a `null` value is an error naming the path (`iparam.api_key` is not defined).
//! The exceptions are the places where JavaScript code tests a value rather than uses it: the
//! left side of `||`, the condition of `? :`, and the operands of `===`/`!==`. There a missing
//! value (even through a missing parent: `context.ticket.id || 'x'`) is `undefined`, so
//! `iparam.region || 'us'` works when region is unset. A root that does not exist at all
//! (`access_token` without OAuth, a misspelt `iparams`) is always an error, even there: it is
//! a mistake in the template, not an optional value.
//!
//! # Per string value
//!
//! FDK renders the whole file as one text and parses the result as JSON, so a value holding a
//! quote breaks the request. Callers here render each JSON string separately ([`render_value`]), and substituted values are inserted as they are, never parsed again: a
//! value containing `"`, `\` or `<%=` ends up in the output verbatim.

mod error;
mod js;
mod lex;
mod parse;

pub(crate) use error::edit_distance;
pub use error::{Error, ParseError, ParseErrorKind, RenderError, RenderErrorKind, ValueError};
pub use parse::MAX_DEPTH;

use base64::Engine as _;
use js::Val;
use parse::{Expr, Part};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::ops::Range;

/// A parsed template: literal text and the expressions of its tags.
///
/// Parse once (when the app's files are loaded), render for every request.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    src: Box<str>,
    parts: Vec<Part>,
    /// Bytes of literal text plus a guess per tag, to size the output in one allocation.
    size_hint: usize,
}

/// Where the value of one tag landed in a rendered text ([`Template::render_marked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted<'t> {
    /// Byte range of the value in the output.
    pub range: Range<usize>,
    /// The tag's expression as written, e.g. `context.id`.
    pub expr: &'t str,
}

/// A variable used by a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The root and keys, e.g. `["iparam", "api_key"]` or `["context", "a-b", "0"]`.
    pub path: Vec<String>,
    /// Byte range of the `<%= … %>` tag that uses it, in the template source.
    pub span: Range<usize>,
}

impl Reference {
    /// The root name (`iparam`, `context`, `access_token`, …).
    pub fn root(&self) -> &str {
        self.path.first().map_or("", String::as_str)
    }

    /// The path as it would be written in a template, e.g. `context["a-b"][0]`.
    pub fn dotted(&self) -> String {
        format_path(&self.path)
    }
}

/// Parses a template.
pub fn parse(src: &str) -> Result<Template, ParseError> {
    let parts = parse::parse_template(src)?;
    let size_hint = parts
        .iter()
        .map(|p| match p {
            Part::Text(r) => r.len(),
            Part::Tag { .. } => 16,
        })
        .sum();
    Ok(Template {
        src: src.into(),
        parts,
        size_hint,
    })
}

impl std::str::FromStr for Template {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse(s)
    }
}

impl Template {
    /// Renders with the variables in `scope` (a JSON object whose keys are the roots: iparam,
    /// context, access_token, oauth_iparams, current_host).
    pub fn render(&self, scope: &Map<String, Value>) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.size_hint);
        self.render_into(scope, &mut out)?;
        Ok(out)
    }

    /// Like [`render`](Self::render) but appends to `out`, e.g. to build a URL from several
    /// templates in one buffer. On error, `out` may hold part of the output.
    pub fn render_into(
        &self,
        scope: &Map<String, Value>,
        out: &mut String,
    ) -> Result<(), RenderError> {
        self.render_parts(scope, out, |_| {})
    }

    /// Renders and says where each tag's value landed in the output, so that a caller can
    /// tell the template's own text from what a value put there (the URL of a request keeps
    /// the shape its template gives it, whatever a value holds).
    pub fn render_marked<'t>(
        &'t self,
        scope: &Map<String, Value>,
    ) -> Result<(String, Vec<Inserted<'t>>), RenderError> {
        let mut out = String::with_capacity(self.size_hint);
        let mut marks = Vec::new();
        self.render_parts(scope, &mut out, |m| marks.push(m))?;
        Ok((out, marks))
    }

    fn render_parts<'t>(
        &'t self,
        scope: &Map<String, Value>,
        out: &mut String,
        mut inserted: impl FnMut(Inserted<'t>),
    ) -> Result<(), RenderError> {
        for part in &self.parts {
            match part {
                Part::Text(range) => out.push_str(self.src.get(range.clone()).unwrap_or("")),
                Part::Tag { expr, span } => {
                    let start = out.len();
                    let fail = |kind| RenderError {
                        span: span.clone(),
                        kind,
                    };
                    let cx = Cx {
                        scope,
                        tag: self.tag_text(span),
                    };
                    let v = eval(expr, Mode::Strict, &cx).map_err(fail)?;
                    match v {
                        // Strict evaluation never yields these; kept as errors, not panics.
                        Val::Null => {
                            return Err(fail(RenderErrorKind::NullLiteral { literal: "null" }));
                        }
                        Val::Undefined => {
                            return Err(fail(RenderErrorKind::NullLiteral {
                                literal: "undefined",
                            }));
                        }
                        v => js::write_str(&v, out).map_err(|_| fail(cx.too_deep()))?,
                    }
                    inserted(Inserted {
                        range: start..out.len(),
                        expr: self.tag_text(span),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every variable path referenced, in source order, with the byte range of its tag.
    /// A path used twice is listed twice.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        for part in &self.parts {
            if let Part::Tag { expr, span } = part {
                collect_refs(expr, span, &mut refs);
            }
        }
        refs
    }

    /// True when there is no tag at all: rendering returns the source unchanged.
    pub fn is_literal(&self) -> bool {
        !self.parts.iter().any(|p| matches!(p, Part::Tag { .. }))
    }

    /// The text this template was parsed from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The expression text of a tag, for messages.
    fn tag_text(&self, span: &Range<usize>) -> &str {
        self.src
            .get(span.start + 3..span.end.saturating_sub(2))
            .unwrap_or("")
            .trim()
    }
}

/// Parses and renders in one go, for callers that render a value once.
pub fn render_str(src: &str, scope: &Map<String, Value>) -> Result<String, Error> {
    if !src.contains("<%") {
        return Ok(src.to_owned());
    }
    Ok(parse(src)?.render(scope)?)
}

/// Recursively renders every string value inside a JSON value (objects: values only, never
/// keys; arrays: items), leaving non-strings alone. Errors carry the JSON pointer of the
/// failing string.
pub fn render_value(v: &Value, scope: &Map<String, Value>) -> Result<Value, ValueError> {
    let mut pointer = String::new();
    render_value_at(v, scope, &mut pointer)
}

fn render_value_at(
    v: &Value,
    scope: &Map<String, Value>,
    pointer: &mut String,
) -> Result<Value, ValueError> {
    Ok(match v {
        Value::String(s) => Value::String(render_str(s, scope).map_err(|error| ValueError {
            pointer: pointer.clone(),
            error,
        })?),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                push_pointer_index(pointer, i);
                out.push(render_value_at(item, scope, pointer)?);
                pointer.truncate(len);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, item) in map {
                let len = pointer.len();
                push_pointer_key(pointer, k);
                out.insert(k.clone(), render_value_at(item, scope, pointer)?);
                pointer.truncate(len);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Appends `/key` to a JSON pointer, escaping `~` and `/` (RFC 6901).
fn push_pointer_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn push_pointer_index(pointer: &mut String, i: usize) {
    pointer.push('/');
    pointer.push_str(&i.to_string());
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Whether a missing or null value is an error (`Strict`: the value is used) or counts as
/// `undefined`/`null` (`Lenient`: the value is only tested, see the module comment).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Strict,
    Lenient,
}

/// What evaluation of one tag needs besides the expression.
struct Cx<'a> {
    scope: &'a Map<String, Value>,
    /// The tag's expression text, to name a value that cannot be printed.
    tag: &'a str,
}

impl Cx<'_> {
    fn too_deep(&self) -> RenderErrorKind {
        RenderErrorKind::TooDeep {
            path: self.tag.to_owned(),
        }
    }
}

/// Evaluates an expression. In `Strict` mode the result is never `Null` or `Undefined`.
///
/// Recursion follows the tree, whose depth the parser bounds (see `parse::MAX_DEPTH`).
fn eval<'a>(e: &'a Expr, mode: Mode, cx: &Cx<'a>) -> Result<Val<'a>, RenderErrorKind> {
    match e {
        Expr::Str(s) => Ok(Val::Str(Cow::Borrowed(s))),
        Expr::Num(n) => Ok(Val::Num(*n)),
        Expr::Bool(b) => Ok(Val::Bool(*b)),
        Expr::Null => match mode {
            Mode::Strict => Err(RenderErrorKind::NullLiteral { literal: "null" }),
            Mode::Lenient => Ok(Val::Null),
        },
        Expr::Undefined => match mode {
            Mode::Strict => Err(RenderErrorKind::NullLiteral {
                literal: "undefined",
            }),
            Mode::Lenient => Ok(Val::Undefined),
        },
        Expr::Path(segments) => lookup(segments, mode, cx.scope),
        Expr::Add(items) => {
            // JavaScript would happily produce "undefined:x"; an operand of `+` is used, so
            // it must exist.
            let mut iter = items.iter();
            let mut acc = match iter.next() {
                Some(first) => eval(first, Mode::Strict, cx)?,
                None => Val::Undefined,
            };
            for item in iter {
                let v = eval(item, Mode::Strict, cx)?;
                acc = js::add(acc, &v).map_err(|_| cx.too_deep())?;
            }
            Ok(acc)
        }
        Expr::Or(items) => {
            let Some((last, firsts)) = items.split_last() else {
                return Ok(Val::Undefined);
            };
            for item in firsts {
                let v = eval(item, Mode::Lenient, cx)?;
                if v.truthy() {
                    return Ok(v);
                }
            }
            eval(last, mode, cx)
        }
        Expr::Eq(first, rest) => {
            let mut acc = eval(first, Mode::Lenient, cx)?;
            for (negated, item) in rest {
                let v = eval(item, Mode::Lenient, cx)?;
                acc = Val::Bool(js::strict_eq(&acc, &v) != *negated);
            }
            Ok(acc)
        }
        Expr::Cond(test, then, otherwise) => {
            if eval(test, Mode::Lenient, cx)?.truthy() {
                eval(then, mode, cx)
            } else {
                eval(otherwise, mode, cx)
            }
        }
        Expr::Encode(value, _encoding) => {
            let v = eval(value, Mode::Strict, cx)?;
            let encoded = match &v {
                Val::Str(s) => base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                other => {
                    let mut text = String::new();
                    js::write_str(other, &mut text).map_err(|_| cx.too_deep())?;
                    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
                }
            };
            Ok(Val::Str(Cow::Owned(encoded)))
        }
    }
}

/// Looks a variable up in the scope.
fn lookup<'a>(
    segments: &'a [Box<str>],
    mode: Mode,
    scope: &'a Map<String, Value>,
) -> Result<Val<'a>, RenderErrorKind> {
    let Some((root, keys)) = segments.split_first() else {
        return Ok(Val::Undefined);
    };
    let Some(mut cur) = scope.get(&**root) else {
        return Err(RenderErrorKind::RootUnavailable {
            path: format_path(segments),
            root: root.to_string(),
            available: scope.keys().cloned().collect(),
        });
    };
    for (i, key) in keys.iter().enumerate() {
        let next = match cur {
            Value::Object(map) => map.get(&**key),
            Value::Array(items) => array_index(key).and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None if mode == Mode::Lenient => return Ok(Val::Undefined),
            None => {
                return Err(RenderErrorKind::Undefined {
                    path: format_path(segments),
                    reason: missing_reason(&segments[..=i], key, cur),
                });
            }
        }
    }
    if cur.is_null() && mode == Mode::Strict {
        return Err(RenderErrorKind::Null {
            path: format_path(segments),
        });
    }
    Ok(Val::from_json(cur))
}

/// `key` as an array index, if it is one the way JavaScript writes them (`0`, `12`, not
/// `01` or `+1`).
fn array_index(key: &str) -> Option<usize> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

/// Why `key` is missing from `parent` (the value at path `parent_path`), in words.
fn missing_reason(parent_path: &[Box<str>], key: &str, parent: &Value) -> String {
    let parent_name = format_path(parent_path);
    let child = format_path(&[parent_path, &[key.into()]].concat());
    match parent {
        Value::Object(_) if parent_path.len() == 1 => match &*parent_path[0] {
            "context" => format!("the call passed no `{child}`"),
            "iparam" => format!(
                "no installation parameter `{key}` is set \
                 (write `{child} || 'default'` if it is optional)"
            ),
            "oauth_iparams" => format!("no OAuth iparam `{key}` is set"),
            _ => format!("`{parent_name}` has no key `{key}`"),
        },
        Value::Object(_) => format!("`{parent_name}` has no key `{key}`"),
        Value::Array(items) if array_index(key).is_some() => {
            let n = items.len();
            format!(
                "`{parent_name}` has only {n} item{}",
                if n == 1 { "" } else { "s" }
            )
        }
        Value::Array(_) => format!("`{parent_name}` is an array: index it like `{parent_name}[0]`"),
        Value::Null => format!("`{parent_name}` is null"),
        Value::String(_) => format!("`{parent_name}` is a string, not an object"),
        Value::Number(_) => format!("`{parent_name}` is a number, not an object"),
        Value::Bool(_) => format!("`{parent_name}` is a boolean, not an object"),
    }
}

/// A path as a developer writes it: `a.b`, `a["x-y"]`, `a.items[0]`.
fn format_path<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let seg = seg.as_ref();
        let ident = seg
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && seg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if i == 0 {
            out.push_str(seg);
        } else if ident {
            out.push('.');
            out.push_str(seg);
        } else if array_index(seg).is_some() {
            out.push('[');
            out.push_str(seg);
            out.push(']');
        } else {
            out.push('[');
            out.push_str(&Value::String(seg.to_owned()).to_string());
            out.push(']');
        }
    }
    out
}

fn collect_refs(e: &Expr, span: &Range<usize>, out: &mut Vec<Reference>) {
    match e {
        Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Null | Expr::Undefined => {}
        Expr::Path(segments) => out.push(Reference {
            path: segments.iter().map(|s| s.to_string()).collect(),
            span: span.clone(),
        }),
        Expr::Add(items) | Expr::Or(items) => {
            items.iter().for_each(|i| collect_refs(i, span, out));
        }
        Expr::Eq(first, rest) => {
            collect_refs(first, span, out);
            rest.iter().for_each(|(_, i)| collect_refs(i, span, out));
        }
        Expr::Cond(a, b, c) => {
            collect_refs(a, span, out);
            collect_refs(b, span, out);
            collect_refs(c, span, out);
        }
        Expr::Encode(value, encoding) => {
            collect_refs(value, span, out);
            if let Some(enc) = encoding {
                collect_refs(enc, span, out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
