//! Evaluation: each object is compared with every policy that governs it, each drift
//! classified and decided (fix, defer, escalate, audit) under the policy's rules, active
//! exceptions and counters, and a fix started when one is due. Many objects at once (a
//! kind listed, a policy or an exception changed, a resync) are counted first, so that
//! every decision sees the same counts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use jiff::Timestamp;

use tracing::error;

use super::contain::{PANIC_BACKOFF, Step, contained};
use super::effect::EventType;
use super::{FixPart, News, Reconciler, Work};
use crate::api::reasons;
use crate::engine::classify::riskiest;
use crate::engine::decide::{Action, Counters, DecisionInput, ExceptionCover, RemediationRules, decide, opted_out};
use crate::engine::evaluate::TargetResult;
use crate::keys::PolicyKey;
use crate::keys::{KindKey, ObjectKey};
use crate::operator::ledger::fingerprint;
use crate::operator::metrics::InternalErrorKind;
use crate::reconcile::exceptions::{ExceptionEntry, ExceptionProblem};
use crate::reconcile::policies::{DecidedDrift, Panicked, PolicyEntry, TargetState};

impl Reconciler {
    pub(super) fn reevaluate_all(&mut self) {
        let kinds: Vec<KindKey> = self.kinds.keys().cloned().collect();
        for kind in kinds {
            self.reevaluate_kind(&kind);
        }
    }

    /// Re-evaluates every cached object of `kind` and every declared resource of that kind.
    pub(super) fn reevaluate_kind(&mut self, kind: &KindKey) {
        let Some(entry) = self.kinds.get(kind) else { return };
        if !entry.synced {
            return;
        }
        let mut keys: BTreeSet<ObjectKey> = entry.cache.keys().cloned().collect();
        for policy in self.policies.values() {
            if let Ok(compiled) = &policy.compiled {
                keys.extend(
                    compiled.resources().map(|(target, _)| ObjectKey::from_ref(target)).filter(|k| &k.kind == kind),
                );
            }
            keys.extend(policy.targets().keys().filter(|k| &k.kind == kind).cloned());
        }
        self.reconcile_all(keys);
    }

    /// Reconciles many objects: first records which of them drift, then decides each, so
    /// that every decision sees the same counts.
    pub(super) fn reconcile_all(&mut self, keys: impl IntoIterator<Item = ObjectKey>) {
        self.work = Work::Batch;
        self.reconcile_batch(keys.into_iter().collect());
    }

    pub(super) fn reconcile_batch(&mut self, keys: Vec<ObjectKey>) {
        let Self { policies, kinds, namespaces, exceptions, settings, now, .. } = &mut *self;
        let now = *now;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let mut panicked: Vec<(PolicyKey, ObjectKey, Option<String>, String)> = Vec::new();
        // Each object is read back from the cache once, for every policy in turn.
        for key in &keys {
            let live = kinds.get(&key.kind).and_then(|k| k.cache.get(key));
            for policy in policies.values_mut() {
                let Ok(compiled) = &policy.compiled else { continue };
                if policy.leaves_alone(key, live.as_ref(), now) {
                    continue;
                }
                let result = contained(Step::Evaluate, &format!("{} {key}", policy.key), || match &live {
                    Some(object) => compiled.evaluate_object(object, &labels),
                    None => compiled.missing_resource(&key.to_ref(None), &labels),
                });
                let result = match result {
                    Ok(result) => result,
                    Err(message) => {
                        let version = live
                            .as_ref()
                            .and_then(|o| o.pointer("/metadata/resourceVersion"))
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        panicked.push((policy.key.clone(), key.clone(), version, message));
                        continue;
                    }
                };
                if let Some(result) = result {
                    // Drift an active exception covers does not count, as in the status.
                    let covers = covers_for(exceptions, policy, live.as_ref(), &settings.namespace, &labels);
                    let drifts = result.drifts().any(|d| !covers.iter().any(|c| c.covers(d, now)));
                    policy.provisionally(key, drifts);
                }
            }
        }
        for policy in policies.values_mut().filter(|policy| policy.compiled.is_ok()) {
            policy.freeze_batch_counts();
        }
        for (policy, key, version, message) in panicked {
            self.object_panicked(&policy, &key, version, message);
        }
        for key in &keys {
            self.reconcile(key);
        }
        for policy in self.policies.values_mut() {
            policy.end_batch();
        }
    }

