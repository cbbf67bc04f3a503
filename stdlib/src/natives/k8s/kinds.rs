//! The kinds `std.k8s` reads and changes, and the actions that work the same way on each:
//! `get_KIND`, `list_KINDS`, `events`, `patch`, `delete`. One table says, per kind, where it
//! lives in the API (through `kube`'s type-erased `ApiResource`, so the paths are the ones
//! `k8s-openapi` knows), whether it is namespaced, and which record it becomes.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch};
use kube::Client;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use serde_json::Value as Json;

use super::{api_error, non_empty, patch_params, records, str_arg, Cluster, Target};
use crate::natives::NativeAction;

pub struct Kind {
    /// As the API spells it: `PersistentVolumeClaim`.
    pub name: &'static str,
    /// Other spellings accepted where a kind is given as text (`Pvc`).
    aliases: &'static [&'static str],
    /// In messages: `persistent volume claim`; plural with an `s`.
    pub what: &'static str,
    pub cluster_scoped: bool,
    resource: fn() -> ApiResource,
    record: fn(&Json, &str) -> Result<Value, ActionError>,
}

pub const POD: &Kind = &Kind {
    name: "Pod",
    aliases: &[],
    what: "pod",
    cluster_scoped: false,
    resource: || ApiResource::erase::<Pod>(&()),
    record: records::pod,
};
pub const DEPLOYMENT: &Kind = &Kind {
    name: "Deployment",
    aliases: &[],
    what: "deployment",
    cluster_scoped: false,
    resource: || ApiResource::erase::<Deployment>(&()),
    record: records::deployment,
};
const STATEFULSET: &Kind = &Kind {
    name: "StatefulSet",
    aliases: &[],
    what: "statefulset",
    cluster_scoped: false,
    resource: || ApiResource::erase::<StatefulSet>(&()),
    record: records::statefulset,
};
const DAEMONSET: &Kind = &Kind {
    name: "DaemonSet",
    aliases: &[],
    what: "daemonset",
    cluster_scoped: false,
    resource: || ApiResource::erase::<DaemonSet>(&()),
    record: records::daemonset,
};
pub const REPLICASET: &Kind = &Kind {
    name: "ReplicaSet",
    aliases: &[],
    what: "replicaset",
    cluster_scoped: false,
    resource: || ApiResource::erase::<ReplicaSet>(&()),
    record: records::replicaset,
};
const JOB: &Kind = &Kind {
    name: "Job",
    aliases: &[],
    what: "job",
    cluster_scoped: false,
    resource: || ApiResource::erase::<Job>(&()),
    record: records::job,
};
const CRONJOB: &Kind = &Kind {
    name: "CronJob",
    aliases: &[],
    what: "cronjob",
    cluster_scoped: false,
    resource: || ApiResource::erase::<CronJob>(&()),
    record: records::cronjob,
};
pub const NODE: &Kind = &Kind {
    name: "Node",
    aliases: &[],
    what: "node",
    cluster_scoped: true,
    resource: || ApiResource::erase::<Node>(&()),
    record: records::node,
};
const PVC: &Kind = &Kind {
    name: "PersistentVolumeClaim",
    aliases: &["Pvc"],
    what: "persistent volume claim",
    cluster_scoped: false,
    resource: || ApiResource::erase::<PersistentVolumeClaim>(&()),
    record: records::pvc,
};
const STORAGE_CLASS: &Kind = &Kind {
    name: "StorageClass",
    aliases: &[],
    what: "storage class",
    cluster_scoped: true,
    resource: || ApiResource::erase::<StorageClass>(&()),
    record: records::storage_class,
};
const HPA: &Kind = &Kind {
    name: "HorizontalPodAutoscaler",
    aliases: &["Hpa"],
    what: "horizontal pod autoscaler",
    cluster_scoped: false,
    resource: || ApiResource::erase::<HorizontalPodAutoscaler>(&()),
    record: records::hpa,
};
const CONFIGMAP: &Kind = &Kind {
    name: "ConfigMap",
    aliases: &[],
    what: "configmap",
    cluster_scoped: false,
    resource: || ApiResource::erase::<ConfigMap>(&()),
    record: records::configmap,
};
const EVENT: &Kind = &Kind {
    name: "Event",
    aliases: &[],
    what: "event",
    cluster_scoped: false,
    resource: || ApiResource::erase::<Event>(&()),
    record: records::event,
};

const KINDS: &[&Kind] = &[
    POD,
    DEPLOYMENT,
    STATEFULSET,
    DAEMONSET,
    REPLICASET,
    JOB,
    CRONJOB,
    NODE,
    PVC,
    STORAGE_CLASS,
    HPA,
    CONFIGMAP,
    EVENT,
];

