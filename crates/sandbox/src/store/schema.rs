//! The schema of a custom resource at work on every write: the CRD's structural schema
//! ([`driftwarden_core::openapi`]) applied to each create, update and apply, with every
//! violation a cause of one 422.

use std::sync::Arc;

use driftwarden_core::openapi::{RuleContext, normalize, prune, validate};
use serde_json::Value;

use super::key::ObjectKey;
use super::meta;
use super::state::{State, crd_resource};
use crate::error::ApiError;
use crate::resources::ResourceKind;

/// The schema of the version of a custom resource a request addresses.
#[derive(Debug, Clone)]
pub(super) struct CrdSchema {
    crd: Arc<Value>,
    version: String,
    context: RuleContext,
}

impl CrdSchema {
    /// The schema of `kind`, when it is a custom resource whose CRD is stored.
    pub(super) fn for_kind(state: &State, kind: &ResourceKind) -> Option<CrdSchema> {
        let crd = state.get(&ObjectKey::new(crd_resource(), None, kind.crd.as_deref()?))?;
        Some(CrdSchema {
            crd: crd.clone(),
            version: kind.version.clone(),
            context: RuleContext {
                api_version: kind.api_version(),
                group: kind.group.clone(),
                kind: kind.kind.clone(),
            },
        })
    }

    /// The version's `openAPIV3Schema`, if it declares one.
    fn root(&self) -> Option<&Value> {
        let versions = self.crd.pointer("/spec/versions")?.as_array()?;
        let version = versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(self.version.as_str()))?;
        version.pointer("/schema/openAPIV3Schema")
    }
}

/// Prunes an applied configuration of a custom resource before its fields are counted, so
/// the applier does not come to own fields the object will never hold.
pub(super) fn prune_applied(state: &State, kind: &ResourceKind, config: &mut Value) {
    if let Some(crd) = CrdSchema::for_kind(state, kind)
        && let Some(schema) = crd.root()
    {
        prune(schema, config);
    }
}

/// Holds a write of a custom resource to its schema: `object` is pruned and defaulted in
/// place, then validated (against `old` for an update); a violation is a 422 naming every
/// cause. Other kinds pass untouched.
pub(super) fn admit(
    state: &State,
    kind: &ResourceKind,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(crd) = CrdSchema::for_kind(state, kind) else { return Ok(()) };
    let Some(schema) = crd.root() else { return Ok(()) };
    normalize(schema, object);
    let causes = validate(schema, object, old, Some(&crd.context));
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(&kind.group, &kind.kind, meta::name(object), causes))
}
