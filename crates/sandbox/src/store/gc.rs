//! What happens around a deletion, done synchronously inside the write that causes it:
//! finalizers that the system owns (`foregroundDeletion`, `orphan`, the CRD cleanup
//! finalizer, a Namespace's `spec.finalizers`), garbage collection of dependents through
//! ownerReferences, and removal once nothing holds an object back.

use std::sync::Arc;

use serde_json::{Value, json};

use super::defaults::{self, clear_namespace_spec_finalizers, namespace_has_spec_finalizers};
use super::key::ObjectKey;
use super::meta;
use super::options::Propagation;
use super::state::{State, crd_resource, namespace_resource};
use crate::resources::{CRD_CLEANUP_FINALIZER, GroupResource};

/// Keeps an owner until its dependents are deleted.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Strips the owner from its dependents before the owner goes.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// How a delete ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    /// The object is gone; this is its last state.
    Deleted(Value),
    /// The object is being deleted and waits for its finalizers; this is its current state.
    Pending(Value),
}

/// How a delete ended, with the object shared rather than copied: the cascades that make
/// most deletions never read it, and a client's delete copies it once, into its view.
#[derive(Debug, Clone)]
pub enum Ended {
    /// The object is gone; this is its last state.
    Deleted(Arc<Value>),
    /// The object is being deleted and waits for its finalizers; this is its current state.
    Pending(Arc<Value>),
}

/// The resource of the objects a CRD named `plural.group` defines.
fn crd_instances(crd_name: &str) -> GroupResource {
    let (plural, group) = crd_name.split_once('.').unwrap_or((crd_name, ""));
    GroupResource::new(group, plural)
}

fn set_finalizers(object: &mut Value, finalizers: &[String]) {
    if let Some(m) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if finalizers.is_empty() {
            m.remove("finalizers");
        } else {
            m.insert("finalizers".to_string(), json!(finalizers));
        }
    }
}

/// Starts deleting the object at `key`: marks it with a deletionTimestamp when something
/// must happen first, or removes it at once. With `dry_run`, only says what would happen.
pub fn begin_delete(state: &mut State, key: &ObjectKey, propagation: Propagation, dry_run: bool) -> Option<Ended> {
    let existing = state.get(key)?.clone();
    if meta::is_deleting(&existing) {
        return Some(Ended::Pending(existing));
    }
    let mut finalizers: Vec<String> = meta::finalizers(&existing).into_iter().map(str::to_string).collect();
    let system = match propagation {
        Propagation::Foreground => Some(FOREGROUND_FINALIZER),
        Propagation::Orphan => Some(ORPHAN_FINALIZER),
        Propagation::Background => None,
    };
    if let Some(f) = system
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.to_string());
    }
    let is_crd_with_instances = key.resource == crd_resource() && state.has_objects(&crd_instances(&key.name.name));
    if is_crd_with_instances && !finalizers.iter().any(|x| x == CRD_CLEANUP_FINALIZER) {
        finalizers.push(CRD_CLEANUP_FINALIZER.to_string());
    }
    let is_namespace = key.resource == namespace_resource();
    if finalizers.is_empty() && !(is_namespace && namespace_has_spec_finalizers(&existing)) {
        if dry_run {
            return Some(Ended::Deleted(existing));
        }
        return remove_and_cascade(state, key).map(Ended::Deleted);
    }
    let mut marked = (*existing).clone();
    if let Some(m) = marked.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("deletionTimestamp".to_string(), serde_json::to_value(meta::now()).unwrap_or(Value::Null));
        m.insert("deletionGracePeriodSeconds".to_string(), json!(0));
    }
    set_finalizers(&mut marked, &finalizers);
    if is_namespace {
        defaults::namespace_terminating(&mut marked);
    }
    if dry_run {
        return Some(Ended::Pending(Arc::new(marked)));
    }
    state.put(key, marked);
    let uid = meta::uid(&existing).to_string();
    match propagation {
        Propagation::Foreground => {
            for dependent in state.dependents_of(&uid) {
                begin_delete(state, &dependent, Propagation::Background, false);
            }
        }
        Propagation::Orphan | Propagation::Background => {}
    }
    if is_namespace {
        for content in state.contents_of_namespace(&key.name.name) {
            begin_delete(state, &content, Propagation::Background, false);
        }
    }
    if is_crd_with_instances {
        for instance in state.keys_of(&crd_instances(&key.name.name)) {
            begin_delete(state, &instance, Propagation::Background, false);
        }
    }
    settle(state, key);
    Some(match state.get(key) {
        Some(current) => Ended::Pending(current.clone()),
        None => Ended::Deleted(existing),
    })
}

