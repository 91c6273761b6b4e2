//! RBAC: whether the Roles, ClusterRoles and their bindings allow a request.
//!
//! - [`rules`]: whether one PolicyRule covers a request.
//! - [`subjects`]: whether a binding's subject is the requesting user.
//! - [`aggregation`]: the rules an aggregated ClusterRole gathers by label selectors.
//! - [`policy`]: the pure decision over a snapshot of the RBAC objects.
//! - [`authorizer`]: the decision for a request against the store, with the built-in
//!   discovery access every authenticated user has.

pub mod aggregation;
pub mod authorizer;
pub mod policy;
pub mod rules;
pub mod subjects;

pub use authorizer::{Decision, authorize, decide, policy_from_store, user_of};
pub use policy::RbacPolicy;
