//! ValidatingAdmissionPolicy (`admissionregistration.k8s.io/v1`): the admission engine the
//! store calls before it commits a client's write.
//!
//! - [`values`]: JSON objects as CEL values, keys kept as they are.
//! - [`compile`]: a policy compiled once (cached by uid and resourceVersion).
//! - [`paths`]: the parts of the request's objects the expressions read.
//! - [`matching`]: which writes a policy and a binding apply to.
//! - [`params`]: the parameter objects a binding names.
//! - [`authorizer`]: the `authorizer` variable, answered by the sandbox's RBAC.
//! - [`evaluate`]: one policy evaluated for one request and parameter.
//! - [`evaluation`]: a request's matched policies, prepared under the store lock and
//!   evaluated without it.
//! - [`verdict`]: the binding's validation actions: denial, warnings, audit annotations.
//! - [`validate`]: the API server's checks of policy and binding objects themselves.

mod authorizer;
mod compile;
mod direct;
mod evaluate;
mod evaluation;
mod matching;
mod params;
mod paths;
mod validate;
mod values;
mod verdict;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use kube::core::cel::KubeCelExt;
use kube::core::cel::cel::Context;
use serde_json::Value;

use crate::auth::identity::MASTERS_GROUP;
use crate::auth::rbac::RbacPolicy;
use crate::auth::{Authenticated, UserInfo};
use crate::resources::GroupResource;
use crate::server::ADMIN_USER;
use crate::store::{Admission, AdmissionRequest, ObjectView, Operation, PendingWrite, Prepared, Verdict, meta};
use compile::{CompiledPolicy, Reads};
use evaluation::RequestEvaluation;
use paths::ObjectReads;
use verdict::Binding;

const GROUP: &str = "admissionregistration.k8s.io";
const POLICIES: &str = "validatingadmissionpolicies";
const BINDINGS: &str = "validatingadmissionpolicybindings";

/// The user admission sees for a request: the authenticated user, or for the admin token
/// a member of `system:masters` named as the request log names it.
pub fn user_of(who: &Authenticated) -> UserInfo {
    match who {
        Authenticated::Admin => UserInfo::user(ADMIN_USER, &[MASTERS_GROUP]),
        Authenticated::User(user) => user.clone(),
    }
}

/// A cached value and the resourceVersion it was made from.
struct Cached<T> {
    resource_version: String,
    value: Arc<T>,
}

/// The bound policies made from the stored policy and binding objects (held, so that
/// the same objects are recognised by address), and what each set of matched policies
/// reads, by their indexes.
struct Bound {
    sources: Vec<Arc<Value>>,
    pairs: Arc<[(Arc<CompiledPolicy>, Arc<Binding>)]>,
    reads: HashMap<Vec<usize>, Arc<(Reads, ObjectReads)>>,
}

/// Compiled policies and decoded bindings by uid, the last bound policies, and the RBAC
/// objects decoded for the `authorizer` with the RBAC generation they were read at.
#[derive(Default)]
struct Cache {
    policies: HashMap<String, Cached<CompiledPolicy>>,
    bindings: HashMap<String, Cached<Binding>>,
    bound: Option<Bound>,
    rbac: Option<(u64, Arc<RbacPolicy>)>,
}

/// At most this many sets of matched policies keep what they read.
const READS_CACHED: usize = 64;

/// Brings `cache` up to date with `objects` (by uid and resourceVersion) and answers the
/// current values.
fn refresh<T>(
    cache: &mut HashMap<String, Cached<T>>,
    objects: impl Iterator<Item = Arc<Value>>,
    make: impl Fn(&Value) -> Option<T>,
) -> Vec<Arc<T>> {
    let mut current = Vec::new();
    for object in objects {
        let uid = meta::uid(&object);
        let rv = meta::resource_version(&object);
        match cache.get(uid) {
            Some(cached) if cached.resource_version == rv => current.push(cached.value.clone()),
            _ => {
                if let Some(value) = make(&object).map(Arc::new) {
                    cache.insert(uid.to_string(), Cached { resource_version: rv.to_string(), value: value.clone() });
                    current.push(value);
                }
            }
        }
    }
    if cache.len() > current.len() {
        cache.retain(|_, cached| current.iter().any(|c| Arc::ptr_eq(c, &cached.value)));
    }
    current
}

/// The admission engine: the CEL environment with Kubernetes' functions and the
/// authorizer's, and the compiled policies.
pub struct Engine {
    root: Arc<Context<'static>>,
    cache: Mutex<Cache>,
}

impl Default for Engine {
    fn default() -> Self {
        let mut root = Context::default().with_all();
        authorizer::register(&mut root);
        Engine { root: Arc::new(root), cache: Mutex::default() }
    }
}

impl Engine {
    /// The bound policies: each binding with the policy it names. Made again only when a
    /// policy or binding object changed (each write stores a new object).
    fn bound(&self, objects: ObjectView<'_>) -> Arc<[(Arc<CompiledPolicy>, Arc<Binding>)]> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let policy_objects = objects.list(&GroupResource::new(GROUP, POLICIES));
        let sources: Vec<&Arc<Value>> =
            policy_objects.chain(objects.list(&GroupResource::new(GROUP, BINDINGS))).collect();
        if let Some(bound) = &cache.bound
            && bound.sources.len() == sources.len()
            && bound.sources.iter().zip(&sources).all(|(a, b)| Arc::ptr_eq(a, b))
        {
            return bound.pairs.clone();
        }
        let pairs: Arc<[_]> = self.make_bound(&mut cache, objects).into();
        let sources = sources.into_iter().cloned().collect();
        cache.bound = Some(Bound { sources, pairs: pairs.clone(), reads: HashMap::new() });
        pairs
    }

