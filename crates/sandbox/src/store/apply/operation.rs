//! Server-side apply: `PATCH` with `application/apply-patch+yaml`.
//!
//! The configuration is merged into the live object (or creates it); the applier's
//! `Apply` entry then owns exactly the fields of its configuration. A field the merge
//! would change while another manager owns it is a conflict (409) unless `force=true`,
//! which moves the field to the applier; applying the value a field already has shares
//! it. Fields the applier owned before and no longer applies are removed from the object
//! unless another manager owns them. The first apply to an object without managed
//! fields hands what it already has to [`BEFORE_FIRST_APPLY`].

use serde_json::{Map, Value};

use super::compare::compare;
use super::conflict::{Conflict, conflict_error};
use super::fieldset::FieldSet;
use super::managed::{Entry, Operation};
use super::merge::{merge, remove_fields};
use super::owned::applied_fields;
use super::schema::Schema;
use super::scope;
use super::track::{Ownership, stored};
use crate::error::{ApiError, CauseType, FieldCause};
use crate::resources::ResourceKind;
use crate::store::admit::Planned;
use crate::store::create::{Fresh, NewObject, create_locked};
use crate::store::key::ObjectKey;
use crate::store::meta;
use crate::store::options::{ResourceRef, Subresource, WriteOptions};
use crate::store::schema;
use crate::store::state::State;
use crate::store::update::{WriteRequest, check_subresource, update_owned};
use crate::store::{Store, check_type, resolve_kind, view};

impl Store {
    /// Applies `config` for the field manager of `options` (required), creating the
    /// object when it does not exist.
    pub fn apply(
        &self,
        target: &ResourceRef,
        name: &str,
        config: Value,
        subresource: Subresource,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let manager = match options.field_manager.as_deref() {
            Some(manager) if !manager.is_empty() => manager.to_string(),
            _ => {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    vec![FieldCause::new(CauseType::FieldValueRequired, "fieldManager", "is required for apply patch")],
                ));
            }
        };
        let fresh = Fresh::new();
        let applier = Applier { options: &options, manager: &manager, fresh: &fresh };
        self.admitted_write(options.requester.as_ref(), |state| {
            apply_locked(state, target, name, config.clone(), subresource, &applier)
        })
    }
}

/// Who applies, with the request's options, and what a create makes up if it creates.
#[derive(Clone, Copy)]
struct Applier<'a> {
    options: &'a WriteOptions,
    manager: &'a str,
    fresh: &'a Fresh,
}

/// The apply itself, planned under the store lock.
fn apply_locked(
    state: &mut State,
    target: &ResourceRef,
    name: &str,
    mut config: Value,
    subresource: Subresource,
    applier: &Applier<'_>,
) -> Result<Planned<Value>, ApiError> {
    let Applier { options, manager, fresh } = *applier;
    let kind = resolve_kind(state, target)?;
    check_subresource(&kind, subresource)?;
    check_type(&mut config, &kind)?;
    prepare(&mut config, &kind, name, subresource)?;
    schema::prune_applied(state, &kind, &mut config);
    let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
    let schema = Schema::for_kind(state, &kind);
    let owned = scope::ownable(&applied_fields(&config, &schema), &kind, subresource);
    let entry = Entry {
        manager: manager.to_string(),
        operation: Operation::Apply,
        api_version: kind.api_version(),
        subresource: scope::name(subresource),
        time: Some(fresh.now.clone()),
        fields: owned,
    };
    let key = ObjectKey::new(kind.storage_resource(), namespace, name);
    let Some(existing) = state.get(&key).cloned() else {
        if subresource == Subresource::Status {
            return Err(ApiError::not_found(&kind.group_resource(), name));
        }
        let mut managed = stored(&Value::Null);
        managed.put(entry);
        let new = NewObject { body: config, ownership: Ownership::Applied(managed), fresh };
        return create_locked(state, &kind, namespace, new, options);
    };
    let live = without_managed_fields(&view(&existing, &kind));
    let mut managed = stored(&existing);
    if managed.entries.is_empty() {
        managed.put(before_first_apply(&live, &schema, &kind, subresource));
    }
    let mut merged = merge(&live, &config, &schema);
    let changes = compare(&live, &merged, &schema).map(|set| scope::ownable(set, &kind, subresource));
    let changed = changes.changed();
    let conflicts: Vec<Conflict> = managed
        .entries
        .iter()
        .filter(|other| !other.same_manager(&entry))
        .filter_map(|other| Conflict::between(other, &changed))
        .collect();
    if !conflicts.is_empty() && !options.force {
        return Err(conflict_error(&conflicts));
    }
    let previous = managed.find(&entry).cloned();
    for other in managed.entries.iter_mut().filter(|other| !other.same_manager(&entry)) {
        other.fields = other.fields.difference(&changed).difference(&changes.removed);
    }
    let given_up = previous.as_ref().map(|p| p.fields.difference(&entry.fields)).unwrap_or_default();
    managed.put(entry.clone());
    let all_owned = managed.entries.iter().fold(FieldSet::new(), |all, e| all.union(&e.fields));
    remove_fields(&mut merged, &given_up.difference(&all_owned), &all_owned, &schema);
    if merged == live
        && let Some(previous) = previous
    {
        managed.put(Entry { time: previous.time, ..entry });
    }
    let request = WriteRequest { options, ownership: Ownership::Applied(managed) };
    update_owned(state, &kind, namespace, name, merged, subresource, request)
}

