//! Ownership of the fields that create, update and non-apply patches write: their manager
//! gets an `Update` entry owning what the write added or modified, and every other
//! manager loses what the write modified or removed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::compare::compare;
use super::managed::{Entry, Managed, Operation};
use super::schema::Schema;
use super::scope;
use crate::resources::ResourceKind;
use crate::store::options::Subresource;

/// Who owns the fields of an object after a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Ownership {
    /// A non-apply write made at this time: record an `Update` entry for the write's
    /// manager.
    Track(Time),
    /// A server-side apply, which settled the entries itself.
    Applied(Managed),
}

/// The managed fields of a stored object (`Value::Null` for none). Entries that do not
/// decode are dropped, as the apiserver resets managed fields it cannot read.
pub fn stored(object: &Value) -> Managed {
    match Managed::read(object) {
        Some(Ok(managed)) => managed,
        Some(Err(e)) => {
            tracing::warn!(error = %e, category = e.category(), "resetting undecodable managedFields");
            Managed::default()
        }
        None => Managed::default(),
    }
}

/// Whether a request body resets its object's managed fields: `metadata.managedFields` is an
/// empty list or a list of one empty entry.
fn resets(body: &Value) -> bool {
    match body.get("metadata").and_then(|m| m.get("managedFields")).and_then(Value::as_array) {
        Some(entries) => match entries.as_slice() {
            [] => true,
            [only] => only.as_object().is_some_and(serde_json::Map::is_empty),
            _ => false,
        },
        None => false,
    }
}

/// The managed fields a non-apply write starts from, picked as the apiserver picks them:
/// none when the body resets them; else the body's when they decode and are not empty (a
/// client may rewrite them); else the stored object's. A write to a subresource always
/// starts from the stored object's.
pub fn current(body: &Value, old: &Value, subresource: Subresource) -> Managed {
    if subresource != Subresource::Main {
        return stored(old);
    }
    if resets(body) {
        return Managed::default();
    }
    match Managed::read(body) {
        Some(Ok(managed)) if !managed.entries.is_empty() => managed,
        _ => stored(old),
    }
}

/// Sets `metadata.managedFields` of `new`, the object a write through `subresource` is
/// about to store over `old` (`Value::Null` for a create).
pub fn settle(
    schema: &Schema,
    kind: &ResourceKind,
    old: &Value,
    new: &mut Value,
    subresource: Subresource,
    manager: &str,
    ownership: Ownership,
) {
    let managed = match ownership {
        Ownership::Applied(managed) => managed,
        Ownership::Track(at) => {
            let mut managed = current(new, old, subresource);
            if managed.entries.is_empty() && !old.is_null() {
                // Fields are tracked from an object's creation or its first apply: an update
                // of an object without managed fields records none.
                Managed::default().write(new);
                return;
            }
            let changes = compare(old, new, schema).map(|set| scope::ownable(set, kind, subresource));
            let changed = changes.changed();
            let probe = Entry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: kind.api_version(),
                subresource: scope::name(subresource),
                time: Some(at),
                fields: changed.clone(),
            };
            let previous = managed.find(&probe).map(|e| e.fields.clone());
            for entry in &mut managed.entries {
                entry.fields = entry.fields.difference(&changed).difference(&changes.removed);
            }
            if !changed.is_empty() {
                let fields = previous.unwrap_or_default().difference(&changes.removed).union(&changed);
                managed.put(Entry { fields, ..probe });
            }
            managed
        }
    };
    managed.write(new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta;
    use serde_json::json;

    fn with_entries(entries: Value) -> Value {
        json!({"metadata": {"name": "x", "managedFields": entries}})
    }

    fn managers(managed: &Managed) -> Vec<&str> {
        managed.entries.iter().map(|e| e.manager.as_str()).collect()
    }

    fn entry(manager: &str) -> Value {
        json!({"manager": manager, "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:data": {"f:a": {}}}})
    }

    #[test]
    fn an_empty_list_or_one_empty_entry_resets_managed_fields() {
        let old = with_entries(json!([entry("creator")]));
        assert!(current(&with_entries(json!([{}])), &old, Subresource::Main).entries.is_empty());
        assert!(current(&with_entries(json!([])), &old, Subresource::Main).entries.is_empty());
        assert_eq!(managers(&current(&with_entries(json!([{}, {}])), &old, Subresource::Main)), ["creator"]);
    }

    #[test]
    fn a_body_without_readable_entries_keeps_the_stored_ones() {
        let old = with_entries(json!([entry("creator")]));
        let absent = json!({"metadata": {"name": "x"}});
        assert_eq!(managers(&current(&absent, &old, Subresource::Main)), ["creator"]);
        let unreadable = with_entries(json!([{"manager": "x", "operation": "Delete"}]));
        assert_eq!(managers(&current(&unreadable, &old, Subresource::Main)), ["creator"]);
        assert_eq!(managers(&current(&with_entries(json!([entry("editor")])), &old, Subresource::Main)), ["editor"]);
    }

    #[test]
    fn creates_are_tracked_and_updates_of_untracked_objects_are_not() {
        let kind = crate::resources::builtin_kinds().into_iter().find(|k| k.resource == "configmaps");
        let kind = kind.expect("configmaps are built in");
        let schema = Schema::builtin("", "ConfigMap");
        let mut created = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        settle(&schema, &kind, &Value::Null, &mut created, Subresource::Main, "creator", Ownership::Track(meta::now()));
        assert_eq!(created["metadata"]["managedFields"][0]["manager"], json!("creator"));

        let untracked = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let mut updated = json!({"metadata": {"name": "x"}, "data": {"a": "2"}});
        settle(&schema, &kind, &untracked, &mut updated, Subresource::Main, "editor", Ownership::Track(meta::now()));
        assert_eq!(updated["metadata"].get("managedFields"), None);

        let mut reset = json!({"metadata": {"name": "x", "managedFields": [{}]}, "data": {"a": "3"}});
        settle(&schema, &kind, &created, &mut reset, Subresource::Main, "editor", Ownership::Track(meta::now()));
        assert_eq!(reset["metadata"].get("managedFields"), None, "a reset update records nothing");
    }

    #[test]
    fn subresource_writes_keep_the_stored_entries() {
        let old = with_entries(json!([entry("creator")]));
        assert_eq!(managers(&current(&with_entries(json!([{}])), &old, Subresource::Status)), ["creator"]);
        assert_eq!(managers(&current(&with_entries(json!([entry("x")])), &old, Subresource::Status)), ["creator"]);
    }
}
