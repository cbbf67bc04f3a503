//! The run pages and the decision API over plain HTTP, attacked: no person, a wrong token, the
//! proxy's identity header from elsewhere, a looker under `public_read` trying to act, the
//! run's own starter and a person outside the group voting, and `rbk approve --server`.

mod support;

use support::rbk_serve::Serve;
use support::web::{self, WebProject, HOSTILE};
use support::{http, rbk_in};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn without_a_person_pages_send_to_the_login_form_and_the_api_answers_401() {
    let project = WebProject::new("anonymous", "");
    let alice = project.token("alice");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "anon-1");
    for path in [
        "/".to_string(),
        format!("/runs/{run}"),
        format!("/runs/{run}/events"),
    ] {
        let answer = web::get(&format!("{}{path}", serve.url), &[]);
        assert_eq!(answer.status, 303, "{path}: {}", answer.body);
        assert_eq!(
            answer.header("location").as_deref(),
            Some("/login"),
            "{path}"
        );
    }
    let api = format!("{}/v1/runs/{run}/decisions", serve.url);
    let body = r#"{"step":"clear","decision":"approve"}"#;
    let answer = http::post_json(&api, &[], body).unwrap();
    assert_eq!(answer.status, 401, "{}", answer.body);
    let wrong = http::post_json(&api, &[("authorization", "Bearer rbk_guess")], body).unwrap();
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let wrong_page = web::get(
        &format!("{}/", serve.url),
        &[("authorization", "Bearer rbk_guess")],
    );
    assert_eq!(wrong_page.status, 401, "{}", wrong_page.body);
    // A session cookie someone made up is no session.
    let forged = web::get(
        &format!("{}/", serve.url),
        &[("cookie", "rbk_session=616c696365.99999999999999.00.ff")],
    );
    assert_eq!(forged.status, 303, "{}", forged.body);
    assert_eq!(project.state(&run), "waiting");

    // The right token opens every page, escaped.
    let page = web::get(
        &format!("{}/runs/{run}", serve.url),
        &[("authorization", &bearer(&alice))],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(HOSTILE), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;"), "{}", page.body);
    // The runbook's picture is on the page, drawn by the compiler.
    assert!(page.body.contains("<svg"), "{}", page.body);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let list = web::get(
        &format!("{}/", serve.url),
        &[("authorization", &bearer(&alice))],
    );
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&run), "{}", list.body);
}

