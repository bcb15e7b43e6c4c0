//! Expressions: parsing (C precedence) and evaluation in 64-bit signed
//! arithmetic that wraps or reports, never panics.

use vmlab_isa::split_hi_lo;

use crate::diag::Problem;
use crate::lexer::{Span, Tok, Token};

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Not,
    Plus,
    /// `!`: 1 if zero, else 0.
    LogicalNot,
}

/// Binary operators, in the C sense; comparisons and `&&`/`||` give 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Xor,
    Or,
    LogicalAnd,
    LogicalOr,
}

impl BinOp {
    /// Binding strength: higher binds tighter (C's order).
    fn precedence(self) -> u8 {
        match self {
            BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
            BinOp::Add | BinOp::Sub => 9,
            BinOp::Shl | BinOp::Shr => 8,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 7,
            BinOp::Eq | BinOp::Ne => 6,
            BinOp::And => 5,
            BinOp::Xor => 4,
            BinOp::Or => 3,
            BinOp::LogicalAnd => 2,
            BinOp::LogicalOr => 1,
        }
    }

    fn from_token(t: &Tok) -> Option<BinOp> {
        Some(match t {
            Tok::Punct('*') => BinOp::Mul,
            Tok::Punct('/') => BinOp::Div,
            Tok::Punct('%') => BinOp::Rem,
            Tok::Punct('+') => BinOp::Add,
            Tok::Punct('-') => BinOp::Sub,
            Tok::Shl => BinOp::Shl,
            Tok::Shr => BinOp::Shr,
            Tok::Punct('<') => BinOp::Lt,
            Tok::Op("<=") => BinOp::Le,
            Tok::Punct('>') => BinOp::Gt,
            Tok::Op(">=") => BinOp::Ge,
            Tok::Op("==") => BinOp::Eq,
            Tok::Op("!=") => BinOp::Ne,
            Tok::Punct('&') => BinOp::And,
            Tok::Punct('^') => BinOp::Xor,
            Tok::Punct('|') => BinOp::Or,
            Tok::Op("&&") => BinOp::LogicalAnd,
            Tok::Op("||") => BinOp::LogicalOr,
            _ => return None,
        })
    }
}

/// A parsed expression; every node keeps the span of its text for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Num(i64, Span),
    Sym(String, Span),
    /// `.`: the address of the current statement.
    Dot(Span),
    /// `1b` / `1f`.
    Local(u32, bool, Span),
    Unary(UnOp, Box<Expr>, Span),
    Binary(BinOp, Box<Expr>, Box<Expr>, Span),
    /// `%hi(e)` (`true`) or `%lo(e)` (`false`).
    HiLo(bool, Box<Expr>, Span),
}

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// A symbol that is undefined or not placed yet. In the first pass this
    /// only means "not known yet"; in the second it is an error.
    Unknown(Problem),
    /// A real error (division by zero, bad shift, circular definition).
    Error(Problem),
}

impl EvalError {
    pub(crate) fn into_problem(self) -> Problem {
        match self {
            EvalError::Unknown(p) | EvalError::Error(p) => p,
        }
    }
}

/// What an expression's names mean: symbols, `.` and local labels.
pub(crate) trait Resolver {
    fn symbol(&self, name: &str, span: Span) -> Result<i64, EvalError>;
    fn dot(&self, span: Span) -> Result<i64, EvalError>;
    fn local(&self, n: u32, forward: bool, span: Span) -> Result<i64, EvalError>;
}

impl Expr {
    /// The text the expression covers.
    pub(crate) fn span(&self) -> Span {
        match self {
            Expr::Num(_, s) | Expr::Sym(_, s) | Expr::Dot(s) | Expr::Local(_, _, s) => *s,
            Expr::Unary(_, _, s) | Expr::Binary(_, _, _, s) | Expr::HiLo(_, _, s) => *s,
        }
    }

    /// Replaces the symbols `known` gives a value for by that value. Used to
    /// capture `.set` values at the statement that uses them.
    pub(crate) fn fold(&mut self, known: &dyn Fn(&str) -> Option<i64>) {
        match self {
            Expr::Sym(name, span) => {
                if let Some(v) = known(name) {
                    *self = Expr::Num(v, *span);
                }
            }
            Expr::Unary(_, e, _) | Expr::HiLo(_, e, _) => e.fold(known),
            Expr::Binary(_, a, b, _) => {
                a.fold(known);
                b.fold(known);
            }
            Expr::Num(..) | Expr::Dot(_) | Expr::Local(..) => {}
        }
    }

