//! delete and deletecollection: preconditions, then the deletion machinery in `gc`.

use serde_json::Value;

use super::admit::{Operation, Pending};
use super::gc::begin_delete;
use super::key::ObjectKey;
use super::meta;
use super::options::{DeleteOptions, ListOptions, ResourceRef, Subresource};
use super::state::State;
use super::{Store, resolve_kind, stored_selector, view};
use crate::error::ApiError;
use crate::resources::ResourceKind;

pub use super::gc::DeleteOutcome;

impl DeleteOutcome {
    fn viewed(self, kind: &crate::resources::ResourceKind) -> Self {
        match self {
            DeleteOutcome::Deleted(v) => DeleteOutcome::Deleted(view(&v, kind)),
            DeleteOutcome::Pending(v) => DeleteOutcome::Pending(view(&v, kind)),
        }
    }
}

/// Admits the delete of `existing` (not for objects already being deleted, whose delete
/// changes nothing).
fn admit_delete(
    state: &State,
    kind: &ResourceKind,
    key: &ObjectKey,
    existing: &Value,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    let pending = Pending {
        operation: Operation::Delete,
        kind,
        subresource: Subresource::Main,
        namespace: key.name.namespace(),
        name: &key.name.name,
        object: None,
        old_object: Some(existing),
        dry_run: options.dry_run,
    };
    state.admission.check(state, options.requester.as_ref(), pending)
}

impl Store {
    /// Deletes one object.
    pub fn delete(&self, target: &ResourceRef, name: &str, options: &DeleteOptions) -> Result<DeleteOutcome, ApiError> {
        let mut state = self.lock();
        let kind = resolve_kind(&state, target)?;
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
        if !meta::is_deleting(existing) {
            admit_delete(&state, &kind, &key, existing, options)?;
        }
        begin_delete(&mut state, &key, options.propagation, options.dry_run)
            .map(|outcome| outcome.viewed(&kind))
            .ok_or_else(|| ApiError::not_found(&kind.group_resource(), name))
    }

    /// Deletes every object of a collection that matches `list`; answers what each delete
    /// answered.
    pub fn delete_collection(
        &self,
        target: &ResourceRef,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DeleteOutcome>, ApiError> {
        let mut state = self.lock();
        let kind = resolve_kind(&state, target)?;
        let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
        let fields = stored_selector(&list.field_selector, &kind)?;
        let keys: Vec<ObjectKey> = state
            .keys_of(&kind.storage_resource())
            .into_iter()
            .filter(|k| namespace.is_none_or(|ns| k.name.namespace == ns))
            .filter(|k| state.get(k).is_some_and(|o| list.label_selector.matches(meta::labels(o)) && fields.matches(o)))
            .collect();
        for key in &keys {
            if let Some(existing) = state.get(key).filter(|o| !meta::is_deleting(o)) {
                admit_delete(&state, &kind, key, existing, options)?;
            }
        }
        Ok(keys
            .iter()
            .filter_map(|key| begin_delete(&mut state, key, options.propagation, options.dry_run))
            .map(|outcome| outcome.viewed(&kind))
            .collect())
    }
}
