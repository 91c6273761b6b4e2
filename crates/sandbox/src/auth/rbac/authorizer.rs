//! The authorization of one request: the admin token and `system:masters` pass, every
//! authenticated user may read discovery (as the `system:discovery` and
//! `system:public-info-viewer` roles allow), and RBAC from the store decides the rest.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::policy::RbacPolicy;
use crate::auth::attributes::RequestAttributes;
use crate::auth::forbidden::forbidden;
use crate::auth::identity::{MASTERS_GROUP, UserInfo};
use crate::auth::impersonation::ADMIN_USER;
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

/// The RBAC objects in `store`, decoded again only after one of them changed.
pub fn policy_from_store(store: &Store) -> Arc<RbacPolicy> {
    store.rbac_policy(|| RbacPolicy {
        roles: load(store, "roles"),
        cluster_roles: load(store, "clusterroles"),
        role_bindings: load(store, "rolebindings"),
        cluster_role_bindings: load(store, "clusterrolebindings"),
    })
}

/// What the authorizer says of one request by one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why, as kube-apiserver's authorizers word it (empty when they give no reason).
    pub reason: String,
}

/// The user the admin token acts as: `system:admin` in `system:masters`.
pub fn admin_user() -> UserInfo {
    UserInfo::user(ADMIN_USER, &[MASTERS_GROUP])
}

/// The user `who` stands for, the admin token's included.
pub fn user_of(who: &Authenticated) -> UserInfo {
    match who {
        Authenticated::Admin => admin_user(),
        Authenticated::User(user) => user.clone(),
    }
}

/// Whether `user` may do what `attrs` describe: `system:masters` may do anything, RBAC
/// decides the rest, and every user may read discovery.
pub fn decide(user: &UserInfo, attrs: &RequestAttributes, store: &Store) -> Decision {
    if user.in_group(MASTERS_GROUP) {
        return Decision { allowed: true, reason: String::new() };
    }
    if let Some(reason) = policy_from_store(store).allowed_by(user, attrs) {
        return Decision { allowed: true, reason };
    }
    Decision { allowed: is_discovery(attrs), reason: String::new() }
}

/// Allows the request or answers 403.
pub fn authorize(who: &Authenticated, attrs: &RequestAttributes, store: &Store) -> Result<(), ApiError> {
    let user = match who {
        Authenticated::Admin => return Ok(()),
        Authenticated::User(user) => user,
    };
    if decide(user, attrs, store).allowed { Ok(()) } else { Err(forbidden(user, attrs)) }
}
