//! Conditional assembly: `.if`, `.ifdef`, `.ifndef`, `.elif`, `.else`,
//! `.endif`, nestable. Recognised by the first word of a line, so skipped
//! code does not have to lex.

use std::rc::Rc;

use crate::diag::Problem;
use crate::lexer::{Span, lex};
use crate::parse::parse_statement;
use crate::pass1::{Assembler, LineCtx, word_span};

/// One open `.if`.
#[derive(Debug)]
pub(crate) struct Cond {
    /// Lines are assembled (this branch is taken and the parent is active).
    pub active: bool,
    /// Some branch of this `.if` was taken already.
    pub taken: bool,
    pub parent: bool,
    pub else_seen: bool,
    pub ctx: Rc<LineCtx>,
}

impl Assembler<'_> {
    pub(crate) fn conditional(&mut self, word: &str, ctx: &Rc<LineCtx>) {
        let parent = self.active();
        let own = self.stack.last().map_or(0, |f| f.cond_depth);
        let span = word_span(&ctx.text);
        match word {
            ".if" | ".ifdef" | ".ifndef" => {
                let cond = parent && self.condition(word, ctx);
                self.conds.push(Cond {
                    active: cond,
                    taken: cond,
                    parent,
                    else_seen: false,
                    ctx: ctx.clone(),
                });
            }
            _ if self.conds.len() <= own => {
                let p = Problem::new(
                    format!("`{word}` without `.if`"),
                    span,
                    "remove it or add a matching `.if` before it",
                );
                self.error(ctx, p);
            }
            ".elif" => {
                let Some(c) = self.conds.last() else { return };
                if c.else_seen {
                    let p = Problem::new("`.elif` after `.else`", span, "");
                    return self.error(ctx, p);
                }
                let (taken, parent) = (c.taken, c.parent);
                let v = parent && !taken && self.condition(word, ctx);
                if let Some(c) = self.conds.last_mut() {
                    c.active = v;
                    c.taken |= v;
                }
            }
            ".else" => {
                let Some(c) = self.conds.last_mut() else {
                    return;
                };
                if c.else_seen {
                    let p = Problem::new("second `.else` for one `.if`", span, "");
                    return self.error(ctx, p);
                }
                c.else_seen = true;
                c.active = c.parent && !c.taken;
                c.taken = true;
            }
            _ => {
                self.conds.pop();
            }
        }
    }

    /// Evaluates the condition of `.if`/`.elif`/`.ifdef`/`.ifndef`; an error
    /// is reported and counts as false.
    fn condition(&mut self, word: &str, ctx: &Rc<LineCtx>) -> bool {
        let st = match lex(&ctx.text).and_then(|t| parse_statement(&t)) {
            Ok(st) => st,
            Err(p) => {
                self.error(ctx, p);
                return false;
            }
        };
        let at = st.op.as_ref().map_or(Span::default(), |o| o.1);
        let result = match (word, st.operands.as_slice()) {
            (".ifdef" | ".ifndef", [op]) => crate::parse::name(op)
                .map(|(n, _)| self.syms.map.contains_key(&n) == (word == ".ifdef")),
            (".if" | ".elif", [op]) => crate::parse::expr(op)
                .and_then(|e| self.eval_now(&e, &format!("`{word}`")))
                .map(|v| v != 0),
            _ => Err(Problem::new(
                format!("`{word}` takes one operand"),
                at,
                if word.starts_with(".ifn") || word == ".ifdef" {
                    "expected a symbol name"
                } else {
                    "expected an expression"
                },
            )),
        };
        result.unwrap_or_else(|p| {
            self.error(ctx, p);
            false
        })
    }
}
