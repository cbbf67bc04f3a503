//! `std.k8s` against a fake Kubernetes API server: a hyper server on 127.0.0.1 that answers
//! with real Kubernetes JSON (PodList, Pod, Deployment, Scale, Status) and records every
//! request. The natives are configured exactly as `rbk run` configures them, from
//! `[integrations.kubernetes]` naming a temporary kubeconfig whose (non-current) context points
//! at the fake server, so the real kubeconfig path is exercised too. Every test asserts the
//! method, path and query, content type and body of every request sent.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rbk_compiler::config::{Integrations, KubernetesConfig};
use rbk_compiler::project::StdOnly;
use rbk_compiler::syntax::Effect;
use rbk_compiler::types::Ty;
use rbk_compiler::{check, CheckOptions};
use rbk_interpreter::{
    run, ActionCall, ActionError, ApprovalDecision, ApprovalRequest, Approver, BoxFuture,
    Environment, MemoryJournal, RunRequest, RunStatus, Services, StepState, Value,
};
use rbk_stdlib::natives::{all, NativeAction, NativeActions};
use serde_json::{json, Value as Json};

#[path = "k8s/exec.rs"]
mod exec;
#[path = "k8s/workloads.rs"]
mod workloads;

// ---------------------------------------------------------------------------------------------
// The fake API server
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Recorded {
    method: String,
    /// Path and query, as sent.
    uri: String,
    content_type: Option<String>,
    body: String,
}

fn req(method: &str, uri: &str, content_type: Option<&str>, body: &str) -> Recorded {
    Recorded {
        method: method.into(),
        uri: uri.into(),
        content_type: content_type.map(str::to_string),
        body: body.into(),
    }
}

const OLD_CREATED: &str = "2024-05-01T08:00:00Z";
const YOUNG_CREATED: &str = "2024-05-02T10:30:00Z";

fn container_status(name: &str, restarts: i64) -> Json {
    json!({
        "name": name,
        "ready": true,
        "restartCount": restarts,
        "image": format!("registry.example.com/{name}:1.4.2"),
        "imageID": format!("registry.example.com/{name}@sha256:0f1e2d"),
        "containerID": "containerd://4b1f",
        "started": true,
        "state": {"running": {"startedAt": "2024-05-02T10:30:05Z"}}
    })
}

fn pod_json(name: &str, created: &str, node: &str, containers: &[(&str, i64)]) -> Json {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "generateName": "orders-api-7d9f8-",
            "namespace": "prod",
            "uid": format!("uid-{name}"),
            "resourceVersion": "48213",
            "creationTimestamp": created,
            "labels": {"app": "orders-api", "pod-template-hash": "7d9f8"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "orders-api-7d9f8",
                "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "nodeName": node,
            "containers": containers.iter().map(|(c, _)| json!({
                "name": c, "image": format!("registry.example.com/{c}:1.4.2")
            })).collect::<Vec<_>>(),
            "restartPolicy": "Always"
        },
        "status": {
            "phase": "Running",
            "podIP": "10.0.3.17",
            "startTime": created,
            "containerStatuses": containers.iter()
                .map(|(c, restarts)| container_status(c, *restarts))
                .collect::<Vec<_>>()
        }
    })
}

fn deployment_json(name: &str, paused: bool) -> Json {
    json!({
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": name, "namespace": "prod", "uid": "dep-uid", "resourceVersion": "9120",
            "generation": 4, "creationTimestamp": "2024-04-01T00:00:00Z",
            "labels": {"app": name},
            "annotations": {"deployment.kubernetes.io/revision": "3"}
        },
        "spec": {
            "replicas": 3,
            "paused": paused,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.4.2"}]}
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
        },
        "status": {
            "observedGeneration": 4, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastUpdateTime": "2024-05-02T10:30:00Z", "lastTransitionTime": "2024-05-02T10:30:00Z"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": "ReplicaSet \"orders-api-7d9f8\" has successfully progressed.",
                 "lastUpdateTime": "2024-05-02T10:30:00Z", "lastTransitionTime": "2024-04-01T00:00:00Z"}
            ]
        }
    })
}

