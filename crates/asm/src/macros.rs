//! Macros: `.macro name param, param=default` ... `.endm`, invoked as
//! `name arg, arg`; `\param` is replaced by the argument text and `\@` by a
//! number unique to each expansion (for labels inside the body).

use std::rc::Rc;

use crate::diag::Problem;
use crate::directive::slice;
use crate::lexer::{Span, Tok};
use crate::parse::Operand;
use crate::pass1::{Assembler, Frame, LineCtx, MAX_NESTING, MacroDef, Recording};

impl Assembler<'_> {
    pub(crate) fn start_macro(
        &mut self,
        span: Span,
        ops: &[Operand],
        ctx: &Rc<LineCtx>,
    ) -> Result<(), Problem> {
        let usage = "expected `.macro name param, param=default, ...`";
        let Some(first) = ops.first() else {
            return Err(Problem::new("`.macro` needs a name", span, usage));
        };
        let name = match first.toks[0].ident() {
            Some(n) if !n.starts_with('.') => n.to_string(),
            _ => {
                return Err(Problem::new(
                    "invalid macro name",
                    first.toks[0].span,
                    usage,
                ));
            }
        };
        if self.macros.contains_key(&name) {
            return Err(Problem::new(
                format!("macro `{name}` is already defined"),
                first.toks[0].span,
                "macros cannot be redefined",
            ));
        }
        let mut groups = vec![&first.toks[1..]];
        groups.extend(ops[1..].iter().map(|o| o.toks.as_slice()));
        let mut params: Vec<(String, Option<String>)> = Vec::new();
        for (i, g) in groups.into_iter().enumerate() {
            let Some(t) = g.first() else {
                if i == 0 && ops.len() == 1 {
                    continue;
                }
                return Err(Problem::new("expected a parameter name", first.span, usage));
            };
            let pname = match &t.tok {
                Tok::Ident(n) if !n.contains(['.', '$']) => n.clone(),
                _ => return Err(Problem::new("expected a parameter name", t.span, usage)),
            };
            if params.iter().any(|p| p.0 == pname) {
                return Err(Problem::new(
                    format!("duplicate macro parameter `{pname}`"),
                    t.span,
                    "",
                ));
            }
            let default = match g.get(1) {
                None => None,
                Some(eq) if eq.is_punct('=') => Some(match (g.get(2), g.last()) {
                    (Some(a), Some(b)) => slice(&ctx.text, a.span.to(b.span)),
                    _ => String::new(),
                }),
                Some(other) => {
                    return Err(Problem::new(
                        "expected `,` or `=` after a parameter",
                        other.span,
                        usage,
                    ));
                }
            };
            params.push((pname, default));
        }
        self.recording = Some(Recording {
            name,
            def: MacroDef {
                params,
                body: Vec::new(),
            },
            depth: 0,
            ctx: ctx.clone(),
        });
        Ok(())
    }

    pub(crate) fn expand_macro(
        &mut self,
        name: &str,
        at: Span,
        def: &MacroDef,
        ops: &[Operand],
        ctx: &Rc<LineCtx>,
    ) {
        if self.stack.len() >= MAX_NESTING {
            let p = Problem::new(
                format!("macro expansion nested too deeply (is `{name}` recursive?)"),
                at,
                "",
            );
            return self.error(ctx, p);
        }
        let required = def.params.iter().filter(|p| p.1.is_none()).count();
        let mut values = Vec::new();
        for (i, (_, default)) in def.params.iter().enumerate() {
            match ops
                .get(i)
                .map(|o| slice(&ctx.text, o.span))
                .or_else(|| default.clone())
            {
                Some(v) => values.push(v),
                None => break,
            }
        }
        if ops.len() > def.params.len() || values.len() < def.params.len() {
            let total = def.params.len();
            let takes = if required == total {
                format!("{total}")
            } else {
                format!("{required} to {total}")
            };
            let sig: Vec<String> = def
                .params
                .iter()
                .map(|(p, d)| d.as_ref().map_or_else(|| p.clone(), |d| format!("{p}={d}")))
                .collect();
            let span = ops
                .get(total)
                .map_or(at, |o| o.span.to(ops[ops.len() - 1].span));
            let p = Problem::new(
                format!(
                    "macro `{name}` takes {takes} argument{}, found {}",
                    if total == 1 { "" } else { "s" },
                    ops.len()
                ),
                span,
                if sig.is_empty() {
                    format!("expected `{name}` with no arguments")
                } else {
                    format!("expected `{name} {}`", sig.join(", "))
                },
            );
            return self.error(ctx, p);
        }
        self.expansions += 1;
        let unique = self.expansions;
        let lines = def
            .body
            .iter()
            .map(|(f, l, t)| {
                (
                    *f,
                    *l,
                    Rc::from(substitute(t, &def.params, &values, unique)),
                )
            })
            .collect();
        let note = format!(
            " (in macro `{name}` invoked at {}:{})",
            ctx.file_name, ctx.line
        );
        self.stack.push(Frame {
            lines,
            next: 0,
            cond_depth: self.cond_len(),
            path: None,
            canon: None,
            macro_note: Some(Rc::from(note)),
            map: Some(ctx.map),
            name: name.to_string(),
        });
    }
}

/// Replaces `\param` by its argument and `\@` by the expansion's number,
/// outside string and character literals and comments only: inside a
/// literal, `\n` is an escape even when a parameter is called `n`, and a
/// comment is copied as written.
fn substitute(
    text: &str,
    params: &[(String, Option<String>)],
    values: &[String],
    unique: u64,
) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '#' | ';' => {
                out.extend(&chars[i..]);
                break;
            }
            '"' | '\'' => {
                // Copy the literal up to its closing quote, skipping over
                // escapes so that `\"` does not end it.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' {
                        if let Some(&e) = chars.get(i) {
                            out.push(e);
                            i += 1;
                        }
                    } else if d == c {
                        break;
                    }
                }
                continue;
            }
            '\\' => {
                if chars.get(i + 1) == Some(&'@') {
                    out.push_str(&unique.to_string());
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let word: String = chars[i + 1..j].iter().collect();
                if let Some(k) = params.iter().position(|p| p.0 == word) {
                    out.push_str(&values[k]);
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::substitute;

    fn sub(text: &str) -> String {
        let params = [("n".to_string(), None), ("x".to_string(), None)];
        substitute(text, &params, &["7".into(), "a, b".into()], 3)
    }

    #[test]
    fn substitutes_outside_literals_and_comments() {
        assert_eq!(sub(r"li a0, \n + \x"), "li a0, 7 + a, b");
        assert_eq!(
            sub(r#".ascii "\n\x41", '\n' # \n"#),
            r#".ascii "\n\x41", '\n' # \n"#
        );
        assert_eq!(sub(r#".ascii "\"\n", \n ; \x"#), r#".ascii "\"\n", 7 ; \x"#);
        assert_eq!(sub(r"l\@: j l\@ \nx"), r"l3: j l3 \nx");
        // An unterminated literal is copied to the end of the line.
        assert_eq!(sub(r#".ascii "\n"#), r#".ascii "\n"#);
    }
}
