//! `std.k8s`: typed reads of workloads, nodes and volumes, logs, and the changes runbooks make
//! (patch, cordon, drain, delete, restart, roll back, scale) through the Kubernetes API (`kube` +
//! `k8s-openapi`). `kinds` holds the per-kind reads, `records` the JSON-to-record mapping,
//! `nodes` cordon and drain, `rollout` the roll-back, `exec` commands in containers; this file the client, errors, logs and the
//! pod and deployment changes.
//!
//! The client is made on the first call and then shared by every k8s action, so `rbk check`,
//! `rbk plan` and `rbk test` never need a cluster. It is configured from
//! `[integrations.kubernetes]` (a kubeconfig path and a context); without one, from
//! `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account.

mod exec;
mod kinds;
mod nodes;
mod records;
mod rollout;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, LogParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use rbk_compiler::config::KubernetesConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use tokio::sync::OnceCell;

use super::NativeAction;

/// Log output beyond this is cut (keeping the end), so a chatty pod cannot fill the journal.
const MAX_LOG_BYTES: usize = 1024 * 1024;

/// The annotation `kubectl rollout restart` sets on the pod template.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// The field manager recorded on the objects rbk patches (`kubectl` uses `kubectl-rollout`).
const FIELD_MANAGER: &str = "rbk";

/// The connection shared by every `k8s.*` action: made lazily, then cached.
pub struct Cluster {
    config: Option<KubernetesConfig>,
    client: OnceCell<Client>,
}

impl Cluster {
    pub fn new(config: Option<KubernetesConfig>) -> Arc<Self> {
        Arc::new(Cluster {
            config,
            client: OnceCell::new(),
        })
    }

    /// A cluster that talks through `client` (tests, embedding).
    pub fn with_client(client: Client) -> Arc<Self> {
        Arc::new(Cluster {
            config: None,
            client: OnceCell::new_with(Some(client)),
        })
    }

    async fn client(&self) -> Result<Client, ActionError> {
        self.client
            .get_or_try_init(|| async {
                let config = load_config(self.config.as_ref()).await?;
                Client::try_from(config).map_err(|e| {
                    ActionError::new(format!(
                        "cannot create a Kubernetes client: {}",
                        error_chain(&e)
                    ))
                })
            })
            .await
            .cloned()
    }
}

async fn load_config(config: Option<&KubernetesConfig>) -> Result<kube::Config, ActionError> {
    let kubeconfig = config.and_then(|c| c.kubeconfig.clone());
    let context = config.and_then(|c| c.context.clone());
    let options = KubeConfigOptions {
        context: context.clone(),
        ..Default::default()
    };
    let loaded = match &kubeconfig {
        Some(path) => {
            let path = expand_home(path);
            let file = Kubeconfig::read_from(&path).map_err(|e| {
                ActionError::new(format!(
                    "cannot read the kubeconfig {}: {}",
                    path,
                    error_chain(&e)
                ))
            })?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| error_chain(&e))
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| error_chain(&e)),
        None => kube::Config::infer().await.map_err(|e| error_chain(&e)),
    };
    let mut loaded = loaded;
    // kube retries 429, 503 and 504 by itself, up to 15 times over many minutes. A step must
    // fail or succeed on the answer it got: drain has its own documented retry for a refused
    // eviction, and a step's `retry` clause is the runbook's to choose.
    if let Ok(config) = loaded.as_mut() {
        config.default_retry = false;
    }
    loaded.map_err(|e| {
        let context = context
            .map(|c| format!(" (context `{c}`)"))
            .unwrap_or_default();
        ActionError::new(format!(
            "no usable Kubernetes configuration{context}: {e}. Set `kubeconfig`/`context` under \
             [integrations.kubernetes] in rbk.toml, $KUBECONFIG or ~/.kube/config, or run inside a cluster"
        ))
    })
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

/// Every `k8s.*` native, sharing one lazily made client.
pub fn actions(config: Option<KubernetesConfig>) -> Vec<Box<dyn NativeAction>> {
    actions_for(Cluster::new(config))
}

