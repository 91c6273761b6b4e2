//! DriftException status: whether each exception is in force, how many drifts and findings
//! it covers, and the hygiene flags (`CoversNothing`, `ExpiringSoon`), with a notification
//! when one of them turns true.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;
use tracing::{error, warn};

use super::contain::{Step, contained};
use super::effect::{EventType, OwnResource};
use super::error::RequestError;
use super::{Effect, Reconciler};
use crate::api::conditions::{ConditionSpec, ConditionStatus, is_true, same_ignoring_time, set_condition};
use crate::api::exception::ExceptionStatus;
use crate::api::finding::FindingState;
use crate::api::reasons::{self, types};
use crate::engine::decide::Action;
use crate::operator::metrics::InternalErrorKind;
use crate::operator::notify::{Notification, NotificationType, Sink};
use crate::reconcile::campaigns::BACKOFF;
use crate::reconcile::exceptions::{ExceptionEntry, ExceptionProblem};

/// What the loop keeps per exception for its status.
#[derive(Debug, Default)]
pub(super) struct ExceptionState {
    pub generation: Option<i64>,
    /// The exception's uid, for the Events `kubectl describe` finds by it.
    pub uid: Option<String>,
    /// Why handling the exception's status failed inside driftwarden (a caught panic): it
    /// is `Stalled` and its status is left as it is until its spec changes.
    pub internal_error: Option<String>,
    pub status: ExceptionStatus,
    pub written: Option<ExceptionStatus>,
    pub writing: bool,
    pub failures: u32,
    pub retry_at: Option<Timestamp>,
}

/// What an exception's status says, from what it covers now.
pub(super) fn exception_status(
    previous: &ExceptionStatus,
    entry: &Result<ExceptionEntry, ExceptionProblem>,
    covered: u32,
    covered_findings: u32,
    lead: SignedDuration,
    generation: Option<i64>,
    now: Timestamp,
) -> ExceptionStatus {
    let mut status =
        ExceptionStatus { conditions: previous.conditions.clone(), covered, covered_findings, ..Default::default() };
    status.observed_generation = generation;
    // Only an internal error stalls an exception; its status is worked out again once the
    // spec changed.
    crate::api::conditions::remove_condition(&mut status.conditions, types::STALLED);
    let time = Time(now);
    let mut set = |type_: &'static str, holds: bool, reason: &'static str, message: String| {
        let spec = ConditionSpec::new(type_, ConditionStatus::from(holds), reason, message);
        set_condition(&mut status.conditions, spec, generation, time.clone());
    };
    match entry {
        Err(problem) => {
            let too_long = problem.exceeds_max_duration();
            let reason = if too_long { reasons::EXCEEDS_MAX_DURATION } else { reasons::INVALID_SPEC };
            set(types::READY, false, reason, problem.to_string());
            set(types::ACTIVE, false, reason, "the exception is not honoured".to_string());
            set(types::EXPIRED, too_long, reason, problem.to_string());
        }
        Ok(entry) => {
            let expires = entry.cover.expires_at;
            let active = now < expires;
            set(
                types::READY,
                true,
                reasons::RECONCILED,
                format!("covers {covered} drifts and {covered_findings} findings"),
            );
            if active {
                set(types::ACTIVE, true, reasons::WITHIN_VALIDITY, format!("in force until {expires}"));
                set(types::EXPIRED, false, reasons::WITHIN_VALIDITY, format!("expires at {expires}"));
                let (holds, reason, message) = match covered {
                    0 => {
                        (true, reasons::NO_MATCHING_DRIFT, "no current drift matches it: it may be removed".to_string())
                    }
                    n => (false, reasons::COVERS_DRIFT, format!("covers {n} drifts")),
                };
                set(types::COVERS_NOTHING, holds, reason, message);
                let soon = expires.duration_since(now) <= lead;
                let (reason, message) = match soon {
                    true => {
                        (reasons::EXPIRES_WITHIN_LEAD_TIME, format!("expires at {expires}: renew it or fix the drift"))
                    }
                    false => (reasons::EXPIRY_NOT_NEAR, format!("expires at {expires}")),
                };
                set(types::EXPIRING_SOON, soon, reason, message);
            } else {
                let message = format!("expired at {expires}: the drift it covered is enforced again");
                set(types::ACTIVE, false, reasons::EXPIRES_AT_PASSED, message.clone());
                set(types::EXPIRED, true, reasons::EXPIRES_AT_PASSED, message);
                set(types::COVERS_NOTHING, false, reasons::EXPIRES_AT_PASSED, String::new());
                set(types::EXPIRING_SOON, false, reasons::EXPIRES_AT_PASSED, String::new());
            }
        }
    }
    status
}

