//! Why managed fields could not be read.

/// A `metadata.managedFields` that does not decode.
#[derive(Debug, thiserror::Error)]
pub enum FieldsError {
    /// A `FieldsV1` key is neither `.` nor a valid `f:`, `k:`, `v:` or `i:` element.
    #[error("invalid field path element {0:?}")]
    Element(String),
    /// A `FieldsV1` value is not a JSON object.
    #[error("a FieldsV1 value must be a JSON object")]
    NotAnObject,
    /// An entry is not a ManagedFieldsEntry.
    #[error("invalid managed fields entry: {0}")]
    Entry(#[source] serde_json::Error),
    /// An entry has a `fieldsType` other than `FieldsV1`.
    #[error("unsupported fieldsType {0:?}: must be FieldsV1")]
    FieldsType(String),
    /// An entry has an `operation` other than `Apply` or `Update`.
    #[error("unsupported operation {0:?}: must be Apply or Update")]
    Operation(String),
}

impl FieldsError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            FieldsError::Element(_) => "InvalidPathElement",
            FieldsError::NotAnObject => "InvalidFieldsV1",
            FieldsError::Entry(_) => "InvalidManagedFieldsEntry",
            FieldsError::FieldsType(_) => "UnsupportedFieldsType",
            FieldsError::Operation(_) => "UnsupportedOperation",
        }
    }
}
