//! update (PUT) with optimistic concurrency, the `/status` split, generation and no-op
//! detection. Patch ends here too, once the patch is applied.

use std::sync::Arc;

use serde_json::Value;

use super::admit::{Basis, Operation, PendingWrite, Planned};
use super::apply::{Ownership, Schema, settle};
use super::defaults::{self, Write};
use super::gc;
use super::immutable;
use super::key::ObjectKey;
use super::meta;
use super::options::{ResourceRef, Subresource, WriteOptions};
use super::schema;
use super::state::State;
use super::validation::{validate_finalizers_while_deleting, validate_meta};
use super::{Store, check_type, resolve_kind, stored_shape, view};
use crate::error::{ApiError, CauseType, FieldCause};
use crate::resources::{ResourceKind, view_of};

/// The part of an object whose changes bump `metadata.generation`: everything but
/// `metadata`, and but `status` when the kind has a `/status` subresource.
fn generation_part<'a>(kind: &ResourceKind, object: &'a Value) -> Vec<(&'a String, &'a Value)> {
    object
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(k, _)| k.as_str() != "metadata" && !(kind.status_subresource && k.as_str() == "status"))
                .collect()
        })
        .unwrap_or_default()
}

fn set_generation(object: &mut Value, generation: i64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".to_string(), Value::from(generation));
    }
}

fn replace_status(target: &mut Value, source: &Value) {
    if let Some(map) = target.as_object_mut() {
        match source.get("status") {
            Some(status) => {
                map.insert("status".to_string(), status.clone());
            }
            None => {
                map.remove("status");
            }
        }
    }
}

impl Store {
    /// Replaces an object (or its status); `body.metadata.resourceVersion`, when set, must
    /// be the stored one.
    pub fn update(
        &self,
        target: &ResourceRef,
        name: &str,
        body: Value,
        subresource: Subresource,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let now = meta::now();
        self.admitted_write(options.requester.as_ref(), |state| {
            let kind = resolve_kind(state, target)?;
            let request = WriteRequest { options: &options, ownership: Ownership::Track(now.clone()) };
            update_owned(state, &kind, target.namespace.as_deref(), name, body.clone(), subresource, request)
        })
    }
}

/// Checks that a `/status` request addresses a kind that has one.
pub(super) fn check_subresource(kind: &ResourceKind, subresource: Subresource) -> Result<(), ApiError> {
    if subresource == Subresource::Status && !kind.status_subresource {
        return Err(ApiError::resource_not_served(&format!("{}/status", kind.group_resource())));
    }
    Ok(())
}

/// How a write is made and who owns the fields it writes.
pub(super) struct WriteRequest<'a> {
    /// The request's options.
    pub options: &'a WriteOptions,
    /// Whose fields the result holds.
    pub ownership: Ownership,
}

/// The update itself, planned under the store lock, recording the fields the write's
/// manager owns in `metadata.managedFields` as `request` says.
pub(super) fn update_owned(
    state: &mut State,
    kind: &ResourceKind,
    namespace: Option<&str>,
    name: &str,
    mut body: Value,
    subresource: Subresource,
    request: WriteRequest<'_>,
) -> Result<Planned<Value>, ApiError> {
    let WriteRequest { options, ownership } = request;
    check_subresource(kind, subresource)?;
    check_type(&mut body, kind)?;
    let mut new_meta = meta::read_meta(&body)?;
    match new_meta.name.as_deref() {
        None | Some("") => new_meta.name = Some(name.to_string()),
        Some(n) if n == name => {}
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
    }
    let namespace = if kind.namespaced() { namespace } else { None };
    if let (Some(ns), Some(body_ns)) = (namespace, new_meta.namespace.as_deref())
        && !body_ns.is_empty()
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let key = ObjectKey::new(kind.storage_resource(), namespace, name);
    let existing = state.get(&key).cloned().ok_or_else(|| ApiError::not_found(&kind.group_resource(), name))?;
    let existing = if view_of(kind).is_some() { Arc::new(view(&existing, kind)) } else { existing };
    let old_meta = meta::read_meta(&existing)?;
    match new_meta.resource_version.as_deref() {
        Some(rv) if !rv.is_empty() && Some(rv) != old_meta.resource_version.as_deref() => {
            return Err(ApiError::stale(&kind.group_resource(), name));
        }
        Some(rv) if !rv.is_empty() => {}
        _ if kind.crd.is_some() => {
            return Err(ApiError::invalid(
                &kind.group,
                &kind.kind,
                name,
                vec![FieldCause::new(
                    CauseType::FieldValueInvalid,
                    "metadata.resourceVersion",
                    "0x0: must be specified for an update",
                )],
            ));
        }
        _ => {}
    }
    let mut new = match subresource {
        Subresource::Status => {
            let mut new = (*existing).clone();
            replace_status(&mut new, &body);
            new
        }
        Subresource::Main => {
            if kind.status_subresource {
                replace_status(&mut body, &existing);
            }
            new_meta.uid = old_meta.uid.clone();
            new_meta.creation_timestamp = old_meta.creation_timestamp.clone();
            new_meta.deletion_timestamp = old_meta.deletion_timestamp.clone();
            new_meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds;
            new_meta.namespace = old_meta.namespace.clone();
            new_meta.resource_version = old_meta.resource_version.clone();
            new_meta.generation = old_meta.generation;
            new_meta.self_link = None;
            let mut causes = validate_meta(kind.name_rule, &new_meta);
            causes.extend(validate_finalizers_while_deleting(&old_meta, &new_meta));
            if !causes.is_empty() {
                return Err(ApiError::invalid(&kind.group, &kind.kind, name, causes));
            }
            meta::write_meta(&mut body, &new_meta)?;
            defaults::apply(kind, Write::Update, &mut body)?;
            let refused = immutable::violations(kind, &existing, &body);
            if !refused.is_empty() {
                return Err(ApiError::invalid(&kind.group, &kind.kind, name, refused));
            }
            body
        }
    };
    schema::admit(state, kind, &mut new, Some(existing.as_ref()))?;
    if kind.tracks_generation && generation_part(kind, &existing) != generation_part(kind, &new) {
        set_generation(&mut new, old_meta.generation.unwrap_or(0) + 1);
    }
    let schema = Schema::for_kind(state, kind);
    settle(&schema, kind, &existing, &mut new, subresource, options.manager(), ownership);
    let mut basis = vec![key.clone()];
    basis.extend(kind.crd.as_deref().map(|crd| ObjectKey::new(super::state::crd_resource(), None, crd)));
    let new = Arc::new(new);
    let write = PendingWrite {
        operation: Operation::Update,
        kind: kind.clone(),
        subresource,
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        object: Some(new.clone()),
        old_object: Some(existing.clone()),
        dry_run: options.dry_run,
    };
    let (dry_run, kind) = (options.dry_run, kind.clone());
    Ok(Planned::new(vec![write], Basis::of(state, basis), move |state| {
        let new = Arc::unwrap_or_clone(new);
        if new == *existing {
            return Ok(view(&state.get(&key).cloned().unwrap_or(existing), &kind));
        }
        if dry_run {
            return Ok(view(&stored_shape(new, &kind), &kind));
        }
        let stored = state.put(&key, stored_shape(new, &kind));
        gc::settle(state, &key);
        Ok(view(&stored, &kind))
    }))
}