/// The notifications a status change calls for: a hygiene flag or the expiry turning true.
fn notices(previous: &ExceptionStatus, next: &ExceptionStatus) -> Vec<NotificationType> {
    [
        (types::EXPIRING_SOON, NotificationType::ExceptionExpiring),
        (types::EXPIRED, NotificationType::ExceptionExpired),
        (types::COVERS_NOTHING, NotificationType::ExceptionCoversNothing),
    ]
    .into_iter()
    .filter(|(type_, _)| is_true(&next.conditions, type_) && !is_true(&previous.conditions, type_))
    .map(|(_, kind)| kind)
    .collect()
}

fn same(a: &ExceptionStatus, b: &ExceptionStatus) -> bool {
    a.covered == b.covered
        && a.covered_findings == b.covered_findings
        && a.observed_generation == b.observed_generation
        && same_ignoring_time(&a.conditions, &b.conditions)
}

impl Reconciler {
    /// Recomputes every exception's status and writes those that changed.
    pub(super) fn flush_exceptions(&mut self, now: Timestamp) {
        let lead = SignedDuration::try_from(self.settings.exception_reminder).unwrap_or_default();
        let keys: Vec<(String, String)> = self.exceptions.keys().cloned().collect();
        for key in keys {
            if self.exception_status.get(&key).is_some_and(|s| s.internal_error.is_some()) {
                self.write_stalled_exception(&key, now);
                continue;
            }
            let asked = self.effects.len();
            let name = format!("{}/{}", key.0, key.1);
            let Err(panic) = contained(Step::Exception, &name, || self.flush_exception(&key, lead, now)) else {
                continue;
            };
            self.effects.truncate(asked);
            error!(exception = %name, "handling the exception's status panicked; the others are served: {panic}");
            self.metrics.internal_error(InternalErrorKind::Exception);
            let message = format!("handling the exception failed inside driftwarden: {panic}");
            self.effects.push(Effect::PublishOn {
                resource: OwnResource::Exception(key.0.clone(), key.1.clone()),
                uid: self.exception_status.get(&key).and_then(|state| state.uid.clone()),
                type_: EventType::Warning,
                reason: reasons::INTERNAL_ERROR,
                message: message.clone(),
            });
            let state = self.exception_status.entry(key.clone()).or_default();
            let (generation, time) = (state.generation, Time(now));
            for type_ in [types::READY, types::STALLED] {
                let status = if type_ == types::READY { ConditionStatus::False } else { ConditionStatus::True };
                let spec = ConditionSpec::new(type_, status, reasons::INTERNAL_ERROR, message.clone());
                set_condition(&mut state.status.conditions, spec, generation, time.clone());
            }
            state.internal_error = Some(message);
            self.write_stalled_exception(&key, now);
        }
    }

    /// Writes a stalled exception's status when it differs from what was last written.
    fn write_stalled_exception(&mut self, key: &(String, String), now: Timestamp) {
        let Some(state) = self.exception_status.get_mut(key) else { return };
        let due = state.written.as_ref().is_none_or(|w| !same(w, &state.status));
        if due && !state.writing && state.retry_at.is_none_or(|at| at <= now) {
            state.writing = true;
            self.effects.push(Effect::WriteExceptionStatus { key: key.clone(), status: state.status.clone() });
        }
    }

