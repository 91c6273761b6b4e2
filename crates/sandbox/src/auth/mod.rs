//! Who is asking, and may they: bearer tokens mapped to users and ServiceAccounts, and
//! RBAC evaluated from the Roles, ClusterRoles and bindings in the store, the way
//! kube-apiserver's token authenticator and RBAC authorizer do it.
//!
//! - [`identity`]: users, ServiceAccounts and the groups they belong to.
//! - [`tokens`]: the token table and the admin token that bypasses authorization.
//! - [`attributes`]: what a request asks to do (verb, resource, namespace, name, path).
//! - [`rbac`]: the pure RBAC decision and the store-backed authorizer.
//! - [`forbidden`]: the 403 answer in kube-apiserver's words.
//! - [`impersonation`]: the `Impersonate-*` headers, checked and applied.

pub mod attributes;
pub mod bootstrap;
pub mod forbidden;
pub mod identity;
pub mod impersonation;
pub mod rbac;
pub mod tokens;

pub use attributes::RequestAttributes;
pub use identity::{Identity, UserInfo};
pub use tokens::{Authenticated, Authenticator};
