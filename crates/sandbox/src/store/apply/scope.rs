//! Which fields a write can own: never the identity and bookkeeping fields the apiserver
//! strips (`apiVersion`, `kind`, `metadata.name`, `metadata.resourceVersion`, ...), and,
//! for kinds with a `/status` subresource, only `status` through `/status` and everything
//! but `status` through the object itself.

use super::fieldset::FieldSet;
use super::path::PathElement;
use crate::resources::ResourceKind;
use crate::store::options::Subresource;

/// Metadata fields no manager owns.
const STRIPPED_METADATA: [&str; 10] = [
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
    "deletionTimestamp",
];

fn field(name: &str) -> PathElement {
    PathElement::Field(name.to_string())
}

fn stripped() -> FieldSet {
    let mut set = FieldSet::new();
    set.insert(&[field("apiVersion")]);
    set.insert(&[field("kind")]);
    set.insert(&[field("metadata")]);
    for name in STRIPPED_METADATA {
        set.insert(&[field("metadata"), field(name)]);
    }
    set
}

/// The part of `set` a write through `subresource` owns.
pub fn ownable(set: &FieldSet, kind: &ResourceKind, subresource: Subresource) -> FieldSet {
    let mut out = set.difference(&stripped());
    for name in STRIPPED_METADATA {
        out = out.without_subtree(&[field("metadata"), field(name)]);
    }
    match subresource {
        Subresource::Status => out.only_subtree(&[field("status")]),
        Subresource::Main if kind.status_subresource => out.without_subtree(&[field("status")]),
        Subresource::Main => out,
    }
}

/// The subresource as managed fields name it.
pub fn name(subresource: Subresource) -> String {
    match subresource {
        Subresource::Main => String::new(),
        Subresource::Status => "status".to_string(),
    }
}
