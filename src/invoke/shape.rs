//! The shape of a request's path: what a substituted value may and may not change.
//!
//! FDK renders a template's text and sends it as a URL, so a value can change the request's
//! shape: `"../../status/500"` climbs out of the template's path, `"1?plan=enterprise"` puts a
//! `plan` before the template's own `plan=pro` (and most servers read the first), `"1#x"`
//! cuts off the query. Here the rendered path keeps the shape its template gives it:
//!
//! * a `..` segment with a value in it is refused (an envelope 400 naming the template, the
//!   field and the value's variable): percent-encoding cannot help, as a URL parser reads
//!   `%2e%2e` as `..` too, and no API path needs one;
//! * a `#` from a value is sent as `%23` instead of ending the URL;
//! * a `?` from a value starts the query only where the template's own text has none; after
//!   or before the template's own `?` it is sent as `%3F`, part of the value;
//! * the template's own query keys win: its literal `key=` in the path and the keys of
//!   `schema.query`. A pair a value adds with one of these keys is left out (the caller's
//!   `data.query` is treated the same way by the invoker).
//!
//! Why not percent-encode every value: 15 of the 468 templates of the 308 real apps in the
//! corpus are a whole path from the app (`"path": "<%= context.path %>"`), one puts a query
//! from the app after its own `?` (`/scheduled_events?<%= context.query %>&user=…`), and
//! some prefix a base path from an iparam (`<%= iparam.azure_url_path %>/…`). Their values
//! carry `/`, `?`, `&` and `=` on purpose; encoding them would break those apps. The rules
//! above leave all of them working and close the three ways a value changed a request.

use std::borrow::Cow;
use std::ops::Range;

use crate::template::Inserted;

/// A value tried to climb out of the template's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotDot {
    /// The expression whose value holds the `..` segment, e.g. `context.id`.
    pub variable: String,
}

/// The path to send, and the query keys its template wrote in it (which, like those of
/// `schema.query`, the caller's `data.query` may not add again).
#[derive(Debug, PartialEq, Eq)]
pub struct Shaped<'a> {
    pub path: Cow<'a, str>,
    pub own_keys: Vec<String>,
}

/// Shapes `rendered` (a path rendered by [`crate::template::Template::render_marked`], with
/// its `values`); `schema_key` tells the keys of the template's `schema.query`.
pub fn shape<'a>(
    rendered: &'a str,
    values: &[Inserted<'_>],
    schema_key: &dyn Fn(&str) -> bool,
) -> Result<Shaped<'a>, DotDot> {
    let from_value = |i: usize| values.iter().any(|v| v.range.contains(&i));
    let any_value = |r: &Range<usize>| values.iter().find(|v| overlaps(&v.range, r));
    // Where the query starts: at the template's own `?`, else at the first one a value gave.
    let literal_q = rendered
        .bytes()
        .enumerate()
        .position(|(i, b)| b == b'?' && !from_value(i));
    let query_at = literal_q.or_else(|| rendered.find('?'));
    let path_end = query_at.unwrap_or(rendered.len());

    // `..` segments made (partly) of a value.
    let mut start = 0;
    for (i, b) in rendered[..path_end]
        .bytes()
        .chain(std::iter::once(b'/'))
        .enumerate()
    {
        if b == b'/' || b == b'\\' {
            let seg = start..i;
            if is_dot_dot(&rendered[seg.clone()])
                && let Some(v) = any_value(&seg)
            {
                return Err(DotDot {
                    variable: v.expr.to_string(),
                });
            }
            start = i + 1;
        }
    }

    let needs_work = values
        .iter()
        .any(|v| rendered[v.range.clone()].contains(['#', '?']))
        || query_at.is_some();
    if !needs_work {
        return Ok(Shaped {
            path: Cow::Borrowed(rendered),
            own_keys: Vec::new(),
        });
    }

    let mut out = String::with_capacity(rendered.len() + 8);
    push_escaped(&mut out, rendered, 0..path_end, &from_value, true);
    let mut own_keys: Vec<String> = Vec::new();
    if let Some(q) = query_at {
        let pairs = split_pairs(rendered, q + 1..rendered.len());
        // The template's own keys: every key written wholly in its text.
        for p in &pairs {
            if !p.key.is_empty() && any_value(&p.key).is_none() {
                let key = decode(&rendered[p.key.clone()]);
                if !own_keys.contains(&key) {
                    own_keys.push(key);
                }
            }
        }
        let mut first = true;
        for p in &pairs {
            let own = !p.key.is_empty() && any_value(&p.key).is_none();
            if !own {
                let key = decode(&rendered[p.key.clone()]);
                if own_keys.contains(&key) || schema_key(&key) {
                    continue;
                }
            }
            out.push(if first { '?' } else { '&' });
            first = false;
            push_escaped(&mut out, rendered, p.whole.clone(), &from_value, false);
        }
    }
    Ok(Shaped {
        path: Cow::Owned(out),
        own_keys,
    })
}

/// Copies `rendered[range]` to `out`, writing a `#` from a value as `%23`, and in the path
/// part also a `?` from a value as `%3F`.
fn push_escaped(
    out: &mut String,
    rendered: &str,
    range: Range<usize>,
    from_value: &impl Fn(usize) -> bool,
    in_path: bool,
) {
    let mut copied = range.start;
    for (i, c) in rendered[range.clone()].char_indices() {
        let i = range.start + i;
        let encoded = match c {
            '#' if from_value(i) => "%23",
            '?' if in_path && from_value(i) => "%3F",
            _ => continue,
        };
        out.push_str(&rendered[copied..i]);
        out.push_str(encoded);
        copied = i + 1;
    }
    out.push_str(&rendered[copied..range.end]);
}

