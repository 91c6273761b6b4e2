//! Prevention at admission: for each policy with `spec.admission`, the
//! ValidatingAdmissionPolicy and binding generated from it ([`crate::admission`]) are
//! applied, kept in step with the policy and its active DriftExceptions, and removed with
//! it; or, when a GitOps repository applies them (`managedBy: External`), checked to exist
//! and match. The policy's `AdmissionReady` condition says how it stands and lists what
//! admission leaves unchecked. Nothing here stops the runtime part of the policy.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tracing::{info, warn};

use super::{Effect, EventType, OwnResource, Reconciler, RequestError};
use crate::admission::{Excepted, Generated, Source, exempt_users, generate, name_of};
use crate::api::admission::AdmissionManagement;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{ConditionSpec, ConditionStatus, remove_condition, set_condition};
use crate::api::reasons;
use crate::api::reasons::types;
use crate::engine::backoff::Backoff;
use crate::keys::{KindKey, PolicyKey};

/// A refused or failed write is tried again after 1 s, 2 s … up to 5 min.
const WRITE_BACKOFF: Backoff = Backoff::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(300));

/// How often externally managed admission objects are read again: while they are missing
/// or differ (a GitOps sync is likely under way), and once they match.
const EXTERNAL_RECHECK_SOON: SignedDuration = SignedDuration::from_secs(5);
const EXTERNAL_RECHECK: SignedDuration = SignedDuration::from_secs(60);

/// At most this many unchecked paths are named in the condition's message.
const NAMED_PATHS: usize = 10;

/// What to apply or check for one policy, or (without objects) what to delete.
#[derive(Debug, Clone)]
pub struct AdmissionWrite {
    pub policy: PolicyKey,
    /// The name of both objects.
    pub name: String,
    /// The ValidatingAdmissionPolicy and its binding; `None`: delete both.
    pub objects: Option<(Value, Value)>,
    /// What the objects are, to know later whether they are still what the policy wants.
    pub digest: u64,
}

/// Externally managed admission objects, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum External {
    /// Both exist and hold what the policy generates.
    Matches,
    /// One or both do not exist.
    Missing(String),
    /// They exist and differ (which, and where).
    Differs(String),
}

/// One policy's admission objects.
#[derive(Debug, Default)]
struct State {
    name: String,
    /// The digest last applied (or found matching); `None` when they must be written.
    done: Option<u64>,
    in_flight: bool,
    failures: u32,
    retry_at: Option<Timestamp>,
    /// Whether the operator applied objects that are still there.
    applied: bool,
    external: bool,
    next_check: Option<Timestamp>,
    /// What the objects in flight check and leave out, for the condition when they land.
    checked: usize,
    unchecked: Vec<String>,
}

/// Every policy's admission objects, and whether they must be generated again.
#[derive(Debug, Default)]
pub(super) struct Admission {
    states: BTreeMap<PolicyKey, State>,
    /// Something every policy's objects may be made of changed: an exception, or the clock
    /// passing an exception's `expiresAt`.
    all: bool,
    /// Policies whose objects must be looked at again (the policy changed, a kind it names
    /// was looked up, an outcome came in).
    keys: BTreeSet<PolicyKey>,
    /// Whether objects generated for policies that no longer exist were looked for, and
    /// when to look again after a failure.
    swept: bool,
    sweep_at: Option<Timestamp>,
}

impl Admission {
    /// Generate every policy's objects again on the next tick.
    pub(super) fn touch(&mut self) {
        self.all = true;
    }

    /// Look at one policy's objects again on the next tick.
    pub(super) fn touch_one(&mut self, key: &PolicyKey) {
        self.keys.insert(key.clone());
    }

    /// Apply every policy's objects again (a resync): heals objects edited or deleted by hand.
    pub(super) fn refresh(&mut self) {
        for state in self.states.values_mut() {
            state.done = None;
        }
        self.all = true;
    }
}

fn digest(generated: &Generated) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    generated.policy.to_string().hash(&mut hasher);
    generated.binding.to_string().hash(&mut hasher);
    hasher.finish()
}

