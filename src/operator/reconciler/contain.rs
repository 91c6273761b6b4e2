//! Containment: a panic while handling one resource (compiling one policy, evaluating one
//! object against one policy, one campaign's step, one exception's status) is caught at that resource's boundary,
//! so a bug that one tenant's resource triggers never stops the operator serving everyone
//! else.
//!
//! Policies and objects are evaluated on locals and committed only when that returns, so
//! a caught panic leaves nothing half-updated. A campaign's step (an exception's status)
//! works on the campaign's (exception's) own entry; a panic drops the effects it had asked for and leaves the campaign alone
//! from then on. The resource is then `Stalled` with reason `InternalError`: a policy or a
//! campaign or an exception until its spec changes; an object (shown in its policy's status) until a
//! retry, after a backoff, evaluates it without panicking. Each catch is logged, counted
//! in `driftwarden_internal_errors_total` and published as an Event.
//!
//! Tests make a step panic on purpose through [`inject`], which exists in test builds only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tracing::error;

use super::effect::{EventType, OwnResource};
use super::{Effect, Reconciler};
use crate::api::conditions::{ConditionSpec, ConditionStatus, set_condition};
use crate::api::reasons::{self, types};
use crate::engine::backoff::Backoff;
use crate::engine::campaign::status_changed;
use crate::operator::metrics::InternalErrorKind;

/// How long an object whose evaluation panicked is left alone before it is evaluated
/// again: 10 s, then twice as long each time, up to 10 min.
pub(super) const PANIC_BACKOFF: Backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(600));

/// The step a panic interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Compiling a policy.
    Compile,
    /// Evaluating one object against one policy.
    Evaluate,
    /// One campaign's step on the tick: its waves, or its accounting and status.
    Campaign,
    /// One exception's status.
    Exception,
}

/// Runs `step` for the resource named `name`, and turns a panic into its message.
pub(super) fn contained<T>(step: Step, name: &str, run: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        injected::check(step, name);
        #[cfg(not(test))]
        let _ = (step, name);
        run()
    }))
    .map_err(panic_message)
}

/// The message a panic was raised with.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => {
            payload.downcast_ref::<&str>().map_or_else(|| "a panic without a message".to_string(), |m| (*m).to_string())
        }
    }
}

impl Reconciler {
    /// Runs one step of the campaign `name`, unless a panic stalled it. Should the step
    /// panic, the effects it asked for are dropped, and the campaign is stalled and says so.
    pub(super) fn campaign_step(&mut self, name: &str, step: impl FnOnce(&mut Self)) {
        if self.campaigns.get(name).is_some_and(|c| c.internal_error.is_some()) {
            self.write_stalled_campaign(name);
            return;
        }
        let asked = self.effects.len();
        let Err(panic) = contained(Step::Campaign, name, || step(self)) else { return };
        self.effects.truncate(asked);
        error!(campaign = %name, "handling the campaign panicked; the others are served: {panic}");
        self.metrics.internal_error(InternalErrorKind::Campaign);
        let message = format!("handling the campaign failed inside driftwarden: {panic}");
        self.effects.push(Effect::PublishOn {
            resource: OwnResource::Campaign(name.to_string()),
            uid: self.campaigns.get(name).and_then(|c| c.uid.clone()),
            type_: EventType::Warning,
            reason: reasons::INTERNAL_ERROR,
            message: message.clone(),
        });
        let now = self.now;
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        let (generation, time) = (campaign.generation, Time(now));
        for type_ in [types::READY, types::STALLED] {
            let status = if type_ == types::READY { ConditionStatus::False } else { ConditionStatus::True };
            let spec = ConditionSpec::new(type_, status, reasons::INTERNAL_ERROR, message.clone());
            set_condition(&mut campaign.status.conditions, spec, generation, time.clone());
        }
        campaign.internal_error = Some(message);
        self.write_stalled_campaign(name);
    }

    /// Writes a stalled campaign's status when it differs from what was last written.
    fn write_stalled_campaign(&mut self, name: &str) {
        let now = self.now;
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        let due = campaign.written.as_ref().is_none_or(|w| status_changed(w, &campaign.status));
        if due && !campaign.writing && campaign.retry_status_at.is_none_or(|at| at <= now) {
            campaign.writing = true;
            self.effects.push(Effect::WriteCampaignStatus { name: name.to_string(), status: campaign.status.clone() });
        }
    }
}

#[cfg(test)]
pub(super) use injected::inject;

/// A panic planted for a test, on this thread only (tests run in parallel).
#[cfg(test)]
mod injected {
    use std::cell::RefCell;

    use super::Step;

    thread_local! {
        static PLANTED: RefCell<Vec<(Step, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes every `step` for the resource whose name contains `name` panic, on this
    /// thread, until the returned guard is dropped.
    pub(in crate::operator::reconciler) fn inject(step: Step, name: &str) -> Planted {
        PLANTED.with(|planted| planted.borrow_mut().push((step, name.to_string())));
        Planted
    }

    /// Removes the planted panics when dropped.
    pub(in crate::operator::reconciler) struct Planted;

    impl Drop for Planted {
        fn drop(&mut self) {
            PLANTED.with(|planted| planted.borrow_mut().clear());
        }
    }

    pub(super) fn check(step: Step, name: &str) {
        let hit = PLANTED.with(|planted| planted.borrow().iter().any(|(s, n)| *s == step && name.contains(n.as_str())));
        if hit {
            panic!("injected panic in {step:?} of {name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_a_value_passes_through() {
        assert_eq!(contained(Step::Evaluate, "a", || 7), Ok(7));
        let index = std::hint::black_box(3);
        let caught = contained(Step::Evaluate, "a", || [1, 2][index]).unwrap_err();
        assert!(caught.contains("index out of bounds"), "{caught}");
        let caught = contained(Step::Compile, "a", || -> u8 { panic!("plain") }).unwrap_err();
        assert_eq!(caught, "plain");
        let _planted = inject(Step::Compile, "shop/bad");
        assert!(contained(Step::Compile, "shop/bad", || 1).unwrap_err().contains("injected panic"));
        assert_eq!(contained(Step::Compile, "shop/good", || 1), Ok(1));
        assert_eq!(contained(Step::Evaluate, "shop/bad", || 1), Ok(1));
    }
}
