//! Lexer: the tokens of the expression inside a tag, read one at a time by the parser.
//!
//! Literals are finished here, once, when the template is parsed: string escapes are decoded
//! and numbers converted, so the parser builds its tree from values. Operators the language
//! does not have (`&&`, `==`, `!`, `*`, …) are refused here, with a hint at what to write
//! instead.

use super::error::{ParseError, ParseErrorKind};

/// Tokens of the expression language.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident,
    Str(String),
    Num(f64),
    Plus,
    Minus,
    OrOr,
    EqEqEq,
    NotEqEq,
    Question,
    Colon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    /// `%>`
    Close,
    /// End of the source text (only reached when a string or the expression runs past every
    /// `%>`).
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Token {
    /// The token as the developer wrote it, for "found …" in messages.
    pub(super) fn describe(&self, src: &str) -> String {
        match self.kind {
            Tok::Close => "`%>` (the end of the tag)".into(),
            Tok::Eof => "the end of the text".into(),
            _ => {
                let text = src.get(self.start..self.end).unwrap_or("");
                let short: String = text.chars().take(40).collect();
                if short.len() < text.len() {
                    format!("`{short}…`")
                } else {
                    format!("`{short}`")
                }
            }
        }
    }
}

/// Reads the tokens of `src` from `pos` on.
pub(super) struct Lexer<'s> {
    pub(super) src: &'s str,
    /// Byte offset of the next token, or of the whitespace before it.
    pub(super) pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

impl<'s> Lexer<'s> {
    fn err(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        ParseError::new(offset, kind)
    }