impl Reconciler {
    /// Sets a policy's `AdmissionReady` condition (`None`: removes it); a change is
    /// written with the policy's status.
    fn admission_condition(&mut self, key: &PolicyKey, condition: Option<(bool, &'static str, String)>) {
        let now = Time(self.now);
        let Some(policy) = self.policies.get_mut(key) else { return };
        let changed = match condition {
            None => remove_condition(&mut policy.conditions, types::ADMISSION_READY),
            Some((ready, reason, message)) => {
                let spec = ConditionSpec::new(types::ADMISSION_READY, ConditionStatus::from(ready), reason, message);
                set_condition(&mut policy.conditions, spec, policy.generation, now)
            }
        };
        policy.dirty |= changed;
    }

    /// Generates, applies, checks and removes admission objects as the policies want them.
    pub(super) fn flush_admission(&mut self, now: Timestamp) {
        let unavailable = if !self.settings.admission {
            Some(
                "this installation does not generate admission objects: the operator runs without --admission (chart value admission.enabled)",
            )
        } else if !self.settings.watch_namespaces.is_empty() {
            Some(
                "this installation is namespaced (--watch-namespaces) and holds no cluster-wide grants, which admission objects need",
            )
        } else {
            None
        };
        if let Some(message) = unavailable {
            if std::mem::take(&mut self.admission.all) || !self.admission.keys.is_empty() {
                self.admission.keys.clear();
                let wanted = self.wanting_admission();
                let all: Vec<PolicyKey> = self.policies.keys().cloned().collect();
                for key in all {
                    let condition = wanted.contains(&key).then(|| message.to_string());
                    let condition = condition.map(|m| (false, reasons::ADMISSION_UNAVAILABLE, m));
                    self.admission_condition(&key, condition);
                }
            }
            return;
        }
        // Nothing is generated before every policy and exception is listed: an exception
        // that exists must never be missing from the rules.
        if !self.health.is_ready() || !self.exceptions_synced {
            return;
        }
        let sweep = !self.admission.swept && self.admission.sweep_at.is_none_or(|at| at <= now);
        let due = |s: &State| {
            !s.in_flight
                && (s.retry_at.is_some_and(|at| at <= now) || (s.external && s.next_check.is_some_and(|at| at <= now)))
        };
        let due: Vec<PolicyKey> =
            self.admission.states.iter().filter(|(_, s)| due(s)).map(|(k, _)| k.clone()).collect();
        // Every tick comes here: nothing is looked at unless something asks for it.
        if !sweep && !self.admission.all && self.admission.keys.is_empty() && due.is_empty() {
            return;
        }
        let wanted = self.wanting_admission();
        if sweep {
            self.admission.swept = true;
            let keep: BTreeSet<String> = wanted.iter().map(name_of).collect();
            self.effects.push(Effect::SweepAdmission { keep });
        }
        let mut keys = std::mem::take(&mut self.admission.keys);
        match std::mem::take(&mut self.admission.all) {
            true => keys.clone_from(&wanted),
            false => keys.extend(due),
        }
        for key in keys.iter().filter(|k| wanted.contains(*k)) {
            self.flush_policy_admission(key, now);
        }
        // Policies gone, or without spec.admission any more: their objects go, and so does
        // the condition of those that remain.
        let gone: Vec<PolicyKey> = self.admission.states.keys().filter(|k| !wanted.contains(*k)).cloned().collect();
        for key in gone {
            self.remove_admission(&key);
        }
        let without: Vec<PolicyKey> = self.policies.keys().filter(|k| !wanted.contains(*k)).cloned().collect();
        for key in without {
            self.admission_condition(&key, None);
        }
    }

    /// The valid policies with `spec.admission`.
    fn wanting_admission(&self) -> BTreeSet<PolicyKey> {
        self.policies
            .iter()
            .filter(|(_, p)| p.compiled.as_ref().is_ok_and(|c| c.admission.is_some()))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Deletes the objects the operator applied for `key`, if any.
    fn remove_admission(&mut self, key: &PolicyKey) {
        let Some(state) = self.admission.states.get_mut(key) else { return };
        if state.in_flight {
            // Its outcome comes first, and brings the policy back here.
            return;
        }
        if !state.applied || state.external {
            self.admission.states.remove(key);
            return;
        }
        state.in_flight = true;
        state.done = None;
        let write = AdmissionWrite { policy: key.clone(), name: state.name.clone(), objects: None, digest: 0 };
        self.effects.push(Effect::WriteAdmission(write));
    }

    fn flush_policy_admission(&mut self, key: &PolicyKey, now: Timestamp) {
        let Some(policy) = self.policies.get(key) else { return };
        let Ok(compiled) = &policy.compiled else { return };
        let Some(spec) = &compiled.admission else { return };
        let external = spec.managed_by == AdmissionManagement::External;
        // Until every kind is looked up, the plurals are not known.
        let kinds = compiled.kinds();
        let resolved = |(v, k): &(String, String)| {
            self.kinds.get(&KindKey::new(v, k)).is_some_and(|e| e.resource.is_some() || e.problem.is_some())
        };
        if !kinds.iter().all(resolved) {
            return;
        }
        let resource_of = |api_version: &str, kind: &str| {
            let (resource, namespaced) = self.kinds.get(&KindKey::new(api_version, kind))?.resource.as_ref()?;
            Some((resource.plural.clone(), *namespaced))
        };
        let operator_namespace = self.settings.namespace.as_str();
        // Externally managed objects are rendered without exceptions: a repository cannot
        // follow their clock.
        let excepted: Vec<Excepted<'_>> = match external {
            true => Vec::new(),
            false => self
                .exceptions
                .values()
                .filter_map(|e| e.as_ref().ok())
                .filter(|e| e.applies_to(policy.namespaced_exceptions, operator_namespace))
                .filter(|e| e.reach_problem(operator_namespace).is_none() && now < e.cover.expires_at)
                .map(|e| Excepted { target: e.target(), pin: e.pin(operator_namespace), paths: &e.cover.paths })
                .collect(),
        };
        let exempt = exempt_users(&self.settings.admission_exempt_users, policy.acts_as.as_ref());
        let generated = generate(&Source {
            key,
            uid: policy.uid.as_deref(),
            admission: spec,
            policy: compiled,
            resource_of: &resource_of,
            exempt_users: &exempt,
            exempt_groups: &self.settings.admission_exempt_groups,
            exceptions: &excepted,
        });
        let unchecked: Vec<String> =
            generated.skipped.iter().map(|(field, s)| format!("{field}{} ({})", s.pointer, s.why)).collect();
        let checked = generated.checked.len();
        let state = self.admission.states.entry(key.clone()).or_default();
        state.name = generated.name.clone();
        state.external = external;
        if generated.is_empty() {
            let message = format!("nothing the policy governs can be checked at admission: {}", unchecked.join("; "));
            self.admission_condition(key, Some((false, reasons::NOTHING_TO_CHECK, message)));
            self.remove_admission(key);
            return;
        }
        let digest = digest(&generated);
        let state = self.admission.states.entry(key.clone()).or_default();
        let recheck = external && state.next_check.is_some_and(|at| at <= now);
        if state.in_flight || state.retry_at.is_some_and(|at| at > now) {
            // Looked at again once the outcome is in or the backoff is over.
            return;
        }
        if state.done == Some(digest) && !recheck {
            return;
        }
        state.in_flight = true;
        state.retry_at = None;
        state.checked = checked;
        state.unchecked = unchecked;
        let write = AdmissionWrite {
            policy: key.clone(),
            name: generated.name.clone(),
            objects: Some((generated.policy, generated.binding)),
            digest,
        };
        self.effects.push(match external {
            true => Effect::CheckAdmission(write),
            false => Effect::WriteAdmission(write),
        });
    }

    /// What the condition says of objects in place.
    fn enforced(state: &State, external: bool) -> (bool, &'static str, String) {
        let by = if external { "managed externally, found matching" } else { "applied" };
        if state.unchecked.is_empty() {
            let message = format!("{by}: {} governed paths checked at admission", state.checked);
            return (true, reasons::ADMISSION_ENFORCED, message);
        }
        let mut named: Vec<&str> = state.unchecked.iter().take(NAMED_PATHS).map(String::as_str).collect();
        let more = state.unchecked.len().saturating_sub(NAMED_PATHS);
        let and_more = format!("and {more} more");
        if more > 0 {
            named.push(&and_more);
        }
        let message = format!(
            "{by}: {} governed paths checked at admission; not checked there (the operator still heals them): {}",
            state.checked,
            named.join("; ")
        );
        (true, reasons::PARTIAL_COVERAGE, message)
    }

    /// Takes the outcome of applying (or deleting) a policy's admission objects.
    pub(super) fn on_admission_written(&mut self, write: AdmissionWrite, result: Result<(), RequestError>) {
        let now = self.now;
        // The policy may have changed (or gone) meanwhile: looked at again on the next tick.
        self.admission.touch_one(&write.policy);
        let Some(state) = self.admission.states.get_mut(&write.policy) else { return };
        state.in_flight = false;
        match result {
            Ok(()) if write.objects.is_none() => {
                info!(policy = %write.policy, name = %write.name, "admission objects deleted");
                self.admission.states.remove(&write.policy);
            }
            Ok(()) => {
                info!(policy = %write.policy, name = %write.name, "admission objects applied");
                state.done = Some(write.digest);
                state.applied = true;
                state.failures = 0;
                let condition = Self::enforced(state, false);
                self.admission_condition(&write.policy, Some(condition));
            }
            Err(error) => {
                state.failures += 1;
                state.retry_at = Some(WRITE_BACKOFF.retry_at(state.failures, now));
                let first = state.failures == 1;
                self.metrics.reconcile_error(super::RECONCILE, error.category());
                warn!(policy = %write.policy, failures = state.failures, "admission objects not written, retrying: {error}");
                if write.objects.is_some() {
                    let message = format!(
                        "the API server refused the generated ValidatingAdmissionPolicy {}: {error}; the policy's \
                         drift is still fixed and escalated",
                        write.name
                    );
                    if first {
                        let uid = self.policies.get(&write.policy).and_then(|p| p.uid.clone());
                        self.effects.push(Effect::PublishOn {
                            resource: OwnResource::Policy(write.policy.clone()),
                            uid,
                            type_: EventType::Warning,
                            reason: reasons::ADMISSION_REFUSED,
                            message: message.clone(),
                        });
                    }
                    self.admission_condition(&write.policy, Some((false, reasons::ADMISSION_REFUSED, message)));
                }
            }
        }
    }

    /// Takes what was read of externally managed admission objects.
    pub(super) fn on_admission_checked(&mut self, write: AdmissionWrite, result: Result<External, RequestError>) {
        let now = self.now;
        self.admission.touch_one(&write.policy);
        let Some(state) = self.admission.states.get_mut(&write.policy) else { return };
        state.in_flight = false;
        let matches = matches!(result, Ok(External::Matches));
        state.next_check = Some(now + if matches { EXTERNAL_RECHECK } else { EXTERNAL_RECHECK_SOON });
        let render = "; `driftwarden admission render` prints what the policy generates";
        let condition = match result {
            Ok(External::Matches) => {
                state.done = Some(write.digest);
                state.failures = 0;
                Self::enforced(state, true)
            }
            Ok(External::Missing(what)) => {
                state.done = None;
                (false, reasons::ADMISSION_OBJECTS_MISSING, format!("{what}{render}"))
            }
            Ok(External::Differs(what)) => {
                state.done = None;
                (false, reasons::ADMISSION_OBJECTS_DIFFER, format!("{what}{render}"))
            }
            Err(error) => {
                state.failures += 1;
                state.retry_at = Some(WRITE_BACKOFF.retry_at(state.failures, now));
                self.metrics.reconcile_error(super::RECONCILE, error.category());
                let message = format!("the admission objects {} could not be read: {error}", write.name);
                (false, reasons::ADMISSION_REFUSED, message)
            }
        };
        self.admission_condition(&write.policy, Some(condition));
    }

    /// Takes the outcome of removing objects generated for policies that are gone.
    pub(super) fn on_admission_swept(&mut self, result: Result<usize, RequestError>) {
        match result {
            Ok(0) => {}
            Ok(removed) => info!(removed, "admission objects of deleted policies removed"),
            Err(error) => {
                warn!("admission objects of deleted policies could not be looked for, trying again: {error}");
                self.admission.swept = false;
                self.admission.sweep_at = Some(self.now + SignedDuration::from_secs(30));
            }
        }
        // Whatever the sweep raced with is applied again.
        self.admission.refresh();
    }
}
