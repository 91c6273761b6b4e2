//! The `authorizer` variable: checks of what the requesting user (or a ServiceAccount) may
//! do, answered by the sandbox's RBAC. `authorizer` is a map holding `requestResource`
//! and, under a key no expression can spell as a field, the checker; the builder steps
//! (`group`, `resource`, `subresource`, `namespace`, `name`, `path`, `serviceAccount`),
//! `check` and the decision's `allowed`, `reason`, `errored` and `error` are functions on
//! opaque values.

use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::core::cel::cel::objects::Opaque;
use kube::core::cel::cel::{Context, ExecutionError, FunctionContext, Value as Cel};
use serde::de::DeserializeOwned;

use super::values::map_of;
use crate::auth::identity::MASTERS_GROUP;
use crate::auth::rbac::RbacPolicy;
use crate::auth::{RequestAttributes, UserInfo};
use crate::resources::GroupResource;
use crate::store::{AdmissionRequest, ObjectView};

/// The map key of the checker inside `authorizer`.
const CHECKER_KEY: &str = "@checker";

/// Who is checked, against which RBAC objects.
#[derive(Debug)]
pub struct Authority {
    user: UserInfo,
    rbac: Arc<RbacPolicy>,
}

impl Authority {
    fn allows(&self, attrs: &RequestAttributes) -> bool {
        self.user.in_group(MASTERS_GROUP) || self.rbac.allows(&self.user, attrs)
    }
}

fn load<T: DeserializeOwned>(objects: ObjectView<'_>, resource: &str) -> Vec<T> {
    let resource = GroupResource::new("rbac.authorization.k8s.io", resource);
    objects.list(&resource).filter_map(|o| serde_json::from_value((**o).clone()).ok()).collect()
}

/// The RBAC objects in the store.
pub fn rbac(objects: ObjectView<'_>) -> RbacPolicy {
    RbacPolicy {
        roles: load::<Role>(objects, "roles"),
        cluster_roles: load::<ClusterRole>(objects, "clusterroles"),
        role_bindings: load::<RoleBinding>(objects, "rolebindings"),
        cluster_role_bindings: load::<ClusterRoleBinding>(objects, "clusterrolebindings"),
    }
}

/// A check being built: the resource attributes or the path, for one user.
#[derive(Debug, Clone)]
pub struct Check {
    authority: Arc<Authority>,
    group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
    path: Option<String>,
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.authority, &other.authority)
            && (&self.group, &self.resource, &self.subresource, &self.namespace, &self.name, &self.path)
                == (&other.group, &other.resource, &other.subresource, &other.namespace, &other.name, &other.path)
    }
}

impl Eq for Check {}

impl Opaque for Check {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.ResourceCheck"
    }
}

impl Check {
    fn blank(authority: Arc<Authority>) -> Self {
        Check {
            authority,
            group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            path: None,
        }
    }

    fn decide(&self, verb: &str) -> Decision {
        let attrs = match &self.path {
            Some(path) => RequestAttributes::non_resource(verb, path),
            None => RequestAttributes {
                verb: verb.to_string(),
                resource_request: true,
                group: self.group.clone(),
                resource: self.resource.clone(),
                subresource: Some(self.subresource.clone()).filter(|s| !s.is_empty()),
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                path: String::new(),
            },
        };
        let allowed = self.authority.allows(&attrs);
        Decision { allowed, reason: if allowed { "RBAC: allowed".to_string() } else { String::new() } }
    }
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    allowed: bool,
    reason: String,
}

impl Opaque for Decision {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.Decision"
    }
}

/// The `authorizer` value for `user`, with `requestResource` describing `request`.
pub fn authorizer(user: UserInfo, rbac: Arc<RbacPolicy>, request: &AdmissionRequest<'_>) -> Cel {
    let authority = Arc::new(Authority { user, rbac });
    let kind = request.kind;
    let request_resource = Check {
        group: kind.group.clone(),
        resource: kind.resource.clone(),
        subresource: request.subresource.unwrap_or_default().to_string(),
        namespace: request.namespace.unwrap_or_default().to_string(),
        name: request.name.to_string(),
        ..Check::blank(authority.clone())
    };
    authorizer_value(Check::blank(authority), Some(request_resource))
}

