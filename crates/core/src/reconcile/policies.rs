//! What the operator remembers about each DriftPolicy and ClusterDriftPolicy between
//! events ([`PolicyEntry`]): its compiled spec, each governed object and what was decided
//! about its drifts ([`TargetState`]), the fix rate and history, and the status it derives
//! from that memory ([`PolicyEntry::status`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::{ConditionSpec, ConditionStatus, set_condition};
use crate::api::policy::{
    DriftStatus, MAX_DRIFTS, MAX_POLICY_FIXES, MAX_POLICY_HISTORY, Mode, PolicyFix, PolicyHistoryPoint, PolicyStatus,
};
use crate::api::reasons::{self, types};
use crate::engine::backoff::Backoff;
use crate::engine::classify::riskiest;
use crate::engine::decide::{Action, FixHistory, RateWindow, RemediationRules};
use crate::engine::drift::Drift;
use crate::engine::evaluate::CompiledPolicy;
use crate::engine::history;
use crate::keys::{ObjectKey, PolicyKey};
use crate::notification::Sink;

/// How long a failed write of a policy's status or of a PolicyReport waits before the next
/// try: 200 ms, 400 ms … up to 30 s.
pub const STATUS_BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));

/// The shortest time between two points of a policy's history.
pub const HISTORY_INTERVAL: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// One drift and what was decided about it.
#[derive(Clone, Debug, PartialEq)]
pub struct DecidedDrift {
    pub source: String,
    pub drift: Drift,
    pub action: Action,
}

/// One governed object.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetState {
    pub uid: Option<String>,
    /// The parts of the policy that govern the object (`baseline <name>`,
    /// `resource <kind> <name>`), compliant or not.
    pub sources: Vec<String>,
    pub drifts: Vec<DecidedDrift>,
    /// When the current drift was first seen; `None` while compliant.
    pub first_seen: Option<Timestamp>,
    /// Fixes attempted for the current drift.
    pub attempts: u32,
    /// The object carries `driftwarden.dev/enforce: disabled`.
    pub opted_out: bool,
    /// Why the last fix failed, shown until the drift goes away.
    pub failure: Option<String>,
    /// The accountable owner (team) while the object drifts: its owner labels, then its
    /// namespace's, then the policy's `escalation.owner`, else `unowned`.
    pub owner: Option<String>,
    /// When a failed fix may be tried again.
    pub retry_at: Option<Timestamp>,
}

impl TargetState {
    pub fn is_drifted(&self) -> bool {
        self.drifts.iter().any(|d| !matches!(d.action, Action::Excepted { .. }))
    }

    fn is_escalated(&self) -> bool {
        self.failure.is_some()
            || self.drifts.iter().any(|d| matches!(d.action, Action::Escalate { .. } | Action::Audit))
    }

    fn is_excepted(&self) -> bool {
        self.drifts.iter().any(|d| matches!(d.action, Action::Excepted { .. }))
    }
}

/// A sink that receives the notifications about some owners' targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub owners: Vec<String>,
    pub sink: Sink,
}

impl PolicyEntry {
    /// The sinks a notification of type `kind` about a target of `owner` goes to: the
    /// policy's own, and the routes of that owner, each only if it is sent that type.
    pub fn sinks_for(&self, kind: crate::notification::NotificationType, owner: Option<&str>) -> Vec<Sink> {
        let routed = self
            .routes
            .iter()
            .filter(|route| owner.is_some_and(|owner| route.owners.iter().any(|o| o == owner)))
            .map(|route| &route.sink);
        let mut sinks: Vec<Sink> = Vec::new();
        for sink in self.sink.iter().chain(routed) {
            if sink.spec.sends(kind) && !sinks.iter().any(|s| s.key() == sink.key()) {
                sinks.push(sink.clone());
            }
        }
        sinks
    }

    /// Every sink the policy names: its own and its routes'.
    pub fn all_sinks(&self) -> impl Iterator<Item = &Sink> {
        self.sink.iter().chain(self.routes.iter().map(|route| &route.sink))
    }
}

