//! What each keyword means, for hover: one line and the form it takes, from the language
//! reference (docs/language.md).

/// The hover text for `word` when it is a keyword with something to say about it.
pub fn keyword_doc(word: &str) -> Option<String> {
    let (form, meaning) = match word {
        "runbook" => ("runbook NAME { ... }", "A runbook: triggers, inputs, steps, verification, approvals and escalation."),
        "title" => ("title \"...\"", "The runbook's human title (a warning, W0001, when missing)."),
        "owner" => ("owner \"team\"", "Who maintains the runbook; the quick fix for a missing approval uses it when it is an approver group."),
        "trigger" => ("trigger alert \"Name\" [where EXPR] | trigger schedule \"CRON\" | trigger manual", "What starts the runbook; without a trigger it is started by hand."),
        "alert" => ("trigger alert \"AlertName\" [where EXPR]", "Runs on a matching Alertmanager alert; `alert` (labels, annotations) is then in scope."),
        "schedule" => ("trigger schedule \"CRON\"", "Runs on a schedule."),
        "manual" => ("trigger manual", "Started only by hand (`rbk run`)."),
        "mode" => ("mode shadow | mode live", "`shadow`: runs started by an alert or a schedule go through every step but only report their write and destructive actions, as `rbk run --dry-run` does, and are journaled as shadow runs. `live` (the default) acts."),
        "shadow" => ("mode shadow", "Runs started by an alert or a schedule only report their write and destructive actions (journaled as shadow runs); `rbk run` by hand is unaffected."),
        "live" => ("mode live", "The default: runs act."),
        "template" => ("template NAME(PARAMS) { clauses }  /  runbook NAME = TEMPLATE(ARGS)", "One procedure, many services: each instance is a runbook of its own with the template's clauses and its own literal arguments; `{param}` fills plain-text clauses (title, group, reason)."),
        "ask" => ("approval required ... ask { NAME: TYPE, ... }", "Values the approver gives with the approval (int, float, bool, string, duration, percent, size), read in the step's body as `approval.NAME`; checked on every channel (`rbk approve --value NAME=VALUE`, the web form, `approve STEP with { ... }` in tests)."),
        "alerts" => ("run RUNBOOK alerts [{ ... }, { ... }]", "In a test: delivers several alerts at once, as one webhook payload; each goes through the trigger, `concurrency` and `rate`."),
        "triggered" | "coalesced" | "suppressed" => ("expect [not] triggered|coalesced|suppressed [times N]", "In a test: how many of the test's alerts started a run, joined a running one (`concurrency … per`), or were held back by `rate`."),
        "input" => ("input { NAME: Type [= EXPR], ... }", "Typed parameters: `rbk run --input NAME=VALUE`; defaults may read `alert`, `env(\"X\")`, `secret(\"X\")`."),
        "concurrency" => ("concurrency N [per EXPR]", "At most N runs at once (per key)."),
        "rate" => ("rate N per DURATION [by EXPR]", "At most N runs started in any window of that length (per key); further triggers are recorded as suppressed."),
        "timeout" => ("timeout DURATION", "In a runbook: the whole run's limit. In a step: the step's limit. After `approval required`: how long to wait for approvers."),
        "escalate" => ("escalate CALL", "Runs when the run fails, an approval is denied or times out; `run` (id, summary, failed_step, log_url) is in scope. As `on timeout escalate`: an unanswered approval escalates."),
        "step" => ("step NAME [\"title\"] [when EXPR] { ... }", "One step, run top to bottom; skipped (and journaled as skipped) when EXPR is false. Its effect is the strongest action it can reach. Later parts of the runbook read how it ended as `step.NAME.succeeded|failed|skipped|denied`."),
        "verify" => ("verify NAME [\"title\"] { expect EXPR [within D [every D]] }", "Polls until true, or fails the run."),
        "notify" => ("notify CALL", "A step that only informs; its failure is journaled, not fatal."),
        "when" => ("step NAME when EXPR { ... }", "The step runs only when EXPR is true, evaluated when the step is reached."),
        "approval" => ("approval required [N] [from \"GROUP\"] [timeout D] [on timeout deny|approve|escalate] | approval none reason \"WHY\"", "The gate a step that can reach a `destructive` action must carry (E0301). N distinct approvers from GROUP (rbk.toml), never the one who started the run; or an audited waiver. `ask { NAME: TYPE }` asks the approver for values, read in the body as `approval.NAME`."),
        "required" => ("approval required [N] [from \"GROUP\"] ...", "The step waits for N distinct approvers (default 1)."),
        "from" => ("approval required from \"GROUP\"", "The approver group of rbk.toml whose members may approve."),
        "reason" => ("approval none reason \"WHY\"", "Why the step runs without approval; journaled with the run."),
        "retry" => ("retry N [every D] [backoff exponential]", "Retries a failing step up to N more times."),
        "backoff" | "exponential" => ("retry N every D backoff exponential", "Doubles the wait after each failed attempt."),
        "on" => ("on failure continue|abort | on timeout deny|approve|escalate", "What happens when the step fails (default abort, which escalates), or when an approval is not answered in time."),
        "failure" => ("on failure continue|abort", "`continue` journals the failure and goes on; `abort` (the default) stops the run and escalates."),
        "let" => ("let NAME [: Type] = EXPR", "Binds a value; visible in later statements and in later steps of the same run."),
        "if" | "else" => ("if EXPR { ... } [else if EXPR { ... }] [else { ... }]", "Runs a block when the condition holds."),
        "for" | "in" => ("for NAME in EXPR { ... }", "Runs the block for each element of a list."),
        "expect" => ("expect EXPR [within D [every D]] [else \"message\"]", "Fails the step unless EXPR is true; with `within`, polls until it is. In tests: `expect step NAME succeeded|failed|skipped|denied`, `expect [not] escalated`, `expect called ACTION [times N]`."),
        "within" | "every" => ("expect EXPR within D every D", "Polls EXPR every D until it holds or `within` has passed."),
        "fail" => ("fail \"message\"", "Fails the step with the message."),
        "log" => ("log \"message\"", "Writes the message to the run's journal."),
        "return" => ("return EXPR", "Returns from a `fn`."),
        "fn" => ("fn NAME(PARAMS) [-> Type] { ... }", "A function; its effect is the strongest action it can reach, and steps calling it inherit that."),
        "extern" | "action" | "effect" => ("extern action NAME(PARAMS) [-> Type] effect read|write|destructive [safe_to_auto_approve]", "An action implemented by the runtime, with its declared effect."),
        "read" => ("effect read", "Observes only."),
        "write" => ("effect write", "Changes something reversible: posts a message, opens a ticket."),
        "destructive" => ("effect destructive", "Kills, deletes, restarts, scales down, runs arbitrary SQL or shell: steps reaching it need an approval gate."),
        "safe_to_auto_approve" => ("extern action ... effect destructive safe_to_auto_approve", "Allows `on timeout approve` for steps whose destructive actions are all marked so."),
        "use" | "as" => ("use std.NAME [as ALIAS] | use \"./file.rbk\" as NAME", "Imports a standard or local module."),
        "const" => ("const NAME: Type = EXPR", "A named constant."),
        "type" => ("type NAME [= { field: Type, ... }]", "A record type, or an opaque handle without fields."),
        "test" => ("test \"name\" { ... }", "A hermetic test: every action is mocked, approvals answered, run by `rbk test`."),
        "mock" | "returns" | "fails" => ("mock ACTION[(PATTERNS) [where COND]] returns VALUE | returns [V1, V2, ...] | fails \"msg\"", "What an action gives back in a test (successive values for a list). With patterns (`_`, a name, a literal, `[a, ..]`) and `where`, only matching calls; the first matching mock wins."),
        "approve" | "deny" => ("approve STEP [as \"user\"] | deny STEP", "Answers a step's approval in a test (written before `run`); as an `on timeout` outcome, what an unanswered approval becomes."),
        "run" => ("run RUNBOOK [with { input: value, ... }] [alert { ... } | alerts [{ ... }, ...]]", "In a test: runs the runbook (an alert goes through its trigger first). In `escalate`: the run (id, summary, failed_step, log_url)."),
        "set" => ("set env X = \"...\" | set secret X = \"...\"", "What `env(\"X\")` / `secret(\"X\")` return in a test."),
        "called" | "times" => ("expect [not] called ACTION[(PATTERNS) [where COND]] [times N]", "Asserts how often a mocked action was called (with matching arguments, when patterns are given)."),
        "escalated" => ("expect [not] escalated", "Asserts whether the run escalated."),
        "succeeded" | "failed" | "skipped" | "denied" => ("expect step NAME succeeded|failed|skipped|denied", "Asserts how a step ended."),
        "none" => ("none", "No value: the value of an absent optional (`T?`); also `approval none reason \"...\"`."),
        "and" | "or" | "not" => ("a and b, a or b, not a", "Boolean operators."),
        "true" | "false" => ("true, false", "The two `bool` values."),
        _ => return None,
    };
    Some(format!("```rbk\n{form}\n```\n{meaning}"))
}

#[cfg(test)]
mod tests {
    use super::keyword_doc;
    use crate::completion::KEYWORDS;

    #[test]
    fn every_keyword_has_a_doc() {
        let missing: Vec<&str> = KEYWORDS
            .iter()
            .copied()
            .filter(|k| {
                keyword_doc(k).is_none()
                    && ![
                        "env", "secret", "per", "by", "continue", "abort", "where", "with",
                    ]
                    .contains(k)
            })
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert!(keyword_doc("approval").unwrap().contains("E0301"));
        assert_eq!(keyword_doc("terminate"), None);
    }
}
