//! The columns of a kind's table: a CRD's `additionalPrinterColumns`, or for built-in
//! kinds a few of the columns kube-apiserver prints (always Name first, Age last).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{age, jsonpath};
use crate::resources::ResourceKind;

/// Where a cell's value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `metadata.name`
    Name,
    /// The age of `metadata.creationTimestamp`.
    Age,
    /// A JSONPath into the object, read as the column's type.
    Path(String),
    /// Computed from the object.
    Computed(fn(&Value) -> Value),
}

/// One column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The header (`Name`, `Ready`).
    pub name: String,
    /// The OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub kind: String,
    /// The OpenAPI format (`name` for the name column).
    pub format: String,
    /// What the column shows.
    pub description: String,
    /// 0 for the default view, higher for `-o wide`.
    pub priority: i64,
    /// Where the value comes from.
    pub source: Source,
}

impl Column {
    fn new(name: &str, kind: &str, source: Source) -> Self {
        Column {
            name: name.to_string(),
            kind: kind.to_string(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            source,
        }
    }

    fn name_column() -> Self {
        Column {
            format: "name".to_string(),
            description: "Name must be unique within a namespace.".to_string(),
            ..Column::new("Name", "string", Source::Name)
        }
    }

    fn age_column() -> Self {
        Column {
            description: "CreationTimestamp is a timestamp representing the server time when this object was created."
                .to_string(),
            ..Column::new("Age", "string", Source::Age)
        }
    }

    /// The column's definition in a Table.
    pub fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }

