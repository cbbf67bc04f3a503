//! The one decision path: every approval or denial — `rbk approve`/`deny`, the terminal prompt,
//! the web page, the API, a Slack button or reaction — goes through [`decide`], which checks
//! every rule, records the vote and its journal event in one transaction, and says what it did
//! or, in a [`Refusal`], what is wrong and what to do. The run counts the journaled votes by
//! the same rules ([`vote_counts`], used by [`crate::approvals::decide`]).

use std::collections::{BTreeMap, BTreeSet};

use rbk_compiler::config::ProjectConfig;

use crate::approval::{ApprovalDecision, ApprovalRequest};
use crate::approvals::{self, journaled_answers};
use crate::asked_values::{check_given, render, AskedValue, GivenValues};
use crate::identity::{normalize_person, same_person};
use crate::journal::{Event, EventKind};
use crate::present::PlannedAction;
use crate::store::{ApprovalAnswer, HoldDecision, RunRecord, RunState, Store, StoreError};

/// The step name that stands for a run held by the storm rule.
pub const STORM: &str = "storm";

/// How a vote reached rbk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Cli,
    Terminal,
    Web,
    Api,
    Slack,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Terminal => "terminal",
            Via::Web => "web",
            Via::Api => "api",
            Via::Slack => "slack",
        }
    }

    /// Channels where rbk itself established who the person is (a Slack user id, a token, a
    /// trusted proxy's header): the person must be one rbk.toml names.
    fn authenticated(self) -> bool {
        matches!(self, Via::Web | Via::Api | Via::Slack)
    }
}

/// Who votes, and how they reached rbk.
#[derive(Clone, Debug, PartialEq)]
pub struct Voter {
    /// The rbk.toml person name (or the CLI user).
    pub person: String,
    pub via: Via,
    /// Where from, journaled: "slack U0123ABCD", "web 127.0.0.1 (token)", "cli alice@host".
    pub from: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vote {
    pub run_id: String,
    /// A step name, "STEP#retry"/"STEP#done" for a step in doubt, or [`STORM`].
    pub step: String,
    pub approve: bool,
    pub voter: Voter,
    pub comment: Option<String>,
    /// The plan digest the person was shown; `None` (the CLI) votes on the current one.
    pub digest_seen: Option<String>,
    /// The channel's id for this click or event: the same (via, id) again is a duplicate.
    pub external_id: Option<String>,
    /// What the person typed for the gate's `ask` fields (`--value new_size=5`, the web
    /// form); empty for a gate that asks none and for a denial.
    pub values: GivenValues,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Counted; the gate still waits for more approvals.
    Recorded { approvals: u32, quorum: u32 },
    /// This vote decided it (a parked run was queued again).
    Decided(ApprovalDecision),
    /// The same external id was recorded before: nothing was written.
    Duplicate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    NotWaiting,
    AlreadyDecided,
    Expired,
    UnknownPerson,
    NotInGroup,
    Starter,
    AlreadyVoted,
    PlanChanged,
    NoConfig,
    /// The values given do not answer the gate's `ask`: missing, ill-typed, unknown, given to
    /// a gate that asks none or with a denial, or different from an earlier approval's.
    BadValues,
}

impl RefusalKind {
    pub const ALL: [RefusalKind; 10] = [
        RefusalKind::NotWaiting,
        RefusalKind::AlreadyDecided,
        RefusalKind::Expired,
        RefusalKind::UnknownPerson,
        RefusalKind::NotInGroup,
        RefusalKind::Starter,
        RefusalKind::AlreadyVoted,
        RefusalKind::PlanChanged,
        RefusalKind::NoConfig,
        RefusalKind::BadValues,
    ];

