//! What the walk does at a governed field: it holds, or it drifts (and the drift is
//! recorded, classified and attributed), unless a field manager whose writes are ignored
//! owns the live value. Building a body, each outcome also says what to apply there.

use std::borrow::Cow;

use serde_json::Value;

use super::Walker;
use crate::api::RemediationClass;
use crate::engine::classify::classify;
use crate::engine::compare::managed_fields::ManagedFields;
use crate::engine::compare::path;
use crate::engine::drift::Drift;
use crate::engine::kind::Kind;
use crate::engine::normalize::equal::is_void;
use crate::engine::schema::Field;
use crate::engine::secret;

impl<'a> Walker<'a, '_> {
    /// A template map or list where the live value is of another type: one drift for the
    /// whole value.
    pub(super) fn mismatch(
        &mut self,
        field: Option<&'static Field>,
        template: &'a Value,
        live: &'a Value,
    ) -> Option<Value> {
        if template.is_null() {
            return None;
        }
        let desired = self.governed_copy(field, template);
        self.drift(Cow::Owned(desired), Some(live))
    }

    /// A governed field that holds. In a body it keeps the live value (the template's
    /// when the field is absent and holds by default; nothing when both are empty).
    pub(super) fn hold(&mut self, template: &Value, live: Option<&'a Value>) -> Option<Value> {
        if !self.building() || (live.is_some() && self.owned_by_ignored_manager()) {
            return None;
        }
        match live {
            Some(live) => Some(live.clone()),
            // Holds by being empty where nothing is: nothing to apply.
            None if is_void(template) => None,
            None => Some(template.clone()),
        }
    }

    /// A governed field that does not hold: records the drift unless an ignored manager
    /// owns the live value. In a body it takes the desired value when the drift is fixed,
    /// else keeps the live value (absent stays absent).
    pub(super) fn drift(&mut self, desired: Cow<'_, Value>, live: Option<&'a Value>) -> Option<Value> {
        if live.is_some() && self.owned_by_ignored_manager() {
            return None;
        }
        let tokens = path::tokens(&self.path);
        let refs: Vec<&str> = tokens.iter().map(|token| token.as_ref()).collect();
        let creating = self.live_root.is_none();
        let class = if creating {
            RemediationClass::Create
        } else {
            classify(&self.kind, self.live_root, &refs, &desired, live)
        };
        let attribution = if creating {
            None
        } else {
            let live_root = self.live_root;
            self.managed.get_or_insert_with(|| ManagedFields::of(live_root)).attribution(&self.path)
        };
        let (shown_desired, shown_live) = if self.kind.known == Kind::Secret {
            let key = &self.rules.fingerprints;
            (secret::redact_at(&refs, &desired, key), live.map(|live| secret::redact_at(&refs, live, key)))
        } else {
            (desired.as_ref().clone(), live.cloned())
        };
        let drift =
            Drift { path: path::pointer_of(&tokens), desired: shown_desired, live: shown_live, class, attribution };
        let produced = self.fix.and_then(|fix| if fix(&drift) { Some(desired.into_owned()) } else { live.cloned() });
        self.drifts.push(drift);
        produced
    }

    pub(super) fn owned_by_ignored_manager(&mut self) -> bool {
        if self.rules.ignore_managers.is_empty() {
            return false;
        }
        let live = self.live_root;
        let managed = self.managed.get_or_insert_with(|| ManagedFields::of(live));
        managed.owned_by_any(&self.path, &self.rules.ignore_managers)
    }
}
