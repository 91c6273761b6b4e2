//! What each asset shows becomes an observation of its campaign's finding: opened when
//! the drift is new, routed to its owner, verified by a fresh read when it looks clean.

use super::*;

impl Reconciler {
    /// Looks at every asset of a campaign again: each target of its policy, and each asset
    /// that has a finding.
    pub(in crate::operator::reconciler) fn evaluate_campaign(&mut self, name: &str) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Some(policy_key) = campaign.policy() else {
            self.identity_dirty = true;
            return;
        };
        let mut keys: BTreeSet<ObjectKey> = campaign.findings.keys().cloned().collect();
        if let Some(policy) = self.policies.get(&policy_key) {
            keys.extend(policy.targets().keys().cloned());
        }
        for key in keys {
            self.observe_campaign(name, &key);
        }
    }

    /// Called after an object was reconciled: each campaign following a policy that governs
    /// it looks at it again.
    pub(in crate::operator::reconciler) fn observe_campaigns(&mut self, key: &ObjectKey) {
        let names: Vec<String> = self
            .campaigns
            .values()
            .filter(|c| {
                c.findings.contains_key(key)
                    || c.policy().and_then(|p| self.policies.get(&p)).is_some_and(|p| p.targets().contains_key(key))
            })
            .map(|c| c.name.clone())
            .collect();
        for name in names {
            self.observe_campaign(&name, key);
        }
    }

    /// Turns what the policy decided about one object into an observation of the campaign's
    /// finding for it, opening the finding when the drift is new.
    pub(in crate::operator::reconciler) fn observe_campaign(&mut self, name: &str, key: &ObjectKey) {
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
        let drifts: Vec<_> = policy.targets().get(key).map(|t| t.drifts.clone()).unwrap_or_default();
        let known = campaign.findings.contains_key(key);
        // A fix under way verifies itself with its own fresh read; a clean object without a
        // finding has nothing to observe (and is not read back from the cache).
        if drifts.is_empty() && (!known || self.in_flight.contains(key)) {
            return;
        }
        let live = self.kinds.get(&key.kind).and_then(|k| k.cache.get(key));
        let labels = live.as_ref().map(watch::labels).unwrap_or_default();
        let namespace_labels = key.namespace.as_ref().and_then(|ns| self.namespaces.get(ns));
        let observation = if drifts.is_empty() {
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
        let uid = live.as_ref().and_then(|o| o.pointer("/metadata/uid")).and_then(Value::as_str).map(str::to_string);
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
            finding.severity = raised(finding.severity, class);
        }
        // An exception that stopped covering: the finding leaves `Excepted` first.
        if finding.status.state == FindingState::Excepted && matches!(observation, Observation::Drifted { .. }) {
            self.step_finding(name, key, Observation::Uncovered, now);
        }
        self.step_finding(name, key, observation, now);
        self.route_finding(name, key, now);
    }

    /// Sends an open finding the campaign will not fix by itself to its owner.
    pub(in crate::operator::reconciler) fn route_finding(&mut self, name: &str, key: &ObjectKey, now: Timestamp) {
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

    pub(in crate::operator::reconciler) fn campaign_classes_of(
        &self,
        campaign: &CampaignEntry,
    ) -> Vec<RemediationClass> {
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
    pub(in crate::operator::reconciler) fn step_finding(
        &mut self,
        name: &str,
        key: &ObjectKey,
        observation: Observation,
        now: Timestamp,
    ) -> bool {
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
    pub(in crate::operator::reconciler) fn verify_finding(&mut self, name: &str, key: &ObjectKey) {
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        // A check decides from metadata only (`verify_check`): a Secret it reported is read
        // without its data.
        let check = campaign.spec.as_ref().is_ok_and(|s| s.control.check.is_some());
        let metadata_only = check && key.kind.api_version == "v1" && key.kind.kind == "Secret";
        let Some(finding) = campaign.findings.get_mut(key) else { return };
        if finding.verifying || self.in_flight.contains(key) {
            return;
        }
        let Some((resource, namespaced)) = self.kinds.get(&key.kind).and_then(|k| k.resource.clone()) else { return };
        finding.verifying = true;
        let campaign = name.to_string();
        self.effects.push(Effect::ReadAsset { campaign, key: key.clone(), resource, namespaced, metadata_only });
    }

    pub(in crate::operator::reconciler) fn on_finding_read(&mut self, name: String, key: ObjectKey, read: FreshRead) {
        let now = self.now;
        let Some(campaign) = self.campaigns.get_mut(&name) else { return };
        let policy_key = campaign.policy();
        let Some(finding) = campaign.findings.get_mut(&key) else { return };
        finding.verifying = false;
        let fresh = match read {
            Err(error) => {
                debug!(campaign = %name, asset = %key, category = error.category(), "verifying read failed, retrying: {error}");
                finding.read_failures += 1;
                finding.verify_retry_at = Some(BACKOFF.retry_at(finding.read_failures, now));
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
            .and_then(|p| Some((p, p.compiled.as_ref().ok()?)))
            .map(|(policy, compiled)| {
                let namespaces = &self.namespaces;
                let labels = |ns: &str| namespaces.get(ns).cloned();
                let covers = covers_for(&self.exceptions, policy, Some(&fresh), &self.settings.namespace, &labels);
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
            .map(|f| evidence_hashes(&f.desired, &fresh, &self.fingerprints))
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
}
