//! Conflicting fields: two parts of one policy that would hold one field of one object at
//! different values. Such a policy could never be satisfied (each fix would undo the
//! other), so it is refused as a whole, naming both parts and the field.
//!
//! Parts may govern the same object when they are two `resources` for one object, a
//! baseline whose `match` selects a `resources` manifest, or two baselines of one kind
//! whose matches are not provably disjoint (disjoint names or namespaces, or selectors
//! that require different values of one label). Values themselves are never quoted: a
//! template may hold Secret data.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use crate::api::TargetMatch;
use crate::engine::merge_keys::list_type_at;
use crate::engine::pointer::{escape, item_token};
use crate::engine::schema::ListType;
use crate::engine::selector::{MatchScope, target_matches};

/// One part of a policy that sets fields: where it is written and its template.
pub(super) struct Part<'a> {
    /// The field of the policy, for example `spec.baselines[1].template`.
    pub field: String,
    pub template: &'a Value,
    pub target: PartTarget<'a>,
}

/// What a part governs.
pub(super) enum PartTarget<'a> {
    /// One declared object; its namespace is the one it is governed in.
    Resource {
        namespace: Option<&'a str>,
    },
    Baseline(&'a TargetMatch),
}

/// A conflict: the two parts and the path they disagree on.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Conflict {
    pub first: String,
    pub second: String,
    pub path: String,
}

