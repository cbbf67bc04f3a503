//! Approvals from Slack, end to end: the built `rbk serve` posts its approval messages to a
//! local stand-in of Slack's Web API, and the tests send it clicks and reactions signed as
//! Slack signs them. Each test checks what a user can see: the run's journal (`rbk log RUN
//! --format json`) and the calls the stand-in received (message posted, buttons replaced,
//! private refusal sent). Every refusal rule is attacked through Slack here.

mod support;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::rbk_serve::Serve;
use support::slack_standin::SlackStandIn;
use support::waiting::until;
use support::{http, rbk_in, repo_root};

const DEADLINE: Duration = Duration::from_secs(60);
const SIGNING_SECRET: &str = "test-signing-secret-8f742231b10e";
const BOT_TOKEN: &str = "xoxb-test-token";
const CHANNEL: &str = "C0APPROVALS";

const GATED: &str = r#"runbook gated {
  title "Gated"
  trigger alert "NeedsHuman"

  step ask "Ask a human" {
    approval required from "sre"
    log "approved"
  }
}
"#;

const TWO_PEOPLE: &str = r#"runbook two_people {
  title "Two people"
  trigger alert "NeedsTwo"

  step ask "Ask two humans" {
    approval required 2 from "sre"
    log "approved"
  }
}
"#;

const HURRIED: &str = r#"runbook hurried {
  title "Hurried"
  trigger alert "NoTime"

  step ask "Ask quickly" {
    approval required from "sre" timeout 1s on timeout deny
    log "approved"
  }
}
"#;

const DESTRUCTIVE: &str = r#"use std.shell

runbook wipe {
  title "Wipe the scratch files"
  trigger alert "ScratchFull"

  step wipe "Wipe them" {
    approval required from "sre"
    shell.run(argv: ["true"])
  }
}
"#;

/// A denial fails the run, and its failure escalates (here through Slack's incoming webhook).
const DOOMED: &str = r##"use std.slack

runbook doomed {
  title "Doomed"
  trigger alert "Doomed"
  escalate slack.post(channel: "#oncall", text: "escalated: {run.summary}")

  step ask "Ask a human" {
    approval required from "sre"
    log "approved"
  }
}
"##;

/// Three people from three places: the command line, Slack and the web page's API.
const THREE_PEOPLE: &str = r#"runbook three_people {
  title "Three people"
  trigger alert "NeedsThree"

  step ask "Ask three humans" {
    approval required 3 from "oncall"
    log "approved"
  }
}
"#;

/// dave signs in to the web page with this token; rbk.toml keeps only its hash.
const DAVE_TOKEN: &str = "rbk-test-token-dave-5d0c1f";

const PEOPLE: &str = r#"[approvers]
sre = ["alice", "bob"]
dba = ["carol"]
oncall = ["alice", "bob", "dave"]

[people.alice]
slack = "U0ALICE"

[people.bob]
slack = "U0BOB"

[people.carol]
slack = "U0CAROL"

[serve.webhooks.deploy]
alert = "NeedsHuman"
started_by = "alice"
fingerprint = "/id"
"#;

struct Slackish {
    dir: PathBuf,
    store: String,
    serve: Serve,
    slack: SlackStandIn,
}

/// One approval message as the stand-in received it and where it lives.
struct Message {
    run: String,
    ts: String,
    blocks: Value,
    /// The Approve button's value: {run, step, digest}.
    value: String,
}

impl Slackish {
    fn start(name: &str) -> Slackish {
        let slack = SlackStandIn::start();
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("slack-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let toml = format!(
            "{PEOPLE}\n[people.dave]\ntokens = [\"{}\"]\n\n[integrations.slack]\napi_url = \"{}\"\napprovals_channel = \"{CHANNEL}\"\nwebhook_url = \"{}/hook/escalate\"\n",
            rbk_compiler::config::token_hash(DAVE_TOKEN),
            slack.url,
            slack.url
        );
        std::fs::write(dir.join("rbk.toml"), toml).unwrap();
        for (file, text) in [
            ("gated.rbk", GATED),
            ("two.rbk", TWO_PEOPLE),
            ("three.rbk", THREE_PEOPLE),
            ("hurried.rbk", HURRIED),
            ("wipe.rbk", DESTRUCTIVE),
            ("doomed.rbk", DOOMED),
        ] {
            std::fs::write(dir.join(file), text).unwrap();
        }
        let store = dir.join("rbk.db").display().to_string();
        let serve = Serve::start(
            &dir,
            &[".", "--store", &store],
            &[
                ("SLACK_BOT_TOKEN", BOT_TOKEN),
                ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
            ],
        );
        Slackish {
            dir,
            store,
            serve,
            slack,
        }
    }

