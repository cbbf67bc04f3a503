//! The typed reads of every kind, events, patch, delete, cordon, drain and rollout undo against
//! the fake API server: what the fake answers (real Kubernetes JSON) and the tests that assert
//! each request sent and each record read.

use super::*;

const GI: i64 = 1 << 30;

fn condition_json(kind: &str, status: &str, reason: &str, message: &str) -> Json {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2024-05-02T10:00:00Z"})
}

fn node_json(name: &str, disk_pressure: bool) -> Json {
    json!({
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "777",
                     "creationTimestamp": "2024-01-01T00:00:00Z",
                     "labels": {"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": "m5.xlarge"}},
        "spec": {"podCIDR": "10.0.3.0/24", "providerID": "aws:///eu-west-1a/i-0abc"},
        "status": {
            "capacity": {"cpu": "4", "ephemeral-storage": "104845292Ki", "hugepages-2Mi": "0",
                         "memory": "16069952Ki", "pods": "110"},
            "allocatable": {"cpu": "3920m", "ephemeral-storage": "95551679124", "hugepages-2Mi": "0",
                            "memory": "15000Mi", "pods": "110"},
            "conditions": [
                condition_json("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition_json("DiskPressure", if disk_pressure { "True" } else { "False" },
                               if disk_pressure { "KubeletHasDiskPressure" } else { "KubeletHasNoDiskPressure" },
                               if disk_pressure { "kubelet has disk pressure" } else { "kubelet has no disk pressure" }),
                condition_json("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "nodeInfo": {"kubeletVersion": "v1.30.2", "osImage": "Bottlerocket OS 1.20.3"}
        }
    })
}

fn pvc_json() -> Json {
    json!({
        "kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": "data-orders-db-0", "namespace": "prod", "uid": "pvc-uid",
                     "resourceVersion": "501", "creationTimestamp": "2024-02-01T00:00:00Z",
                     "labels": {"app": "orders-db"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
                 "storageClassName": "gp3", "volumeMode": "Filesystem",
                 "volumeName": "pvc-3f1c9a"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
                   "conditions": [{"type": "Resizing", "status": "True"}]}
    })
}

fn job_json() -> Json {
    json!({
        "kind": "Job", "apiVersion": "batch/v1",
        "metadata": {"name": "backup-28741", "namespace": "prod", "uid": "job-uid",
                     "creationTimestamp": "2024-05-02T02:00:00Z",
                     "labels": {"job-name": "backup-28741"},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup",
                                          "uid": "cj-uid", "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"backoffLimit": 6, "template": {"spec": {"containers": [{"name": "backup", "image": "backup:2"}],
                                                          "restartPolicy": "Never"}}},
        "status": {"failed": 7, "startTime": "2024-05-02T02:00:01Z",
                   "conditions": [condition_json("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]}
    })
}

fn event_json(reason: &str, last: &str, count: i64) -> Json {
    json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": format!("orders-api-7d9f8-old.{reason}"), "namespace": "prod",
                     "creationTimestamp": "2024-05-02T10:31:00Z"},
        "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "orders-api-7d9f8-old",
                           "uid": "uid-orders-api-7d9f8-old", "apiVersion": "v1"},
        "reason": reason, "message": format!("{reason} happened"),
        "source": {"component": "kubelet", "host": "node-2"},
        "firstTimestamp": "2024-05-02T10:31:00Z", "lastTimestamp": last, "count": count,
        "type": "Warning", "reportingComponent": "kubelet"
    })
}

fn replicaset_json(name: &str, revision: i64, owner_uid: &str, image: &str) -> Json {
    json!({
        "kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("uid-{name}"),
                     "creationTimestamp": "2024-04-01T00:00:00Z",
                     "labels": {"app": "orders-api", "pod-template-hash": name.rsplit('-').next().unwrap()},
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-api",
                                          "uid": owner_uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "orders-api"}},
                 "template": {"metadata": {"labels": {"app": "orders-api", "pod-template-hash": name.rsplit('-').next().unwrap()}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"replicas": 0, "observedGeneration": 2}
    })
}

