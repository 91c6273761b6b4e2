//! The authorization of one request: the admin token and `system:masters` pass, every
//! authenticated user may read discovery (as the `system:discovery` and
//! `system:public-info-viewer` roles allow), and RBAC from the store decides the rest.

use serde::de::DeserializeOwned;

use super::policy::RbacPolicy;
use crate::auth::attributes::RequestAttributes;
use crate::auth::forbidden::forbidden;
use crate::auth::identity::MASTERS_GROUP;
use crate::auth::tokens::Authenticated;
use crate::error::ApiError;
use crate::store::{ListOptions, ResourceRef, Store};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The paths every authenticated user may GET.
const DISCOVERY_PATHS: [&str; 7] = ["/api", "/apis", "/version", "/healthz", "/livez", "/readyz", "/openapi"];

fn is_discovery(attrs: &RequestAttributes) -> bool {
    !attrs.resource_request
        && matches!(attrs.verb.as_str(), "get" | "head")
        && DISCOVERY_PATHS.iter().any(|p| attrs.path == *p || attrs.path.starts_with(&format!("{p}/")))
}

fn load<T: DeserializeOwned>(store: &Store, resource: &str) -> Vec<T> {
    let target = ResourceRef::new(RBAC_GROUP, "v1", resource, None);
    match store.list(&target, &ListOptions::default()) {
        Ok(list) => list.items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect(),
        Err(_) => Vec::new(),
    }
}

/// The RBAC objects in `store`.
pub fn policy_from_store(store: &Store) -> RbacPolicy {
    RbacPolicy {
        roles: load(store, "roles"),
        cluster_roles: load(store, "clusterroles"),
        role_bindings: load(store, "rolebindings"),
        cluster_role_bindings: load(store, "clusterrolebindings"),
    }
}

/// Allows the request or answers 403.
pub fn authorize(who: &Authenticated, attrs: &RequestAttributes, store: &Store) -> Result<(), ApiError> {
    let user = match who {
        Authenticated::Admin => return Ok(()),
        Authenticated::User(user) => user,
    };
    if user.in_group(MASTERS_GROUP) || is_discovery(attrs) || policy_from_store(store).allows(user, attrs) {
        Ok(())
    } else {
        Err(forbidden(user, attrs))
    }
}
