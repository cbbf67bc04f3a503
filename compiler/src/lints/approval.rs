use super::clause_insertion::{quoted, step_first_line};
use super::escalation::owner;
use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic, Edit, Fix};
use crate::effects::ActionUse;
use crate::resolve::suggest;
use crate::syntax::{Effect, Ident, Runbook, Span, Step, StepOptionKind, StrLit, TimeoutOutcome};
use crate::types::ApproverGroups;
use crate::FileId;

/// E0301, E0302, E0304, E0308, E0310, W0101: destructive steps are gated, and gates can be satisfied.
pub struct ApprovalGates;

impl Lint for ApprovalGates {
    fn codes(&self) -> &'static [Code] {
        &[
            Code::UngatedDestructiveStep,
            Code::UnsafeAutoApprove,
            Code::AskedWithAutoApprove,
            Code::QuorumTooLarge,
            Code::ZeroQuorum,
            Code::UnknownApproverGroup,
        ]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        let file = facts.module.file;
        for (step, actions) in &facts.steps {
            let destructive: Vec<_> = actions
                .iter()
                .filter(|a| a.effect == Effect::Destructive)
                .collect();
            let gate = step.options.iter().find(|o| {
                matches!(
                    o.kind,
                    StepOptionKind::ApprovalRequired { .. } | StepOptionKind::ApprovalNone { .. }
                )
            });
            if let (Some(first), None) = (destructive.first(), gate) {
                let mut diagnostic = ungated_destructive_step(file, &step.name, first);
                for fix in approval_fixes(cx, facts.runbook, step, file) {
                    diagnostic = diagnostic.with_fix(fix);
                }
                out.push(diagnostic);
            }
            let Some(gate) = gate else { continue };
            let StepOptionKind::ApprovalRequired {
                quorum,
                group,
                on_timeout,
                ask,
                ..
            } = &gate.kind
            else {
                continue;
            };
            if let (Some((TimeoutOutcome::Approve, span)), Some(first)) = (on_timeout, ask.first())
            {
                out.push(asked_with_auto_approve(
                    file,
                    *span,
                    &step.name,
                    &first.name,
                ));
            }
            if let Some((TimeoutOutcome::Approve, span)) = on_timeout {
                if let Some(unsafe_action) = destructive.iter().find(|a| !a.safe_to_auto_approve) {
                    out.push(unsafe_auto_approve(file, *span, unsafe_action));
                }
            }
            if let Some((0, span)) = quorum {
                out.push(zero_quorum(file, *span));
            }
            let (Some(groups), Some(group)) = (cx.approver_groups, group) else {
                continue;
            };
            match groups.get(&group.value) {
                None => {
                    let suggestion = suggest(&group.value, groups.keys().map(String::as_str));
                    let mut diagnostic = unknown_approver_group(file, group, suggestion);
                    if let Some(fix) = suggestion.and_then(|s| group_fix(cx.text(file), group, s)) {
                        diagnostic = diagnostic.with_fix(fix);
                    }
                    out.push(diagnostic);
                }
                Some(members) => {
                    let needed = quorum.map_or(1, |(n, _)| n as usize);
                    if needed > members.len() {
                        let span = quorum.map_or(group.span, |(_, s)| s);
                        out.push(quorum_too_large(file, span, needed, group, members.len()));
                    }
                }
            }
        }
    }
}

/// W0101: fires when an approval names a group `rbk.toml` does not define (`suggestion` is
/// the nearest one it does).
fn unknown_approver_group(file: FileId, group: &StrLit, suggestion: Option<&str>) -> Diagnostic {
    let help = match suggestion {
        Some(s) => {
            format!("did you mean \"{s}\"? Groups are defined under [approvers] in rbk.toml")
        }
        None => format!(
            "define it in rbk.toml: [approvers]\n{} = [\"alice\", \"bob\"]",
            group.value
        ),
    };
    Diagnostic::new(
        Code::UnknownApproverGroup,
        file,
        group.span,
        format!(
            "approver group \"{}\" is not defined in rbk.toml",
            group.value
        ),
    )
    .label("unknown group")
    .help(help)
}

/// E0304: fires when an approval's quorum (`needed`) is larger than its group (`members`).
fn quorum_too_large(
    file: FileId,
    span: Span,
    needed: usize,
    group: &StrLit,
    members: usize,
) -> Diagnostic {
    Diagnostic::new(
        Code::QuorumTooLarge,
        file,
        span,
        format!("{needed} approvals are required but group \"{}\" has {members} member{}", group.value, if members == 1 { "" } else { "s" }),
    )
    .label("can never be satisfied")
    .with_secondary(group.span, "this group")
    .help(format!("lower the quorum to at most {members} (the person who started the run cannot approve it), or add members to the group in rbk.toml"))
}

