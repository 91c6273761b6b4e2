//! The admission hook, run in two steps around the store lock, as kube-apiserver admits
//! a write outside its storage's transactions. Under the lock, once the object is final
//! (patched, applied, defaulted, its managedFields settled), the hook *prepares*: it takes
//! cheap owned handles on what the evaluation needs and says whether anything applies at
//! all. The lock is then released while the prepared evaluation runs, and the write is
//! committed only if what it was computed from is unchanged (see [`optimistic`]). Writes
//! nothing applies to are committed without releasing the lock. The store knows nothing
//! of what admits a write; it records what the hook says back (warnings, audit
//! annotations) on the request's [`Requester`].
//!
//! Writes without a requester (garbage collection, namespace finalization, bootstrap) are
//! the system's own and are not admitted, as on a real cluster.

mod optimistic;
#[cfg(test)]
mod tests;

pub(in crate::store) use optimistic::{Basis, Planned};

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::index::Scope;
use super::key::ObjectKey;
use super::options::Subresource;
use super::state::State;
use crate::auth::UserInfo;
use crate::error::ApiError;
use crate::resources::{GroupResource, Registry, ResourceKind};

/// The operation admission sees: patches and applies are updates (or creates, when an
/// apply creates the object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A changed object.
    Update,
    /// A deleted object.
    Delete,
}

impl Operation {
    /// The operation as admission spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// One write, as admission sees it.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionRequest<'a> {
    /// Create, update or delete.
    pub operation: Operation,
    /// The kind written.
    pub kind: &'a ResourceKind,
    /// The subresource written (`status`), if any.
    pub subresource: Option<&'a str>,
    /// The namespace; `None` for cluster-scoped objects.
    pub namespace: Option<&'a str>,
    /// The object's name.
    pub name: &'a str,
    /// The object as it would be stored; `None` for a delete.
    pub object: Option<&'a Value>,
    /// The stored object before the write; `None` for a create.
    pub old_object: Option<&'a Value>,
    /// Who writes.
    pub user: &'a UserInfo,
    /// Whether nothing will be stored.
    pub dry_run: bool,
}

impl AdmissionRequest<'_> {
    /// The request's options object (`CreateOptions`, `UpdateOptions`, `DeleteOptions`) as
    /// admission's `request.options` shows it.
    pub fn options(&self) -> Value {
        let kind = match self.operation {
            Operation::Create => "CreateOptions",
            Operation::Update => "UpdateOptions",
            Operation::Delete => "DeleteOptions",
        };
        let mut options = serde_json::json!({"apiVersion": "meta.k8s.io/v1", "kind": kind});
        if self.dry_run {
            options["dryRun"] = serde_json::json!(["All"]);
        }
        options
    }
}

/// Read access to the stored objects during admission.
#[derive(Clone, Copy)]
pub struct ObjectView<'a> {
    state: &'a State,
}

impl<'a> ObjectView<'a> {
    /// A view of `state`.
    pub(super) fn new(state: &'a State) -> Self {
        ObjectView { state }
    }

    /// The stored object, if any (`namespace` is `None` for cluster-scoped objects).
    pub fn get(&self, resource: &GroupResource, namespace: Option<&str>, name: &str) -> Option<&'a Arc<Value>> {
        self.state.get(&ObjectKey::new(resource.clone(), namespace, name))
    }

    /// Every stored object of `resource`, in namespace and name order.
    pub fn list(&self, resource: &GroupResource) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.state.objects_of(resource).into_iter().flat_map(|objects| objects.values())
    }

    /// The stored objects of `resource` in `namespace` (or the cluster-scoped ones, for
    /// `None`), in name order, without walking the other namespaces.
    pub fn list_in(
        &self,
        resource: &GroupResource,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        let scope = Scope { namespace: Some(namespace.unwrap_or_default()), after: None };
        let objects = self.state.objects_of(resource).map(|objects| scope.entries(objects));
        objects.into_iter().flatten().map(|(_, object)| object)
    }

    /// Counts the writes to RBAC objects (Roles, ClusterRoles and their bindings): what
    /// is made from them holds while it is unchanged.
    pub fn rbac_generation(&self) -> u64 {
        self.state.rbac_generation
    }

    /// The served kinds.
    pub fn registry(&self) -> &'a Registry {
        &self.state.registry
    }
}

