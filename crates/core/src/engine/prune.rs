//! What the operator keeps of a watched object: the fields its policies govern, the
//! metadata selectors and exceptions read, and the field ownership (`managedFields`) of the
//! governed fields only, so that memory grows with governed fields, not with whole objects.
//!
//! A [`FieldMask`] is the union of the templates that govern a kind. Lists are kept whole
//! (an item's identity is in its merge key, which the template may not spell out), and so is
//! everything below an empty object in a template. `metadata` is always kept, less its
//! `managedFields` (pruned to the mask) and the `last-applied-configuration` annotation.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::engine::secret::LAST_APPLIED_ANNOTATION as LAST_APPLIED;

/// The fields worth keeping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldMask {
    /// Nothing is governed.
    #[default]
    Nothing,
    /// Everything below this point.
    Whole,
    /// Only these fields, each with its own mask.
    Fields(BTreeMap<String, FieldMask>),
}

impl FieldMask {
    /// The union of the fields `templates` set. A Secret's `stringData` is compared with
    /// its `data` (the API server folds one into the other), so it keeps `data` too.
    pub fn of<'a>(templates: impl IntoIterator<Item = &'a Value>) -> Self {
        let mask = templates.into_iter().fold(Self::Nothing, |mask, template| mask.union(Self::of_value(template)));
        match mask {
            Self::Fields(mut fields) if fields.contains_key("stringData") => {
                fields.insert("data".to_string(), Self::Whole);
                Self::Fields(fields)
            }
            mask => mask,
        }
    }

    fn of_value(template: &Value) -> Self {
        match template {
            Value::Object(fields) if !fields.is_empty() => {
                Self::Fields(fields.iter().map(|(name, value)| (name.clone(), Self::of_value(value))).collect())
            }
            _ => Self::Whole,
        }
    }

    /// The fields either mask keeps.
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (Self::Nothing, other) | (other, Self::Nothing) => other,
            (Self::Whole, _) | (_, Self::Whole) => Self::Whole,
            (Self::Fields(mut mine), Self::Fields(theirs)) => {
                for (name, mask) in theirs {
                    let merged = mine.remove(&name).unwrap_or_default().union(mask);
                    mine.insert(name, merged);
                }
                Self::Fields(mine)
            }
        }
    }

    /// Whether everything `other` keeps, this mask keeps too.
    pub fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (_, Self::Nothing) | (Self::Whole, _) => true,
            (Self::Nothing, _) | (Self::Fields(_), Self::Whole) => false,
            (Self::Fields(mine), Self::Fields(theirs)) => {
                theirs.iter().all(|(name, mask)| mine.get(name).is_some_and(|kept| kept.covers(mask)))
            }
        }
    }

    fn field(&self, name: &str) -> Option<&Self> {
        match self {
            Self::Whole => Some(&Self::Whole),
            Self::Fields(fields) => fields.get(name).filter(|mask| **mask != Self::Nothing),
            Self::Nothing => None,
        }
    }

    /// `object` with only what comparison, selection and attribution read: `apiVersion`,
    /// `kind`, `metadata` (with `managedFields` pruned to the mask and without the
    /// last-applied annotation) and the governed fields.
    pub fn prune(&self, object: Value) -> Value {
        let Value::Object(fields) = object else { return object };
        let mut kept = Map::new();
        for (name, value) in fields {
            match name.as_str() {
                "apiVersion" | "kind" => {
                    kept.insert(name, value);
                }
                "metadata" => {
                    kept.insert(name, self.prune_metadata(value));
                }
                _ => {
                    if let Some(mask) = self.field(&name) {
                        kept.insert(name, mask.keep(value));
                    }
                }
            }
        }
        Value::Object(kept)
    }

    fn keep(&self, value: Value) -> Value {
        match (self, value) {
            (Self::Fields(mask), Value::Object(fields)) => Value::Object(
                fields
                    .into_iter()
                    .filter_map(|(name, value)| {
                        mask.get(&name).filter(|m| **m != Self::Nothing).map(|m| (name, m.keep(value)))
                    })
                    .collect(),
            ),
            (_, value) => value,
        }
    }

    fn prune_metadata(&self, metadata: Value) -> Value {
        let Value::Object(mut metadata) = metadata else { return metadata };
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.remove(LAST_APPLIED);
        }
        if let Some(Value::Array(entries)) = metadata.remove("managedFields") {
            let entries: Vec<Value> = entries.into_iter().filter_map(|entry| self.prune_entry(entry)).collect();
            if !entries.is_empty() {
                metadata.insert("managedFields".to_string(), Value::Array(entries));
            }
        }
        Value::Object(metadata)
    }

    /// One managedFields entry with its FieldsV1 tree cut to the mask; `None` when it owns
    /// no governed field.
    fn prune_entry(&self, entry: Value) -> Option<Value> {
        let Value::Object(mut entry) = entry else { return None };
        let Some(Value::Object(tree)) = entry.remove("fieldsV1") else { return None };
        let tree = self.prune_tree(tree);
        if tree.is_empty() {
            return None;
        }
        entry.remove("apiVersion");
        entry.insert("fieldsV1".to_string(), Value::Object(tree));
        Some(Value::Object(entry))
    }

    fn prune_tree(&self, tree: Map<String, Value>) -> Map<String, Value> {
        match self {
            Self::Whole => tree,
            Self::Nothing => Map::new(),
            Self::Fields(_) => tree
                .into_iter()
                .filter_map(|(key, value)| {
                    let Some(name) = key.strip_prefix("f:") else {
                        // `.`, `k:` and `v:` entries describe the object or list item itself.
                        return Some((key, value));
                    };
                    let mask = self.field(name)?;
                    match value {
                        Value::Object(subtree) if *mask != Self::Whole => {
                            let subtree = mask.prune_tree(subtree);
                            (!subtree.is_empty()).then_some((key, Value::Object(subtree)))
                        }
                        value => Some((key, value)),
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mask() -> FieldMask {
        FieldMask::of([
            &json!({"metadata": {"labels": {"team": "shop"}}}),
            &json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app"}]}}}}),
        ])
    }

    fn live() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop", "resourceVersion": "7",
                "labels": {"team": "shop", "app": "web"},
                "annotations": {LAST_APPLIED: "{\"a\": \"whole copy\"}", "driftwarden.dev/enforce": "disabled"},
                "managedFields": [
                    {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-01T00:00:00Z",
                     "fieldsType": "FieldsV1", "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:team": {}, "f:app": {}}, "f:annotations": {".": {}}},
                        "f:spec": {"f:replicas": {}, "f:strategy": {"f:type": {}},
                                   "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}}},
                    {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}}}
                ]
            },
            "spec": {"replicas": 3, "strategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
            "status": {"replicas": 3}
        })
    }

    #[test]
    fn only_governed_fields_and_their_ownership_are_kept() {
        let pruned = mask().prune(live());
        assert_eq!(
            pruned["spec"],
            json!({"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}})
        );
        assert!(pruned.get("status").is_none(), "status is not governed");
        assert_eq!(
            pruned["metadata"]["labels"],
            json!({"team": "shop", "app": "web"}),
            "metadata is kept for selectors"
        );
        assert_eq!(pruned["metadata"]["annotations"], json!({"driftwarden.dev/enforce": "disabled"}));
        let entries = pruned["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "the status writer owns nothing governed: {entries:?}");
        assert_eq!(entries[0]["manager"], "kubectl");
        assert_eq!(entries[0]["time"], "2026-01-01T00:00:00Z", "attribution keeps the time");
        assert_eq!(
            entries[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:team": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}})
        );
    }

    #[test]
    fn pruning_keeps_what_comparison_sees() {
        use crate::engine::fingerprint::test_key;
        use crate::engine::{CompareRules, compare};
        let template = json!({"metadata": {"labels": {"team": "other"}}, "spec": {"replicas": 2}});
        let rules = CompareRules { ignore_managers: vec!["kubectl".into()], ..CompareRules::new(test_key()) };
        let whole = compare(&live(), &template, &rules);
        let pruned = compare(&FieldMask::of([&template]).prune(live()), &template, &rules);
        assert_eq!(whole, pruned);
        assert!(whole.is_empty(), "kubectl owns both fields and is ignored: {whole:?}");
        let attributed = compare(&FieldMask::of([&template]).prune(live()), &template, &CompareRules::new(test_key()));
        assert_eq!(attributed.len(), 2);
        assert!(attributed.iter().all(|d| d.attribution.as_ref().is_some_and(|a| a.manager == "kubectl")));
    }

    #[test]
    fn masks_know_when_they_widen() {
        let narrow = FieldMask::of([&json!({"spec": {"replicas": 1}})]);
        let wide = narrow.clone().union(FieldMask::of([&json!({"spec": {"paused": false}})]));
        assert!(wide.covers(&narrow));
        assert!(!narrow.covers(&wide));
        assert!(FieldMask::Whole.covers(&wide));
        assert!(wide.covers(&FieldMask::Nothing));
        assert_eq!(
            FieldMask::of([&json!({"data": {}})]),
            FieldMask::Fields([("data".into(), FieldMask::Whole)].into())
        );
        assert_eq!(
            FieldMask::Nothing.prune(json!({"kind": "ConfigMap", "data": {"a": "b"}})),
            json!({"kind": "ConfigMap"})
        );
        let secret = FieldMask::of([&json!({"stringData": {"password": "x"}})]);
        assert_eq!(
            secret.prune(json!({"data": {"password": "eA=="}}))["data"]["password"],
            "eA==",
            "data holds stringData"
        );
    }
}
