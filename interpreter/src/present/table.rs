//! Lists of records as tables: the columns that matter for the record shapes the standard
//! library returns, every scalar field for the rest.

use serde_json::Value as Json;

use super::{cell, truncate};

/// A list of records as rows of text, at most `max_rows` of them; `more` counts the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub more: usize,
    /// What one record is called, singular and plural: ("session", "sessions").
    pub noun: (&'static str, &'static str),
}

/// A record shape whose columns are chosen by hand: the fields an approver needs to see to
/// know which records the action touches.
pub(super) struct Shape {
    noun: (&'static str, &'static str),
    /// A record has this shape when it has all these fields.
    requires: &'static [&'static str],
    /// (heading, field, widest cell in display columns).
    columns: &'static [(&'static str, &'static str, usize)],
}

/// `std.postgres` Session, `std.k8s` Pod and Deployment, and a Kubernetes node as runbooks
/// commonly declare it.
const SHAPES: &[Shape] = &[
    Shape {
        noun: ("session", "sessions"),
        requires: &["pid", "state", "query"],
        columns: &[
            ("pid", "pid", 12),
            ("user", "user", 24),
            ("application", "application", 24),
            ("client", "client_addr", 40),
            ("state", "state", 20),
            ("idle", "idle", 16),
            ("query", "query", 120),
        ],
    },
    Shape {
        noun: ("pod", "pods"),
        requires: &["name", "phase", "restarts"],
        columns: &[
            ("name", "name", 63),
            ("namespace", "namespace", 32),
            ("phase", "phase", 16),
            ("restarts", "restarts", 8),
            ("node", "node", 40),
            ("created", "created", 20),
        ],
    },
    Shape {
        noun: ("deployment", "deployments"),
        requires: &["name", "replicas", "ready_replicas"],
        columns: &[
            ("name", "name", 63),
            ("namespace", "namespace", 32),
            ("ready", "ready_replicas", 8),
            ("replicas", "replicas", 8),
        ],
    },
    Shape {
        noun: ("node", "nodes"),
        requires: &["name", "ready"],
        columns: &[
            ("name", "name", 63),
            ("ready", "ready", 8),
            ("roles", "roles", 24),
            ("version", "version", 20),
            ("pods", "pods", 8),
            ("created", "created", 20),
        ],
    },
];

/// Unknown records show at most this many of their scalar fields.
const GENERIC_COLUMNS: usize = 8;
/// The widest cell of an unknown record's column.
const GENERIC_WIDTH: usize = 60;

/// The hand-chosen shape `record` has, if any.
pub(super) fn known_shape(record: &Json) -> Option<&'static Shape> {
    let fields = record.as_object()?;
    SHAPES
        .iter()
        .find(|shape| shape.requires.iter().all(|f| fields.contains_key(*f)))
}

/// A list of records (JSON objects) as a table of at most `max_rows` rows; `None` for anything
/// else (an empty list, a list of plain values, a single value). Records of a known shape get
/// its columns; others get their scalar fields (records keep their fields sorted by name).
pub fn record_table(value: &Json, max_rows: usize) -> Option<RecordTable> {
    let items = value.as_array()?;
    if items.is_empty() || !items.iter().all(Json::is_object) {
        return None;
    }
    let (noun, columns): (_, Vec<(String, String, usize)>) =
        match items.first().and_then(known_shape).filter(|shape| {
            items
                .iter()
                .all(|i| known_shape(i).is_some_and(|s| std::ptr::eq(s, *shape)))
        }) {
            Some(shape) => (
                shape.noun,
                shape
                    .columns
                    .iter()
                    .filter(|(_, field, _)| items.iter().any(|i| i.get(*field).is_some()))
                    .map(|(heading, field, width)| (heading.to_string(), field.to_string(), *width))
                    .collect(),
            ),
            None => (("record", "records"), scalar_fields(items)),
        };
    if columns.is_empty() {
        return None;
    }
    let rows = items
        .iter()
        .take(max_rows)
        .map(|item| {
            columns
                .iter()
                .map(|(_, field, width)| match item.get(field) {
                    Some(value) => truncate(&cell(value), *width),
                    None => String::new(),
                })
                .collect()
        })
        .collect();
    Some(RecordTable {
        columns: columns.into_iter().map(|(heading, _, _)| heading).collect(),
        rows,
        more: items.len().saturating_sub(max_rows),
        noun,
    })
}