/// For an object being deleted: drops the system finalizers whose work is done, and
/// removes the object once no finalizer is left.
pub fn settle(state: &mut State, key: &ObjectKey) {
    let Some(object) = state.get(key).cloned() else { return };
    if !meta::is_deleting(&object) {
        return;
    }
    let uid = meta::uid(&object).to_string();
    let before: Vec<String> = meta::finalizers(&object).into_iter().map(str::to_string).collect();
    let mut finalizers = before.clone();
    if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
        orphan_dependents(state, &uid);
        finalizers.retain(|f| f != ORPHAN_FINALIZER);
    }
    if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) && !state.has_dependents(&uid) {
        finalizers.retain(|f| f != FOREGROUND_FINALIZER);
    }
    if key.resource == crd_resource()
        && finalizers.iter().any(|f| f == CRD_CLEANUP_FINALIZER)
        && !state.has_objects(&crd_instances(&key.name.name))
    {
        finalizers.retain(|f| f != CRD_CLEANUP_FINALIZER);
    }
    let mut updated = (*object).clone();
    let mut changed = finalizers != before;
    if key.resource == namespace_resource()
        && namespace_has_spec_finalizers(&updated)
        && !state.namespace_holds_any(&key.name.name)
    {
        clear_namespace_spec_finalizers(&mut updated);
        changed = true;
    }
    set_finalizers(&mut updated, &finalizers);
    let held_by_namespace = key.resource == namespace_resource() && namespace_has_spec_finalizers(&updated);
    if finalizers.is_empty() && !held_by_namespace {
        remove_and_cascade(state, key);
    } else if changed {
        state.put(key, updated);
    }
}

/// Removes the object at `key` and does what its removal sets off: garbage collection of
/// its dependents, and settling the owners, namespace or CRD that waited for it.
pub fn remove_and_cascade(state: &mut State, key: &ObjectKey) -> Option<Arc<Value>> {
    let removed = state.remove(key)?;
    let uid = meta::uid(&removed).to_string();
    for dependent in state.dependents_of(&uid) {
        collect_dependent(state, &dependent, &uid);
    }
    for owner_uid in meta::owner_uids(&removed) {
        if let Some((owner_key, _)) = state.get_by_uid(&owner_uid) {
            settle(state, &owner_key);
        }
    }
    if !key.name.namespace.is_empty() {
        settle(state, &ObjectKey::new(namespace_resource(), None, &key.name.namespace));
    }
    if let Some(crd) = state.registry.find_preferred(&key.resource).and_then(|k| k.crd.clone()) {
        settle(state, &ObjectKey::new(crd_resource(), None, &crd));
    }
    Some(removed)
}

/// A dependent whose owner `owner_uid` is gone: deleted when no other owner remains,
/// otherwise stripped of the dangling reference.
fn collect_dependent(state: &mut State, key: &ObjectKey, owner_uid: &str) {
    let Some(dependent) = state.get(key).cloned() else { return };
    let other_owner_alive = meta::owner_uids(&dependent).iter().any(|u| u != owner_uid && state.has_uid(u));
    if other_owner_alive {
        strip_owner(state, key, &dependent, owner_uid);
    } else {
        begin_delete(state, key, Propagation::Background, false);
    }
}

fn strip_owner(state: &mut State, key: &ObjectKey, object: &Value, owner_uid: &str) {
    let mut updated = object.clone();
    if let Some(m) = updated.get_mut("metadata").and_then(Value::as_object_mut) {
        let remaining: Vec<Value> = m
            .get("ownerReferences")
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter().filter(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid)).cloned().collect()
            })
            .unwrap_or_default();
        if remaining.is_empty() {
            m.remove("ownerReferences");
        } else {
            m.insert("ownerReferences".to_string(), Value::Array(remaining));
        }
    }
    state.put(key, updated);
}

fn orphan_dependents(state: &mut State, owner_uid: &str) {
    for dependent in state.dependents_of(owner_uid) {
        if let Some(object) = state.get(&dependent).cloned() {
            strip_owner(state, &dependent, &object, owner_uid);
        }
    }
}
