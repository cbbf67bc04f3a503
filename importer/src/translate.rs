//! One command becomes `.rbk` statements: a typed std action when one fits the command exactly
//! (the `TYPED` table), else `shell.run` — whose effect the compiler's read-only table decides,
//! so a draft's gates agree with what `rbk check` infers.

use rbk_compiler::effects::shell_table::read_only_command;
use rbk_compiler::syntax::{Expr, ExprId, ExprKind, Ident, Span, StrPart};

use crate::commands::{Body, Command};
use crate::rbk_text::{self, sample};
use crate::words::{literal, Part, Shape, Word};

/// The statements one command became, and what a test must mock to run them.
#[derive(Debug)]
pub struct Translation {
    pub statements: Vec<String>,
    /// The std action that does the command's work (`k8s.delete_pod`, `shell.run`).
    pub action: &'static str,
    pub destructive: bool,
    pub mocks: Vec<Mock>,
    /// A line for the reviewer: what the translation assumed.
    pub note: Option<String>,
}

impl Translation {
    pub fn typed(&self) -> bool {
        self.action != "shell.run"
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mock {
    Returns {
        action: &'static str,
        value: &'static str,
    },
    /// `k8s.pods` must list a pod of this name (as a test's inputs spell it) in this namespace.
    Pod { name: String, namespace: String },
}

/// Hands out `let` names that no other step of the draft uses.
#[derive(Default)]
pub struct Fresh(usize);

impl Fresh {
    pub fn name(&mut self, stem: &str) -> String {
        self.0 += 1;
        format!("{stem}_{}", self.0)
    }
}

type Recogniser = fn(&Kubectl, &mut Fresh) -> Option<Translation>;

/// Commands with an exact typed translation: the `kubectl` verb words, and the function that
/// translates the rest of the command (or declines, when a flag changes what it does).
/// Add a row per new std action.
pub const TYPED: &[(&[&str], Recogniser)] = &[
    (&["delete", "pod"], delete_pod),
    (&["delete", "pods"], delete_pod),
    (&["rollout", "restart"], rollout_restart),
    (&["rollout", "undo"], rollout_undo),
    (&["delete", "job"], delete_job),
    (&["delete", "jobs"], delete_job),
    (&["scale"], scale),
    (&["logs"], logs),
];

pub fn translate(command: &Command, read_only: &[String], fresh: &mut Fresh) -> Translation {
    match &command.body {
        Body::Sql { sql, .. } => translate_sql(sql, fresh),
        Body::Shell(line) => match &line.shape {
            Shape::Argv(argv) => {
                typed_kubectl(argv, fresh).unwrap_or_else(|| shell_argv(argv, read_only, fresh))
            }
            Shape::Script { script, inputs } => shell_script(script, inputs, fresh),
        },
    }
}

fn typed_kubectl(argv: &[Word], fresh: &mut Fresh) -> Option<Translation> {
    if literal(argv.first()?)? != "kubectl" {
        return None;
    }
    let kubectl = Kubectl::parse(&argv[1..])?;
    TYPED.iter().find_map(|(verb, recognise)| {
        let words: Vec<&str> = kubectl
            .positional
            .iter()
            .take(verb.len())
            .map(|w| literal(w).unwrap_or(""))
            .collect();
        (words == *verb)
            .then(|| recognise(&kubectl.after(verb.len()), fresh))
            .flatten()
    })
}

/// A `kubectl` command's words after the program: positional words, the namespace and the
/// other flags with their values.
#[derive(Clone, Debug, Default)]
pub struct Kubectl {
    pub positional: Vec<Word>,
    pub namespace: Option<Word>,
    pub flags: Vec<(String, Option<Word>)>,
}

/// Flags that take a value as the next word.
const VALUE_FLAGS: &[&str] = &[
    "--tail",
    "--replicas",
    "-c",
    "--container",
    "--context",
    "-l",
];

impl Kubectl {
    fn parse(words: &[Word]) -> Option<Kubectl> {
        let mut parsed = Kubectl::default();
        let mut rest = words.iter();
        while let Some(word) = rest.next() {
            let Some(text) = literal(word).filter(|t| t.starts_with('-')) else {
                if matches!(word.first(), Some(Part::Text(t)) if t.starts_with('-')) {
                    // `--namespace=$NS` and the like: a flag with a placeholder value.
                    let Some(Part::Text(head)) = word.first() else {
                        unreachable!()
                    };
                    let (flag, value) = head.split_once('=')?;
                    let mut value_word = word.clone();
                    value_word[0] = Part::Text(value.to_string());
                    value_word.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
                    parsed.flag(flag, Some(value_word));
                } else {
                    parsed.positional.push(word.clone());
                }
                continue;
            };
            match text.split_once('=') {
                Some((flag, value)) => {
                    parsed.flag(flag, Some(vec![Part::Text(value.to_string())]));
                }
                None if text == "-n" || text == "--namespace" || VALUE_FLAGS.contains(&text) => {
                    parsed.flag(text, Some(rest.next()?.clone()));
                }
                None => parsed.flag(text, None),
            }
        }
        Some(parsed)
    }

    fn flag(&mut self, flag: &str, value: Option<Word>) {
        if flag == "-n" || flag == "--namespace" {
            self.namespace = value;
        } else {
            self.flags.push((flag.to_string(), value));
        }
    }

    fn after(&self, words: usize) -> Kubectl {
        Kubectl {
            positional: self.positional[words..].to_vec(),
            ..self.clone()
        }
    }

    /// The value of `flag` if it is the only flag besides those in `allowed`.
    fn only_flags(&self, allowed: &[&str]) -> bool {
        self.flags
            .iter()
            .all(|(flag, _)| allowed.contains(&flag.as_str()))
    }

    fn int_flag(&self, flag: &str) -> Option<Option<i64>> {
        match self.flags.iter().find(|(f, _)| f == flag) {
            None => Some(None),
            Some((_, value)) => literal(value.as_ref()?)?.parse().ok().map(Some),
        }
    }

    /// `deployment/NAME`, `deploy/NAME`, `deployment NAME`.
    fn deployment(&self) -> Option<Word> {
        let first = self.positional.first()?;
        let kinds = ["deployment", "deployments", "deploy"];
        if let Some(Part::Text(head)) = first.first() {
            if let Some((kind, name)) = head.split_once('/') {
                if !kinds.contains(&kind) || self.positional.len() != 1 {
                    return None;
                }
                let mut word = first.clone();
                word[0] = Part::Text(name.to_string());
                word.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
                return (!word.is_empty()).then_some(word);
            }
        }
        (kinds.contains(&literal(first)?) && self.positional.len() == 2)
            .then(|| self.positional[1].clone())
    }
}

/// `kubectl delete pod NAME -n NS`: read the pod, then delete it.
fn delete_pod(kubectl: &Kubectl, fresh: &mut Fresh) -> Option<Translation> {
    let [name] = kubectl.positional.as_slice() else {
        return None;
    };
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&[]) {
        return None;
    }
    let found = fresh.name("pod");
    let mut statements = find_pod(&found, name, namespace);
    statements.push(format!("k8s.delete_pod(first({found}))"));
    Some(Translation {
        statements,
        action: "k8s.delete_pod",
        destructive: true,
        mocks: vec![
            pod_mock(name, namespace),
            Mock::Returns {
                action: "k8s.delete_pod",
                value: "none",
            },
        ],
        note: None,
    })
}

/// `kubectl logs NAME -n NS [--tail N]`.
fn logs(kubectl: &Kubectl, fresh: &mut Fresh) -> Option<Translation> {
    let [name] = kubectl.positional.as_slice() else {
        return None;
    };
    if literal(name).is_some_and(|n| n.contains('/')) {
        return None;
    }
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&["--tail"]) {
        return None;
    }
    let tail = kubectl.int_flag("--tail")?.filter(|n| *n >= 0);
    let found = fresh.name("pod");
    let output = fresh.name("logs");
    let mut statements = find_pod(&found, name, namespace);
    let tail_arg = tail.map(|n| format!(", tail: {n}")).unwrap_or_default();
    statements.push(format!("let {output} = k8s.logs(first({found}){tail_arg})"));
    statements.push(format!("log \"{{{output}}}\""));
    Some(Translation {
        statements,
        action: "k8s.logs",
        destructive: false,
        mocks: vec![
            pod_mock(name, namespace),
            Mock::Returns {
                action: "k8s.logs",
                value: "\"\"",
            },
        ],
        note: None,
    })
}

