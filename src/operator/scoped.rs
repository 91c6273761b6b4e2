//! The one way the operator addresses an object it reads or writes for a policy: through
//! the namespaced API for a namespaced kind, the cluster-wide one for a cluster-scoped kind,
//! as discovery said. An object whose namespace does not fit its kind is refused: a request
//! meant for one namespace never falls back to a cluster-wide one.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};

use crate::keys::ObjectKey;

/// Why an object cannot be addressed: its namespace does not fit its kind's scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeMismatch {
    /// A cluster-scoped kind, named in a namespace.
    #[error(
        "{object}: {kind} is cluster-scoped (from discovery), but the object is named in namespace {namespace}: \
         refused, a namespaced request never reaches a cluster-scoped object"
    )]
    ClusterScopedInNamespace { object: String, kind: String, namespace: String },
    /// A namespaced kind, named without a namespace.
    #[error(
        "{object}: {kind} is namespaced (from discovery), but the object names no namespace: refused, never a \
         cluster-wide request"
    )]
    NamespacedWithoutNamespace { object: String, kind: String },
}

/// The API through which `key` is read and written, given its kind's `resource` and
/// whether discovery said the kind is namespaced.
pub fn object_api(
    client: Client,
    key: &ObjectKey,
    resource: &ApiResource,
    namespaced: bool,
) -> Result<Api<DynamicObject>, ScopeMismatch> {
    check(key, namespaced)?;
    Ok(match &key.namespace {
        Some(namespace) => Api::namespaced_with(client, namespace, resource),
        None => Api::all_with(client, resource),
    })
}

/// Whether `key`'s namespace fits a kind that is `namespaced` or not.
pub fn check(key: &ObjectKey, namespaced: bool) -> Result<(), ScopeMismatch> {
    let (object, kind) = (key.to_string(), key.kind.kind.clone());
    match (&key.namespace, namespaced) {
        (Some(_), true) | (None, false) => Ok(()),
        (Some(namespace), false) => {
            Err(ScopeMismatch::ClusterScopedInNamespace { object, kind, namespace: namespace.clone() })
        }
        (None, true) => Err(ScopeMismatch::NamespacedWithoutNamespace { object, kind }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KindKey;

    fn key(kind: &str, namespace: Option<&str>) -> ObjectKey {
        ObjectKey {
            kind: KindKey::new("example.com/v1", kind),
            namespace: namespace.map(str::to_string),
            name: "x".into(),
        }
    }

    #[test]
    fn an_object_whose_namespace_does_not_fit_its_kind_is_refused() {
        assert_eq!(check(&key("Widget", Some("shop")), true), Ok(()));
        assert_eq!(check(&key("Widget", None), false), Ok(()));
        let refused = check(&key("Widget", Some("shop")), false).unwrap_err().to_string();
        assert!(refused.contains("Widget is cluster-scoped (from discovery)") && refused.contains("shop"), "{refused}");
        let refused = check(&key("Widget", None), true).unwrap_err().to_string();
        assert!(refused.contains("never a cluster-wide request"), "{refused}");
    }
}