    /// Fires `alert` and waits for the approval message about the run it starts.
    fn alert(&self, alert: &str, fingerprint: &str, labels: &str) -> Message {
        let body = payload(alert, fingerprint, labels);
        let answer = self.serve.post_alertmanager("", &body);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let run = answer.json()["starts"][0]["run"]
            .as_str()
            .unwrap_or_else(|| panic!("no run started: {}", answer.body))
            .to_string();
        self.message_for(&run)
    }

    /// The approval message posted (and remembered) for `run`.
    fn message_for(&self, run: &str) -> Message {
        let posted = until(
            "the approval message to be posted and remembered",
            DEADLINE,
            || {
                self.serve.log().lines().find_map(|line| {
                    let line: Value = serde_json::from_str(line).ok()?;
                    (line["event"] == "slack_posted" && line["run"] == run).then_some(line)
                })
            },
            || format!("{}\n{}", self.serve.log(), self.slack.dump()),
        );
        let call = self
            .slack
            .calls_to("chat.postMessage")
            .into_iter()
            .find(|call| call.body.to_string().contains(run))
            .expect("the posted message");
        let blocks = call.body["blocks"].clone();
        let value = button(&blocks, "approve")["value"]
            .as_str()
            .expect("the Approve button has a value")
            .to_string();
        Message {
            run: run.to_string(),
            ts: posted["ts"].as_str().unwrap().to_string(),
            blocks,
            value,
        }
    }

    fn state(&self, run: &str) -> String {
        self.journal(run)["run"]["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn wait_for_state(&self, run: &str, state: &str) {
        until(
            &format!("run {run} to be {state}"),
            DEADLINE,
            || (self.state(run) == state).then_some(()),
            || format!("{:#}\n{}", self.journal(run), self.serve.log()),
        );
    }

    /// `rbk log RUN --format json`, checked for tampering.
    fn journal(&self, run: &str) -> Value {
        let out = rbk_in(
            &self.dir,
            &[
                "log",
                run,
                "--store",
                &self.store,
                "--format",
                "json",
                "--verify",
            ],
        );
        assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
        serde_json::from_str(out.stdout.trim()).unwrap()
    }

    /// The journal's `approval_answered` events.
    fn answers(&self, run: &str) -> Vec<Value> {
        events(&self.journal(run), "approval_answered")
    }

    /// A click as Slack sends it, signed now.
    fn click(&self, user: &str, action: &str, value: &str, action_ts: &str) -> http::Answer {
        let body = click_body(
            user,
            action,
            value,
            action_ts,
            &self.slack.response_url(user),
        );
        self.post_signed("/v1/slack/interactivity", &body, now_s())
    }

    fn react(&self, user: &str, reaction: &str, ts: &str, event_id: &str) -> http::Answer {
        let body = reaction_body(user, reaction, ts, event_id);
        self.post_signed("/v1/slack/events", &body, now_s())
    }

    fn post_signed(&self, path: &str, body: &str, timestamp: i64) -> http::Answer {
        let signature = sign(SIGNING_SECRET, timestamp, body);
        self.post(path, body, timestamp, &signature, &[])
    }

    fn post(
        &self,
        path: &str,
        body: &str,
        timestamp: i64,
        signature: &str,
        extra: &[(&str, &str)],
    ) -> http::Answer {
        let timestamp = timestamp.to_string();
        let content_type = if path.ends_with("interactivity") {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let mut headers = vec![
            ("content-type", content_type),
            ("x-slack-request-timestamp", timestamp.as_str()),
            ("x-slack-signature", signature),
        ];
        headers.extend_from_slice(extra);
        http::request("POST", &format!("{}{path}", self.serve.url), &headers, body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.serve.log()))
    }

    /// Waits for a call to `method` whose body contains `needle`; returns its body.
    fn wait_for_call(&self, method: &str, needle: &str) -> Value {
        until(
            &format!("a {method} call with `{needle}`"),
            DEADLINE,
            || {
                self.slack
                    .calls_to(method)
                    .into_iter()
                    .find(|call| call.body.to_string().contains(needle))
                    .map(|call| call.body)
            },
            || format!("{}\n{}", self.slack.dump(), self.serve.log()),
        )
    }

    /// Waits for the log line saying the vote was handled (after the answer, its Slack calls
    /// may still be going out).
    fn wait_for_vote(&self, count: usize) {
        until(
            &format!("{count} Slack votes handled"),
            DEADLINE,
            || (self.serve.log().matches("\"slack_vote\"").count() >= count).then_some(()),
            || self.serve.log(),
        );
    }
}

fn events(journal: &Value, name: &str) -> Vec<Value> {
    journal["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|event| event.to_string().contains(&format!("\"event\":\"{name}\"")))
        .collect()
}

