//! `meta.k8s.io/v1` Tables, the server-side printing `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! - [`columns`]: which columns a kind has.
//! - [`jsonpath`]: the JSONPath subset printer columns use.
//! - [`age`]: ages in kubectl's short form.

pub mod age;
pub mod columns;
pub mod jsonpath;

use jiff::Timestamp;
use serde_json::{Value, json};

pub use columns::Column;

use crate::resources::ResourceKind;
use crate::store::{ResourceRef, Store, WatchEvent};

/// The columns of `kind`: from its CRD's printer columns, or the built-in set.
pub fn columns_for(store: &Store, kind: &ResourceKind) -> Vec<Column> {
    let crds = ResourceRef::new("apiextensions.k8s.io", "v1", "customresourcedefinitions", None);
    match kind.crd.as_deref().map(|name| store.get(&crds, name)) {
        Some(Ok(crd)) => columns::from_crd(&crd, &kind.version),
        _ => columns::builtin(kind),
    }
}

/// A watch event whose object is a one-row Table (errors and bookmarks stay as they are).
pub fn watch_event(columns: &[Column], event: &WatchEvent, include: IncludeObject) -> Value {
    let mut line = event.to_json();
    if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = event {
        let metadata = json!({"resourceVersion": o.pointer("/metadata/resourceVersion").cloned().unwrap_or_default()});
        line["object"] = table(columns, std::slice::from_ref(o), include, metadata);
    }
    line
}

/// Whether an `Accept` header asks for a `meta.k8s.io/v1` Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let params: Vec<&str> = range.split(';').skip(1).map(str::trim).collect();
        ["as=Table", "g=meta.k8s.io", "v=v1"].iter().all(|wanted| params.contains(wanted))
    })
}

/// How much of each object a row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Decodes the `includeObject` query parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

fn row(columns: &[Column], object: &Value, include: IncludeObject, now: Timestamp) -> Value {
    let cells: Vec<Value> = columns.iter().map(|c| c.cell(object, now)).collect();
    let embedded = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => object.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    };
    json!({"cells": cells, "object": embedded})
}

/// A Table of `objects` with `columns`; `metadata` is the list's metadata
/// (resourceVersion, continue).
pub fn table(columns: &[Column], objects: &[Value], include: IncludeObject, metadata: Value) -> Value {
    let now = Timestamp::now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(Column::definition).collect::<Vec<_>>(),
        "rows": objects.iter().map(|o| row(columns, o, include, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_asks_for_a_v1_table() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io"));
    }
}
