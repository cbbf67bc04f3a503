//! `prometheus.query(expr)`, `prometheus.value(expr, default)` and
//! `prometheus.query_range(expr, range, start, end, step)`: the Prometheus HTTP API v1
//! (`GET /api/v1/query`, `GET /api/v1/query_range`) of `[integrations.prometheus] url`.
//!
//! `value` is what a verify polls (`expect prometheus.value("…") < 0.7 within 2m`), so it returns
//! a plain `float`: an empty result is the step's failure unless the runbook says what absence
//! means with `default:`, because a series that vanished (a scrape target down, a renamed
//! metric) must not read as a fixed problem. Whatever Prometheus refuses (bad PromQL, a query
//! timeout) fails the step with Prometheus's own error text.

mod answer;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rbk_compiler::config::PrometheusConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};

use self::answer::{QueryResult, Range};
use super::json_api::{JsonApi, Request};
use super::web::{self, EnvLookup};
use super::NativeAction;

const DEFAULT_URL: &str = "http://localhost:9090";
/// `query_range`'s window when neither `range` nor `start` is given.
const DEFAULT_RANGE_MS: u64 = 60 * 60 * 1000;
/// At most this many series are named when `value` finds several.
const SERIES_NAMED: usize = 3;

/// The server all three actions query.
pub(crate) struct Prometheus {
    pub(crate) api: JsonApi,
}

impl Prometheus {
    pub(crate) fn new(config: Option<&PrometheusConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        Prometheus {
            api: JsonApi::new(
                "Prometheus",
                "[integrations.prometheus]",
                config.url.unwrap_or_else(|| DEFAULT_URL.to_string()),
                config.bearer_token_secret,
                env,
            ),
        }
    }

    async fn run(
        &self,
        path: &str,
        expr: &str,
        query: Vec<(&'static str, String)>,
    ) -> Result<QueryResult, ActionError> {
        let answer = self.api.send(Request::get(path, query)).await?;
        answer::parse(answer.status.as_u16(), &answer.body)
            .map_err(|problem| ActionError::new(problem.explain(expr)))
    }

    /// An instant query of `expr`, evaluated now.
    async fn instant(&self, expr: &str) -> Result<QueryResult, ActionError> {
        self.run("/api/v1/query", expr, vec![("query", expr.to_string())])
            .await
    }
}

/// The three actions, sharing one server configuration.
/// Its bearer token is read through `secrets`, as `secret()` reads.
pub fn actions(
    config: Option<&PrometheusConfig>,
    secrets: EnvLookup,
) -> Vec<Box<dyn NativeAction>> {
    vec![
        Box::new(Query {
            prometheus: Prometheus::new(config, secrets.clone()),
        }),
        Box::new(SingleValue {
            prometheus: Prometheus::new(config, secrets.clone()),
        }),
        Box::new(QueryRange {
            prometheus: Prometheus::new(config, secrets.clone()),
        }),
    ]
}

fn expr_arg(call: &ActionCall) -> Result<&str, ActionError> {
    let expr = web::string_arg(call, "expr")?;
    if expr.trim().is_empty() {
        return Err(ActionError::new(
            "`expr` is empty; give a PromQL expression",
        ));
    }
    Ok(expr)
}

fn labels_value(labels: BTreeMap<String, String>) -> Value {
    Value::Map(
        labels
            .into_iter()
            .map(|(k, v)| (k, Value::Str(v)))
            .collect(),
    )
}

fn sample_value(labels: BTreeMap<String, String>, value: f64) -> Value {
    Value::Record(BTreeMap::from([
        ("labels".to_string(), labels_value(labels)),
        ("value".to_string(), Value::Float(value)),
    ]))
}

/// `prometheus.query`.
pub struct Query {
    pub(crate) prometheus: Prometheus,
}

impl NativeAction for Query {
    fn name(&self) -> &'static str {
        "prometheus.query"
    }

    fn arity(&self) -> usize {
        1
    }

    fn effect(&self) -> Effect {
        Effect::Read
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let expr = expr_arg(call)?;
            match self.prometheus.instant(expr).await? {
                QueryResult::Vector(series) => Ok(Value::List(
                    series
                        .into_iter()
                        .map(|s| sample_value(s.labels, s.value))
                        .collect(),
                )),
                QueryResult::Scalar(value) => {
                    Ok(Value::List(vec![sample_value(BTreeMap::new(), value)]))
                }
                other => Err(not_a_number(expr, &other)),
            }
        })
    }
}

/// A result `query` and `value` cannot give as numbers now.
fn not_a_number(expr: &str, result: &QueryResult) -> ActionError {
    let hint = match result {
        QueryResult::Matrix(_) => {
            " (it selects a time range, `[…]`): wrap it in a function such as `rate(…)` or \
             `max_over_time(…)`, or use prometheus.query_range for values over time"
        }
        _ => "",
    };
    ActionError::new(format!(
        "`{}` is {}, not an instant vector or a scalar{hint}",
        web::excerpt(expr, 200),
        result.describe()
    ))
}