#[test]
fn the_session_cookie_is_http_only_and_same_site_strict() {
    let project = WebProject::new("cookie", "");
    let alice = project.token("alice");
    let serve = project.serve();
    let form = web::get(&format!("{}/login", serve.url), &[]);
    let login_cookie = web::cookie_set(&form, "rbk_login").unwrap();
    let signed = web::post_form(
        &format!("{}/login", serve.url),
        &[("cookie", login_cookie.split(';').next().unwrap())],
        &format!("token={alice}&csrf={}", web::csrf_of(&form.body)),
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    let session = web::cookie_set(&signed, "rbk_session").unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http on loopback: {session}"
    );
    // The login form itself wants its own CSRF token.
    let no_csrf = web::post_form(
        &format!("{}/login", serve.url),
        &[("cookie", login_cookie.split(';').next().unwrap())],
        &format!("token={alice}"),
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
}

#[test]
fn the_identity_header_counts_only_from_the_trusted_proxy() {
    let untrusted = WebProject::new(
        "proxy-elsewhere",
        "[web]\ntrusted_proxy = { header = \"X-Forwarded-User\", from = [\"10.9.9.9\"] }\n",
    );
    let serve = untrusted.serve();
    let answer = web::get(&format!("{}/", serve.url), &[("x-forwarded-user", "alice")]);
    assert_eq!(answer.status, 403, "{}", answer.body);
    // Without the header the login form is there as usual.
    let answer = web::get(&format!("{}/", serve.url), &[]);
    assert_eq!(answer.status, 303);
    drop(serve);

    let trusted = WebProject::new(
        "proxy-here",
        // The proxy names people rbk.toml knows; a name it does not know cannot vote.
        "[people.bob]\n\n[web]\ntrusted_proxy = { header = \"X-Forwarded-User\", from = [\"127.0.0.1/32\"] }\n",
    );
    let serve = trusted.serve();
    let run = trusted.start_waiting_run(&serve, "proxy-1");
    let page = web::get(
        &format!("{}/runs/{run}", serve.url),
        &[("x-forwarded-user", "bob")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("signed in as <strong>bob</strong>"),
        "{}",
        page.body
    );
    let vote = format!(
        "step=clear&decision=approve&csrf={}",
        web::csrf_of(&page.body)
    );
    // Someone the proxy names but rbk.toml does not know may look, never vote.
    let stranger = web::get(
        &format!("{}/runs/{run}", serve.url),
        &[("x-forwarded-user", "mallory")],
    );
    let strangers_vote = format!(
        "step=clear&decision=approve&csrf={}",
        web::csrf_of(&stranger.body)
    );
    let refused = web::post_form(
        &format!("{}/runs/{run}/decisions", serve.url),
        &[("x-forwarded-user", "mallory")],
        &strangers_vote,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Refused: "), "{}", refused.body);
    let voted = web::post_form(
        &format!("{}/runs/{run}/decisions", serve.url),
        &[("x-forwarded-user", "bob")],
        &vote,
    );
    assert_eq!(voted.status, 303, "{}", voted.body);
    trusted.wait_for_state(&serve, &run, "succeeded");
    assert!(trusted.verified_log(&run).contains("web 127.0.0.1 (proxy)"));
}

#[test]
fn public_read_lets_anyone_look_but_never_act() {
    let project = WebProject::new("public", "[web]\npublic_read = true\n");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "public-1");
    let page = web::get(&format!("{}/runs/{run}", serve.url), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains("name=\"csrf\""),
        "a looker got a form:\n{}",
        page.body
    );
    let voted = web::post_form(
        &format!("{}/runs/{run}/decisions", serve.url),
        &[],
        "step=clear&decision=approve",
    );
    assert_eq!(voted.status, 303, "{}", voted.body);
    assert_eq!(voted.header("location").as_deref(), Some("/login"));
    let api = http::post_json(
        &format!("{}/v1/runs/{run}/decisions", serve.url),
        &[],
        r#"{"step":"clear","decision":"approve"}"#,
    )
    .unwrap();
    assert_eq!(api.status, 401, "{}", api.body);
    assert_eq!(project.state(&run), "waiting");
}

#[test]
fn the_api_refuses_who_may_not_vote_with_the_reason() {
    let project = WebProject::new("api-rules", "");
    let carol = project.token("carol");
    let bob = project.token("bob");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "rules-1");
    let api = format!("{}/v1/runs/{run}/decisions", serve.url);
    let body = r#"{"step":"clear","decision":"approve"}"#;
    let outsider = http::post_json(&api, &[("authorization", &bearer(&carol))], body).unwrap();
    assert_eq!(outsider.status, 403, "{}", outsider.body);
    assert!(
        outsider.json()["error"]
            .as_str()
            .unwrap()
            .contains("oncall"),
        "{}",
        outsider.body
    );
    // A vote for a plan other than the one waiting does not count.
    let wrong_plan = http::post_json(
        &api,
        &[("authorization", &bearer(&bob))],
        r#"{"step":"clear","decision":"approve","digest":"sha256:not-the-plan"}"#,
    )
    .unwrap();
    assert_eq!(wrong_plan.status, 409, "{}", wrong_plan.body);
    assert_eq!(project.state(&run), "waiting");
    assert!(!project.effect().exists());
}

#[test]
fn rbk_approve_with_server_decides_through_the_api() {
    let project = WebProject::new("remote", "");
    let bob = project.token("bob");
    let serve: Serve = project.serve();
    let run = project.start_waiting_run(&serve, "remote-1");
    let no_token = rbk_in(
        &project.dir,
        &[
            "approve",
            &run,
            "clear",
            "--server",
            &serve.url,
            "--token-env",
            "RBK_TEST_NO_SUCH_VAR",
        ],
    );
    assert_eq!(no_token.status, 2, "{}{}", no_token.stdout, no_token.stderr);
    assert!(
        no_token.stderr.contains("RBK_TEST_NO_SUCH_VAR"),
        "{}",
        no_token.stderr
    );
    let approved = std::process::Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["approve", &run, "clear", "--server", &serve.url])
        .current_dir(&project.dir)
        .env("RBK_TOKEN", &bob)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&approved.stdout);
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert!(
        stdout.contains(&format!("approved step `clear` of run {run} as bob")),
        "{stdout}"
    );
    project.wait_for_state(&serve, &run, "succeeded");
    assert!(project.effect().exists());
    assert!(project.verified_log(&run).contains("api 127.0.0.1 (token)"));
    // Once decided, another vote is refused with the reason, exit 1.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["deny", &run, "clear", "--server", &serve.url])
        .current_dir(&project.dir)
        .env("RBK_TOKEN", &bob)
        .output()
        .unwrap();
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{again_out}");
    assert!(again_out.contains("no longer waits"), "{again_out}");
    assert!(!again_out.contains("denied step"), "{again_out}");
}

#[test]
fn rbk_token_create_keeps_the_file_and_stores_only_the_hash() {
    let project = WebProject::new("token", "");
    let made = rbk_in(&project.dir, &["token", "create", "--as", "dave"]);
    assert_eq!(made.status, 0, "{}{}", made.stdout, made.stderr);
    let token = made.stdout.lines().last().unwrap().trim().to_string();
    assert!(
        made.stdout.contains("had no [people.dave]"),
        "{}",
        made.stdout
    );
    let toml = std::fs::read_to_string(project.dir.join("rbk.toml")).unwrap();
    assert!(toml.starts_with("# people who answer pages\n"), "{toml}");
    assert!(toml.contains("# the rota"), "{toml}");
    assert!(
        !toml.contains(&token),
        "the token itself was stored:\n{toml}"
    );
    assert!(
        toml.contains("[people.dave]\ntokens = [\"sha256:"),
        "{toml}"
    );
    let blank = rbk_in(&project.dir, &["token", "create", "--as", " "]);
    assert_eq!(blank.status, 2, "{}", blank.stderr);
}