/// E0310: fires when an approval requires zero approvers.
fn zero_quorum(file: FileId, quorum: Span) -> Diagnostic {
    Diagnostic::new(Code::ZeroQuorum, file, quorum, "an approval needs at least one approver")
        .label("zero approvers")
        .help("write `approval required from \"GROUP\"` (one approver), or `approval none reason \"...\"` to waive it")
}

/// E0301: fires when a step can take a destructive action (`first`) and has no approval clause.
fn ungated_destructive_step(file: FileId, step: &Ident, first: &ActionUse) -> Diagnostic {
    let via = first
        .via
        .as_ref()
        .map(|f| format!(" (through `{f}`)"))
        .unwrap_or_default();
    Diagnostic::new(
        Code::UngatedDestructiveStep,
        file,
        step.span,
        format!("step `{}` can take a destructive action but has no approval clause", step.name),
    )
    .label("no `approval` clause")
    .with_secondary(first.call_span, format!("`{}` is destructive{via}", first.name))
    .help("require a human: `approval required from \"GROUP\" timeout 5m on timeout deny`, or waive it on the record: `approval none reason \"WHY\"`")
}

/// E0308: fires when a gate that asks for values approves itself on timeout.
fn asked_with_auto_approve(
    file: FileId,
    on_timeout: Span,
    step: &Ident,
    asked: &Ident,
) -> Diagnostic {
    Diagnostic::new(
        Code::AskedWithAutoApprove,
        file,
        on_timeout,
        format!("`on timeout approve` would run step `{}` with no value for `approval.{}`: nobody gave one", step.name, asked.name),
    )
    .label("approves itself when nobody answers")
    .with_secondary(asked.span, "asked of the approver")
    .help("use `on timeout deny` or `on timeout escalate`, or drop the `ask` and compute the value in the step")
}

/// E0302: fires when `on timeout approve` would run an action not declared safe to
/// auto-approve.
fn unsafe_auto_approve(file: FileId, on_timeout: Span, unsafe_action: &ActionUse) -> Diagnostic {
    Diagnostic::new(
        Code::UnsafeAutoApprove,
        file,
        on_timeout,
        format!("`on timeout approve` would run `{}` with nobody's approval", unsafe_action.name),
    )
    .label("approves itself when nobody answers")
    .with_secondary(unsafe_action.call_span, format!("`{}` is not declared `safe_to_auto_approve`", unsafe_action.name))
    .help("use `on timeout deny` or `on timeout escalate`; only actions declared `safe_to_auto_approve` may run unanswered")
}

/// A gate for an ungated destructive step: required approval from the owner when it is an
/// approver group (else the project's first group), or a waiver. Neither is safe: the group is
/// a guess, and a waiver needs a person's reason.
fn approval_fixes(cx: &LintContext, runbook: &Runbook, step: &Step, file: FileId) -> Vec<Fix> {
    let Some((at, indent)) = step_first_line(cx.text(file), runbook, step) else {
        return Vec::new();
    };
    let group = quoted(approver_group(cx.approver_groups, runbook));
    let line = |clause: String| vec![Edit::insert(at, format!("\n{indent}{clause}"))];
    vec![
        Fix::for_review(
            format!("Require approval from {group}"),
            line(format!(
                "approval required from {group} timeout 5m on timeout deny"
            )),
        ),
        Fix::for_review(
            "Waive approval with a reason",
            line("approval none reason \"WHY\"".to_string()),
        ),
    ]
}

/// The runbook's owner when it is an approver group, else the project's first group.
fn approver_group<'a>(groups: Option<&'a ApproverGroups>, runbook: &'a Runbook) -> &'a str {
    match groups {
        Some(groups) => owner(runbook)
            .filter(|o| groups.contains_key(*o))
            .or_else(|| groups.keys().next().map(String::as_str))
            .unwrap_or("GROUP"),
        None => owner(runbook).unwrap_or("GROUP"),
    }
}

/// The one defined group close to a misspelled one, in place of it. Not safe: who may approve
/// is a decision, and the closest name need not be the meant one. Offered only where the
/// literal is written plainly (no escapes), so the span is exactly `"NAME"`.
fn group_fix(text: &str, group: &StrLit, suggestion: &str) -> Option<Fix> {
    let written = text.get(group.span.start..group.span.end)?;
    (written == quoted(&group.value)).then(|| {
        Fix::for_review(
            format!("Change to \"{suggestion}\""),
            vec![Edit::replace(group.span, quoted(suggestion))],
        )
    })
}
