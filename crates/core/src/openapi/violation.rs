//! One way an object breaks its schema, worded the way the apiserver words it
//! (`spec.size in body should be less than or equal to 5`), and turned into the cause of a
//! 422 once the path is final.

use serde_json::Value;

use super::cause::{CauseType, FieldCause};
use super::path::Path;

/// A schema violation at one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where the violation is.
    pub path: Path,
    /// What kind of problem it is.
    pub kind: CauseType,
    /// The details after the kind's prefix.
    pub message: String,
    /// Whether the violation stands even when the value did not change (a CEL transition
    /// rule): such violations are never ratcheted away.
    pub transition: bool,
}

impl Violation {
    fn new(path: &Path, kind: CauseType, message: String) -> Self {
        Violation { path: path.clone(), kind, message, transition: false }
    }

    /// A required field is missing.
    pub fn required(path: &Path, message: &str) -> Self {
        Violation::new(path, CauseType::FieldValueRequired, message.to_string())
    }

    /// A value breaks a rule: `Invalid value: <value>: <path> in body <rule>`.
    pub fn invalid(path: &Path, value: &Value, rule: &str) -> Self {
        Violation::new(path, CauseType::FieldValueInvalid, format!("{}: {path} in body {rule}", render(value)))
    }

    /// A value breaks a rule whose message stands on its own (CEL rules).
    pub fn invalid_with(path: &Path, kind: CauseType, value: &Value, message: &str) -> Self {
        Violation::new(path, kind, format!("{}: {message}", quoted(type_name(value))))
    }

    /// A value has the wrong type.
    pub fn wrong_type(path: &Path, value: &Value, expected: &str) -> Self {
        let actual = quoted(type_name(value));
        Violation::new(
            path,
            CauseType::FieldValueTypeInvalid,
            format!("{actual}: {path} in body must be of type {expected}: {actual}"),
        )
    }

    /// A value outside an enum.
    pub fn not_supported(path: &Path, value: &Value, allowed: &[Value]) -> Self {
        let allowed: Vec<String> = allowed.iter().map(render).collect();
        Violation::new(
            path,
            CauseType::FieldValueNotSupported,
            format!("{}: supported values: {}", render(value), allowed.join(", ")),
        )
    }

    /// A string longer than `maxLength`.
    pub fn too_long(path: &Path, max: u64) -> Self {
        Violation::new(path, CauseType::FieldValueTooLong, format!("may not be more than {max} bytes"))
    }

    /// A list longer than `maxItems`.
    pub fn too_many(path: &Path, actual: usize, max: u64) -> Self {
        Violation::new(path, CauseType::FieldValueTooMany, format!("{actual}: must have at most {max} items"))
    }

    /// A list item that repeats an earlier one (a set) or its key (a map list).
    pub fn duplicate(path: &Path, value: &Value) -> Self {
        Violation::new(path, CauseType::FieldValueDuplicate, render(value))
    }

    /// The cause of a 422.
    pub fn into_cause(self) -> FieldCause {
        FieldCause::new(self.kind, self.path.to_string(), self.message)
    }
}

/// The JSON type of a value as the apiserver names it in messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// A value as a cause prints it: strings quoted, numbers and booleans bare, structures as
/// compact JSON.
pub fn render(value: &Value) -> String {
    match value {
        Value::String(text) => quoted(text),
        other => other.to_string(),
    }
}
