//! delete and deletecollection: preconditions, then the deletion machinery in `gc`.

use std::sync::Arc;

use serde_json::Value;

use super::admit::{Basis, Operation, PendingWrite, Planned};
use super::gc::{Ended, begin_delete};
use super::index::Scope;
use super::key::ObjectKey;
use super::meta;
use super::options::{DeleteOptions, ListOptions, ResourceRef, Subresource};
use super::state::State;
use super::{Store, resolve_kind, stored_selector, view};
use crate::error::ApiError;
use crate::resources::ResourceKind;

pub use super::gc::DeleteOutcome;

impl Ended {
    /// The outcome a client reads: the object as `kind` shows it.
    fn viewed(self, kind: &ResourceKind) -> DeleteOutcome {
        match self {
            Ended::Deleted(object) => DeleteOutcome::Deleted(view(&object, kind)),
            Ended::Pending(object) => DeleteOutcome::Pending(view(&object, kind)),
        }
    }
}

/// What admission sees of the delete of `existing` at `key`.
fn delete_write(kind: &ResourceKind, key: &ObjectKey, existing: &Arc<Value>, options: &DeleteOptions) -> PendingWrite {
    PendingWrite {
        operation: Operation::Delete,
        kind: kind.clone(),
        subresource: Subresource::Main,
        namespace: key.name.namespace().map(str::to_string),
        name: key.name.name.clone(),
        object: None,
        old_object: Some(existing.clone()),
        dry_run: options.dry_run,
    }
}

impl Store {
    /// Deletes one object.
    pub fn delete(&self, target: &ResourceRef, name: &str, options: &DeleteOptions) -> Result<DeleteOutcome, ApiError> {
        self.admitted_write(options.requester.as_ref(), |state| delete_locked(state, target, name, options))
    }

    /// Deletes every object of a collection that matches `list`; answers what each delete
    /// answered.
    pub fn delete_collection(
        &self,
        target: &ResourceRef,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DeleteOutcome>, ApiError> {
        self.admitted_write(options.requester.as_ref(), |state| {
            let kind = resolve_kind(state, target)?;
            let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
            let fields = stored_selector(&list.field_selector, &kind)?;
            let resource = kind.storage_resource();
            let scope = Scope { namespace, after: None };
            let keys: Vec<ObjectKey> = state
                .candidates(&resource, scope, &list.label_selector)
                .filter(|(_, o)| list.label_selector.matches(meta::labels(o)) && fields.matches(o))
                .map(|(name, _)| ObjectKey { resource: resource.clone(), name: name.clone() })
                .collect();
            // Objects already being deleted change nothing and are not admitted.
            let writes = keys
                .iter()
                .filter_map(|key| state.get(key).filter(|o| !meta::is_deleting(o)).map(|o| (key, o)))
                .map(|(key, existing)| delete_write(&kind, key, existing, options))
                .collect();
            let (propagation, dry_run) = (options.propagation, options.dry_run);
            Ok(Planned::new(writes, Basis::whole_store(), move |state| {
                Ok(keys
                    .iter()
                    .filter_map(|key| begin_delete(state, key, propagation, dry_run))
                    .map(|outcome| outcome.viewed(&kind))
                    .collect())
            }))
        })
    }
}

/// The delete of one object, planned under the store lock.
fn delete_locked(
    state: &mut State,
    target: &ResourceRef,
    name: &str,
    options: &DeleteOptions,
) -> Result<Planned<DeleteOutcome>, ApiError> {
    let kind = resolve_kind(state, target)?;
    let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
    let key = ObjectKey::new(kind.storage_resource(), namespace, name);
    let existing = state.get(&key).ok_or_else(|| ApiError::not_found(&kind.group_resource(), name))?;
    if let Some(uid) = options.precondition_uid.as_deref()
        && uid != meta::uid(existing)
    {
        let why =
            format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta::uid(existing));
        return Err(ApiError::conflict(&kind.group_resource(), name, &why));
    }
    if let Some(rv) = options.precondition_resource_version.as_deref()
        && rv != meta::resource_version(existing)
    {
        let why = format!(
            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
            meta::resource_version(existing)
        );
        return Err(ApiError::conflict(&kind.group_resource(), name, &why));
    }
    // The delete of an object already being deleted changes nothing and is not admitted.
    let writes =
        if meta::is_deleting(existing) { Vec::new() } else { vec![delete_write(&kind, &key, existing, options)] };
    let basis = Basis::of(state, [key.clone()]);
    let (propagation, dry_run) = (options.propagation, options.dry_run);
    let name = name.to_string();
    Ok(Planned::new(writes, basis, move |state| {
        begin_delete(state, &key, propagation, dry_run)
            .map(|outcome| outcome.viewed(&kind))
            .ok_or_else(|| ApiError::not_found(&kind.group_resource(), &name))
    }))
}