/// `kubectl rollout restart deployment/NAME -n NS`.
fn rollout_restart(kubectl: &Kubectl, _: &mut Fresh) -> Option<Translation> {
    let deployment = kubectl.deployment()?;
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&[]) {
        return None;
    }
    Some(Translation {
        statements: vec![format!(
            "k8s.rollout_restart(deployment: {}, namespace: {})",
            rbk_text::word(&deployment),
            rbk_text::word(namespace)
        )],
        action: "k8s.rollout_restart",
        destructive: true,
        mocks: vec![Mock::Returns {
            action: "k8s.rollout_restart",
            value: "none",
        }],
        note: None,
    })
}

/// `kubectl rollout undo deployment/NAME -n NS` (to the previous revision; `--to-revision`
/// is left to `shell.run`).
fn rollout_undo(kubectl: &Kubectl, fresh: &mut Fresh) -> Option<Translation> {
    let deployment = kubectl.deployment()?;
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&[]) {
        return None;
    }
    let restored = fresh.name("restored_revision");
    Some(Translation {
        statements: vec![
            format!(
                "let {restored} = k8s.rollout_undo(deployment: {}, namespace: {})",
                rbk_text::word(&deployment),
                rbk_text::word(namespace)
            ),
            format!("log \"rolled back to revision {{{restored}}}\""),
        ],
        action: "k8s.rollout_undo",
        destructive: true,
        mocks: vec![Mock::Returns {
            action: "k8s.rollout_undo",
            value: "1",
        }],
        note: None,
    })
}