/// `prometheus.value`.
pub struct SingleValue {
    pub(crate) prometheus: Prometheus,
}

impl NativeAction for SingleValue {
    fn name(&self) -> &'static str {
        "prometheus.value"
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Read
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let expr = expr_arg(call)?;
            let default = match call.arg("default") {
                None | Some(Value::None) => None,
                Some(Value::Float(x)) => Some(*x),
                Some(Value::Int(i)) => Some(*i as f64),
                Some(other) => {
                    return Err(ActionError::new(format!(
                        "`default` must be a float, not a {}",
                        other.type_name()
                    )))
                }
            };
            let series = match self.prometheus.instant(expr).await? {
                QueryResult::Scalar(value) => return Ok(Value::Float(value)),
                QueryResult::Vector(series) => series,
                other => return Err(not_a_number(expr, &other)),
            };
            one_number(expr, series, default).map(Value::Float)
        })
    }
}

/// The one number of an instant vector, `default` for an empty one.
fn one_number(
    expr: &str,
    series: Vec<answer::Instant>,
    default: Option<f64>,
) -> Result<f64, ActionError> {
    let expr = web::excerpt(expr, 200);
    match series.as_slice() {
        [one] => Ok(one.value),
        [] => default.ok_or_else(|| {
            ActionError::new(format!(
                "`{expr}` matched no series, so it has no value; if no series means a \
                 number (none firing: 0), say so with `default:`, e.g. \
                 `prometheus.value(\"…\", default: 0.0)`"
            ))
        }),
        several => {
            let mut named: Vec<String> = several
                .iter()
                .take(SERIES_NAMED)
                .map(|s| answer::selector(&s.labels))
                .collect();
            if several.len() > SERIES_NAMED {
                named.push(format!("and {} more", several.len() - SERIES_NAMED));
            }
            Err(ActionError::new(format!(
                "`{expr}` gave {} series, not one number: {}; aggregate them (e.g. \
                 `sum(…)`, `max(…)`) or select one, or use prometheus.query for every series",
                several.len(),
                named.join(", ")
            )))
        }
    }
}

/// `prometheus.query_range`.
pub struct QueryRange {
    pub(crate) prometheus: Prometheus,
}

impl NativeAction for QueryRange {
    fn name(&self) -> &'static str {
        "prometheus.query_range"
    }

    fn arity(&self) -> usize {
        5
    }

    fn effect(&self) -> Effect {
        Effect::Read
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let expr = expr_arg(call)?;
            let window = Window::from_call(call, now_ms())?;
            let query = vec![
                ("query", expr.to_string()),
                ("start", seconds(window.start)),
                ("end", seconds(window.end)),
                ("step", seconds(window.step as i64)),
            ];
            match self
                .prometheus
                .run("/api/v1/query_range", expr, query)
                .await?
            {
                QueryResult::Matrix(series) => {
                    Ok(Value::List(series.into_iter().map(series_value).collect()))
                }
                other => Err(ActionError::new(format!(
                    "Prometheus answered the range query `{}` with {}, not a range \
                     vector",
                    web::excerpt(expr, 200),
                    other.describe()
                ))),
            }
        })
    }
}

fn series_value(series: Range) -> Value {
    let points = series
        .points
        .into_iter()
        .map(|(time, value)| {
            Value::Record(BTreeMap::from([
                ("time".to_string(), Value::Time(time)),
                ("value".to_string(), Value::Float(value)),
            ]))
        })
        .collect();
    Value::Record(BTreeMap::from([
        ("labels".to_string(), labels_value(series.labels)),
        ("points".to_string(), Value::List(points)),
    ]))
}

/// A range query's window and resolution, in milliseconds.
#[derive(Debug, PartialEq)]
struct Window {
    start: i64,
    end: i64,
    step: u64,
}

