//! A request's matched policies, evaluated without the store lock: [`super::Engine`]
//! prepares a [`RequestEvaluation`] under the lock (which policies and bindings match,
//! their parameters, the Namespace, the RBAC objects if the authorizer is read), all as
//! shared handles; the store evaluates it once the lock is released.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use kube::core::cel::cel::{Context, Value as Cel};
use serde_json::{Value, json};

use super::authorizer;
use super::compile::{CompiledPolicy, Reads};
use super::direct::Inputs;
use super::evaluate::{self, Findings, RequestScope};
use super::params::Params;
use super::paths::{ObjectReads, Paths};
use super::values::to_cel;
use super::verdict::{Binding, Outcome};
use crate::auth::UserInfo;
use crate::auth::rbac::RbacPolicy;
use crate::store::{AdmissionRequest, Evaluation, PendingWrite, Verdict};

/// Everything the evaluation of one write needs, owned.
pub struct RequestEvaluation {
    /// The CEL environment with Kubernetes' and the authorizer's functions.
    pub root: Arc<Context<'static>>,
    /// The write.
    pub write: Arc<PendingWrite>,
    /// Who writes.
    pub user: UserInfo,
    /// The Namespace the write is in (for a Namespace, itself).
    pub namespace: Option<Arc<Value>>,
    /// The matched policies, each with its binding and parameters.
    pub policies: Vec<(Arc<CompiledPolicy>, Arc<Binding>, Params)>,
    /// What the matched policies read.
    pub reads: Arc<(Reads, ObjectReads)>,
    /// The RBAC objects, when some policy reads `authorizer`.
    pub rbac: Option<Arc<RbacPolicy>>,
}

impl Evaluation for RequestEvaluation {
    fn evaluate(self: Box<Self>) -> Verdict {
        let request = self.write.request(&self.user);
        let request_json = self.reads.0.request.then(|| request_json(&request));
        let inputs = Inputs {
            object: request.object,
            old_object: request.old_object,
            namespace_object: self.namespace.as_deref(),
            request: request_json.as_ref(),
        };
        let scope = RequestScope::new(|| self.request_scope(&request));
        let mut outcome = Outcome::default();
        for (policy, binding, params) in &self.policies {
            let findings = match params {
                Params::Unused => guarded(policy, inputs, &scope, Cel::Null),
                Params::Found(found) => {
                    let mut all = Findings::default();
                    for param in found {
                        let one = guarded(policy, inputs, &scope, to_cel(param));
                        all.violations.extend(one.violations);
                        all.annotations.extend(one.annotations);
                    }
                    all
                }
                Params::NotFoundAllowed => Findings::default(),
                Params::NotFoundDenied => {
                    let mut findings = Findings::default();
                    let message = "no params found for policy binding with `Deny` parameterNotFoundAction";
                    findings.error(policy, message.to_string());
                    findings
                }
                Params::Error(message) => {
                    let mut findings = Findings::default();
                    findings.error(policy, message.clone());
                    findings
                }
            };
            outcome.add(policy, binding, findings);
        }
        outcome.into_verdict(&request)
    }
}

impl RequestEvaluation {
    /// The request's own variables the matched policies may read: `object`, `oldObject`,
    /// `request`, `namespaceObject` and `authorizer` (the others are null).
    fn request_scope(&self, request: &AdmissionRequest<'_>) -> Context<'_> {
        let (reads, objects_read) = (self.reads.0, &self.reads.1);
        let mut scope = self.root.new_inner_scope();
        let object = |value: Option<&Value>, paths: &Option<Paths>| match (value, paths) {
            (Some(value), Some(paths)) => paths.project(value, reads.managed_fields),
            _ => Cel::Null,
        };
        let roots = [
            ("object", object(request.object, &objects_read.object)),
            ("oldObject", object(request.old_object, &objects_read.old_object)),
            ("namespaceObject", object(self.namespace.as_deref(), &objects_read.namespace_object)),
        ];
        for chain in &objects_read.chains {
            let root = roots.iter().find(|(name, _)| *name == chain.root()).map(|(_, value)| value);
            if let Some(value) = root.and_then(|root| chain.select(root)) {
                scope.add_variable_from_value(chain.name(), value);
            }
        }
        for (name, value) in roots {
            scope.add_variable_from_value(name, value);
        }
        scope
            .add_variable_from_value("request", if reads.request { to_cel(&request_json(request)) } else { Cel::Null });
        if let Some(rbac) = &self.rbac {
            scope.add_variable_from_value(
                "authorizer",
                authorizer::authorizer(self.user.clone(), rbac.clone(), request),
            );
        }
        scope
    }
}

/// [`evaluate::evaluate`], with a panic inside an extension function turned into an
/// evaluation error the failure policy decides on, so no expression can take the server
/// down.
fn guarded(policy: &CompiledPolicy, inputs: Inputs<'_>, scope: &RequestScope<'_>, params: Cel) -> Findings {
    std::panic::catch_unwind(AssertUnwindSafe(|| evaluate::evaluate(policy, inputs, scope, params))).unwrap_or_else(
        |_| {
            let mut findings = Findings::default();
            findings.error(policy, format!("ValidatingAdmissionPolicy '{}' failed to evaluate", policy.name));
            findings
        },
    )
}

/// The `request` variable, as JSON: read directly (see [`super::direct`]) or converted
/// for the interpreter.
fn request_json(request: &AdmissionRequest<'_>) -> Value {
    let kind = request.kind;
    let gvk = json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
    let gvr = json!({"group": kind.group, "version": kind.version, "resource": kind.resource});
    let user = request.user;
    let mut user_info = json!({"username": user.name, "groups": user.groups});
    if let Some(uid) = &user.uid {
        user_info["uid"] = json!(uid);
    }
    if !user.extra.is_empty() {
        user_info["extra"] = json!(user.extra);
    }
    let subresource = request.subresource.unwrap_or_default();
    json!({
        "kind": gvk,
        "resource": gvr,
        "subResource": subresource,
        "requestKind": gvk,
        "requestResource": gvr,
        "requestSubResource": subresource,
        "name": request.name,
        "namespace": request.namespace.unwrap_or_default(),
        "operation": request.operation.as_str(),
        "userInfo": user_info,
        "dryRun": request.dry_run,
        "options": request.options(),
    })
}
