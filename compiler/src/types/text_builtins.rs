//! The builtins that read what commands and APIs return: text, numbers in text, JSON, sizes
//! and regular expressions. Their arguments are checked here; a literal regular expression is
//! compiled before the run, so a typo in a pattern is a check error (E0212), not a failed step,
//! and a literal quantity is read before the run (E0213).

use super::checker::Checker;
use super::env::Env;
use super::mismatch::{type_mismatch, Mismatch};
use super::secrets::{secret_exposed, Exposure};
use super::{Builtin, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::{Arg, Expr, Span};
use crate::FileId;

impl Checker<'_> {
    pub(super) fn check_text_builtin(
        &mut self,
        env: &mut Env,
        builtin: Builtin,
        args: &[Arg],
    ) -> Ty {
        match builtin {
            Builtin::Json => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the JSON text");
                Ty::Json
            }
            Builtin::Int | Builtin::Float | Builtin::Bool => {
                let ty = self.check_expr(env, &args[0].value, None);
                let accepted = match builtin {
                    Builtin::Int => {
                        matches!(ty, Ty::Str | Ty::Int | Ty::Float | Ty::Json | Ty::Unknown)
                    }
                    Builtin::Float => {
                        matches!(ty, Ty::Str | Ty::Int | Ty::Float | Ty::Json | Ty::Unknown)
                    }
                    _ => matches!(ty, Ty::Str | Ty::Bool | Ty::Json | Ty::Unknown),
                };
                if !accepted {
                    self.report(type_mismatch(
                        env.file,
                        args[0].value.span,
                        Mismatch::CannotConvert {
                            builtin,
                            found: &ty,
                        },
                    ));
                }
                match builtin {
                    Builtin::Int => Ty::Int,
                    Builtin::Float => Ty::Float,
                    _ => Ty::Bool,
                }
            }
            Builtin::Size => {
                let ty = self.check_expr(env, &args[0].value, None);
                if !matches!(ty, Ty::Str | Ty::Json | Ty::Size | Ty::Unknown) {
                    self.report(type_mismatch(
                        env.file,
                        args[0].value.span,
                        Mismatch::NotAQuantity { found: &ty },
                    ));
                }
                self.check_size_literal(env, &args[0].value);
                Ty::Size
            }
            Builtin::Trim | Builtin::Lower | Builtin::Upper | Builtin::UrlEncode => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                Ty::Str
            }
            Builtin::Lines => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                Ty::list(Ty::Str)
            }
            Builtin::Split => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                self.expect_type(env, &args[1].value, &Ty::Str, "the separator");
                Ty::list(Ty::Str)
            }
            Builtin::Join => {
                let ty = self.check_expr(env, &args[0].value, None);
                match &ty {
                    Ty::List(_) | Ty::Json | Ty::Unknown => {}
                    other => self.mismatch(
                        env.file,
                        args[0].value.span,
                        &Ty::list(Ty::Str),
                        other,
                        "`join`",
                    ),
                }
                if ty.contains_secret() {
                    self.report(secret_exposed(
                        env.file,
                        args[0].value.span,
                        Exposure::Joined,
                    ));
                }
                self.expect_type(env, &args[1].value, &Ty::Str, "the separator");
                Ty::Str
            }
            Builtin::Replace => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                self.expect_type(env, &args[1].value, &Ty::Str, "the text to replace");
                self.expect_type(env, &args[2].value, &Ty::Str, "the replacement");
                Ty::Str
            }
            Builtin::StartsWith | Builtin::EndsWith => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                self.expect_type(env, &args[1].value, &Ty::Str, "the text to look for");
                Ty::Bool
            }
            Builtin::Matches | Builtin::Capture => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the text");
                self.expect_type(env, &args[1].value, &Ty::Str, "the pattern");
                self.check_pattern(env, &args[1].value);
                if builtin == Builtin::Matches {
                    Ty::Bool
                } else {
                    Ty::optional(Ty::list(Ty::Str))
                }
            }
            _ => Ty::Unknown,
        }
    }

    /// A quantity written as a literal is read now, so `size("10GB")` is a check error.
    fn check_size_literal(&mut self, env: &mut Env, quantity: &Expr) {
        let Some(text) = quantity.as_plain_str() else {
            return;
        };
        if let Err(error) = super::parse_size(&text) {
            self.report(bad_size(env.file, quantity.span, &text, &error));
        }
    }

    /// A pattern written as a literal is compiled now; one built at run time is compiled then.
    fn check_pattern(&mut self, env: &mut Env, pattern: &Expr) {
        let Some(text) = pattern.as_plain_str() else {
            return;
        };
        if let Err(error) = regex::Regex::new(&text) {
            let reason = match error {
                regex::Error::Syntax(detail) => detail
                    .lines()
                    .filter(|line| line.starts_with("error:"))
                    .map(|line| line.trim_start_matches("error:").trim().to_string())
                    .next()
                    .unwrap_or(detail),
                other => other.to_string(),
            };
            self.report(bad_pattern(env.file, pattern.span, &reason));
        }
    }
}

/// E0213: fires when a literal given to `size` is not a Kubernetes quantity (`error` says why).
fn bad_size(file: FileId, span: Span, text: &str, error: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic::new(
        Code::BadSize,
        file,
        span,
        format!("`{text}` is not a size: {error}"),
    )
    .label("not a Kubernetes quantity")
    .help("write a quantity such as \"10Gi\", \"500Mi\", \"1G\", \"100k\" or a number of bytes")
}

/// E0212: fires when a literal pattern given to `matches` or `capture` does not compile
/// (`reason` says why).
fn bad_pattern(file: FileId, span: Span, reason: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadPattern,
        file,
        span,
        format!("invalid regular expression: {reason}"),
    )
    .label("this pattern does not compile")
    .help("patterns use Rust's `regex` syntax; write a backslash as `\\\\` inside a string, and escape `( ) [ ] { } . * + ? | ^ $` with one to match them as text")
}