    pub(super) fn reevaluate_namespace(&mut self, namespace: &str) {
        let keys: Vec<ObjectKey> = self
            .kinds
            .values()
            .flat_map(|k| k.cache.keys())
            .filter(|k| k.namespace.as_deref() == Some(namespace))
            .cloned()
            .collect();
        self.reconcile_all(keys);
    }

    /// Evaluates one object against every policy that names its kind, records what was
    /// decided, and starts a fix when one is due.
    pub(super) fn reconcile(&mut self, key: &ObjectKey) {
        if self.work == Work::None {
            self.work = Work::One;
        }
        let span = tracing::debug_span!("reconcile", object = %key);
        let _entered = span.enter();
        self.reconcile_one(key);
    }

    pub(super) fn reconcile_one(&mut self, key: &ObjectKey) {
        if super::kinds::is_ledger(key, &self.settings.namespace) {
            return;
        }
        let Self { policies, kinds, namespaces, exceptions, settings, now, ledger, .. } = &mut *self;
        let now = *now;
        let Some(kind) = kinds.get(&key.kind).filter(|k| k.synced) else { return };
        let live = kind.cache.get(key);
        let live = live.as_ref();
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let mut to_fix: Vec<FixPart> = Vec::new();
        let mut news: Vec<News> = Vec::new();
        let mut panicked: Vec<(PolicyKey, String)> = Vec::new();
        for policy in policies.values_mut() {
            if policy.compiled.is_err() || policy.leaves_alone(key, live, now) {
                continue;
            }
            let remediations_last_minute = policy.rate.in_last_minute(now);
            let context = DecisionContext {
                key,
                live,
                covers: &[],
                own_manager: &settings.field_manager,
                appliers: &settings.appliers,
                remediations_last_minute,
                now,
            };
            let announced = ledger.announced(&policy.key, key);
            let evaluated = contained(Step::Evaluate, &format!("{} {key}", policy.key), || {
                evaluate_one(policy, &context, exceptions, &settings.namespace, &labels, announced)
            });
            match evaluated {
                Err(message) => panicked.push((policy.key.clone(), message)),
                Ok(None) => {
                    policy.panicked.remove(key);
                    ledger.forget_object(&policy.key, key, now);
                    if policy.remove_target(key).is_some() {
                        // Gone or no longer governed: nothing about it is kept.
                        policy.history.forget(&key.to_string());
                        policy.dirty = true;
                    }
                }
                Ok(Some(Evaluated { state, news: item, fix })) => {
                    if policy.panicked.remove(key).is_some() {
                        policy.dirty = true;
                    }
                    news.extend(item);
                    to_fix.extend(fix);
                    ledger.set_announced(&policy.key, key, escalations_of(&state), now);
                    if policy.set_target(key, state) {
                        policy.dirty = true;
                    }
                }
            }
        }
        let version =
            live.and_then(|o| o.pointer("/metadata/resourceVersion")).and_then(Value::as_str).map(str::to_string);
        for (policy, message) in panicked {
            self.object_panicked(&policy, key, version.clone(), message);
        }
        for item in news {
            self.announce(key, item);
        }
        if !to_fix.is_empty() && self.exceptions_synced && !self.in_flight.contains(key) {
            self.start_fix(key, to_fix);
        }
        self.observe_campaigns(key);
    }

    /// Records that evaluating `key` against `policy` panicked: the policy's status says
    /// so, an Event and the metric too, and the object is left alone for a while.
    pub(super) fn object_panicked(
        &mut self,
        policy: &PolicyKey,
        key: &ObjectKey,
        version: Option<String>,
        message: String,
    ) {
        error!(policy = %policy, object = %key, "evaluating the object panicked; the policy serves its other objects: {message}");
        self.metrics.internal_error(InternalErrorKind::Object);
        let now = self.now;
        let Some(entry) = self.policies.get_mut(policy) else { return };
        let failures = entry.panicked.get(key).map_or(0, |p| p.failures) + 1;
        let retry_at = PANIC_BACKOFF.retry_at(failures, now);
        entry.panicked.insert(key.clone(), Panicked { message: message.clone(), failures, version, retry_at });
        entry.dirty = true;
        let message = format!("evaluating {key} failed inside driftwarden: {message}; retried after {retry_at}");
        self.publish(key, policy, EventType::Warning, reasons::INTERNAL_ERROR, message);
    }
}