    /// Works out one exception's status, and writes and announces what changed.
    fn flush_exception(&mut self, key: &(String, String), lead: SignedDuration, now: Timestamp) {
        let key = key.clone();
        let Some(entry) = self.exceptions.get(&key) else { return };
        let name = entry.as_ref().map(|e| e.cover.name.clone()).unwrap_or_default();
        let covered_assets: std::collections::BTreeSet<_> = self
            .policies
            .values()
            .flat_map(|p| p.targets().iter())
            .filter(|(_, t)| {
                t.drifts.iter().any(|d| matches!(&d.action, Action::Excepted { exception } if *exception == name))
            })
            .map(|(k, _)| k.clone())
            .collect();
        let covered = self
            .policies
            .values()
            .flat_map(|p| p.targets().values())
            .flat_map(|t| t.drifts.iter())
            .filter(|d| matches!(&d.action, Action::Excepted { exception } if *exception == name))
            .count() as u32;
        let covered_findings = self
            .campaigns
            .values()
            .flat_map(|c| c.findings.iter())
            .filter(|(k, f)| f.status.state == FindingState::Excepted && covered_assets.contains(k))
            .count() as u32;
        // A namespaced exception that reaches other namespaces is refused, and says why.
        let refused: Result<ExceptionEntry, ExceptionProblem> = match entry {
            Ok(e) => match e.reach_problem(&self.settings.namespace) {
                Some(problem) => Err(ExceptionProblem::Reach(problem)),
                None => Ok(e.clone()),
            },
            Err(problem) => Err(problem.clone()),
        };
        let state = self.exception_status.entry(key.clone()).or_default();
        if state.writing || state.retry_at.is_some_and(|at| at > now) {
            return;
        }
        let next = exception_status(&state.status, &refused, covered, covered_findings, lead, state.generation, now);
        let kinds = notices(&state.status, &next);
        state.status = next.clone();
        if state.written.as_ref().is_none_or(|w| !same(w, &next)) {
            state.writing = true;
            self.effects.push(Effect::WriteExceptionStatus { key: key.clone(), status: next });
        }
        if !kinds.is_empty() {
            self.notify_exception(&key, kinds);
        }
    }

    pub(super) fn on_exception_written(
        &mut self,
        key: (String, String),
        result: Result<ExceptionStatus, RequestError>,
    ) {
        let Some(state) = self.exception_status.get_mut(&key) else { return };
        state.writing = false;
        match result {
            Ok(status) => {
                state.written = Some(status);
                state.failures = 0;
                state.retry_at = None;
            }
            Err(error) => {
                state.failures += 1;
                state.retry_at = Some(BACKOFF.retry_at(state.failures, self.now));
                warn!(
                    exception = %format!("{}/{}", key.0, key.1),
                    category = error.category(),
                    "exception status write failed, retrying: {error}"
                );
            }
        }
    }

