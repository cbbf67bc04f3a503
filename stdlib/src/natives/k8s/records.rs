//! Kubernetes objects (as the API server's JSON) turned into the records `std/k8s.rbk`
//! declares: exactly the fields of each `type`, with the API's defaults for what it leaves out
//! (`""`, 0, false, an empty list, `none` for a time that has not happened).

use std::collections::BTreeMap;

use rbk_interpreter::{ActionError, Value};
use serde_json::Value as Json;

/// The JSON at `pointer`, or `null`.
fn at<'a>(object: &'a Json, pointer: &str) -> &'a Json {
    object.pointer(pointer).unwrap_or(&Json::Null)
}

fn text(object: &Json, pointer: &str) -> Value {
    Value::str(at(object, pointer).as_str().unwrap_or_default())
}

fn int(object: &Json, pointer: &str) -> Value {
    Value::Int(at(object, pointer).as_i64().unwrap_or(0))
}

fn boolean(object: &Json, pointer: &str) -> Value {
    Value::Bool(at(object, pointer).as_bool().unwrap_or(false))
}

fn millis(object: &Json, pointer: &str) -> Option<i64> {
    at(object, pointer)
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
}

/// A time the object always has (its creation); the epoch if the API leaves it out.
fn time(object: &Json, pointer: &str) -> Value {
    Value::Time(millis(object, pointer).unwrap_or(0))
}

/// A time that may not have happened yet.
fn maybe_time(object: &Json, pointer: &str) -> Value {
    millis(object, pointer).map_or(Value::None, Value::Time)
}

fn string_map(object: &Json, pointer: &str) -> Value {
    Value::Map(
        at(object, pointer)
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str().unwrap_or_default())))
            .collect(),
    )
}

fn items<'a>(object: &'a Json, pointer: &str) -> &'a [Json] {
    at(object, pointer)
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A quantity as a size; absent is 0. A malformed one (the API never sends one) fails the step
/// naming the field rather than passing a wrong number on.
fn size(object: &Json, pointer: &str) -> Result<Value, ActionError> {
    match at(object, pointer).as_str() {
        None => Ok(Value::Size(0)),
        Some(quantity) => Value::parse_size(quantity)
            .map_err(|why| ActionError::new(format!("the API server sent {pointer}: {why}"))),
    }
}

/// A CPU quantity in cores: `"500m"` is 0.5, `"4"` is 4.0.
pub fn cpu_cores(quantity: &str) -> Option<f64> {
    let quantity = quantity.trim();
    let (number, scale) = match quantity.strip_suffix('m') {
        Some(milli) => (milli, 1e-3),
        None => match quantity.strip_suffix('k') {
            Some(kilo) => (kilo, 1e3),
            None => (quantity, 1.0),
        },
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n * scale)
}

fn cores(object: &Json, pointer: &str) -> Result<Value, ActionError> {
    match at(object, pointer).as_str() {
        None => Ok(Value::Float(0.0)),
        Some(quantity) => cpu_cores(quantity).map(Value::Float).ok_or_else(|| {
            ActionError::new(format!(
                "the API server sent {pointer}: `{quantity}` is not a CPU quantity"
            ))
        }),
    }
}

fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn name_and_namespace(object: &Json, namespace: &str) -> Vec<(&'static str, Value)> {
    let own_namespace = at(object, "/metadata/namespace")
        .as_str()
        .unwrap_or(namespace);
    vec![
        ("name", text(object, "/metadata/name")),
        ("namespace", Value::str(own_namespace)),
    ]
}

fn conditions(object: &Json) -> Value {
    Value::List(
        items(object, "/status/conditions")
            .iter()
            .map(|c| {
                record(vec![
                    ("type", text(c, "/type")),
                    ("status", text(c, "/status")),
                    ("reason", text(c, "/reason")),
                    ("message", text(c, "/message")),
                ])
            })
            .collect(),
    )
}

