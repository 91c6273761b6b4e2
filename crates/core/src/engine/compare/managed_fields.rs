//! Field ownership from `metadata.managedFields`: which field manager owns a live field,
//! and who last wrote a drifted one.
//!
//! Each entry holds a FieldsV1 tree: `f:<name>` for a field, `k:<json>` for an item of a
//! keyed list (its key fields as a JSON object), `v:<json>` for a member of a set, and
//! `.` for the item or member itself. A path is owned by an entry when the tree holds
//! every step of it. The trees are read where they are, lazily, only for drifted fields.

use serde_json::{Map, Value};

use super::path::{Step, key_value};
use crate::engine::drift::Attribution;
use crate::engine::normalize::scalar_eq;
use crate::engine::schema::Scalar;

/// The managed-fields entries of one live object.
pub(crate) struct ManagedFields<'a> {
    entries: Vec<Entry<'a>>,
}

struct Entry<'a> {
    manager: &'a str,
    operation: &'a str,
    time: Option<&'a str>,
    fields: &'a Map<String, Value>,
}

/// How far an entry's tree reaches along a path.
struct Reach {
    /// The tree holds the whole path.
    whole: bool,
    /// The number of steps to the deepest item or member the tree owns itself (`.`).
    owned_ancestor: usize,
}

impl<'a> ManagedFields<'a> {
    /// The FieldsV1 entries of `object` (none when it has no managed fields).
    pub(crate) fn of(object: Option<&'a Value>) -> Self {
        let entries = object
            .and_then(|object| object.pointer("/metadata/managedFields"))
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(Entry::read).collect())
            .unwrap_or_default();
        Self { entries }
    }

    /// Whether one of `managers` owns the field at `path`.
    pub(crate) fn owned_by_any(&self, path: &[Step<'_>], managers: &[String]) -> bool {
        self.entries
            .iter()
            .filter(|entry| managers.iter().any(|manager| manager == entry.manager))
            .any(|entry| entry.reach(path).whole)
    }

    /// Who last wrote the field at `path`: the owners of the field itself, else the
    /// owners of its closest owned ancestor item (for a field that was removed from an
    /// item), the most recent first.
    pub(crate) fn attribution(&self, path: &[Step<'_>]) -> Option<Attribution> {
        let best = self
            .entries
            .iter()
            .map(|entry| {
                let reach = entry.reach(path);
                let rank = if reach.whole { usize::MAX } else { reach.owned_ancestor };
                (rank, entry)
            })
            .filter(|(rank, _)| *rank > 0)
            .max_by(|(rank_a, a), (rank_b, b)| rank_a.cmp(rank_b).then_with(|| compare_times(a.time, b.time)))?;
        let entry = best.1;
        Some(Attribution {
            manager: entry.manager.to_string(),
            operation: entry.operation.to_string(),
            time: entry.time.map(str::to_string),
        })
    }
}

impl<'a> Entry<'a> {
    fn read(entry: &'a Value) -> Option<Self> {
        if entry.get("fieldsType").and_then(Value::as_str).is_some_and(|kind| kind != "FieldsV1") {
            return None;
        }
        Some(Self {
            manager: entry.get("manager").and_then(Value::as_str).unwrap_or(""),
            operation: entry.get("operation").and_then(Value::as_str).unwrap_or(""),
            time: entry.get("time").and_then(Value::as_str),
            fields: entry.get("fieldsV1")?.as_object()?,
        })
    }

    fn reach(&self, path: &[Step<'_>]) -> Reach {
        let mut tree = self.fields;
        let mut owned_ancestor = 0;
        for (depth, step) in path.iter().enumerate() {
            let Some(next) = child(tree, step) else {
                return Reach { whole: false, owned_ancestor };
            };
            if next.contains_key(".") {
                owned_ancestor = depth + 1;
            }
            tree = next;
        }
        Reach { whole: true, owned_ancestor }
    }
}

/// The subtree of a FieldsV1 tree for one step.
fn child<'t>(tree: &'t Map<String, Value>, step: &Step<'_>) -> Option<&'t Map<String, Value>> {
    match step {
        Step::Field(name) => field_child(tree, name),
        Step::Item { keys, item, node } => tree
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("k:")?, value)))
            .find(|(key, _)| {
                serde_json::from_str::<Map<String, Value>>(key).is_ok_and(|owned| {
                    owned.len() == keys.len()
                        && keys.iter().all(|field| match (owned.get(*field), key_value(item, *node, field)) {
                            (Some(a), Some(b)) => scalar_eq(Scalar::Plain, a, &b),
                            _ => false,
                        })
                })
            })
            .and_then(|(_, value)| value.as_object()),
        Step::Member(member) => tree
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("v:")?, value)))
            .find(|(key, _)| {
                serde_json::from_str::<Value>(key).is_ok_and(|owned| scalar_eq(Scalar::Plain, &owned, member))
            })
            .and_then(|(_, value)| value.as_object()),
    }
}

/// The subtree `f:<name>`, looked up without building the key for usual names.
fn field_child<'t>(tree: &'t Map<String, Value>, name: &str) -> Option<&'t Map<String, Value>> {
    let mut buffer = [0_u8; 96];
    let key = match buffer.get_mut(..name.len() + 2) {
        Some(key) => {
            key[..2].copy_from_slice(b"f:");
            key[2..].copy_from_slice(name.as_bytes());
            std::str::from_utf8(key).ok()?
        }
        None => return tree.get(&format!("f:{name}"))?.as_object(),
    };
    tree.get(key)?.as_object()
}