/// The natives `get_KIND` and `list_KINDS` for every kind, plus the older names `pods` and
/// `deployment`, which are the same reads.
pub fn read_actions(cluster: &Arc<Cluster>) -> Vec<Box<dyn NativeAction>> {
    let table: &[(&'static str, &'static Kind, bool)] = &[
        ("k8s.pods", POD, true),
        ("k8s.deployment", DEPLOYMENT, false),
        ("k8s.get_pod", POD, false),
        ("k8s.list_pods", POD, true),
        ("k8s.get_deployment", DEPLOYMENT, false),
        ("k8s.list_deployments", DEPLOYMENT, true),
        ("k8s.get_statefulset", STATEFULSET, false),
        ("k8s.list_statefulsets", STATEFULSET, true),
        ("k8s.get_daemonset", DAEMONSET, false),
        ("k8s.list_daemonsets", DAEMONSET, true),
        ("k8s.get_replicaset", REPLICASET, false),
        ("k8s.list_replicasets", REPLICASET, true),
        ("k8s.get_job", JOB, false),
        ("k8s.list_jobs", JOB, true),
        ("k8s.get_cronjob", CRONJOB, false),
        ("k8s.list_cronjobs", CRONJOB, true),
        ("k8s.get_node", NODE, false),
        ("k8s.list_nodes", NODE, true),
        ("k8s.get_pvc", PVC, false),
        ("k8s.list_pvcs", PVC, true),
        ("k8s.get_storage_class", STORAGE_CLASS, false),
        ("k8s.list_storage_classes", STORAGE_CLASS, true),
        ("k8s.get_hpa", HPA, false),
        ("k8s.list_hpas", HPA, true),
        ("k8s.get_configmap", CONFIGMAP, false),
        ("k8s.list_configmaps", CONFIGMAP, true),
        ("k8s.get_event", EVENT, false),
        ("k8s.list_events", EVENT, true),
    ];
    let mut actions: Vec<Box<dyn NativeAction>> = Vec::new();
    for &(name, kind, list) in table {
        if list {
            actions.push(Box::new(ListObjects {
                name,
                kind,
                cluster: cluster.clone(),
            }));
        } else {
            actions.push(Box::new(GetObject {
                name,
                kind,
                cluster: cluster.clone(),
            }));
        }
    }
    actions.push(Box::new(Events(cluster.clone())));
    actions.push(Box::new(PatchObject(cluster.clone())));
    actions.push(Box::new(DeleteObject(cluster.clone())));
    actions
}

/// The kind a runbook named as text (`"Pvc"`, `"persistentvolumeclaim"`), or an error listing
/// the kinds there are.
pub fn kind_named(text: &str) -> Result<&'static Kind, ActionError> {
    let wanted = text.trim();
    KINDS
        .iter()
        .copied()
        .find(|k| {
            k.name.eq_ignore_ascii_case(wanted)
                || k.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted))
        })
        .ok_or_else(|| {
            let known: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            ActionError::new(format!(
                "`{wanted}` is not a kind std.k8s knows: use one of {}",
                known.join(", ")
            ))
        })
}

impl Kind {
    /// The API for this kind: in `namespace`, or cluster-wide for nodes and storage classes.
    pub fn api(&self, client: Client, namespace: &str) -> Api<DynamicObject> {
        let resource = (self.resource)();
        if self.cluster_scoped {
            Api::all_with(client, &resource)
        } else {
            Api::namespaced_with(client, namespace, &resource)
        }
    }

    /// The record of `object`, as `std/k8s.rbk` declares it.
    pub fn record(&self, object: &DynamicObject, namespace: &str) -> Result<Value, ActionError> {
        let json = serde_json::to_value(object).map_err(|e| {
            ActionError::new(format!("cannot read a {} from the API: {e}", self.what))
        })?;
        (self.record)(&json, namespace)
    }

    /// The namespace to use: `""` for a cluster-scoped kind, else the one given (not empty).
    fn namespace<'a>(&self, namespace: &'a str) -> Result<&'a str, ActionError> {
        if self.cluster_scoped {
            Ok("")
        } else {
            non_empty("namespace", namespace)?;
            Ok(namespace)
        }
    }

    pub fn target<'a>(
        &'a self,
        verb: &'a str,
        name: Option<&'a str>,
        namespace: &'a str,
    ) -> Target<'a> {
        Target {
            verb,
            kind: self.what,
            name,
            namespace,
        }
    }
}

/// GETs one object; a failure names it.
pub async fn fetch(
    api: &Api<DynamicObject>,
    kind: &Kind,
    name: &str,
    namespace: &str,
) -> Result<DynamicObject, ActionError> {
    api.get(name)
        .await
        .map_err(|e| api_error(e, &kind.target("get", Some(name), namespace)))
}

/// `k8s.get_KIND(name[, namespace]) -> KIND`.
struct GetObject {
    name: &'static str,
    kind: &'static Kind,
    cluster: Arc<Cluster>,
}

impl NativeAction for GetObject {
    fn name(&self) -> &'static str {
        self.name
    }
    fn arity(&self) -> usize {
        if self.kind.cluster_scoped {
            1
        } else {
            2
        }
    }
    fn effect(&self) -> Effect {
        Effect::Read
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let name = str_arg(call, "name")?;
            non_empty("name", name)?;
            let namespace = match self.kind.cluster_scoped {
                true => "",
                false => self.kind.namespace(str_arg(call, "namespace")?)?,
            };
            let api = self.kind.api(self.cluster.client().await?, namespace);
            let object = fetch(&api, self.kind, name, namespace).await?;
            self.kind.record(&object, namespace)
        })
    }
}