/// Whether the condition of `kind` is `True`.
fn condition_holds(object: &Json, kind: &str) -> bool {
    items(object, "/status/conditions")
        .iter()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// The owner that controls the object (`controller: true`), else the first one.
fn controller(object: &Json) -> Option<&Json> {
    let owners = items(object, "/metadata/ownerReferences");
    owners
        .iter()
        .find(|o| o["controller"] == true)
        .or_else(|| owners.first())
}

fn revision(object: &Json) -> Value {
    let annotation = at(
        object,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    );
    Value::Int(
        annotation
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0),
    )
}

fn container_status(status: &Json) -> Value {
    let (state, reason) = ["running", "waiting", "terminated"]
        .into_iter()
        .find_map(|s| {
            status
                .pointer(&format!("/state/{s}"))
                .filter(|v| v.is_object())
                .map(|v| (s, v["reason"].as_str().unwrap_or_default()))
        })
        .unwrap_or(("unknown", ""));
    let last = at(status, "/lastState/terminated");
    record(vec![
        ("name", text(status, "/name")),
        ("ready", boolean(status, "/ready")),
        ("restarts", int(status, "/restartCount")),
        ("state", Value::str(state)),
        ("reason", Value::str(reason)),
        ("last_reason", text(last, "/reason")),
        (
            "last_exit_code",
            last["exitCode"].as_i64().map_or(Value::None, Value::Int),
        ),
    ])
}

pub fn pod(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let statuses = items(object, "/status/containerStatuses");
    let restarts: i64 = statuses
        .iter()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    let owner = controller(object);
    let phase = at(object, "/status/phase").as_str().unwrap_or("Unknown");
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("phase", Value::str(phase)),
        ("restarts", Value::Int(restarts)),
        ("created", time(object, "/metadata/creationTimestamp")),
        ("node", text(object, "/spec/nodeName")),
        ("labels", string_map(object, "/metadata/labels")),
        ("ready", Value::Bool(condition_holds(object, "Ready"))),
        ("reason", text(object, "/status/reason")),
        (
            "owner_kind",
            owner.map_or(Value::str(""), |o| text(o, "/kind")),
        ),
        ("owner", owner.map_or(Value::str(""), |o| text(o, "/name"))),
        (
            "owners",
            Value::List(
                items(object, "/metadata/ownerReferences")
                    .iter()
                    .map(|o| record(vec![("kind", text(o, "/kind")), ("name", text(o, "/name"))]))
                    .collect(),
            ),
        ),
        (
            "containers",
            Value::List(statuses.iter().map(container_status).collect()),
        ),
    ]);
    Ok(record(fields))
}

/// Deployments, StatefulSets and DaemonSets share the replica fields.
fn replica_fields(object: &Json) -> Vec<(&'static str, Value)> {
    vec![
        ("ready_replicas", int(object, "/status/readyReplicas")),
        (
            "available_replicas",
            int(object, "/status/availableReplicas"),
        ),
        ("updated_replicas", int(object, "/status/updatedReplicas")),
        ("selector", string_map(object, "/spec/selector/matchLabels")),
        ("conditions", conditions(object)),
    ]
}

/// The API defaults an unset `spec.replicas` to 1.
fn desired_replicas(object: &Json) -> Value {
    Value::Int(at(object, "/spec/replicas").as_i64().unwrap_or(1))
}

pub fn deployment(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.push(("replicas", desired_replicas(object)));
    fields.extend(replica_fields(object));
    fields.push(("revision", revision(object)));
    fields.push(("paused", boolean(object, "/spec/paused")));
    Ok(record(fields))
}

pub fn statefulset(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.push(("replicas", desired_replicas(object)));
    fields.extend(replica_fields(object));
    Ok(record(fields))
}

pub fn daemonset(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("replicas", int(object, "/status/desiredNumberScheduled")),
        ("ready_replicas", int(object, "/status/numberReady")),
        ("available_replicas", int(object, "/status/numberAvailable")),
        (
            "updated_replicas",
            int(object, "/status/updatedNumberScheduled"),
        ),
        ("misscheduled", int(object, "/status/numberMisscheduled")),
        ("selector", string_map(object, "/spec/selector/matchLabels")),
        ("conditions", conditions(object)),
    ]);
    Ok(record(fields))
}

