//! Parser: template text → literal text parts and expression trees.
//!
//! Parsing happens once per template (when the app is loaded); rendering happens per request.
//! So the parser does all the work that does not depend on values: it splits the text, decodes
//! string literals, parses numbers and resolves which function is called, and the tree it
//! builds is what the evaluator walks directly.
//!
//! The tokens, literals already decoded, come from the lexer in [`super::lex`].
//!
//! Grammar (JavaScript precedence, a small subset):
//!
//! ```text
//! template := ( text | tag )*
//! tag      := ( "<%=" | "<%-" ) expr "%>"
//! expr     := or ( "?" expr ":" expr )?
//! or       := eq ( "||" eq )*
//! eq       := add ( ( "===" | "!==" ) add )*
//! add      := unary ( "+" unary )*
//! unary    := "-" number | postfix
//! postfix  := ident ( "." name | "[" string-or-number "]" )*
//!           | "encode" "(" expr ( "," expr )? ")"
//!           | primary
//! primary  := number | string | "true" | "false" | "null" | "undefined" | "(" expr ")"
//! ```
//!
//! The chains `a + b + c`, `a || b || c` and `a === b === c` are stored flat (a list, folded
//! left to right at evaluation, which is what JavaScript's left associativity means) rather
//! than as nested pairs. So a long chain costs no tree depth, and the only way to nest is
//! through parentheses, function arguments and `? :`, which the parser counts and stops at
//! [`MAX_DEPTH`]. That bound holds for every recursive walk of the tree (evaluation,
//! [`references`](super::Template::references), drop), so no input can overflow the stack.

use super::error::{ParseError, ParseErrorKind};
use super::lex::{Lexer, Tok, Token};
use std::ops::Range;

/// How deep parentheses, `? :` and function arguments may nest inside one tag.
pub const MAX_DEPTH: usize = 64;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    /// Literal text: a byte range of the template source.
    Text(Range<usize>),
    /// A `<%= … %>` tag: its expression and the byte range of the whole tag.
    Tag { expr: Expr, span: Range<usize> },
}

/// Expression tree of one tag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Str(Box<str>),
    Num(f64),
    Bool(bool),
    Null,
    Undefined,
    /// A variable: `segments[0]` is the root (`iparam`, `context`, …), the rest are keys.
    Path(Box<[Box<str>]>),
    /// `a + b + …`, at least two operands, folded left to right.
    Add(Vec<Expr>),
    /// `a || b || …`, at least two operands.
    Or(Vec<Expr>),
    /// `a === b !== c …`: the first operand, then each operator (true for `!==`) with its
    /// right operand.
    Eq(Box<Expr>, Vec<(bool, Expr)>),
    /// `test ? then : otherwise`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `encode(value)`; the optional encoding argument is parsed and kept only so that its
    /// variables are listed by `references`: FDK supports base64 only and ignores it.
    Encode(Box<Expr>, Option<Box<Expr>>),
}

/// Parses a whole template source into its parts.
pub(crate) fn parse_template(src: &str) -> Result<Vec<Part>, ParseError> {
    let mut parts = Vec::new();
    let mut pos = 0;
    while let Some(found) = src[pos..].find("<%") {
        let open = pos + found;
        if open > pos {
            parts.push(Part::Text(pos..open));
        }
        let after = open + 2;
        match src.as_bytes().get(after) {
            Some(b'=') | Some(b'-') => {}
            _ => return Err(ParseError::new(open, ParseErrorKind::CodeTag)),
        }
        // Without any `%>` later in the text, the best message is about the tag, not about
        // whatever the expression parser would stumble on first.
        if !src[after + 1..].contains("%>") {
            return Err(ParseError::new(open, ParseErrorKind::UnclosedTag));
        }
        let mut p = Parser {
            lex: Lexer {
                src,
                pos: after + 1,
            },
            open,
            depth: 0,
        };
        p.lex.skip_ws();
        if p.lex.src[p.lex.pos..].starts_with("%>") {
            return Err(ParseError::new(open, ParseErrorKind::EmptyTag));
        }
        let expr = p.expr()?;
        let tok = p.lex.next()?;
        if tok.kind != Tok::Close {
            return Err(p.unexpected(&tok, "`%>` to close the tag"));
        }
        parts.push(Part::Tag {
            expr,
            span: open..p.lex.pos,
        });
        pos = p.lex.pos;
    }
    if pos < src.len() {
        parts.push(Part::Text(pos..src.len()));
    }
    Ok(parts)
}

