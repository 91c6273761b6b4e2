//! Request bodies in `application/vnd.kubernetes.protobuf`, the encoding kubectl and other
//! Go clients send built-in kinds in: the envelope is opened ([`envelope`]), the object is
//! decoded with prost into the message types of `k8s-pb` ([`kinds`]) with nothing dropped
//! ([`unknown`]), and each message is
//! turned into the JSON object the API server would store ([`json`], [`messages`],
//! [`special`]). Responses stay JSON.

mod envelope;
mod json;
mod kinds;
mod messages;
#[cfg(test)]
mod sample;
mod special;
mod unknown;

use serde_json::Value;

use crate::error::{ApiError, Reason};
pub use envelope::{Envelope, MAGIC};
pub use json::MappingError;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")]
    NoMagic,
    /// The `runtime.Unknown` around the object is malformed.
    #[error("unable to decode the protobuf envelope (runtime.Unknown): {0}")]
    Envelope(#[source] prost::DecodeError),
    /// The envelope says the object bytes are compressed.
    #[error("the protobuf envelope's contentEncoding {0:?} is not supported")]
    ContentEncoding(String),
    /// A kind the sandbox has no protobuf decoder for.
    #[error(
        "the sandbox cannot decode {kind} ({api_version}) from {MEDIA_TYPE}; send it as application/json or application/yaml"
    )]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// The object bytes are not a valid message of their kind.
    #[error("unable to decode {kind} from protobuf: {source}")]
    Message {
        /// The kind.
        kind: String,
        /// What prost found wrong.
        #[source]
        source: prost::DecodeError,
    },
    /// The object carries a field its kind's message does not have.
    #[error(
        "{kind} carries protobuf field {path} (by field number), which the sandbox's Kubernetes 1.35 messages do not have; send it as application/json"
    )]
    UnknownField {
        /// The kind.
        kind: String,
        /// The field numbers from the object down to the unknown field.
        path: String,
    },
    /// The message has a value that has no JSON form.
    #[error("{kind} has a value the API server cannot store: {source}")]
    Mapping {
        /// The kind.
        kind: String,
        /// Where and what.
        #[source]
        source: MappingError,
    },
}

impl From<ProtobufError> for ApiError {
    fn from(error: ProtobufError) -> Self {
        let reason = match error {
            ProtobufError::UnknownKind { .. }
            | ProtobufError::UnknownField { .. }
            | ProtobufError::ContentEncoding(_) => Reason::UnsupportedMediaType,
            _ => Reason::BadRequest,
        };
        let message = error.to_string();
        ApiError::new(reason, message).with_source(error)
    }
}

/// Decodes a protobuf request body into the JSON object (with apiVersion and kind) that the
/// same object sent as JSON would be.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = Envelope::open(body)?;
    let decode = kinds::decoder(&envelope.api_version, &envelope.kind).ok_or_else(|| ProtobufError::UnknownKind {
        api_version: envelope.api_version.clone(),
        kind: envelope.kind.clone(),
    })?;
    let mut object = decode(&envelope.kind, &envelope.raw)?;
    if let Value::Object(fields) = &mut object {
        let mut typed = serde_json::Map::new();
        typed.insert("apiVersion".to_string(), Value::String(envelope.api_version));
        typed.insert("kind".to_string(), Value::String(envelope.kind));
        typed.append(fields);
        *fields = typed;
    }
    Ok(object)
}

#[cfg(test)]
mod tests;
