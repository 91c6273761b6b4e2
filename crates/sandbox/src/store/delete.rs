//! delete and deletecollection: preconditions, then the deletion machinery in `gc`.

use super::gc::begin_delete;
use super::key::ObjectKey;
use super::meta;
use super::options::{DeleteOptions, ListOptions, ResourceRef};
use super::{Store, resolve_kind, stored_selector, view};
use crate::error::ApiError;

pub use super::gc::DeleteOutcome;

impl DeleteOutcome {
    fn viewed(self, kind: &crate::resources::ResourceKind) -> Self {
        match self {
            DeleteOutcome::Deleted(v) => DeleteOutcome::Deleted(view(&v, kind)),
            DeleteOutcome::Pending(v) => DeleteOutcome::Pending(view(&v, kind)),
        }
    }
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
        Ok(keys
            .iter()
            .filter_map(|key| begin_delete(&mut state, key, options.propagation, options.dry_run))
            .map(|outcome| outcome.viewed(&kind))
            .collect())
    }
}