fn drain_pod(name: &str, namespace: &str, owner_kind: Option<&str>, mirror: bool) -> Json {
    let mut pod = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"),
                     "creationTimestamp": OLD_CREATED},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running"}
    });
    if let Some(kind) = owner_kind {
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind,
            "name": format!("{name}-owner"), "uid": "o", "controller": true}]);
    }
    if mirror {
        pod["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
    }
    pod
}

fn list_of(kind: &str, items: Vec<Json>) -> Json {
    json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// The fake cluster's other objects. Node `node-1` runs a ReplicaSet pod, a DaemonSet pod and a
/// mirror pod; `node-guarded` runs a pod whose PodDisruptionBudget refuses every eviction;
/// `node-bare` runs a pod without a controller.
pub fn route(method: &str, path: &str, query: &str) -> Option<(u16, Json)> {
    let ok = |body: Json| Some((200, body));
    let status =
        |code: u16, reason: &str, message: &str| Some((code, status_json(code, reason, message)));
    match (method, path) {
        ("GET", "/api/v1/nodes/node-1") => ok(node_json("node-1", true)),
        ("GET", "/api/v1/nodes") => ok(list_of(
            "Node",
            vec![node_json("node-1", true), node_json("node-2", false)],
        )),
        ("PATCH", p) if p.starts_with("/api/v1/nodes/node-") => {
            let name = p.rsplit('/').next().unwrap();
            if name == "node-gone" {
                status(404, "NotFound", "nodes \"node-gone\" not found")
            } else {
                ok(node_json(name, false))
            }
        }
        ("GET", "/api/v1/pods") => {
            let items = match query {
                "fieldSelector=spec.nodeName%3Dnode-1" => vec![
                    drain_pod("web-1", "prod", Some("ReplicaSet"), false),
                    drain_pod("fluentbit-x", "kube-system", Some("DaemonSet"), false),
                    drain_pod("kube-proxy-node-1", "kube-system", None, true),
                    drain_pod("worker-1", "batch", Some("ReplicaSet"), false),
                ],
                "fieldSelector=spec.nodeName%3Dnode-guarded" => {
                    vec![drain_pod("guarded-1", "prod", Some("StatefulSet"), false)]
                }
                "fieldSelector=spec.nodeName%3Dnode-bare" => vec![
                    drain_pod("web-1", "prod", Some("ReplicaSet"), false),
                    drain_pod("debug", "prod", None, false),
                ],
                _ => return status(400, "BadRequest", "unexpected query"),
            };
            ok(list_of("Pod", items))
        }
        ("POST", "/api/v1/namespaces/prod/pods/guarded-1/eviction") => status(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
        ),
        ("POST", p) if p.ends_with("/eviction") => ok(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201
        })),
        ("GET", "/api/v1/namespaces/prod/persistentvolumeclaims/data-orders-db-0") => {
            ok(pvc_json())
        }
        ("GET", "/api/v1/namespaces/prod/persistentvolumeclaims") => {
            ok(list_of("PersistentVolumeClaim", vec![pvc_json()]))
        }
        ("GET", "/apis/storage.k8s.io/v1/storageclasses") => ok(list_of(
            "StorageClass",
            vec![json!({
                "kind": "StorageClass", "apiVersion": "storage.k8s.io/v1",
                "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "ebs.csi.aws.com", "allowVolumeExpansion": true,
                "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"
            })],
        )),
        ("GET", "/apis/batch/v1/namespaces/prod/jobs/backup-28741") => ok(job_json()),
        ("DELETE", "/apis/batch/v1/namespaces/prod/jobs/backup-28741") => ok(job_json()),
        ("GET", "/apis/batch/v1/namespaces/prod/cronjobs/backup") => ok(json!({
            "kind": "CronJob", "apiVersion": "batch/v1",
            "metadata": {"name": "backup", "namespace": "prod", "uid": "cj-uid", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"schedule": "0 2 * * *", "suspend": false, "concurrencyPolicy": "Forbid",
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "backup", "image": "backup:2"}], "restartPolicy": "Never"}}}}},
            "status": {"active": [{"kind": "Job", "name": "backup-28741", "namespace": "prod"}],
                       "lastScheduleTime": "2024-05-02T02:00:00Z", "lastSuccessfulTime": "2024-04-30T02:03:10Z"}
        })),
        ("GET", "/apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers/orders-api") => {
            ok(json!({
                "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                "metadata": {"name": "orders-api", "namespace": "prod"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-api"},
                         "maxReplicas": 10,
                         "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
                "status": {"currentReplicas": 10, "desiredReplicas": 14,
                           "conditions": [condition_json("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")]}
            }))
        }
        ("GET", "/api/v1/namespaces/prod/configmaps/settings") => ok(json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "settings", "namespace": "prod"},
            "data": {"POOL_SIZE": "20", "MODE": "normal"}
        })),
        ("PATCH", "/api/v1/namespaces/prod/configmaps/settings") => ok(json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "settings", "namespace": "prod"},
            "data": {"POOL_SIZE": "40"}
        })),
        ("GET", "/apis/apps/v1/namespaces/prod/statefulsets/orders-db") => ok(json!({
            "kind": "StatefulSet", "apiVersion": "apps/v1",
            "metadata": {"name": "orders-db", "namespace": "prod"},
            "spec": {"replicas": 3, "serviceName": "orders-db", "selector": {"matchLabels": {"app": "orders-db"}},
                     "template": {"metadata": {"labels": {"app": "orders-db"}}, "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}},
            "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3, "currentReplicas": 3}
        })),
        ("GET", "/apis/apps/v1/namespaces/kube-system/daemonsets") => ok(list_of(
            "DaemonSet",
            vec![json!({
                "kind": "DaemonSet", "apiVersion": "apps/v1",
                "metadata": {"name": "fluentbit", "namespace": "kube-system"},
                "spec": {"selector": {"matchLabels": {"app": "fluentbit"}},
                         "template": {"metadata": {"labels": {"app": "fluentbit"}}, "spec": {"containers": [{"name": "fb", "image": "fluent-bit:3"}]}}},
                "status": {"desiredNumberScheduled": 5, "currentNumberScheduled": 5, "numberReady": 4,
                           "numberAvailable": 4, "updatedNumberScheduled": 5, "numberMisscheduled": 1}
            })],
        )),
        ("GET", "/api/v1/namespaces/prod/events") => ok(list_of(
            "Event",
            vec![
                event_json("BackOff", "2024-05-02T10:40:00Z", 12),
                event_json("Pulled", "2024-05-02T10:35:00Z", 3),
                event_json("OOMKilling", "2024-05-02T10:39:00Z", 1),
            ],
        )),
        ("GET", "/apis/apps/v1/namespaces/prod/replicasets") => ok(list_of(
            "ReplicaSet",
            vec![
                replicaset_json(
                    "orders-api-aaa111",
                    1,
                    "dep-uid",
                    "registry.example.com/app:1.4.0",
                ),
                replicaset_json(
                    "orders-api-7d9f8",
                    3,
                    "dep-uid",
                    "registry.example.com/app:1.4.2",
                ),
                replicaset_json(
                    "orders-api-bbb222",
                    2,
                    "dep-uid",
                    "registry.example.com/app:1.4.1",
                ),
                // Same labels, another owner (a deployment deleted and made again): never used.
                replicaset_json(
                    "orders-api-ccc333",
                    2,
                    "other-uid",
                    "registry.example.com/app:0.9",
                ),
            ],
        )),
        ("PUT", "/apis/apps/v1/namespaces/prod/deployments/orders-api") => ok(json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "orders-api", "namespace": "prod", "resourceVersion": "9121"},
            "spec": {"selector": {"matchLabels": {"app": "orders-api"}},
                     "template": {"metadata": {"labels": {"app": "orders-api"}}, "spec": {"containers": []}}}
        })),
        _ => None,
    }
}

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::str(*s)).collect())
}

