//! The remediation class of a drift: the risk of *fixing* it, from what the fix touches.
//!
//! A fix is as risky as the riskiest thing it touches, so the class of a drift is the
//! riskiest of what applies to its path (risk order: [`RemediationClass::ALL`]):
//! 1. the base class of the path: labels and annotations are `Metadata`; a workload's pod
//!    template is `Rollout`; everything of RBAC objects and ServiceAccounts is `Access`;
//!    Secret `data`/`stringData` is `SecretData`; anything else is `Spec`;
//! 2. a privilege-bearing field (securityContext, hostNetwork, hostPath volumes, the
//!    service account of a pod...) raises it to `Access` — inside a pod template, `Access`
//!    outranks `Rollout` ([`privilege`]);
//! 3. an immutable field of an existing object raises it to `Recreate` ([`immutable`]).
//!
//! A missing object is `Create`; the comparison sets that, not this module.

mod base;
pub mod immutable;
pub mod privilege;

use serde_json::Value;

use crate::api::RemediationClass;
use crate::engine::drift::Drift;
use crate::engine::kind::ObjectKind;
use crate::engine::pointer;

/// The class of fixing the field at `path` (unescaped tokens, keyed items as item tokens)
/// of an object of `kind`, from `live` to `desired`. `live_object` is the whole live
/// object, for what depends on its state (an immutable ConfigMap, a suspended Job).
pub fn classify(
    kind: &ObjectKind<'_>,
    live_object: Option<&Value>,
    path: &[&str],
    desired: &Value,
    live: Option<&Value>,
) -> RemediationClass {
    let mut class = base::base_class(kind.known, path);
    if privilege::touches_privilege(kind.known, path, desired, live) {
        class = riskier(class, RemediationClass::Access);
    }
    if immutable::is_immutable(kind.known, live_object, path, desired, live) {
        class = riskier(class, RemediationClass::Recreate);
    }
    class
}

/// [`classify`] for a drift already found (its pointer is split into tokens). The values
/// of a Secret's data are hashes in a drift; classes never depend on them.
pub fn classify_drift(kind: &ObjectKind<'_>, live_object: Option<&Value>, drift: &Drift) -> RemediationClass {
    let tokens = pointer::split(&drift.path);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    classify(kind, live_object, &tokens, &drift.desired, drift.live.as_ref())
}

/// The position of `class` in the risk order, 0 for the least risky.
pub fn risk_rank(class: RemediationClass) -> usize {
    RemediationClass::ALL.iter().position(|candidate| *candidate == class).unwrap_or(RemediationClass::ALL.len())
}

/// The riskier of two classes.
pub fn riskier(a: RemediationClass, b: RemediationClass) -> RemediationClass {
    if risk_rank(b) > risk_rank(a) { b } else { a }
}

/// The riskiest class among `drifts`: the class of fixing them all at once. `None` when
/// there is no drift.
pub fn riskiest<'d>(drifts: impl IntoIterator<Item = &'d Drift>) -> Option<RemediationClass> {
    drifts.into_iter().map(|drift| drift.class).reduce(riskier)
}

#[cfg(test)]
mod tests;
