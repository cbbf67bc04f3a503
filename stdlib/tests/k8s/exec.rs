//! `k8s.exec` against a fake API server that speaks the real `pods/exec` protocol: a
//! tokio-tungstenite server on 127.0.0.1 that accepts the websocket upgrade the real kube
//! client sends, answers with subprotocol `v4.channel.k8s.io`, and writes binary frames whose
//! first byte is the channel (1 stdout, 2 stderr, 3 the exit status as a JSON `Status`).
//! It records the path and query of every upgrade and whether the client closed the stream.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rbk_interpreter::value::Secret;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::Message;

use super::*;

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;

fn frame(channel: u8, data: &str) -> Message {
    let mut bytes = vec![channel];
    bytes.extend_from_slice(data.as_bytes());
    Message::binary(bytes)
}

/// What the fake "container" does, by pod name.
fn script(pod: &str) -> Option<Vec<Message>> {
    match pod {
        // Output split over frames, some stderr, then success.
        "web-1" => Some(vec![
            frame(STDOUT, "replicas: 3\n"),
            frame(STDERR, "warning: stale cache\n"),
            frame(STDOUT, "ready: 3\n"),
            frame(STATUS, r#"{"metadata":{},"status":"Success"}"#),
        ]),
        // What the kubelet sends for `exit 2`.
        "db-0" => Some(vec![
            frame(STDOUT, "partial dump\n"),
            frame(STDERR, "pg_dump: error: could not write: No space left on device\n"),
            frame(
                STATUS,
                &json!({
                    "metadata": {},
                    "status": "Failure",
                    "reason": "NonZeroExitCode",
                    "message": "command terminated with non-zero exit code: error executing command [pg_dump -d orders], exit code 2",
                    "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}
                })
                .to_string(),
            ),
        ]),
        // A container that is not there: a Failure without an exit code.
        "no-sidecar" => Some(vec![frame(
            STATUS,
            &json!({
                "metadata": {}, "status": "Failure", "reason": "InternalError",
                "message": "Internal error occurred: unable to upgrade connection: container not found (\"sidecar\")"
            })
            .to_string(),
        )]),
        // Starts, then never finishes (until the client goes away).
        "hung" => Some(vec![frame(STDOUT, "started\n")]),
        // Closes the stream without a status.
        "vanishing" => Some(vec![frame(STDOUT, "half")]),
        _ => None,
    }
}

/// Starts the websocket fake; `closed` records the pods whose client closed the stream.
async fn start() -> (Fake, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let closed: Arc<Mutex<Vec<String>>> = Arc::default();
    let (recorder, closed_by_client) = (requests.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (recorder, closed_by_client) = (recorder.clone(), closed_by_client.clone());
            tokio::spawn(async move {
                let pod: Arc<Mutex<String>> = Arc::default();
                let seen = pod.clone();
                // tungstenite's callback signature returns its `ErrorResponse` unboxed.
                #[allow(clippy::result_large_err)]
                let handshake = move |request: &Request, mut response: Response| {
                    let uri = request
                        .uri()
                        .path_and_query()
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                    recorder.lock().unwrap().push(Recorded {
                        method: request.method().to_string(),
                        uri: uri.clone(),
                        content_type: None,
                        body: String::new(),
                    });
                    let path = uri.split('?').next().unwrap_or("");
                    let name = path
                        .strip_prefix("/api/v1/namespaces/prod/pods/")
                        .and_then(|rest| rest.strip_suffix("/exec"))
                        .unwrap_or("");
                    *seen.lock().unwrap() = name.to_string();
                    let offered = request
                        .headers()
                        .get(header::SEC_WEBSOCKET_PROTOCOL)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    if script(name).is_none() || !offered.contains("v4.channel.k8s.io") {
                        // As the API server answers for a missing pod: a Status, no upgrade.
                        let mut refusal = ErrorResponse::new(Some(
                            status_json(404, "NotFound", &format!("pods \"{name}\" not found"))
                                .to_string(),
                        ));
                        *refusal.status_mut() = StatusCode::NOT_FOUND;
                        refusal.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        );
                        return Err(refusal);
                    }
                    response.headers_mut().insert(
                        header::SEC_WEBSOCKET_PROTOCOL,
                        HeaderValue::from_static("v4.channel.k8s.io"),
                    );
                    Ok(response)
                };
                let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, handshake).await
                else {
                    return;
                };
                let pod = pod.lock().unwrap().clone();
                for message in script(&pod).unwrap_or_default() {
                    if socket.send(message).await.is_err() {
                        return;
                    }
                }
                if pod == "hung" {
                    // Wait for the client to go away, as a still-running command would.
                    while let Some(Ok(_)) = socket.next().await {}
                    closed_by_client.lock().unwrap().push(pod);
                    return;
                }
                let _ = socket.close(None).await;
            });
        }
    });
    let dir = std::env::temp_dir().join(format!("rbk-k8s-exec-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    (
        Fake {
            port,
            requests,
            dir,
        },
        closed,
    )
}

