//! The CEL rules of a schema (`x-kubernetes-validations`), evaluated with kube's
//! client-side evaluator, transition rules (`oldSelf`) included on updates. A rule the
//! evaluator cannot compile or run rejects the object, naming the rule, rather than letting
//! it through unchecked.

use kube::core::cel::{ErrorKind, RootContext, ValidationError, Validator};
use serde_json::Value;

use super::cause::CauseType;
use super::path::Path;
use super::violation::Violation;

thread_local! {
    static VALIDATOR: Validator = Validator::new();
}

/// The kind the rules see as `apiVersion`, `apiGroup` and `kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleContext {
    /// `group/version`.
    pub api_version: String,
    /// The API group.
    pub group: String,
    /// The kind.
    pub kind: String,
}

/// Whether `schema` declares any CEL rule.
pub fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.contains_key("x-kubernetes-validations")
                || map.iter().any(|(key, child)| key != "default" && key != "enum" && has_rules(child))
        }
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

/// The violations of the CEL rules of `schema` by `object` (an update from `old`).
pub fn check(schema: &Value, object: &Value, old: Option<&Value>, context: Option<&RuleContext>) -> Vec<Violation> {
    if !has_rules(schema) {
        return Vec::new();
    }
    let root = context.map(|c| RootContext {
        api_version: c.api_version.clone(),
        api_group: c.group.clone(),
        kind: c.kind.clone(),
    });
    let result = VALIDATOR.with(|validator| validator.validate_with_context(schema, object, old, root.as_ref()));
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|error| violation(error, object)).collect(),
    }
}

fn violation(error: &ValidationError, object: &Value) -> Violation {
    let path = Path::parse(&error.field_path);
    let value = path.lookup(object).unwrap_or(&Value::Null);
    let kind = match error.reason.as_deref() {
        Some("FieldValueRequired") => CauseType::FieldValueRequired,
        Some("FieldValueForbidden") => CauseType::FieldValueForbidden,
        Some("FieldValueDuplicate") => CauseType::FieldValueDuplicate,
        _ => CauseType::FieldValueInvalid,
    };
    let message = match error.kind {
        ErrorKind::ValidationFailure => error.message.clone(),
        _ => format!("rule {:?} could not be evaluated: {}", error.rule, error.message),
    };
    let mut violation = Violation::invalid_with(&path, kind, value, &message);
    violation.transition = error.rule.contains("oldSelf");
    violation
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "properties": {"size": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self == oldSelf || self > oldSelf", "message": "size may not shrink"}]}},
            "x-kubernetes-validations": [{"rule": "has(self.size)", "message": "size is required"}],
        }}})
    }

    #[test]
    fn failures_name_the_field_and_the_rule_message() {
        let violations = check(&schema(), &json!({"spec": {}}), None, None);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].path.to_string(), "spec");
        assert_eq!(violations[0].clone().into_cause().full_message(), r#"Invalid value: "object": size is required"#);
    }

    #[test]
    fn transition_rules_see_the_old_object() {
        let old = json!({"spec": {"size": 3}});
        assert!(check(&schema(), &json!({"spec": {"size": 4}}), Some(&old), None).is_empty());
        let shrunk = check(&schema(), &json!({"spec": {"size": 2}}), Some(&old), None);
        assert_eq!(shrunk.len(), 1);
        assert!(shrunk[0].transition);
        assert_eq!(shrunk[0].path.to_string(), "spec.size");
        assert!(!has_rules(&json!({"type": "object"})));
    }
}
