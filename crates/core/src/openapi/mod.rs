//! A CRD's structural `openAPIV3Schema` at work, as the apiserver applies it on every write
//! of a custom resource: unknown fields are pruned, defaults filled in, and the result
//! validated, with every violation a field cause. The sandbox API server admits custom
//! resources with it; the CRD tests admit their examples with it.
//!
//! - [`path`]: field paths as causes name them.
//! - [`prune`] and [`defaults`]: what the object becomes before it is validated.
//! - [`walk`], [`keywords`] and [`lists`]: the OpenAPI keywords, node by node.
//! - [`cel`]: the `x-kubernetes-validations` rules.
//! - [`ratchet`]: an update is only held to the schema where it changes something.
//! - [`violation`]: the wording of each problem; [`cause`]: a problem as a `StatusCause`.
//!
//! Object metadata is not the schema's business: the rules every kind shares govern it.

mod cause;
mod cel;
pub mod cost;
mod defaults;
mod keywords;
mod lists;
mod path;
mod prune;
mod ratchet;
mod violation;
mod walk;

use serde_json::Value;

pub use cause::{CauseType, FieldCause};
pub use cel::RuleContext;
pub use path::{Path, Segment};
pub use prune::prune;

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