fn status_json(code: u16, reason: &str, message: &str) -> Json {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code
    })
}

/// The fake cluster: namespace `prod` with two `orders-api` pods (the older one listed
/// second), a two-container pod, and deployments `orders-api` (running), `frozen` (paused)
/// and `locked` (every write conflicts). Anything else is a 404.
fn route(method: &str, uri: &str) -> (u16, &'static str, String) {
    let path = uri.split('?').next().unwrap_or(uri);
    // kube writes `?&name=value`; the API server ignores the empty pair.
    let query = uri
        .split_once('?')
        .map(|(_, q)| q.trim_start_matches('&'))
        .unwrap_or("");
    let json_ok = |body: Json| (200, "application/json", body.to_string());
    let status = |code: u16, reason: &str, message: &str| {
        (
            code,
            "application/json",
            status_json(code, reason, message).to_string(),
        )
    };
    const PODS: &str = "/api/v1/namespaces/prod/pods";
    const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/prod/deployments";
    if let Some((code, body)) = workloads::route(method, path, query) {
        return (code, "application/json", body.to_string());
    }
    match (method, path) {
        ("GET", PODS) => json_ok(json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "48300"},
            "items": [
                pod_json("orders-api-7d9f8-young", YOUNG_CREATED, "node-1", &[("app", 2), ("proxy", 1)]),
                pod_json("orders-api-7d9f8-old", OLD_CREATED, "node-2", &[("app", 0)]),
            ]
        })),
        ("GET", "/api/v1/namespaces/empty/pods") => json_ok(json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []
        })),
        ("DELETE", p) if p == format!("{PODS}/orders-api-7d9f8-old") => {
            let mut pod = pod_json("orders-api-7d9f8-old", OLD_CREATED, "node-2", &[("app", 0)]);
            pod["metadata"]["deletionTimestamp"] = json!("2024-05-03T09:00:30Z");
            pod["metadata"]["deletionGracePeriodSeconds"] = json!(30);
            json_ok(pod)
        }
        ("DELETE", p) if p == format!("{PODS}/protected") => status(
            403,
            "Forbidden",
            "pods \"protected\" is forbidden: User \"system:serviceaccount:ops:rbk\" cannot delete resource \"pods\" in API group \"\" in the namespace \"prod\"",
        ),
        ("GET", p) if p == format!("{PODS}/orders-api-7d9f8-old/log") => {
            (200, "text/plain", "GET /health 200\nGET /orders 200\n".into())
        }
        ("GET", p) if p == format!("{PODS}/two-containers/log") => match query {
            "" | "tailLines=2" => status(
                400,
                "BadRequest",
                "a container name must be specified for pod two-containers, choose one of: [app proxy]",
            ),
            "container=app&tailLines=2&timestamps=true" => (
                200,
                "text/plain",
                "2024-05-03T09:00:01.5Z app one\n2024-05-03T09:00:03Z app two\n".into(),
            ),
            "container=proxy&tailLines=2&timestamps=true" => (
                200,
                "text/plain",
                "2024-05-03T09:00:01.25Z proxy one\n2024-05-03T09:00:02.123456789Z proxy two\n"
                    .into(),
            ),
            _ => status(400, "BadRequest", "unexpected query"),
        },
        ("GET", p) if p == format!("{PODS}/two-containers") => json_ok(pod_json(
            "two-containers",
            OLD_CREATED,
            "node-1",
            &[("app", 0), ("proxy", 0)],
        )),
        ("GET", p) if p == format!("{DEPLOYMENTS}/orders-api") => {
            json_ok(deployment_json("orders-api", false))
        }
        ("GET", p) if p == format!("{DEPLOYMENTS}/frozen") => json_ok(deployment_json("frozen", true)),
        ("GET", p) if p == format!("{DEPLOYMENTS}/locked") => json_ok(deployment_json("locked", false)),
        ("PATCH", p) if p == format!("{DEPLOYMENTS}/orders-api") => {
            json_ok(deployment_json("orders-api", false))
        }
        ("PATCH", p) if p.starts_with(&format!("{DEPLOYMENTS}/locked")) => status(
            409,
            "Conflict",
            "Operation cannot be fulfilled on deployments.apps \"locked\": the object has been modified; please apply your changes to the latest version and try again",
        ),
        ("PATCH", p) if p == format!("{DEPLOYMENTS}/orders-api/scale") => json_ok(json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {"name": "orders-api", "namespace": "prod", "uid": "dep-uid", "resourceVersion": "9121", "creationTimestamp": "2024-04-01T00:00:00Z"},
            "spec": {"replicas": 5},
            "status": {"replicas": 3, "selector": "app=orders-api"}
        })),
        _ => {
            let name = path.rsplit('/').next().unwrap_or("");
            let resource = path.rsplit('/').nth(1).unwrap_or("");
            status(
                404,
                "NotFound",
                &format!("{resource} \"{name}\" not found"),
            )
        }
    }
}