fn words(words: &[&str]) -> Value {
    Value::List(words.iter().map(|w| Value::str(*w)).collect())
}

async fn exec(fake: &Fake, pod: &str, args: Vec<(&str, Value)>) -> Result<Value, ActionError> {
    let mut all_args = vec![("pod", pod_record(pod))];
    all_args.extend(args);
    call(&fake.natives(), "k8s.exec", all_args).await
}

#[tokio::test]
async fn exec_returns_stdout_and_sends_every_word_as_a_command_parameter() {
    let (fake, _) = start().await;
    let out = exec(
        &fake,
        "web-1",
        vec![
            ("argv", words(&["sh", "-c", "echo a && echo b"])),
            ("container", Value::str("app")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out, Value::str("replicas: 3\nready: 3\n"));
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/exec?&stdout=true&stderr=true&container=app\
             &command=sh&command=-c&command=echo+a+%26%26+echo+b",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn exec_without_a_container_names_none_and_secret_words_are_sent_as_they_are() {
    let (fake, _) = start().await;
    let argv = Value::List(vec![
        Value::str("curl"),
        Value::str("-H"),
        Value::Secret(Secret::new("token", "Bearer s3cr3t")),
    ]);
    exec(&fake, "web-1", vec![("argv", argv)]).await.unwrap();
    assert_eq!(
        fake.requests(),
        vec![req(
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/exec?&stdout=true&stderr=true\
             &command=curl&command=-H&command=Bearer+s3cr3t",
            None,
            ""
        )]
    );
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_the_code_and_stderr() {
    let (fake, _) = start().await;
    let message = error_of(
        exec(
            &fake,
            "db-0",
            vec![("argv", words(&["pg_dump", "-d", "orders"]))],
        )
        .await,
    );
    assert_eq!(
        message,
        "`pg_dump` in pod db-0 in namespace prod exited with code 2; stderr: pg_dump: error: \
         could not write: No space left on device"
    );
}

#[tokio::test]
async fn a_failure_without_an_exit_code_says_what_the_api_server_said() {
    let (fake, _) = start().await;
    let message = error_of(
        exec(
            &fake,
            "no-sidecar",
            vec![
                ("argv", words(&["true"])),
                ("container", Value::str("sidecar")),
            ],
        )
        .await,
    );
    assert_eq!(
        message,
        "could not run `true` in pod no-sidecar in namespace prod: Internal error occurred: \
         unable to upgrade connection: container not found (\"sidecar\")"
    );
}

#[tokio::test]
async fn a_missing_pod_is_a_404_failure() {
    let (fake, _) = start().await;
    let message = error_of(exec(&fake, "gone", vec![("argv", words(&["ls"]))]).await);
    assert_eq!(message, "pod gone not found in namespace prod (404)");
}

#[tokio::test]
async fn a_stream_closed_without_a_status_is_not_a_success() {
    let (fake, _) = start().await;
    let message = error_of(exec(&fake, "vanishing", vec![("argv", words(&["ls"]))]).await);
    assert_eq!(
        message,
        "`ls` in pod vanishing in namespace prod: the connection closed without an exit status, \
         so whether the command finished is unknown"
    );
}

#[tokio::test]
async fn a_timeout_closes_the_stream_and_says_the_command_may_still_run() {
    let (fake, closed) = start().await;
    let started = std::time::Instant::now();
    let message = error_of(
        exec(
            &fake,
            "hung",
            vec![
                ("argv", words(&["sleep", "3600"])),
                ("timeout", Value::Duration(300)),
            ],
        )
        .await,
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{message}");
    assert_eq!(
        message,
        "`sleep` in pod hung in namespace prod did not finish within 0.3s; rbk closed the \
         connection, but that kills nothing: the command may still be running in the container"
    );
    // The fake sees the client go away.
    for _ in 0..50 {
        if !closed.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*closed.lock().unwrap(), vec!["hung".to_string()]);
}

#[tokio::test]
async fn an_empty_argv_or_a_record_without_a_name_fails_before_connecting() {
    let (fake, _) = start().await;
    let message = error_of(exec(&fake, "web-1", vec![("argv", words(&[]))]).await);
    assert_eq!(
        message,
        "`argv` is empty: give the program and its arguments"
    );
    let message = error_of(exec(&fake, "web-1", vec![("argv", words(&["", "x"]))]).await);
    assert_eq!(message, "`argv` starts with an empty program name");
    let message = error_of(
        call(
            &fake.natives(),
            "k8s.exec",
            vec![
                ("pod", record(vec![("namespace", Value::str("prod"))])),
                ("argv", words(&["ls"])),
            ],
        )
        .await,
    );
    assert_eq!(message, "`pod` has no `name`: pass a k8s.Pod from k8s.pods");
    assert_eq!(fake.requests(), vec![]);
}

#[tokio::test]
async fn a_secret_program_is_not_named_in_errors() {
    let (fake, _) = start().await;
    let argv = Value::List(vec![
        Value::Secret(Secret::new("tool", "/opt/hidden-tool")),
        Value::str("x"),
    ]);
    let message = error_of(exec(&fake, "db-0", vec![("argv", argv)]).await);
    assert!(message.starts_with("`(secret)` in pod db-0"), "{message}");
    assert!(!message.contains("hidden-tool"), "{message}");
}

/// A runbook that execs in the pod the `k8s.pod` builder names, gated as `k8s.exec` must be.
fn exec_runbook(pod: &str) -> String {
    format!(
        r#"use std.k8s

/// Runs a check inside one pod.
runbook exec_check {{
  title "Run a check inside a pod"
  owner "platform-oncall"

  step check "Run the check" {{
    approval required from "platform-oncall" timeout 5m on timeout deny
    k8s.exec(k8s.pod("{pod}"), ["sh", "-c", "check"], container: "app", timeout: 10s)
  }}
}}
"#
    )
}

async fn run_exec_runbook(fake: &Fake, pod: &str) -> rbk_interpreter::RunReport {
    let analysis = check(
        vec![(PathBuf::from("exec_check.rbk"), exec_runbook(pod))],
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
        runbook: "exec_check".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: format!("run-exec-{pod}"),
        started_at: 1_764_072_000_000,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    run(&analysis, services, request).await.unwrap()
}

#[tokio::test]
async fn a_runbook_step_succeeds_on_exit_zero_and_fails_on_a_non_zero_exit() {
    let (fake, _) = start().await;
    let report = run_exec_runbook(&fake, "web-1").await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:#?}");
    assert_eq!(
        report.steps,
        vec![("check".to_string(), StepState::Succeeded)]
    );

    let report = run_exec_runbook(&fake, "db-0").await;
    assert_eq!(report.status, RunStatus::Failed, "{report:#?}");
    assert_eq!(report.steps, vec![("check".to_string(), StepState::Failed)]);

    let uris: Vec<String> = fake.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            "/api/v1/namespaces/prod/pods/web-1/exec?&stdout=true&stderr=true&container=app\
             &command=sh&command=-c&command=check",
            "/api/v1/namespaces/prod/pods/db-0/exec?&stdout=true&stderr=true&container=app\
             &command=sh&command=-c&command=check",
        ]
    );
}

#[test]
fn the_checker_demands_an_approval_for_exec() {
    let source = exec_runbook("web-1").replace(
        "    approval required from \"platform-oncall\" timeout 5m on timeout deny\n",
        "",
    );
    let analysis = check(
        vec![(PathBuf::from("exec_check.rbk"), source)],
        &StdOnly(rbk_stdlib::MODULES),
        &CheckOptions::default(),
    );
    let codes: Vec<String> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str().to_string())
        .collect();
    assert_eq!(codes, ["E0301"]);
}
