//! The resource types the sandbox serves: the built-in table, the kinds that
//! CustomResourceDefinitions add, and the registry that resolves a URL to one of them.

mod builtin;
mod crd;
mod kind;
mod registry;
mod version;

pub use builtin::builtin_kinds;
pub use crd::{CRD_CLEANUP_FINALIZER, accept_crd, kinds_from_crd};
pub use kind::{GroupResource, NameRule, ResourceKind, Scope, Verb};
pub use registry::{GroupVersions, Registry};
pub use version::compare_versions;
