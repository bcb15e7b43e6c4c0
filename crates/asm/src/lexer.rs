//! Splits one source line into tokens, each with the columns it covers so a
//! diagnostic can put its carets under it.

use crate::diag::Problem;

/// Columns of a token: 0-based character column and width in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Span {
    pub col: u32,
    pub len: u32,
}

impl Span {
    pub(crate) fn new(col: usize, len: usize) -> Span {
        Span {
            col: col as u32,
            len: len.max(1) as u32,
        }
    }

    /// The span from the start of `self` to the end of `other`.
    pub(crate) fn to(self, other: Span) -> Span {
        let end = (other.col + other.len).max(self.col + self.len);
        Span {
            col: self.col,
            len: (end - self.col).max(1),
        }
    }

    /// One past the last column.
    pub(crate) fn end(self) -> u32 {
        self.col + self.len
    }
}

/// A token's kind and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name: `[A-Za-z_.$][A-Za-z0-9_.$]*` (mnemonics, directives, registers,
    /// symbols; `.` alone is the current address).
    Ident(String),
    /// An integer or character literal.
    Num(i64),
    /// A reference to a local numeric label: `1b` (backward) or `1f` (forward).
    Local { n: u32, forward: bool },
    /// A string literal, escapes already processed.
    Str(Vec<u8>),
    /// A two-character comparison or logical operator: `==` `!=` `<=` `>=` `&&` `||`.
    Op(&'static str),
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// Any other single punctuation character.
    Punct(char),
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

impl Token {
    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    pub(crate) fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '$')
}

fn is_ident_char(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// True when `s` is a valid identifier (used for `-D` names and label checks).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char)
}

/// The first word of a line (what conditionals and `.endm` are recognised by,
/// even in skipped code that might not lex).
pub(crate) fn first_word(line: &str) -> &str {
    let t = line.trim_start();
    let end = t
        .find(|c: char| c.is_whitespace() || c == '#' || c == ';')
        .unwrap_or(t.len());
    &t[..end]
}

/// Operators of two characters, matched before their one-character prefixes.
const TWO_CHAR_OPS: [&str; 8] = ["<<", ">>", "==", "!=", "<=", ">=", "&&", "||"];

/// Tokenizes one line. Comments (`#` or `;` to the end of the line) are dropped.
pub(crate) fn lex(line: &str) -> Result<Vec<Token>, Problem> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' || c == ';' {
            break;
        }
        let tok = if is_ident_start(c) {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().collect())
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            number(&text)
                .map_err(|(msg, hint)| Problem::new(msg, Span::new(start, i - start), hint))?
        } else if c == '\'' {
            i += 1;
            let v = match escaped_char(&chars, &mut i, '\'').map_err(|p| p.at(start, i))? {
                Lit::Byte(b) => b,
                Lit::Char(c) if c.is_ascii() => c as u8,
                Lit::Char(c) => {
                    return Err(Problem::new(
                        format!("non-ASCII character `{c}` in a character literal"),
                        Span::new(i - 1, 1),
                        "a character literal is one byte; use a string (stored as UTF-8) or `\\xNN` escapes",
                    ));
                }
            };
            if chars.get(i) != Some(&'\'') {
                return Err(Problem::new(
                    "unterminated character literal",
                    Span::new(start, i - start),
                    "expected a closing `'`",
                ));
            }
            i += 1;
            Tok::Num(v.into())
        } else if c == '"' {
            i += 1;
            let mut bytes = Vec::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(Problem::new(
                            "unterminated string",
                            Span::new(start, i - start),
                            "add a closing `\"`",
                        ));
                    }
                    Some('"') => break,
                    Some(_) => {
                        // Characters are stored as UTF-8; escapes are single bytes.
                        match escaped_char(&chars, &mut i, '"').map_err(|p| p.at(start, i))? {
                            Lit::Byte(b) => bytes.push(b),
                            Lit::Char(c) => {
                                let mut buf = [0; 4];
                                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            }
                        }
                    }
                }
            }
            i += 1;
            Tok::Str(bytes)
        } else if let Some(op) = TWO_CHAR_OPS.iter().find(|op| {
            let mut o = op.chars();
            o.next() == Some(c) && o.next() == chars.get(i + 1).copied()
        }) {
            i += 2;
            match *op {
                "<<" => Tok::Shl,
                ">>" => Tok::Shr,
                other => Tok::Op(other),
            }
        } else if "+-*/%&|^~(),:=<>!".contains(c) {
            i += 1;
            Tok::Punct(c)
        } else {
            return Err(Problem::new(
                format!("unexpected character `{}`", c.escape_default()),
                Span::new(start, 1),
                "not part of any token",
            ));
        };
        out.push(Token {
            tok,
            span: Span::new(start, i - start),
        });
    }
    Ok(out)
}

/// A literal error before its span is known.
struct LitError(String, String);

