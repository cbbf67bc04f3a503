//! `k8s.exec`: runs a command in a pod's container through the `pods/exec` subresource (a
//! websocket, subprotocol `v4.channel.k8s.io`/`v5`), as `kubectl exec` does, without stdin or
//! a terminal. The step's value is the command's stdout; a non-zero exit fails the step with
//! the exit code and stderr.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{api_error, keep_tail_bytes, pod_arg, str_arg, Cluster, Target, MAX_LOG_BYTES};
use crate::natives::NativeAction;

/// Without a `timeout` argument (the declaration's default is 60s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of stderr a failure quotes (its end, where the error usually is).
const MAX_STDERR_IN_ERROR: usize = 4 * 1024;

/// `k8s.exec(pod, argv, container, timeout) -> string`.
pub struct Exec(pub Arc<Cluster>);

impl NativeAction for Exec {
    fn name(&self) -> &'static str {
        "k8s.exec"
    }
    fn arity(&self) -> usize {
        4
    }
    fn effect(&self) -> Effect {
        Effect::Destructive
    }
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let (name, namespace) = pod_arg(call, "pod")?;
            let (argv, program) = argv_arg(call)?;
            let container = match call.arg("container") {
                None => "",
                Some(_) => str_arg(call, "container")?.trim(),
            };
            let timeout = match call.arg("timeout") {
                None => DEFAULT_TIMEOUT,
                Some(Value::Duration(ms)) => Duration::from_millis(*ms),
                Some(other) => {
                    return Err(ActionError::new(format!(
                        "`timeout` must be a duration, got {}",
                        other.type_name()
                    )))
                }
            };
            let api: Api<Pod> = Api::namespaced(self.0.client().await?, &namespace);
            let target = Target {
                verb: "exec in",
                kind: "pod",
                name: Some(&name),
                namespace: &namespace,
            };
            let mut params = AttachParams::default()
                .stdin(false)
                .stdout(true)
                .stderr(true);
            if !container.is_empty() {
                params = params.container(container);
            }
            let run = async {
                let mut process = api
                    .exec(&name, argv, &params)
                    .await
                    .map_err(|e| api_error(e, &target))?;
                let status = process.take_status();
                let (stdout, stderr) = tokio::join!(
                    read_keeping_end(process.stdout(), MAX_LOG_BYTES),
                    read_keeping_end(process.stderr(), MAX_STDERR_IN_ERROR),
                );
                let status = match status {
                    Some(status) => status.await,
                    None => None,
                };
                Ok::<_, ActionError>((stdout?, stderr?, status))
            };
            // Dropping `run` on timeout drops the connection; the API server does not stop the
            // process when the stream goes away, so the error says it may still be running.
            let (stdout, stderr, status) = match tokio::time::timeout(timeout, run).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(ActionError::new(format!(
                        "`{program}` in {} did not finish within {}s; rbk closed the connection, \
                         but that kills nothing: the command may still be running in the container",
                        target.object(),
                        timeout.as_secs_f64()
                    )))
                }
            };
            check_status(status, &program, &target, &stderr)?;
            Ok(Value::Str(stdout))
        })
    }
}

/// The words of `argv` (`list<secret>`: plain strings and secrets alike, exposed only here),
/// and the program's name for messages: only the program is named (its arguments may be
/// secrets), and a secret program is not named at all.
fn argv_arg(call: &ActionCall) -> Result<(Vec<String>, String), ActionError> {
    let Some(Value::List(items)) = call.arg("argv") else {
        return Err(ActionError::new(
            "`argv` must be a list of strings: the program and its arguments",
        ));
    };
    let argv: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::Secret(secret) => secret.expose().to_string(),
            other => other.to_string(),
        })
        .collect();
    match argv.first() {
        None => Err(ActionError::new(
            "`argv` is empty: give the program and its arguments",
        )),
        Some(program) if program.trim().is_empty() => {
            Err(ActionError::new("`argv` starts with an empty program name"))
        }
        Some(program) => {
            let shown = match &items[0] {
                Value::Secret(_) => "(secret)".to_string(),
                _ => program.clone(),
            };
            Ok((argv, shown))
        }
    }
}

/// Reads a stream to its end (so the sender never blocks), keeping at most its last `max`
/// bytes.
async fn read_keeping_end(
    stream: Option<impl AsyncRead + Unpin>,
    max: usize,
) -> Result<String, ActionError> {
    let Some(mut stream) = stream else {
        return Ok(String::new());
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|e| ActionError::new(format!("cannot read the command's output: {e}")))?;
        if read == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..read]);
        if kept.len() > 2 * max {
            kept.drain(..kept.len() - max);
        }
    }
    Ok(keep_tail_bytes(
        String::from_utf8_lossy(&kept).into_owned(),
        max,
    ))
}

/// Success, or the step failure for a non-zero exit or another failure the API reported.
fn check_status(
    status: Option<Status>,
    program: &str,
    target: &Target<'_>,
    stderr: &str,
) -> Result<(), ActionError> {
    let Some(status) = status else {
        return Err(ActionError::new(format!(
            "`{program}` in {}: the connection closed without an exit status, so whether the \
             command finished is unknown",
            target.object()
        )));
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(());
    }
    let stderr = stderr.trim_end();
    let stderr = if stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr: {stderr}")
    };
    match exit_code(&status) {
        Some(code) => Err(ActionError::new(format!(
            "`{program}` in {} exited with code {code}{stderr}",
            target.object()
        ))),
        None => {
            let message = status
                .message
                .clone()
                .filter(|m| !m.is_empty())
                .or_else(|| status.reason.clone())
                .unwrap_or_else(|| "the API server reported a failure".into());
            Err(ActionError::new(format!(
                "could not run `{program}` in {}: {message}{stderr}",
                target.object()
            )))
        }
    }
}

/// The exit code a `NonZeroExitCode` status carries as a cause `{reason: "ExitCode"}`.
fn exit_code(status: &Status) -> Option<i64> {
    status
        .details
        .as_ref()?
        .causes
        .as_ref()?
        .iter()
        .find(|cause| cause.reason.as_deref() == Some("ExitCode"))
        .and_then(|cause| cause.message.as_deref()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> Status {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_exit_code_comes_from_the_exit_code_cause() {
        let failure = status(serde_json::json!({
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: exit status 2",
            "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}
        }));
        assert_eq!(exit_code(&failure), Some(2));
        let other = status(serde_json::json!({
            "metadata": {}, "status": "Failure", "reason": "InternalError",
            "message": "container not found (\"sidecar\")"
        }));
        assert_eq!(exit_code(&other), None);
    }

    #[tokio::test]
    async fn long_output_keeps_its_end() {
        let text = "a".repeat(10) + "tail";
        let kept = read_keeping_end(Some(text.as_bytes()), 4).await.unwrap();
        assert_eq!(kept, "tail");
    }
}
