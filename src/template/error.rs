//! Error types of the template language.
//!
//! There are two moments a template can fail: when it is parsed (the text is not a valid
//! template: [`ParseError`]) and when it is rendered (a variable it uses has no value:
//! [`RenderError`]). They are kept apart because callers treat them differently: a parse error
//! is a mistake in the app's files and can be reported once when the app is loaded, while a
//! render error depends on the values of one call (its `context`, the stored iparams) and is
//! reported per request.
//!
//! Every message is written for the app developer reading the terminal: it names the variable
//! by its full dotted path, says why it has no value, and when there is an obvious fix, says it.

use std::fmt;
use std::ops::Range;

/// The text of a template is not valid. `offset` is the byte offset in the template source
/// where the problem was found; [`ParseError::excerpt`] shows it under the source line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} (at byte {offset})")]
pub struct ParseError {
    /// Byte offset into the template source.
    pub offset: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with the text of a template.
///
/// The variants are public so that callers and tests can tell errors apart without matching
/// on message text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The tag starts at the error's offset.
    #[error("unclosed `<%=` tag: end the expression with `%>`")]
    UnclosedTag,

    #[error(
        "`<%` must be followed by `=`: fdk-emu substitutes values with `<%= expression %>` \
         and does not run code blocks (`<% … %>`)"
    )]
    CodeTag,

    #[error("empty `<%= %>` tag: put an expression inside, such as `<%= iparam.name %>`")]
    EmptyTag,

    #[error("expected an expression after {after}, found {found}")]
    ExpectedExpression { after: String, found: String },

    #[error("expected {expected}, found {found}")]
    Unexpected { expected: String, found: String },

    #[error("unknown function `{name}`: only encode(…) is available")]
    UnknownFunction { name: String },

    #[error("method calls such as `.{name}(…)` are not supported: only encode(…) is available")]
    MethodCall { name: String },

    #[error(
        "encode(…) takes a value and an optional encoding name, but it was given {count} arguments"
    )]
    EncodeArity { count: usize },

    #[error("{what} can only follow a variable, such as `context.items[0]` or `context[\"a-b\"]`")]
    MemberOnNonVariable { what: &'static str },

    #[error("only a string or a number can stand inside `[…]`, such as `context[\"a-b\"]`")]
    ComputedMember,

    #[error("operator `{op}` is not supported: {hint}")]
    UnsupportedOperator { op: String, hint: &'static str },

    #[error("unexpected character {ch:?} in the expression")]
    UnexpectedChar { ch: char },

    #[error("unterminated string literal: add the closing {quote}")]
    UnterminatedString { quote: char },

    #[error("invalid escape sequence in string literal: {detail}")]
    BadEscape { detail: String },

    #[error("invalid number `{text}`")]
    BadNumber { text: String },

    #[error(
        "expression nests more than {max} levels deep (parentheses, `? :` or encode(…)); \
         simplify it"
    )]
    TooDeep { max: usize },
}

impl ParseError {
    pub(crate) fn new(offset: usize, kind: ParseErrorKind) -> Self {
        ParseError { offset, kind }
    }

    /// The source line that holds the error with a caret under the offending character,
    /// for a terminal message:
    ///
    /// ```text
    /// Basic <%= encode(iparam.api_key
    ///       ^
    /// ```
    ///
    /// Long lines are cut to about 60 characters either side of the error. `src` must be the
    /// text that was parsed; with another text the result is meaningless but never panics.
    pub fn excerpt(&self, src: &str) -> String {
        const SIDE: usize = 60;
        let offset = floor_char_boundary(src, self.offset);
        let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        let before: Vec<char> = src[line_start..offset].chars().collect();
        let after: Vec<char> = src[offset..line_end].chars().collect();
        let cut_before = before.len().saturating_sub(SIDE);
        let mut line = String::new();
        if cut_before > 0 {
            line.push('…');
        }
        line.extend(&before[cut_before..]);
        let caret_col = line.chars().count();
        line.extend(after.iter().take(SIDE));
        if after.len() > SIDE {
            line.push('…');
        }
        format!("{line}\n{}^", " ".repeat(caret_col))
    }
}