async fn read(fake: &Fake, action: &str, args: Vec<(&str, Value)>) -> Value {
    let natives = fake.natives();
    call(&natives, action, args).await.unwrap()
}

#[tokio::test]
async fn get_node_reads_conditions_and_capacity_as_sizes_and_cores() {
    let fake = Fake::start().await;
    let node = read(&fake, "k8s.get_node", vec![("name", Value::str("node-1"))]).await;
    let Value::Record(fields) = &node else {
        panic!("{node:?}")
    };
    assert_eq!(fields["ready"], Value::Bool(true));
    assert_eq!(fields["disk_pressure"], Value::Bool(true));
    assert_eq!(fields["memory_pressure"], Value::Bool(false));
    assert_eq!(fields["unschedulable"], Value::Bool(false));
    assert_eq!(
        fields["capacity"],
        record(vec![
            ("cpu", Value::Float(4.0)),
            ("memory", Value::Size(16_069_952 * 1024)),
            ("ephemeral_storage", Value::Size(104_845_292 * 1024)),
            ("pods", Value::Int(110)),
        ])
    );
    assert_eq!(
        fields["allocatable"],
        record(vec![
            ("cpu", Value::Float(3.92)),
            ("memory", Value::Size(15000 << 20)),
            ("ephemeral_storage", Value::Size(95_551_679_124)),
            ("pods", Value::Int(110)),
        ])
    );
    let Value::List(conditions) = &fields["conditions"] else {
        panic!()
    };
    assert_eq!(conditions.len(), 3);
    assert_eq!(
        conditions[1],
        record(vec![
            ("type", Value::str("DiskPressure")),
            ("status", Value::str("True")),
            ("reason", Value::str("KubeletHasDiskPressure")),
            ("message", Value::str("kubelet has disk pressure")),
        ])
    );
    // A node belongs to no namespace: the path has none.
    assert_eq!(
        fake.requests(),
        vec![req("GET", "/api/v1/nodes/node-1", None, "")]
    );
}

