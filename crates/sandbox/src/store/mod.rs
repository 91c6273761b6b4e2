//! The in-memory object store: every object the sandbox serves, one cluster-wide
//! resourceVersion counter, the change history that watches replay, and the semantics of
//! each verb (optimistic concurrency, generation, `/status`, finalizers, garbage
//! collection, dry runs).
//!
//! One mutex guards the whole state; no operation awaits while holding it. A client's
//! write that admission has to evaluate holds it twice: to plan the write, and to commit
//! it if what the write was planned from is unchanged (see `admit`). Watches receive
//! changes through a broadcast channel that is subscribed under the same lock that reads
//! the history, so no change can fall between replay and live delivery.

mod admit;
pub mod apply;
mod create;
mod defaults;
mod delete;
mod gc;
mod history;
mod immutable;
mod index;
mod key;
mod list;
pub mod meta;
mod options;
mod patch;
pub mod schema;
mod selector;
mod snapshot;
mod state;
mod strategic;
mod update;
pub mod validation;
mod watch;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;

pub use admit::{
    Admission, AdmissionRequest, Admitted, Evaluation, ObjectView, Operation, PendingWrite, Prepared, Requester,
    Verdict,
};
pub use delete::DeleteOutcome;
pub use history::{Change, ChangeKind};
pub use key::{ObjectKey, ObjectName};
pub use list::ObjectList;
pub use options::{DeleteOptions, ListOptions, Propagation, ResourceRef, Subresource, WatchOptions, WriteOptions};
pub use patch::PatchBody;
pub use selector::{FieldRequirement, FieldSelector, LabelRequirement, LabelSelector, Operator};
pub use snapshot::{ResourceObjects, Snapshot};
pub use watch::{WatchEvent, WatchSession};

use crate::auth::rbac::RbacPolicy;
use crate::error::ApiError;
use crate::resources::{Registry, ResourceKind, view_of};
use state::State;

/// The namespaces every cluster starts with.
pub const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Tunables of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// How many changes are kept for watches to replay; older resourceVersions get 410.
    pub history_capacity: usize,
    /// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` stays open.
    pub default_watch_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            history_capacity: 10_000,
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(1800),
        }
    }
}

/// The object store.
pub struct Store {
    state: Mutex<State>,
    config: StoreConfig,
    /// The RBAC policy last made from the stored RBAC objects, and the
    /// `State::rbac_generation` it was made at.
    rbac: Mutex<Option<(u64, Arc<RbacPolicy>)>>,
}

impl Store {
    /// A store holding only the initial namespaces.
    pub fn new(config: StoreConfig) -> Result<Self, ApiError> {
        let store =
            Store { state: Mutex::new(State::new(config.history_capacity, 4096)), config, rbac: Mutex::default() };
        let namespaces = ResourceRef::new("", "v1", "namespaces", None);
        for name in INITIAL_NAMESPACES {
            let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            let options = WriteOptions { field_manager: Some("kube-apiserver".to_string()), ..WriteOptions::default() };
            store.create(&namespaces, body, options)?;
        }
        Ok(store)
    }

    /// Installs what admits clients' writes (their options carry a [`Requester`]); false
    /// when one is installed already.
    pub fn set_admission(&self, admission: std::sync::Arc<dyn Admission>) -> bool {
        self.lock().admission.install(admission)
    }

    /// The store's tunables.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The RBAC policy of the stored Roles, ClusterRoles and their bindings: made by `make`
    /// only when one of them changed since it was last made.
    pub fn rbac_policy(&self, make: impl FnOnce() -> RbacPolicy) -> Arc<RbacPolicy> {
        let generation = self.lock().rbac_generation;
        let mut cached = self.rbac.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((made_at, policy)) = cached.as_ref()
            && *made_at == generation
        {
            return policy.clone();
        }
        // Made after reading the generation: at worst newer than it, and made again next time.
        let policy = Arc::new(make());
        *cached = Some((generation, policy.clone()));
        policy
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data: every mutation is a single
        // map insert or remove, so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kind served at `group/version/resource`, if any.
    pub fn resolve(&self, group: &str, version: &str, resource: &str) -> Option<ResourceKind> {
        self.lock().registry.find(group, version, resource).cloned()
    }

    /// A copy of the served kinds, for discovery.
    pub fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }

    /// The newest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Forgets all history up to now: a watch from any earlier resourceVersion gets 410.
    pub fn compact(&self) {
        let mut state = self.lock();
        let rv = state.rv;
        state.history.compact(rv);
    }
}

/// The kind `target` names, or 404.
fn resolve_kind(state: &State, target: &ResourceRef) -> Result<ResourceKind, ApiError> {
    state.registry.find(&target.group, &target.version, &target.resource).cloned().ok_or_else(|| {
        let gv = if target.group.is_empty() {
            target.version.clone()
        } else {
            format!("{}/{}", target.group, target.version)
        };
        ApiError::resource_not_served(&format!("{gv}, Resource={}", target.resource))
    })
}

/// The stored object as it reads at the requested version (converted when the kind is a
/// view of another's objects).
fn view(object: &Value, kind: &ResourceKind) -> Value {
    let mut out = match view_of(kind) {
        Some(view) => view.from_storage(object.clone()),
        None => object.clone(),
    };
    meta::set_api_version(&mut out, &kind.api_version());
    out
}

/// `selector`, written for `kind`, in the field labels of the objects as stored: a view's
/// labels are translated, and labels it is not selected by are refused.
fn stored_selector(selector: &FieldSelector, kind: &ResourceKind) -> Result<FieldSelector, ApiError> {
    let Some(view) = view_of(kind) else { return Ok(selector.clone()) };
    let mut stored = selector.clone();
    for requirement in &mut stored.requirements {
        let label = view
            .stored_field_label(&requirement.field)
            .ok_or_else(|| ApiError::bad_request(format!("field label not supported: {}", requirement.field)))?;
        requirement.field = label.to_string();
    }
    Ok(stored)
}

/// An object written as `kind`, in the shape it is stored in.
fn stored_shape(object: Value, kind: &ResourceKind) -> Value {
    match view_of(kind) {
        Some(view) => view.to_storage(object),
        None => object,
    }
}

/// Checks `apiVersion` and `kind` of a request body against the URL, filling them in when
/// absent.
fn check_type(body: &mut Value, kind: &ResourceKind) -> Result<(), ApiError> {
    let map = body.as_object_mut().ok_or_else(|| ApiError::bad_request("the request body must be a JSON object"))?;
    let expected_api_version = kind.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".to_string(), Value::String(expected_api_version));
        }
        Some(v) if v == expected_api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({expected_api_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".to_string(), Value::String(kind.kind.clone()));
        }
        Some(k) if k == kind.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                kind.kind
            )));
        }
    }
    Ok(())
}
