//! The schema of a custom resource at work on every write, as the apiserver applies a
//! CRD's structural `openAPIV3Schema`: unknown fields are pruned, defaults filled in, and
//! the result validated, with every violation a cause of one 422.
//!
//! - [`path`]: field paths as causes name them.
//! - [`prune`] and [`defaults`]: what the object becomes before it is validated.
//! - [`walk`], [`keywords`] and [`lists`]: the OpenAPI keywords, node by node.
//! - [`cel`]: the `x-kubernetes-validations` rules.
//! - [`ratchet`]: an update is only held to the schema where it changes something.
//! - [`violation`]: the wording of each problem.
//!
//! Object metadata is not the schema's business: the rules every kind shares govern it.

mod cel;
mod defaults;
mod keywords;
mod lists;
mod path;
mod prune;
mod ratchet;
mod violation;
mod walk;

use std::sync::Arc;

use serde_json::Value;

pub use cel::RuleContext;
pub use path::{Path, Segment};

use super::key::ObjectKey;
use super::meta;
use super::state::{State, crd_resource};
use crate::sandbox::error::{ApiError, FieldCause};
use crate::sandbox::resources::ResourceKind;

/// Prunes the fields `schema` does not declare and fills in its defaults, in that order,
/// as the apiserver does when it decodes a custom resource; answers the paths of the
/// unknown fields that were dropped.
pub fn normalize(schema: &Value, object: &mut Value) -> Vec<Path> {
    let dropped = prune::prune(schema, object);
    defaults::apply(schema, object);
    dropped
}

/// Every violation of `schema` by `object`: the OpenAPI keywords, then the CEL rules. For an
/// update (`old` given), violations of values the update leaves as they were are dropped,
/// except those of transition rules.
pub fn validate(schema: &Value, object: &Value, old: Option<&Value>, context: Option<&RuleContext>) -> Vec<FieldCause> {
    let mut violations = walk::validate(schema, object);
    violations.extend(cel::check(schema, object, old, context));
    if let Some(old) = old {
        violations.retain(|v| ratchet::stands(v, object, old));
    }
    violations.into_iter().map(violation::Violation::into_cause).collect()
}

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
        prune::prune(schema, config);
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