#[tokio::test]
async fn list_nodes_sends_the_label_selector_cluster_wide() {
    let fake = Fake::start().await;
    let nodes = read(
        &fake,
        "k8s.list_nodes",
        vec![("selector", Value::str("node-role.kubernetes.io/worker"))],
    )
    .await;
    let Value::List(nodes) = nodes else { panic!() };
    assert_eq!(nodes.len(), 2);
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/nodes?&labelSelector=node-role.kubernetes.io%2Fworker",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn a_missing_node_is_a_404_without_a_namespace() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.cordon",
            vec![("node", Value::str("node-gone"))],
        )
        .await,
    );
    assert_eq!(message, "node node-gone not found (404)");
}

#[tokio::test]
async fn get_pvc_reads_capacity_and_request_as_sizes() {
    let fake = Fake::start().await;
    let pvc = read(
        &fake,
        "k8s.get_pvc",
        vec![
            ("name", Value::str("data-orders-db-0")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await;
    assert_eq!(
        pvc,
        record(vec![
            ("name", Value::str("data-orders-db-0")),
            ("namespace", Value::str("prod")),
            ("phase", Value::str("Bound")),
            ("capacity", Value::Size(10 * GI)),
            ("request", Value::Size(20 * GI)),
            ("storage_class", Value::str("gp3")),
            ("volume", Value::str("pvc-3f1c9a")),
            ("access_modes", strings(&["ReadWriteOnce"])),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/persistentvolumeclaims/data-orders-db-0",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn list_storage_classes_reads_expansion_and_the_default() {
    let fake = Fake::start().await;
    let classes = read(&fake, "k8s.list_storage_classes", vec![]).await;
    assert_eq!(
        classes,
        Value::List(vec![record(vec![
            ("name", Value::str("gp3")),
            ("provisioner", Value::str("ebs.csi.aws.com")),
            ("allow_expansion", Value::Bool(true)),
            ("reclaim_policy", Value::str("Retain")),
            ("is_default", Value::Bool(true)),
        ])])
    );
    // No selector given: none sent.
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses?",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn get_job_reads_a_failed_job_and_its_cronjob() {
    let fake = Fake::start().await;
    let job = read(
        &fake,
        "k8s.get_job",
        vec![
            ("name", Value::str("backup-28741")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await;
    assert_eq!(
        job,
        record(vec![
            ("name", Value::str("backup-28741")),
            ("namespace", Value::str("prod")),
            ("active", Value::Int(0)),
            ("succeeded", Value::Int(0)),
            ("failed", Value::Int(7)),
            (
                "conditions",
                Value::List(vec![record(vec![
                    ("type", Value::str("Failed")),
                    ("status", Value::str("True")),
                    ("reason", Value::str("BackoffLimitExceeded")),
                    (
                        "message",
                        Value::str("Job has reached the specified backoff limit")
                    ),
                ])])
            ),
            ("started", Value::Time(millis("2024-05-02T02:00:01Z"))),
            ("completed", Value::None),
            ("owner", Value::str("backup")),
            (
                "labels",
                Value::Map([("job-name".to_string(), Value::str("backup-28741"))].into())
            ),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/apis/batch/v1/namespaces/prod/jobs/backup-28741",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn get_cronjob_reads_schedule_and_last_times() {
    let fake = Fake::start().await;
    let cronjob = read(
        &fake,
        "k8s.get_cronjob",
        vec![
            ("name", Value::str("backup")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await;
    assert_eq!(
        cronjob,
        record(vec![
            ("name", Value::str("backup")),
            ("namespace", Value::str("prod")),
            ("schedule", Value::str("0 2 * * *")),
            ("suspend", Value::Bool(false)),
            ("active", Value::Int(1)),
            ("last_schedule", Value::Time(millis("2024-05-02T02:00:00Z"))),
            ("last_success", Value::Time(millis("2024-04-30T02:03:10Z"))),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/apis/batch/v1/namespaces/prod/cronjobs/backup",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn get_hpa_configmap_statefulset_and_list_daemonsets() {
    let fake = Fake::start().await;
    let prod = |name: &str| {
        vec![
            ("name", Value::str(name)),
            ("namespace", Value::str("prod")),
        ]
    };
    let hpa = read(&fake, "k8s.get_hpa", prod("orders-api")).await;
    let Value::Record(hpa) = hpa else { panic!() };
    assert_eq!(hpa["min_replicas"], Value::Int(1), "the API's default");
    assert_eq!(hpa["max_replicas"], Value::Int(10));
    assert_eq!(hpa["current_replicas"], Value::Int(10));
    assert_eq!(hpa["desired_replicas"], Value::Int(14));
    assert_eq!(hpa["target_kind"], Value::str("Deployment"));
    assert_eq!(hpa["target"], Value::str("orders-api"));

    let configmap = read(&fake, "k8s.get_configmap", prod("settings")).await;
    assert_eq!(
        configmap,
        record(vec![
            ("name", Value::str("settings")),
            ("namespace", Value::str("prod")),
            (
                "data",
                Value::Map(
                    [
                        ("MODE".to_string(), Value::str("normal")),
                        ("POOL_SIZE".to_string(), Value::str("20")),
                    ]
                    .into()
                )
            ),
        ])
    );

    let statefulset = read(&fake, "k8s.get_statefulset", prod("orders-db")).await;
    let Value::Record(statefulset) = statefulset else {
        panic!()
    };
    assert_eq!(statefulset["replicas"], Value::Int(3));
    assert_eq!(statefulset["ready_replicas"], Value::Int(2));
    assert_eq!(statefulset["conditions"], Value::List(vec![]));

    let daemonsets = read(
        &fake,
        "k8s.list_daemonsets",
        vec![
            ("namespace", Value::str("kube-system")),
            ("selector", Value::str("app=fluentbit")),
        ],
    )
    .await;
    let Value::List(daemonsets) = daemonsets else {
        panic!()
    };
    let Value::Record(daemonset) = &daemonsets[0] else {
        panic!()
    };
    assert_eq!(daemonset["replicas"], Value::Int(5));
    assert_eq!(daemonset["ready_replicas"], Value::Int(4));
    assert_eq!(daemonset["misscheduled"], Value::Int(1));

    let uris: Vec<String> = fake.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            "/apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers/orders-api",
            "/api/v1/namespaces/prod/configmaps/settings",
            "/apis/apps/v1/namespaces/prod/statefulsets/orders-db",
            "/apis/apps/v1/namespaces/kube-system/daemonsets?&labelSelector=app%3Dfluentbit",
        ]
    );
}

#[tokio::test]
async fn events_select_the_object_and_come_oldest_first() {
    let fake = Fake::start().await;
    let events = read(
        &fake,
        "k8s.events",
        vec![
            ("kind", Value::str("Pod")),
            ("name", Value::str("orders-api-7d9f8-old")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await;
    let Value::List(events) = events else {
        panic!()
    };
    let reasons: Vec<Value> = events
        .iter()
        .map(|e| match e {
            Value::Record(fields) => fields["reason"].clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            Value::str("Pulled"),
            Value::str("OOMKilling"),
            Value::str("BackOff")
        ]
    );
    assert_eq!(
        events[2],
        record(vec![
            ("namespace", Value::str("prod")),
            ("type", Value::str("Warning")),
            ("reason", Value::str("BackOff")),
            ("message", Value::str("BackOff happened")),
            ("count", Value::Int(12)),
            ("first_seen", Value::Time(millis("2024-05-02T10:31:00Z"))),
            ("last_seen", Value::Time(millis("2024-05-02T10:40:00Z"))),
            ("object_kind", Value::str("Pod")),
            ("object", Value::str("orders-api-7d9f8-old")),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/events?&fieldSelector=involvedObject.kind%3DPod%2CinvolvedObject.name%3Dorders-api-7d9f8-old",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn an_unknown_kind_is_refused_before_any_request() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.delete",
            vec![
                ("kind", Value::str("Deployments")),
                ("name", Value::str("orders-api")),
                ("namespace", Value::str("prod")),
            ],
        )
        .await,
    );
    assert!(
        message
            .starts_with("`Deployments` is not a kind std.k8s knows: use one of Pod, Deployment,"),
        "{message}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn patch_sends_a_json_merge_patch_built_from_a_record() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let patch = record(vec![(
        "data",
        Value::Map(
            [
                ("POOL_SIZE".to_string(), Value::str("40")),
                ("MODE".to_string(), Value::None),
            ]
            .into(),
        ),
    )]);
    let result = call(
        &natives,
        "k8s.patch",
        vec![
            ("kind", Value::str("configmap")),
            ("name", Value::str("settings")),
            ("namespace", Value::str("prod")),
            ("merge_patch", patch),
        ],
    )
    .await
    .unwrap();
    assert_eq!(result, Value::None);
    assert_eq!(
        fake.requests(),
        vec![req(
            "PATCH",
            "/api/v1/namespaces/prod/configmaps/settings?&fieldManager=rbk",
            Some("application/merge-patch+json"),
            r#"{"data":{"MODE":null,"POOL_SIZE":"40"}}"#
        )]
    );
}

#[tokio::test]
async fn delete_removes_any_kind_with_background_propagation() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    call(
        &natives,
        "k8s.delete",
        vec![
            ("kind", Value::str("Job")),
            ("name", Value::str("backup-28741")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        fake.requests(),
        vec![req(
            "DELETE",
            "/apis/batch/v1/namespaces/prod/jobs/backup-28741?",
            Some("application/json"),
            r#"{"propagationPolicy":"Background"}"#
        )]
    );
}

#[tokio::test]
async fn cordon_and_uncordon_set_unschedulable() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    call(&natives, "k8s.cordon", vec![("node", Value::str("node-1"))])
        .await
        .unwrap();
    call(
        &natives,
        "k8s.uncordon",
        vec![("node", Value::str("node-1"))],
    )
    .await
    .unwrap();
    let patch = |body: &str| {
        req(
            "PATCH",
            "/api/v1/nodes/node-1?&fieldManager=rbk",
            Some("application/merge-patch+json"),
            body,
        )
    };
    assert_eq!(
        fake.requests(),
        vec![
            patch(r#"{"spec":{"unschedulable":true}}"#),
            patch(r#"{"spec":{"unschedulable":false}}"#),
        ]
    );
}

fn eviction(namespace: &str, name: &str) -> Recorded {
    req(
        "POST",
        &format!("/api/v1/namespaces/{namespace}/pods/{name}/eviction?"),
        Some("application/json"),
        &json!({"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace}})
        .to_string(),
    )
}

fn cordon(node: &str) -> Recorded {
    req(
        "PATCH",
        &format!("/api/v1/nodes/{node}?&fieldManager=rbk"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"unschedulable":true}}"#,
    )
}

fn pods_on(node: &str) -> Recorded {
    req(
        "GET",
        &format!("/api/v1/pods?&fieldSelector=spec.nodeName%3D{node}"),
        None,
        "",
    )
}

#[tokio::test]
async fn drain_cordons_then_evicts_all_but_daemonset_and_mirror_pods() {
    let fake = Fake::start().await;
    let drained = read(&fake, "k8s.drain", vec![("node", Value::str("node-1"))]).await;
    assert_eq!(
        drained,
        record(vec![
            ("evicted", strings(&["prod/web-1", "batch/worker-1"])),
            (
                "skipped",
                strings(&["kube-system/fluentbit-x", "kube-system/kube-proxy-node-1"])
            ),
        ])
    );
    assert_eq!(
        fake.requests(),
        vec![
            cordon("node-1"),
            pods_on("node-1"),
            eviction("prod", "web-1"),
            eviction("batch", "worker-1"),
        ]
    );
}

#[tokio::test]
async fn drain_reports_a_disruption_budget_that_refuses_until_the_timeout() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let started = std::time::Instant::now();
    let message = error_of(
        call(
            &natives,
            "k8s.drain",
            vec![
                ("node", Value::str("node-guarded")),
                ("max", Value::Int(10)),
                ("timeout", Value::Duration(300)),
            ],
        )
        .await,
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(
        message,
        "a PodDisruptionBudget refused to let pod guarded-1 in namespace prod be evicted until the drain's timeout: Cannot evict pod as it would violate the pod's disruption budget. (429). Node node-guarded stays cordoned; nothing was evicted yet"
    );
    // Asked once, then once more when the timeout ran out.
    assert_eq!(
        fake.requests(),
        vec![
            cordon("node-guarded"),
            pods_on("node-guarded"),
            eviction("prod", "guarded-1"),
            eviction("prod", "guarded-1"),
        ]
    );
}

#[tokio::test]
async fn drain_refuses_pods_without_a_controller_and_more_than_max() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.drain",
            vec![("node", Value::str("node-bare"))],
        )
        .await,
    );
    assert_eq!(
        message,
        "node node-bare is cordoned, but nothing was evicted: a pod is not managed by a controller and would be gone for good (prod/debug). Delete them yourself first (k8s.delete), or move them"
    );
    let message = error_of(
        call(
            &natives,
            "k8s.drain",
            vec![("node", Value::str("node-1")), ("max", Value::Int(1))],
        )
        .await,
    );
    assert_eq!(
        message,
        "node node-1 is cordoned, but nothing was evicted: it runs 2 pods to evict, more than `max` (1)"
    );
    let evictions = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(evictions, 0);
}

#[tokio::test]
async fn rollout_undo_puts_back_the_previous_revisions_template() {
    let fake = Fake::start().await;
    let revision = read(
        &fake,
        "k8s.rollout_undo",
        vec![
            ("deployment", Value::str("orders-api")),
            ("namespace", Value::str("prod")),
        ],
    )
    .await;
    assert_eq!(revision, Value::Int(2));
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert_eq!(
        requests[0],
        req(
            "GET",
            "/apis/apps/v1/namespaces/prod/deployments/orders-api",
            None,
            ""
        )
    );
    assert_eq!(
        requests[1],
        req(
            "GET",
            "/apis/apps/v1/namespaces/prod/replicasets?&labelSelector=app%3Dorders-api",
            None,
            ""
        )
    );
    let put = &requests[2];
    assert_eq!(put.method, "PUT");
    assert_eq!(
        put.uri,
        "/apis/apps/v1/namespaces/prod/deployments/orders-api?"
    );
    assert_eq!(put.content_type.as_deref(), Some("application/json"));
    let body: Json = serde_json::from_str(&put.body).unwrap();
    // Revision 2 of this deployment (not the other owner's), without the controller's hash label.
    assert_eq!(
        body["spec"]["template"],
        json!({"metadata": {"labels": {"app": "orders-api"}},
               "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.4.1"}]}})
    );
    // Replaced at the version read, so a change in between is a conflict.
    assert_eq!(body["metadata"]["resourceVersion"], "9120");
    assert_eq!(body["spec"]["replicas"], 3);
}

#[tokio::test]
async fn rollout_undo_refuses_a_paused_deployment() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    let message = error_of(
        call(
            &natives,
            "k8s.rollout_undo",
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
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn logs_of_one_container_of_the_previous_instance() {
    let fake = Fake::start().await;
    let natives = fake.natives();
    // The fake answers any log request of this pod; the query is what matters.
    let _ = call(
        &natives,
        "k8s.logs",
        vec![
            ("pod", pod_record("orders-api-7d9f8-old")),
            ("tail", Value::Int(30)),
            ("container", Value::str("app")),
            ("previous", Value::Bool(true)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/pods/orders-api-7d9f8-old/log?&container=app&previous=true&tailLines=30",
            None,
            ""
        )]
    );
}