    /// Sends an exception's reminders to the sinks of the policies that govern what it
    /// selects; when it selects nothing (it covers nothing, or is refused), to those of the
    /// policies of its namespace, or of every policy for one in the operator's namespace.
    fn notify_exception(&mut self, key: &(String, String), kinds: Vec<NotificationType>) {
        let Some(Ok(entry)) = self.exceptions.get(key) else { return };
        let namespaces = &self.namespaces;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let mut sinks: Vec<&Sink> = Vec::new();
        for policy in self.policies.values() {
            let Some(sink) = &policy.sink else { continue };
            let selects = policy.targets().keys().any(|k| {
                self.kinds
                    .get(&k.kind)
                    .and_then(|kind| kind.cache.get(k))
                    .is_some_and(|object| entry.selects(&object, &self.settings.namespace, &labels))
            });
            if selects && !sinks.contains(&sink) {
                sinks.push(sink);
            }
        }
        if sinks.is_empty() {
            let everywhere = key.0 == self.settings.namespace;
            for policy in self.policies.values() {
                let Some(sink) = &policy.sink else { continue };
                let near = everywhere || policy.key.namespace.as_deref() == Some(key.0.as_str());
                if near && !sinks.contains(&sink) {
                    sinks.push(sink);
                }
            }
        }
        let source = format!("/apis/driftwarden.dev/v1alpha1/namespaces/{}/driftexceptions/{}", key.0, key.1);
        let mut notifications = Vec::new();
        for kind in kinds {
            for sink in &sinks {
                let id = format!("{}/{}/{}/{}", key.0, key.1, kind.event_type(), entry.cover.expires_at.as_second());
                let data = json!({
                    "exception": entry.cover.name,
                    "expiresAt": entry.cover.expires_at.to_string(),
                    "covered": self.exception_status.get(key).map_or(0, |s| s.status.covered),
                });
                let notification =
                    Notification { id, kind, source: source.clone(), subject: None, time: self.now, data };
                notifications.push(((*sink).clone(), notification));
            }
        }
        for (sink, notification) in notifications {
            self.send_notification(sink, notification, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::conditions::check_contract;
    use crate::reconcile::exceptions::read;

    fn exception(expires: &str) -> Result<ExceptionEntry, ExceptionProblem> {
        read(
            &json!({
                "metadata": {"name": "x", "namespace": "shop", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "justification": "j", "approvedBy": "a",
                         "ticket": "T-1", "approvedAt": "2026-01-01T00:00:00Z", "expiresAt": expires}
            }),
            crate::api::exception::DEFAULT_INSTALLATION_CAP,
        )
    }

    #[test]
    fn status_says_active_expired_and_flags_hygiene() {
        let now: Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
        let week = SignedDuration::from_hours(24 * 7);
        let far = exception("2026-03-01T00:00:00Z");
        let active = exception_status(&ExceptionStatus::default(), &far, 2, 1, week, Some(1), now);
        check_contract(&active.conditions, Some(1)).unwrap();
        assert!(is_true(&active.conditions, types::ACTIVE));
        assert!(
            !is_true(&active.conditions, types::COVERS_NOTHING) && !is_true(&active.conditions, types::EXPIRING_SOON)
        );
        assert_eq!((active.covered, active.covered_findings), (2, 1));

        let idle = exception_status(&active, &exception("2026-01-12T00:00:00Z"), 0, 0, week, Some(1), now);
        assert!(is_true(&idle.conditions, types::COVERS_NOTHING) && is_true(&idle.conditions, types::EXPIRING_SOON));
        assert_eq!(
            notices(&active, &idle),
            vec![NotificationType::ExceptionExpiring, NotificationType::ExceptionCoversNothing]
        );
        assert!(notices(&idle, &idle).is_empty(), "a reminder is sent once");

        let expired = exception_status(&idle, &exception("2026-01-09T00:00:00Z"), 0, 0, week, Some(1), now);
        assert!(is_true(&expired.conditions, types::EXPIRED) && !is_true(&expired.conditions, types::ACTIVE));
        assert_eq!(notices(&idle, &expired), vec![NotificationType::ExceptionExpired]);
    }

    #[test]
    fn an_exception_longer_than_allowed_is_expired_and_says_why() {
        let now: Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
        let entry = exception("2027-06-01T00:00:00Z");
        let status = exception_status(&ExceptionStatus::default(), &entry, 0, 0, SignedDuration::ZERO, None, now);
        let ready = status.conditions.iter().find(|c| c.type_ == types::READY).unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", reasons::EXCEEDS_MAX_DURATION));
        assert!(is_true(&status.conditions, types::EXPIRED));
    }
}
