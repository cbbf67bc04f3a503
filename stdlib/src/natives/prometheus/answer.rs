//! Reading what Prometheus's query API answers: the envelope (`status`, `data` or `errorType` and
//! `error`) and the four result types (`vector`, `scalar`, `matrix`, `string`). Pure functions
//! of the status and body, so every shape is tested here without a server.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::natives::web;

/// One series of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Instant {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One series of a range query, its points oldest first: (milliseconds since the epoch, value).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Range {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum QueryResult {
    Vector(Vec<Instant>),
    Scalar(f64),
    Matrix(Vec<Range>),
    String(String),
}

impl QueryResult {
    /// What the result is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            QueryResult::Vector(_) => "an instant vector",
            QueryResult::Scalar(_) => "a scalar",
            QueryResult::Matrix(_) => "a range vector",
            QueryResult::String(_) => "a string",
        }
    }
}

/// Why an answer is not a result. `Refused` carries Prometheus's own words; `NotTheApi` means
/// something else answered (a login page, a proxy's error page, a wrong base URL).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Problem {
    Refused {
        status: u16,
        error_type: String,
        error: String,
    },
    NotTheApi {
        status: u16,
        excerpt: String,
    },
    Malformed(String),
}

impl Problem {
    /// The problem as the tail of an error message about `expr`.
    pub fn explain(&self, expr: &str) -> String {
        let expr = web::excerpt(expr, 200);
        match self {
            Problem::Refused {
                status,
                error_type,
                error,
            } => format!("Prometheus refused `{expr}` (HTTP {status}, {error_type}): {error}"),
            Problem::NotTheApi { status, excerpt } if (200..300).contains(status) => format!(
                "the answer to `{expr}` is not Prometheus's query API (is `url` under \
                 [integrations.prometheus] the server's base URL?): {excerpt}"
            ),
            Problem::NotTheApi { status, excerpt } => {
                format!("HTTP {status} for `{expr}`, not from Prometheus's query API: {excerpt}")
            }
            Problem::Malformed(what) => {
                format!("Prometheus's answer to `{expr}` is malformed: {what}")
            }
        }
    }
}

/// The result in an answer of the query API, or why there is none.
pub(crate) fn parse(status: u16, body: &str) -> Result<QueryResult, Problem> {
    let not_the_api = || Problem::NotTheApi {
        status,
        excerpt: web::excerpt(body, 300),
    };
    let envelope: Json = serde_json::from_str(body).map_err(|_| not_the_api())?;
    match envelope.get("status").and_then(Json::as_str) {
        Some("success") => {}
        Some("error") => {
            return Err(Problem::Refused {
                status,
                error_type: text(&envelope, "errorType").unwrap_or("error").to_string(),
                error: web::excerpt(text(&envelope, "error").unwrap_or("(no error text)"), 1000),
            })
        }
        _ => return Err(not_the_api()),
    }
    let data = envelope
        .get("data")
        .ok_or_else(|| Problem::Malformed("no `data`".into()))?;
    let result = data
        .get("result")
        .ok_or_else(|| Problem::Malformed("no `data.result`".into()))?;
    match text(data, "resultType") {
        Some("vector") => array(result, "data.result")?
            .iter()
            .enumerate()
            .map(|(i, series)| {
                let at = format!("data.result[{i}]");
                Ok(Instant {
                    labels: labels(series, &at)?,
                    value: sample(series, "value", &at)?.1,
                })
            })
            .collect::<Result<_, _>>()
            .map(QueryResult::Vector),
        Some("scalar") => Ok(QueryResult::Scalar(pair(result, "data.result")?.1)),
        Some("matrix") => array(result, "data.result")?
            .iter()
            .enumerate()
            .map(|(i, series)| {
                let at = format!("data.result[{i}]");
                let values = match series.get("values") {
                    Some(values) => array(values, &format!("{at}.values"))?,
                    None if series.get("histograms").is_some() => {
                        return Err(histogram(series, &at))
                    }
                    None => return Err(Problem::Malformed(format!("no `{at}.values`"))),
                };
                let points = values
                    .iter()
                    .enumerate()
                    .map(|(j, point)| pair(point, &format!("{at}.values[{j}]")))
                    .collect::<Result<_, _>>()?;
                Ok(Range {
                    labels: labels(series, &at)?,
                    points,
                })
            })
            .collect::<Result<_, _>>()
            .map(QueryResult::Matrix),
        Some("string") => {
            let items = array(result, "data.result")?;
            match items.get(1).and_then(Json::as_str) {
                Some(s) if items.len() == 2 => Ok(QueryResult::String(s.to_string())),
                _ => Err(Problem::Malformed(
                    "`data.result` is not [time, text]".into(),
                )),
            }
        }
        Some(other) => Err(Problem::Malformed(format!("unknown resultType `{other}`"))),
        None => Err(Problem::Malformed("no `data.resultType`".into())),
    }
}