/// `kubectl delete job NAME -n NS`: one named Job.
fn delete_job(kubectl: &Kubectl, _: &mut Fresh) -> Option<Translation> {
    let [name] = kubectl.positional.as_slice() else {
        return None;
    };
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&[]) {
        return None;
    }
    Some(Translation {
        statements: vec![format!(
            "k8s.delete(\"Job\", {}, {})",
            rbk_text::word(name),
            rbk_text::word(namespace)
        )],
        action: "k8s.delete",
        destructive: true,
        mocks: vec![Mock::Returns {
            action: "k8s.delete",
            value: "none",
        }],
        note: None,
    })
}

/// `kubectl scale deployment/NAME --replicas=N -n NS` with a written-out count.
fn scale(kubectl: &Kubectl, _: &mut Fresh) -> Option<Translation> {
    let deployment = kubectl.deployment()?;
    let namespace = kubectl.namespace.as_ref()?;
    if !kubectl.only_flags(&["--replicas"]) {
        return None;
    }
    let replicas = kubectl.int_flag("--replicas")??;
    Some(Translation {
        statements: vec![format!(
            "k8s.scale(deployment: {}, namespace: {}, replicas: {replicas})",
            rbk_text::word(&deployment),
            rbk_text::word(namespace)
        )],
        action: "k8s.scale",
        destructive: true,
        mocks: vec![Mock::Returns {
            action: "k8s.scale",
            value: "none",
        }],
        note: None,
    })
}

/// `let FOUND = the pods named NAME in NAMESPACE`, failing the step unless there is one.
fn find_pod(found: &str, name: &Word, namespace: &Word) -> Vec<String> {
    let name_expr = rbk_text::word(name);
    vec![
        format!(
            "let {found} = filter(k8s.pods(namespace: {}, selector: \"\"), p => p.name == {name_expr})",
            rbk_text::word(namespace)
        ),
        format!(
            "expect len({found}) == 1 else \"no pod named {{{name_expr}}} in {{{}}}\"",
            rbk_text::word(namespace)
        ),
    ]
}

fn pod_mock(name: &Word, namespace: &Word) -> Mock {
    Mock::Pod {
        name: sample(name),
        namespace: sample(namespace),
    }
}

/// Default session age for `pg_terminate_backend` translations; an input of the draft.
pub const IDLE_FOR_INPUT: &str = "idle_for";
/// At most this many sessions are ended by a translated `pg_terminate_backend`.
pub const TERMINATE_MAX: u32 = 20;