/// Checks the name of an applied configuration and keeps only what the subresource
/// writes: all but `status` for the object of a kind with `/status`, only `status` (and
/// the object's identity) for `/status`.
fn prepare(config: &mut Value, kind: &ResourceKind, name: &str, subresource: Subresource) -> Result<(), ApiError> {
    let map =
        config.as_object_mut().ok_or_else(|| ApiError::bad_request("the applied configuration must be an object"))?;
    let metadata = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    let metadata = metadata.as_object_mut().ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    match metadata.get("name").and_then(Value::as_str) {
        None | Some("") => {
            metadata.insert("name".to_string(), Value::from(name));
        }
        Some(n) if n == name => {}
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
    }
    if metadata.get("managedFields").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    match subresource {
        Subresource::Main if kind.status_subresource => {
            map.remove("status");
        }
        Subresource::Main => {}
        Subresource::Status => {
            map.retain(|field, _| matches!(field.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
                metadata.retain(|field, _| matches!(field.as_str(), "name" | "namespace" | "resourceVersion"));
            }
        }
    }
    Ok(())
}

/// The manager the apiserver gives the fields of an object nobody has applied to or
/// tracked (created before field tracking, or after its managed fields were reset) the
/// first time someone applies: an `Update` entry owning everything the object has.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

fn before_first_apply(live: &Value, schema: &Schema, kind: &ResourceKind, subresource: Subresource) -> Entry {
    let fields = compare(&Value::Null, live, schema).changed();
    Entry {
        manager: BEFORE_FIRST_APPLY.to_string(),
        operation: Operation::Update,
        api_version: kind.api_version(),
        subresource: scope::name(subresource),
        time: Some(meta::now()),
        fields: scope::ownable(&fields, kind, subresource),
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(metadata) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(resource: &str) -> ResourceKind {
        crate::resources::builtin_kinds().into_iter().find(|k| k.resource == resource).expect("built in")
    }

    #[test]
    fn before_first_apply_owns_what_the_object_has_that_a_write_could_own() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "u", "labels": {"app": "web"}},
            "spec": {"replicas": 2}, "status": {"replicas": 2}});
        let schema = Schema::builtin("apps", "Deployment");
        let main = before_first_apply(&live, &schema, &kind("deployments"), Subresource::Main);
        assert_eq!((main.manager.as_str(), main.operation), (BEFORE_FIRST_APPLY, Operation::Update));
        assert_eq!(main.api_version, "apps/v1");
        assert_eq!(
            main.fields.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:replicas": {}}})
        );
        let status = before_first_apply(&live, &schema, &kind("deployments"), Subresource::Status);
        assert_eq!(status.subresource, "status");
        assert_eq!(status.fields.to_fields_v1(), json!({"f:status": {"f:replicas": {}}}));
    }

    #[test]
    fn an_applied_configuration_may_not_carry_managed_fields() {
        let mut config = json!({"metadata": {"managedFields": [{}]}});
        let error = prepare(&mut config, &kind("configmaps"), "cfg", Subresource::Main).expect_err("refused");
        assert_eq!(error.code(), 400);
        let mut null = json!({"metadata": {"managedFields": null}});
        assert!(prepare(&mut null, &kind("configmaps"), "cfg", Subresource::Main).is_ok());
    }
}