/// `k8s.list_KINDS([namespace, ]selector) -> list<KIND>`.
struct ListObjects {
    name: &'static str,
    kind: &'static Kind,
    cluster: Arc<Cluster>,
}

impl NativeAction for ListObjects {
    fn name(&self) -> &'static str {
        self.name
    }
    fn arity(&self) -> usize {
        if self.kind.cluster_scoped {
            1
        } else {
            2
        }
    }
    fn effect(&self) -> Effect {
        Effect::Read
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let namespace = match self.kind.cluster_scoped {
                true => "",
                false => self.kind.namespace(str_arg(call, "namespace")?)?,
            };
            let selector = match call.arg("selector") {
                None => "",
                Some(_) => str_arg(call, "selector")?,
            };
            let mut params = ListParams::default();
            if !selector.trim().is_empty() {
                params = params.labels(selector);
            }
            list(&self.cluster, self.kind, namespace, &params).await
        })
    }
}

async fn list(
    cluster: &Cluster,
    kind: &Kind,
    namespace: &str,
    params: &ListParams,
) -> Result<Value, ActionError> {
    let api = kind.api(cluster.client().await?, namespace);
    let plural = format!("{}s", kind.what);
    let objects = api
        .list(params)
        .await
        .map_err(|e| api_error(e, &Target::list(&plural, namespace)))?;
    objects
        .items
        .iter()
        .map(|object| kind.record(object, namespace))
        .collect::<Result<_, _>>()
        .map(Value::List)
}

/// `k8s.events(kind, name, namespace) -> list<Event>`: a field selector on the involved
/// object, as `kubectl describe` reads them, sorted oldest first.
struct Events(Arc<Cluster>);

impl NativeAction for Events {
    fn name(&self) -> &'static str {
        "k8s.events"
    }
    fn arity(&self) -> usize {
        3
    }
    fn effect(&self) -> Effect {
        Effect::Read
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let kind = kind_named(str_arg(call, "kind")?)?;
            let name = str_arg(call, "name")?;
            non_empty("name", name)?;
            // Events about a cluster-scoped object are recorded in `default`.
            let namespace = if kind.cluster_scoped {
                "default"
            } else {
                kind.namespace(str_arg(call, "namespace")?)?
            };
            let params = ListParams::default().fields(&format!(
                "involvedObject.kind={},involvedObject.name={name}",
                kind.name
            ));
            let Value::List(mut events) = list(&self.0, EVENT, namespace, &params).await? else {
                unreachable!("list returns a list")
            };
            events.sort_by_key(records::event_last_seen);
            Ok(Value::List(events))
        })
    }
}

/// `k8s.patch(kind, name, namespace, merge_patch)`: a JSON merge patch.
struct PatchObject(Arc<Cluster>);

impl NativeAction for PatchObject {
    fn name(&self) -> &'static str {
        "k8s.patch"
    }
    fn arity(&self) -> usize {
        4
    }
    fn effect(&self) -> Effect {
        Effect::Write
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let kind = kind_named(str_arg(call, "kind")?)?;
            let name = str_arg(call, "name")?;
            non_empty("name", name)?;
            let namespace = kind.namespace(str_arg(call, "namespace")?)?;
            let patch = match call.arg("merge_patch") {
                Some(value @ (Value::Record(_) | Value::Map(_))) => value.to_json(),
                other => {
                    return Err(ActionError::new(format!(
                        "`merge_patch` must be a record or map, got {}",
                        other.map(Value::type_name).unwrap_or("nothing")
                    )))
                }
            };
            let api = kind.api(self.0.client().await?, namespace);
            api.patch(name, &patch_params(), &Patch::Merge(patch))
                .await
                .map_err(|e| api_error(e, &kind.target("patch", Some(name), namespace)))?;
            Ok(Value::None)
        })
    }
}

/// `k8s.delete(kind, name, namespace)`.
struct DeleteObject(Arc<Cluster>);

impl NativeAction for DeleteObject {
    fn name(&self) -> &'static str {
        "k8s.delete"
    }
    fn arity(&self) -> usize {
        3
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let kind = kind_named(str_arg(call, "kind")?)?;
            let name = str_arg(call, "name")?;
            non_empty("name", name)?;
            let namespace = kind.namespace(str_arg(call, "namespace")?)?;
            let api = kind.api(self.0.client().await?, namespace);
            // Background propagation, as kubectl: a Job's pods, a Deployment's ReplicaSets go
            // too (the API's own default for Jobs would orphan them).
            let params = DeleteParams::background();
            api.delete(name, &params)
                .await
                .map_err(|e| api_error(e, &kind.target("delete", Some(name), namespace)))?;
            Ok(Value::None)
        })
    }
}