/// An object whose evaluation against the policy panicked (a bug, caught).
#[derive(Clone, Debug, PartialEq)]
pub struct Panicked {
    /// The panic's message.
    pub message: String,
    /// How many times in a row it panicked.
    pub failures: u32,
    /// The object's resourceVersion when it did (`None`: missing).
    pub version: Option<String>,
    /// Until when the same version of the object is left alone.
    pub retry_at: Timestamp,
}

/// Why a policy is or is not ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Every kind it names is watched and synced.
    Ready,
    /// Some kinds are still being listed.
    Syncing,
    /// The policy itself is wrong; nothing happens until it changes.
    Invalid(String),
    /// A kind it names is not served.
    NotServed(String),
    /// The operator may not watch a kind it names.
    Forbidden(String),
    /// Evaluating an object panicked (a bug, caught); the message names the object.
    InternalError(String),
}

/// One policy.
#[derive(Debug)]
pub struct PolicyEntry {
    pub key: PolicyKey,
    /// The policy's uid, for Events that `kubectl describe` finds by it.
    pub uid: Option<String>,
    pub generation: Option<i64>,
    pub compiled: Result<CompiledPolicy, String>,
    /// The Ready reason while the policy is invalid: what its first problem is.
    pub invalid_reason: &'static str,
    /// Why the last fix for this policy was refused for lack of permission (the verb and
    /// resource); cleared by the next fix the server does not refuse so.
    pub write_denied: Option<String>,
    /// What the policy decided about each object it governs; changed only through
    /// [`Self::set_target`], [`Self::remove_target`], [`Self::update_target`] and
    /// [`Self::clear_targets`], which keep [`Self::drifted`] counted.
    targets: BTreeMap<ObjectKey, TargetState>,
    /// How many of `targets` drift now, kept as they change: every decision reads it, so
    /// it is never counted again over all targets.
    drifted_targets: u32,
    pub rate: RateWindow,
    pub history: FixHistory,
    pub remediated: u32,
    pub last_remediation: Option<Timestamp>,
    /// The most recent fixes with their evidence (at most [`MAX_POLICY_FIXES`]).
    pub fixes: VecDeque<PolicyFix>,
    /// The counts over time, as the status shows them.
    pub history_points: Vec<PolicyHistoryPoint>,
    pub conditions: Vec<Condition>,
    /// The status last written, to skip writes that change nothing.
    pub written: Option<PolicyStatus>,
    pub dirty: bool,
    /// Failed status writes in a row, and when the next may be tried.
    pub status_failures: u32,
    pub status_retry_at: Option<Timestamp>,
    /// While a whole kind is re-evaluated: whether each object drifts, known before any
    /// is decided, so the circuit breaker sees the whole picture and not the order. Only
    /// the objects whose drift differs from what `targets` say (new ones, and those whose
    /// drift came or went) are kept: at 100,000 objects a copy of every key would cost
    /// tens of MiB for the length of the batch.
    provisional: BTreeMap<ObjectKey, bool>,
    /// The `(targets, drifted)` counts of the re-evaluation in progress.
    pub batch_counts: Option<(u32, u32)>,
    /// Where notifications go, from `spec.escalation.notify`.
    pub sink: Option<Sink>,
    /// Owners' own sinks, from `spec.escalation.routes`.
    pub routes: Vec<Route>,
    /// The owner of targets no label names, from `spec.escalation.owner`.
    pub owner: Option<crate::api::Owner>,
    /// Label keys that name a target's owner, from `spec.escalation.ownerLabels`.
    pub owner_labels: Vec<String>,
    /// Objects whose evaluation panicked, left alone until their backoff is over or they
    /// change; each goes when it is evaluated without panicking or is no longer governed.
    pub panicked: BTreeMap<ObjectKey, Panicked>,
    /// Whether DriftExceptions outside the operator's namespace may cover this policy's
    /// drift: always for a DriftPolicy, for a ClusterDriftPolicy only with
    /// `spec.exceptions.allowNamespaced`.
    pub namespaced_exceptions: bool,
    /// The ServiceAccount the policy's fixes are made as; `None`: the operator itself.
    pub acts_as: Option<crate::api::ServiceAccountRef>,
}