/// Every `k8s.*` native, talking through `cluster`.
pub fn actions_for(cluster: Arc<Cluster>) -> Vec<Box<dyn NativeAction>> {
    let mut actions = kinds::read_actions(&cluster);
    actions.extend(nodes::actions(&cluster));
    actions.push(Box::new(rollout::RolloutUndo(cluster.clone())));
    actions.push(Box::new(Logs(cluster.clone())));
    actions.push(Box::new(exec::Exec(cluster.clone())));
    actions.push(Box::new(DeletePod(cluster.clone())));
    actions.push(Box::new(RolloutRestart(cluster.clone())));
    actions.push(Box::new(Scale(cluster)));
    actions
}

// ---------------------------------------------------------------------------------------------
// Arguments and values

fn str_arg<'c>(call: &'c ActionCall, name: &str) -> Result<&'c str, ActionError> {
    match call.arg(name) {
        Some(Value::Str(s)) => Ok(s),
        other => Err(ActionError::new(format!(
            "`{name}` must be a string, got {}",
            other.map(Value::type_name).unwrap_or("nothing")
        ))),
    }
}

fn int_arg(call: &ActionCall, name: &str) -> Result<i64, ActionError> {
    match call.arg(name) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(ActionError::new(format!(
            "`{name}` must be an int, got {}",
            other.map(Value::type_name).unwrap_or("nothing")
        ))),
    }
}

/// The name and namespace of a `k8s.Pod` argument.
fn pod_arg(call: &ActionCall, name: &str) -> Result<(String, String), ActionError> {
    let Some(Value::Record(fields)) = call.arg(name) else {
        return Err(ActionError::new(format!("`{name}` must be a k8s.Pod")));
    };
    let field = |f: &str| match fields.get(f) {
        Some(Value::Str(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ActionError::new(format!(
            "`{name}` has no `{f}`: pass a k8s.Pod from k8s.pods"
        ))),
    };
    Ok((field("name")?, field("namespace")?))
}

fn non_empty(what: &str, value: &str) -> Result<(), ActionError> {
    if value.trim().is_empty() {
        Err(ActionError::new(format!("`{what}` is empty")))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What a request was about, for its error message.
struct Target<'a> {
    /// `list`, `get`, `delete`, `patch`, `read the logs of`.
    verb: &'a str,
    /// `pod`, `deployment`, `pods`.
    kind: &'a str,
    /// The object's name; `None` for a list.
    name: Option<&'a str>,
    /// `""` for cluster-scoped objects (nodes, storage classes).
    namespace: &'a str,
}

impl<'a> Target<'a> {
    fn list(kind: &'a str, namespace: &'a str) -> Self {
        Target {
            verb: "list",
            kind,
            name: None,
            namespace,
        }
    }

    fn object(&self) -> String {
        let place = self.place();
        match self.name {
            Some(name) => format!("{} {name}{place}", self.kind),
            None => format!("{}{place}", self.kind),
        }
    }

    /// ` in namespace NS`, or nothing for a cluster-scoped object.
    fn place(&self) -> String {
        if self.namespace.is_empty() {
            String::new()
        } else {
            format!(" in namespace {}", self.namespace)
        }
    }
}

/// An API error as a step failure an operator can act on.
fn api_error(error: kube::Error, target: &Target<'_>) -> ActionError {
    match error {
        kube::Error::Api(status) => {
            let code = status.code;
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            let message = match code {
                404 => match target.name {
                    Some(name) => {
                        format!("{} {name} not found{} (404)", target.kind, target.place())
                    }
                    None => format!("{} not found: {message} (404)", target.object()),
                },
                401 => format!(
                    "unauthorized: the API server rejected the credentials while trying to {} {}: {message} (401)",
                    target.verb,
                    target.object()
                ),
                403 => format!(
                    "forbidden: not allowed to {} {}: {message} (403)",
                    target.verb,
                    target.object()
                ),
                409 => format!(
                    "conflict: could not {} {}: {message} (409)",
                    target.verb,
                    target.object()
                ),
                _ => {
                    let reason = if status.reason.is_empty() {
                        String::new()
                    } else {
                        format!("{}, ", status.reason)
                    };
                    format!(
                        "could not {} {}: {message} ({reason}{code})",
                        target.verb,
                        target.object()
                    )
                }
            };
            ActionError::new(message)
        }
        other => ActionError::new(format!(
            "could not {} {}: {}",
            target.verb,
            target.object(),
            error_chain(&other)
        )),
    }
}

/// An error with its causes (`ServiceError: client error (Connect): Connection refused`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Actions

/// GETs one deployment; a failure names it (`cannot get deployment X in namespace Y: ...`).
async fn fetch_deployment(
    api: &Api<Deployment>,
    name: &str,
    namespace: &str,
) -> Result<Deployment, ActionError> {
    api.get(name).await.map_err(|e| {
        api_error(
            e,
            &Target {
                verb: "get",
                kind: "deployment",
                name: Some(name),
                namespace,
            },
        )
    })
}

/// `k8s.logs(pod, tail, container, previous) -> string`.
pub struct Logs(Arc<Cluster>);

impl NativeAction for Logs {
    fn name(&self) -> &'static str {
        "k8s.logs"
    }
    fn arity(&self) -> usize {
        4
    }
    fn effect(&self) -> Effect {
        Effect::Read
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let (name, namespace) = pod_arg(call, "pod")?;
            let tail = int_arg(call, "tail")?;
            if tail < 0 {
                return Err(ActionError::new(format!(
                    "`tail` must be zero or more, got {tail}"
                )));
            }
            let container = match call.arg("container") {
                None => "",
                Some(_) => str_arg(call, "container")?.trim(),
            };
            let previous = match call.arg("previous") {
                None => false,
                Some(Value::Bool(previous)) => *previous,
                Some(other) => {
                    return Err(ActionError::new(format!(
                        "`previous` must be a bool, got {}",
                        other.type_name()
                    )))
                }
            };
            let api: Api<Pod> = Api::namespaced(self.0.client().await?, &namespace);
            let target = Target {
                verb: "read the logs of",
                kind: "pod",
                name: Some(&name),
                namespace: &namespace,
            };
            let params = LogParams {
                tail_lines: Some(tail),
                container: (!container.is_empty()).then(|| container.to_string()),
                previous,
                ..Default::default()
            };
            let text = match api.logs(&name, &params).await {
                Ok(text) => text,
                // A pod with several containers: the API wants one container per request.
                Err(kube::Error::Api(status))
                    if status.code == 400
                        && container.is_empty()
                        && status.message.contains("container name must be specified") =>
                {
                    all_containers_logs(&api, &name, tail, previous, &target).await?
                }
                Err(e) => return Err(api_error(e, &target)),
            };
            Ok(Value::Str(keep_tail_bytes(text, MAX_LOG_BYTES)))
        })
    }
}