/// Orders managed-fields times (RFC 3339); a missing or unreadable time is the oldest.
fn compare_times(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    let parse = |time: Option<&str>| time.and_then(|time| time.parse::<jiff::Timestamp>().ok());
    parse(a).cmp(&parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kind::Kind;
    use crate::engine::schema::{Field, Position, resolve};

    const LIVE: &str = r#"
metadata:
  managedFields:
    - manager: helm
      operation: Update
      time: "2024-05-01T09:00:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:replicas: {}
          f:template:
            f:spec:
              f:containers:
                k:{"name":"app"}:
                  .: {}
                  f:name: {}
                  f:env:
                    k:{"name":"LOG_LEVEL"}:
                      .: {}
                      f:name: {}
                      f:value: {}
                  f:ports:
                    k:{"containerPort":8080,"protocol":"TCP"}:
                      .: {}
                      f:containerPort: {}
    - manager: kubectl-edit
      operation: Update
      time: "2024-05-02T10:42:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:template:
            f:spec:
              f:containers:
                k:{"name":"app"}:
                  f:image: {}
    - manager: finalizer-bot
      operation: Apply
      time: "2024-05-03T00:00:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:finalizers:
            v:"example.com/cleanup": {}
    - manager: hpa
      operation: Update
      time: "2024-05-04T00:00:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:replicas: {}
"#;

    fn live() -> Value {
        serde_yaml::from_str(LIVE).unwrap()
    }

    fn item(value: &Value) -> &Map<String, Value> {
        value.as_object().unwrap()
    }

    #[test]
    fn the_exact_owner_wins_and_the_latest_among_owners() {
        let live = live();
        let managed = ManagedFields::of(Some(&live));
        let app = serde_json::json!({"name": "app"});
        let image = [
            Step::Field("spec"),
            Step::Field("template"),
            Step::Field("spec"),
            Step::Field("containers"),
            Step::Item { keys: &["name"], item: item(&app), node: None },
            Step::Field("image"),
        ];
        let attribution = managed.attribution(&image).unwrap();
        assert_eq!(attribution.manager, "kubectl-edit");
        assert_eq!(attribution.operation, "Update");
        assert_eq!(attribution.time.as_deref(), Some("2024-05-02T10:42:00Z"));

        let replicas = [Step::Field("spec"), Step::Field("replicas")];
        assert_eq!(managed.attribution(&replicas).unwrap().manager, "hpa");
        assert!(managed.owned_by_any(&replicas, &["hpa".to_string()]));
        assert!(!managed.owned_by_any(&image, &["hpa".to_string()]));
    }

    #[test]
    fn a_removed_field_is_attributed_to_the_owner_of_its_item() {
        let live = live();
        let managed = ManagedFields::of(Some(&live));
        let app = serde_json::json!({"name": "app"});
        let removed = [
            Step::Field("spec"),
            Step::Field("template"),
            Step::Field("spec"),
            Step::Field("containers"),
            Step::Item { keys: &["name"], item: item(&app), node: None },
            Step::Field("securityContext"),
        ];
        assert_eq!(managed.attribution(&removed).unwrap().manager, "helm");
        assert!(managed.attribution(&[Step::Field("data")]).is_none());
    }

    #[test]
    fn long_annotation_keys_are_found() {
        let key = format!("example.com/{}", "x".repeat(120));
        let live = serde_json::json!({"metadata": {"managedFields": [{
            "manager": "annotator", "operation": "Apply", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:annotations": {format!("f:{key}"): {}, "f:short": {}}}}
        }]}});
        let managed = ManagedFields::of(Some(&live));
        for name in [key.as_str(), "short"] {
            let path = [Step::Field("metadata"), Step::Field("annotations"), Step::Field(name)];
            assert_eq!(managed.attribution(&path).map(|a| a.manager), Some("annotator".to_string()), "{name}");
        }
    }

    #[test]
    fn keyed_items_with_defaulted_keys_and_set_members() {
        let live = live();
        let managed = ManagedFields::of(Some(&live));
        let Position::Field(Field::List { items, .. }) =
            resolve(Kind::Deployment, &["spec", "template", "spec", "containers", "*", "ports"])
        else {
            panic!("ports is a list")
        };
        let app = serde_json::json!({"name": "app"});
        let port = serde_json::json!({"containerPort": 8080});
        let path = [
            Step::Field("spec"),
            Step::Field("template"),
            Step::Field("spec"),
            Step::Field("containers"),
            Step::Item { keys: &["name"], item: item(&app), node: None },
            Step::Field("ports"),
            Step::Item { keys: &["containerPort", "protocol"], item: item(&port), node: *items },
            Step::Field("containerPort"),
        ];
        assert!(managed.owned_by_any(&path, &["helm".to_string()]));
        let member = serde_json::json!("example.com/cleanup");
        let finalizer = [Step::Field("metadata"), Step::Field("finalizers"), Step::Member(&member)];
        assert_eq!(managed.attribution(&finalizer).unwrap().manager, "finalizer-bot");
    }
}
