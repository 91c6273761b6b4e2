//! The 409 a server-side apply answers when it would change fields other managers own.

use super::fieldset::FieldSet;
use super::managed::Entry;
use super::path::display;
use crate::error::{ApiError, CauseType, FieldCause};

/// The fields one other manager owns and the apply would change.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The other manager, as conflict messages name it.
    pub manager: String,
    /// The contested fields.
    pub fields: FieldSet,
}

impl Conflict {
    /// The conflict of an apply with `other`, whose fields intersect `changed`.
    pub fn between(other: &Entry, changed: &FieldSet) -> Option<Conflict> {
        let fields = other.fields.intersection(changed);
        (!fields.is_empty()).then(|| Conflict { manager: other.describe(), fields })
    }
}

/// The error for `conflicts`, worded like the apiserver's: one cause per field, and a
/// message that lists them by manager.
pub fn conflict_error(conflicts: &[Conflict]) -> ApiError {
    let mut causes = Vec::new();
    let mut lines = Vec::new();
    for conflict in conflicts {
        lines.push(format!("conflicts with {}:", conflict.manager));
        for path in conflict.fields.paths() {
            let field = display(&path);
            lines.push(format!("- {field}"));
            causes.push(FieldCause::new(
                CauseType::FieldManagerConflict,
                field,
                format!("conflict with {}", conflict.manager),
            ));
        }
    }
    let message = match causes.as_slice() {
        [only] => format!("Apply failed with 1 conflict: {}: {}", only.message, only.field),
        _ => format!("Apply failed with {} conflicts: {}", causes.len(), lines.join("\n")),
    };
    ApiError::apply_conflict(message, causes)
}