    /// Evaluates the expression.
    pub(crate) fn eval(&self, env: &dyn Resolver) -> Result<i64, EvalError> {
        match self {
            Expr::Num(v, _) => Ok(*v),
            Expr::Sym(name, span) => env.symbol(name, *span),
            Expr::Dot(span) => env.dot(*span),
            Expr::Local(n, fwd, span) => env.local(*n, *fwd, *span),
            Expr::Unary(op, e, _) => {
                let v = e.eval(env)?;
                Ok(match op {
                    UnOp::Neg => v.wrapping_neg(),
                    UnOp::Not => !v,
                    UnOp::Plus => v,
                    UnOp::LogicalNot => (v == 0).into(),
                })
            }
            Expr::HiLo(hi, e, _) => {
                let (h, l) = split_hi_lo(e.eval(env)? as u32);
                Ok(if *hi { h.into() } else { l.into() })
            }
            Expr::Binary(op, a, b, span) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                let err =
                    |msg: String, hint: &str| EvalError::Error(Problem::new(msg, *span, hint));
                Ok(match op {
                    BinOp::Mul => x.wrapping_mul(y),
                    BinOp::Div | BinOp::Rem if y == 0 => {
                        return Err(err("division by zero".into(), "the divisor evaluates to 0"));
                    }
                    BinOp::Div => x.wrapping_div(y),
                    BinOp::Rem => x.wrapping_rem(y),
                    BinOp::Add => x.wrapping_add(y),
                    BinOp::Sub => x.wrapping_sub(y),
                    BinOp::Shl | BinOp::Shr if !(0..64).contains(&y) => {
                        return Err(err(
                            format!("shift amount {y} is out of range"),
                            "expected 0..=63",
                        ));
                    }
                    BinOp::Shl => x.wrapping_shl(y as u32),
                    BinOp::Shr => x.wrapping_shr(y as u32),
                    BinOp::And => x & y,
                    BinOp::Xor => x ^ y,
                    BinOp::Or => x | y,
                    BinOp::Lt => (x < y).into(),
                    BinOp::Le => (x <= y).into(),
                    BinOp::Gt => (x > y).into(),
                    BinOp::Ge => (x >= y).into(),
                    BinOp::Eq => (x == y).into(),
                    BinOp::Ne => (x != y).into(),
                    BinOp::LogicalAnd => (x != 0 && y != 0).into(),
                    BinOp::LogicalOr => (x != 0 || y != 0).into(),
                })
            }
        }
    }
}

/// Nesting limit, so a line of ten thousand `(` cannot overflow the stack.
const MAX_DEPTH: u32 = 128;