impl Window {
    /// `start` to `end`, or the `range` before `end` (the last hour when neither is given);
    /// `end` defaults to `now`.
    fn from_call(call: &ActionCall, now: i64) -> Result<Window, ActionError> {
        let optional = |name: &str| match call.arg(name) {
            None | Some(Value::None) => None,
            Some(value) => Some(value.clone()),
        };
        let end = match optional("end") {
            None => now,
            Some(Value::Time(ms)) => ms,
            Some(other) => return Err(wrong_type("end", "time", &other)),
        };
        let range = match optional("range") {
            None => None,
            Some(Value::Duration(ms)) => Some(ms),
            Some(other) => return Err(wrong_type("range", "duration", &other)),
        };
        let start = match (optional("start"), range) {
            (Some(_), Some(_)) => {
                return Err(ActionError::new(
                    "give either `range` (the window before `end`) or `start`, not both",
                ))
            }
            (Some(Value::Time(ms)), None) => ms,
            (Some(other), None) => return Err(wrong_type("start", "time", &other)),
            (None, range) => end.saturating_sub(
                i64::try_from(range.unwrap_or(DEFAULT_RANGE_MS)).unwrap_or(i64::MAX),
            ),
        };
        let step = match call.arg("step") {
            Some(Value::Duration(ms)) => *ms,
            None => 60_000,
            Some(other) => return Err(wrong_type("step", "duration", other)),
        };
        if step == 0 {
            return Err(ActionError::new(
                "`step` is 0s; give a positive resolution, e.g. `step: 15s`",
            ));
        }
        if start >= end {
            return Err(ActionError::new(format!(
                "the window is empty: it starts at {} and ends at {}",
                rbk_interpreter::value::format_time(start),
                rbk_interpreter::value::format_time(end)
            )));
        }
        Ok(Window { start, end, step })
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> ActionError {
    ActionError::new(format!(
        "`{name}` must be a {expected}, not a {}",
        got.type_name()
    ))
}

/// Milliseconds as the API's seconds: `1700000000.123`.
fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!("{sign}{}.{:03}", ms / 1000, ms % 1000)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};
    use rbk_compiler::types::Ty;

    fn call(action: &str, args: Vec<(&str, Value)>) -> ActionCall {
        ActionCall {
            action: action.into(),
            effect: Effect::Read,
            returns_handle: None,
            returns: Ty::Unknown,
            args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            run_id: "run-1".into(),
        }
    }

    fn prometheus(server: &CaptureServer) -> Prometheus {
        let config = PrometheusConfig {
            url: Some(server.url.clone()),
            bearer_token_secret: None,
        };
        let mut prometheus = Prometheus::new(Some(&config), Arc::new(|_| None));
        prometheus.api.base_delay = Duration::from_millis(1);
        prometheus
    }

    fn vector(values: &[(&str, &str)]) -> String {
        let result: Vec<String> = values
            .iter()
            .map(|(job, value)| {
                format!(r#"{{"metric":{{"job":"{job}"}},"value":[1700000000,"{value}"]}}"#)
            })
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            result.join(",")
        )
    }

    async fn value(body: String, default: Value) -> Result<Value, ActionError> {
        let server = CaptureServer::start(vec![Reply::new(200, body)]).await;
        let action = SingleValue {
            prometheus: prometheus(&server),
        };
        action
            .call(&call(
                "prometheus.value",
                vec![("expr", Value::str("sum(up)")), ("default", default)],
            ))
            .await
    }