/// What admission says about an allowed write: warnings for the client and annotations
/// for the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// `Warning` header texts.
    pub warnings: Vec<String>,
    /// Audit annotations, `key=value` with the policy's name in the key.
    pub audit_annotations: Vec<(String, String)>,
}

/// What admission decided: the notes for the response (kept when the write is refused
/// too, as the API server keeps its warnings) and the refusal, if any.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Warnings and audit annotations.
    pub notes: Admitted,
    /// Why the write is refused.
    pub denial: Option<ApiError>,
}

/// Decides whether a write may be committed: [`Admission::prepare`] runs under the store
/// lock and must be quick; the [`Evaluation`] it answers runs without the lock.
pub trait Admission: Send + Sync {
    /// Looks at `write` by `user` with the stored `objects`, taking what the evaluation
    /// needs as owned handles (the objects are `Arc`s: cloning them is cheap).
    fn prepare(&self, objects: ObjectView<'_>, write: &Arc<PendingWrite>, user: &UserInfo) -> Prepared;
}

/// What [`Admission::prepare`] found.
pub enum Prepared {
    /// Nothing applies to the write: it is admitted as it is.
    Admitted,
    /// Decided without evaluating anything (an invalid policy object is refused, say).
    Decided(Verdict),
    /// To be evaluated once the store lock is released.
    Evaluate(Box<dyn Evaluation>),
}

/// A prepared admission, evaluated without the store lock.
pub trait Evaluation {
    /// Allows the write (with warnings) or refuses it.
    fn evaluate(self: Box<Self>) -> Verdict;
}

/// A write about to be committed, as admission sees it (without the user, who is the
/// request's).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingWrite {
    /// Create, update or delete.
    pub operation: Operation,
    /// The kind written.
    pub kind: ResourceKind,
    /// The subresource written.
    pub subresource: Subresource,
    /// The namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// The object as it would be stored; `None` for a delete.
    pub object: Option<Arc<Value>>,
    /// The stored object before the write; `None` for a create.
    pub old_object: Option<Arc<Value>>,
    /// Whether nothing will be stored.
    pub dry_run: bool,
}

impl PendingWrite {
    /// The write as `user` requests it.
    pub fn request<'a>(&'a self, user: &'a UserInfo) -> AdmissionRequest<'a> {
        AdmissionRequest {
            operation: self.operation,
            kind: &self.kind,
            subresource: match self.subresource {
                Subresource::Main => None,
                Subresource::Status => Some("status"),
            },
            namespace: self.namespace.as_deref(),
            name: &self.name,
            object: self.object.as_deref(),
            old_object: self.old_object.as_deref(),
            user,
            dry_run: self.dry_run,
        }
    }
}

/// The client behind a write: who it is, and where admission's warnings and audit
/// annotations go for the response and the request log.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The user the request runs as.
    pub user: UserInfo,
    notes: Arc<Mutex<Admitted>>,
}

impl PartialEq for Requester {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user
    }
}

impl Eq for Requester {}

impl Requester {
    /// A requester acting as `user`, with nothing noted yet.
    pub fn new(user: UserInfo) -> Self {
        Requester { user, notes: Arc::default() }
    }

    fn note(&self, admitted: Admitted) {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        notes.warnings.extend(admitted.warnings);
        notes.audit_annotations.extend(admitted.audit_annotations);
    }

    /// What admission said about the request's writes so far.
    pub fn notes(&self) -> Admitted {
        self.notes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The hook the store calls; none installed admits everything.
#[derive(Default)]
pub struct Hook(std::sync::OnceLock<Arc<dyn Admission>>);

impl Hook {
    /// Installs `admission`; a second install is refused.
    pub fn install(&self, admission: Arc<dyn Admission>) -> bool {
        self.0.set(admission).is_ok()
    }

    /// The installed admission, if any.
    fn get(&self) -> Option<&Arc<dyn Admission>> {
        self.0.get()
    }
}