/// The last `tail` lines of every container of the pod, interleaved by their timestamps.
async fn all_containers_logs(
    api: &Api<Pod>,
    name: &str,
    tail: i64,
    previous: bool,
    target: &Target<'_>,
) -> Result<String, ActionError> {
    let pod = api.get(name).await.map_err(|e| api_error(e, target))?;
    let containers: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect();
    let mut lines: Vec<(i128, String)> = Vec::new();
    for container in containers {
        let params = LogParams {
            container: Some(container),
            tail_lines: Some(tail),
            timestamps: true,
            previous,
            ..Default::default()
        };
        let text = api
            .logs(name, &params)
            .await
            .map_err(|e| api_error(e, target))?;
        for line in text.lines() {
            // `2024-05-01T10:00:00.123456789Z message`
            let (stamp, rest) = line.split_once(' ').unwrap_or((line, ""));
            match stamp.parse::<jiff::Timestamp>() {
                Ok(t) => lines.push((t.as_nanosecond(), rest.to_string())),
                Err(_) => lines.push((
                    lines.last().map(|(t, _)| *t).unwrap_or(i128::MIN),
                    line.to_string(),
                )),
            }
        }
    }
    lines.sort_by_key(|(t, _)| *t);
    let skip = lines.len().saturating_sub(tail as usize);
    let mut text = String::new();
    for (_, line) in lines.into_iter().skip(skip) {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

fn keep_tail_bytes(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

/// `k8s.delete_pod(pod)`.
pub struct DeletePod(Arc<Cluster>);

impl NativeAction for DeletePod {
    fn name(&self) -> &'static str {
        "k8s.delete_pod"
    }
    fn arity(&self) -> usize {
        1
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let (name, namespace) = pod_arg(call, "pod")?;
            let api: Api<Pod> = Api::namespaced(self.0.client().await?, &namespace);
            api.delete(&name, &DeleteParams::default())
                .await
                .map_err(|e| {
                    api_error(
                        e,
                        &Target {
                            verb: "delete",
                            kind: "pod",
                            name: Some(&name),
                            namespace: &namespace,
                        },
                    )
                })?;
            Ok(Value::None)
        })
    }
}

