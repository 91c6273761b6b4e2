//! Campaigns in the operator's loop. A campaign follows one policy: each drift of that
//! policy within the campaign's scope becomes a Finding in the asset's namespace, moved by
//! what the live object shows (the core's [`step`]). In `Auto` mode the loop fixes findings
//! in waves, with the campaign's remediation classes but the policy's guards; in `Manual`
//! mode it escalates them to their owners and only verifies. A finding closes only on a
//! fresh read of the asset.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::effect::{Effect, FindingWrite};
use super::error::RequestError;
use super::evaluate::{DecisionContext, covers_for, decide_for};
use super::{FixPart, Reconciler, name_of};
use crate::api::RemediationClass;
use crate::api::campaign::{CampaignMode, CampaignStatus};
use crate::api::conditions::{ConditionSpec, ConditionStatus, set_condition};
use crate::api::finding::{EvidenceAction, FindingState, FindingStatus};
use crate::api::policy::Mode;
use crate::api::reasons::{self, types};
use crate::engine::campaign::lifecycle::{EXTERNAL_ACTOR, OPERATOR_ACTOR};
use crate::engine::campaign::{
    Observation, PauseReason, WaveOutcome, WavePlan, account, campaign_classes, campaign_notices, evidence_hashes,
    finding_notice, plan_wave, resolve_owner, status_changed, step,
};
use crate::engine::classify::riskiest;
use crate::engine::decide::Action;
use crate::operator::campaigns::{
    self, CampaignEntry, DEFAULT_OWNER_LABELS, Wave, Written, drift_severity, finding_body, finding_name,
    finding_namespace, in_scope, new_finding, read_finding, read_spec,
};
use crate::operator::keys::ObjKey;
use crate::operator::notify::{Notification, NotificationType, Sink};
use crate::operator::remediate::FixResult;
use crate::operator::state::Readiness;
use crate::operator::watch::{self, Change};

/// A campaign's share of a fix: which campaign asked, and on whose approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFix {
    pub campaign: String,
    pub approved_by: Option<String>,
    /// The wave the fix is part of, when it is.
    pub wave: Option<u32>,
}

mod approvals;
mod prune;

/// How a fresh read of a finding's asset went: `Ok(None)` when it no longer exists.
pub(super) type FreshRead = Result<Option<Value>, RequestError>;

impl Reconciler {
    pub(super) fn on_campaigns(&mut self, change: Change) {
        self.on_own(
            "campaigns",
            change,
            |this, object| this.upsert_campaign(object),
            |this, (_, name)| this.remove_campaign(&name),
            |_| true,
            |this| this.campaigns.keys().map(|name| (None, name.clone())).collect(),
        );
    }

    pub(super) fn on_findings(&mut self, change: Change) {
        let listed = matches!(change, Change::InitDone);
        self.on_own(
            "findings",
            change,
            |this, object| this.upsert_finding(object),
            |this, (ns, name)| this.remove_finding(ns.unwrap_or_default(), &name),
            |_| true,
            |this| {
                this.campaigns
                    .values()
                    .flat_map(|c| c.findings.values())
                    .map(|f| (Some(f.namespace.clone()), f.name.clone()))
                    .chain(this.pending_findings.keys().map(|(ns, name)| (Some(ns.clone()), name.clone())))
                    .collect()
            },
        );
        if listed {
            let names: Vec<String> = self.campaigns.keys().cloned().collect();
            for name in names {
                // Findings written before a restart may be of a scope or control since changed.
                if let Some(campaign) = self.campaigns.get_mut(&name) {
                    campaign.prune_due = true;
                }
                self.prune_findings(&name);
                self.evaluate_campaign(&name);
            }
        }
    }

    /// Whether campaigns and their findings are listed: before that, a drift could open a
    /// second finding for an asset that already has one.
    pub(super) fn campaigns_listed(&self) -> bool {
        self.listed.contains("campaigns") && self.listed.contains("findings")
    }