/// The fingerprints of the escalations a target stands at, as the ledger records them.
fn escalations_of(state: &TargetState) -> BTreeSet<String> {
    state
        .drifts
        .iter()
        .filter(|d| matches!(d.action, Action::Escalate { .. } | Action::Audit))
        .map(|d| fingerprint(&d.drift.path, &d.action))
        .collect()
}

/// What evaluating one object against one policy decided, to commit once it is known.
struct Evaluated {
    state: TargetState,
    news: Option<News>,
    fix: Option<FixPart>,
}

/// Compares one object with one policy and decides its drifts, reading and changing
/// nothing but locals: `None` when the policy does not govern the object.
fn evaluate_one(
    policy: &PolicyEntry,
    context: &DecisionContext<'_>,
    exceptions: &BTreeMap<(String, String), Result<ExceptionEntry, ExceptionProblem>>,
    operator_namespace: &str,
    labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    announced: Option<&BTreeSet<String>>,
) -> Option<Evaluated> {
    let &DecisionContext { key, live, now, .. } = context;
    let Ok(compiled) = &policy.compiled else { return None };
    let result: TargetResult = match live {
        Some(object) => compiled.evaluate_object(object, &labels)?,
        None => compiled.missing_resource(&key.to_ref(None), &labels)?,
    };
    let covers = covers_for(exceptions, policy, live, operator_namespace, labels);
    let context = DecisionContext { covers: &covers, ..*context };
    let sources: Vec<String> = result.findings.iter().map(|f| f.source.clone()).collect();
    let drifts: Vec<(String, crate::engine::drift::Drift)> =
        result.findings.into_iter().flat_map(|f| f.drifts.into_iter().map(move |d| (f.source.clone(), d))).collect();
    let plain: Vec<_> = drifts.iter().map(|(_, d)| d.clone()).collect();
    let actions = decide_for(policy, &compiled.rules, &context, &plain);
    let decided: Vec<DecidedDrift> = drifts
        .into_iter()
        .zip(actions)
        .map(|((source, drift), action)| DecidedDrift { source, drift, action })
        .collect();
    let previous = policy.targets().get(key);
    // An escalation is new unless it was decided before, in this run or (the ledger says)
    // in an earlier one.
    let is_new = |d: &DecidedDrift| {
        !previous.is_some_and(|p| p.drifts.iter().any(|old| old.drift.path == d.drift.path && old.action == d.action))
            && !announced.is_some_and(|known| known.contains(&fingerprint(&d.drift.path, &d.action)))
    };
    // The drifts first seen now: no drift of the same path before.
    let detected_drifts: Vec<DecidedDrift> = decided
        .iter()
        .filter(|d| !previous.is_some_and(|p| p.drifts.iter().any(|old| old.drift.path == d.drift.path)))
        .cloned()
        .collect();
    let detected: Vec<_> = detected_drifts.iter().map(|d| d.drift.class).collect();
    let escalated: Vec<DecidedDrift> = decided
        .iter()
        .filter(|d| matches!(d.action, Action::Escalate { .. } | Action::Audit) && is_new(d))
        .cloned()
        .collect();
    // Drift on a field driftwarden fixed within the flapping window came back.
    let object_id = key.to_string();
    let window = compiled.rules.flapping.1;
    let recurred: Vec<String> = detected_drifts
        .iter()
        .filter(|d| policy.history.count(&object_id, &d.drift.path, window, now) > 0)
        .map(|d| d.drift.path.clone())
        .collect();
    let owner = (!decided.is_empty()).then(|| owner_of(policy, key, live, labels));
    let news = (!detected.is_empty() || !escalated.is_empty()).then(|| {
        let version = live
            .and_then(|o| o.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .unwrap_or("missing")
            .to_string();
        News {
            policy: policy.key.clone(),
            version,
            owner: owner.clone(),
            detected,
            detected_drifts,
            recurred,
            escalated,
        }
    });
    let fix_paths: Vec<String> =
        decided.iter().filter(|d| d.action == Action::Remediate).map(|d| d.drift.path.clone()).collect();
    let state = TargetState {
        uid: live.and_then(|o| o.pointer("/metadata/uid")).and_then(Value::as_str).map(str::to_string),
        sources,
        first_seen: if decided.is_empty() { None } else { previous.and_then(|p| p.first_seen).or(Some(now)) },
        attempts: if decided.is_empty() { 0 } else { previous.map_or(0, |p| p.attempts) },
        failure: if decided.is_empty() { None } else { previous.and_then(|p| p.failure.clone()) },
        retry_at: if decided.is_empty() { None } else { previous.and_then(|p| p.retry_at) },
        opted_out: live.is_some_and(opted_out),
        owner,
        drifts: decided,
    };
    let backing_off = state.retry_at.is_some_and(|at| at > now);
    let fix = (!fix_paths.is_empty() && !backing_off).then(|| {
        let fixing = state.drifts.iter().filter(|d| d.action == Action::Remediate).map(|d| &d.drift);
        FixPart {
            policy: policy.key.clone(),
            paths: fix_paths,
            class: riskiest(fixing.clone()).unwrap_or(crate::api::RemediationClass::Spec),
            first_seen: state.first_seen,
            campaign: None,
            desired: fixing.map(|d| (d.path.clone(), d.desired.clone())).collect(),
            owner: state.owner.clone(),
        }
    });
    Some(Evaluated { state, news, fix })
}

/// The team accountable for `key` under `policy`: the object's owner labels, then its
/// namespace's, then the policy's `escalation.owner`, else `unowned`.
fn owner_of(
    policy: &PolicyEntry,
    key: &ObjectKey,
    live: Option<&Value>,
    labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
) -> String {
    let namespace = key.namespace.as_deref().and_then(labels);
    crate::engine::campaign::owner_of_object(&policy.owner_labels, live, namespace.as_ref(), policy.owner.as_ref()).team
}

/// What a decision about one object reads besides the policy.
#[derive(Clone, Copy)]
pub(super) struct DecisionContext<'a> {
    pub(super) key: &'a ObjectKey,
    pub(super) live: Option<&'a Value>,
    pub(super) covers: &'a [ExceptionCover],
    pub(super) own_manager: &'a str,
    /// The installation's appliers (`--appliers`), for policies that name none.
    pub(super) appliers: &'a [String],
    /// How many fixes the policy applied in the last minute.
    pub(super) remediations_last_minute: u32,
    pub(super) now: Timestamp,
}

