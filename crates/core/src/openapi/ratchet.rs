//! Ratcheting, as the apiserver does for custom resources: an update is held to the schema
//! only where it changes something, so an object stored under an older, looser schema (or
//! a `/status` write, which cannot change the spec) is not rejected for values it merely
//! keeps. Transition rules always stand: comparing with the old object is their point.

use serde_json::Value;

use super::cause::CauseType;
use super::violation::Violation;

/// Whether `violation` of `new` still counts given the stored `old`. A missing field or a
/// repeated list item is a problem of the structure or list that holds it, so that is the
/// value compared.
pub fn stands(violation: &Violation, new: &Value, old: &Value) -> bool {
    let at = match violation.kind {
        CauseType::FieldValueRequired | CauseType::FieldValueDuplicate => violation.path.parent(),
        _ => violation.path.clone(),
    };
    violation.transition || at.lookup(new) != at.lookup(old)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::openapi::walk;

    #[test]
    fn unchanged_violations_are_dropped_and_changed_ones_stay() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer", "maximum": 3}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        }});
        let old = json!({"spec": {"size": 9}});
        let status_write = json!({"spec": {"size": 9}, "status": {"ready": "yes"}});
        let kept: Vec<String> = walk::validate(&schema, &status_write)
            .into_iter()
            .filter(|v| stands(v, &status_write, &old))
            .map(|v| v.path.to_string())
            .collect();
        assert_eq!(kept, ["status.ready"]);

        let required = json!({"type": "object", "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["name"]}}}});
        let added = json!({"items": [{}]});
        let violations = walk::validate(&required, &added);
        assert!(stands(&violations[0], &added, &json!({})), "a new item must have its required fields");
        assert!(!stands(&violations[0], &added, &added), "an item the update keeps is not held to them");
    }
}