    /// The cell of `object` in this column.
    pub fn cell(&self, object: &Value, now: Timestamp) -> Value {
        match &self.source {
            Source::Name => json!(object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()),
            Source::Age => {
                let created = object.pointer("/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or_default();
                json!(age::since(created, now))
            }
            Source::Computed(compute) => compute(object),
            Source::Path(path) => {
                let found = jsonpath::select(object, path);
                match (self.kind.as_str(), found.as_slice()) {
                    (_, []) => Value::Null,
                    ("date", [first, ..]) => first.as_str().map(|t| json!(age::since(t, now))).unwrap_or(Value::Null),
                    (_, [single]) => (*single).clone(),
                    (_, many) => json!(many.iter().map(|v| text(v)).collect::<Vec<_>>().join(",")),
                }
            }
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn int_at(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn count_keys(object: &Value) -> Value {
    let count = |key: &str| object.get(key).and_then(Value::as_object).map_or(0, |m| m.len());
    json!(count("data") + count("binaryData"))
}

fn ready_of_replicas(object: &Value) -> Value {
    json!(format!("{}/{}", int_at(object, "/status/readyReplicas"), int_at(object, "/spec/replicas")))
}

fn ready_containers(object: &Value) -> Value {
    let statuses = object.pointer("/status/containerStatuses").and_then(Value::as_array);
    let ready = statuses.map_or(0, |s| s.iter().filter(|c| c.get("ready") == Some(&json!(true))).count());
    let total = object.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
    json!(format!("{ready}/{total}"))
}

fn restarts(object: &Value) -> Value {
    let statuses = object.pointer("/status/containerStatuses").and_then(Value::as_array);
    json!(statuses.map_or(0, |s| s.iter().map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0)).sum()))
}

fn role_ref(object: &Value) -> Value {
    let kind = object.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
    let name = object.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
    json!(format!("{kind}/{name}"))
}

fn object_reference(object: &Value, field: &str) -> Value {
    let reference = object.get(field);
    let text = |key: &str| reference.and_then(|r| r.get(key)).and_then(Value::as_str).unwrap_or_default();
    json!(format!("{}/{}", text("kind").to_lowercase(), text("name")))
}

fn involved_object(object: &Value) -> Value {
    object_reference(object, "involvedObject")
}

fn regarding(object: &Value) -> Value {
    object_reference(object, "regarding")
}

/// A PodDisruptionBudget's bound as kube-apiserver prints it: the number or percentage,
/// `N/A` when unset.
fn int_or_string_or_na(object: &Value, pointer: &str) -> Value {
    match object.pointer(pointer) {
        Some(Value::Number(n)) => json!(n.to_string()),
        Some(Value::String(s)) => json!(s),
        _ => json!("N/A"),
    }
}

/// An Ingress's rule hosts, `*` for a rule without one.
fn ingress_hosts(object: &Value) -> Value {
    let rules = object.pointer("/spec/rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let hosts: Vec<&str> = rules.iter().map(|r| r.get("host").and_then(Value::as_str).unwrap_or("*")).collect();
    json!(hosts.join(","))
}

fn path(name: &str, kind: &str, path: &str) -> Column {
    Column::new(name, kind, Source::Path(path.to_string()))
}

fn computed(name: &str, kind: &str, compute: fn(&Value) -> Value) -> Column {
    Column::new(name, kind, Source::Computed(compute))
}

/// The columns of a built-in kind.
pub fn builtin(kind: &ResourceKind) -> Vec<Column> {
    let middle = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Namespace") => vec![path("Status", "string", ".status.phase")],
        ("", "ConfigMap") => vec![computed("Data", "integer", count_keys)],
        ("", "Secret") => vec![path("Type", "string", ".type"), computed("Data", "integer", count_keys)],
        ("", "Service") => vec![path("Type", "string", ".spec.type"), path("Cluster-IP", "string", ".spec.clusterIP")],
        ("", "Pod") => vec![
            computed("Ready", "string", ready_containers),
            path("Status", "string", ".status.phase"),
            computed("Restarts", "integer", restarts),
        ],
        ("", "Event") => vec![
            path("Type", "string", ".type"),
            path("Reason", "string", ".reason"),
            computed("Object", "string", involved_object),
            path("Message", "string", ".message"),
        ],
        ("events.k8s.io", "Event") => vec![
            path("Type", "string", ".type"),
            path("Reason", "string", ".reason"),
            computed("Object", "string", regarding),
            path("Message", "string", ".note"),
        ],
        ("apps", "Deployment") => vec![
            computed("Ready", "string", ready_of_replicas),
            path("Up-to-date", "integer", ".status.updatedReplicas"),
            path("Available", "integer", ".status.availableReplicas"),
        ],
        ("apps", "StatefulSet") => vec![computed("Ready", "string", ready_of_replicas)],
        ("apps", "ReplicaSet") => vec![
            path("Desired", "integer", ".spec.replicas"),
            path("Current", "integer", ".status.replicas"),
            path("Ready", "integer", ".status.readyReplicas"),
        ],
        ("apps", "DaemonSet") => vec![
            path("Desired", "integer", ".status.desiredNumberScheduled"),
            path("Current", "integer", ".status.currentNumberScheduled"),
            path("Ready", "integer", ".status.numberReady"),
        ],
        ("batch", "Job") => vec![path("Succeeded", "integer", ".status.succeeded")],
        ("batch", "CronJob") => {
            vec![path("Schedule", "string", ".spec.schedule"), path("Suspend", "boolean", ".spec.suspend")]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            vec![computed("Role", "string", role_ref)]
        }
        ("networking.k8s.io", "Ingress") => {
            vec![path("Class", "string", ".spec.ingressClassName"), computed("Hosts", "string", ingress_hosts)]
        }
        ("policy", "PodDisruptionBudget") => vec![
            computed("Min Available", "string", |o| int_or_string_or_na(o, "/spec/minAvailable")),
            computed("Max Unavailable", "string", |o| int_or_string_or_na(o, "/spec/maxUnavailable")),
            computed("Allowed Disruptions", "integer", |o| json!(int_at(o, "/status/disruptionsAllowed"))),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            path("Value", "integer", ".value"),
            computed("Global-Default", "boolean", |o| json!(o.get("globalDefault") == Some(&json!(true)))),
        ],
        ("coordination.k8s.io", "Lease") => vec![path("Holder", "string", ".spec.holderIdentity")],
        _ => Vec::new(),
    };
    let mut columns = vec![Column::name_column()];
    columns.extend(middle);
    columns.push(Column::age_column());
    columns
}

/// The columns of a custom resource at `version`: Name, then the CRD's
/// `additionalPrinterColumns`, or Age when it declares none.
pub fn from_crd(crd: &Value, version: &str) -> Vec<Column> {
    let declared = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|versions| versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(version)))
        .and_then(|v| v.get("additionalPrinterColumns"))
        .and_then(Value::as_array);
    let mut columns = vec![Column::name_column()];
    match declared {
        Some(declared) if !declared.is_empty() => {
            for c in declared {
                let field = |key: &str| c.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                columns.push(Column {
                    name: field("name"),
                    kind: field("type"),
                    format: field("format"),
                    description: field("description"),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    source: Source::Path(field("jsonPath")),
                });
            }
        }
        _ => columns.push(Column::age_column()),
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_columns_read_the_object() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "additionalPrinterColumns": [
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1}]}]}});
        let columns = from_crd(&crd, "v1");
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["Name", "Ready", "Size"]);
        let object = json!({"metadata": {"name": "w"}, "spec": {"size": 3},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let now = Timestamp::now();
        let cells: Vec<Value> = columns.iter().map(|c| c.cell(&object, now)).collect();
        assert_eq!(cells, vec![json!("w"), json!("True"), json!(3)]);
        assert_eq!(from_crd(&crd, "v2").len(), 2, "Name and Age without declared columns");
    }
}
