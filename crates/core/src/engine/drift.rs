//! What a comparison finds: one [`Drift`] per governed field that does not hold.

use serde::Serialize;
use serde_json::Value;

use crate::api::RemediationClass;
use crate::engine::fingerprint::FingerprintKey;

/// One governed field whose live value differs from the template.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Where the field is, as a JSON pointer (RFC 6901). Items of keyed lists are addressed
    /// by their merge key, for example `/spec/template/spec/containers/name=app/image`;
    /// an empty pointer means the whole object (it is missing).
    pub path: String,
    /// The value the template requires. For Secret data this is a keyed fingerprint
    /// ([`crate::engine::fingerprint`]), never the value.
    pub desired: Value,
    /// The live value, `None` when the field is absent. For Secret data this is a keyed
    /// fingerprint.
    pub live: Option<Value>,
    /// What fixing this field would touch.
    pub class: RemediationClass,
    /// Who last wrote the field, when `metadata.managedFields` tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
}

/// The field manager that last wrote a field, from `metadata.managedFields`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Attribution {
    /// The field manager, for example `kubectl-edit`.
    pub manager: String,
    /// The operation of that write: `Apply` or `Update`.
    pub operation: String,
    /// When it wrote the field (RFC 3339), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// What a comparison leaves alone, already resolved for one object (the ignore rules of
/// the policy whose `match` selects it), and the key Secret values are shown with.
#[derive(Clone, Debug)]
pub struct CompareRules {
    /// Path patterns that are never drift (see [`crate::engine::pointer::PathPattern`]).
    pub ignore_paths: Vec<crate::engine::pointer::PathPattern>,
    /// Field managers whose ownership of a live field takes it out of governance.
    pub ignore_managers: Vec<String>,
    /// The key of the fingerprints shown in place of Secret values.
    pub fingerprints: FingerprintKey,
}

impl CompareRules {
    /// No ignore rules; Secret values fingerprinted with `fingerprints`.
    pub fn new(fingerprints: FingerprintKey) -> Self {
        Self { ignore_paths: Vec::new(), ignore_managers: Vec::new(), fingerprints }
    }
}