pub fn replicaset(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let owner = controller(object)
        .filter(|o| o["kind"] == "Deployment")
        .map_or(Value::str(""), |o| text(o, "/name"));
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("replicas", desired_replicas(object)),
        ("ready_replicas", int(object, "/status/readyReplicas")),
        (
            "available_replicas",
            int(object, "/status/availableReplicas"),
        ),
        ("revision", revision(object)),
        ("owner", owner),
        ("created", time(object, "/metadata/creationTimestamp")),
        ("selector", string_map(object, "/spec/selector/matchLabels")),
    ]);
    Ok(record(fields))
}

pub fn job(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let owner = controller(object)
        .filter(|o| o["kind"] == "CronJob")
        .map_or(Value::str(""), |o| text(o, "/name"));
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("active", int(object, "/status/active")),
        ("succeeded", int(object, "/status/succeeded")),
        ("failed", int(object, "/status/failed")),
        ("conditions", conditions(object)),
        ("started", maybe_time(object, "/status/startTime")),
        ("completed", maybe_time(object, "/status/completionTime")),
        ("owner", owner),
        ("labels", string_map(object, "/metadata/labels")),
    ]);
    Ok(record(fields))
}

pub fn cronjob(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("schedule", text(object, "/spec/schedule")),
        ("suspend", boolean(object, "/spec/suspend")),
        (
            "active",
            Value::Int(items(object, "/status/active").len() as i64),
        ),
        (
            "last_schedule",
            maybe_time(object, "/status/lastScheduleTime"),
        ),
        (
            "last_success",
            maybe_time(object, "/status/lastSuccessfulTime"),
        ),
    ]);
    Ok(record(fields))
}

fn resources(object: &Json, pointer: &str) -> Result<Value, ActionError> {
    Ok(record(vec![
        ("cpu", cores(object, &format!("{pointer}/cpu"))?),
        ("memory", size(object, &format!("{pointer}/memory"))?),
        (
            "ephemeral_storage",
            size(object, &format!("{pointer}/ephemeral-storage"))?,
        ),
        (
            "pods",
            Value::Int(
                at(object, &format!("{pointer}/pods"))
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
            ),
        ),
    ]))
}

pub fn node(object: &Json, _namespace: &str) -> Result<Value, ActionError> {
    Ok(record(vec![
        ("name", text(object, "/metadata/name")),
        ("ready", Value::Bool(condition_holds(object, "Ready"))),
        (
            "disk_pressure",
            Value::Bool(condition_holds(object, "DiskPressure")),
        ),
        (
            "memory_pressure",
            Value::Bool(condition_holds(object, "MemoryPressure")),
        ),
        ("unschedulable", boolean(object, "/spec/unschedulable")),
        ("conditions", conditions(object)),
        ("capacity", resources(object, "/status/capacity")?),
        ("allocatable", resources(object, "/status/allocatable")?),
        ("labels", string_map(object, "/metadata/labels")),
    ]))
}

pub fn pvc(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("phase", text(object, "/status/phase")),
        ("capacity", size(object, "/status/capacity/storage")?),
        ("request", size(object, "/spec/resources/requests/storage")?),
        ("storage_class", text(object, "/spec/storageClassName")),
        ("volume", text(object, "/spec/volumeName")),
        (
            "access_modes",
            Value::List(
                items(object, "/spec/accessModes")
                    .iter()
                    .map(|m| Value::str(m.as_str().unwrap_or_default()))
                    .collect(),
            ),
        ),
    ]);
    Ok(record(fields))
}

pub fn storage_class(object: &Json, _namespace: &str) -> Result<Value, ActionError> {
    let default = at(
        object,
        "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
    ) == "true";
    Ok(record(vec![
        ("name", text(object, "/metadata/name")),
        ("provisioner", text(object, "/provisioner")),
        ("allow_expansion", boolean(object, "/allowVolumeExpansion")),
        (
            "reclaim_policy",
            Value::str(at(object, "/reclaimPolicy").as_str().unwrap_or("Delete")),
        ),
        ("is_default", Value::Bool(default)),
    ]))
}