impl PolicyEntry {
    /// A new entry; exceptions outside the operator's namespace cover a DriftPolicy's drift,
    /// and a ClusterDriftPolicy's only once [`Self::namespaced_exceptions`] is set from its spec.
    pub fn new(key: PolicyKey, generation: Option<i64>, compiled: Result<CompiledPolicy, String>) -> Self {
        let key_namespaced = key.namespace.is_some();
        Self {
            key,
            uid: None,
            generation,
            compiled,
            invalid_reason: reasons::INVALID_SPEC,
            write_denied: None,
            targets: BTreeMap::new(),
            drifted_targets: 0,
            rate: RateWindow::default(),
            history: FixHistory::default(),
            remediated: 0,
            last_remediation: None,
            fixes: VecDeque::new(),
            history_points: Vec::new(),
            conditions: Vec::new(),
            written: None,
            dirty: true,
            status_failures: 0,
            status_retry_at: None,
            provisional: BTreeMap::new(),
            batch_counts: None,
            sink: None,
            routes: Vec::new(),
            owner: None,
            owner_labels: Vec::new(),
            panicked: BTreeMap::new(),
            namespaced_exceptions: key_namespaced,
            acts_as: None,
        }
    }

    /// Whether `key` is left alone now: its evaluation panicked, its backoff is not over
    /// and the object did not change since (`live` is what the cache holds).
    pub fn leaves_alone(&self, key: &ObjectKey, live: Option<&serde_json::Value>, now: Timestamp) -> bool {
        let Some(panicked) = self.panicked.get(key) else { return false };
        let version = live.and_then(|o| o.pointer("/metadata/resourceVersion")).and_then(serde_json::Value::as_str);
        panicked.retry_at > now && panicked.version.as_deref() == version
    }