struct Fake {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    dir: PathBuf,
}

impl Fake {
    async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let recorder = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let recorder = recorder.clone();
                        async move {
                            let method = request.method().to_string();
                            let uri = request
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            let content_type = request
                                .headers()
                                .get(hyper::header::CONTENT_TYPE)
                                .map(|v| v.to_str().unwrap().to_string());
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            let body = String::from_utf8(body.to_vec()).unwrap();
                            let (code, content_type_out, text) = route(&method, &uri);
                            recorder.lock().unwrap().push(Recorded {
                                method,
                                uri,
                                content_type,
                                body,
                            });
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(code)
                                    .header(hyper::header::CONTENT_TYPE, content_type_out)
                                    .body(Full::new(Bytes::from(text)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let dir = std::env::temp_dir().join(format!("rbk-k8s-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Fake {
            port,
            requests,
            dir,
        }
    }

    /// A kubeconfig whose current context is an unreachable cluster; context `fake` (the one
    /// rbk.toml names) is this server, without TLS or credentials.
    fn kubeconfig(&self) -> PathBuf {
        let path = self.dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                r#"apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://127.0.0.1:{port}
- name: elsewhere
  cluster:
    server: http://127.0.0.1:1
contexts:
- name: fake
  context:
    cluster: fake
    user: tester
    namespace: prod
- name: elsewhere
  context:
    cluster: elsewhere
    user: tester
current-context: elsewhere
users:
- name: tester
  user: {{}}
"#,
                port = self.port
            ),
        )
        .unwrap();
        path
    }

    fn integrations(&self) -> Integrations {
        Integrations {
            kubernetes: Some(KubernetesConfig {
                kubeconfig: Some(self.kubeconfig().display().to_string()),
                context: Some("fake".into()),
            }),
            ..Default::default()
        }
    }

    fn natives(&self) -> Vec<Box<dyn NativeAction>> {
        all(&self.integrations())
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Calling the natives
// ---------------------------------------------------------------------------------------------

fn action<'n>(natives: &'n [Box<dyn NativeAction>], name: &str) -> &'n dyn NativeAction {
    natives
        .iter()
        .find(|a| a.name() == name)
        .unwrap_or_else(|| panic!("no native {name}"))
        .as_ref()
}

async fn call(
    natives: &[Box<dyn NativeAction>],
    name: &str,
    args: Vec<(&str, Value)>,
) -> Result<Value, ActionError> {
    let native = action(natives, name);
    let call = ActionCall {
        action: name.into(),
        effect: native.effect(),
        returns_handle: None,
        returns: Ty::None,
        args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        run_id: String::new(),
    };
    native.call(&call).await
}

fn pod_record(name: &str) -> Value {
    let mut fields = BTreeMap::new();
    fields.insert("name".into(), Value::str(name));
    fields.insert("namespace".into(), Value::str("prod"));
    fields.insert("phase".into(), Value::str("Running"));
    fields.insert("restarts".into(), Value::Int(0));
    fields.insert("created".into(), Value::Time(0));
    fields.insert("node".into(), Value::str("node-1"));
    fields.insert("labels".into(), Value::Map(BTreeMap::new()));
    Value::Record(fields)
}

fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn millis(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn error_of(result: Result<Value, ActionError>) -> String {
    let error = result.expect_err("the call should fail");
    assert!(
        !error.fatal,
        "an API error is a step failure, not a fatal one"
    );
    error.message
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pods_lists_by_label_selector_as_pod_records() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let pods = call(
        &natives,
        "k8s.pods",
        vec![
            ("namespace", Value::str("prod")),
            ("selector", Value::str("app=orders-api")),
        ],
    )
    .await
    .unwrap();

    let labels: BTreeMap<String, Value> = [
        ("app".to_string(), Value::str("orders-api")),
        ("pod-template-hash".to_string(), Value::str("7d9f8")),
    ]
    .into_iter()
    .collect();
    let container = |name: &str, restarts: i64| {
        record(vec![
            ("name", Value::str(name)),
            ("ready", Value::Bool(true)),
            ("restarts", Value::Int(restarts)),
            ("state", Value::str("running")),
            ("reason", Value::str("")),
            ("last_reason", Value::str("")),
            ("last_exit_code", Value::None),
        ])
    };
    let pod = |name: &str, restarts: i64, created: &str, node: &str, containers: Vec<Value>| {
        record(vec![
            ("name", Value::str(name)),
            ("namespace", Value::str("prod")),
            ("phase", Value::str("Running")),
            ("restarts", Value::Int(restarts)),
            ("created", Value::Time(millis(created))),
            ("node", Value::str(node)),
            ("labels", Value::Map(labels.clone())),
            // The fake's pods carry no Ready condition.
            ("ready", Value::Bool(false)),
            ("reason", Value::str("")),
            ("owner_kind", Value::str("ReplicaSet")),
            ("owner", Value::str("orders-api-7d9f8")),
            (
                "owners",
                Value::List(vec![record(vec![
                    ("kind", Value::str("ReplicaSet")),
                    ("name", Value::str("orders-api-7d9f8")),
                ])]),
            ),
            ("containers", Value::List(containers)),
        ])
    };
    assert_eq!(
        pods,
        Value::List(vec![
            // restarts: 2 (app) + 1 (proxy)
            pod(
                "orders-api-7d9f8-young",
                3,
                YOUNG_CREATED,
                "node-1",
                vec![container("app", 2), container("proxy", 1)]
            ),
            pod(
                "orders-api-7d9f8-old",
                0,
                OLD_CREATED,
                "node-2",
                vec![container("app", 0)]
            ),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/pods?&labelSelector=app%3Dorders-api",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn pods_with_a_compound_selector_and_no_match_is_an_empty_list() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let pods = call(
        &natives,
        "k8s.pods",
        vec![
            ("namespace", Value::str("empty")),
            ("selector", Value::str("app=orders-api,tier!=canary")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(pods, Value::List(vec![]));
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/empty/pods?&labelSelector=app%3Dorders-api%2Ctier%21%3Dcanary",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn the_client_is_made_once_and_shared_by_every_action() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let args = || {
        vec![
            ("namespace", Value::str("prod")),
            ("selector", Value::str("app=orders-api")),
        ]
    };
    call(&natives, "k8s.pods", args()).await.unwrap();
    // The kubeconfig is read on the first call only: removing it changes nothing afterwards.
    std::fs::remove_file(fake.dir.join("kubeconfig")).unwrap();
    call(&natives, "k8s.pods", args()).await.unwrap();
    call(
        &natives,
        "k8s.deployment",
        vec![
            ("name", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn deployment_reads_desired_and_ready_replicas() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let deployment = call(
        &natives,
        "k8s.deployment",
        vec![
            ("name", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await
    .unwrap();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        record(vec![
            ("type", Value::str(kind)),
            ("status", Value::str(status)),
            ("reason", Value::str(reason)),
            ("message", Value::str(message)),
        ])
    };
    assert_eq!(
        deployment,
        record(vec![
            ("name", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
            ("replicas", Value::Int(3)),
            ("ready_replicas", Value::Int(2)),
            ("available_replicas", Value::Int(2)),
            ("updated_replicas", Value::Int(3)),
            (
                "selector",
                Value::Map([("app".to_string(), Value::str("orders-api"))].into())
            ),
            (
                "conditions",
                Value::List(vec![
                    condition(
                        "Available",
                        "False",
                        "MinimumReplicasUnavailable",
                        "Deployment does not have minimum availability."
                    ),
                    condition(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        "ReplicaSet \"orders-api-7d9f8\" has successfully progressed."
                    ),
                ])
            ),
            ("revision", Value::Int(3)),
            ("paused", Value::Bool(false)),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/apis/apps/v1/namespaces/prod/deployments/orders-api",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn a_missing_deployment_is_a_clear_404_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.deployment",
            vec![
                ("name", Value::str("missing")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert_eq!(
        message,
        "deployment missing not found in namespace prod (404)"
    );
}

#[tokio::test]
async fn delete_pod_deletes_by_name_in_its_namespace() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let result = call(
        &natives,
        "k8s.delete_pod",
        vec![("pod", pod_record("orders-api-7d9f8-old"))],
    )
    .await
    .unwrap();
    assert_eq!(result, Value::None);
    assert_eq!(
        fake.requests(),
        vec![req(
            "DELETE",
            "/api/v1/namespaces/prod/pods/orders-api-7d9f8-old?",
            Some("application/json"),
            "{}"
        )]
    );
}

#[tokio::test]
async fn delete_pod_of_a_missing_pod_is_a_404_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.delete_pod",
            vec![("pod", pod_record("orders-api-1"))],
        )
        .await,
    );
    assert_eq!(
        message,
        "pod orders-api-1 not found in namespace prod (404)"
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.requests()[0].method, "DELETE");
}

#[tokio::test]
async fn delete_pod_without_permission_is_a_403_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.delete_pod",
            vec![("pod", pod_record("protected"))],
        )
        .await,
    );
    assert_eq!(
        message,
        "forbidden: not allowed to delete pod protected in namespace prod: pods \"protected\" is forbidden: User \"system:serviceaccount:ops:rbk\" cannot delete resource \"pods\" in API group \"\" in the namespace \"prod\" (403)"
    );
}

#[tokio::test]
async fn rollout_restart_patches_the_template_annotation_like_kubectl() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let before = jiff::Timestamp::now().as_second();
    let result = call(
        &natives,
        "k8s.rollout_restart",
        vec![
            ("deployment", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await
    .unwrap();
    let after = jiff::Timestamp::now().as_second();
    assert_eq!(result, Value::None);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        requests[0],
        req(
            "GET",
            "/apis/apps/v1/namespaces/prod/deployments/orders-api",
            None,
            ""
        )
    );
    let patch = &requests[1];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.uri,
        "/apis/apps/v1/namespaces/prod/deployments/orders-api?&fieldManager=rbk"
    );
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    let body: Json = serde_json::from_str(&patch.body).unwrap();
    let stamp = body["spec"]["template"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/restartedAt"]
        .as_str()
        .expect("restartedAt is a string")
        .to_string();
    // RFC 3339 to the second, in UTC, taken during the call.
    assert_eq!(stamp.len(), "2024-05-01T10:00:00Z".len(), "{stamp}");
    assert!(stamp.ends_with('Z'), "{stamp}");
    let at = stamp.parse::<jiff::Timestamp>().unwrap().as_second();
    assert!((before..=after).contains(&at), "{stamp}");
    assert_eq!(
        body,
        json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": stamp
        }}}}})
    );
}

#[tokio::test]
async fn rollout_restart_refuses_a_paused_deployment_without_patching() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.rollout_restart",
            vec![
                ("deployment", Value::str("frozen")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert!(
        message.starts_with("deployment frozen in namespace prod is paused"),
        "{message}"
    );
    assert!(
        message.contains("kubectl rollout resume deployment/frozen -n prod"),
        "{message}"
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/apis/apps/v1/namespaces/prod/deployments/frozen",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn rollout_restart_of_a_missing_deployment_is_a_404_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.rollout_restart",
            vec![
                ("deployment", Value::str("orders-apii")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert_eq!(
        message,
        "deployment orders-apii not found in namespace prod (404)"
    );
    assert_eq!(fake.requests().len(), 1, "nothing is patched");
}

#[tokio::test]
async fn rollout_restart_conflict_is_a_409_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.rollout_restart",
            vec![
                ("deployment", Value::str("locked")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert_eq!(
        message,
        "conflict: could not restart deployment locked in namespace prod: Operation cannot be fulfilled on deployments.apps \"locked\": the object has been modified; please apply your changes to the latest version and try again (409)"
    );
    let methods: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "PATCH"]);
}

#[tokio::test]
async fn scale_merge_patches_the_scale_subresource() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let result = call(
        &natives,
        "k8s.scale",
        vec![
            ("deployment", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
            ("replicas", Value::Int(5)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(result, Value::None);
    assert_eq!(
        fake.requests(),
        vec![req(
            "PATCH",
            "/apis/apps/v1/namespaces/prod/deployments/orders-api/scale?&fieldManager=rbk",
            Some("application/merge-patch+json"),
            r#"{"spec":{"replicas":5}}"#
        )]
    );
}

#[tokio::test]
async fn scale_refuses_a_negative_size_and_reports_conflicts() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.scale",
            vec![
                ("deployment", Value::str("orders-api")),
                ("namespace", Value::str("prod")),
                ("replicas", Value::Int(-1)),
            ],
        )
        .await,
    );
    assert!(
        message.contains("`replicas` must be between 0"),
        "{message}"
    );
    assert!(fake.requests().is_empty());

    let message = error_of(
        call(
            &natives,
            "k8s.scale",
            vec![
                ("deployment", Value::str("locked")),
                ("namespace", Value::str("prod")),
                ("replicas", Value::Int(2)),
            ],
        )
        .await,
    );
    assert!(
        message.starts_with("conflict: could not scale deployment locked in namespace prod: "),
        "{message}"
    );
    assert!(message.ends_with("(409)"), "{message}");
}

#[tokio::test]
async fn logs_reads_the_tail_of_the_pod_log() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let text = call(
        &natives,
        "k8s.logs",
        vec![
            ("pod", pod_record("orders-api-7d9f8-old")),
            ("tail", Value::Int(50)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(text, Value::str("GET /health 200\nGET /orders 200\n"));
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/pods/orders-api-7d9f8-old/log?&tailLines=50",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn logs_of_a_multi_container_pod_interleave_every_container_by_time() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let text = call(
        &natives,
        "k8s.logs",
        vec![
            ("pod", pod_record("two-containers")),
            ("tail", Value::Int(2)),
        ],
    )
    .await
    .unwrap();
    // Lines at 1.25s (proxy), 1.5s (app), 2.12s (proxy), 3s (app): the last two.
    assert_eq!(text, Value::str("proxy two\napp two\n"));
    let uris: Vec<String> = fake.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            "/api/v1/namespaces/prod/pods/two-containers/log?&tailLines=2",
            "/api/v1/namespaces/prod/pods/two-containers",
            "/api/v1/namespaces/prod/pods/two-containers/log?&container=app&tailLines=2&timestamps=true",
            "/api/v1/namespaces/prod/pods/two-containers/log?&container=proxy&tailLines=2&timestamps=true",
        ]
    );
}

#[tokio::test]
async fn logs_of_a_missing_pod_is_a_404_failure() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.logs",
            vec![("pod", pod_record("gone")), ("tail", Value::Int(10))],
        )
        .await,
    );
    assert_eq!(message, "pod gone not found in namespace prod (404)");
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_step_failure_naming_the_request() {
    let fake = Fake::start().await;
    let mut integrations = fake.integrations();
    // The kubeconfig's current context points at a closed port.
    integrations.kubernetes.as_mut().unwrap().context = None;
    let natives = all(&integrations);
    let message = error_of(
        call(
            &natives,
            "k8s.pods",
            vec![
                ("namespace", Value::str("prod")),
                ("selector", Value::str("app=orders-api")),
            ],
        )
        .await,
    );
    assert!(
        message.starts_with("could not list pods in namespace prod: "),
        "{message}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_missing_kubeconfig_fails_on_first_use_not_before() {
    let integrations = Integrations {
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some("/nonexistent/rbk-kubeconfig".into()),
            context: None,
        }),
        ..Default::default()
    };
    // Building the natives (as `rbk check`/`rbk test` may) touches nothing.
    let natives = all(&integrations);
    let message = error_of(
        call(
            &natives,
            "k8s.deployment",
            vec![
                ("name", Value::str("orders-api")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert!(
        message.contains("cannot read the kubeconfig /nonexistent/rbk-kubeconfig"),
        "{message}"
    );
}

#[test]
fn natives_have_the_declared_effects() {
    let natives = all(&Integrations::default());
    for (name, effect) in [
        ("k8s.pods", Effect::Read),
        ("k8s.deployment", Effect::Read),
        ("k8s.logs", Effect::Read),
        ("k8s.exec", Effect::Destructive),
        ("k8s.delete_pod", Effect::Destructive),
        ("k8s.rollout_restart", Effect::Destructive),
        ("k8s.scale", Effect::Destructive),
    ] {
        assert_eq!(action(&natives, name).effect(), effect, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// A runbook through the checker and the engine
// ---------------------------------------------------------------------------------------------

struct Grant;

impl Approver for Grant {
    fn request<'a>(&'a self, _request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async {
            ApprovalDecision::Granted {
                by: vec!["alice".into()],
                channel: "test".into(),
                values: Default::default(),
            }
        })
    }
}

struct NoEnvironment;

impl Environment for NoEnvironment {
    fn env(&self, _name: &str) -> Option<String> {
        None
    }
    fn secret(&self, _name: &str) -> Option<String> {
        None
    }
}

const RUNBOOK: &str = r#"use std.k8s

/// Deletes the oldest orders-api pod.
runbook restart_oldest {
  title "Restart the oldest orders-api pod"
  owner "platform-oncall"

  step restart "Delete the oldest pod" {
    approval required from "platform-oncall" timeout 5m on timeout deny
    k8s.delete_pod(k8s.oldest(k8s.pods(namespace: "prod", selector: "app=orders-api")))
  }
}
"#;

#[tokio::test]
async fn a_runbook_deletes_the_oldest_pod_through_the_natives() {
    let fake = Fake::start().await;
    let analysis = check(
        vec![(PathBuf::from("restart_oldest.rbk"), RUNBOOK.to_string())],
        &StdOnly(rbk_stdlib::MODULES),
        &CheckOptions::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let actions = NativeActions::new(&fake.integrations());
    let journal = MemoryJournal::default();
    let services = Services {
        actions: &actions,
        approver: &Grant,
        journal: &journal,
        environment: &NoEnvironment,
    };
    let request = RunRequest {
        module: analysis.roots[0],
        runbook: "restart_oldest".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-k8s".into(),
        started_at: 1_764_072_000_000,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    let report = run(&analysis, services, request).await.unwrap();
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    assert_eq!(
        report.steps,
        vec![("restart".to_string(), StepState::Succeeded)]
    );
    let requests: Vec<(String, String)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.uri))
        .collect();
    // The older pod is listed second; `k8s.oldest` (a plain rbk fn) picks it by `created`.
    assert_eq!(
        requests,
        vec![
            (
                "GET".to_string(),
                "/api/v1/namespaces/prod/pods?&labelSelector=app%3Dorders-api".to_string()
            ),
            (
                "DELETE".to_string(),
                "/api/v1/namespaces/prod/pods/orders-api-7d9f8-old?".to_string()
            ),
        ]
    );
}