    /// What the policies at `matched` (indexes into the current [`Engine::bound`]) read.
    fn reads(&self, bound: &[(Arc<CompiledPolicy>, Arc<Binding>)], matched: &[usize]) -> Arc<(Reads, ObjectReads)> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = cache.bound.as_mut().filter(|b| std::ptr::eq(b.pairs.as_ref(), bound));
        if let Some(found) = cached.as_ref().and_then(|b| b.reads.get(matched)) {
            return found.clone();
        }
        let policies = || matched.iter().filter_map(|&i| bound.get(i)).map(|(p, _)| p);
        let reads = policies().fold(Reads::default(), |all, p| all.union(p.reads));
        let mut objects_read = ObjectReads::default();
        policies().for_each(|p| objects_read.union(&p.objects));
        let made = Arc::new((reads, objects_read));
        if let Some(b) = cached
            && b.reads.len() < READS_CACHED
        {
            b.reads.insert(matched.to_vec(), made.clone());
        }
        made
    }

    /// The stored RBAC objects, decoded again only when one of them changed.
    fn rbac(&self, objects: ObjectView<'_>) -> Arc<RbacPolicy> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = objects.rbac_generation();
        if let Some((read_at, rbac)) = &cache.rbac
            && *read_at == generation
        {
            return rbac.clone();
        }
        let rbac = Arc::new(authorizer::rbac(objects));
        cache.rbac = Some((generation, rbac.clone()));
        rbac
    }

    /// [`Engine::bound`], made from the stored objects.
    fn make_bound(&self, cache: &mut Cache, objects: ObjectView<'_>) -> Vec<(Arc<CompiledPolicy>, Arc<Binding>)> {
        let policies = refresh(&mut cache.policies, objects.list(&GroupResource::new(GROUP, POLICIES)).cloned(), |o| {
            serde_json::from_value::<ValidatingAdmissionPolicy>(o.clone()).ok().map(|p| CompiledPolicy::compile(&p))
        });
        if policies.is_empty() {
            return Vec::new();
        }
        let bindings = refresh(&mut cache.bindings, objects.list(&GroupResource::new(GROUP, BINDINGS)).cloned(), |o| {
            serde_json::from_value::<ValidatingAdmissionPolicyBinding>(o.clone()).ok().map(Binding::new)
        });
        let by_name: HashMap<&str, &Arc<CompiledPolicy>> = policies.iter().map(|p| (p.name.as_str(), p)).collect();
        bindings.into_iter().filter_map(|b| by_name.get(b.policy.as_str()).map(|p| ((*p).clone(), b))).collect()
    }
}

/// The Namespace a write is in; for a Namespace, itself.
fn namespace_of(objects: ObjectView<'_>, write: &PendingWrite) -> Option<Arc<Value>> {
    if write.kind.group.is_empty() && write.kind.resource == "namespaces" {
        return write.object.clone().or_else(|| write.old_object.clone());
    }
    let namespace = write.namespace.as_deref().filter(|_| write.kind.namespaced())?;
    objects.get(&GroupResource::new("", "namespaces"), None, namespace).cloned()
}

/// Refuses invalid policy and binding objects, as the API server validates them.
fn validate_own_kinds(request: &AdmissionRequest<'_>) -> Result<(), crate::error::ApiError> {
    let (Some(object), true) = (request.object, request.kind.group == GROUP) else { return Ok(()) };
    match (request.kind.resource.as_str(), request.subresource, request.operation) {
        (POLICIES, None, Operation::Create | Operation::Update) => validate::policy(object),
        (BINDINGS, None, Operation::Create | Operation::Update) => validate::binding(object),
        _ => Ok(()),
    }
}

impl Admission for Engine {
    fn prepare(&self, objects: ObjectView<'_>, write: &Arc<PendingWrite>, user: &UserInfo) -> Prepared {
        let request = write.request(user);
        if let Err(e) = validate_own_kinds(&request) {
            return Prepared::Decided(Verdict { denial: Some(e), ..Verdict::default() });
        }
        let bound = self.bound(objects);
        if bound.is_empty() {
            return Prepared::Admitted;
        }
        let namespace = namespace_of(objects, write);
        let applies = |policy: &CompiledPolicy, binding: &Binding| {
            let namespace = namespace.as_deref();
            policy.spec.match_constraints.as_ref().is_some_and(|m| matching::matches(m, &request, namespace))
                && binding.spec.match_resources.as_ref().is_none_or(|m| matching::matches(m, &request, namespace))
        };
        let matched: Vec<usize> =
            (0..bound.len()).filter(|&i| bound.get(i).is_some_and(|(p, b)| applies(p, b))).collect();
        if matched.is_empty() {
            return Prepared::Admitted;
        }
        let reads = self.reads(&bound, &matched);
        let policies = matched
            .iter()
            .filter_map(|&i| bound.get(i))
            .map(|(policy, binding)| {
                let param_kind = policy.spec.param_kind.as_ref();
                let params = params::resolve(objects, param_kind, binding.spec.param_ref.as_ref(), &request);
                (policy.clone(), binding.clone(), params)
            })
            .collect();
        let rbac = reads.0.authorizer.then(|| self.rbac(objects));
        Prepared::Evaluate(Box::new(RequestEvaluation {
            root: self.root.clone(),
            write: write.clone(),
            user: user.clone(),
            namespace,
            policies,
            reads,
            rbac,
        }))
    }
}
