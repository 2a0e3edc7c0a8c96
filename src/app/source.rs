//! One configuration file as read from disk: its text (kept for positions and excerpts) and,
//! when it parses, its JSON value.

use serde_json::Value;

/// A JSON file of the app, with the text it was parsed from.
///
/// The text is kept because every diagnostic points at a line and column of it, and the text
/// report shows an excerpt; the value is `None` when the text is not valid JSON (the parse
/// error is then reported by the loader, with its position).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the app folder, with `/` separators (`config/requests.json`).
    pub rel_path: String,
    pub text: String,
    pub value: Option<Value>,
}

/// Why a JSON file could not be turned into a value.
#[derive(Debug, Clone)]
pub struct ParseFailure {
    pub message: String,
    /// 1-based line and column, as serde_json reports them.
    pub line: usize,
    pub column: usize,
}

/// serde_json's column counts bytes of the text after the byte order mark; every other
/// position fdk-emu reports counts characters of the file as it is (`FileIndex`). This turns
/// the first into the second, so the caret of a syntax error lands under the right character
/// on a line with `é` or after a BOM.
fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let bom = text.starts_with('\u{feff}');
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let row = body.split('\n').nth(line - 1).unwrap_or_default();
    let mut end = (byte_column - 1).min(row.len());
    while !row.is_char_boundary(end) {
        end -= 1;
    }
    row[..end].chars().count() + 1 + usize::from(bom && line == 1)
}

impl SourceFile {
    /// Parses `text` strictly (as `JSON.parse` would: no comments, no trailing commas).
    pub fn parse(rel_path: &str, text: String) -> (SourceFile, Option<ParseFailure>) {
        // A UTF-8 byte order mark is not JSON, but editors on Windows write one; skip it
        // rather than fail with a baffling "expected value at line 1 column 1".
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (value, failure) = if body.trim().is_empty() {
            (
                None,
                Some(ParseFailure {
                    message: "the file is empty; it must hold a JSON object (at least `{}`)".into(),
                    line: 1,
                    column: 1,
                }),
            )
        } else {
            match serde_json::from_str::<Value>(body) {
                Ok(v) => (Some(v), None),
                Err(e) => (
                    None,
                    Some(ParseFailure {
                        message: describe_json_error(&e),
                        line: e.line().max(1),
                        column: char_column(&text, e.line().max(1), e.column().max(1)),
                    }),
                ),
            }
        };
        (
            SourceFile {
                rel_path: rel_path.to_string(),
                text,
                value,
            },
            failure,
        )
    }

    /// The top-level object, when the file parsed into one.
    pub fn object(&self) -> Option<&serde_json::Map<String, Value>> {
        self.value.as_ref().and_then(Value::as_object)
    }
}

/// serde_json's messages end with " at line X column Y"; the position is reported separately.
fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    format!("invalid JSON: {msg}")
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    fn failure_at(text: &str) -> (usize, usize) {
        let (_, failure) = SourceFile::parse("manifest.json", text.into());
        let f = failure.expect("a syntax error");
        (f.line, f.column)
    }

    #[test]
    fn syntax_error_columns_count_characters_of_the_file_as_it_is() {
        // The stray `x` is the 17th character and starts at byte 18 (`é` is two bytes).
        assert_eq!(failure_at("{\"name\": \"Café\" x}"), (1, 17));
        assert_eq!(failure_at("{\n  \"a\": \"é\",,\n}"), (2, 12));
        // After a byte order mark, which the excerpt shows as a character of line 1.
        assert_eq!(failure_at("\u{feff}{\"a\": 1 x}"), (1, 10));
        assert_eq!(failure_at("{\"a\": 1 x}"), (1, 9));
    }
}
