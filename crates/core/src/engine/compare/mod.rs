//! Comparing a live object with a template: every field the template sets must hold on
//! the live object; fields it does not set are not governed.
//!
//! - Maps and structures are compared field by field; atomic ones (a Deployment's
//!   `selector`, a pod's `nodeSelector`) whole.
//! - Lists of objects are matched item by item by their merge keys
//!   ([`crate::engine::merge_keys`]); a template item with no live counterpart is one
//!   drift at the item's path, with live `None`. Sets are compared member by member.
//!   Other lists are atomic: compared whole, after normalization.
//! - Values are compared after normalization ([`crate::engine::normalize`]): quantities by
//!   amount, port int-or-strings by number, numbers by value, server defaults as if
//!   present. A template `null` means the field must be absent; a live `null` is absent.
//! - `apiVersion`, `kind`, `status`, and the identity and server-written parts of
//!   `metadata` (`name`, `namespace`, `uid`, `resourceVersion`, `creationTimestamp`,
//!   `managedFields`, ...) are never compared.
//! - Ignore rules: a field whose path an `ignore_paths` pattern covers is not governed,
//!   and is left out of the desired value of a missing item too. Patterns address keyed
//!   items by their item token (`name=app`) or `*`, never by index; atomic values are
//!   governed whole, so a pattern below one does not apply.
//! - Field managers: a drifted field whose live value is owned (in
//!   `metadata.managedFields`) by a manager in `ignore_managers` is not governed.
//! - Attribution: each drift names the manager that last wrote the field, or its closest
//!   owned ancestor item, with the operation and time of that write.
//! - Secrets: `data` and `stringData` are compared by content and shown as hashes
//!   ([`crate::engine::secret`]).

mod ignore;
mod managed_fields;
mod path;
mod walk;

use serde_json::Value;

use crate::api::RemediationClass;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::secret;

pub(crate) use walk::{UNGOVERNED_METADATA, UNGOVERNED_ROOT, walk};

/// The drifts of `live` from `template` under `rules`, in template order. Each drift has
/// its path, desired and live values, remediation class and, when the live object's
/// managed fields tell, its attribution.
pub fn compare(live: &Value, template: &Value, rules: &CompareRules) -> Vec<Drift> {
    match secret::fold_live(live) {
        Some(folded) => walk(Some(&folded), template, rules, None).drifts,
        None => walk(Some(live), template, rules, None).drifts,
    }
}

/// The drift of an object that does not exist: class `Create`, the empty path, and as
/// desired value the governed part of `template` (ignored paths left out), with any
/// Secret value hashed.
pub fn missing(template: &Value, rules: &CompareRules) -> Drift {
    let fix_everything = |_: &Drift| true;
    let governed = walk(None, template, rules, Some(&fix_everything)).body.unwrap_or_default();
    let mut desired = Value::Object(governed);
    for identity in ["apiVersion", "kind"] {
        if let Some(value) = template.get(identity) {
            desired[identity] = value.clone();
        }
    }
    if let Some(name) = template.pointer("/metadata/name") {
        desired["metadata"]["name"] = name.clone();
    }
    if let Some(namespace) = template.pointer("/metadata/namespace") {
        desired["metadata"]["namespace"] = namespace.clone();
    }
    Drift {
        path: String::new(),
        desired: secret::redact(&desired, &rules.fingerprints),
        live: None,
        class: RemediationClass::Create,
        attribution: None,
    }
}

#[cfg(test)]
mod tests;
