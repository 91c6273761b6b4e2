//! One field at fault, as a `StatusCause` of an `Invalid` status names it.

/// The kind of problem one field has, as `StatusCause.reason` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseType {
    /// A required field is missing.
    FieldValueRequired,
    /// A field has a value that is not allowed.
    FieldValueInvalid,
    /// A field has a value of the wrong type.
    FieldValueTypeInvalid,
    /// A string is longer than allowed.
    FieldValueTooLong,
    /// A list has more items than allowed.
    FieldValueTooMany,
    /// A list holds the same value, or the same key, twice.
    FieldValueDuplicate,
    /// A field may not be set or changed.
    FieldValueForbidden,
    /// A field has a value outside a closed set.
    FieldValueNotSupported,
    /// A server-side apply would change a field another field manager owns.
    FieldManagerConflict,
    /// No type: a cause that carries only a message (an admission policy's denial).
    Unstated,
}

impl CauseType {
    /// The cause as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseType::FieldValueRequired => "FieldValueRequired",
            CauseType::FieldValueInvalid => "FieldValueInvalid",
            CauseType::FieldValueTypeInvalid => "FieldValueTypeInvalid",
            CauseType::FieldValueTooLong => "FieldValueTooLong",
            CauseType::FieldValueTooMany => "FieldValueTooMany",
            CauseType::FieldValueDuplicate => "FieldValueDuplicate",
            CauseType::FieldValueForbidden => "FieldValueForbidden",
            CauseType::FieldValueNotSupported => "FieldValueNotSupported",
            CauseType::FieldManagerConflict => "FieldManagerConflict",
            CauseType::Unstated => "",
        }
    }

    /// The prefix of the cause's message; none for a field manager conflict, whose message
    /// names the manager.
    fn describe(self) -> Option<&'static str> {
        Some(match self {
            CauseType::FieldValueRequired => "Required value",
            CauseType::FieldValueInvalid | CauseType::FieldValueTypeInvalid => "Invalid value",
            CauseType::FieldValueTooLong => "Too long",
            CauseType::FieldValueTooMany => "Too many",
            CauseType::FieldValueDuplicate => "Duplicate value",
            CauseType::FieldValueForbidden => "Forbidden",
            CauseType::FieldValueNotSupported => "Unsupported value",
            CauseType::FieldManagerConflict | CauseType::Unstated => return None,
        })
    }
}

/// One field at fault in an `Invalid` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// What is wrong with the field.
    pub kind: CauseType,
    /// The field path, dotted the way Kubernetes prints it (`metadata.name`).
    pub field: String,
    /// A sentence that says what is wrong and, where possible, what is allowed.
    pub message: String,
}

impl FieldCause {
    /// A cause of the given kind for `field`.
    pub fn new(kind: CauseType, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldCause { kind, field: field.into(), message: message.into() }
    }

    /// The message as the apiserver prints it: the kind of problem, then the details.
    pub fn full_message(&self) -> String {
        match self.kind.describe() {
            Some(prefix) if self.message.is_empty() => prefix.to_string(),
            Some(prefix) => format!("{prefix}: {}", self.message),
            None => self.message.clone(),
        }
    }
}