/// Every pair of parts that may govern one object and set a field differently; at most
/// one path is reported per pair (the first in document order).
pub(super) fn conflicts(parts: &[Part<'_>], policy_namespace: Option<&str>) -> Vec<Conflict> {
    let mut found = Vec::new();
    for (index, first) in parts.iter().enumerate() {
        for second in &parts[index + 1..] {
            if !may_govern_one_object(first, second, policy_namespace) {
                continue;
            }
            let api_version = first.template.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = first.template.get("kind").and_then(Value::as_str).unwrap_or_default();
            let mut paths = Vec::new();
            differing(first.template, second.template, api_version, kind, String::new(), &mut paths);
            if let Some(path) = paths.into_iter().next() {
                found.push(Conflict { first: first.field.clone(), second: second.field.clone(), path });
            }
        }
    }
    found
}

fn same_kind(a: &Value, b: &Value) -> bool {
    a.get("apiVersion") == b.get("apiVersion") && a.get("kind") == b.get("kind")
}

fn may_govern_one_object(a: &Part<'_>, b: &Part<'_>, policy_namespace: Option<&str>) -> bool {
    if !same_kind(a.template, b.template) {
        return false;
    }
    match (&a.target, &b.target) {
        (PartTarget::Resource { namespace: first }, PartTarget::Resource { namespace: second }) => {
            first == second && a.template.pointer("/metadata/name") == b.template.pointer("/metadata/name")
        }
        (PartTarget::Resource { namespace }, PartTarget::Baseline(target))
        | (PartTarget::Baseline(target), PartTarget::Resource { namespace }) => {
            let manifest = if matches!(a.target, PartTarget::Resource { .. }) { a.template } else { b.template };
            baseline_selects_manifest(target, manifest, *namespace, policy_namespace)
        }
        (PartTarget::Baseline(first), PartTarget::Baseline(second)) => !disjoint(first, second),
    }
}

/// Whether a baseline's match selects the object a manifest declares. Namespace labels are
/// not known when a policy is compiled, so a `namespaceSelector` is taken to match.
fn baseline_selects_manifest(
    target: &TargetMatch,
    manifest: &Value,
    namespace: Option<&str>,
    policy_namespace: Option<&str>,
) -> bool {
    let mut probe = manifest.clone();
    if let (Some(namespace), Some(metadata)) = (namespace, probe.get_mut("metadata").and_then(Value::as_object_mut)) {
        metadata.insert("namespace".into(), Value::String(namespace.to_string()));
    }
    let target = TargetMatch { namespace_selector: None, ..target.clone() };
    let no_labels = |_: &str| None;
    let scope = MatchScope { policy_namespace, namespace_labels: &no_labels };
    target_matches(&target, &probe, &scope).unwrap_or(false)
}

/// Whether no object can be selected by both matches.
fn disjoint(a: &TargetMatch, b: &TargetMatch) -> bool {
    let none_shared = |x: &[String], y: &[String]| !x.is_empty() && !y.is_empty() && !x.iter().any(|n| y.contains(n));
    if none_shared(&a.names, &b.names) || none_shared(&a.namespaces, &b.namespaces) {
        return true;
    }
    match (&a.selector, &b.selector) {
        (Some(x), Some(y)) => selectors_disjoint(x, y) || selectors_disjoint(y, x),
        _ => false,
    }
}

/// Whether a label required by `x` (`matchLabels`, or `Exists`) is ruled out by `y`.
fn selectors_disjoint(x: &LabelSelector, y: &LabelSelector) -> bool {
    let empty = BTreeMap::new();
    let required = x.match_labels.as_ref().unwrap_or(&empty);
    let y_labels = y.match_labels.as_ref().unwrap_or(&empty);
    let y_expressions = y.match_expressions.as_deref().unwrap_or_default();
    let x_exists = x.match_expressions.iter().flatten().filter(|r| r.operator == "Exists").map(|r| &r.key);
    required.iter().any(|(key, value)| {
        y_labels.get(key).is_some_and(|other| other != value)
            || y_expressions.iter().any(|r| {
                let values = r.values.as_deref().unwrap_or_default();
                r.key == *key
                    && match r.operator.as_str() {
                        "In" => !values.contains(value),
                        "NotIn" => values.contains(value),
                        "DoesNotExist" => true,
                        _ => false,
                    }
            })
    }) || x_exists.into_iter().any(|key| y_expressions.iter().any(|r| r.key == *key && r.operator == "DoesNotExist"))
}

/// Collects the paths where `a` and `b` both set a field, to different values. Maps are
/// merged field by field and keyed lists item by item, as server-side apply merges them;
/// any other list is one value.
fn differing(a: &Value, b: &Value, api_version: &str, kind: &str, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                if path.is_empty() && (key == "apiVersion" || key == "kind") {
                    continue;
                }
                if let Some(other) = b.get(key) {
                    differing(value, other, api_version, kind, format!("{path}/{}", escape(key)), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => match list_type_at(api_version, kind, &path) {
            ListType::Map(keys) => {
                let key_of = |item: &Value| {
                    keys.iter()
                        .map(|field| item.get(*field).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                        .collect::<Option<Vec<String>>>()
                };
                for item in a {
                    let Some(key) = key_of(item) else { continue };
                    if let Some(other) = b.iter().find(|other| key_of(other).as_ref() == Some(&key)) {
                        let token = item_token(keys.iter().copied().zip(key));
                        differing(item, other, api_version, kind, format!("{path}/{}", escape(&token)), out);
                    }
                }
            }
            // The items of a set are owned one by one: two templates may add different ones.
            ListType::Set => {}
            ListType::Atomic if a != b => out.push(path),
            ListType::Atomic => {}
        },
        _ if a != b => out.push(path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(value: Value) -> TargetMatch {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn keyed_lists_merge_item_by_item_and_atomic_lists_are_one_value() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "web:1"}, {"name": "side", "image": "proxy:1"}],
            "tolerations": [{"key": "a"}]}}}});
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "web:2"}, {"name": "other", "image": "proxy:2"}],
            "tolerations": [{"key": "b"}]}}}});
        let mut out = Vec::new();
        differing(&a, &b, "apps/v1", "Deployment", String::new(), &mut out);
        assert_eq!(
            out,
            vec!["/spec/template/spec/containers/name=app/image".to_string(), "/spec/template/spec/tolerations".into()]
        );
    }

    #[test]
    fn selectors_requiring_different_values_are_disjoint() {
        let web =
            target(json!({"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"tier": "web"}}}));
        let db = target(json!({"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"tier": "db"}}}));
        let not_web = target(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}}));
        let team = target(json!({"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"team": "x"}}}));
        let named = target(json!({"apiVersion": "v1", "kind": "ConfigMap", "names": ["a"]}));
        let other_name = target(json!({"apiVersion": "v1", "kind": "ConfigMap", "names": ["b"]}));
        assert!(disjoint(&web, &db));
        assert!(disjoint(&web, &not_web));
        assert!(disjoint(&not_web, &web));
        assert!(disjoint(&named, &other_name));
        assert!(!disjoint(&web, &team), "an object may carry both labels");
        assert!(!disjoint(&web, &named));
        assert!(!disjoint(&db, &not_web));
    }
}