fn button<'a>(blocks: &'a Value, action_id: &str) -> &'a Value {
    blocks
        .as_array()
        .expect("blocks")
        .iter()
        .filter(|block| block["type"] == "actions")
        .flat_map(|block| block["elements"].as_array().cloned().unwrap_or_default())
        .position(|element| element["action_id"] == action_id)
        .and_then(|index| {
            blocks
                .as_array()
                .unwrap()
                .iter()
                .filter(|block| block["type"] == "actions")
                .flat_map(|block| block["elements"].as_array().unwrap().iter())
                .nth(index)
        })
        .unwrap_or_else(|| panic!("no {action_id} button in {blocks:#}"))
}

fn has_buttons(blocks: &Value) -> bool {
    blocks
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|block| block["type"] == "actions"))
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Slack's signature: `v0=` hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v0={hex}")
}

fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn click_body(
    user: &str,
    action: &str,
    value: &str,
    action_ts: &str,
    response_url: &str,
) -> String {
    let payload = json!({
        "type": "block_actions",
        // The display name says "bob" whoever clicks: only the id may count.
        "user": {"id": user, "username": "bob", "name": "bob"},
        "team": {"id": "T0TEAM"},
        "channel": {"id": CHANNEL},
        "response_url": response_url,
        "actions": [{
            "type": "button",
            "action_id": action,
            "block_id": "decision",
            "value": value,
            "action_ts": action_ts,
        }],
    });
    format!("payload={}", form_encode(&payload.to_string()))
}

fn reaction_body(user: &str, reaction: &str, ts: &str, event_id: &str) -> String {
    json!({
        "type": "event_callback",
        "team_id": "T0TEAM",
        "event_id": event_id,
        "event_time": now_s(),
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": reaction,
            "item": {"type": "message", "channel": CHANNEL, "ts": ts},
            "event_ts": "1700000001.000100",
        },
    })
    .to_string()
}

fn payload(name: &str, fingerprint: &str, labels: &str) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"{name}\"}}","truncatedAlerts":0,"status":"firing","receiver":"rbk","groupLabels":{{"alertname":"{name}"}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","alerts":[{{"status":"firing","labels":{{"alertname":"{name}"{labels}}},"annotations":{{"summary":"test"}},"startsAt":"2026-12-02T01:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"{fingerprint}"}}]}}"#
    )
}

