//! What a run waits on, as the run page shows it: the open approval requests (and a storm
//! hold) with their planned actions and the votes so far; and the runbook's picture.

use maud::{Markup, PreEscaped};
use rbk_compiler::graph::RunbookGraph;
use rbk_interpreter::asked_values::AskedValue;
use rbk_interpreter::decisions::open_requests;
use rbk_interpreter::present::{arguments_html, PlannedAction};
use rbk_interpreter::store::{RunRecord, StoreError};

use crate::state::Server;

pub struct Gate {
    /// The step, or `storm` for a storm hold.
    pub step: String,
    pub group: Option<String>,
    pub quorum: u32,
    /// The plan digest the forms carry: a vote counts only for the plan the person saw.
    pub digest: String,
    pub deadline: Option<i64>,
    pub on_timeout: String,
    /// The actions as written, for requests recorded before arguments were.
    pub actions: Vec<String>,
    pub planned: Vec<ShownAction>,
    /// (person, approved)
    pub votes: Vec<(String, bool)>,
    pub storm: bool,
    /// The values an approval must give (`ask { ... }`): the Approve form asks for each.
    pub asks: Vec<AskedValue>,
}

pub struct ShownAction {
    pub effect: String,
    /// The call, its effect and its arguments, drawn by PRESENT's renderer.
    pub arguments: Markup,
}

impl Gate {
    pub fn approvals(&self) -> usize {
        self.votes.iter().filter(|(_, approve)| *approve).count()
    }

    pub fn destructive(&self) -> bool {
        self.planned.iter().any(|a| a.effect == "destructive")
    }
}

/// The gates (and storm hold) the run waits on now, as the decision path reads them.
pub async fn open(server: &Server, record: &RunRecord) -> Result<Vec<Gate>, StoreError> {
    let requests = open_requests(server.store.as_ref(), &record.id).await?;
    Ok(requests
        .into_iter()
        .map(|request| Gate {
            votes: request
                .votes
                .iter()
                .map(|vote| (vote.user.clone(), vote.approve))
                .collect(),
            planned: request.planned.iter().map(shown).collect(),
            step: request.step,
            group: request.group,
            quorum: request.quorum,
            digest: request.digest,
            deadline: request.deadline,
            on_timeout: request.on_timeout,
            actions: request.actions,
            storm: request.storm,
            asks: request.asks,
        })
        .collect())
}

/// The HTML input for a value of an asked type, with the browser's own first check (the
/// decision path checks it again, whatever the browser sent).
pub fn value_input(asked: &AskedValue) -> (&'static str, Option<&'static str>, &'static str) {
    // (input type, step, placeholder)
    match asked.ty.as_str() {
        "int" => ("number", Some("1"), "a whole number"),
        "float" => ("number", Some("any"), "a number"),
        "bool" => ("text", None, "true or false"),
        "duration" => ("text", None, "e.g. 30s, 5m, 1h30m"),
        "percent" => ("text", None, "e.g. 70%"),
        "size" => ("text", None, "e.g. 15Gi, 512Mi"),
        _ => ("text", None, ""),
    }
}

/// An action with its arguments as PRESENT's renderer draws them (escaped there).
fn shown(action: &PlannedAction) -> ShownAction {
    ShownAction {
        effect: action.effect.clone(),
        arguments: PreEscaped(arguments_html(action)),
    }
}

/// The runbook's picture: PRESENT's self-contained SVG (its labels escaped there), the same
/// one `rbk graph FILE --format svg` draws.
pub fn picture(
    program: &rbk_compiler::Analysis,
    module: rbk_compiler::resolve::ModuleId,
    item: usize,
) -> Option<Markup> {
    RunbookGraph::try_of(program, module, item).map(|graph| PreEscaped(graph.to_svg()))
}