/// Parses all of `toks` as one expression. `whole` is the span reported when
/// `toks` is empty.
pub(crate) fn parse_expr(toks: &[Token], whole: Span) -> Result<Expr, Problem> {
    let mut p = Parser {
        toks,
        pos: 0,
        end: whole,
    };
    let e = p.binary(0, 0)?;
    if let Some(t) = toks.get(p.pos) {
        return Err(Problem::new(
            "unexpected token in expression",
            t.span,
            "expected an operator or the end of the operand",
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    end: Span,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn missing(&self) -> Problem {
        let span = self
            .toks
            .last()
            .map_or(self.end, |t| Span::new(t.span.end() as usize, 1));
        Problem::new(
            "expected an expression",
            span,
            "expected a number, symbol, `.` or `(`",
        )
    }

    /// Precedence climbing: parses operators binding tighter than `min`.
    fn binary(&mut self, min: u8, depth: u32) -> Result<Expr, Problem> {
        let mut lhs = self.unary(depth)?;
        while let Some(op) = self.peek().and_then(|t| BinOp::from_token(&t.tok)) {
            if op.precedence() <= min {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(op.precedence(), depth + 1)?;
            let span = lhs.span().to(rhs.span());
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    fn unary(&mut self, depth: u32) -> Result<Expr, Problem> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.missing());
        };
        if depth > MAX_DEPTH {
            return Err(Problem::new("expression is nested too deeply", t.span, ""));
        }
        self.pos += 1;
        let op = match t.tok {
            Tok::Punct('-') => Some(UnOp::Neg),
            Tok::Punct('~') => Some(UnOp::Not),
            Tok::Punct('+') => Some(UnOp::Plus),
            Tok::Punct('!') => Some(UnOp::LogicalNot),
            _ => None,
        };
        if let Some(op) = op {
            let e = self.unary(depth + 1)?;
            let span = t.span.to(e.span());
            return Ok(Expr::Unary(op, Box::new(e), span));
        }
        Ok(match t.tok {
            Tok::Num(v) => Expr::Num(v, t.span),
            Tok::Local { n, forward } => Expr::Local(n, forward, t.span),
            Tok::Ident(name) if name == "." => Expr::Dot(t.span),
            Tok::Ident(name) => Expr::Sym(name, t.span),
            Tok::Punct('(') => {
                let e = self.binary(0, depth + 1)?;
                self.close(t.span)?;
                e
            }
            Tok::Punct('%') => {
                let hi = match self.peek().and_then(Token::ident) {
                    Some("hi") => true,
                    Some("lo") => false,
                    _ => {
                        return Err(Problem::new(
                            "expected `%hi(...)` or `%lo(...)`",
                            t.span,
                            "`%` starts a relocation operator here",
                        ));
                    }
                };
                self.pos += 1;
                if !self.peek().is_some_and(|t| t.is_punct('(')) {
                    return Err(Problem::new("expected `(` after `%hi`/`%lo`", t.span, ""));
                }
                self.pos += 1;
                let e = self.binary(0, depth + 1)?;
                let close = self.close(t.span)?;
                Expr::HiLo(hi, Box::new(e), t.span.to(close))
            }
            _ => {
                return Err(Problem::new(
                    "expected an expression",
                    t.span,
                    "expected a number, symbol, `.` or `(`",
                ));
            }
        })
    }

    fn close(&mut self, open: Span) -> Result<Span, Problem> {
        match self.peek().cloned() {
            Some(t) if t.is_punct(')') => {
                self.pos += 1;
                Ok(t.span)
            }
            _ => Err(Problem::new(
                "unclosed `(`",
                open,
                "expected a matching `)`",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    struct NoSyms;
    impl Resolver for NoSyms {
        fn symbol(&self, name: &str, span: Span) -> Result<i64, EvalError> {
            Err(EvalError::Unknown(Problem::new(name, span, "")))
        }
        fn dot(&self, _: Span) -> Result<i64, EvalError> {
            Ok(0x100)
        }
        fn local(&self, _: u32, _: bool, span: Span) -> Result<i64, EvalError> {
            Err(EvalError::Unknown(Problem::new("local", span, "")))
        }
    }

    fn eval(s: &str) -> Result<i64, EvalError> {
        let toks = lex(s).unwrap();
        parse_expr(&toks, Span::default()).unwrap().eval(&NoSyms)
    }

    #[test]
    fn precedence_follows_c() {
        assert_eq!(eval("1 + 2 * 3").unwrap(), 7);
        assert_eq!(eval("1 | 2 ^ 3 & 6").unwrap(), 1); // 1 | (2 ^ (3 & 6))
        assert_eq!(eval("1 << 2 + 1").unwrap(), 8);
        assert_eq!(eval("-(3 - 5) * ~0").unwrap(), -2);
        assert_eq!(eval(". + 8").unwrap(), 0x108);
        assert_eq!(eval("-7 / 2").unwrap(), -3);
        assert_eq!(eval("-7 % 2").unwrap(), -1);
        assert_eq!(eval("1 + 1 == 2 && 3 > 2 || 0").unwrap(), 1);
        assert_eq!(
            eval("!0 + (2 <= 1) + (1 != 1) + (4 >= 4) + (1 < 2)").unwrap(),
            3
        );
    }

    #[test]
    fn errors_are_values() {
        assert!(matches!(eval("1 / (2 - 2)"), Err(EvalError::Error(_))));
        assert!(matches!(eval("1 << 64"), Err(EvalError::Error(_))));
        assert_eq!(eval("0x7fffffffffffffff + 1").unwrap(), i64::MIN);
        assert_eq!(eval("(-0x7fffffffffffffff - 1) / -1").unwrap(), i64::MIN);
        let deep = "(".repeat(5000) + "1" + &")".repeat(5000);
        assert!(parse_expr(&lex(&deep).unwrap(), Span::default()).is_err());
    }
}
