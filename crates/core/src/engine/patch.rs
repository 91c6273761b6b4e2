//! The server-side-apply body that restores exactly the governed fields of one object.
//!
//! The body holds `apiVersion`, `kind`, `metadata.name`/`namespace` and every governed
//! field: the template's fields, minus ignored paths, minus fields whose live value an
//! ignored field manager owns. A governed field whose drift is to be fixed takes the
//! desired value; one that is not to be fixed keeps its live value (or stays out when it
//! is absent), so the `driftwarden` field manager keeps owning exactly the governed
//! fields and never silently changes an unapproved one. A field that holds keeps its live
//! value. Items of keyed lists carry their merge keys, defaulted keys spelled out. A
//! template's `null` ("must be absent") is applied as `null`, which the API server stores
//! as absent. A Secret template's `stringData` is applied as `data` (base64).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::compare::walk;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::secret;

/// An apply body. It may hold Secret data, so its `Debug` output hashes Secret values;
/// serialize it (or take [`ApplyBody::into_value`]) only to send it to the API server.
#[derive(Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ApplyBody(Value);

impl ApplyBody {
    /// The body as JSON.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The body as JSON, to send.
    pub fn into_value(self) -> Value {
        self.0
    }

    /// Whether the body holds nothing but the object's identity.
    pub fn is_identity_only(&self) -> bool {
        self.0.as_object().is_none_or(|body| {
            body.iter().all(|(key, value)| match key.as_str() {
                "apiVersion" | "kind" => true,
                "metadata" => {
                    value.as_object().is_none_or(|meta| meta.keys().all(|key| key == "name" || key == "namespace"))
                }
                _ => false,
            })
        })
    }
}

impl fmt::Debug for ApplyBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApplyBody").field(&secret::conceal(&self.0)).finish()
    }
}

/// The apply body for `template` over `live` (`None` when the object does not exist:
/// every governed field is then a drift of class `Create`). `fix` says, for each drift,
/// whether the body restores it.
pub fn apply_body(
    live: Option<&Value>,
    template: &Value,
    rules: &CompareRules,
    fix: &dyn Fn(&Drift) -> bool,
) -> ApplyBody {
    let mut body = walk(live, template, rules, Some(fix)).body.unwrap_or_default();
    let identity = |pointer: &str| template.pointer(pointer).or_else(|| live.and_then(|live| live.pointer(pointer)));
    for key in ["apiVersion", "kind"] {
        if let Some(value) = identity(&format!("/{key}")) {
            body.insert(key.to_string(), value.clone());
        }
    }
    let mut metadata = match body.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => Map::new(),
    };
    for key in ["name", "namespace"] {
        if let Some(value) = identity(&format!("/metadata/{key}")) {
            metadata.insert(key.to_string(), value.clone());
        }
    }
    if !metadata.is_empty() {
        body.insert("metadata".to_string(), Value::Object(metadata));
    }
    ApplyBody(Value::Object(body))
}

mod union;

pub use union::union_into;

#[cfg(test)]
mod tests;