/// `k8s.rollout_restart(deployment, namespace)`, as `kubectl rollout restart` does it.
pub struct RolloutRestart(Arc<Cluster>);

impl NativeAction for RolloutRestart {
    fn name(&self) -> &'static str {
        "k8s.rollout_restart"
    }
    fn arity(&self) -> usize {
        2
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let name = str_arg(call, "deployment")?;
            let namespace = str_arg(call, "namespace")?;
            non_empty("deployment", name)?;
            non_empty("namespace", namespace)?;
            let api: Api<Deployment> = Api::namespaced(self.0.client().await?, namespace);
            let deployment = fetch_deployment(&api, name, namespace).await?;
            if deployment.spec.paused.unwrap_or(false) {
                return Err(ActionError::new(format!(
                    "deployment {name} in namespace {namespace} is paused: a restart would not roll out. \
                     Resume it first (kubectl rollout resume deployment/{name} -n {namespace})"
                )));
            }
            let patch = serde_json::json!({
                "spec": {"template": {"metadata": {"annotations": {
                    RESTARTED_AT: restarted_at_now(),
                }}}}
            });
            api.patch(name, &patch_params(), &Patch::Strategic(patch))
                .await
                .map_err(|e| {
                    api_error(
                        e,
                        &Target {
                            verb: "restart",
                            kind: "deployment",
                            name: Some(name),
                            namespace,
                        },
                    )
                })?;
            Ok(Value::None)
        })
    }
}

/// RFC 3339 to the second, as kubectl writes `restartedAt` (in UTC here).
fn restarted_at_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `k8s.scale(deployment, namespace, replicas)`.
pub struct Scale(Arc<Cluster>);

impl NativeAction for Scale {
    fn name(&self) -> &'static str {
        "k8s.scale"
    }
    fn arity(&self) -> usize {
        3
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let name = str_arg(call, "deployment")?;
            let namespace = str_arg(call, "namespace")?;
            let replicas = int_arg(call, "replicas")?;
            non_empty("deployment", name)?;
            non_empty("namespace", namespace)?;
            if !(0..=i64::from(i32::MAX)).contains(&replicas) {
                return Err(ActionError::new(format!(
                    "`replicas` must be between 0 and {}, got {replicas}",
                    i32::MAX
                )));
            }
            let api: Api<Deployment> = Api::namespaced(self.0.client().await?, namespace);
            let patch = serde_json::json!({"spec": {"replicas": replicas}});
            api.patch_scale(name, &patch_params(), &Patch::Merge(patch))
                .await
                .map_err(|e| {
                    api_error(
                        e,
                        &Target {
                            verb: "scale",
                            kind: "deployment",
                            name: Some(name),
                            namespace,
                        },
                    )
                })?;
            Ok(Value::None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarted_at_is_rfc3339_to_the_second() {
        let stamp = restarted_at_now();
        assert_eq!(stamp.len(), "2024-05-01T10:00:00Z".len(), "{stamp}");
        assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{stamp}");
    }

    #[test]
    fn long_logs_keep_their_end() {
        assert_eq!(keep_tail_bytes("abcdef".into(), 3), "def");
        assert_eq!(keep_tail_bytes("ab".into(), 3), "ab");
        assert_eq!(keep_tail_bytes("aé".into(), 1), "");
    }
}
