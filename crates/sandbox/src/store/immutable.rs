//! Fields of core kinds that an update may not change, as the API server's update
//! validation refuses them: a Secret's `type`, and the data of a ConfigMap or Secret
//! marked `immutable: true` (which also may not be unmarked).

use serde_json::Value;

use crate::error::{CauseType, FieldCause};
use crate::resources::ResourceKind;

const IMMUTABLE: &str = "field is immutable";
const SEALED: &str = "field is immutable when `immutable` is set";

/// What `new` changes that `existing` does not allow.
pub fn violations(kind: &ResourceKind, existing: &Value, new: &Value) -> Vec<FieldCause> {
    if !kind.group.is_empty() || !matches!(kind.kind.as_str(), "ConfigMap" | "Secret") {
        return Vec::new();
    }
    let mut causes = Vec::new();
    let changed = |field: &str| existing.get(field) != new.get(field);
    let shown = |field: &str| new.get(field).map(|value| format!("{value}")).unwrap_or_else(|| "null".to_string());
    if kind.kind == "Secret" && changed("type") {
        causes.push(FieldCause::new(CauseType::FieldValueInvalid, "type", format!("{}: {IMMUTABLE}", shown("type"))));
    }
    if existing.get("immutable") == Some(&Value::Bool(true)) {
        for field in ["data", "binaryData"] {
            if changed(field) {
                // The values are not repeated: a Secret's would leak.
                causes.push(FieldCause::new(CauseType::FieldValueForbidden, field, SEALED.to_string()));
            }
        }
        if changed("immutable") {
            causes.push(FieldCause::new(CauseType::FieldValueForbidden, "immutable", SEALED.to_string()));
        }
    }
    causes
}
