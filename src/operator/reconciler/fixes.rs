//! Fixes: the apply body (every governed field of every policy that governs the object;
//! only the decided paths take their desired value), the fix as an effect, and its outcome:
//! a verified fix is counted, recorded for flapping and announced; a failed one is retried
//! after a backoff; a forbidden one makes the policy `Ready=False`.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::effect::EventType;
use super::{Effect, FIX_BACKOFF, FixPart, RECONCILE, Reconciler};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::finding::{Evidence, EvidenceAction, EvidenceResult};
use crate::api::policy::{MAX_PATHS, PolicyFix};
use crate::api::{RemediationClass, ServiceAccountRef, reasons};
use crate::engine::FingerprintKey;
use crate::engine::campaign::evidence::evidence_hashes;
use crate::engine::campaign::lifecycle::{FINGERPRINT_SCHEME, OPERATOR_ACTOR};
use crate::engine::patch::{apply_body, union_into};
use crate::keys::ObjectKey;
use crate::notification::NotificationType;
use crate::operator::metrics::RemediationResult;
use crate::operator::remediate::{Expectation, Fix, FixResult};

impl Reconciler {
    /// Builds the apply body (every governed field of every policy that governs the
    /// object; only the decided paths take their desired value) and starts the fix.
    pub(super) fn start_fix(&mut self, key: &ObjectKey, to_fix: Vec<FixPart>) {
        // A fix is made as one identity, so that each is authorized as whoever asked for
        // it: parts to be made as another wait for the object's next fix, which the end of
        // this one starts.
        let acting_as = to_fix.first().and_then(|part| self.fixing_account(part));
        let (to_fix, later): (Vec<FixPart>, Vec<FixPart>) =
            to_fix.into_iter().partition(|part| self.fixing_account(part) == acting_as);
        if !later.is_empty() {
            debug!(object = %key, waiting = later.len(), "parts made as another identity wait for the next fix");
        }
        let Some(kind) = self.kinds.get(&key.kind) else { return };
        let Some((resource, namespaced)) = kind.resource.clone() else { return };
        let live = kind.cache.get(key);
        let live = live.as_ref();
        let creates = live.is_none();
        let namespaces = &self.namespaces;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let mut body: Option<Value> = None;
        let mut expectations = Vec::new();
        for policy in self.policies.values() {
            let Ok(compiled) = &policy.compiled else { continue };
            let fixing: BTreeSet<String> = to_fix
                .iter()
                .filter(|part| part.policy == policy.key)
                .flat_map(|part| part.paths.iter().cloned())
                .collect();
            let governed = match live {
                Some(object) => compiled.templates_for(object, &labels),
                None => {
                    compiled.resources().find(|(target, _)| &ObjectKey::from_ref(target) == key).map(|(_, template)| {
                        (
                            vec![(String::new(), template)],
                            compiled.compare_rules(
                                template,
                                &crate::engine::selector::MatchScope {
                                    policy_namespace: compiled.namespace.as_deref(),
                                    namespace_labels: &labels,
                                },
                            ),
                        )
                    })
                }
            };
            let Some((templates, rules)) = governed else { continue };
            // A missing object is created whole; an existing one gets exactly the decided paths.
            let creating = live.is_none() && !fixing.is_empty();
            for (_, template) in templates {
                let part = apply_body(live, template, &rules, &|d| creating || fixing.contains(&d.path));
                match body.as_mut() {
                    Some(body) => union_into(body, part.as_value()),
                    None => body = Some(part.into_value()),
                }
                if !fixing.is_empty() {
                    let paths = (!creating).then(|| fixing.clone());
                    expectations.push(Expectation { template: template.clone(), rules: rules.clone(), paths });
                }
            }
        }
        let Some(body) = body else { return };
        let now = self.now;
        for part in &to_fix {
            if let Some(policy) = self.policies.get_mut(&part.policy) {
                policy.rate.record(now);
                self.ledger.counted(&part.policy, now);
            }
        }
        let fix = Fix {
            key: key.clone(),
            resource,
            namespaced,
            body,
            expectations,
            field_manager: self.settings.field_manager.clone(),
            creates,
            acting_as,
        };
        let recreation = self.recreation(key, &to_fix);
        self.in_flight.insert(key.clone());
        let attempt = to_fix
            .iter()
            .filter_map(|part| self.policies.get(&part.policy)?.targets().get(key))
            .map(|target| target.attempts)
            .max()
            .unwrap_or(0)
            + 1;
        self.effects.push(Effect::Fix { fix, parts: to_fix, recreation, attempt, started: now });
    }