    /// Why the policy is stalled by a caught panic, naming the first object it hit.
    pub fn internal_error(&self) -> Option<String> {
        let (key, first) = self.panicked.iter().next()?;
        let others = match self.panicked.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other object)".to_string(),
            n => format!(" (and {n} other objects)"),
        };
        Some(format!("evaluating {key} failed inside driftwarden: {}{others}", first.message))
    }

    /// Keeps the record of a fix, dropping the oldest beyond [`MAX_POLICY_FIXES`].
    pub fn record_fix(&mut self, fix: PolicyFix) {
        self.fixes.push_back(fix);
        while self.fixes.len() > MAX_POLICY_FIXES {
            self.fixes.pop_front();
        }
    }

    /// Records a failed status write: the next try waits twice as long as the last
    /// ([`STATUS_BACKOFF`]).
    pub fn status_failed(&mut self, now: Timestamp) {
        self.status_failures += 1;
        self.status_retry_at = Some(STATUS_BACKOFF.retry_at(self.status_failures, now));
        self.dirty = true;
    }

    /// Records a successful status write.
    pub fn status_written(&mut self, status: PolicyStatus) {
        self.status_failures = 0;
        self.status_retry_at = None;
        self.written = Some(status);
    }

    /// The decision rules, when the policy is valid.
    pub fn rules(&self) -> Option<&RemediationRules> {
        self.compiled.as_ref().ok().map(|c| &c.rules)
    }

    /// Whether the policy's circuit breaker is open now: it enforces, and more of its
    /// targets drift than its threshold allows (see [`RemediationRules::breaker_open`]).
    /// `Some((drifted percent, threshold))` when open.
    pub fn circuit_open(&self) -> Option<(u32, u8)> {
        let rules = self.rules().filter(|r| r.mode == Mode::Enforce)?;
        let targets = u32::try_from(self.targets.len()).unwrap_or(u32::MAX);
        rules.breaker_open(targets, self.drifted())
    }

    /// Records, while a whole kind is re-evaluated, whether `key` drifts, before anything
    /// about it is decided.
    pub fn provisionally(&mut self, key: &ObjectKey, drifts: bool) {
        if self.targets.get(key).map(TargetState::is_drifted) != Some(drifts) {
            self.provisional.insert(key.clone(), drifts);
        }
    }

    /// Fixes the counts of a whole-kind re-evaluation from what [`Self::provisionally`]
    /// recorded, once, so that each object's decision reads them without counting again.
    pub fn freeze_batch_counts(&mut self) {
        let added = self.provisional.keys().filter(|key| !self.targets.contains_key(*key)).count();
        let mut drifted = i64::from(self.drifted_targets);
        for (key, drifts) in &self.provisional {
            let drifted_before = self.targets.get(key).is_some_and(TargetState::is_drifted);
            drifted += i64::from(*drifts) - i64::from(drifted_before);
        }
        let targets = self.targets.len() + added;
        self.batch_counts = Some((targets as u32, drifted.max(0) as u32));
    }

    /// Ends a whole-kind re-evaluation: decisions count the targets as they are again.
    pub fn end_batch(&mut self) {
        self.provisional.clear();
        self.batch_counts = None;
    }

    /// How many targets there are and how many drift, with `key` drifting or not as
    /// `drifts_now` says. During a whole-kind re-evaluation, the counts frozen for it.
    pub fn counts_with(&self, key: &ObjectKey, drifts_now: bool) -> (u32, u32) {
        if let Some(counts) = self.batch_counts {
            return counts;
        }
        let was_drifted = self.targets.get(key).is_some_and(TargetState::is_drifted);
        let targets = self.targets.len() as u32 + u32::from(!self.targets.contains_key(key));
        (targets, self.drifted() - u32::from(was_drifted) + u32::from(drifts_now))
    }

    /// How many targets drift now (excepted drift does not count).
    pub fn drifted(&self) -> u32 {
        self.drifted_targets
    }

    /// What the policy decided about each object it governs.
    pub fn targets(&self) -> &BTreeMap<ObjectKey, TargetState> {
        &self.targets
    }

    /// Records what was decided about `key`; whether that changed anything.
    pub fn set_target(&mut self, key: &ObjectKey, state: TargetState) -> bool {
        let drifts = state.is_drifted();
        if self.targets.get(key) == Some(&state) {
            return false;
        }
        let drifted_before = self.targets.insert(key.clone(), state).is_some_and(|t| t.is_drifted());
        self.recount(drifted_before, drifts);
        true
    }

    /// Forgets `key`: gone, or no longer governed.
    pub fn remove_target(&mut self, key: &ObjectKey) -> Option<TargetState> {
        let removed = self.targets.remove(key)?;
        self.recount(removed.is_drifted(), false);
        Some(removed)
    }

    /// Changes what is kept about `key` (a fix's attempts, backoff and failure).
    pub fn update_target(&mut self, key: &ObjectKey, change: impl FnOnce(&mut TargetState)) {
        let Some(target) = self.targets.get_mut(key) else { return };
        let drifted_before = target.is_drifted();
        change(target);
        let drifts = target.is_drifted();
        self.recount(drifted_before, drifts);
    }

    /// Forgets every target (the policy became invalid).
    pub fn clear_targets(&mut self) {
        self.targets.clear();
        self.drifted_targets = 0;
    }

    fn recount(&mut self, drifted_before: bool, drifts: bool) {
        self.drifted_targets = self.drifted_targets - u32::from(drifted_before) + u32::from(drifts);
    }

    /// The status to write, with conditions set through the one condition setter.
    pub fn status(&mut self, readiness: &Readiness, now: Timestamp) -> PolicyStatus {
        let targets = self.targets.len() as u32;
        let drifted = self.drifted();
        let escalated = self.targets.values().filter(|t| t.is_escalated()).count() as u32;
        let excepted = self.targets.values().filter(|t| t.is_excepted()).count() as u32;
        let opted_out = self.targets.values().filter(|t| t.opted_out).count() as u32;
        let time = Time(now);
        let generation = self.generation;
        let mut set = |spec: ConditionSpec| {
            set_condition(&mut self.conditions, spec, generation, time.clone());
        };
        let (ready, reason, message): (bool, &'static str, String) = match readiness {
            Readiness::Ready => (true, reasons::RECONCILED, format!("governing {targets} objects")),
            Readiness::Syncing => (false, reasons::PROGRESSING, "listing the objects the policy names".into()),
            Readiness::Invalid(problem) => (false, self.invalid_reason, problem.clone()),
            Readiness::NotServed(problem) => (false, reasons::KIND_NOT_SERVED, problem.clone()),
            Readiness::Forbidden(problem) => (false, reasons::FORBIDDEN, problem.clone()),
            Readiness::InternalError(problem) => (false, reasons::INTERNAL_ERROR, problem.clone()),
        };
        set(ConditionSpec::new(types::READY, ready.into(), reason, message.clone()));
        let stalled =
            matches!(readiness, Readiness::Invalid(_) | Readiness::Forbidden(_) | Readiness::InternalError(_));
        let reconciling = matches!(readiness, Readiness::Syncing | Readiness::NotServed(_));
        set(ConditionSpec::new(
            types::RECONCILING,
            reconciling.into(),
            if reconciling { reasons::PROGRESSING } else { reasons::RECONCILED },
            if reconciling { message.clone() } else { String::new() },
        ));
        set(ConditionSpec::new(
            types::STALLED,
            stalled.into(),
            if stalled { reason } else { reasons::RECONCILED },
            if stalled { message.clone() } else { String::new() },
        ));
        let (compliant_reason, compliant_message) = match (targets, drifted) {
            (0, _) => (reasons::NO_TARGETS, "no object matches the policy".to_string()),
            (_, 0) => (reasons::ALL_TARGETS_COMPLIANT, format!("all {targets} targets hold their templates")),
            _ => (reasons::DRIFT_DETECTED, format!("{drifted} of {targets} targets drift")),
        };
        // Compliance is known only once every object the policy names was listed.
        let compliant = match readiness {
            Readiness::Ready => ConditionSpec::new(
                types::COMPLIANT,
                ConditionStatus::from(drifted == 0),
                compliant_reason,
                compliant_message,
            ),
            _ => ConditionSpec::new(
                types::COMPLIANT,
                ConditionStatus::Unknown,
                reason,
                format!("not evaluated: {message}"),
            ),
        };
        set(compliant);
        set(ConditionSpec::new(
            types::ESCALATED,
            ConditionStatus::from(escalated > 0),
            if escalated > 0 { reasons::DRIFT_ESCALATED } else { reasons::NOTHING_ESCALATED },
            if escalated > 0 { format!("{escalated} targets need their owner") } else { String::new() },
        ));

        // Counts are history only once every object the policy names was listed.
        if *readiness == Readiness::Ready {
            self.history_points = history::record(
                &self.history_points,
                PolicyHistoryPoint { time: Time(now), targets, drifted, escalated, remediated: self.remediated },
                HISTORY_INTERVAL,
                MAX_POLICY_HISTORY,
            );
        }
        let drifts = self
            .targets
            .iter()
            .filter(|(_, t)| !t.drifts.is_empty())
            .take(MAX_DRIFTS)
            .map(|(key, target)| drift_status(key, target))
            .collect();
        PolicyStatus {
            observed_generation: self.generation,
            conditions: self.conditions.clone(),
            targets,
            compliant: targets - drifted,
            drifted,
            remediated: self.remediated,
            escalated,
            excepted,
            opted_out,
            drifts,
            last_remediation_time: self.last_remediation.map(|t| t.to_string()),
            fixes: self.fixes.iter().cloned().collect(),
            history: self.history_points.clone(),
        }
    }
}

