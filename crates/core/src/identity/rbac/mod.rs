//! RBAC resolution: rule matching, ClusterRole aggregation, binding subjects, and the
//! grants each subject holds.

pub mod aggregation;
pub mod bindings;
pub mod rules;
pub mod subjects;

pub use bindings::{DanglingBinding, RbacIndex};
pub use subjects::SubjectKey;
