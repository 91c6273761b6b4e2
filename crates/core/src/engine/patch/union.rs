//! One apply body from several: the union of the governed fields of every template that
//! governs an object, so the `driftwarden` field manager always applies all of them at once
//! (an apply that left one template's fields out would make the API server remove them).

use serde_json::{Map, Value};

use crate::engine::merge_keys::{ListType, list_type};
use crate::engine::pointer;
use crate::engine::scope::group_of;

/// Adds the fields of `other` to `into`. Maps merge; items of keyed lists merge by their
/// keys; any other value already in `into` is kept (the first template wins where two
/// disagree, and the disagreement itself shows as drift on the other).
pub fn union_into(into: &mut Value, other: &Value) {
    let api_version = into.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = into.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut path = Vec::new();
    merge(group_of(&api_version), &kind, &mut path, into, other);
}

fn merge(group: &str, kind: &str, path: &mut Vec<String>, into: &mut Value, other: &Value) {
    match (into, other) {
        (Value::Object(into), Value::Object(other)) => merge_maps(group, kind, path, into, other),
        (Value::Array(into), Value::Array(other)) => {
            let ListType::Map(keys) = list_type(group, kind, path) else { return };
            for item in other {
                let token = item_token(keys, item);
                match into.iter_mut().find(|existing| token.is_some() && item_token(keys, existing) == token) {
                    Some(existing) => {
                        path.push(token.unwrap_or_default());
                        merge(group, kind, path, existing, item);
                        path.pop();
                    }
                    None => into.push(item.clone()),
                }
            }
        }
        _ => {}
    }
}

fn merge_maps(
    group: &str,
    kind: &str,
    path: &mut Vec<String>,
    into: &mut Map<String, Value>,
    other: &Map<String, Value>,
) {
    for (key, value) in other {
        match into.get_mut(key) {
            Some(existing) => {
                path.push(key.clone());
                merge(group, kind, path, existing, value);
                path.pop();
            }
            None => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

fn item_token(keys: &[&str], item: &Value) -> Option<String> {
    let fields = keys.iter().map(|key| Some((*key, item.get(*key)?.to_string()))).collect::<Option<Vec<_>>>()?;
    Some(pointer::item_token(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_and_keyed_lists_merge_and_the_first_value_wins() {
        let mut body = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"team": "shop"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}}
        });
        let other = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"tier": "web", "team": "other"}},
            "spec": {"template": {"spec": {
                "automountServiceAccountToken": false,
                "containers": [{"name": "app", "securityContext": {"runAsNonRoot": true}}, {"name": "proxy", "image": "envoy:1"}]
            }}}
        });
        union_into(&mut body, &other);
        assert_eq!(body["metadata"]["labels"], json!({"team": "shop", "tier": "web"}));
        let spec = &body["spec"]["template"]["spec"];
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(
            spec["containers"],
            json!([{"name": "app", "image": "web:1", "securityContext": {"runAsNonRoot": true}}, {"name": "proxy", "image": "envoy:1"}])
        );
    }

    #[test]
    fn atomic_lists_are_not_mixed() {
        let mut body = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"tolerations": [{"key": "a"}]}});
        union_into(&mut body, &json!({"apiVersion": "v1", "kind": "Pod", "spec": {"tolerations": [{"key": "b"}]}}));
        assert_eq!(body["spec"]["tolerations"], json!([{"key": "a"}]));
    }
}