/// Who a policy's fixes are made as, read from the policy object (`spec` is read apart from
/// the spec the policies share, as each kind has its own field): a DriftPolicy's
/// `spec.serviceAccountName` in its own namespace, else `default` (the operator's
/// `--default-service-account`) there, else nobody when `require`d; a ClusterDriftPolicy's
/// `spec.serviceAccountRef`. `Ok(None)`: the operator itself. An error carries the Ready
/// reason and what is wrong.
pub fn acting_account(
    object: &serde_json::Value,
    namespace: Option<&str>,
    default: Option<&str>,
    require: bool,
) -> Result<Option<crate::api::ServiceAccountRef>, (&'static str, String)> {
    use crate::api::ServiceAccountRef;
    let invalid = |message: String| (reasons::INVALID_SPEC, message);
    let field = |name: &str| object.pointer(&format!("/spec/{name}")).filter(|v| !v.is_null());
    let Some(namespace) = namespace else {
        let Some(value) = field("serviceAccountRef") else { return Ok(None) };
        let account: ServiceAccountRef =
            serde_json::from_value(value.clone()).map_err(|err| invalid(format!("spec.serviceAccountRef: {err}")))?;
        account.check("spec.serviceAccountRef").map_err(invalid)?;
        return Ok(Some(account));
    };
    if let Some(value) = field("serviceAccountName") {
        let Some(name) = value.as_str() else {
            return Err(invalid(format!("spec.serviceAccountName: {value} is not a string")));
        };
        let account = ServiceAccountRef::new(namespace, name);
        account.check("spec.serviceAccountName").map_err(invalid)?;
        return Ok(Some(account));
    }
    match (default, require) {
        (Some(name), _) => Ok(Some(ServiceAccountRef::new(namespace, name))),
        (None, true) => Err((
            reasons::SERVICE_ACCOUNT_REQUIRED,
            format!(
                "the policy names no ServiceAccount to make its fixes as, and this installation requires one \
                 (--require-service-account, no --default-service-account): set spec.serviceAccountName to a \
                 ServiceAccount of namespace {namespace} allowed to write what the policy fixes"
            ),
        )),
        (None, false) => Ok(None),
    }
}