struct Parser<'s> {
    lex: Lexer<'s>,
    /// Offset of the `<%` of the tag being parsed, for "unclosed tag" messages.
    open: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    fn err(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        ParseError::new(offset, kind)
    }

    /// Turns an end-of-text token into the "unclosed tag" error, which is what it means.
    fn check_eof(&self, tok: &Token) -> Result<(), ParseError> {
        if tok.kind == Tok::Eof {
            Err(self.err(self.open, ParseErrorKind::UnclosedTag))
        } else {
            Ok(())
        }
    }

    fn expect(&mut self, kind: Tok, expected: &str) -> Result<Token, ParseError> {
        let tok = self.lex.next()?;
        if tok.kind == kind {
            return Ok(tok);
        }
        Err(self.unexpected(&tok, expected))
    }

    /// `expr := or ( "?" expr ":" expr )?` — the one place where nesting is counted.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(self.lex.pos, ParseErrorKind::TooDeep { max: MAX_DEPTH }));
        }
        let test = self.or()?;
        let result = if self.lex.peek()?.kind == Tok::Question {
            self.lex.next()?;
            let then = self.operand("`?`", Self::expr)?;
            self.expect(Tok::Colon, "`:` of the `? :` expression")?;
            let otherwise = self.operand("`:`", Self::expr)?;
            Expr::Cond(Box::new(test), Box::new(then), Box::new(otherwise))
        } else {
            test
        };
        self.depth -= 1;
        Ok(result)
    }

    /// Errors with "expected an expression after X" when `tok` cannot start an operand.
    fn no_operand_check(&self, tok: &Token, after: &str) -> Result<(), ParseError> {
        match tok.kind {
            Tok::Eof => self.check_eof(tok),
            Tok::Close
            | Tok::RParen
            | Tok::RBracket
            | Tok::Colon
            | Tok::Comma
            | Tok::Question
            | Tok::OrOr
            | Tok::EqEqEq
            | Tok::NotEqEq
            | Tok::Plus
            | Tok::Dot => Err(self.err(
                tok.start,
                ParseErrorKind::ExpectedExpression {
                    after: after.into(),
                    found: tok.describe(self.lex.src),
                },
            )),
            _ => Ok(()),
        }
    }

    /// Parses, with `f`, the operand that must follow `after` (an operator or punctuation).
    fn operand(
        &mut self,
        after: &str,
        f: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let tok = self.lex.peek()?;
        self.no_operand_check(&tok, after)?;
        f(self)
    }

    /// The error for finding `tok` where `expected` should be. A `-` there is a binary minus,
    /// which gets its own message.
    fn unexpected(&self, tok: &Token, expected: &str) -> ParseError {
        if let Err(e) = self.check_eof(tok) {
            return e;
        }
        let kind = if tok.kind == Tok::Minus {
            ParseErrorKind::UnsupportedOperator {
                op: "-".into(),
                hint: "subtraction is not supported; `-` is only allowed in front of a number",
            }
        } else {
            ParseErrorKind::Unexpected {
                expected: expected.into(),
                found: tok.describe(self.lex.src),
            }
        };
        self.err(tok.start, kind)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let first = self.eq()?;
        if self.lex.peek()?.kind != Tok::OrOr {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.lex.peek()?.kind == Tok::OrOr {
            self.lex.next()?;
            items.push(self.operand("`||`", Self::eq)?);
        }
        Ok(Expr::Or(items))
    }

    fn eq(&mut self) -> Result<Expr, ParseError> {
        let first = self.add()?;
        let mut rest = Vec::new();
        loop {
            let tok = self.lex.peek()?;
            let negated = match tok.kind {
                Tok::EqEqEq => false,
                Tok::NotEqEq => true,
                _ => break,
            };
            self.lex.next()?;
            let after = if negated { "`!==`" } else { "`===`" };
            rest.push((negated, self.operand(after, Self::add)?));
        }
        if rest.is_empty() {
            Ok(first)
        } else {
            Ok(Expr::Eq(Box::new(first), rest))
        }
    }

    fn add(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        if self.lex.peek()?.kind != Tok::Plus {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.lex.peek()?.kind == Tok::Plus {
            self.lex.next()?;
            items.push(self.operand("`+`", Self::unary)?);
        }
        Ok(Expr::Add(items))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let tok = self.lex.next()?;
        match tok.kind {
            Tok::Minus => {
                let num = self.lex.next()?;
                match num.kind {
                    Tok::Num(v) => Ok(Expr::Num(-v)),
                    _ => {
                        self.check_eof(&num)?;
                        Err(self.err(
                            tok.start,
                            ParseErrorKind::UnsupportedOperator {
                                op: "-".into(),
                                hint: "`-` is only allowed in front of a number, such as `-1`",
                            },
                        ))
                    }
                }
            }
            _ => self.postfix(tok),
        }
    }

    /// A primary expression (already read as `tok`) and what may follow it: member access on
    /// a variable, or the argument list of a function call.
    fn postfix(&mut self, tok: Token) -> Result<Expr, ParseError> {
        match tok.kind {
            Tok::Num(v) => self.no_member(Expr::Num(v)),
            Tok::Str(ref s) => {
                let e = Expr::Str(s.as_str().into());
                self.no_member(e)
            }
            Tok::LParen => {
                let inner = self.operand("`(`", Self::expr)?;
                self.expect(Tok::RParen, "`)`")?;
                self.no_member(inner)
            }
            Tok::Ident => {
                let name = &self.lex.src[tok.start..tok.end];
                let literal = match name {
                    "true" => Some(Expr::Bool(true)),
                    "false" => Some(Expr::Bool(false)),
                    "null" => Some(Expr::Null),
                    "undefined" => Some(Expr::Undefined),
                    _ => None,
                };
                if let Some(lit) = literal {
                    return self.no_member(lit);
                }
                if self.lex.peek()?.kind == Tok::LParen {
                    return self.call(&tok, name);
                }
                self.path(name)
            }
            _ => {
                self.check_eof(&tok)?;
                Err(self.err(
                    tok.start,
                    ParseErrorKind::ExpectedExpression {
                        after: self.after_what(tok.start),
                        found: tok.describe(self.lex.src),
                    },
                ))
            }
        }
    }

    /// What precedes `offset` in the tag, for "expected an expression after …".
    fn after_what(&self, offset: usize) -> String {
        let before = self.lex.src[..offset].trim_end();
        if before.ends_with("<%=") || before.ends_with("<%-") {
            "`<%=`".into()
        } else {
            match before.chars().last() {
                Some(c) => format!("`{c}`"),
                None => "the start".into(),
            }
        }
    }

    /// Member access and calls are only supported on variables; say so instead of a
    /// confusing "expected `%>`".
    fn no_member(&mut self, e: Expr) -> Result<Expr, ParseError> {
        let tok = self.lex.peek()?;
        let what = match tok.kind {
            Tok::Dot => "`.name`",
            Tok::LBracket => "`[…]`",
            Tok::LParen => "a call `(…)`",
            _ => return Ok(e),
        };
        Err(self.err(tok.start, ParseErrorKind::MemberOnNonVariable { what }))
    }

    fn call(&mut self, name_tok: &Token, name: &str) -> Result<Expr, ParseError> {
        if name != "encode" {
            return Err(self.err(
                name_tok.start,
                ParseErrorKind::UnknownFunction { name: name.into() },
            ));
        }
        self.expect(Tok::LParen, "`(`")?;
        let mut args: Vec<Expr> = Vec::new();
        if self.lex.peek()?.kind == Tok::RParen {
            self.lex.next()?;
        } else {
            loop {
                let after = if args.is_empty() { "`encode(`" } else { "`,`" };
                args.push(self.operand(after, Self::expr)?);
                let tok = self.lex.next()?;
                match tok.kind {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        return Err(
                            self.unexpected(&tok, "`,` or `)` in the arguments of encode(…)")
                        );
                    }
                }
            }
        }
        let count = args.len();
        let mut args = args.into_iter();
        let expr = match (args.next(), args.next(), args.next()) {
            (Some(value), encoding, None) => Expr::Encode(Box::new(value), encoding.map(Box::new)),
            _ => {
                return Err(self.err(name_tok.start, ParseErrorKind::EncodeArity { count }));
            }
        };
        self.no_member(expr)
    }

    /// A variable path starting with the root `root`: `.name` and `["key"]`/`[0]` steps.
    fn path(&mut self, root: &str) -> Result<Expr, ParseError> {
        let mut segments: Vec<Box<str>> = vec![root.into()];
        loop {
            let tok = self.lex.peek()?;
            match tok.kind {
                Tok::Dot => {
                    self.lex.next()?;
                    let name = self.lex.next()?;
                    if name.kind != Tok::Ident {
                        self.check_eof(&name)?;
                        return Err(self.err(
                            name.start,
                            ParseErrorKind::Unexpected {
                                expected: "a name after `.`".into(),
                                found: name.describe(self.lex.src),
                            },
                        ));
                    }
                    let key = &self.lex.src[name.start..name.end];
                    if self.lex.peek()?.kind == Tok::LParen {
                        return Err(
                            self.err(name.start, ParseErrorKind::MethodCall { name: key.into() })
                        );
                    }
                    segments.push(key.into());
                }
                Tok::LBracket => {
                    self.lex.next()?;
                    let key = self.lex.next()?;
                    let seg: Box<str> = match key.kind {
                        Tok::Str(s) => s.into(),
                        Tok::Num(v) if v >= 0.0 && v.fract() == 0.0 && v < 4_294_967_295.0 => {
                            // Array indices: `[0]` and `["0"]` are the same in JavaScript.
                            format!("{v}").into()
                        }
                        _ => {
                            self.check_eof(&key)?;
                            return Err(self.err(key.start, ParseErrorKind::ComputedMember));
                        }
                    };
                    self.expect(Tok::RBracket, "`]`")?;
                    segments.push(seg);
                }
                // `context.items.0`: the lexer read `.0` as a number.
                Tok::Num(_) if self.lex.src[tok.start..].starts_with('.') => {
                    return Err(self.err(
                        tok.start,
                        ParseErrorKind::Unexpected {
                            expected: "a name after `.` (write an array index as `[0]`)".into(),
                            found: tok.describe(self.lex.src),
                        },
                    ));
                }
                Tok::LParen => {
                    // `context.fn(…)` after a bracket step, e.g. `a["b"](…)`.
                    let name = segments.last().map(|s| s.to_string()).unwrap_or_default();
                    return Err(self.err(tok.start, ParseErrorKind::MethodCall { name }));
                }
                _ => return Ok(Expr::Path(segments.into_boxed_slice())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_expr(src: &str) -> Expr {
        let parts = parse_template(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        match parts.as_slice() {
            [Part::Tag { expr, .. }] => expr.clone(),
            other => panic!("expected one tag, got {other:?}"),
        }
    }

    fn err(src: &str) -> ParseError {
        match parse_template(src) {
            Ok(p) => panic!("{src:?} parsed: {p:?}"),
            Err(e) => e,
        }
    }

    fn path(segs: &[&str]) -> Expr {
        Expr::Path(segs.iter().map(|s| (*s).into()).collect())
    }

    #[test]
    fn splits_text_and_tags() {
        let parts = parse_template("Basic <%= x %>!").unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Text(0..6),
                Part::Tag {
                    expr: path(&["x"]),
                    span: 6..14
                },
                Part::Text(14..15),
            ]
        );
        assert_eq!(parse_template("").unwrap(), vec![]);
        assert_eq!(parse_template("a %> b").unwrap(), vec![Part::Text(0..6)]);
    }

    #[test]
    fn whitespace_is_free_and_dash_tag_is_the_same() {
        assert_eq!(one_expr("<%=iparam.x%>"), path(&["iparam", "x"]));
        assert_eq!(one_expr("<%-\n\t iparam . x \n%>"), path(&["iparam", "x"]));
    }

    #[test]
    fn paths_with_brackets() {
        assert_eq!(
            one_expr(r#"<%= context["a-b"].c[0]['d'] %>"#),
            path(&["context", "a-b", "c", "0", "d"])
        );
        // Reserved words are fine as keys, as in JavaScript.
        assert_eq!(
            one_expr("<%= iparam.default %>"),
            path(&["iparam", "default"])
        );
        assert_eq!(one_expr("<%= $x._y1 %>"), path(&["$x", "_y1"]));
    }

    #[test]
    fn literals() {
        assert_eq!(one_expr("<%= 'a' %>"), Expr::Str("a".into()));
        assert_eq!(one_expr(r#"<%= "a'b" %>"#), Expr::Str("a'b".into()));
        assert_eq!(one_expr("<%= 'a\\\nb' %>"), Expr::Str("ab".into()));
        assert_eq!(one_expr("<%= 12 %>"), Expr::Num(12.0));
        assert_eq!(one_expr("<%= 1.5e3 %>"), Expr::Num(1500.0));
        assert_eq!(one_expr("<%= .5 %>"), Expr::Num(0.5));
        assert_eq!(one_expr("<%= 5. %>"), Expr::Num(5.0));
        assert_eq!(one_expr("<%= -2 %>"), Expr::Num(-2.0));
        assert_eq!(one_expr("<%= true %>"), Expr::Bool(true));
        assert_eq!(one_expr("<%= false %>"), Expr::Bool(false));
        assert_eq!(one_expr("<%= null %>"), Expr::Null);
        assert_eq!(one_expr("<%= undefined %>"), Expr::Undefined);
    }

    #[test]
    fn strings_and_numbers_inside_a_tag() {
        // `%>` and `<%=` inside a string belong to the string, not to the tags.
        assert_eq!(one_expr("<%= '%>' %>"), Expr::Str("%>".into()));
        assert_eq!(one_expr("<%= '<%= x %>' %>"), Expr::Str("<%= x %>".into()));
        // `1.` is a number and `.2` another, which cannot follow it.
        let e = err("<%= 1..2 %>");
        assert!(
            matches!(
                e.kind,
                ParseErrorKind::BadNumber { .. } | ParseErrorKind::Unexpected { .. }
            ),
            "1..2: {e:?}"
        );
    }

    #[test]
    fn precedence_and_chains() {
        let a = || path(&["a"]);
        let b = || path(&["b"]);
        let c = || path(&["c"]);
        assert_eq!(one_expr("<%= a + b + c %>"), Expr::Add(vec![a(), b(), c()]));
        assert_eq!(
            one_expr("<%= a || b || c %>"),
            Expr::Or(vec![a(), b(), c()])
        );
        assert_eq!(
            one_expr("<%= a || b + c %>"),
            Expr::Or(vec![a(), Expr::Add(vec![b(), c()])])
        );
        assert_eq!(
            one_expr("<%= a === b + c %>"),
            Expr::Eq(Box::new(a()), vec![(false, Expr::Add(vec![b(), c()]))])
        );
        assert_eq!(
            one_expr("<%= a || b !== c %>"),
            Expr::Or(vec![a(), Expr::Eq(Box::new(b()), vec![(true, c())])])
        );
        assert_eq!(
            one_expr("<%= a ? b : c ? a : b %>"),
            Expr::Cond(
                Box::new(a()),
                Box::new(b()),
                Box::new(Expr::Cond(Box::new(c()), Box::new(a()), Box::new(b())))
            )
        );
        assert_eq!(
            one_expr("<%= (a + b) + c %>"),
            Expr::Add(vec![Expr::Add(vec![a(), b()]), c()])
        );
    }

    #[test]
    fn encode_with_optional_second_argument() {
        assert_eq!(
            one_expr("<%= encode(a + ':x') %>"),
            Expr::Encode(
                Box::new(Expr::Add(vec![path(&["a"]), Expr::Str(":x".into())])),
                None
            )
        );
        assert_eq!(
            one_expr("<%= encode(a, 'base64') %>"),
            Expr::Encode(
                Box::new(path(&["a"])),
                Some(Box::new(Expr::Str("base64".into())))
            )
        );
    }

    #[test]
    fn tag_errors() {
        let e = err("Basic <%= encode(iparam.api_key)");
        assert_eq!(e.kind, ParseErrorKind::UnclosedTag);
        assert_eq!(e.offset, 6);
        assert_eq!(
            e.to_string(),
            "unclosed `<%=` tag: end the expression with `%>` (at byte 6)"
        );
        assert_eq!(err("x <% if (a) { %>").kind, ParseErrorKind::CodeTag);
        assert_eq!(err("<%").kind, ParseErrorKind::CodeTag);
        assert_eq!(err("<%=").kind, ParseErrorKind::UnclosedTag);
        assert_eq!(err("<%= %>").kind, ParseErrorKind::EmptyTag);
        assert_eq!(err("<%=%>").kind, ParseErrorKind::EmptyTag);
        // `%>` only inside a string: the string runs to the end of the text.
        assert_eq!(
            err("<%= 'a%>").kind,
            ParseErrorKind::UnterminatedString { quote: '\'' }
        );
        // A second tag that is not closed.
        assert_eq!(err("<%= a %> <%= b").kind, ParseErrorKind::UnclosedTag);
        assert_eq!(err("<%= a %> <%= b").offset, 9);
        // `%>` exists only before... the expression runs off the end.
        assert_eq!(
            err("<%= (a %>").kind,
            ParseErrorKind::Unexpected {
                expected: "`)`".into(),
                found: "`%>` (the end of the tag)".into()
            }
        );
    }

    #[test]
    fn expression_errors() {
        let e = err("<%= a + %>");
        assert_eq!(
            e.to_string(),
            "expected an expression after `+`, found `%>` (the end of the tag) (at byte 8)"
        );
        assert_eq!(
            err("<%= a || %>").kind,
            ParseErrorKind::ExpectedExpression {
                after: "`||`".into(),
                found: "`%>` (the end of the tag)".into()
            }
        );
        assert!(matches!(
            err("<%= a ? : b %>").kind,
            ParseErrorKind::ExpectedExpression { .. }
        ));
        assert!(matches!(
            err("<%= a ? b %>").kind,
            ParseErrorKind::Unexpected { .. }
        ));
        assert!(matches!(
            err("<%= a b %>").kind,
            ParseErrorKind::Unexpected { .. }
        ));
        assert!(matches!(
            err("<%= ) %>").kind,
            ParseErrorKind::ExpectedExpression { .. }
        ));
        assert_eq!(
            err("<%= foo(a) %>").to_string(),
            "unknown function `foo`: only encode(…) is available (at byte 4)"
        );
        assert_eq!(
            err("<%= a.toUpperCase() %>").kind,
            ParseErrorKind::MethodCall {
                name: "toUpperCase".into()
            }
        );
        assert!(matches!(
            err("<%= a['b']() %>").kind,
            ParseErrorKind::MethodCall { .. }
        ));
        assert_eq!(
            err("<%= encode() %>").kind,
            ParseErrorKind::EncodeArity { count: 0 }
        );
        assert_eq!(
            err("<%= encode(a, 'b', c) %>").kind,
            ParseErrorKind::EncodeArity { count: 3 }
        );
        assert!(matches!(
            err("<%= encode(a %>").kind,
            ParseErrorKind::Unexpected { .. }
        ));
        assert!(matches!(
            err("<%= encode(a,) %>").kind,
            ParseErrorKind::ExpectedExpression { .. }
        ));
        assert_eq!(err("<%= a[b] %>").kind, ParseErrorKind::ComputedMember);
        assert_eq!(err("<%= a[-1] %>").kind, ParseErrorKind::ComputedMember);
        assert_eq!(err("<%= a[1.5] %>").kind, ParseErrorKind::ComputedMember);
        assert!(matches!(
            err("<%= a['b' %>").kind,
            ParseErrorKind::Unexpected { .. }
        ));
        assert!(matches!(
            err("<%= a. %>").kind,
            ParseErrorKind::Unexpected { .. }
        ));
        assert_eq!(
            err("<%= a.1 %>").to_string(),
            "expected a name after `.` (write an array index as `[0]`), found `.1` (at byte 5)"
        );
        assert!(matches!(
            err("<%= 'x'.length %>").kind,
            ParseErrorKind::MemberOnNonVariable { .. }
        ));
        assert!(matches!(
            err("<%= (a).b %>").kind,
            ParseErrorKind::MemberOnNonVariable { .. }
        ));
        assert!(matches!(
            err("<%= encode(a).b %>").kind,
            ParseErrorKind::MemberOnNonVariable { .. }
        ));
        assert!(matches!(
            err("<%= 1(2) %>").kind,
            ParseErrorKind::MemberOnNonVariable { .. }
        ));
        assert_eq!(
            err("<%= a # %>").kind,
            ParseErrorKind::UnexpectedChar { ch: '#' }
        );
    }

    #[test]
    fn unsupported_operators_say_what_is_supported() {
        for (src, op) in [
            ("<%= a && b %>", "&&"),
            ("<%= a == b %>", "=="),
            ("<%= a != b %>", "!="),
            ("<%= a = b %>", "="),
            ("<%= !a %>", "!"),
            ("<%= a | b %>", "|"),
            ("<%= a * b %>", "*"),
            ("<%= a / b %>", "/"),
            ("<%= a < b %>", "<"),
            ("<%= a - b %>", "-"),
            ("<%= -a %>", "-"),
        ] {
            match err(src).kind {
                ParseErrorKind::UnsupportedOperator { op: got, .. } => assert_eq!(got, op, "{src}"),
                other => panic!("{src}: {other:?}"),
            }
        }
        assert_eq!(
            err("<%= a == b %>").to_string(),
            "operator `==` is not supported: use the strict `===` instead (at byte 6)"
        );
    }

    #[test]
    fn nesting_is_limited_without_overflowing() {
        let ok = format!(
            "<%= {}a{} %>",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_template(&ok).is_ok());
        let deep = format!("<%= {}a{} %>", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(err(&deep).kind, ParseErrorKind::TooDeep { max: MAX_DEPTH });
        // Far deeper than any stack could take if it were unbounded, and unclosed.
        let huge = format!("<%= {} %>", "(".repeat(1_000_000));
        assert_eq!(err(&huge).kind, ParseErrorKind::TooDeep { max: MAX_DEPTH });
        let ternaries = format!("<%= {}b %>", "a ? b : ".repeat(100_000));
        assert_eq!(
            err(&ternaries).kind,
            ParseErrorKind::TooDeep { max: MAX_DEPTH }
        );
        let encodes = format!("<%= {}a{} %>", "encode(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(
            err(&encodes).kind,
            ParseErrorKind::TooDeep { max: MAX_DEPTH }
        );
    }

    #[test]
    fn long_flat_chains_are_fine() {
        let src = format!("<%= a{} %>", " + a".repeat(100_000));
        match one_expr(&src) {
            Expr::Add(items) => assert_eq!(items.len(), 100_001),
            other => panic!("{other:?}"),
        }
        let src = format!("<%= a{} %>", " === a".repeat(100_000));
        assert!(matches!(one_expr(&src), Expr::Eq(_, rest) if rest.len() == 100_000));
    }
}