    /// The name the JSON API answers with (`"refused": "not_waiting"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::NotWaiting => "not_waiting",
            RefusalKind::AlreadyDecided => "already_decided",
            RefusalKind::Expired => "expired",
            RefusalKind::UnknownPerson => "unknown_person",
            RefusalKind::NotInGroup => "not_in_group",
            RefusalKind::Starter => "starter",
            RefusalKind::AlreadyVoted => "already_voted",
            RefusalKind::PlanChanged => "plan_changed",
            RefusalKind::NoConfig => "no_config",
            RefusalKind::BadValues => "bad_values",
        }
    }

    pub fn parse(name: &str) -> Option<RefusalKind> {
        RefusalKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Why a vote was not recorded; `message` says what is wrong and what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

impl Refusal {
    fn new(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Who may decide, from the rbk.toml that governs the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Approvers {
    /// `None`: no rbk.toml governs the run, so nobody is known to be an approver.
    groups: Option<BTreeMap<String, Vec<String>>>,
    /// `[serve.storm] approvers`: the group that decides storm holds (default: any group).
    storm_group: Option<String>,
    /// The `[people]` names, in normal form.
    people: BTreeSet<String>,
}

impl Approvers {
    pub fn from_config(config: Option<&ProjectConfig>) -> Approvers {
        let Some(config) = config else {
            return Approvers::default();
        };
        Approvers {
            groups: Some(config.approvers.clone()),
            storm_group: config
                .serve
                .as_ref()
                .and_then(|s| s.storm.as_ref())
                .and_then(|s| s.approvers.clone()),
            people: config.people.keys().map(|p| normalize_person(p)).collect(),
        }
    }

    /// Groups alone, as callers that only knew `[approvers]` built them.
    pub fn from_groups(groups: Option<BTreeMap<String, Vec<String>>>) -> Approvers {
        Approvers {
            groups,
            ..Approvers::default()
        }
    }

    pub fn groups(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        self.groups.as_ref()
    }

    pub fn storm_group(&self) -> Option<&str> {
        self.storm_group.as_deref()
    }

    /// Named in `[people]`, or a member of an `[approvers]` group (a name a trusted proxy
    /// vouches for may have no `[people]` entry).
    fn knows(&self, person: &str) -> bool {
        self.people.contains(&normalize_person(person))
            || self.groups.as_ref().is_some_and(|groups| {
                groups
                    .values()
                    .any(|members| members.iter().any(|m| same_person(m, person)))
            })
    }
}

/// Whether `person`'s vote on `request`, for the plan `digest`, counts: the rules that hold for
/// a vote being cast ([`decide`]) and for the journaled votes a run counts alike.
pub fn vote_counts(
    person: &str,
    digest: &str,
    request: &ApprovalRequest,
    groups: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<(), Refusal> {
    if normalize_person(person).is_empty() {
        return Err(Refusal::new(
            RefusalKind::UnknownPerson,
            "an answer needs a name: it was blank",
        ));
    }
    if same_person(person, &request.started_by) {
        return Err(Refusal::new(
            RefusalKind::Starter,
            format!("{person} started the run and cannot approve it (two-person rule): ask another approver"),
        ));
    }
    let Some(groups) = groups else {
        return Err(Refusal::new(
            RefusalKind::NoConfig,
            "no rbk.toml governs this run, so nobody is known to be an approver: define the approver groups in an rbk.toml beside the runbook (see docs/trust.md)",
        ));
    };
    if let Some(group) = &request.group {
        in_group(person, group, groups)?;
    }
    if digest != request.digest {
        return Err(Refusal::new(
            RefusalKind::PlanChanged,
            format!("{person}'s answer was for a different plan (the runbook or its arguments changed): look at the plan again and answer that"),
        ));
    }
    Ok(())
}

fn in_group(
    person: &str,
    group: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<(), Refusal> {
    match groups.get(group) {
        Some(members) if members.iter().any(|m| same_person(m, person)) => Ok(()),
        Some(_) => Err(Refusal::new(
            RefusalKind::NotInGroup,
            format!("{person} is not in approver group \"{group}\": ask one of its members, or add {person} to [approvers] in rbk.toml"),
        )),
        None => Err(Refusal::new(
            RefusalKind::NotInGroup,
            format!("approver group \"{group}\" is not defined in rbk.toml: define it under [approvers]"),
        )),
    }
}

/// Checks `vote` against every rule and, when it may count, records it with its journal event
/// in one transaction. `Err` only when the store failed.
pub async fn decide(
    store: &dyn Store,
    people: &Approvers,
    vote: &Vote,
    now_ms: i64,
) -> Result<Result<Outcome, Refusal>, StoreError> {
    let Some(run) = store.run(&vote.run_id).await? else {
        return Ok(Err(Refusal::new(
            RefusalKind::NotWaiting,
            format!(
                "there is no run {}: see `rbk runs` for the runs there are",
                vote.run_id
            ),
        )));
    };
    if people.groups.is_none() {
        return Ok(Err(Refusal::new(
            RefusalKind::NoConfig,
            format!("no rbk.toml governs run {} ({}), so nobody is known to be an approver and no answer can count: define the approver groups in an rbk.toml beside the runbook or in a directory above it (see docs/trust.md)", run.id, run.file),
        )));
    }
    if let Err(refusal) = known_person(people, &vote.voter) {
        return Ok(Err(refusal));
    }
    if vote.step == STORM {
        return decide_hold(store, people, &run, vote, now_ms).await;
    }
    let events = store.events(&run.id).await?;
    let Some(gate) = Gate::of(&vote.step, &events) else {
        return Ok(Err(Refusal::new(
            RefusalKind::NotWaiting,
            format!(
                "run {} has not asked for approval of step `{}`: see `rbk log {}` for the steps it waits on",
                run.id, vote.step, run.id
            ),
        )));
    };
    if let Some(id) = &vote.external_id {
        let seen =
            store.run_answers(&run.id).await?.into_iter().any(|a| {
                a.channel == vote.voter.via.as_str() && a.external_id.as_deref() == Some(id)
            });
        if seen {
            return Ok(Ok(Outcome::Duplicate));
        }
    }
    if gate.decided || run.state.is_final() {
        return Ok(Err(Refusal::new(
            RefusalKind::AlreadyDecided,
            format!(
                "run {} no longer waits for `{}` (state: {})",
                run.id, vote.step, run.state
            ),
        )));
    }
    if gate.deadline.is_some_and(|deadline| now_ms >= deadline) {
        return Ok(Err(Refusal::new(
            RefusalKind::Expired,
            format!(
                "the approval of `{}` in run {} timed out: its timeout outcome applies ({})",
                vote.step,
                run.id,
                gate.on_timeout.as_deref().unwrap_or("deny")
            ),
        )));
    }
    let request = gate.request(&run, &vote.step);
    let person = normalize_person(&vote.voter.person);
    let digest = vote.digest_seen.as_deref().unwrap_or(&gate.digest);
    if let Err(refusal) = vote_counts(&person, digest, &request, people.groups()) {
        return Ok(Err(refusal));
    }
    let earlier = journaled_answers(&run.id, &vote.step, &events);
    let voted = earlier.iter().any(|a| same_person(&a.user, &person));
    if voted {
        return Ok(Err(Refusal::new(
            RefusalKind::AlreadyVoted,
            format!(
                "{person} already voted on `{}` of run {}: a vote is not changed or counted twice",
                vote.step, run.id
            ),
        )));
    }
    let values = match given_values(vote, &gate, &earlier, &request, people) {
        Ok(values) => values,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let answer = ApprovalAnswer {
        run_id: run.id.clone(),
        step: vote.step.clone(),
        user: person,
        approve: vote.approve,
        comment: vote.comment.clone(),
        channel: vote.voter.via.as_str().to_string(),
        at: now_ms,
        digest: gate.digest.clone(),
        external_id: vote.external_id.clone(),
        from: Some(vote.voter.from.clone()),
        values,
    };
    if !store.record_answer(&answer).await? {
        return Ok(Ok(Outcome::Duplicate));
    }
    let events = store.events(&run.id).await?;
    let answers = journaled_answers(&run.id, &vote.step, &events);
    if let Some(decision) = approvals::decide(&answers, &request, people.groups()) {
        return Ok(Ok(Outcome::Decided(decision)));
    }
    let approvals = answers
        .iter()
        .filter(|a| a.approve && vote_counts(&a.user, &a.digest, &request, people.groups()).is_ok())
        .count();
    Ok(Ok(Outcome::Recorded {
        approvals: u32::try_from(approvals).unwrap_or(u32::MAX),
        quorum: request.quorum.max(1),
    }))
}

/// The values `vote` gives, checked against what the gate asks: an approval gives every asked
/// value with its type and nothing else, the same values as any approval counted before it
/// (a quorum agrees on what the step does); a denial gives none.
fn given_values(
    vote: &Vote,
    gate: &Gate,
    earlier: &[ApprovalAnswer],
    request: &ApprovalRequest,
    people: &Approvers,
) -> Result<GivenValues, Refusal> {
    let where_ = format!("`{}` of run {}", vote.step, vote.run_id);
    if !vote.approve {
        if let Some(name) = vote.values.keys().next() {
            return Err(Refusal::new(
                RefusalKind::BadValues,
                format!("a denial gives no values, and `{name}` was given: deny {where_} without values"),
            ));
        }
        return Ok(GivenValues::new());
    }
    let values = check_given(&gate.asks, &vote.values).map_err(|why| {
        Refusal::new(
            RefusalKind::BadValues,
            format!("{why} (approving {where_})"),
        )
    })?;
    let agreed = earlier
        .iter()
        .find(|a| a.approve && vote_counts(&a.user, &a.digest, request, people.groups()).is_ok());
    if let Some(first) = agreed {
        if first.values != values {
            return Err(Refusal::new(
                RefusalKind::BadValues,
                format!(
                    "{} approved {where_} with {}: approve with the same values, or deny it",
                    first.user,
                    render(&first.values)
                ),
            ));
        }
    }
    Ok(values)
}

/// A person named by a channel that authenticated them must be one rbk.toml knows.
fn known_person(people: &Approvers, voter: &Voter) -> Result<(), Refusal> {
    if normalize_person(&voter.person).is_empty() {
        return Err(Refusal::new(
            RefusalKind::UnknownPerson,
            "an answer needs a name: it was blank",
        ));
    }
    if voter.via.authenticated() && !people.knows(&voter.person) {
        return Err(Refusal::new(
            RefusalKind::UnknownPerson,
            format!(
                "{} is not a person rbk.toml knows: add them under [people] and to an approver group (see docs/trust.md)",
                voter.person
            ),
        ));
    }
    Ok(())
}

/// `rbk approve RUN storm` / `rbk deny RUN storm`: lets a held run start, or cancels it.
async fn decide_hold(
    store: &dyn Store,
    people: &Approvers,
    run: &RunRecord,
    vote: &Vote,
    now_ms: i64,
) -> Result<Result<Outcome, Refusal>, StoreError> {
    if let Some(name) = vote.values.keys().next() {
        return Ok(Err(Refusal::new(
            RefusalKind::BadValues,
            format!(
                "a storm hold asks for no values, and `{name}` was given: answer it without values"
            ),
        )));
    }
    if !(run.held && run.state == RunState::Waiting) {
        return Ok(Err(Refusal::new(
            RefusalKind::NotWaiting,
            format!(
                "run {} is not held by a storm (state: {}): only a held run is approved or denied with `storm`",
                run.id, run.state
            ),
        )));
    }
    let person = normalize_person(&vote.voter.person);
    if same_person(&person, &run.started_by) {
        return Ok(Err(Refusal::new(
            RefusalKind::Starter,
            format!("{person} started the run and cannot approve it (two-person rule): ask another approver"),
        )));
    }
    let groups = people.groups().cloned().unwrap_or_default();
    let allowed = match people.storm_group() {
        Some(group) => in_group(&person, group, &groups),
        None if groups
            .values()
            .any(|members| members.iter().any(|m| same_person(m, &person))) =>
        {
            Ok(())
        }
        None => Err(Refusal::new(
            RefusalKind::NotInGroup,
            format!("{person} is in no approver group: a storm hold is decided by any approver ([serve.storm] approvers names one group)"),
        )),
    };
    if let Err(refusal) = allowed {
        return Ok(Err(refusal));
    }
    let decision = HoldDecision {
        release: vote.approve,
        by: person.clone(),
        via: vote.voter.via.as_str().to_string(),
        at: now_ms,
    };
    if !store.decide_hold(&run.id, &decision).await? {
        return Ok(Err(Refusal::new(
            RefusalKind::AlreadyDecided,
            format!(
                "run {} is no longer held: someone decided it already",
                run.id
            ),
        )));
    }
    let channel = decision.via.clone();
    Ok(Ok(Outcome::Decided(if vote.approve {
        ApprovalDecision::Granted {
            by: vec![person],
            channel,
            values: GivenValues::new(),
        }
    } else {
        ApprovalDecision::Denied {
            by: person,
            channel,
        }
    })))
}

/// A gate as the run's journal shows it.
struct Gate {
    group: Option<String>,
    quorum: u32,
    digest: String,
    actions: Vec<String>,
    planned: Vec<PlannedAction>,
    /// The first request of the step plus its timeout: a resumed run does not restart it.
    deadline: Option<i64>,
    requested_at: i64,
    on_timeout: Option<String>,
    decided: bool,
    asks: Vec<AskedValue>,
}

impl Gate {
    fn of(step: &str, events: &[Event]) -> Option<Gate> {
        // A step in doubt asks `#retry` and `#done` together: answering one decides both.
        let sibling = step
            .strip_suffix("#retry")
            .map(|base| format!("{base}#done"))
            .or_else(|| {
                step.strip_suffix("#done")
                    .map(|base| format!("{base}#retry"))
            });
        let mut first_at = None;
        let mut latest = None;
        let mut decided = false;
        for event in events {
            match &event.kind {
                EventKind::ApprovalRequested { step: asked, .. } if asked == step => {
                    first_at.get_or_insert(event.at);
                    latest = Some(event);
                }
                EventKind::ApprovalGranted { step: s, .. }
                | EventKind::ApprovalDenied { step: s, .. }
                | EventKind::ApprovalTimedOut { step: s, .. }
                    if s == step || sibling.as_deref() == Some(s.as_str()) =>
                {
                    decided = true;
                }
                _ => {}
            }
        }
        let latest = latest?;
        let EventKind::ApprovalRequested {
            group,
            quorum,
            actions,
            digest,
            timeout_ms,
            on_timeout,
            planned,
            asks,
            ..
        } = &latest.kind
        else {
            return None;
        };
        let requested_at = first_at.unwrap_or(latest.at);
        Some(Gate {
            group: group.clone(),
            quorum: *quorum,
            digest: digest.clone(),
            actions: actions.clone(),
            planned: planned.clone(),
            deadline: timeout_ms
                .map(|ms| requested_at.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))),
            requested_at,
            on_timeout: on_timeout.clone(),
            decided,
            asks: asks.clone(),
        })
    }

    fn request(&self, run: &RunRecord, step: &str) -> ApprovalRequest {
        ApprovalRequest {
            run_id: run.id.clone(),
            step: step.to_string(),
            group: self.group.clone(),
            quorum: self.quorum,
            timeout: None,
            on_timeout: rbk_compiler::syntax::TimeoutOutcome::Deny,
            started_by: run.started_by.clone(),
            actions: self.actions.clone(),
            planned: self.planned.clone(),
            digest: self.digest.clone(),
            asks: self.asks.clone(),
        }
    }
}

/// A question a run waits on now: a gate (or a step in doubt's `#retry`/`#done`), or its
/// storm hold.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenRequest {
    pub run_id: String,
    pub step: String,
    pub group: Option<String>,
    pub quorum: u32,
    pub digest: String,
    /// When the step was first asked (ms since the epoch).
    pub requested_at: i64,
    pub deadline: Option<i64>,
    /// "deny", "approve" or "escalate".
    pub on_timeout: String,
    pub actions: Vec<String>,
    /// Each action with its resolved arguments (secrets masked), as the gate asked.
    pub planned: Vec<PlannedAction>,
    /// The votes so far, as journaled.
    pub votes: Vec<ApprovalAnswer>,
    /// The run's storm hold rather than a gate.
    pub storm: bool,
    /// The values an approval must give (`ask { ... }`).
    pub asks: Vec<AskedValue>,
}

/// The questions run `run_id` waits on now, from its journal and record.
pub async fn open_requests(
    store: &dyn Store,
    run_id: &str,
) -> Result<Vec<OpenRequest>, StoreError> {
    let Some(run) = store.run(run_id).await? else {
        return Ok(Vec::new());
    };
    let events = store.events(&run.id).await?;
    if run.held && run.state == RunState::Waiting {
        let requested_at = events
            .iter()
            .find(|e| matches!(e.kind, EventKind::RunHeld { .. }))
            .map_or(run.started_at, |e| e.at);
        return Ok(vec![OpenRequest {
            run_id: run.id.clone(),
            step: STORM.to_string(),
            group: None,
            quorum: 1,
            digest: run.digest.clone(),
            requested_at,
            deadline: None,
            on_timeout: "wait".to_string(),
            actions: Vec::new(),
            planned: Vec::new(),
            votes: Vec::new(),
            storm: true,
            asks: Vec::new(),
        }]);
    }
    if !matches!(run.state, RunState::Waiting | RunState::InDoubt) {
        return Ok(Vec::new());
    }
    let mut steps: Vec<String> = Vec::new();
    for event in &events {
        if let EventKind::ApprovalRequested { step, .. } = &event.kind {
            if !steps.contains(step) {
                steps.push(step.clone());
            }
        }
    }
    let mut open = Vec::new();
    for step in steps {
        let Some(gate) = Gate::of(&step, &events) else {
            continue;
        };
        if gate.decided {
            continue;
        }
        open.push(OpenRequest {
            run_id: run.id.clone(),
            step: step.clone(),
            group: gate.group.clone(),
            quorum: gate.quorum,
            digest: gate.digest.clone(),
            requested_at: gate.requested_at,
            deadline: gate.deadline,
            on_timeout: gate
                .on_timeout
                .clone()
                .unwrap_or_else(|| "deny".to_string()),
            actions: gate.actions.clone(),
            planned: gate.planned.clone(),
            votes: journaled_answers(&run.id, &step, &events),
            storm: false,
            asks: gate.asks.clone(),
        });
    }
    Ok(open)
}

#[cfg(test)]
#[path = "decisions_tests.rs"]
mod tests;
