//! `rbk approve|deny RUN STEP --server URL`: the vote goes to a running `rbk serve` through its
//! JSON API, as the person whose token is in `--token-env` (default `RBK_TOKEN`); the server
//! checks it on the one decision path, as it checks a click on the web page.

use rbk_interpreter::decisions::RefusalKind;
use serde_json::json;

use super::answer::{recorded, refused};
use super::check::usage_error;
use super::session;
use crate::exit;

pub const DEFAULT_TOKEN_ENV: &str = "RBK_TOKEN";

pub struct RemoteAnswer<'a> {
    pub server: &'a str,
    pub token_env: Option<&'a str>,
    pub run: &'a str,
    pub step: &'a str,
    pub approve: bool,
    pub comment: Option<&'a str>,
    /// `--value NAME=VALUE`: what the step's approval asks for.
    pub values: &'a std::collections::BTreeMap<String, String>,
}

pub fn run(args: RemoteAnswer<'_>) -> u8 {
    let token_env = args.token_env.unwrap_or(DEFAULT_TOKEN_ENV);
    let Some(token) = std::env::var(token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        return usage_error(format!(
            "--server needs your token in the environment variable {token_env}: make one with `rbk token create --as NAME` and export it"
        ));
    };
    let base = args.server.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return usage_error(format!(
            "--server `{}` is not a URL: write it like http://127.0.0.1:9095",
            args.server
        ));
    }
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    let url = format!("{base}/v1/runs/{}/decisions", args.run);
    let body = json!({
        "step": args.step,
        "decision": if args.approve { "approve" } else { "deny" },
        "comment": args.comment,
        "values": args.values,
    });
    let answer = runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token.trim())
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok::<_, reqwest::Error>((status, text))
    });
    let (status, text) = match answer {
        Ok(answer) => answer,
        Err(error) => return usage_error(format!("cannot reach {base}: {error}")),
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let error = json["error"].as_str().unwrap_or(text.trim());
    // The same lines and exit codes as the local path.
    match status {
        200 => recorded(
            args.step,
            args.approve,
            json["run"].as_str().unwrap_or(args.run),
            json["person"].as_str().unwrap_or_default(),
            json["decision"] == "granted",
        ),
        403 | 409 | 422 => match json["refused"].as_str().and_then(RefusalKind::parse) {
            Some(kind) => refused(kind, args.step, error),
            None => {
                println!("refused: {error}");
                exit::FINDINGS
            }
        },
        401 => usage_error(format!(
            "{base} did not accept the token in {token_env}: {error}"
        )),
        _ => usage_error(format!("{base} answered {status}: {error}")),
    }
}