    /// The ServiceAccount a part of a fix is made as (`None`: the operator): a DriftPolicy's
    /// own, always; for a ClusterDriftPolicy, the campaign's that started the fix, else the
    /// policy's.
    pub(super) fn fixing_account(&self, part: &FixPart) -> Option<ServiceAccountRef> {
        let policy = self.policies.get(&part.policy)?;
        if part.policy.namespace.is_some() {
            return policy.acts_as.clone();
        }
        part.campaign
            .as_ref()
            .and_then(|fix| self.campaigns.get(&fix.campaign))
            .and_then(|campaign| campaign.spec.as_ref().ok()?.service_account_ref.clone())
            .or_else(|| policy.acts_as.clone())
    }

    pub(super) fn on_fixed(
        &mut self,
        key: ObjectKey,
        fixed: Vec<FixPart>,
        result: FixResult,
        denied: Option<String>,
        started: Timestamp,
    ) {
        self.in_flight.remove(&key);
        if !matches!(result, FixResult::Verified { .. }) {
            let category = if denied.is_some() { reasons::FORBIDDEN } else { result.category() };
            self.metrics.reconcile_error(RECONCILE, category);
        }
        if let FixResult::Verified { fresh, .. } = &result
            && let Some(kind) = self.kinds.get_mut(&key.kind)
            && kind.cache.resource_version(&key).is_none_or(|cached| older(&cached, fresh))
        {
            kind.cache.insert(key.clone(), &kind.mask.prune(fresh.as_ref().clone()));
            self.count_watched(&key.kind);
        }
        let now = self.now;
        let object_id = key.to_string();
        let mut events = Vec::new();
        let mut notices = Vec::new();
        for FixPart { policy: policy_key, paths, class, first_seen, campaign, desired, owner } in fixed {
            if let Some(campaign) = &campaign {
                self.on_campaign_fixed(campaign, &key, &result);
            }
            let fingerprints = &self.fingerprints;
            let Some(policy) = self.policies.get_mut(&policy_key) else { continue };
            let uid = policy.targets().get(&key).and_then(|target| target.uid.clone());
            let fixed = FixedPart { key: &key, uid, paths: &paths, class, desired: &desired };
            policy.record_fix(PolicyFix { owner: owner.clone(), ..fix_record(&fixed, &result, fingerprints, now) });
            if policy.write_denied != denied {
                if let Some(message) = &denied {
                    warn!(policy = %policy_key, "a fix was forbidden: {message}");
                }
                policy.write_denied = denied.clone();
                policy.dirty = true;
            }
            let guard = policy.rules().map_or(crate::engine::decide::DEFAULT_FLAPPING, |r| r.flapping);
            let outcome = match &result {
                FixResult::Verified { .. } => RemediationResult::Verified,
                FixResult::DryRunRejected { .. } => RemediationResult::DryRunRejected,
                FixResult::ApplyFailed { .. } | FixResult::NotVerified { .. } => RemediationResult::Failed,
            };
            self.metrics.remediation(class, outcome);
            if let (FixResult::Verified { .. }, Some(first_seen)) = (&result, first_seen) {
                self.metrics.drift_to_verified(now.duration_since(first_seen).unsigned_abs());
            }
            policy.update_target(&key, |target| {
                target.attempts += 1;
                target.retry_at = match &result {
                    FixResult::Verified { .. } => None,
                    _ => Some(FIX_BACKOFF.retry_at(target.attempts, now)),
                };
                target.failure = match &result {
                    FixResult::Verified { .. } => None,
                    _ if denied.is_some() => {
                        denied.as_ref().map(|message| format!("{}: {message}", reasons::FORBIDDEN))
                    }
                    failed => failed.failure(),
                };
            });
            if let FixResult::Verified { .. } = result {
                policy.remediated += 1;
                policy.last_remediation = Some(now);
                for path in &paths {
                    policy.history.record(&object_id, path, now, guard);
                    self.ledger.fixed(&policy_key, &key, path, now, guard);
                }
                let latency = now.duration_since(started);
                let what = if paths.iter().any(String::is_empty) {
                    "created".to_string()
                } else if class == crate::api::RemediationClass::Recreate {
                    crate::operator::recreation_runner::describe_recreated(&result, &paths)
                } else {
                    format!("restored {}", paths.join(", "))
                };
                info!(object = %key, policy = %policy_key, ?latency, "drift fixed and verified: {what}");
                if let FixResult::Verified { resource_version, .. } = &result {
                    let version = resource_version.clone().unwrap_or_default();
                    let id = format!("{policy_key}/{key}/{version}/remediated");
                    let data = json!({
                        "policy": policy_key.to_string(), "object": key.to_ref(None), "paths": paths,
                        "class": class, "resourceVersion": version, "result": "Verified", "owner": owner,
                    });
                    notices.push((id, policy_key.clone(), owner, data));
                }
                events.push((policy_key.clone(), EventType::Normal, reasons::REMEDIATED, what));
            } else {
                let cause = result.error().map(|error| error.category());
                warn!(object = %key, policy = %policy_key, result = result.category(), cause, "fix not verified");
                events.push(match &denied {
                    Some(message) => (policy_key.clone(), EventType::Warning, reasons::FORBIDDEN, message.clone()),
                    None => {
                        (policy_key.clone(), EventType::Warning, reasons::REMEDIATION_FAILED, format!("{result:?}"))
                    }
                });
            }
            policy.dirty = true;
        }
        for (policy, type_, reason, message) in events {
            self.publish(&key, &policy, type_, reason, message);
        }
        for (id, policy, owner, data) in notices {
            self.notify_owner(NotificationType::DriftRemediated, &id, &policy, &key, owner.as_deref(), &data);
        }
        self.reconcile(&key);
    }
}

