//! The parameters of a binding: the objects of the policy's `paramKind` its `paramRef`
//! names (by name, or by label selector), looked up in the store for each request.

use std::sync::Arc;

use k8s_openapi::api::admissionregistration::v1::{ParamKind, ParamRef};
use serde_json::Value;

use super::matching::selector;
use crate::store::{AdmissionRequest, ObjectView};

/// What a binding's parameters resolve to.
#[derive(Debug)]
pub enum Params {
    /// The policy has no `paramKind`: one evaluation, `params` null.
    Unused,
    /// One evaluation per object.
    Found(Vec<Arc<Value>>),
    /// None found, and `parameterNotFoundAction` is `Allow`: nothing to evaluate.
    NotFoundAllowed,
    /// None found, and `parameterNotFoundAction` is `Deny`.
    NotFoundDenied,
    /// The policy or binding is misconfigured, or the kind is not served; the failure
    /// policy decides.
    Error(String),
}

/// The parameters of a binding with `param_ref` for a policy with `param_kind`.
pub fn resolve(
    objects: ObjectView<'_>,
    param_kind: Option<&ParamKind>,
    param_ref: Option<&ParamRef>,
    request: &AdmissionRequest<'_>,
) -> Params {
    let Some(param_kind) = param_kind else { return Params::Unused };
    let Some(param_ref) = param_ref else {
        return Params::Error("the binding has no paramRef, but the policy has a paramKind".to_string());
    };
    let api_version = param_kind.api_version.as_deref().unwrap_or_default();
    let kind_name = param_kind.kind.as_deref().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let Some(kind) =
        objects.registry().kinds().find(|k| k.group == group && k.version == version && k.kind == kind_name)
    else {
        return Params::Error(format!(
            "failed to find resource referenced by paramKind: '{api_version}, Kind={kind_name}'"
        ));
    };
    let namespace = match (kind.namespaced(), param_ref.namespace.as_deref().filter(|n| !n.is_empty())) {
        (false, _) => None,
        (true, Some(ns)) => Some(ns),
        (true, None) => match request.namespace {
            Some(ns) => Some(ns),
            None => {
                return Params::Error(
                    "cannot use a namespaced paramRef without a namespace for a cluster-scoped request".to_string(),
                );
            }
        },
    };
    let resource = kind.group_resource();
    let found: Vec<Arc<Value>> = match (param_ref.name.as_deref().filter(|n| !n.is_empty()), &param_ref.selector) {
        (Some(name), _) => objects.get(&resource, namespace, name).cloned().into_iter().collect(),
        (None, Some(given)) => {
            let Some(selector) = selector(given) else {
                return Params::Error("the paramRef's selector is invalid".to_string());
            };
            objects
                .list_in(&resource, namespace)
                .filter(|o| selector.matches(crate::store::meta::labels(o)))
                .cloned()
                .collect()
        }
        (None, None) => return Params::Error("the paramRef has neither a name nor a selector".to_string()),
    };
    match (found.is_empty(), param_ref.parameter_not_found_action.as_deref()) {
        (false, _) => Params::Found(found),
        (true, Some("Allow")) => Params::NotFoundAllowed,
        (true, _) => Params::NotFoundDenied,
    }
}