fn authorizer_value(checker: Check, request_resource: Option<Check>) -> Cel {
    let mut entries = vec![(CHECKER_KEY, Cel::Opaque(Arc::new(checker)))];
    if let Some(rr) = request_resource {
        entries.push(("requestResource", Cel::Opaque(Arc::new(rr))));
    }
    map_of(entries)
}

/// The check `this` is, or builds on: an `authorizer` map or a check.
fn check_of(ftx: &FunctionContext, this: &Cel) -> Result<Check, ExecutionError> {
    let found = match this {
        Cel::Opaque(o) => o.downcast_ref::<Check>().cloned(),
        Cel::Map(map) => map.map.iter().find_map(|(k, v)| match (k, v) {
            (kube::core::cel::cel::objects::Key::String(k), Cel::Opaque(o)) if k.as_str() == CHECKER_KEY => {
                o.downcast_ref::<Check>().cloned()
            }
            _ => None,
        }),
        _ => None,
    };
    found.ok_or_else(|| ftx.error(format!("{} is not defined on this value", ftx.name)))
}

fn decision_of(ftx: &FunctionContext, this: &Cel) -> Result<Decision, ExecutionError> {
    match this {
        Cel::Opaque(o) => o.downcast_ref::<Decision>().cloned(),
        _ => None,
    }
    .ok_or_else(|| ftx.error(format!("{} is only defined on an authorization decision", ftx.name)))
}

type Step = fn(&mut Check, String);

fn step(ftx: &FunctionContext, this: Cel, value: Arc<String>, set: Step) -> Result<Cel, ExecutionError> {
    let mut check = check_of(ftx, &this)?;
    set(&mut check, value.to_string());
    Ok(Cel::Opaque(Arc::new(check)))
}

/// Registers the authorizer's functions on `context`.
pub fn register(context: &mut Context<'_>) {
    use kube::core::cel::cel::extractors::This;
    context.add_function("group", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.group = v)
    });
    context.add_function("resource", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.resource = v)
    });
    context.add_function("subresource", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.subresource = v)
    });
    context.add_function("namespace", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.namespace = v)
    });
    context.add_function("name", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.name = v)
    });
    context.add_function("path", |ftx: &FunctionContext, This(this): This<Cel>, v: Arc<String>| {
        step(ftx, this, v, |c, v| c.path = Some(v))
    });
    context.add_function(
        "serviceAccount",
        |ftx: &FunctionContext, This(this): This<Cel>, namespace: Arc<String>, name: Arc<String>| {
            let check = check_of(ftx, &this)?;
            let authority =
                Authority { user: UserInfo::service_account(&namespace, &name), rbac: check.authority.rbac.clone() };
            Ok(authorizer_value(Check::blank(Arc::new(authority)), None))
        },
    );
    context.add_function("check", |ftx: &FunctionContext, This(this): This<Cel>, verb: Arc<String>| {
        let check = check_of(ftx, &this)?;
        if check.path.is_none() && check.resource.is_empty() {
            return Err(ftx.error("a check needs a resource or a path"));
        }
        Ok(Cel::Opaque(Arc::new(check.decide(&verb))))
    });
    context.add_function("allowed", |ftx: &FunctionContext, This(this): This<Cel>| {
        decision_of(ftx, &this).map(|d| Cel::Bool(d.allowed))
    });
    context.add_function("reason", |ftx: &FunctionContext, This(this): This<Cel>| {
        decision_of(ftx, &this).map(|d| Cel::String(Arc::new(d.reason)))
    });
    context.add_function("errored", |ftx: &FunctionContext, This(this): This<Cel>| {
        decision_of(ftx, &this).map(|_| Cel::Bool(false))
    });
    context.add_function("error", |ftx: &FunctionContext, This(this): This<Cel>| {
        decision_of(ftx, &this).map(|_| Cel::String(Arc::new(String::new())))
    });
}