/// The largest char boundary of `s` that is `<= i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A variable used by a template has no value in this call.
///
/// `span` is the byte range of the `<%= … %>` tag in the template source that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct RenderError {
    /// Byte range of the failing tag in the template source.
    pub span: Range<usize>,
    /// What has no value, and why.
    pub kind: RenderErrorKind,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RenderErrorKind {
    /// The first name of the path is not one of the variables of this kind of template, e.g.
    /// `access_token` in a template without OAuth, or a misspelt `iparams`.
    RootUnavailable {
        /// The full dotted path as written, e.g. `access_token` or `context.ticket`.
        path: String,
        /// The first name of the path.
        root: String,
        /// The variables that this template could have used, for the message.
        available: Vec<String>,
    },
    /// The variable exists but the key (or array item) does not.
    Undefined {
        /// The full dotted path as written, e.g. `iparam.api_key`.
        path: String,
        /// Why it is missing, e.g. "the call passed no `context.ticket`".
        reason: String,
    },
    /// The value is JSON `null`.
    Null {
        /// The full dotted path as written.
        path: String,
    },
    /// A `null` or `undefined` literal ended up as the value to substitute.
    NullLiteral {
        /// `null` or `undefined`.
        literal: &'static str,
    },
    /// An object or array to substitute (as JSON text) is nested deeper than we print.
    TooDeep {
        /// The full dotted path of the value.
        path: String,
    },
}

impl RenderErrorKind {
    /// The full dotted path of the variable at fault, when the error is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            RenderErrorKind::RootUnavailable { path, .. }
            | RenderErrorKind::Undefined { path, .. }
            | RenderErrorKind::Null { path }
            | RenderErrorKind::TooDeep { path } => Some(path),
            RenderErrorKind::NullLiteral { .. } => None,
        }
    }
}

impl fmt::Display for RenderErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderErrorKind::RootUnavailable {
                path,
                root,
                available,
            } => {
                if path == root {
                    write!(f, "`{root}` is not available here")?;
                } else {
                    write!(f, "`{path}` cannot be read: `{root}` is not available here")?;
                }
                if let Some(hint) = root_hint(root) {
                    write!(f, " ({hint})")?;
                }
                if let Some(close) = closest(root, available) {
                    write!(f, "; did you mean `{close}`?")?;
                } else if available.is_empty() {
                    write!(f, "; this template has no variables at all")?;
                } else {
                    write!(f, "; the variables here are: {}", available.join(", "))?;
                }
                Ok(())
            }
            RenderErrorKind::Undefined { path, reason } => {
                write!(f, "`{path}` is not defined: {reason}")
            }
            RenderErrorKind::Null { path } => write!(
                f,
                "`{path}` is null: a null value cannot be substituted \
                 (write `{path} || 'default'` if it is optional)"
            ),
            RenderErrorKind::NullLiteral { literal } => {
                write!(
                    f,
                    "the expression evaluates to `{literal}`, which cannot be substituted"
                )
            }
            RenderErrorKind::TooDeep { path } => write!(
                f,
                "`{path}` is an object nested too deeply to be written out as JSON"
            ),
        }
    }
}

/// Why a well-known variable may be absent, in words a developer can act on.
fn root_hint(root: &str) -> Option<&'static str> {
    match root {
        "access_token" => Some(
            "only OAuth requests get an access token: set `options.isOAuth` (platform 2.3) \
             or `options.oauth` (platform 3.x) on the template in config/requests.json",
        ),
        "oauth_iparams" => {
            Some("oauth_iparams exist only for OAuth requests and in config/oauth_config.json")
        }
        "iparam" => Some(
            "installation parameters cannot be used here; config/oauth_config.json can only use `oauth_iparams`",
        ),
        "context" => Some("the call passed no context"),
        "current_host" => Some("current_host is only set for apps with a host product"),
        _ => None,
    }
}

