//! The JSON shape of a decoded protobuf message, written once per message type with
//! [`messages!`]: each field of the prost struct is listed with its JSON name and how the
//! API server's JSON encoding treats it. The list is a destructuring pattern, so a message
//! type with a field the list forgets does not compile: no field is dropped silently.
//!
//! Field modes, from the Go types the API server decodes into:
//! - `keep "name"`: emitted whenever the body carries it (pointer fields, and value fields
//!   without `omitempty`), zero values included;
//! - `nonzero "name"`: a value field with `omitempty` (or a struct with `omitzero`), emitted
//!   only when not its zero value (Go clients always send these, empty or not);
//! - `nullable "name"`: a list without `omitempty`, `null` when it has no entries, as Go
//!   encodes a nil slice;
//! - `inline`: a member whose fields sit in the enclosing object (`Volume`'s `VolumeSource`).
//!
//! Other repeated and map fields are emitted only when they have entries; a message field
//! is emitted whenever present, `{}` when empty, as Go encodes a struct.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// A message that cannot be expressed as the JSON the API server stores, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The JSON path, outermost first.
    path: Vec<String>,
    /// What is wrong there.
    message: String,
}

impl MappingError {
    /// An error at the current position.
    pub fn new(message: impl Into<String>) -> Self {
        MappingError { path: Vec::new(), message: message.into() }
    }

    /// The same error, one field further out.
    pub fn within(mut self, field: &str) -> Self {
        self.path.insert(0, field.to_string());
        self
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path.join("."), self.message)
        }
    }
}

impl std::error::Error for MappingError {}

/// A value with a JSON form.
pub trait ToJson {
    /// The JSON the API server would store for this value.
    fn to_json(&self) -> Result<Value, MappingError>;

    /// Whether this is Go's zero value, which `omitempty` leaves out.
    fn is_zero(&self) -> bool {
        false
    }
}

impl ToJson for String {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::String(self.clone()))
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::Bool(*self))
    }

    fn is_zero(&self) -> bool {
        !*self
    }
}

impl ToJson for i32 {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::from(*self))
    }

    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl ToJson for i64 {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::from(*self))
    }

    fn is_zero(&self) -> bool {
        *self == 0
    }
}

/// `bytes` fields (Secret `data`, ConfigMap `binaryData`): base64, as Go encodes `[]byte`.
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Result<Value, MappingError> {
        Ok(Value::String(BASE64.encode(self)))
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

/// A field of a message: `None` when it is left out of the JSON object.
pub trait Member {
    /// The field's JSON value; `omit_zero` leaves out zero values (`omitempty`).
    fn member(&self, omit_zero: bool) -> Result<Option<Value>, MappingError>;
}

impl<T: ToJson> Member for Option<T> {
    fn member(&self, omit_zero: bool) -> Result<Option<Value>, MappingError> {
        match self {
            Some(value) if !(omit_zero && value.is_zero()) => value.to_json().map(Some),
            _ => Ok(None),
        }
    }
}

impl<T: ToJson> Member for Vec<T> {
    fn member(&self, _: bool) -> Result<Option<Value>, MappingError> {
        if self.is_empty() {
            return Ok(None);
        }
        let items = self
            .iter()
            .enumerate()
            .map(|(i, item)| item.to_json().map_err(|e| e.within(&i.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Value::Array(items)))
    }
}

impl<T: ToJson> Member for BTreeMap<String, T> {
    fn member(&self, _: bool) -> Result<Option<Value>, MappingError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut object = Map::new();
        for (key, value) in self {
            object.insert(key.clone(), value.to_json().map_err(|e| e.within(key))?);
        }
        Ok(Some(Value::Object(object)))
    }
}

/// Puts one field into the JSON object being built, per its mode.
macro_rules! member {
    ($object:ident, $field:ident, keep $json:literal) => {
        if let Some(value) = $crate::protobuf::json::Member::member($field, false).map_err(|e| e.within($json))? {
            $object.insert($json.to_string(), value);
        }
    };
    ($object:ident, $field:ident, nonzero $json:literal) => {
        if let Some(value) = $crate::protobuf::json::Member::member($field, true).map_err(|e| e.within($json))? {
            $object.insert($json.to_string(), value);
        }
    };
    ($object:ident, $field:ident, nullable $json:literal) => {
        let value = $crate::protobuf::json::Member::member($field, false).map_err(|e| e.within($json))?;
        $object.insert($json.to_string(), value.unwrap_or(serde_json::Value::Null));
    };
    ($object:ident, $field:ident, inline) => {
        if let Some(serde_json::Value::Object(inner)) = $crate::protobuf::json::Member::member($field, false)? {
            $object.extend(inner);
        }
    };
}

/// Writes [`ToJson`] (and, for tests, a fully populated sample) for prost message types.
macro_rules! messages {
    ($($message:ident { $($field:ident : $mode:ident $($json:literal)?),* $(,)? })*) => {
        $(
            impl $crate::protobuf::json::ToJson for $message {
                fn to_json(&self) -> Result<serde_json::Value, $crate::protobuf::json::MappingError> {
                    let $message { $($field),* } = self;
                    let mut object = serde_json::Map::new();
                    $( $crate::protobuf::json::member!(object, $field, $mode $($json)?); )*
                    Ok(serde_json::Value::Object(object))
                }
            }

            #[cfg(test)]
            impl $crate::protobuf::sample::Sample for $message {
                fn sample() -> Self {
                    $message { $($field: $crate::protobuf::sample::Sample::sample()),* }
                }
            }
        )*
    };
}

pub(crate) use {member, messages};
