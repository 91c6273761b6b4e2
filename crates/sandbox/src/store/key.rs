//! How stored objects are addressed.

use crate::resources::GroupResource;

/// An object's place within its resource: namespace (empty for cluster-scoped objects)
/// and name. Ordered by namespace, then name, which is the order lists return.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ObjectName {
    /// The namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl ObjectName {
    /// A name in a namespace (`None` for cluster-scoped objects).
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        ObjectName { namespace: namespace.unwrap_or_default().to_string(), name: name.to_string() }
    }

    /// The namespace, or `None` for cluster-scoped objects.
    pub fn namespace(&self) -> Option<&str> {
        (!self.namespace.is_empty()).then_some(self.namespace.as_str())
    }
}

/// The full address of a stored object: group, resource, namespace and name. Versions
/// are views of the same stored object, so they are not part of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The group and resource.
    pub resource: GroupResource,
    /// Namespace and name.
    pub name: ObjectName,
}

impl ObjectKey {
    /// A key from its parts.
    pub fn new(resource: GroupResource, namespace: Option<&str>, name: &str) -> Self {
        ObjectKey { resource, name: ObjectName::new(namespace, name) }
    }
}