/// One policy's part of a finished fix, as its evidence needs it.
struct FixedPart<'a> {
    key: &'a ObjectKey,
    uid: Option<String>,
    paths: &'a [String],
    class: RemediationClass,
    /// The declared value of each path when the fix started.
    desired: &'a [(String, Value)],
}

/// The record of one policy's part of a fix for its status: what was done and what the
/// fresh read proved, with the hashes of the declared values at the fixed paths (as the
/// target's drifts hold them) and of what was read back there.
fn fix_record(fixed: &FixedPart<'_>, result: &FixResult, fingerprints: &FingerprintKey, now: Timestamp) -> PolicyFix {
    let FixedPart { key, uid, paths, class, desired } = fixed;
    let (action, outcome, resource_version, hashes) = match result {
        FixResult::Verified { resource_version, fresh } => {
            (EvidenceAction::Verified, EvidenceResult::Succeeded, resource_version.clone(), Some(fresh))
        }
        FixResult::NotVerified { resource_version, fresh, .. } => {
            (EvidenceAction::Verified, EvidenceResult::Failed, resource_version.clone(), Some(fresh))
        }
        FixResult::DryRunRejected { .. } => (EvidenceAction::DryRun, EvidenceResult::Failed, None, None),
        FixResult::ApplyFailed { .. } => (EvidenceAction::Applied, EvidenceResult::Failed, None, None),
    };
    let hashes = hashes.filter(|_| !desired.is_empty()).map(|fresh| evidence_hashes(desired, fresh, fingerprints));
    let scheme = hashes.as_ref().map(|_| FINGERPRINT_SCHEME);
    let mut message = result.failure();
    if let Some(text) = message.as_mut() {
        text.truncate(text.floor_char_boundary(1024));
    }
    PolicyFix {
        target: key.to_ref(uid.clone()),
        paths: paths.iter().filter(|p| !p.is_empty()).take(MAX_PATHS).cloned().collect(),
        owner: None,
        evidence: Evidence {
            time: Time(now),
            action,
            actor: OPERATOR_ACTOR.to_string(),
            resource_version,
            desired_hash: hashes.as_ref().map(|(desired, _)| desired.clone()),
            live_hash: hashes.map(|(_, live)| live),
            result: outcome,
            message,
            class: Some(*class),
            fingerprint_scheme: scheme,
        },
    }
}

/// Whether `cached` is an older version than `fresh`. Resource versions are compared as
/// numbers when both are (as the API server writes them); otherwise the cache is kept,
/// and the watch brings the newer version.
pub(super) fn older(cached: &str, fresh: &Value) -> bool {
    let fresh = fresh.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|v| v.parse::<u64>().ok());
    matches!((cached.parse::<u64>().ok(), fresh), (Some(cached), Some(fresh)) if cached < fresh)
}

/// The span of one fix, from its start to its verification: the object, the policies that
/// asked for it, their classes and which attempt it is. The runtime runs the fix's requests
/// in it and the reconciler takes its outcome in it, so a JSON log follows one drift from
/// its detection (the `reconcile` span names the object) to its verified fix.
pub fn fix_span(key: &ObjectKey, parts: &[FixPart], attempt: u32) -> tracing::Span {
    let policies: Vec<String> = parts.iter().map(|part| part.policy.to_string()).collect();
    let classes: Vec<String> = parts.iter().map(|part| part.class.to_string()).collect();
    tracing::info_span!("fix", object = %key, policy = %policies.join(","), class = %classes.join(","), attempt)
}