/// Decides the drifts of one object for `policy` under `rules`: the policy's own, or a
/// campaign's, which fix other classes but keep the policy's counters and guards.
pub(super) fn decide_for(
    policy: &PolicyEntry,
    rules: &RemediationRules,
    context: &DecisionContext<'_>,
    drifts: &[crate::engine::drift::Drift],
) -> Vec<Action> {
    let DecisionContext { key, live, covers, own_manager, appliers, remediations_last_minute, now } = *context;
    let (targets, drifted) = policy.counts_with(key, !drifts.is_empty());
    let (_, window) = rules.flapping;
    let object_id = key.to_string();
    let fixes_of = |path: &str| policy.history.count(&object_id, path, window, now);
    let input = DecisionInput {
        rules,
        opted_out: live.is_some_and(opted_out),
        exceptions: covers,
        counters: Counters { targets, drifted, remediations_last_minute, fixes_of: &fixes_of },
        appliers: rules.appliers.as_deref().unwrap_or(appliers),
        own_manager,
        now,
    };
    decide(&input, drifts)
}

/// The active exceptions that may and do select `live` for `policy`: one outside the
/// operator's namespace only when the policy honours those (see
/// [`ExceptionEntry::applies_to`]). A missing object has none: an exception covers drift of
/// what exists.
pub(super) fn covers_for(
    exceptions: &BTreeMap<(String, String), Result<ExceptionEntry, ExceptionProblem>>,
    policy: &PolicyEntry,
    live: Option<&Value>,
    operator_namespace: &str,
    labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
) -> Vec<ExceptionCover> {
    let Some(object) = live else { return Vec::new() };
    exceptions
        .values()
        .filter_map(|e| e.as_ref().ok())
        .filter(|e| e.applies_to(policy.namespaced_exceptions, operator_namespace))
        .filter(|e| e.selects(object, operator_namespace, labels))
        .map(|e| e.cover.clone())
        .collect()
}