/// Fields that hold a plain value (not a list or map) in some record, in the records' order.
fn scalar_fields(items: &[Json]) -> Vec<(String, String, usize)> {
    let mut fields: Vec<String> = Vec::new();
    for item in items {
        for (name, value) in item.as_object().into_iter().flatten() {
            if !value.is_array() && !value.is_object() && !fields.contains(name) {
                fields.push(name.clone());
            }
        }
    }
    fields
        .into_iter()
        .take(GENERIC_COLUMNS)
        .map(|name| (super::clean(&name), name, GENERIC_WIDTH))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session(pid: i64) -> Json {
        json!({"pid": pid, "user": "app", "application": "orders-api", "client_addr": "10.0.0.7",
               "state": "idle", "idle": "2h", "backend_start": "2026-12-01T10:00:00Z",
               "query": "SELECT * FROM orders WHERE customer_id = $1 AND status = 'open' ORDER BY created_at DESC LIMIT 100 -- a long tail that keeps going"})
    }

    #[test]
    fn sessions_show_the_columns_an_approver_needs_and_cap_the_rows() {
        let sessions = Json::Array((1..=50).map(session).collect());
        let table = record_table(&sessions, 10).unwrap();
        assert_eq!(
            table.columns,
            [
                "pid",
                "user",
                "application",
                "client",
                "state",
                "idle",
                "query"
            ]
        );
        assert_eq!(table.rows.len(), 10);
        assert_eq!(table.more, 40);
        assert_eq!(table.noun, ("session", "sessions"));
        assert_eq!(table.rows[0][0], "1");
        assert_eq!(table.rows[0][3], "10.0.0.7");
        assert!(table.rows[0][6].ends_with('…'), "{}", table.rows[0][6]);
    }

    #[test]
    fn pods_show_name_phase_restarts_node_and_creation() {
        let pods = json!([{"name": "orders-api-1", "namespace": "prod", "phase": "Running",
            "restarts": 7, "created": "2026-12-01T10:00:00Z", "node": "node-a", "labels": {"app": "x"}}]);
        let table = record_table(&pods, 10).unwrap();
        assert_eq!(
            table.columns,
            ["name", "namespace", "phase", "restarts", "node", "created"]
        );
        assert_eq!(
            table.rows[0],
            [
                "orders-api-1",
                "prod",
                "Running",
                "7",
                "node-a",
                "2026-12-01T10:00:00Z"
            ]
        );
        assert_eq!(table.more, 0);
    }

    #[test]
    fn deployments_and_nodes_have_their_own_columns() {
        let deployments = json!([{"name": "orders-api", "namespace": "prod", "replicas": 3, "ready_replicas": 1}]);
        let table = record_table(&deployments, 10).unwrap();
        assert_eq!(table.columns, ["name", "namespace", "ready", "replicas"]);
        assert_eq!(table.rows[0], ["orders-api", "prod", "1", "3"]);
        let nodes = json!([{"name": "node-a", "ready": false, "roles": "worker", "kernel": "6.1"}]);
        let table = record_table(&nodes, 10).unwrap();
        assert_eq!(table.noun, ("node", "nodes"));
        assert_eq!(table.columns, ["name", "ready", "roles"]);
        assert_eq!(table.rows[0], ["node-a", "false", "worker"]);
    }

    #[test]
    fn unknown_records_show_their_scalar_fields_and_skip_nested_ones() {
        let rows =
            json!([{"b": 1, "a": "x", "nested": {"k": 1}, "list": [1]}, {"a": "y", "c": true}]);
        let table = record_table(&rows, 10).unwrap();
        assert_eq!(table.columns, ["a", "b", "c"]);
        assert_eq!(table.rows, [["x", "1", ""], ["y", "", "true"]]);
        assert_eq!(table.noun, ("record", "records"));
    }

    #[test]
    fn a_mixed_list_is_not_forced_into_one_known_shape() {
        let mixed = json!([session(1), {"pid": 2, "note": "hand-made"}]);
        let table = record_table(&mixed, 10).unwrap();
        assert_eq!(table.noun, ("record", "records"));
        assert_eq!(table.columns.len(), GENERIC_COLUMNS, "{:?}", table.columns);
    }

    #[test]
    fn anything_but_a_non_empty_list_of_records_is_not_a_table() {
        for value in [
            json!([]),
            json!([1, 2]),
            json!({"pid": 1}),
            json!("x"),
            json!([{"a": [1]}]),
        ] {
            assert_eq!(record_table(&value, 10), None, "{value}");
        }
    }
}
