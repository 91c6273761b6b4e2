//! Ratcheting, as the apiserver does for custom resources: an update is held to the schema
//! only where it changes something, so an object stored under an older, looser schema (or
//! a `/status` write, which cannot change the spec) is not rejected for values it merely
//! keeps. Transition rules always stand: comparing with the old object is their point.

use serde_json::Value;

use super::violation::Violation;

/// Whether `violation` of `new` still counts given the stored `old`.
pub fn stands(violation: &Violation, new: &Value, old: &Value) -> bool {
    violation.transition || violation.path.lookup(new) != violation.path.lookup(old)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sandbox::store::schema::walk;

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
    }
}