/// One `key=value` of a query, as byte ranges of the rendered text.
struct Pair {
    whole: Range<usize>,
    key: Range<usize>,
}

/// The `&`-separated pairs of `rendered[range]`; empty ones are left out.
fn split_pairs(rendered: &str, range: Range<usize>) -> Vec<Pair> {
    let mut pairs = Vec::new();
    let mut start = range.start;
    for i in range.clone().chain(std::iter::once(range.end)) {
        if i == range.end || rendered.as_bytes()[i] == b'&' {
            if i > start {
                let key_end = rendered[start..i].find('=').map_or(i, |e| start + e);
                pairs.push(Pair {
                    whole: start..i,
                    key: start..key_end,
                });
            }
            start = i + 1;
        }
    }
    pairs
}

/// A query key as a server reads it: `+` is a space, `%xx` a byte.
fn decode(key: &str) -> String {
    form_urlencoded::parse(key.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// Whether a path segment means "the folder above", as the WHATWG URL parser reads it.
fn is_dot_dot(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        ".." | ".%2e" | "%2e." | "%2e%2e"
    )
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    /// Renders `path` with `context` and shapes it against `query_keys`.
    fn run(path: &str, context: Value, query_keys: &[&str]) -> Result<String, String> {
        let t = crate::template::parse(path).expect("template");
        let mut scope = Map::new();
        scope.insert("context".into(), context);
        let (text, marks) = t.render_marked(&scope).expect("renders");
        shape(&text, &marks, &|k| query_keys.contains(&k))
            .map(|s| s.path.into_owned())
            .map_err(|e| e.variable)
    }

    #[test]
    fn a_value_cannot_climb_out_of_the_path() {
        let p = "/anything/items/<%= context.id %>";
        for id in [
            "../../status/500",
            "..",
            "a/../b",
            "%2e%2E",
            ".%2e/x",
            "..\\x",
        ] {
            assert_eq!(
                run(p, json!({"id": id}), &[]),
                Err("context.id".to_string()),
                "{id}"
            );
        }
        // Dots that are not a `..` segment are fine, and so is the template's own `..`.
        assert_eq!(
            run(p, json!({"id": "v1..2"}), &[]),
            Ok("/anything/items/v1..2".into())
        );
        assert_eq!(
            run("/a/../<%= context.id %>", json!({"id": "x"}), &[]),
            Ok("/a/../x".into())
        );
        // A `..` after the query starts is query text.
        assert_eq!(
            run("/search?q=<%= context.q %>", json!({"q": "../x"}), &[]),
            Ok("/search?q=../x".into())
        );
    }

    #[test]
    fn the_templates_own_query_keys_win() {
        let p = "/anything/items/<%= context.id %>";
        assert_eq!(
            run(p, json!({"id": "1?plan=enterprise&x=1"}), &["plan"]),
            Ok("/anything/items/1?x=1".into())
        );
        assert_eq!(
            run(
                "/tickets/<%= context.id %>?include=requester",
                json!({"id": "1?include=secret"}),
                &[]
            ),
            Ok("/tickets/1%3Finclude=secret?include=requester".into())
        );
        assert_eq!(
            run(
                "/contacts?email=<%= context.e %>&token=t0k",
                json!({"e": "a@b.c&token=evil&to%6Ben=evil2&page=2"}),
                &[]
            ),
            Ok("/contacts?email=a@b.c&page=2&token=t0k".into())
        );
    }

    #[test]
    fn a_hash_from_a_value_does_not_cut_the_url() {
        assert_eq!(
            run("/items/<%= context.id %>", json!({"id": "1#x"}), &["plan"]),
            Ok("/items/1%23x".into())
        );
        assert_eq!(
            run("/s?q=<%= context.q %>", json!({"q": "C#"}), &[]),
            Ok("/s?q=C%23".into())
        );
        // The template's own `#` is its own business.
        assert_eq!(
            run("/items/<%= context.id %>#frag", json!({"id": "1"}), &[]),
            Ok("/items/1#frag".into())
        );
    }

    /// How the corpus's apps use values in paths keeps working.
    #[test]
    fn whole_paths_and_queries_from_the_app_still_work() {
        assert_eq!(
            run(
                "<%= context.path %>",
                json!({"path": "/api/v2/tickets/1?include=requester&page=2"}),
                &[]
            ),
            Ok("/api/v2/tickets/1?include=requester&page=2".into())
        );
        assert_eq!(
            run(
                "/scheduled_events?<%= context.query %>&user=<%= context.user %>",
                json!({"query": "count=10&status=active", "user": "u1"}),
                &[]
            ),
            Ok("/scheduled_events?count=10&status=active&user=u1".into())
        );
        assert_eq!(
            run(
                "<%= context.base %>/<%= context.project %>/_apis/wit/fields?api-version=5.0",
                json!({"base": "/org/sub", "project": "p1"}),
                &[]
            ),
            Ok("/org/sub/p1/_apis/wit/fields?api-version=5.0".into())
        );
        assert_eq!(
            run("/plain/path", json!({}), &["a"]),
            Ok("/plain/path".into())
        );
    }
}
