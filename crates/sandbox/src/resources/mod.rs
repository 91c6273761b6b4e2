//! The resource types the sandbox serves: the built-in table, the kinds that
//! CustomResourceDefinitions add, the registry that resolves a URL to one of them, and the
//! views that serve one stored kind through a second API (`events.k8s.io` Events).

mod builtin;
mod crd;
mod events;
mod kind;
mod registry;
mod version;
mod views;

pub use builtin::builtin_kinds;
pub use crd::{CRD_CLEANUP_FINALIZER, accept_crd, kinds_from_crd};
pub use kind::{GroupResource, NameRule, ResourceKind, Scope, Verb};
pub use registry::{GroupVersions, Registry};
pub use version::compare_versions;
pub use views::{View, view_of};