    #[tokio::test]
    async fn value_is_the_one_number() {
        assert_eq!(
            value(vector(&[("a", "0.25")]), Value::None).await,
            Ok(Value::Float(0.25))
        );
        let scalar =
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}"#.to_string();
        assert_eq!(value(scalar, Value::None).await, Ok(Value::Float(7.0)));
    }

    #[tokio::test]
    async fn an_empty_result_needs_a_default() {
        let error = value(vector(&[]), Value::None).await.unwrap_err();
        assert!(
            error.message.starts_with("`sum(up)` matched no series"),
            "{}",
            error.message
        );
        assert!(error.message.contains("default: 0.0"), "{}", error.message);
        assert_eq!(
            value(vector(&[]), Value::Float(0.0)).await,
            Ok(Value::Float(0.0))
        );
        // The default is for absence only: a real value wins over it.
        assert_eq!(
            value(vector(&[("a", "3")]), Value::Float(0.0)).await,
            Ok(Value::Float(3.0))
        );
    }

    #[tokio::test]
    async fn several_series_are_named_not_picked() {
        let body = vector(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")]);
        let error = value(body, Value::Float(0.0)).await.unwrap_err();
        assert_eq!(
            error.message,
            "`sum(up)` gave 5 series, not one number: {job=\"a\"}, \
             {job=\"b\"}, {job=\"c\"}, and 2 more; aggregate them (e.g. `sum(…)`, `max(…)`) or \
             select one, or use prometheus.query for every series"
        );
    }

    #[tokio::test]
    async fn a_range_vector_is_refused_with_what_to_do() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        let error = value(body.to_string(), Value::None).await.unwrap_err();
        assert!(
            error
                .message
                .contains("is a range vector, not an instant vector or a scalar"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("prometheus.query_range"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn query_sends_the_expression_and_returns_every_series() {
        let server =
            CaptureServer::start(vec![Reply::new(200, vector(&[("a", "1"), ("b", "0.5")]))]).await;
        let action = Query {
            prometheus: prometheus(&server),
        };
        let result = action
            .call(&call(
                "prometheus.query",
                vec![("expr", Value::str(r#"up{job=~"a|b"}"#))],
            ))
            .await
            .unwrap();
        assert_eq!(
            result,
            Value::List(vec![
                sample_value(BTreeMap::from([("job".into(), "a".into())]), 1.0),
                sample_value(BTreeMap::from([("job".into(), "b".into())]), 0.5),
            ])
        );
        let requests = server.requests();
        assert_eq!(requests[0].method, "GET");
        assert_eq!(
            requests[0].path,
            "/api/v1/query?query=up%7Bjob%3D%7E%22a%7Cb%22%7D"
        );
    }

    #[tokio::test]
    async fn bad_promql_fails_with_prometheus_error() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"1:7: parse error: unclosed left parenthesis"}"#;
        let server = CaptureServer::start(vec![Reply::new(400, body)]).await;
        let action = Query {
            prometheus: prometheus(&server),
        };
        let error = action
            .call(&call(
                "prometheus.query",
                vec![("expr", Value::str("sum(up"))],
            ))
            .await
            .unwrap_err();
        assert_eq!(
            error.message,
            "Prometheus refused `sum(up` (HTTP 400, bad_data): 1:7: parse \
             error: unclosed left parenthesis"
        );
        assert_eq!(server.requests().len(), 1, "a refusal is not retried");
    }

    #[tokio::test]
    async fn an_empty_expression_is_refused_before_sending() {
        let server = CaptureServer::start(vec![Reply::new(200, vector(&[]))]).await;
        let action = Query {
            prometheus: prometheus(&server),
        };
        let error = action
            .call(&call("prometheus.query", vec![("expr", Value::str("  "))]))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("`expr` is empty"),
            "{}",
            error.message
        );
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn query_range_sends_the_window_and_returns_points() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"a"},"values":[[1700000000,"1"],[1700000060,"2"]]}]}}"#;
        let server = CaptureServer::start(vec![Reply::new(200, body)]).await;
        let action = QueryRange {
            prometheus: prometheus(&server),
        };
        let result = action
            .call(&call(
                "prometheus.query_range",
                vec![
                    ("expr", Value::str("up")),
                    ("range", Value::Duration(600_000)),
                    ("start", Value::None),
                    ("end", Value::Time(1_700_000_060_500)),
                    ("step", Value::Duration(15_000)),
                ],
            ))
            .await
            .unwrap();
        let point = |time, value| {
            Value::Record(BTreeMap::from([
                ("time".to_string(), Value::Time(time)),
                ("value".to_string(), Value::Float(value)),
            ]))
        };
        assert_eq!(
            result,
            Value::List(vec![Value::Record(BTreeMap::from([
                (
                    "labels".to_string(),
                    Value::Map(BTreeMap::from([("job".into(), Value::str("a"))]))
                ),
                (
                    "points".to_string(),
                    Value::List(vec![
                        point(1_700_000_000_000, 1.0),
                        point(1_700_000_060_000, 2.0)
                    ])
                ),
            ]))])
        );
        assert_eq!(
            server.requests()[0].path,
            "/api/v1/query_range?query=up&start=1699999460.500&end=1700000060.500&step=15.000"
        );
    }

    fn window(args: Vec<(&str, Value)>) -> Result<Window, ActionError> {
        Window::from_call(&call("prometheus.query_range", args), 10_000_000)
    }

    #[test]
    fn windows_default_to_the_last_hour_until_now() {
        assert_eq!(
            window(vec![]),
            Ok(Window {
                start: 10_000_000 - 3_600_000,
                end: 10_000_000,
                step: 60_000
            })
        );
        assert_eq!(
            window(vec![
                ("start", Value::Time(1_000)),
                ("end", Value::Time(5_000)),
                ("step", Value::Duration(1_000))
            ]),
            Ok(Window {
                start: 1_000,
                end: 5_000,
                step: 1_000
            })
        );
    }

    #[test]
    fn windows_that_cannot_be_are_refused() {
        let both = window(vec![
            ("range", Value::Duration(1_000)),
            ("start", Value::Time(1_000)),
        ])
        .unwrap_err();
        assert!(both.message.contains("not both"), "{}", both.message);
        let empty = window(vec![
            ("start", Value::Time(5_000)),
            ("end", Value::Time(5_000)),
        ])
        .unwrap_err();
        assert!(
            empty.message.contains("the window is empty"),
            "{}",
            empty.message
        );
        let step = window(vec![("step", Value::Duration(0))]).unwrap_err();
        assert!(step.message.contains("`step` is 0s"), "{}", step.message);
    }

    #[test]
    fn seconds_keep_milliseconds() {
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(5), "0.005");
        assert_eq!(seconds(-1_500), "-1.500");
    }
}