pub fn hpa(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.extend([
        ("target_kind", text(object, "/spec/scaleTargetRef/kind")),
        ("target", text(object, "/spec/scaleTargetRef/name")),
        // The API defaults `minReplicas` to 1.
        (
            "min_replicas",
            Value::Int(at(object, "/spec/minReplicas").as_i64().unwrap_or(1)),
        ),
        ("max_replicas", int(object, "/spec/maxReplicas")),
        ("current_replicas", int(object, "/status/currentReplicas")),
        ("desired_replicas", int(object, "/status/desiredReplicas")),
        ("conditions", conditions(object)),
    ]);
    Ok(record(fields))
}

pub fn configmap(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    let mut fields = name_and_namespace(object, namespace);
    fields.push(("data", string_map(object, "/data")));
    Ok(record(fields))
}

pub fn event(object: &Json, namespace: &str) -> Result<Value, ActionError> {
    // Events written through events.k8s.io/v1 leave the core fields empty and fill `series`,
    // `eventTime` and `deprecated*`; read whichever is there.
    let last = ["/lastTimestamp", "/series/lastObservedTime", "/eventTime"]
        .iter()
        .find_map(|p| millis(object, p));
    let first = ["/firstTimestamp", "/eventTime"]
        .iter()
        .find_map(|p| millis(object, p))
        .or(last);
    let count = at(object, "/count")
        .as_i64()
        .or_else(|| at(object, "/series/count").as_i64())
        .unwrap_or(1);
    Ok(record(vec![
        (
            "namespace",
            Value::str(
                at(object, "/metadata/namespace")
                    .as_str()
                    .unwrap_or(namespace),
            ),
        ),
        ("type", text(object, "/type")),
        ("reason", text(object, "/reason")),
        ("message", text(object, "/message")),
        ("count", Value::Int(count)),
        ("first_seen", first.map_or(Value::None, Value::Time)),
        ("last_seen", last.map_or(Value::None, Value::Time)),
        ("object_kind", text(object, "/involvedObject/kind")),
        ("object", text(object, "/involvedObject/name")),
    ]))
}

/// When an event last happened, for ordering (events without a time first).
pub fn event_last_seen(event: &Value) -> i64 {
    match event {
        Value::Record(fields) => match fields.get("last_seen") {
            Some(Value::Time(ms)) => *ms,
            _ => i64::MIN,
        },
        _ => i64::MIN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_in_cores_not_a_size() {
        assert_eq!(cpu_cores("500m"), Some(0.5));
        assert_eq!(cpu_cores("4"), Some(4.0));
        assert_eq!(cpu_cores("1.5"), Some(1.5));
        assert_eq!(cpu_cores("2k"), Some(2000.0));
        assert_eq!(cpu_cores("-1"), None);
        assert_eq!(cpu_cores("lots"), None);
    }

    #[test]
    fn a_malformed_quantity_fails_naming_the_field() {
        let object = serde_json::json!({"status": {"capacity": {"storage": "10GB"}}});
        let error = size(&object, "/status/capacity/storage").unwrap_err();
        assert_eq!(
            error.message,
            "the API server sent /status/capacity/storage: `10GB` is not a size: `GB` is not a unit: use Ki Mi Gi Ti Pi Ei (powers of 1024), k M G T P E (powers of 1000) or none (bytes)"
        );
    }

    #[test]
    fn a_crash_looping_container_reads_its_last_termination() {
        let status = serde_json::json!({
            "name": "app", "ready": false, "restartCount": 7,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
        });
        assert_eq!(
            container_status(&status),
            record(vec![
                ("name", Value::str("app")),
                ("ready", Value::Bool(false)),
                ("restarts", Value::Int(7)),
                ("state", Value::str("waiting")),
                ("reason", Value::str("CrashLoopBackOff")),
                ("last_reason", Value::str("OOMKilled")),
                ("last_exit_code", Value::Int(137)),
            ])
        );
    }
}