#[test]
fn a_valid_click_approves_replaces_the_buttons_and_tells_the_thread() {
    let slack = Slackish::start("click");
    let message = slack.alert("NeedsHuman", "c1", r#","host":"<db1>&co""#);
    // The message: bot token, channel, title, alert (escaped), step, buttons, link.
    let posted = &slack.slack.calls_to("chat.postMessage")[0];
    assert_eq!(
        posted.authorization.as_deref(),
        Some(format!("Bearer {BOT_TOKEN}").as_str())
    );
    assert_eq!(posted.body["channel"], CHANNEL);
    let text = message.blocks.to_string();
    assert!(text.contains("Gated"), "{text}");
    assert!(text.contains("NeedsHuman"), "{text}");
    assert!(text.contains("host=&lt;db1&gt;&amp;co"), "{text}");
    assert!(!text.contains("<db1>"), "{text}");
    assert!(text.contains("`ask`"), "{text}");
    assert!(text.contains(&format!("/runs/{}", message.run)), "{text}");
    assert!(button(&message.blocks, "approve").get("confirm").is_none());
    assert!(has_buttons(&message.blocks));

    let answer = slack.click("U0BOB", "approve", &message.value, "1700000100.000001");
    assert_eq!(answer.status, 200, "{}", answer.body);
    slack.wait_for_state(&message.run, "succeeded");
    let answers = slack.answers(&message.run);
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_eq!(answers[0]["by"], "bob");
    assert_eq!(answers[0]["approve"], true);
    assert!(
        answers[0].to_string().contains("slack U0BOB"),
        "{answers:#?}"
    );
    let update = slack.wait_for_call("chat.update", "approved by bob");
    assert_eq!(update["ts"], message.ts.as_str());
    assert!(!has_buttons(&update["blocks"]), "{update:#}");
    let thread = slack.wait_for_call("chat.postMessage", "succeeded");
    assert_eq!(thread["thread_ts"], message.ts.as_str());
}

#[test]
fn a_bad_signature_or_an_old_timestamp_is_refused_before_anything_is_read() {
    let slack = Slackish::start("signature");
    let message = slack.alert("NeedsHuman", "s1", "");
    let body = click_body(
        "U0BOB",
        "approve",
        &message.value,
        "1700000200.000001",
        &slack.slack.response_url("U0BOB"),
    );
    // Signed with another secret.
    let forged = sign("not-the-secret", now_s(), &body);
    let answer = slack.post("/v1/slack/interactivity", &body, now_s(), &forged, &[]);
    assert_eq!(answer.status, 401, "{}", answer.body);
    // A body changed after signing.
    let signature = sign(SIGNING_SECRET, now_s(), &body);
    let tampered = body.replace("U0BOB", "U0ALI");
    let answer = slack.post(
        "/v1/slack/interactivity",
        &tampered,
        now_s(),
        &signature,
        &[],
    );
    assert_eq!(answer.status, 401, "{}", answer.body);
    // Correctly signed, six minutes ago.
    let old = now_s() - 360;
    let answer = slack.post_signed("/v1/slack/interactivity", &body, old);
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains("300"), "{}", answer.body);
    // No signature at all, on both endpoints.
    let unsigned = http::request(
        "POST",
        &format!("{}/v1/slack/events", slack.serve.url),
        &[("content-type", "application/json")],
        r#"{"type":"url_verification","challenge":"abc"}"#,
    )
    .unwrap();
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    assert!(slack.answers(&message.run).is_empty());
    slack.wait_for_state(&message.run, "waiting");
    assert!(
        slack.slack.calls_to("chat.update").is_empty(),
        "{}",
        slack.slack.dump()
    );
    // Slack's URL check, signed, is answered with its challenge.
    let answer = slack.post_signed(
        "/v1/slack/events",
        r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#,
        now_s(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[test]
fn the_same_click_twice_and_a_replayed_request_count_once() {
    let slack = Slackish::start("replay");
    let message = slack.alert("NeedsTwo", "r1", "");
    let body = click_body(
        "U0ALICE",
        "approve",
        &message.value,
        "1700000300.000001",
        &slack.slack.response_url("U0ALICE"),
    );
    let sent_at = now_s();
    let signature = sign(SIGNING_SECRET, sent_at, &body);
    let first = slack.post("/v1/slack/interactivity", &body, sent_at, &signature, &[]);
    assert_eq!(first.status, 200, "{}", first.body);
    let progress = slack.wait_for_call("chat.update", "1 of 2 approvals (alice)");
    assert!(
        has_buttons(&progress["blocks"]),
        "the buttons stay until the quorum: {progress:#}"
    );
    // The very same request again (Slack retries, or someone replays it in the window).
    let again = slack.post("/v1/slack/interactivity", &body, sent_at, &signature, &[]);
    assert_eq!(again.status, 200, "{}", again.body);
    // The same click (same action_ts) signed anew.
    let resent = slack.click("U0ALICE", "approve", &message.value, "1700000300.000001");
    assert_eq!(resent.status, 200, "{}", resent.body);
    // Replayed later with its old signature: refused.
    let replayed = slack.post(
        "/v1/slack/interactivity",
        &body,
        sent_at - 400,
        &signature,
        &[],
    );
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    slack.wait_for_vote(3);
    assert_eq!(
        slack.answers(&message.run).len(),
        1,
        "{:#}",
        slack.journal(&message.run)
    );
    assert!(
        slack.slack.calls_to("response/U0ALICE").is_empty(),
        "{}",
        slack.slack.dump()
    );
    // A second click by the same person (a new action_ts): refused, said privately.
    let second = slack.click("U0ALICE", "approve", &message.value, "1700000300.000002");
    assert_eq!(second.status, 200, "{}", second.body);
    let refusal = slack.wait_for_call("response/U0ALICE", "Not counted");
    assert_eq!(refusal["response_type"], "ephemeral");
    assert_eq!(slack.answers(&message.run).len(), 1);
    slack.wait_for_state(&message.run, "waiting");
    // The second person decides it.
    assert_eq!(
        slack
            .click("U0BOB", "approve", &message.value, "1700000300.000003")
            .status,
        200
    );
    slack.wait_for_state(&message.run, "succeeded");
    slack.wait_for_call("chat.update", "approved by");
}

#[test]
fn an_unknown_slack_user_another_groups_member_and_the_starter_are_refused_privately() {
    let slack = Slackish::start("refusals");
    let message = slack.alert("NeedsHuman", "u1", "");
    // Unknown id, even though the display name says "bob".
    let answer = slack.click("U0NOBODY", "approve", &message.value, "1700000400.000001");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refusal = slack.wait_for_call("response/U0NOBODY", "not a person in rbk.toml");
    assert_eq!(refusal["response_type"], "ephemeral");
    // carol is in dba, not sre.
    slack.click("U0CAROL", "approve", &message.value, "1700000400.000002");
    let refusal = slack.wait_for_call("response/U0CAROL", "Not counted");
    assert!(refusal.to_string().contains("sre"), "{refusal:#}");
    assert!(
        slack.answers(&message.run).is_empty(),
        "{:#}",
        slack.journal(&message.run)
    );
    slack.wait_for_state(&message.run, "waiting");
    assert!(
        slack.slack.calls_to("chat.update").is_empty(),
        "{}",
        slack.slack.dump()
    );

    // A run alice started (the webhook says so) cannot be approved by alice.
    let answer = http::post_json(
        &format!("{}/v1/webhook/deploy", slack.serve.url),
        &[],
        r#"{"id": "deploy-1"}"#,
    )
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let started = answer.json()["starts"][0]["run"]
        .as_str()
        .unwrap_or_else(|| panic!("no run started: {}", answer.body))
        .to_string();
    assert_eq!(slack.journal(&started)["run"]["started_by"], "alice");
    let hers = slack.message_for(&started);
    slack.click("U0ALICE", "approve", &hers.value, "1700000400.000003");
    let refusal = slack.wait_for_call("response/U0ALICE", "Not counted");
    assert!(refusal.to_string().contains("started"), "{refusal:#}");
    assert!(slack.answers(&started).is_empty());
    slack.wait_for_state(&started, "waiting");
}

#[test]
fn a_click_after_the_decision_or_after_the_timeout_changes_nothing() {
    let slack = Slackish::start("late");
    let message = slack.alert("NeedsHuman", "l1", "");
    slack.click("U0BOB", "deny", &message.value, "1700000500.000001");
    slack.wait_for_state(&message.run, "failed");
    slack.wait_for_call("chat.update", "denied by bob");
    // A button someone still has on screen: the request is closed.
    slack.click("U0ALICE", "approve", &message.value, "1700000500.000002");
    slack.wait_for_call("response/U0ALICE", "Not counted");
    let answers = slack.answers(&message.run);
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_eq!(answers[0]["by"], "bob");
    assert_eq!(slack.state(&message.run), "failed");

    let hurried = slack.alert("NoTime", "l2", "");
    slack.wait_for_state(&hurried.run, "failed");
    assert_eq!(
        events(&slack.journal(&hurried.run), "approval_timed_out").len(),
        1
    );
    let update = slack.wait_for_call("chat.update", "timed out");
    assert!(!has_buttons(&update["blocks"]), "{update:#}");
    slack.click("U0BOB", "approve", &hurried.value, "1700000500.000003");
    slack.wait_for_call("response/U0BOB", "Not counted");
    assert!(slack.answers(&hurried.run).is_empty());
}

#[test]
fn reactions_approve_and_deny_and_a_non_member_is_told_privately() {
    let slack = Slackish::start("reactions");
    let approved = slack.alert("NeedsHuman", "x1", "");
    let answer = slack.react("U0BOB", "white_check_mark", &approved.ts, "Ev0001");
    assert_eq!(answer.status, 200, "{}", answer.body);
    slack.wait_for_state(&approved.run, "succeeded");
    // Slack re-sends the event: one vote still.
    let retry = reaction_body("U0BOB", "white_check_mark", &approved.ts, "Ev0001");
    let signature = sign(SIGNING_SECRET, now_s(), &retry);
    let answer = slack.post(
        "/v1/slack/events",
        &retry,
        now_s(),
        &signature,
        &[
            ("x-slack-retry-num", "1"),
            ("x-slack-retry-reason", "http_timeout"),
        ],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(slack.answers(&approved.run).len(), 1);
    slack.wait_for_call("chat.update", "approved by bob");

    // A destructive step: a danger button behind a confirm dialog; denied with ❌.
    let wipe = slack.alert("ScratchFull", "x2", "");
    let approve = button(&wipe.blocks, "approve");
    assert_eq!(approve["style"], "danger", "{approve:#}");
    assert!(approve["confirm"].is_object(), "{approve:#}");
    // The action with its resolved arguments and effect.
    let shown = wipe.blocks.to_string();
    assert!(
        shown.contains("shell.run") && shown.contains("destructive"),
        "{shown}"
    );
    assert!(shown.contains("argv") && shown.contains("true"), "{shown}");
    // carol reacts first: not in sre, so nothing counts, and only she is told.
    slack.react("U0CAROL", "white_check_mark", &wipe.ts, "Ev0002");
    let told = slack.wait_for_call("chat.postEphemeral", "not counted");
    assert_eq!(told["user"], "U0CAROL");
    assert_eq!(told["channel"], CHANNEL);
    assert!(slack.answers(&wipe.run).is_empty());
    slack.wait_for_state(&wipe.run, "waiting");
    // A reaction that is not a vote changes nothing.
    slack.react("U0BOB", "eyes", &wipe.ts, "Ev0003");
    slack.react("U0BOB", "x", &wipe.ts, "Ev0004");
    slack.wait_for_state(&wipe.run, "failed");
    let answers = slack.answers(&wipe.run);
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_eq!(answers[0]["approve"], false);
    assert!(events(&slack.journal(&wipe.run), "action_called").is_empty());
    let update = slack.wait_for_call("chat.update", "denied by bob");
    assert!(!has_buttons(&update["blocks"]));
}

#[test]
fn votes_from_the_cli_and_slack_count_together_and_a_cli_decision_updates_the_message() {
    let slack = Slackish::start("mixed");
    // Two approvals: one from the command line, one from Slack.
    let two = slack.alert("NeedsTwo", "m1", "");
    let cli = rbk_in(
        &slack.dir,
        &[
            "approve",
            &two.run,
            "ask",
            "--as",
            "alice",
            "--store",
            &slack.store,
        ],
    );
    assert_eq!(cli.status, 0, "{}{}", cli.stdout, cli.stderr);
    // alice already voted on the command line: her click does not count twice.
    slack.click("U0ALICE", "approve", &two.value, "1700000600.000001");
    slack.wait_for_call("response/U0ALICE", "Not counted");
    assert_eq!(slack.answers(&two.run).len(), 1);
    // Each vote queues the parked run to count again; it asks again and parks once more,
    // without a second message.
    until(
        "the resumed run to find its message already posted",
        DEADLINE,
        || {
            slack
                .serve
                .log()
                .lines()
                .any(|l| l.contains("\"slack_already_posted\"") && l.contains(&two.run))
                .then_some(())
        },
        || slack.serve.log(),
    );
    slack.wait_for_state(&two.run, "waiting");
    let posted = slack
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|call| call.body.to_string().contains(&two.run))
        .count();
    assert_eq!(posted, 1, "{}", slack.slack.dump());
    slack.click("U0BOB", "approve", &two.value, "1700000600.000002");
    slack.wait_for_state(&two.run, "succeeded");
    let answers = slack.answers(&two.run);
    let by: Vec<&str> = answers.iter().filter_map(|a| a["by"].as_str()).collect();
    assert_eq!(by, ["alice", "bob"], "{answers:#?}");
    slack.wait_for_call("chat.update", "approved by alice, bob");

    // Decided on the command line alone: the message still loses its buttons.
    let one = slack.alert("NeedsHuman", "m2", "");
    let cli = rbk_in(
        &slack.dir,
        &[
            "deny",
            &one.run,
            "ask",
            "--as",
            "bob",
            "--store",
            &slack.store,
        ],
    );
    assert_eq!(cli.status, 0, "{}{}", cli.stdout, cli.stderr);
    slack.wait_for_state(&one.run, "failed");
    let update = slack.wait_for_call("chat.update", "denied by bob");
    assert_eq!(update["ts"], one.ts.as_str());
    assert!(!has_buttons(&update["blocks"]), "{update:#}");
}

#[test]
fn a_quorum_counts_votes_from_the_cli_slack_and_the_web_once_per_person() {
    let slack = Slackish::start("three");
    let three = slack.alert("NeedsThree", "q3", "");
    let web_vote = |body: &str| {
        http::request(
            "POST",
            &format!("{}/v1/runs/{}/decisions", slack.serve.url, three.run),
            &[
                ("Authorization", &format!("Bearer {DAVE_TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .unwrap_or_else(|e| panic!("web vote: {e}\n{}", slack.serve.log()))
    };
    // The alert started the run: nobody's vote is the starter's here, so each rule left is the
    // group, one vote per person, and the plan shown.
    let cli = rbk_in(
        &slack.dir,
        &[
            "approve",
            &three.run,
            "ask",
            "--as",
            "alice",
            "--store",
            &slack.store,
        ],
    );
    assert_eq!(cli.status, 0, "{}{}", cli.stdout, cli.stderr);
    // alice again, from Slack this time: still one person.
    slack.click("U0ALICE", "approve", &three.value, "1700000900.000001");
    slack.wait_for_call("response/U0ALICE", "Not counted");
    // carol is not on call: her click does not count.
    slack.click("U0CAROL", "approve", &three.value, "1700000900.000002");
    slack.wait_for_call("response/U0CAROL", "Not counted");
    slack.click("U0BOB", "approve", &three.value, "1700000900.000003");
    until(
        "bob's Slack vote to be journaled",
        DEADLINE,
        || (slack.answers(&three.run).len() == 2).then_some(()),
        || format!("{:#}", slack.journal(&three.run)),
    );
    slack.wait_for_state(&three.run, "waiting");
    // dave from the web API, first for a plan he was not shown, then for the one he was.
    let stale = web_vote(r#"{"step":"ask","decision":"approve","digest":"sha256:another-plan"}"#);
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(slack.state(&three.run), "waiting");
    let requests = events(&slack.journal(&three.run), "approval_requested");
    let digest = requests.last().expect("the gate's request")["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let counted = web_vote(&format!(
        r#"{{"step":"ask","decision":"approve","digest":"{digest}"}}"#
    ));
    assert_eq!(counted.status, 200, "{}", counted.body);
    slack.wait_for_state(&three.run, "succeeded");
    let answers = slack.answers(&three.run);
    let votes: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| {
            (
                a["by"].as_str().unwrap_or(""),
                a["channel"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        votes,
        [("alice", "cli"), ("bob", "slack"), ("dave", "api")],
        "{answers:#?}"
    );
    let granted = events(&slack.journal(&three.run), "approval_granted");
    assert_eq!(granted.len(), 1, "{granted:#?}");
    slack.wait_for_call("chat.update", "approved by alice, bob, dave");
    let verified = rbk_in(
        &slack.dir,
        &["log", &three.run, "--verify", "--store", &slack.store],
    );
    assert_eq!(verified.status, 0, "{}{}", verified.stdout, verified.stderr);
}

#[test]
fn the_runs_failure_and_its_escalation_are_told_in_the_messages_thread() {
    let slack = Slackish::start("escalation");
    let message = slack.alert("Doomed", "e1", "");
    slack.click("U0BOB", "deny", &message.value, "1700000700.000001");
    slack.wait_for_state(&message.run, "failed");
    slack.wait_for_call("hook/escalate", "escalated: doomed");
    let failed = slack.wait_for_call("chat.postMessage", "denied: doomed");
    assert_eq!(failed["thread_ts"], message.ts.as_str(), "{failed:#}");
    let escalated = slack.wait_for_call("chat.postMessage", "The run escalated");
    assert_eq!(escalated["thread_ts"], message.ts.as_str(), "{escalated:#}");
    slack.wait_for_call("chat.update", "denied by bob");
}

#[test]
fn an_approvals_channel_without_the_signing_secret_does_not_start() {
    let slack = SlackStandIn::start();
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("slack-unsigned-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        format!(
            "{PEOPLE}\n[integrations.slack]\napi_url = \"{}\"\napprovals_channel = \"{CHANNEL}\"\nsigning_secret_secret = \"OPS_SLACK_SIGNING\"\n",
            slack.url
        ),
    )
    .unwrap();
    std::fs::write(dir.join("gated.rbk"), GATED).unwrap();
    let store = dir.join("rbk.db").display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["serve", ".", "--store", &store, "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env_remove("OPS_SLACK_SIGNING")
        .env_remove("RBK_INTAKE_TOKEN")
        .output()
        .expect("rbk runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("OPS_SLACK_SIGNING"), "{said}");
    assert!(slack.calls().is_empty());
}

#[test]
fn a_click_taken_by_another_process_updates_the_message_it_did_not_post() {
    let slack = Slackish::start("two-processes");
    // A second process on the same store that only takes requests (no workers).
    let front = Serve::start(
        &slack.dir,
        &[".", "--store", &slack.store, "--workers", "0"],
        &[
            ("SLACK_BOT_TOKEN", BOT_TOKEN),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ],
    );
    let message = slack.alert("NeedsHuman", "t1", "");
    let body = click_body(
        "U0BOB",
        "approve",
        &message.value,
        "1700000800.000001",
        &slack.slack.response_url("U0BOB"),
    );
    let timestamp = now_s();
    let signature = sign(SIGNING_SECRET, timestamp, &body);
    let answer = http::request(
        "POST",
        &format!("{}/v1/slack/interactivity", front.url),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-slack-request-timestamp", &timestamp.to_string()),
            ("x-slack-signature", &signature),
        ],
        &body,
    )
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    slack.wait_for_state(&message.run, "succeeded");
    until(
        "the front process to update the message it found in the store",
        DEADLINE,
        || front.log().contains("\"slack_updated\"").then_some(()),
        || front.log(),
    );
    let update = slack.wait_for_call("chat.update", "approved by bob");
    assert_eq!(update["ts"], message.ts.as_str());
    assert!(!front.log().contains("\"slack_posted\""), "{}", front.log());
}