fn drift_status(key: &ObjectKey, target: &TargetState) -> DriftStatus {
    let mut paths: Vec<String> = target.drifts.iter().map(|d| d.drift.path.clone()).collect();
    paths.dedup();
    // The action shown is the one that needs the most attention.
    let shown = target
        .drifts
        .iter()
        .max_by_key(|d| match d.action {
            Action::Escalate { .. } | Action::Audit => 4,
            Action::Defer { .. } => 3,
            Action::Remediate => 2,
            Action::Excepted { .. } => 1,
        })
        .map(|d| &d.action);
    let reason = match (&target.failure, shown) {
        (Some(failure), _) => Some(failure.clone()),
        (None, Some(Action::Escalate { reason })) => Some(reason.to_string()),
        (None, Some(Action::Excepted { exception })) => Some(format!("covered by DriftException {exception}")),
        (None, Some(Action::Defer { reason })) => Some(reason.to_string()),
        _ => None,
    };
    let attribution = target.drifts.iter().find_map(|d| d.drift.attribution.as_ref());
    DriftStatus {
        target: key.to_ref(target.uid.clone()),
        paths,
        class: riskiest(target.drifts.iter().map(|d| &d.drift)),
        action: if target.failure.is_some() {
            "Escalate".to_string()
        } else {
            shown.map_or("", Action::name).to_string()
        },
        reason,
        first_seen: target.first_seen.map(|t| t.to_string()),
        attempts: target.attempts,
        changed_by: attribution.map(|a| a.manager.clone()),
        changed_at: attribution.and_then(|a| a.time.clone()),
        owner: target.owner.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::ServiceAccountRef;

    #[test]
    fn a_policy_acts_as_its_service_account_the_default_or_is_refused_when_one_is_required() {
        let policy = |spec: serde_json::Value| json!({"kind": "DriftPolicy", "spec": spec});
        let named = policy(json!({"serviceAccountName": "fixer"}));
        let shop = |name: &str| Ok(Some(ServiceAccountRef::new("shop", name)));
        assert_eq!(acting_account(&named, Some("shop"), None, true), shop("fixer"));
        assert_eq!(acting_account(&named, Some("shop"), Some("fallback"), false), shop("fixer"));
        let unnamed = policy(json!({}));
        assert_eq!(acting_account(&unnamed, Some("shop"), Some("fallback"), true), shop("fallback"));
        assert_eq!(acting_account(&unnamed, Some("shop"), None, false), Ok(None), "as the operator, as before");
        let (reason, message) = acting_account(&unnamed, Some("shop"), None, true).unwrap_err();
        assert_eq!(reason, reasons::SERVICE_ACCOUNT_REQUIRED);
        assert!(message.contains("set spec.serviceAccountName") && message.contains("namespace shop"), "{message}");
        for (bad, says) in [
            (json!({"serviceAccountName": "Fixer"}), "spec.serviceAccountName: \"Fixer\" is not a ServiceAccount name"),
            (json!({"serviceAccountName": 7}), "spec.serviceAccountName: 7 is not a string"),
        ] {
            let (reason, message) = acting_account(&policy(bad), Some("shop"), None, false).unwrap_err();
            assert_eq!(reason, reasons::INVALID_SPEC);
            assert!(message.contains(says), "{message}");
        }
        // A ClusterDriftPolicy names namespace and name, and acts as the operator without.
        let cluster = |spec| json!({"kind": "ClusterDriftPolicy", "spec": spec});
        let platform = cluster(json!({"serviceAccountRef": {"namespace": "platform", "name": "fixer"}}));
        assert_eq!(
            acting_account(&platform, None, Some("fallback"), true),
            Ok(Some(ServiceAccountRef::new("platform", "fixer")))
        );
        assert_eq!(acting_account(&cluster(json!({})), None, Some("fallback"), true), Ok(None));
        let (_, message) =
            acting_account(&cluster(json!({"serviceAccountRef": {"name": "fixer"}})), None, None, false).unwrap_err();
        assert!(message.starts_with("spec.serviceAccountRef: missing field `namespace`"), "{message}");
        let (_, message) = acting_account(
            &cluster(json!({"serviceAccountRef": {"namespace": "a.b", "name": "fixer"}})),
            None,
            None,
            false,
        )
        .unwrap_err();
        assert!(message.contains("namespace \"a.b\" is not a namespace name"), "{message}");
    }

    fn fix(n: i64) -> PolicyFix {
        use crate::api::finding::{Evidence, EvidenceAction, EvidenceResult};
        PolicyFix {
            target: crate::api::ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: None,
                name: format!("cm-{n}"),
                uid: None,
            },
            paths: vec!["/data/mode".into()],
            owner: None,
            evidence: Evidence {
                time: Time(Timestamp::from_second(n).unwrap()),
                action: EvidenceAction::Verified,
                actor: "driftwarden".into(),
                resource_version: Some(n.to_string()),
                desired_hash: None,
                live_hash: None,
                result: EvidenceResult::Succeeded,
                message: None,
                class: None,
                fingerprint_scheme: None,
            },
        }
    }

    #[test]
    fn a_policy_keeps_its_latest_fixes_and_records_history_only_once_ready() {
        let key = PolicyKey { namespace: None, name: "p".into() };
        let mut entry = PolicyEntry::new(key, Some(1), Err("not compiled in this test".into()));
        for n in 1..=25 {
            entry.record_fix(fix(n));
        }
        let kept: Vec<String> = entry.fixes.iter().map(|f| f.target.name.clone()).collect();
        assert_eq!(kept.len(), MAX_POLICY_FIXES);
        assert_eq!((kept[0].as_str(), kept[19].as_str()), ("cm-6", "cm-25"), "the oldest go first");
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let syncing = entry.status(&Readiness::Syncing, now);
        assert!(syncing.history.is_empty(), "counts are not history before every object was listed");
        assert_eq!(syncing.fixes.len(), MAX_POLICY_FIXES);
        let ready = entry.status(&Readiness::Ready, now);
        assert_eq!(ready.history.len(), 1);
        assert_eq!(
            entry.status(&Readiness::Ready, now + jiff::SignedDuration::from_hours(2)).history.len(),
            1,
            "the same counts add no point"
        );
    }
}
