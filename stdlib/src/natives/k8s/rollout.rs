//! `k8s.rollout_undo`, as `kubectl rollout undo` does it: find the deployment's ReplicaSets
//! (by its selector and its ownership), take the one with the highest revision below the
//! current one, and put that ReplicaSet's pod template back into the deployment. The
//! deployment is replaced with the `resourceVersion` it was read at, so a change made in
//! between is a conflict (409), not silently overwritten.

use std::sync::Arc;

use kube::api::{ListParams, PostParams};
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use serde_json::Value as Json;

use super::kinds::{fetch, DEPLOYMENT, REPLICASET};
use super::{api_error, non_empty, str_arg, Cluster, Target};
use crate::natives::NativeAction;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// The label the deployment controller adds to each ReplicaSet's template; it is not part of
/// the deployment's own template.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

pub struct RolloutUndo(pub Arc<Cluster>);

fn revision_of(object: &Json) -> Option<i64> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Json::as_str)
        .and_then(|r| r.parse().ok())
}

impl NativeAction for RolloutUndo {
    fn name(&self) -> &'static str {
        "k8s.rollout_undo"
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
            let client = self.0.client().await?;
            let deployments = DEPLOYMENT.api(client.clone(), namespace);
            let deployment = fetch(&deployments, DEPLOYMENT, name, namespace).await?;
            let mut document = serde_json::to_value(&deployment)
                .map_err(|e| ActionError::new(format!("cannot read deployment {name}: {e}")))?;
            if document.pointer("/spec/paused") == Some(&Json::Bool(true)) {
                return Err(ActionError::new(format!(
                    "deployment {name} in namespace {namespace} is paused: it cannot be rolled back. \
                     Resume it first (kubectl rollout resume deployment/{name} -n {namespace})"
                )));
            }
            let current = revision_of(&document).unwrap_or(0);
            let uid = deployment.metadata.uid.clone().unwrap_or_default();
            let selector = document
                .pointer("/spec/selector/matchLabels")
                .and_then(Json::as_object)
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let replicasets = REPLICASET.api(client, namespace);
            let owned = replicasets
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| api_error(e, &Target::list("replicasets", namespace)))?;
            let previous = owned
                .items
                .iter()
                .filter_map(|rs| serde_json::to_value(rs).ok())
                .filter(|rs| {
                    rs.pointer("/metadata/ownerReferences")
                        .and_then(Json::as_array)
                        .is_some_and(|owners| {
                            owners
                                .iter()
                                .any(|o| o["uid"] == uid.as_str() && o["controller"] == true)
                        })
                })
                .filter_map(|rs| revision_of(&rs).map(|r| (r, rs)))
                .filter(|(r, _)| *r < current)
                .max_by_key(|(r, _)| *r);
            let Some((revision, replicaset)) = previous else {
                return Err(ActionError::new(format!(
                    "deployment {name} in namespace {namespace} has no revision before {current} to roll back to"
                )));
            };
            let mut template = replicaset
                .pointer("/spec/template")
                .cloned()
                .unwrap_or(Json::Null);
            if let Some(labels) = template
                .pointer_mut("/metadata/labels")
                .and_then(Json::as_object_mut)
            {
                labels.remove(POD_TEMPLATE_HASH);
            }
            document["spec"]["template"] = template;
            let updated = serde_json::from_value(document)
                .map_err(|e| ActionError::new(format!("cannot write deployment {name}: {e}")))?;
            deployments
                .replace(name, &PostParams::default(), &updated)
                .await
                .map_err(|e| {
                    api_error(
                        e,
                        &Target {
                            verb: "roll back",
                            kind: "deployment",
                            name: Some(name),
                            namespace,
                        },
                    )
                })?;
            Ok(Value::Int(revision))
        })
    }
}
