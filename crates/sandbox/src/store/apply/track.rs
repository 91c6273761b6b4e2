//! Ownership of the fields that create, update and non-apply patches write: their manager
//! gets an `Update` entry owning what the write added or modified, and every other
//! manager loses what the write modified or removed.

use serde_json::Value;

use super::compare::compare;
use super::managed::{Entry, Managed, Operation};
use super::schema::Schema;
use super::scope;
use crate::resources::ResourceKind;
use crate::store::meta;
use crate::store::options::Subresource;

/// Who owns the fields of an object after a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Ownership {
    /// A non-apply write: record an `Update` entry for the write's manager.
    Track,
    /// A server-side apply, which settled the entries itself.
    Applied(Managed),
}

/// The managed fields an object carries: those of the request body when it has them (a
/// client may reset them), else those of the stored object. Entries that do not decode
/// are dropped, as the apiserver resets managed fields it cannot read.
pub fn current(body: &Value, stored: &Value) -> Managed {
    let read = Managed::read(body).or_else(|| Managed::read(stored));
    match read {
        Some(Ok(managed)) => managed,
        Some(Err(e)) => {
            tracing::warn!(error = %e, category = e.category(), "resetting undecodable managedFields");
            Managed::default()
        }
        None => Managed::default(),
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
        Ownership::Track => {
            let mut managed = current(new, old);
            let changes = compare(old, new, schema).map(|set| scope::ownable(set, kind, subresource));
            let changed = changes.changed();
            let probe = Entry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: kind.api_version(),
                subresource: scope::name(subresource),
                time: Some(meta::now()),
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
