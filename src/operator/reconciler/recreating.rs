//! Which fixes recreate their object. A fix whose paths include an immutable field
//! (`Recreate`) deletes the object and creates it again, and only when every policy asking
//! for it lists `Recreate` in its own `autoRemediate`: a campaign's classes or an approval
//! never widen a fix to a deletion.

use super::{FixPart, Reconciler};
use crate::api::RemediationClass;
use crate::keys::ObjectKey;
use crate::operator::recreation_runner::{RecreateError, Recreation};

impl Reconciler {
    /// `None` for an ordinary fix; for a recreation, the uid to replace, or why it may not
    /// run (nothing is then deleted).
    pub(super) fn recreation(&self, key: &ObjectKey, to_fix: &[FixPart]) -> Option<Result<Recreation, RecreateError>> {
        let recreating: Vec<&FixPart> = to_fix.iter().filter(|part| part.class == RemediationClass::Recreate).collect();
        if recreating.is_empty() {
            return None;
        }
        for part in recreating {
            let allowed = self
                .policies
                .get(&part.policy)
                .and_then(|policy| policy.rules())
                .is_some_and(|rules| rules.auto_remediate.contains(&RemediationClass::Recreate));
            if !allowed {
                return Some(Err(RecreateError::NotAllowed { paths: part.paths.clone(), policy: part.policy.clone() }));
            }
        }
        let uid = self.kinds.get(&key.kind).and_then(|kind| kind.cache.uid(key));
        Some(match uid {
            Some(uid) => Ok(Recreation { uid }),
            None => Err(RecreateError::UidUnknown { key: key.clone() }),
        })
    }
}