fn text<'a>(json: &'a Json, key: &str) -> Option<&'a str> {
    json.get(key).and_then(Json::as_str)
}

fn array<'a>(json: &'a Json, at: &str) -> Result<&'a Vec<Json>, Problem> {
    json.as_array()
        .ok_or_else(|| Problem::Malformed(format!("`{at}` is not a list")))
}

/// `metric` of a series: label name to value (absent for a series without labels).
fn labels(series: &Json, at: &str) -> Result<BTreeMap<String, String>, Problem> {
    match series.get("metric") {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(Json::Object(map)) => map
            .iter()
            .map(|(name, value)| match value.as_str() {
                Some(v) => Ok((name.clone(), v.to_string())),
                None => Err(Problem::Malformed(format!(
                    "label `{name}` of `{at}` is not text"
                ))),
            })
            .collect(),
        Some(_) => Err(Problem::Malformed(format!(
            "`{at}.metric` is not an object"
        ))),
    }
}

/// The `[time, "value"]` under `key` of a series.
fn sample(series: &Json, key: &str, at: &str) -> Result<(i64, f64), Problem> {
    match series.get(key) {
        Some(point) => pair(point, &format!("{at}.{key}")),
        None if series.get("histogram").is_some() => Err(histogram(series, at)),
        None => Err(Problem::Malformed(format!("no `{at}.{key}`"))),
    }
}

fn histogram(series: &Json, at: &str) -> Problem {
    let labels = labels(series, at).unwrap_or_default();
    Problem::Malformed(format!(
        "the series {} is a native histogram, not a number: ask for a number from it, e.g. \
         `histogram_quantile(0.99, ...)` or `histogram_count(...)`",
        selector(&labels)
    ))
}

/// `[1700000000.123, "0.5"]`: seconds since the epoch (to the millisecond) and the value as
/// Prometheus writes it (`"NaN"`, `"+Inf"` and `"-Inf"` included).
fn pair(point: &Json, at: &str) -> Result<(i64, f64), Problem> {
    let bad = || Problem::Malformed(format!("`{at}` is not [time, \"value\"]"));
    let items = point
        .as_array()
        .filter(|items| items.len() == 2)
        .ok_or_else(bad)?;
    let seconds = items[0].as_f64().ok_or_else(bad)?;
    let value = items[1].as_str().ok_or_else(bad)?;
    Ok((
        (seconds * 1000.0).round() as i64,
        number(value).ok_or_else(bad)?,
    ))
}