fn translate_sql(sql: &Word, fresh: &mut Fresh) -> Translation {
    let text: String = sql
        .iter()
        .map(|part| match part {
            Part::Text(t) => t.clone(),
            Part::Input(_) => "?".to_string(),
        })
        .collect();
    let lower = text.to_lowercase();
    let terminates_by_query =
        lower.contains("pg_terminate_backend(pid)") && lower.contains("from pg_stat_activity");
    if terminates_by_query {
        let idle = lower.contains("'idle'");
        let (reader, what) = if idle {
            ("pg.idle_connections", "idle sessions")
        } else {
            ("pg.active_queries", "sessions running one query")
        };
        let sessions = fresh.name("sessions");
        return Translation {
            statements: vec![
                format!("let {sessions} = {reader}(db, older_than: {IDLE_FOR_INPUT})"),
                format!("pg.terminate(db, {sessions}, max: {TERMINATE_MAX})"),
            ],
            action: "pg.terminate",
            destructive: true,
            mocks: vec![
                Mock::Returns { action: reader, value: "[pg.session(pid: 4242, idle: 2h)]" },
                Mock::Returns { action: "pg.terminate", value: "1" },
            ],
            note: Some(format!(
                "review: ends {what} older than `{IDLE_FOR_INPUT}`, at most {TERMINATE_MAX}; the statement's other conditions were not translated"
            )),
        };
    }
    let literal_sql = rbk_text::word(sql);
    let read_only = lower.trim_start().starts_with("select")
        && !lower.contains("pg_terminate_backend")
        && !lower.contains("pg_cancel_backend")
        && !lower.contains("pg_drop_replication_slot")
        && !lower.contains("into ");
    if read_only {
        let rows = fresh.name("rows");
        Translation {
            statements: vec![
                format!("let {rows} = pg.query(db, {literal_sql})"),
                format!("log \"{{len({rows})}} rows: {{{rows}}}\""),
            ],
            action: "pg.query",
            destructive: false,
            mocks: vec![Mock::Returns {
                action: "pg.query",
                value: "[]",
            }],
            note: None,
        }
    } else {
        Translation {
            statements: vec![format!("pg.execute(db, {literal_sql})")],
            action: "pg.execute",
            destructive: true,
            mocks: vec![Mock::Returns {
                action: "pg.execute",
                value: "0",
            }],
            note: None,
        }
    }
}

fn shell_argv(argv: &[Word], read_only: &[String], fresh: &mut Fresh) -> Translation {
    let list = format!(
        "[{}]",
        argv.iter()
            .map(rbk_text::word)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let reads = read_only_command(&argv_expr(argv), read_only).is_some();
    shell_call(list, !reads, fresh)
}

fn shell_script(script: &str, inputs: &[String], fresh: &mut Fresh) -> Translation {
    let mut words = vec![
        rbk_text::string("sh"),
        rbk_text::string("-c"),
        rbk_text::string(script),
        rbk_text::string("sh"),
    ];
    words.extend(inputs.iter().cloned());
    shell_call(format!("[{}]", words.join(", ")), true, fresh)
}

fn shell_call(list: String, destructive: bool, fresh: &mut Fresh) -> Translation {
    let output = fresh.name("output");
    Translation {
        statements: vec![
            format!("let {output} = shell.run({list})"),
            format!("log \"{{{output}}}\""),
        ],
        action: "shell.run",
        destructive,
        mocks: vec![Mock::Returns {
            action: "shell.run",
            value: "\"\"",
        }],
        note: None,
    }
}

/// The argument list as the compiler sees it, so its own table decides what only reads.
fn argv_expr(argv: &[Word]) -> Expr {
    let expr = |kind| Expr {
        id: ExprId(0),
        span: Span { start: 0, end: 0 },
        kind,
    };
    let items = argv
        .iter()
        .map(|word| match literal(word) {
            Some(text) => expr(ExprKind::Str(vec![StrPart::Text(text.to_string())])),
            None => expr(ExprKind::Name(Ident {
                name: "placeholder".into(),
                span: Span { start: 0, end: 0 },
            })),
        })
        .collect();
    expr(ExprKind::List(items))
}