/// The available name closest to a misspelt one (edit distance at most 2), if any.
fn closest<'a>(name: &str, available: &'a [String]) -> Option<&'a str> {
    available
        .iter()
        .map(|a| (edit_distance(name, a), a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.as_str())
}

/// Levenshtein distance over chars; names are short so the quadratic cost is nothing.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Either kind of failure, for [`render_str`](super::render_str) which parses and renders in
/// one go.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// A string inside a JSON value failed to parse or render.
///
/// `pointer` is the RFC 6901 JSON pointer of that string inside the value that was rendered
/// (e.g. `/headers/Authorization`), so the message can say which field is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {error}", if pointer.is_empty() { "in the value" } else { pointer.as_str() })]
pub struct ValueError {
    /// JSON pointer of the failing string; empty when the value itself is the string.
    pub pointer: String,
    /// The parse or render error of that string.
    #[source]
    pub error: Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_points_at_offset() {
        let e = ParseError::new(6, ParseErrorKind::UnclosedTag);
        assert_eq!(
            e.excerpt("Basic <%= encode(x)"),
            "Basic <%= encode(x)\n      ^"
        );
    }

    #[test]
    fn excerpt_handles_lines_multibyte_and_bad_offsets() {
        let src = "first\nhé <%= x\nthird";
        let e = ParseError::new(src.find("<%").unwrap_or(0), ParseErrorKind::CodeTag);
        assert_eq!(e.excerpt(src), "hé <%= x\n   ^");
        // Offset inside a multi-byte char or past the end: no panic.
        let e = ParseError::new(8, ParseErrorKind::CodeTag);
        let _ = e.excerpt(src);
        let e = ParseError::new(10_000, ParseErrorKind::CodeTag);
        assert_eq!(e.excerpt(src), "third\n     ^");
    }

    #[test]
    fn excerpt_cuts_long_lines() {
        let src = format!("{}<%{}", "a".repeat(100), "b".repeat(100));
        let e = ParseError::new(100, ParseErrorKind::CodeTag);
        let ex = e.excerpt(&src);
        let first = ex.lines().next().unwrap_or_default();
        assert!(first.starts_with('…') && first.ends_with('…'), "{ex}");
        assert_eq!(
            ex.lines().nth(1),
            Some(" ".repeat(61).as_str().to_owned() + "^").as_deref()
        );
    }

    #[test]
    fn root_unavailable_suggests_a_close_name() {
        let k = RenderErrorKind::RootUnavailable {
            path: "iparams.key".into(),
            root: "iparams".into(),
            available: vec!["iparam".into(), "context".into()],
        };
        assert_eq!(
            k.to_string(),
            "`iparams.key` cannot be read: `iparams` is not available here; did you mean `iparam`?"
        );
    }

    #[test]
    fn root_unavailable_explains_access_token_and_lists_roots() {
        let k = RenderErrorKind::RootUnavailable {
            path: "access_token".into(),
            root: "access_token".into(),
            available: vec!["iparam".into(), "context".into()],
        };
        let msg = k.to_string();
        assert!(
            msg.starts_with("`access_token` is not available here (only OAuth requests"),
            "{msg}"
        );
        assert!(
            msg.ends_with("; the variables here are: iparam, context"),
            "{msg}"
        );
    }

    #[test]
    fn value_error_names_the_pointer() {
        let e = ValueError {
            pointer: "/headers/Authorization".into(),
            error: Error::Render(RenderError {
                span: 0..5,
                kind: RenderErrorKind::Null {
                    path: "iparam.k".into(),
                },
            }),
        };
        assert!(
            e.to_string()
                .starts_with("/headers/Authorization: `iparam.k` is null")
        );
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("iparams", "iparam"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("context", "context"), 0);
        assert_eq!(edit_distance("acces_tokn", "access_token"), 2);
    }
}
