//! `shell.run(argv, timeout)`: runs a program directly (never through a shell), with a time
//! limit and bounded output.

use std::process::Stdio;
use std::time::Duration;

use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use tokio::io::AsyncReadExt;

use super::NativeAction;

/// Output beyond this is cut, so a chatty program cannot fill the journal or memory.
const MAX_OUTPUT: usize = 1024 * 1024;

pub struct Run;

impl NativeAction for Run {
    fn name(&self) -> &'static str {
        "shell.run"
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Destructive
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let argv: Vec<String> = match call.arg("argv") {
                Some(Value::List(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::Secret(secret) => secret.expose().to_string(),
                        other => other.to_string(),
                    })
                    .collect(),
                _ => return Err(ActionError::new("argv must be a list of strings")),
            };
            let Some((program, args)) = argv.split_first() else {
                return Err(ActionError::new(
                    "argv is empty: give the program and its arguments",
                ));
            };
            let timeout = match call.arg("timeout") {
                Some(Value::Duration(ms)) => Duration::from_millis(*ms),
                _ => Duration::from_secs(60),
            };
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| ActionError::new(format!("cannot start `{program}`: {e}")))?;
            let mut stdout = child
                .stdout
                .take()
                .ok_or_else(|| ActionError::new("no stdout"))?;
            let mut stderr = child
                .stderr
                .take()
                .ok_or_else(|| ActionError::new("no stderr"))?;
            let work = async {
                let mut out = Vec::new();
                let mut err = Vec::new();
                let mut limited_out = (&mut stdout).take(MAX_OUTPUT as u64 + 1);
                let mut limited_err = (&mut stderr).take(MAX_OUTPUT as u64 + 1);
                let (read_out, read_err) = tokio::join!(
                    limited_out.read_to_end(&mut out),
                    limited_err.read_to_end(&mut err)
                );
                read_out.map_err(|e| ActionError::new(e.to_string()))?;
                read_err.map_err(|e| ActionError::new(e.to_string()))?;
                let status = child
                    .wait()
                    .await
                    .map_err(|e| ActionError::new(e.to_string()))?;
                Ok::<_, ActionError>((status, out, err))
            };
            let (status, mut out, err) = match tokio::time::timeout(timeout, work).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(ActionError::new(format!(
                        "`{program}` did not finish within {}s and was killed",
                        timeout.as_secs()
                    )))
                }
            };
            out.truncate(MAX_OUTPUT);
            let text = String::from_utf8_lossy(&out).into_owned();
            if status.success() {
                Ok(Value::Str(text))
            } else {
                let stderr_text = String::from_utf8_lossy(&err);
                let tail: String = stderr_text
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                Err(ActionError::new(format!(
                    "`{program}` exited with {status}: {tail}"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbk_compiler::types::Ty;

    fn call(argv: &[&str], timeout_ms: u64) -> ActionCall {
        ActionCall {
            action: "shell.run".into(),
            effect: Effect::Destructive,
            returns_handle: None,
            returns: Ty::Str,
            args: vec![
                (
                    "argv".into(),
                    Value::List(argv.iter().map(|a| Value::str(*a)).collect()),
                ),
                ("timeout".into(), Value::Duration(timeout_ms)),
            ],
            run_id: String::new(),
        }
    }

    #[tokio::test]
    async fn runs_argv_without_a_shell() {
        let out = Run
            .call(&call(&["echo", "a;b", "$HOME"], 5_000))
            .await
            .unwrap();
        assert_eq!(out, Value::str("a;b $HOME\n"));
    }

    #[tokio::test]
    async fn a_failing_program_is_an_error_with_its_stderr() {
        let error = Run
            .call(&call(&["sh", "-c", "echo broken >&2; exit 3"], 5_000))
            .await
            .unwrap_err();
        assert!(error.message.contains("broken"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_slow_program_is_killed() {
        let error = Run.call(&call(&["sleep", "5"], 100)).await.unwrap_err();
        assert!(
            error.message.contains("did not finish"),
            "{}",
            error.message
        );
    }
}
