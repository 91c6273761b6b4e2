//! Label and field selectors, parsed from their query-string form and matched against
//! dynamic objects.

mod field;
mod label;

pub use field::{FieldRequirement, FieldSelector};
pub use label::{LabelRequirement, LabelSelector, Operator};