impl LitError {
    fn at(self, start: usize, end: usize) -> Problem {
        Problem::new(self.0, Span::new(start, end.saturating_sub(start)), self.1)
    }
}

/// One unit of a string or character literal.
enum Lit {
    /// A character written as itself.
    Char(char),
    /// An escape, which always stands for one byte.
    Byte(u8),
}

/// Reads one character of a string or character literal at `chars[*i]`,
/// processing escapes, and advances `i`.
fn escaped_char(chars: &[char], i: &mut usize, quote: char) -> Result<Lit, LitError> {
    let Some(&c) = chars.get(*i) else {
        return Err(LitError(
            "unterminated literal".into(),
            format!("expected a closing `{quote}`"),
        ));
    };
    *i += 1;
    if c != '\\' {
        return Ok(Lit::Char(c));
    }
    let Some(&e) = chars.get(*i) else {
        return Err(LitError(
            "unterminated escape".into(),
            "expected one of \\n \\t \\r \\0 \\\\ \\' \\\" \\xNN".into(),
        ));
    };
    *i += 1;
    Ok(Lit::Byte(match e {
        'n' => 10,
        't' => 9,
        'r' => 13,
        '0' => 0,
        '\\' | '\'' | '"' => e as u8,
        'x' => {
            let hex: String = chars.iter().skip(*i).take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(v) if hex.len() == 2 => {
                    *i += 2;
                    v
                }
                _ => {
                    return Err(LitError(
                        "bad `\\x` escape".into(),
                        "expected two hex digits, as in \\x41".into(),
                    ));
                }
            }
        }
        other => {
            return Err(LitError(
                format!("unknown escape `\\{}`", other.escape_default()),
                "expected one of \\n \\t \\r \\0 \\\\ \\' \\\" \\xNN".into(),
            ));
        }
    }))
}

/// Interprets a run starting with a digit: a literal in any radix, or a local
/// label reference. `0b` followed by binary digits is a binary literal, so
/// `0b` alone (or `10b`) refers to a local label.
fn number(text: &str) -> Result<Tok, (String, String)> {
    let lower = text.to_ascii_lowercase();
    let digits = lower.replace('_', "");
    let (radix, body) = if let Some(r) = digits.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = digits.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = digits.strip_prefix("0b").filter(|r| !r.is_empty()) {
        (2, r)
    } else if let Some(n) = digits.strip_suffix('b').or(digits.strip_suffix('f')) {
        if n.chars().all(|c| c.is_ascii_digit()) && !lower.contains('_') {
            return n
                .parse::<u32>()
                .map(|n| Tok::Local {
                    n,
                    forward: digits.ends_with('f'),
                })
                .map_err(|_| (format!("local label `{text}` is too large"), String::new()));
        }
        (10, digits.as_str())
    } else {
        (10, digits.as_str())
    };
    match u64::from_str_radix(body, radix) {
        // Literals above i64::MAX wrap: the expression arithmetic is 64-bit.
        Ok(v) => Ok(Tok::Num(v as i64)),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err((
            format!("number `{text}` does not fit in 64 bits"),
            String::new(),
        )),
        Err(_) => Err((
            format!("invalid number `{text}`"),
            "expected decimal, 0x hex, 0b binary, 0o octal, or a local label like `1b`/`1f`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_locals() {
        assert_eq!(toks("0x1_0 0b101 0o17 42"), [16, 5, 15, 42].map(Tok::Num));
        assert_eq!(
            toks("1b 0b 12f"),
            [
                Tok::Local {
                    n: 1,
                    forward: false
                },
                Tok::Local {
                    n: 0,
                    forward: false
                },
                Tok::Local {
                    n: 12,
                    forward: true
                }
            ]
        );
        assert!(lex("0x").is_err());
        assert!(lex("99999999999999999999999").is_err());
    }

    #[test]
    fn strings_chars_comments() {
        assert_eq!(
            toks(r#"'a' '\n' "a\x41\"" # x"#),
            [Tok::Num(97), Tok::Num(10), Tok::Str(b"aA\"".to_vec())]
        );
        assert_eq!(toks("'#' ; c"), [Tok::Num(35)]);
        let e = lex("  .ascii \"abc").unwrap_err();
        assert_eq!(
            (e.msg.as_str(), e.span.col, e.span.len),
            ("unterminated string", 9, 4)
        );
    }

    #[test]
    fn strings_are_utf8_and_escapes_are_bytes() {
        assert_eq!(
            toks(r#""é€\xe9" '\xff'"#),
            [
                Tok::Str(vec![0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xe9]),
                Tok::Num(255)
            ]
        );
        let e = lex("li a0, 'é'").unwrap_err();
        assert_eq!((e.span.col, e.span.len), (8, 1));
        assert!(e.msg.contains("non-ASCII"), "{}", e.msg);
    }
}
