//! Positions in a JSON file's text: from a JSON pointer (what schemas and rules speak in) to
//! the line and column a person can jump to.
//!
//! serde_json values carry no positions, so each file is parsed a second time into a syntax
//! tree with byte ranges (`jsonc-parser`, strict: no comments, no trailing commas — the file
//! already parsed as JSON, so this cannot fail on a file that has a value). A pointer is then
//! walked through the tree. Only files that parsed are indexed; a file that does not parse
//! has a single diagnostic at the parser's position.

use jsonc_parser::ast::{ObjectPropName, Value as Node};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

/// Which part of the pointed-at member a diagnostic should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value's first character (`"`, `{`, a digit …).
    Value,
    /// The member's key (the quoted name before `:`), for problems about the name itself
    /// (an unknown key, a template name). Falls back to the value for array items.
    Key,
}

/// The text of one file with a line index and its syntax tree.
pub struct FileIndex<'a> {
    text: &'a str,
    /// Byte offset of each line start.
    line_starts: Vec<usize>,
    root: Option<Node<'a>>,
    /// Bytes skipped before the tree's text (a UTF-8 byte order mark).
    skipped: usize,
}

impl<'a> FileIndex<'a> {
    pub fn new(text: &'a str) -> FileIndex<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let skipped = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let body = &text[skipped..];
        let opts = ParseOptions {
            allow_comments: false,
            allow_loose_object_property_names: false,
            allow_trailing_commas: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        };
        let root = jsonc_parser::parse_to_ast(body, &CollectOptions::default(), &opts)
            .ok()
            .and_then(|r| r.value);
        FileIndex {
            text,
            line_starts,
            root,
            skipped,
        }
    }

    /// 1-based line and column (in characters) of a byte offset in the file's text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte offset in the file of the node `pointer` names (see [`Target`]). A pointer that
    /// goes further than the tree (a missing property) stops at the deepest node that exists,
    /// so "missing key" errors point at the object that lacks it.
    pub fn offset(&self, pointer: &str, target: Target) -> usize {
        let Some(root) = &self.root else { return 0 };
        let mut node = root;
        let mut key_start = None;
        for token in tokens(pointer) {
            key_start = None;
            let next = match node {
                Node::Object(o) => o
                    .properties
                    .iter()
                    .rev()
                    .find(|p| p.name.as_str() == token)
                    .map(|p| {
                        key_start = Some(match &p.name {
                            ObjectPropName::String(s) => s.range.start,
                            ObjectPropName::Word(w) => w.range.start,
                        });
                        &p.value
                    }),
                Node::Array(a) => token.parse::<usize>().ok().and_then(|i| a.elements.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => {
                    return self.skipped + node.range().start;
                }
            }
        }
        let at = match (target, key_start) {
            (Target::Key, Some(k)) => k,
            _ => node.range().start,
        };
        self.skipped + at
    }

    /// Byte offset in the file of byte `inner` of the decoded string at `pointer`: the
    /// string's opening quote plus the raw length of what precedes `inner`, so escapes
    /// (`\"`, `\u00e9`) are accounted for.
    pub fn string_offset(&self, pointer: &str, inner: usize) -> usize {
        let start = self.offset(pointer, Target::Value);
        let raw = &self.text[start.min(self.text.len())..];
        if !raw.starts_with('"') {
            return start;
        }
        let mut decoded = 0usize;
        let mut i = 1usize;
        let bytes = raw.as_bytes();
        while i < bytes.len() && decoded < inner {
            match bytes[i] {
                b'"' => break,
                b'\\' => {
                    let (raw_len, dec_len) = escape_len(&raw[i..]);
                    i += raw_len;
                    decoded += dec_len;
                }
                _ => {
                    let ch_len = raw[i..].chars().next().map_or(1, char::len_utf8);
                    i += ch_len;
                    decoded += ch_len;
                }
            }
        }
        start + i
    }

    /// Line and column of [`offset`](Self::offset).
    pub fn position(&self, pointer: &str, target: Target) -> (usize, usize) {
        self.line_col(self.offset(pointer, target))
    }
}

/// Raw and decoded byte lengths of the escape at the start of `s` (which starts with `\`).
fn escape_len(s: &str) -> (usize, usize) {
    let b = s.as_bytes();
    if b.len() < 2 {
        return (1, 1);
    }
    if b[1] != b'u' {
        return (2, 1);
    }
    let hex = |from: usize| {
        s.get(from..from + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    match hex(2) {
        Some(hi @ 0xD800..=0xDBFF) if s.get(6..8) == Some("\\u") && hex(8).is_some() => {
            let _ = hi;
            (12, 4)
        }
        Some(cp) => (6, char::from_u32(cp).map_or(3, char::len_utf8)),
        None => (2, 1),
    }
}

/// The reference tokens of a JSON pointer, unescaped (RFC 6901).
pub fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
}

/// Builds a pointer from raw tokens.
pub use crate::app::pointer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_keys_and_missing_members() {
        let text = "{\n  \"a\": {\n    \"b\": [1, \"x\"]\n  }\n}\n";
        let ix = FileIndex::new(text);
        assert_eq!(ix.position("/a/b/1", Target::Value), (3, 14));
        assert_eq!(ix.position("/a/b", Target::Key), (3, 5));
        assert_eq!(ix.position("/a/missing", Target::Value), (2, 8));
        assert_eq!(ix.position("", Target::Value), (1, 1));
    }

    #[test]
    fn string_offsets_account_for_escapes() {
        let text = r#"{"k": "a\"b\u00e9<%= x %>"}"#;
        let ix = FileIndex::new(text);
        // decoded: a " b é(2 bytes) < → '<' is decoded byte 5
        let off = ix.string_offset("/k", 5);
        assert_eq!(&text[off..off + 3], "<%=");
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}{\r\n  \"k\": 1\r\n}";
        let ix = FileIndex::new(text);
        assert_eq!(ix.position("/k", Target::Value), (2, 8));
    }
}
