//! create: generateName, uid, creationTimestamp, generation, namespace lifecycle checks.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::Value;

use super::admit::{Basis, Operation, PendingWrite, Planned};
use super::apply::{Ownership, Schema, settle};
use super::defaults::{self, Write};
use super::key::ObjectKey;
use super::meta;
use super::options::{ResourceRef, Subresource, WriteOptions};
use super::schema;
use super::state::{State, namespace_resource};
use super::validation::validate_meta;
use super::{Store, check_type, resolve_kind, stored_shape, view};
use crate::error::ApiError;
use crate::resources::{ResourceKind, Scope};

/// The characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const SUFFIX_LEN: usize = 5;
const MAX_GENERATE_NAME_PREFIX: usize = 63 - SUFFIX_LEN;

/// What a create makes up: drawn once per request, so that a create computed again
/// (when admission ran without the store lock) makes the same object.
pub(super) struct Fresh {
    uid: uuid::Uuid,
    name_suffix: uuid::Uuid,
    /// When the request was made: the creation time, and the time of its managedFields
    /// entry.
    pub now: Time,
}

impl Fresh {
    /// A new uid, a random name suffix and the time now.
    pub(super) fn new() -> Self {
        Fresh { uid: uuid::Uuid::new_v4(), name_suffix: uuid::Uuid::new_v4(), now: meta::now() }
    }
}

fn generated_name(prefix: &str, random: &uuid::Uuid) -> String {
    let prefix: String = prefix.chars().take(MAX_GENERATE_NAME_PREFIX).collect();
    let suffix: String = random
        .as_bytes()
        .iter()
        .take(SUFFIX_LEN)
        .map(|b| SUFFIX_ALPHABET[*b as usize % SUFFIX_ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Fails unless `namespace` exists and is not terminating.
pub(super) fn check_namespace_open(
    state: &State,
    kind: &ResourceKind,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let ns = state.get(&ObjectKey::new(namespace_resource(), None, namespace));
    match ns {
        None => Err(ApiError::not_found(&namespace_resource(), namespace)),
        Some(ns) if meta::is_deleting(ns) => Err(ApiError::forbidden(
            &kind.group_resource(),
            name,
            &format!("unable to create new content in namespace {namespace} because it is being terminated"),
        )),
        Some(_) => Ok(()),
    }
}

/// Fails when the kind's CustomResourceDefinition is being deleted.
pub(super) fn check_crd_open(state: &State, kind: &ResourceKind) -> Result<(), ApiError> {
    let Some(crd) = &kind.crd else { return Ok(()) };
    let key = ObjectKey::new(super::state::crd_resource(), None, crd);
    match state.get(&key) {
        Some(object) if meta::is_deleting(object) => Err(ApiError::method_not_allowed(format!(
            "create not allowed while custom resource definition is terminating: {crd}"
        ))),
        _ => Ok(()),
    }
}

/// Fills in the metadata a create owns, after the body's namespace was checked.
fn stamp_new(kind: &ResourceKind, meta: &mut ObjectMeta, fresh: &Fresh) {
    meta.uid = Some(fresh.uid.to_string());
    meta.creation_timestamp = Some(fresh.now.clone());
    meta.generation = kind.tracks_generation.then_some(1);
    meta.resource_version = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.self_link = None;
}

impl Store {
    /// Creates an object in the collection `target`; answers the stored object (for a dry
    /// run, the object that would have been stored, without a resourceVersion).
    pub fn create(&self, target: &ResourceRef, body: Value, options: WriteOptions) -> Result<Value, ApiError> {
        let fresh = Fresh::new();
        self.admitted_write(options.requester.as_ref(), |state| {
            let kind = resolve_kind(state, target)?;
            let new = NewObject { body: body.clone(), ownership: Ownership::Track(fresh.now.clone()), fresh: &fresh };
            create_locked(state, &kind, target.namespace.as_deref(), new, &options)
        })
    }
}

/// An object to create, with the ownership of its fields and what its create makes up.
pub(super) struct NewObject<'a> {
    /// The request's body.
    pub body: Value,
    /// Whose fields the object holds.
    pub ownership: Ownership,
    /// Its uid, creation time and generated name.
    pub fresh: &'a Fresh,
}

/// The create itself, planned under the store lock.
pub(super) fn create_locked(
    state: &mut State,
    kind: &ResourceKind,
    namespace: Option<&str>,
    new: NewObject<'_>,
    options: &WriteOptions,
) -> Result<Planned<Value>, ApiError> {
    let NewObject { mut body, ownership, fresh } = new;
    check_type(&mut body, kind)?;
    let mut meta = meta::read_meta(&body)?;
    match (kind.scope, namespace) {
        (Scope::Namespaced, Some(ns)) => {
            if meta.namespace.as_deref().is_some_and(|n| !n.is_empty() && n != ns) {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.namespace = Some(ns.to_string());
        }
        (Scope::Namespaced, None) => {
            return Err(ApiError::bad_request("a namespaced object must be created in a namespace"));
        }
        (Scope::Cluster, _) => meta.namespace = None,
    }
    if meta.name.as_deref().unwrap_or_default().is_empty()
        && let Some(prefix) = meta.generate_name.as_deref().filter(|p| !p.is_empty())
    {
        meta.name = Some(generated_name(prefix, &fresh.name_suffix));
    }
    let name = meta.name.clone().unwrap_or_default();
    let causes = validate_meta(kind.name_rule, &meta);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&kind.group, &kind.kind, &name, causes));
    }
    if let Some(ns) = namespace.filter(|_| kind.namespaced()) {
        check_namespace_open(state, kind, ns, &name)?;
    }
    check_crd_open(state, kind)?;
    stamp_new(kind, &mut meta, fresh);
    meta::write_meta(&mut body, &meta)?;
    if kind.status_subresource
        && let Some(map) = body.as_object_mut()
    {
        map.remove("status");
    }
    defaults::apply(kind, Write::Create, &mut body)?;
    schema::admit(state, kind, &mut body, None)?;
    let schema = Schema::for_kind(state, kind);
    settle(&schema, kind, &Value::Null, &mut body, Subresource::Main, options.manager(), ownership);
    let key = ObjectKey::new(kind.storage_resource(), meta.namespace.as_deref(), &name);
    if state.get(&key).is_some() {
        return Err(ApiError::already_exists(&kind.group_resource(), &name));
    }
    let mut basis = vec![key.clone()];
    basis.extend(meta.namespace.as_deref().map(|ns| ObjectKey::new(namespace_resource(), None, ns)));
    basis.extend(kind.crd.as_deref().map(|crd| ObjectKey::new(super::state::crd_resource(), None, crd)));
    let body = Arc::new(body);
    let write = PendingWrite {
        operation: Operation::Create,
        kind: kind.clone(),
        subresource: Subresource::Main,
        namespace: meta.namespace,
        name,
        object: Some(body.clone()),
        old_object: None,
        dry_run: options.dry_run,
    };
    let (dry_run, kind) = (options.dry_run, kind.clone());
    Ok(Planned::new(vec![write], Basis::of(state, basis), move |state| {
        let body = Arc::unwrap_or_clone(body);
        if dry_run {
            return Ok(body);
        }
        let stored = state.put(&key, stored_shape(body, &kind));
        Ok(view(&stored, &kind))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_keep_the_prefix_and_add_five_safe_characters() {
        let name = generated_name("web-", &uuid::Uuid::new_v4());
        assert!(name.starts_with("web-"));
        assert_eq!(name.len(), 9);
        assert!(name[4..].bytes().all(|b| SUFFIX_ALPHABET.contains(&b)));
    }
}