    pub(super) fn skip_ws(&mut self) {
        let rest = &self.src[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    pub(super) fn peek(&mut self) -> Result<Token, ParseError> {
        let save = self.pos;
        let tok = self.next();
        self.pos = save;
        tok
    }

    /// Reads the next token, after skipping whitespace.
    pub(super) fn next(&mut self) -> Result<Token, ParseError> {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.src[start..];
        let Some(c) = rest.chars().next() else {
            return Ok(Token {
                kind: Tok::Eof,
                start,
                end: start,
            });
        };
        let unsupported = |op: &str, hint: &'static str| {
            Err(ParseError::new(
                start,
                ParseErrorKind::UnsupportedOperator {
                    op: op.into(),
                    hint,
                },
            ))
        };
        let (kind, len) = match c {
            '%' if rest.starts_with("%>") => (Tok::Close, 2),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '?' => (Tok::Question, 1),
            ':' => (Tok::Colon, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            ',' => (Tok::Comma, 1),
            '.' if !rest[1..].starts_with(|c: char| c.is_ascii_digit()) => (Tok::Dot, 1),
            '|' if rest.starts_with("||") => (Tok::OrOr, 2),
            '|' => return unsupported("|", "did you mean `||`?"),
            '=' if rest.starts_with("===") => (Tok::EqEqEq, 3),
            '=' if rest.starts_with("==") => {
                return unsupported("==", "use the strict `===` instead");
            }
            '=' => return unsupported("=", "assignment is not allowed; compare with `===`"),
            '!' if rest.starts_with("!==") => (Tok::NotEqEq, 3),
            '!' if rest.starts_with("!=") => {
                return unsupported("!=", "use the strict `!==` instead");
            }
            '!' => return unsupported("!", "swap the branches of `? :` instead of negating"),
            '&' => {
                return unsupported(
                    if rest.starts_with("&&") { "&&" } else { "&" },
                    "the supported operators are `+`, `||`, `? :`, `===` and `!==`",
                );
            }
            '*' | '/' | '%' | '<' | '>' | '^' | '~' => {
                return unsupported(
                    &rest[..1],
                    "the supported operators are `+`, `||`, `? :`, `===` and `!==`",
                );
            }
            '\'' | '"' => return self.string(c),
            c if c.is_ascii_digit() || c == '.' => return self.number(),
            c if is_ident_start(c) => {
                let len = rest
                    .char_indices()
                    .find(|&(_, c)| !is_ident_continue(c))
                    .map_or(rest.len(), |(i, _)| i);
                (Tok::Ident, len)
            }
            c => return Err(self.err(start, ParseErrorKind::UnexpectedChar { ch: c })),
        };
        self.pos = start + len;
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    /// A JavaScript string literal, decoding its escapes.
    fn string(&mut self, quote: char) -> Result<Token, ParseError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        let at = |i: usize| start + 1 + i;
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.err(start, ParseErrorKind::UnterminatedString { quote }));
            };
            match c {
                c if c == quote => {
                    self.pos = at(i) + 1;
                    return Ok(Token {
                        kind: Tok::Str(out),
                        start,
                        end: self.pos,
                    });
                }
                // JavaScript forbids raw line breaks in '…' and "…"; saying so points at the
                // real mistake (a missing quote) better than a later error would.
                '\n' | '\r' => {
                    return Err(self.err(start, ParseErrorKind::UnterminatedString { quote }));
                }
                '\\' => {
                    let Some((j, e)) = chars.next() else {
                        return Err(self.err(start, ParseErrorKind::UnterminatedString { quote }));
                    };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        '0' if !chars
                            .clone()
                            .next()
                            .is_some_and(|(_, d)| d.is_ascii_digit()) =>
                        {
                            out.push('\0')
                        }
                        '1'..='9' | '0' => {
                            return Err(self.err(
                                at(j) - 1,
                                ParseErrorKind::BadEscape {
                                    detail: "octal escapes like `\\1` are not allowed".into(),
                                },
                            ));
                        }
                        // A backslash before a line break continues the string on the next line.
                        '\n' => {}
                        '\r' => {
                            if chars.clone().next().is_some_and(|(_, c)| c == '\n') {
                                chars.next();
                            }
                        }
                        'x' => {
                            let code = self.hex_digits(&mut chars, 2, at(j) - 1)?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        'u' => {
                            let c = self.unicode_escape(&mut chars, at(j) - 1)?;
                            out.push(c);
                        }
                        // Any other escaped character stands for itself (`\'`, `\"`, `\\`,
                        // `\/`, and, as in JavaScript, `\q` is `q`).
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    /// Reads exactly `n` hex digits.
    fn hex_digits(
        &self,
        chars: &mut std::str::CharIndices<'_>,
        n: usize,
        esc_start: usize,
    ) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..n {
            match chars.next().and_then(|(_, c)| c.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => {
                    return Err(self.err(
                        esc_start,
                        ParseErrorKind::BadEscape {
                            detail: format!("expected {n} hex digits after the backslash"),
                        },
                    ));
                }
            }
        }
        Ok(v)
    }

    /// `\uXXXX`, `\u{X…}`, and UTF-16 surrogate pairs written as two `\uXXXX`.
    fn unicode_escape(
        &self,
        chars: &mut std::str::CharIndices<'_>,
        esc_start: usize,
    ) -> Result<char, ParseError> {
        let bad = |detail: &str| {
            ParseError::new(
                esc_start,
                ParseErrorKind::BadEscape {
                    detail: detail.into(),
                },
            )
        };
        let code = if chars.clone().next().is_some_and(|(_, c)| c == '{') {
            chars.next();
            let mut v: u32 = 0;
            let mut digits = 0;
            loop {
                match chars.next() {
                    Some((_, '}')) if digits > 0 => break,
                    Some((_, c)) if c.is_ascii_hexdigit() => {
                        v = v
                            .saturating_mul(16)
                            .saturating_add(c.to_digit(16).unwrap_or(0));
                        digits += 1;
                    }
                    _ => return Err(bad("expected hex digits and `}` in `\\u{…}`")),
                }
            }
            if v > 0x10FFFF {
                return Err(bad("`\\u{…}` is above the largest code point 10FFFF"));
            }
            v
        } else {
            self.hex_digits(chars, 4, esc_start)?
        };
        if (0xD800..0xDC00).contains(&code) {
            // A high surrogate must be followed by `\uDC00`–`\uDFFF`.
            let mut look = chars.clone();
            if let (Some((_, '\\')), Some((_, 'u'))) = (look.next(), look.next())
                && let Ok(low) = self.hex_digits(&mut look, 4, esc_start)
                && (0xDC00..0xE000).contains(&low)
            {
                *chars = look;
                let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c).ok_or_else(|| bad("invalid surrogate pair"));
            }
            return Err(bad("a lone UTF-16 surrogate cannot be part of a string"));
        }
        if (0xDC00..0xE000).contains(&code) {
            return Err(bad("a lone UTF-16 surrogate cannot be part of a string"));
        }
        char::from_u32(code).ok_or_else(|| bad("not a valid code point"))
    }

    /// A decimal number literal: `12`, `1.5`, `.5`, `1e3`, `2.5E-3`.
    fn number(&mut self) -> Result<Token, ParseError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start;
        let digits = |i: &mut usize| {
            let s = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        let int = digits(&mut i);
        let mut frac = false;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            frac = digits(&mut i);
        }
        let mut ok = int || frac;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            ok &= digits(&mut i);
        }
        // `1abc`, `0x10`, `1_000`: JavaScript does not allow an identifier right after a
        // number, and we support no hex or separators, so report the whole word.
        let mut end = i;
        while let Some(c) = self.src[end..]
            .chars()
            .next()
            .filter(|&c| is_ident_continue(c))
        {
            end += c.len_utf8();
            ok = false;
        }
        let text = &self.src[start..end];
        // Leading zeros (`012`) are octal in sloppy JavaScript; refuse rather than guess.
        if text.len() > 1 && text.starts_with('0') && text.as_bytes()[1].is_ascii_digit() {
            ok = false;
        }
        let value = if ok { text.parse::<f64>().ok() } else { None };
        match value {
            Some(v) => {
                self.pos = end;
                Ok(Token {
                    kind: Tok::Num(v),
                    start,
                    end,
                })
            }
            None => Err(self.err(
                start,
                ParseErrorKind::BadNumber {
                    text: text.chars().take(40).collect(),
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first token of `src`.
    fn lex(src: &str) -> Result<Token, ParseError> {
        Lexer { src, pos: 0 }.next()
    }

    /// The one token `src` is made of.
    fn one(src: &str) -> Tok {
        let tok = lex(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!(
            tok.end,
            src.len(),
            "{src:?} is more than one token: {tok:?}"
        );
        tok.kind
    }

    fn err(src: &str) -> ParseError {
        match lex(src) {
            Ok(t) => panic!("{src:?} lexed: {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn string_escape_details() {
        // Checked one by one so a failure says which.
        for (src, want) in [
            (r"'\n'", "\n"),
            (r"'\t'", "\t"),
            (r"'\r'", "\r"),
            (r"'\b\f\v'", "\u{8}\u{c}\u{b}"),
            (r"'\\'", "\\"),
            (r"'\''", "'"),
            (r#""\"""#, "\""),
            (r"'\u00e9'", "é"),
            (r"'\u{1F600}'", "😀"),
            (r"'\uD83D\uDE00'", "😀"),
            (r"'\x41'", "A"),
            (r"'\q'", "q"),
            (r"'\0'", "\0"),
            (r"'%>'", "%>"),
            (r"'<%= x %>'", "<%= x %>"),
        ] {
            assert_eq!(one(src), Tok::Str(want.into()), "{src}");
        }
    }

    #[test]
    fn bad_literals() {
        assert_eq!(
            err("'abc %>").kind,
            ParseErrorKind::UnterminatedString { quote: '\'' }
        );
        assert_eq!(
            err("\"a\nb\"").kind,
            ParseErrorKind::UnterminatedString { quote: '"' }
        );
        for bad in [
            r"'\u12'",
            r"'\uZZZZ'",
            r"'\u{}'",
            r"'\u{110000}'",
            r"'\xZ1'",
            r"'\uD800'",
            r"'\uDC00'",
            r"'\1'",
            r"'\01'",
        ] {
            assert!(
                matches!(err(bad).kind, ParseErrorKind::BadEscape { .. }),
                "{bad}"
            );
        }
        for bad in ["1e", "1e+", "0x10", "012", "1abc"] {
            let e = err(bad);
            assert!(
                matches!(e.kind, ParseErrorKind::BadNumber { .. }),
                "{bad}: {e:?}"
            );
        }
        assert_eq!(one("0"), Tok::Num(0.0));
        assert_eq!(one("0.5"), Tok::Num(0.5));
    }
}
