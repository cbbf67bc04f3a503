//! `k8s.cordon`, `k8s.uncordon` and `k8s.drain`, as kubectl does them: cordoning sets
//! `spec.unschedulable`; draining cordons, then evicts every pod on the node through the
//! Eviction API (policy/v1) so PodDisruptionBudgets decide, leaving DaemonSet and mirror pods.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PostParams};
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use serde_json::{json, Value as Json};

use super::{api_error, int_arg, non_empty, patch_params, str_arg, Cluster, Target};
use crate::natives::NativeAction;

/// How long drain waits before asking again when a disruption budget refuses an eviction.
const EVICTION_RETRY: Duration = Duration::from_secs(5);

/// The annotation the kubelet puts on the API's copy of a static pod.
const MIRROR_POD: &str = "kubernetes.io/config.mirror";

pub fn actions(cluster: &Arc<Cluster>) -> Vec<Box<dyn NativeAction>> {
    vec![
        Box::new(Cordon {
            cluster: cluster.clone(),
            unschedulable: true,
        }),
        Box::new(Cordon {
            cluster: cluster.clone(),
            unschedulable: false,
        }),
        Box::new(Drain(cluster.clone())),
    ]
}

async fn set_unschedulable(
    cluster: &Cluster,
    node: &str,
    unschedulable: bool,
) -> Result<(), ActionError> {
    let api: Api<Node> = Api::all(cluster.client().await?);
    let patch = json!({"spec": {"unschedulable": unschedulable}});
    let verb = if unschedulable { "cordon" } else { "uncordon" };
    api.patch(node, &patch_params(), &Patch::Merge(patch))
        .await
        .map_err(|e| {
            api_error(
                e,
                &Target {
                    verb,
                    kind: "node",
                    name: Some(node),
                    namespace: "",
                },
            )
        })?;
    Ok(())
}

/// `k8s.cordon(node)` and `k8s.uncordon(node)`.
struct Cordon {
    cluster: Arc<Cluster>,
    unschedulable: bool,
}

impl NativeAction for Cordon {
    fn name(&self) -> &'static str {
        if self.unschedulable {
            "k8s.cordon"
        } else {
            "k8s.uncordon"
        }
    }
    fn arity(&self) -> usize {
        1
    }
    fn effect(&self) -> Effect {
        Effect::Write
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let node = str_arg(call, "node")?;
            non_empty("node", node)?;
            set_unschedulable(&self.cluster, node, self.unschedulable).await?;
            Ok(Value::None)
        })
    }
}

/// `k8s.drain(node, max, timeout) -> Drained`.
struct Drain(Arc<Cluster>);

/// Why a pod on the node is not evicted, or `None` when it is.
fn left_alone(pod: &Pod) -> Option<&'static str> {
    let meta = &pod.metadata;
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_POD))
    {
        return Some("mirror pod");
    }
    let owners = meta.owner_references.iter().flatten();
    if owners
        .clone()
        .any(|o| o.kind == "DaemonSet" && o.controller == Some(true))
    {
        return Some("DaemonSet pod");
    }
    if meta.deletion_timestamp.is_some() {
        return Some("already terminating");
    }
    None
}

fn has_controller(pod: &Pod) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true))
}

fn qualified(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

impl NativeAction for Drain {
    fn name(&self) -> &'static str {
        "k8s.drain"
    }
    fn arity(&self) -> usize {
        3
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let node = str_arg(call, "node")?;
            non_empty("node", node)?;
            let max = match call.arg("max") {
                None => 50,
                Some(_) => int_arg(call, "max")?,
            };
            if max < 0 {
                return Err(ActionError::new(format!(
                    "`max` must be zero or more, got {max}"
                )));
            }
            let timeout = match call.arg("timeout") {
                None => Duration::from_secs(300),
                Some(Value::Duration(ms)) => Duration::from_millis(*ms),
                Some(other) => {
                    return Err(ActionError::new(format!(
                        "`timeout` must be a duration, got {}",
                        other.type_name()
                    )))
                }
            };
            let deadline = tokio::time::Instant::now() + timeout;

            set_unschedulable(&self.0, node, true).await?;
            let client = self.0.client().await?;
            let all_pods: Api<Pod> = Api::all(client.clone());
            let on_node = all_pods
                .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
                .await
                .map_err(|e| api_error(e, &Target::list("pods", "")))?;
            let (skipped, to_evict): (Vec<&Pod>, Vec<&Pod>) = on_node
                .items
                .iter()
                .partition(|pod| left_alone(pod).is_some());
            let unmanaged: Vec<String> = to_evict
                .iter()
                .filter(|pod| !has_controller(pod))
                .map(|pod| qualified(pod))
                .collect();
            if !unmanaged.is_empty() {
                return Err(ActionError::new(format!(
                    "node {node} is cordoned, but nothing was evicted: {} not managed by a controller and would be gone for good ({}). Delete them yourself first (k8s.delete), or move them",
                    if unmanaged.len() == 1 { "a pod is" } else { "pods are" },
                    unmanaged.join(", ")
                )));
            }
            if to_evict.len() as i64 > max {
                return Err(ActionError::new(format!(
                    "node {node} is cordoned, but nothing was evicted: it runs {} pods to evict, more than `max` ({max})",
                    to_evict.len()
                )));
            }
            let mut evicted = Vec::new();
            for pod in &to_evict {
                evict(&client, pod, deadline, &evicted, node).await?;
                evicted.push(qualified(pod));
            }
            let list =
                |names: Vec<String>| Value::List(names.into_iter().map(Value::Str).collect());
            Ok(Value::Record(
                [
                    ("evicted".to_string(), list(evicted)),
                    (
                        "skipped".to_string(),
                        list(skipped.iter().map(|p| qualified(p)).collect()),
                    ),
                ]
                .into_iter()
                .collect(),
            ))
        })
    }
}

/// Asks the Eviction API to evict `pod`, asking again every [`EVICTION_RETRY`] while a
/// PodDisruptionBudget refuses (429), until `deadline`.
async fn evict(
    client: &kube::Client,
    pod: &Pod,
    deadline: tokio::time::Instant,
    evicted_so_far: &[String],
    node: &str,
) -> Result<(), ActionError> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let eviction = json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
    });
    let so_far = || {
        if evicted_so_far.is_empty() {
            "nothing was evicted yet".to_string()
        } else {
            format!("already evicted: {}", evicted_so_far.join(", "))
        }
    };
    loop {
        let answer: Result<Json, kube::Error> = api
            .create_subresource("eviction", name, &PostParams::default(), &eviction)
            .await;
        match answer {
            Ok(_) => return Ok(()),
            // Gone already: nothing left to evict.
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 429 => {
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return Err(ActionError::new(format!(
                        "a PodDisruptionBudget refused to let pod {name} in namespace {namespace} be evicted until the drain's timeout: {} (429). Node {node} stays cordoned; {}",
                        status.message,
                        so_far()
                    )));
                }
                tokio::time::sleep(EVICTION_RETRY.min(deadline - now)).await;
            }
            Err(e) => {
                let mut error = api_error(
                    e,
                    &Target {
                        verb: "evict",
                        kind: "pod",
                        name: Some(name),
                        namespace,
                    },
                );
                error.message = format!(
                    "{}. Node {node} stays cordoned; {}",
                    error.message,
                    so_far()
                );
                return Err(error);
            }
        }
    }
}
