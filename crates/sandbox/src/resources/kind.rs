//! What the sandbox knows about one resource type at one version.

use std::fmt;

/// A resource type independent of its version: objects are stored per group and resource,
/// and every served version of it shows the same objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// The API group; empty for the core group.
    pub group: String,
    /// The plural resource name, as in URLs (`configmaps`).
    pub resource: String,
}

impl GroupResource {
    /// A group and resource.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        GroupResource { group: group.into(), resource: resource.into() }
    }
}

impl fmt::Display for GroupResource {
    /// `configmaps` for the core group, `deployments.apps` otherwise, as the apiserver
    /// writes it in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// Whether objects of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Objects live in a namespace.
    Namespaced,
    /// Objects are cluster-wide.
    Cluster,
}

/// The rule an object name must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A lowercase RFC 1123 subdomain (most kinds).
    Subdomain,
    /// A lowercase RFC 1123 label (Namespace).
    Label,
    /// An RFC 1035 label, starting with a letter (Service).
    Rfc1035Label,
    /// Anything usable as a URL path segment (RBAC kinds, Events).
    PathSegment,
}

/// A verb as discovery advertises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `create`
    Create,
    /// `delete`
    Delete,
    /// `deletecollection`
    DeleteCollection,
    /// `get`
    Get,
    /// `list`
    List,
    /// `patch`
    Patch,
    /// `update`
    Update,
    /// `watch`
    Watch,
}

impl Verb {
    /// The verb as discovery spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Patch => "patch",
            Verb::Update => "update",
            Verb::Watch => "watch",
        }
    }

    /// Every verb the sandbox serves on a resource collection and its objects.
    pub const ALL: [Verb; 8] = [
        Verb::Create,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Get,
        Verb::List,
        Verb::Patch,
        Verb::Update,
        Verb::Watch,
    ];

    /// The verbs of a `/status` subresource.
    pub const STATUS: [Verb; 3] = [Verb::Get, Verb::Patch, Verb::Update];
}

/// One resource type served at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version this entry serves (`v1`).
    pub version: String,
    /// The plural resource name used in URLs.
    pub resource: String,
    /// The singular name (`configmap`).
    pub singular: String,
    /// The kind (`ConfigMap`).
    pub kind: String,
    /// Namespaced or cluster-wide.
    pub scope: Scope,
    /// Short names (`cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether the kind has a `/status` subresource: writes to the object then ignore
    /// `status`, and writes to `/status` ignore everything else.
    pub status_subresource: bool,
    /// Whether `metadata.generation` is maintained.
    pub tracks_generation: bool,
    /// The rule names must follow.
    pub name_rule: NameRule,
    /// Whether a completed delete answers with the deleted object (true) or a `Status`.
    pub delete_returns_object: bool,
    /// The CustomResourceDefinition that defines this kind, if any.
    pub crd: Option<String>,
}

impl ResourceKind {
    /// The group and resource, the identity objects are stored under.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group.clone(), self.resource.clone())
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Whether objects live in namespaces.
    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// The kind of the list type (`ConfigMapList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether `name` is this entry's plural, singular, kind or short name
    /// (case-insensitively for the kind), the way clients resolve a resource.
    pub fn is_named(&self, name: &str) -> bool {
        self.resource == name
            || self.singular == name
            || self.kind.eq_ignore_ascii_case(name)
            || self.short_names.iter().any(|s| s == name)
    }
}