fn number(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// `{job="api", instance="a:9100"}`, as PromQL writes a series (`{}` without labels).
pub(crate) fn selector(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_vector_keeps_every_series_and_its_labels() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},"value":[1700000000.5,"1"]},
            {"metric":{"job":"node"},"value":[1700000000.5,"0.25"]}]}}"#;
        assert_eq!(
            parse(200, body),
            Ok(QueryResult::Vector(vec![
                Instant {
                    labels: labels(&[
                        ("__name__", "up"),
                        ("instance", "localhost:9090"),
                        ("job", "prometheus")
                    ]),
                    value: 1.0,
                },
                Instant {
                    labels: labels(&[("job", "node")]),
                    value: 0.25,
                },
            ]))
        );
    }

    #[test]
    fn an_empty_vector_is_a_result() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse(200, body), Ok(QueryResult::Vector(vec![])));
    }

    #[test]
    fn special_values_are_numbers() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"value":[1,"NaN"]},{"metric":{},"value":[1,"+Inf"]},
            {"metric":{},"value":[1,"-Inf"]},{"metric":{},"value":[1,"1e-3"]}]}}"#;
        let Ok(QueryResult::Vector(series)) = parse(200, body) else {
            panic!("a vector")
        };
        assert!(series[0].value.is_nan());
        assert_eq!(series[1].value, f64::INFINITY);
        assert_eq!(series[2].value, f64::NEG_INFINITY);
        assert_eq!(series[3].value, 0.001);
    }

    #[test]
    fn a_scalar_is_its_number() {
        let body =
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.5"]}}"#;
        assert_eq!(parse(200, body), Ok(QueryResult::Scalar(0.5)));
    }

    #[test]
    fn a_matrix_keeps_times_to_the_millisecond() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"a"},"values":[[1700000000.123,"1"],[1700000060,"2.5"]]}]}}"#;
        assert_eq!(
            parse(200, body),
            Ok(QueryResult::Matrix(vec![Range {
                labels: labels(&[("job", "a")]),
                points: vec![(1_700_000_000_123, 1.0), (1_700_000_060_000, 2.5)],
            }]))
        );
    }

    #[test]
    fn a_string_result_is_its_text() {
        let body =
            r#"{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}"#;
        assert_eq!(parse(200, body), Ok(QueryResult::String("hello".into())));
    }

    #[test]
    fn an_error_body_carries_prometheus_words() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#;
        let problem = parse(400, body).unwrap_err();
        assert_eq!(
            problem,
            Problem::Refused {
                status: 400,
                error_type: "bad_data".into(),
                error: "invalid parameter \"query\": 1:5: parse error: unexpected end of input"
                    .into(),
            }
        );
        assert_eq!(
            problem.explain("sum(up"),
            "Prometheus refused `sum(up` (HTTP 400, bad_data): invalid parameter \"query\": 1:5: \
             parse error: unexpected end of input"
        );
        let timeout = r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
        assert!(parse(503, timeout)
            .unwrap_err()
            .explain("x")
            .contains("(HTTP 503, timeout): query timed out"));
    }

    #[test]
    fn something_else_answering_is_said_so() {
        let problem = parse(200, "<html>Sign in</html>").unwrap_err();
        assert!(problem
            .explain("up")
            .contains("not Prometheus's query API (is `url` under [integrations.prometheus]"));
        assert!(problem.explain("up").ends_with("<html>Sign in</html>"));
        let problem = parse(502, "Bad Gateway").unwrap_err();
        assert_eq!(
            problem.explain("up"),
            "HTTP 502 for `up`, not from Prometheus's query API: Bad Gateway"
        );
        assert!(matches!(
            parse(200, r#"{"hello":"world"}"#),
            Err(Problem::NotTheApi { .. })
        ));
    }

    #[test]
    fn malformed_answers_say_where() {
        for (body, expected) in [
            (r#"{"status":"success"}"#, "no `data`"),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}"#,
                "`data.result[0].value` is not [time, \"value\"]",
            ),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"2"]}]}}"#,
                "label `a` of `data.result[0]` is not text",
            ),
            (
                r#"{"status":"success","data":{"resultType":"rainbow","result":[]}}"#,
                "unknown resultType `rainbow`",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]}}"#,
                "no `data.result[0].values`",
            ),
        ] {
            assert_eq!(parse(200, body), Err(Problem::Malformed(expected.into())));
        }
    }

    #[test]
    fn a_native_histogram_asks_for_a_number() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"rpc_seconds","job":"api"},"histogram":[1,{"count":"3","sum":"1.5","buckets":[]}]}]}}"#;
        let Err(Problem::Malformed(text)) = parse(200, body) else {
            panic!("refused")
        };
        assert!(
            text.starts_with(r#"the series rpc_seconds{job="api"} is a native histogram"#),
            "{text}"
        );
        assert!(text.contains("histogram_quantile"), "{text}");
    }

    #[test]
    fn selectors_read_like_promql() {
        assert_eq!(selector(&BTreeMap::new()), "{}");
        assert_eq!(
            selector(&labels(&[("__name__", "up"), ("job", "a\"b")])),
            r#"up{job="a\"b"}"#
        );
    }
}