    fn upsert_campaign(&mut self, object: Value) {
        let (_, name) = name_of(&object);
        let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
        let uid = object.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string);
        let mut entry = self.campaigns.remove(&name).unwrap_or_else(|| {
            let mut entry = CampaignEntry::new(name.clone());
            // After a restart, waves carry on where they were: their numbers, and the interval
            // from the last one. The status as written is what changes are told against, so
            // nothing that was announced is announced again.
            entry.waves = object.pointer("/status/waves").and_then(Value::as_u64).map_or(0, |w| w as u32);
            entry.last_wave =
                object.pointer("/status/lastWaveTime").and_then(Value::as_str).and_then(|t| t.parse().ok());
            if let Some(status) =
                object.get("status").cloned().and_then(|s| serde_json::from_value::<CampaignStatus>(s).ok())
            {
                entry.status = status.clone();
                entry.written = Some(status);
            }
            entry
        });
        entry.uid = uid;
        if entry.generation != generation || entry.generation.is_none() {
            entry.spec = read_spec(&object);
            if let Err(problem) = &entry.spec {
                warn!(campaign = %name, "invalid campaign: {problem}");
            }
            // A changed spec is how a person resumes waves paused for failures.
            entry.last_outcome = None;
            entry.generation = generation;
            // A narrower scope or another control leaves findings behind.
            entry.prune_due = true;
        }
        let adopted: Vec<(String, String)> =
            self.pending_findings.iter().filter(|(_, f)| f.spec.campaign == name).map(|(key, _)| key.clone()).collect();
        self.campaigns.insert(name.clone(), entry);
        self.ensure_identity_kinds();
        for key in adopted {
            if let Some(watched) = self.pending_findings.remove(&key) {
                self.adopt_finding(watched);
            }
        }
        self.prune_findings(&name);
        self.evaluate_campaign(&name);
    }

    fn remove_campaign(&mut self, name: &str) {
        // Its findings are garbage-collected by the API server (they are owned by it).
        self.campaigns.remove(name);
        self.forget_unused_kinds();
    }

    fn upsert_finding(&mut self, object: Value) {
        let watched = match read_finding(&object) {
            Ok(watched) => watched,
            Err(problem) => {
                let (ns, name) = name_of(&object);
                warn!(finding = %format!("{}/{name}", ns.unwrap_or_default()), "unreadable finding: {problem}");
                return;
            }
        };
        if self.campaigns.contains_key(&watched.spec.campaign) {
            self.adopt_finding(watched);
        } else {
            self.pending_findings.insert((watched.namespace.clone(), watched.name.clone()), watched);
        }
    }

    /// Takes in a watched Finding: people's fields (ticket, approval) always, and the whole
    /// finding when the loop does not know it yet (after a restart).
    fn adopt_finding(&mut self, watched: campaigns::WatchedFinding) {
        let now = self.now;
        let asset = ObjKey::from_ref(&watched.spec.asset);
        let Some(campaign) = self.campaigns.get_mut(&watched.spec.campaign) else { return };
        if !campaign.findings.contains_key(&asset) {
            let mut entry = new_finding(
                watched.name.clone(),
                watched.namespace.clone(),
                watched.spec.severity,
                watched.spec.owner.clone(),
                watched.created.unwrap_or(now),
            );
            entry.asset_uid = watched.spec.asset.uid.clone();
            if let Some(status) = watched.status.clone() {
                entry.status = status.clone();
                entry.written_status = Some(Written::of(&status));
            }
            entry.approval = watched.spec.approval.clone();
            // As written: a finding of another control is found and deleted by the prune.
            entry.control = watched.spec.control.clone();
            entry.written_spec = Some(Written::of(&finding_body(campaign, &watched.spec.control, &asset, &entry)));
            campaign.findings.insert(asset.clone(), entry);
            campaign.prune_due = true;
        }
        let Some(finding) = campaign.findings.get_mut(&asset) else { return };
        finding.ticket = watched.spec.ticket.clone();
        if finding.approval == watched.spec.approval {
            return;
        }
        finding.approval = watched.spec.approval.clone();
        let Some(approval) = watched.spec.approval else { return };
        let campaign_name = watched.spec.campaign.clone();
        // Recorded at once when the finding is escalated; otherwise, and for the fix, the
        // wave tick tries again (see `run_approvals`).
        if self.record_approval(&campaign_name, &asset, &approval, now) {
            self.try_approved_fix(&campaign_name, &asset);
        }
    }

    fn remove_finding(&mut self, namespace: String, name: &str) {
        self.pending_findings.remove(&(namespace.clone(), name.to_string()));
        for campaign in self.campaigns.values_mut() {
            // The campaign's own deletion: a finding of that name now in memory is a new one.
            if campaign.deleting.remove(&(namespace.clone(), name.to_string())).is_some() {
                continue;
            }
            // Deleted by a person while the drift remains: it is opened again when seen.
            campaign.findings.retain(|_, f| !(f.namespace == namespace && f.name == name));
        }
    }

    /// Looks at every asset of a campaign again: each target of its policy, and each asset
    /// that has a finding.
    pub(super) fn evaluate_campaign(&mut self, name: &str) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Some(policy_key) = campaign.policy() else {
            self.identity_dirty = true;
            return;
        };
        let mut keys: BTreeSet<ObjKey> = campaign.findings.keys().cloned().collect();
        if let Some(policy) = self.policies.get(&policy_key) {
            keys.extend(policy.targets.keys().cloned());
        }
        for key in keys {
            self.observe_campaign(name, &key);
        }
    }

    /// Called after an object was reconciled: each campaign following a policy that governs
    /// it looks at it again.
    pub(super) fn observe_campaigns(&mut self, key: &ObjKey) {
        let names: Vec<String> = self
            .campaigns
            .values()
            .filter(|c| {
                c.findings.contains_key(key)
                    || c.policy().and_then(|p| self.policies.get(&p)).is_some_and(|p| p.targets.contains_key(key))
            })
            .map(|c| c.name.clone())
            .collect();
        for name in names {
            self.observe_campaign(&name, key);
        }
    }

    /// Turns what the policy decided about one object into an observation of the campaign's
    /// finding for it, opening the finding when the drift is new.
    fn observe_campaign(&mut self, name: &str, key: &ObjKey) {
        if !self.campaigns_listed() {
            return;
        }
        // Before its kind is listed, an asset's policy has not judged it: no drift known is
        // not the same as clean (after a restart, open findings would flip to Verifying).
        if !self.kinds.get(&key.kind).is_some_and(|kind| kind.synced) {
            return;
        }
        let now = self.now;
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Ok(spec) = &campaign.spec else { return };
        let Some(policy_key) = campaign.policy() else { return };
        let Some(policy) = self.policies.get(&policy_key) else { return };
        let live = self.kinds.get(&key.kind).and_then(|k| k.cache.get(key));
        let drifts: Vec<_> = policy.targets.get(key).map(|t| t.drifts.clone()).unwrap_or_default();
        let known = campaign.findings.contains_key(key);
        let labels = live.map(watch::labels).unwrap_or_default();
        let namespace_labels = key.namespace.as_ref().and_then(|ns| self.namespaces.get(ns));
        let observation = if drifts.is_empty() {
            // A fix under way verifies itself with its own fresh read.
            if !known || self.in_flight.contains(key) {
                return;
            }
            Observation::LooksClean
        } else {
            if !known && !in_scope(&spec.scope, key, &labels, namespace_labels) {
                return;
            }
            let open: Vec<_> = drifts.iter().filter(|d| !matches!(d.action, Action::Excepted { .. })).collect();
            match open.is_empty() {
                true => Observation::Covered {
                    exception: drifts
                        .iter()
                        .find_map(|d| match &d.action {
                            Action::Excepted { exception } => Some(exception.clone()),
                            _ => None,
                        })
                        .unwrap_or_default(),
                },
                false => Observation::Drifted {
                    paths: open.iter().map(|d| d.drift.path.clone()).collect(),
                    class: riskiest(open.iter().map(|d| &d.drift)).unwrap_or(RemediationClass::Spec),
                    changed_by: open
                        .iter()
                        .find_map(|d| d.drift.attribution.as_ref())
                        .filter(|a| !a.manager.is_empty())
                        .map(|a| (a.manager.clone(), a.time.as_deref().and_then(|t| t.parse::<Timestamp>().ok()))),
                },
            }
        };
        let class = riskiest(drifts.iter().map(|d| &d.drift)).unwrap_or(RemediationClass::Spec);
        let desired: Vec<(String, Value)> =
            drifts.iter().map(|d| (d.drift.path.clone(), d.drift.desired.clone())).collect();
        let uid = live.and_then(|o| o.pointer("/metadata/uid")).and_then(Value::as_str).map(str::to_string);
        if !known {
            let owner_keys = owner_label_keys(spec, policy.compiled.as_ref().ok().map(|_| &policy.owner_labels));
            let owner = resolve_owner(&owner_keys, &labels, namespace_labels, spec.default_owner.as_ref());
            let control = control_name(campaign);
            let mut finding = new_finding(
                finding_name(name, key),
                finding_namespace(key, &self.settings.namespace),
                drift_severity(class),
                owner,
                now,
            );
            finding.control = control;
            if let Some(campaign) = self.campaigns.get_mut(name) {
                campaign.findings.insert(key.clone(), finding);
            }
            self.notify_finding(name, key, None);
        }
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        campaign.unwritten.insert(key.clone());
        let Some(finding) = campaign.findings.get_mut(key) else { return };
        if uid.is_some() {
            finding.asset_uid = uid;
        }
        if !desired.is_empty() {
            finding.desired = desired;
            finding.severity = campaigns::raised(finding.severity, class);
        }
        // An exception that stopped covering: the finding leaves `Excepted` first.
        if finding.status.state == FindingState::Excepted && matches!(observation, Observation::Drifted { .. }) {
            self.step_finding(name, key, Observation::Uncovered, now);
        }
        self.step_finding(name, key, observation, now);
        self.route_finding(name, key, now);
    }

    /// Sends an open finding the campaign will not fix by itself to its owner.
    pub(super) fn route_finding(&mut self, name: &str, key: &ObjKey, now: Timestamp) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Ok(spec) = &campaign.spec else { return };
        let Some(finding) = campaign.findings.get(key) else { return };
        if spec.paused || !matches!(finding.status.state, FindingState::Open | FindingState::Reopened) {
            return;
        }
        let reason = if campaign.policy().is_none() {
            match self.check_escalation(name, key) {
                Some(reason) => reason,
                None => return,
            }
        } else if spec.strategy.mode == CampaignMode::Manual {
            "the campaign is Manual: the owner fixes the asset, and driftwarden verifies and closes the finding"
                .to_string()
        } else {
            let class = finding.status.class.unwrap_or(RemediationClass::Spec);
            if self.campaign_classes_of(campaign).contains(&class) {
                return;
            }
            format!("the fix touches {class:?}, which this campaign does not fix by itself")
        };
        self.step_finding(name, key, Observation::Escalate { reason }, now);
    }

    pub(super) fn campaign_classes_of(&self, campaign: &CampaignEntry) -> Vec<RemediationClass> {
        let Ok(spec) = &campaign.spec else { return Vec::new() };
        // A check's own automatic fixes touch ServiceAccounts: `Access`.
        let own = match campaign.policy() {
            Some(policy) => self
                .policies
                .get(&policy)
                .and_then(|p| p.compiled.as_ref().ok())
                .map(|c| c.rules.auto_remediate.clone())
                .unwrap_or_default(),
            None => vec![RemediationClass::Access],
        };
        campaign_classes(&spec.strategy, &own)
    }

    /// Moves a finding by one observation; returns whether it changed. Conditions follow the
    /// state, people are told what they need to know, and a finding that waits for a fresh
    /// read gets one.
    pub(super) fn step_finding(&mut self, name: &str, key: &ObjKey, observation: Observation, now: Timestamp) -> bool {
        let Some(campaign) = self.campaigns.get_mut(name) else { return false };
        let Some(finding) = campaign.findings.get_mut(key) else { return false };
        let before = finding.status.state;
        let Some(mut next) = step(&finding.status, observation, now) else { return false };
        set_finding_conditions(&mut next, now);
        finding.status = next;
        let after = finding.status.state;
        campaign.unwritten.insert(key.clone());
        if before != after {
            debug!(campaign = name, asset = %key, "finding {before:?} → {after:?}");
            self.notify_finding(name, key, Some(before));
        }
        // A fix of driftwarden's own verifies itself with its fresh read; any other move to
        // Verifying (the asset looks fixed) needs one.
        if after == FindingState::Verifying && before != FindingState::Remediating {
            self.verify_finding(name, key);
        }
        true
    }

    /// Reads the asset again (never the cache) to close or keep a finding.
    fn verify_finding(&mut self, name: &str, key: &ObjKey) {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return };
        if finding.verifying || self.in_flight.contains(key) {
            return;
        }
        let Some((resource, namespaced)) = self.kinds.get(&key.kind).and_then(|k| k.resource.clone()) else { return };
        finding.verifying = true;
        self.effects.push(Effect::ReadAsset { campaign: name.to_string(), key: key.clone(), resource, namespaced });
    }

    pub(super) fn on_finding_read(&mut self, name: String, key: ObjKey, read: FreshRead) {
        let now = self.now;
        let Some(campaign) = self.campaigns.get_mut(&name) else { return };
        let policy_key = campaign.policy();
        let Some(finding) = campaign.findings.get_mut(&key) else { return };
        finding.verifying = false;
        let fresh = match read {
            Err(error) => {
                debug!(campaign = %name, asset = %key, category = error.category(), "verifying read failed, retrying: {error}");
                finding.read_failures += 1;
                finding.verify_retry_at = Some(campaigns::BACKOFF.retry_at(finding.read_failures, now));
                return;
            }
            Ok(None) => {
                self.step_finding(&name, &key, Observation::Gone, now);
                return;
            }
            Ok(Some(fresh)) if policy_key.is_none() => {
                self.verify_check(&name, &key, fresh, now);
                return;
            }
            Ok(Some(fresh)) => fresh,
        };
        let resource_version = fresh.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
        let ours = finding.status.evidence.last().is_some_and(|e| e.action == EvidenceAction::Applied);
        let remaining = policy_key
            .and_then(|p| self.policies.get(&p))
            .and_then(|p| p.compiled.as_ref().ok())
            .map(|compiled| {
                let namespaces = &self.namespaces;
                let labels = |ns: &str| namespaces.get(ns).cloned();
                let covers = covers_for(&self.exceptions, Some(&fresh), &self.settings.namespace, &labels);
                compiled
                    .evaluate_object(&fresh, &labels)
                    .map(|result| {
                        result.drifts().filter(|d| !covers.iter().any(|c| c.covers(d, now))).cloned().collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_else(Vec::new);
        let (desired_hash, live_hash) = self
            .campaigns
            .get(&name)
            .and_then(|c| c.findings.get(&key))
            .map(|f| evidence_hashes(&f.desired, &fresh))
            .unwrap_or_default();
        let observation = if remaining.is_empty() {
            let actor = match ours {
                true => OPERATOR_ACTOR.to_string(),
                false => latest_writer(&fresh).unwrap_or_else(|| EXTERNAL_ACTOR.to_string()),
            };
            Observation::Verified { resource_version, live_hash, desired_hash, actor }
        } else {
            let paths: Vec<&str> = remaining.iter().map(|d| d.path.as_str()).collect();
            Observation::VerifyFailed {
                resource_version,
                desired_hash,
                live_hash,
                message: format!("still differs: {}", paths.join(", ")),
            }
        };
        self.step_finding(&name, &key, observation, now);
    }

    /// Starts waves that are due, and approved fixes that wait for their object.
    pub(super) fn run_waves(&mut self, now: Timestamp) {
        if !self.campaigns_listed() || !self.exceptions_synced {
            return;
        }
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in names {
            self.run_approvals(&name, now);
            let Some(campaign) = self.campaigns.get(&name) else { continue };
            let Ok(spec) = &campaign.spec else { continue };
            if campaign.wave.is_some() {
                continue;
            }
            // Fresh reads that failed are tried again after their backoff.
            let retry: Vec<ObjKey> = campaign
                .findings
                .iter()
                .filter(|(_, f)| {
                    f.status.state == FindingState::Verifying
                        && !f.verifying
                        && f.verify_retry_at.is_none_or(|at| at <= now)
                })
                .map(|(k, _)| k.clone())
                .collect();
            let classes = self.campaign_classes_of(campaign);
            let candidates: Vec<_> = campaign
                .findings
                .iter()
                .filter(|(k, f)| f.status.class.is_some_and(|c| classes.contains(&c)) && !self.in_flight.contains(*k))
                .map(|(k, f)| f.summary(k))
                .collect();
            let plan =
                plan_wave(&spec.strategy, spec.paused, campaign.last_wave, campaign.last_outcome, &candidates, now);
            for key in retry {
                self.verify_finding(&name, &key);
            }
            let Ok(WavePlan::Go { findings }) = plan else { continue };
            let keys: Vec<ObjKey> = {
                let by_name: std::collections::BTreeMap<&str, &ObjKey> =
                    self.campaigns[&name].findings.iter().map(|(k, f)| (f.name.as_str(), k)).collect();
                findings.iter().filter_map(|n| by_name.get(n.as_str()).map(|k| (*k).clone())).collect()
            };
            let mut wave = Wave::default();
            let check = self.campaigns[&name].policy().is_none();
            let number = self.campaigns[&name].waves + 1;
            for key in keys {
                let started = match check {
                    true => self.start_check_fix(&name, &key, None, Some(number)),
                    false => self.start_campaign_fix(&name, &key, None, Some(number)),
                };
                if started {
                    wave.pending.insert(key);
                    wave.tried += 1;
                }
            }
            if let Some(campaign) = self.campaigns.get_mut(&name)
                && wave.tried > 0
            {
                debug!(campaign = %name, wave = number, size = wave.tried, "wave started");
                campaign.last_wave = Some(now);
                campaign.waves = number;
                campaign.wave = Some(wave);
            }
        }
    }

    /// Starts the campaign's fix of one asset: the policy's drifts decided as if the policy
    /// fixed the campaign's classes (or, on approval, exactly the approved paths), with the
    /// policy's rate limit, flapping detection and, unless approved, circuit breaker.
    /// Returns whether a fix started. A paused campaign starts none.
    fn start_campaign_fix(
        &mut self,
        name: &str,
        key: &ObjKey,
        approved: Option<(Vec<String>, Option<String>)>,
        wave: Option<u32>,
    ) -> bool {
        if self.in_flight.contains(key) || !self.exceptions_synced || self.campaign_paused(name) {
            return false;
        }
        let now = self.now;
        let Some(campaign) = self.campaigns.get(name) else { return false };
        let classes = self.campaign_classes_of(campaign);
        let Some(policy_key) = campaign.policy() else { return false };
        let live = self.kinds.get(&key.kind).and_then(|k| k.cache.get(key)).cloned();
        let namespaces = &self.namespaces;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let covers = covers_for(&self.exceptions, live.as_ref(), &self.settings.namespace, &labels);
        let Some(policy) = self.policies.get_mut(&policy_key) else { return false };
        let Ok(compiled) = &policy.compiled else { return false };
        let Some(target) = policy.targets.get(key) else { return false };
        let mut rules = compiled.rules.clone();
        rules.mode = Mode::Enforce;
        match &approved {
            Some(_) => {
                rules.auto_remediate =
                    RemediationClass::ALL.iter().copied().filter(|c| *c != RemediationClass::Recreate).collect();
                // A person decided: the breaker guards against unattended mass changes only.
                rules.max_drifted_percent = None;
            }
            None => rules.auto_remediate = classes,
        }
        let drifts: Vec<_> = target.drifts.iter().map(|d| d.drift.clone()).collect();
        let first_seen = target.first_seen;
        let remediations_last_minute = policy.rate.in_last_minute(now);
        let context = DecisionContext {
            key,
            live: live.as_ref(),
            covers: &covers,
            own_manager: &self.settings.field_manager,
            remediations_last_minute,
            now,
        };
        let actions = decide_for(policy, &rules, &context, &drifts);
        let allowed = |path: &str| approved.as_ref().is_none_or(|(paths, _)| paths.iter().any(|p| p == path));
        let fixing: Vec<&crate::engine::drift::Drift> = drifts
            .iter()
            .zip(&actions)
            .filter(|(d, a)| **a == Action::Remediate && allowed(&d.path))
            .map(|(d, _)| d)
            .collect();
        if fixing.is_empty() {
            let refused = drifts.iter().zip(&actions).find_map(|(d, a)| match a {
                Action::Escalate { reason } if allowed(&d.path) => Some(reason.to_string()),
                _ => None,
            });
            if let Some(reason) = refused {
                if approved.is_some() {
                    // Refused by the policy's guards: the approval is tried again later.
                    self.approved_fix_ended(name, key, false, now);
                }
                self.step_finding(name, key, Observation::Escalate { reason }, now);
            }
            return false;
        }
        let part = FixPart {
            policy: policy_key,
            paths: fixing.iter().map(|d| d.path.clone()).collect(),
            class: riskiest(fixing.iter().copied()).unwrap_or(RemediationClass::Spec),
            first_seen,
            campaign: Some(CampaignFix {
                campaign: name.to_string(),
                approved_by: approved.and_then(|(_, by)| by),
                wave,
            }),
        };
        self.start_fix(key, vec![part]);
        self.in_flight.contains(key)
    }

    /// Takes a finding's fix off its campaign's wave under way, counting it as verified or
    /// failed (`None`: neither, as for a fix the operator was not allowed to make); the
    /// wave ends with its last fix.
    pub(super) fn end_wave_part(&mut self, name: &str, key: &ObjKey, verified: Option<bool>) {
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        let Some(wave) = campaign.wave.as_mut() else { return };
        if !wave.pending.remove(key) {
            return;
        }
        wave.failed += u32::from(verified == Some(false));
        wave.tried = wave.tried.saturating_sub(u32::from(verified.is_none()));
        if wave.pending.is_empty() {
            campaign.last_outcome = Some(WaveOutcome { tried: wave.tried, failed: wave.failed });
            campaign.wave = None;
        }
    }

    /// Records how a campaign's fix ended, on the finding and on the wave.
    pub(super) fn on_campaign_fixed(&mut self, fix: &CampaignFix, key: &ObjKey, result: &FixResult) {
        let now = self.now;
        // The wave's tally first: a wave ends even when a finding went away meanwhile.
        let verified = matches!(result, FixResult::Verified { .. });
        self.end_wave_part(&fix.campaign, key, Some(verified));
        if fix.approved_by.is_some() {
            self.approved_fix_ended(&fix.campaign, key, verified, now);
        }
        let Some(finding) = self.campaigns.get(&fix.campaign).and_then(|c| c.findings.get(key)) else { return };
        // The hashes of what the fix declared and of what the fresh read holds at the
        // finding's paths.
        let hashes = |fresh: &Value| evidence_hashes(&finding.desired, fresh);
        let started = Observation::FixStarted { approved_by: fix.approved_by.clone(), wave: fix.wave };
        let name = fix.campaign.as_str();
        match result {
            FixResult::Verified { resource_version, fresh } => {
                let (desired_hash, live_hash) = hashes(fresh);
                self.step_finding(name, key, started, now);
                self.step_finding(name, key, Observation::Applied { resource_version: resource_version.clone() }, now);
                let verified = Observation::Verified {
                    resource_version: resource_version.clone(),
                    live_hash,
                    desired_hash,
                    actor: OPERATOR_ACTOR.to_string(),
                };
                self.step_finding(name, key, verified, now);
            }
            FixResult::NotVerified { paths, resource_version, fresh } => {
                let (desired_hash, live_hash) = hashes(fresh);
                self.step_finding(name, key, started, now);
                self.step_finding(name, key, Observation::Applied { resource_version: resource_version.clone() }, now);
                let message = format!("still differs after the fix: {}", paths.join(", "));
                let failed = Observation::VerifyFailed {
                    resource_version: resource_version.clone(),
                    desired_hash,
                    live_hash,
                    message,
                };
                self.step_finding(name, key, failed, now);
            }
            FixResult::DryRunRejected { error } => {
                let reason = format!("the server rejected the dry-run: {error}");
                self.step_finding(name, key, Observation::Escalate { reason }, now);
            }
            FixResult::ApplyFailed { error } => {
                self.step_finding(name, key, started, now);
                self.step_finding(name, key, Observation::Escalate { reason: format!("the fix failed: {error}") }, now);
            }
        }
    }

    /// Writes the Findings and campaign statuses that changed, a bounded number at a time.
    pub(super) fn flush_campaigns(&mut self, now: Timestamp) {
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in &names {
            if self.campaigns.get(name).is_some_and(|c| c.prune_due) {
                self.prune_findings(name);
            }
            self.account_campaign(name, now);
        }
        self.write_findings(now);
    }

    /// Starts the Finding writes that are due, as many as the write budget allows. Runs on
    /// every tick and whenever a write ends, so a backlog drains at the API server's pace.
    fn write_findings(&mut self, now: Timestamp) {
        let mut budget = self.settings.finding_writes.saturating_sub(self.finding_writes);
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in &names {
            if budget == 0 {
                break;
            }
            let Some(campaign) = self.campaigns.get_mut(name) else { continue };
            let control = control_name(campaign);
            let mut due: Vec<(ObjKey, Value)> = Vec::new();
            let mut settled: Vec<ObjKey> = Vec::new();
            for key in &campaign.unwritten {
                if due.len() >= budget {
                    break;
                }
                let Some(finding) = campaign.findings.get(key) else {
                    settled.push(key.clone());
                    continue;
                };
                if finding.writing || finding.retry_at.is_some_and(|at| at > now) {
                    continue;
                }
                // A finding of the same name is still being deleted: write once it is gone.
                let same_name = (finding.namespace.clone(), finding.name.clone());
                if campaign.deleting.get(&same_name).is_some_and(|until| *until > now) {
                    continue;
                }
                let body = finding_body(campaign, &control, key, finding);
                match finding.needs_write(&body) {
                    true => due.push((key.clone(), body)),
                    false => settled.push(key.clone()),
                }
            }
            for key in settled {
                campaign.unwritten.remove(&key);
            }
            for (key, body) in due {
                budget -= 1;
                self.write_finding(name, &key, body);
            }
        }
    }

    fn write_finding(&mut self, name: &str, key: &ObjKey, body: Value) {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return };
        finding.writing = true;
        self.finding_writes += 1;
        let spec = (finding.written_spec != Some(Written::of(&body))).then(|| body.clone());
        let status = finding.status.clone();
        let status_due = finding.written_status != Some(Written::of(&status));
        let write = FindingWrite {
            campaign: name.to_string(),
            key: key.clone(),
            namespace: finding.namespace.clone(),
            name: finding.name.clone(),
            spec_due: spec.is_some(),
            body,
            status,
            status_due,
        };
        self.effects.push(Effect::WriteFinding(write));
    }

    pub(super) fn on_finding_written(
        &mut self,
        name: String,
        key: ObjKey,
        written: Result<(Value, FindingStatus), RequestError>,
    ) {
        self.finding_writes = self.finding_writes.saturating_sub(1);
        let now = self.now;
        let Some(finding) = self.campaigns.get_mut(&name).and_then(|c| c.findings.get_mut(&key)) else { return };
        finding.writing = false;
        match written {
            Ok((spec, status)) => {
                finding.written_spec = Some(Written::of(&spec));
                finding.written_status = Some(Written::of(&status));
                finding.write_failures = 0;
                finding.retry_at = None;
            }
            Err(error) => {
                finding.write_failures += 1;
                finding.retry_at = Some(campaigns::BACKOFF.retry_at(finding.write_failures, now));
                warn!(
                    campaign = %name,
                    finding = %finding.name,
                    category = error.category(),
                    "finding write failed, retrying: {error}"
                );
            }
        }
        self.write_findings(now);
    }

    /// Computes a campaign's status from its findings, tells people what moved, and writes
    /// it when it changed.
    fn account_campaign(&mut self, name: &str, now: Timestamp) {
        let readiness = self
            .campaigns
            .get(name)
            .and_then(CampaignEntry::policy)
            .map(|p| self.policies.get(&p).map(|policy| self.readiness(policy)));
        let identity_problem = self.identity_problem();
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        if campaign.writing || campaign.retry_status_at.is_some_and(|at| at > now) {
            return;
        }
        let generation = campaign.generation;
        let mut status = match &campaign.spec {
            Ok(spec) => {
                campaign.evaluated |= readiness.as_ref().is_some_and(|r| r.as_ref() == Some(&Readiness::Ready));
                let summaries: Vec<_> = campaign.findings.iter().map(|(k, f)| f.summary(k)).collect();
                let mut accounted = account(spec, &campaign.accounted, &summaries, campaign.evaluated, generation, now);
                accounted.last_wave_time = campaign.last_wave.map(Time);
                accounted.waves = (campaign.waves > 0).then_some(campaign.waves);
                campaign.accounted = accounted.clone();
                accounted
            }
            Err(_) => CampaignStatus { conditions: campaign.status.conditions.clone(), ..Default::default() },
        };
        let pause = campaign.spec.as_ref().ok().and_then(|spec| {
            plan_wave(&spec.strategy, spec.paused, campaign.last_wave, campaign.last_outcome, &[], now).ok()
        });
        let problem: Option<(&'static str, String)> = match (&campaign.spec, &readiness) {
            (Err(problem), _) => Some((problem.category(), problem.to_string())),
            (Ok(_), None) if campaign.control_problem.is_some() => {
                Some((reasons::INVALID_SPEC, campaign.control_problem.clone().unwrap_or_default()))
            }
            (Ok(_), None) if identity_problem.is_some() || campaign.write_denied.is_some() => {
                let message = identity_problem.clone().or_else(|| campaign.write_denied.clone());
                Some((reasons::FORBIDDEN, message.unwrap_or_default()))
            }
            (Ok(_), Some(None)) => {
                Some((reasons::DEPENDENCY_NOT_FOUND, "the policy it follows does not exist".to_string()))
            }
            (Ok(_), Some(Some(Readiness::Invalid(problem)))) => {
                Some((reasons::DEPENDENCY_NOT_FOUND, format!("the policy it follows is invalid: {problem}")))
            }
            _ => match pause {
                Some(WavePlan::Paused { reason: reason @ PauseReason::Failures { .. } }) => {
                    Some((reason.reason(), format!("{reason}; change the campaign's spec to resume")))
                }
                _ => None,
            },
        };
        if let Some((reason, message)) = problem {
            let time = Time(now);
            let ready = ConditionSpec::new(types::READY, ConditionStatus::False, reason, message.clone());
            set_condition(&mut status.conditions, ready, generation, time.clone());
            let stalled = ConditionSpec::new(types::STALLED, ConditionStatus::True, reason, message);
            set_condition(&mut status.conditions, stalled, generation, time);
        } else {
            crate::api::conditions::remove_condition(&mut status.conditions, types::STALLED);
        }
        let notices = campaign_notices(name, &campaign.status, &status);
        let sink = campaign.spec.as_ref().ok().and_then(|s| s.notify.clone());
        campaign.status = status.clone();
        let changed = campaign.written.as_ref().is_none_or(|w| status_changed(w, &status));
        if changed {
            campaign.writing = true;
            self.effects.push(Effect::WriteCampaignStatus { name: name.to_string(), status });
        }
        if let Some(spec) = sink {
            let sink = Sink { namespace: self.settings.namespace.clone(), spec };
            for notice in notices {
                let data = json!({"campaign": name, "message": notice.message, "checkpoint": notice.checkpoint});
                self.send_campaign(&sink, notice.kind, notice.id, name, None, data);
            }
        }
    }

    pub(super) fn on_campaign_written(&mut self, name: String, result: Result<CampaignStatus, RequestError>) {
        let now = self.now;
        let Some(campaign) = self.campaigns.get_mut(&name) else { return };
        campaign.writing = false;
        match result {
            Ok(status) => {
                campaign.written = Some(status);
                campaign.status_failures = 0;
                campaign.retry_status_at = None;
            }
            Err(error) => {
                campaign.status_failures += 1;
                campaign.retry_status_at = Some(campaigns::BACKOFF.retry_at(campaign.status_failures, now));
                warn!(campaign = %name, category = error.category(), "campaign status write failed, retrying: {error}");
            }
        }
    }

    /// Tells the campaign's owner about a finding that moved: at once for a critical one that
    /// opens (the ticket path), and when any finding closes or reopens.
    pub(super) fn notify_finding(&mut self, name: &str, key: &ObjKey, before: Option<FindingState>) {
        let Some(finding) = self.campaigns.get(name).and_then(|c| c.findings.get(key)) else { return };
        let Some(kind) = finding_notice(before, finding.status.state, finding.severity) else { return };
        let at = finding.status.last_transition_time.as_ref().map_or(finding.opened, |t| t.0);
        self.send_finding_notice(name, key, kind, at, json!({}));
    }

    /// Sends a notice about a finding to the campaign's sink: `at` makes its id (one
    /// occurrence, one id); `extra` adds to the finding's fields.
    pub(super) fn send_finding_notice(
        &mut self,
        name: &str,
        key: &ObjKey,
        kind: NotificationType,
        at: Timestamp,
        extra: Value,
    ) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Some(finding) = campaign.findings.get(key) else { return };
        let Some(spec) = campaign.spec.as_ref().ok().and_then(|s| s.notify.clone()) else { return };
        let id =
            crate::engine::campaign::notices::notice_id(&format!("{}/{}", finding.namespace, finding.name), kind, at);
        let mut data = json!({
            "campaign": name,
            "finding": {"namespace": finding.namespace, "name": finding.name},
            "asset": key.to_ref(finding.asset_uid.clone()),
            "owner": finding.owner,
            "severity": finding.severity,
            "state": finding.status.state,
            "paths": finding.status.paths,
            "ticket": finding.ticket,
        });
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        let sink = Sink { namespace: self.settings.namespace.clone(), spec };
        self.send_campaign(&sink, kind, id, name, Some(format!("{}/{}", finding.namespace, finding.name)), data);
    }

    fn send_campaign(
        &mut self,
        sink: &Sink,
        kind: NotificationType,
        id: String,
        campaign: &str,
        subject: Option<String>,
        data: Value,
    ) {
        let source = format!("/apis/driftwarden.dev/v1alpha1/remediationcampaigns/{campaign}");
        let notification = Notification { id, kind, source, subject, time: self.now, data };
        self.effects.push(Effect::Notify { sink: sink.clone(), notification });
    }
}

/// The field manager that wrote `object` last, from its managedFields: who made an
/// asset compliant when driftwarden did not.
pub(super) fn latest_writer(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter(|entry| entry.get("subresource").is_none())
        .filter_map(|entry| {
            let manager = entry.get("manager")?.as_str().filter(|m| !m.is_empty())?;
            let time = entry.get("time").and_then(Value::as_str).and_then(|t| t.parse::<Timestamp>().ok());
            Some((time, manager.to_string()))
        })
        .max_by_key(|(time, _)| *time)
        .map(|(_, manager)| manager)
}

/// How findings name the control: the policy's `namespace/name`, or the check's name.
pub(super) fn control_name(campaign: &CampaignEntry) -> String {
    match (campaign.policy(), campaign.spec.as_ref().ok().and_then(|s| s.control.check.as_ref())) {
        (Some(policy), _) => policy.to_string(),
        (None, Some(check)) => format!("{:?}", check.name),
        (None, None) => "unknown".to_string(),
    }
}

/// The label keys that name an asset's owner: the campaign's, else its policy's, else the
/// defaults.
fn owner_label_keys(spec: &crate::api::campaign::RemediationCampaignSpec, policy: Option<&Vec<String>>) -> Vec<String> {
    if !spec.owner_labels.is_empty() {
        return spec.owner_labels.clone();
    }
    match policy {
        Some(keys) if !keys.is_empty() => keys.clone(),
        _ => DEFAULT_OWNER_LABELS.iter().map(|k| k.to_string()).collect(),
    }
}

/// A finding's `Ready` and `Reconciling` conditions, from its state: ready once closed or
/// excepted; otherwise waiting for a fix, a fresh read or its owner.
pub(super) fn set_finding_conditions(status: &mut FindingStatus, now: Timestamp) {
    let (ready, reason, message) = match status.state {
        FindingState::Closed => (true, reasons::VERIFIED, "the fix was verified against a fresh read"),
        FindingState::Excepted => (true, reasons::RECONCILED, "a DriftException covers the asset"),
        FindingState::Escalated => (false, reasons::AWAITING_OWNER, "waiting for the owner to fix or approve"),
        FindingState::Verifying => (false, reasons::AWAITING_VERIFICATION, "waiting for a fresh read of the asset"),
        FindingState::Remediating => (false, reasons::PROGRESSING, "the fix is being applied"),
        FindingState::Open | FindingState::Reopened => (false, reasons::PROGRESSING, "waiting for a fix"),
    };
    let time = Time(now);
    let generation = status.observed_generation;
    let ready = ConditionSpec::new(types::READY, ready.into(), reason, message);
    set_condition(&mut status.conditions, ready, generation, time.clone());
    let reconciling = matches!(status.state, FindingState::Remediating | FindingState::Verifying);
    let reconciling = ConditionSpec::new(
        types::RECONCILING,
        reconciling.into(),
        if reconciling { reasons::PROGRESSING } else { reasons::RECONCILED },
        if reconciling { message } else { "" },
    );
    set_condition(&mut status.conditions, reconciling, generation, time);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::check_contract;

    #[test]
    fn the_latest_writer_is_the_newest_managed_fields_entry_of_the_object_itself() {
        let object = serde_json::json!({"metadata": {"managedFields": [
            {"manager": "kubectl-create", "time": "2026-01-01T00:00:00Z"},
            {"manager": "kubectl-edit", "time": "2026-01-02T00:00:00Z"},
            {"manager": "controller", "time": "2026-01-03T00:00:00Z", "subresource": "status"}
        ]}});
        assert_eq!(latest_writer(&object).as_deref(), Some("kubectl-edit"));
        assert_eq!(latest_writer(&serde_json::json!({"metadata": {}})), None);
    }

    #[test]
    fn finding_conditions_follow_the_state_and_keep_the_contract() {
        let now = Timestamp::UNIX_EPOCH;
        for state in [
            FindingState::Open,
            FindingState::Remediating,
            FindingState::Verifying,
            FindingState::Closed,
            FindingState::Escalated,
            FindingState::Excepted,
            FindingState::Reopened,
        ] {
            let mut status = FindingStatus { state, ..Default::default() };
            set_finding_conditions(&mut status, now);
            check_contract(&status.conditions, None).unwrap_or_else(|p| panic!("{state:?}: {p:?}"));
            let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
            assert_eq!(ready.status == "True", state.is_resolved(), "{state:?}");
        }
        assert_eq!(
            owner_label_keys(
                &serde_json::from_value(serde_json::json!({"objective": "o", "owner": {"team": "t"},
                "control": {"check": {"name": "WildcardRbac"}}, "deadline": "2027-01-01T00:00:00Z"}))
                .unwrap(),
                None
            ),
            vec!["driftwarden.dev/owner".to_string(), "team".to_string()]
        );
    }
}
