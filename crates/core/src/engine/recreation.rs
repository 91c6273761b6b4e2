//! The plain parts of a `Recreate` fix: the API server refuses to change an immutable
//! field, so the object is deleted and created again with the field at its desired value.
//! Here: which object is replaced ([`Recreation`]), the object created in its place
//! ([`replacement`]), the body of the dry-run create that checks the replacement first
//! ([`dry_run_probe`]), and what the `Remediated` Event says ([`describe`]). The operator
//! runs the requests.

use serde_json::Value;

use crate::engine::patch::union_into;

/// Metadata the API server sets on every object; a replacement starts without it.
const SERVER_SET: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The object a `Recreate` fix replaces: the uid its drift was seen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recreation {
    pub uid: String,
}

/// The object to create in place of `live`: its content less what the server sets, with
/// `body` (the governed fields, at their desired values where they are being fixed) over
/// it. Keyed lists merge by their keys; a `null` in the body leaves the field out.
pub fn replacement(live: &Value, body: &Value) -> Value {
    let mut kept = live.clone();
    if let Some(object) = kept.as_object_mut() {
        object.remove("status");
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_SET {
                metadata.remove(field);
            }
        }
    }
    let mut new = body.clone();
    union_into(&mut new, &kept);
    drop_nulls(&mut new);
    new
}

/// The replacement under a name generated from `name`, for the dry-run create: while the
/// old object exists, creating one of the same name is refused before validation, so the
/// dry run uses `generateName` with the same prefix instead. It runs the same defaulting,
/// validation and admission on the same body; only the name's uniqueness goes unchecked.
pub fn dry_run_probe(replacement: &Value, name: &str) -> Value {
    let mut probe = replacement.clone();
    if let Some(metadata) = probe.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("name");
        metadata.insert("generateName".to_string(), Value::String(format!("{name}-")));
    }
    probe
}

/// What the `Remediated` Event says of a recreation that restored `paths`, the new object
/// having `new_uid`.
pub fn describe(new_uid: Option<&str>, paths: &[String]) -> String {
    format!(
        "recreated (deleted and created again as uid {}) to restore {}",
        new_uid.unwrap_or("unknown"),
        paths.join(", ")
    )
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_replacement_keeps_the_object_but_not_what_the_server_set() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7", "generation": 3,
                         "creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": [{"manager": "kubectl"}],
                         "labels": {"app": "web", "team": "shop"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "o1"}]},
            "spec": {"selector": {"matchLabels": {"app": "old"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
            "status": {"replicas": 1}
        });
        let body = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {"gone": null}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "securityContext": {"runAsNonRoot": true}}]}}}
        });
        assert_eq!(
            replacement(&live, &body),
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop", "annotations": {},
                             "labels": {"app": "web", "team": "shop"},
                             "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "o1"}]},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                         "template": {"spec": {"containers": [{"name": "app", "image": "web:1", "securityContext": {"runAsNonRoot": true}}]}}}
            })
        );
    }

    #[test]
    fn the_dry_run_create_generates_a_name() {
        let probe = dry_run_probe(
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "shop"}}),
            "tls",
        );
        assert_eq!(
            probe,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "tls-", "namespace": "shop"}})
        );
    }

    #[test]
    fn a_recreation_is_described_with_the_new_uid() {
        let paths = ["/spec/selector".to_string(), "/spec/clusterIP".to_string()];
        assert_eq!(
            describe(Some("u2"), &paths),
            "recreated (deleted and created again as uid u2) to restore /spec/selector, /spec/clusterIP"
        );
        assert!(describe(None, &paths).contains("as uid unknown"));
    }
}
