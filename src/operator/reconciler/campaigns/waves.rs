//! Waves: an `Auto` campaign fixes its findings a wave at a time, with the campaign's
//! classes and the policy's guards; a wave with too many failures pauses the campaign.

use super::*;

impl Reconciler {
    /// Starts waves that are due, and approved fixes that wait for their object.
    pub(in crate::operator::reconciler) fn run_waves(&mut self, now: Timestamp) {
        if !self.campaigns_listed() || !self.exceptions_synced {
            return;
        }
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in names {
            self.campaign_step(&name, |this| this.run_campaign_waves(&name, now));
        }
    }

    /// Starts one campaign's approved fixes and, when one is due, its next wave.
    fn run_campaign_waves(&mut self, name: &str, now: Timestamp) {
        let name = name.to_string();
        self.run_approvals(&name, now);
        let Some(campaign) = self.campaigns.get(&name) else { return };
        let Ok(spec) = &campaign.spec else { return };
        if campaign.wave.is_some() {
            return;
        }
        // Fresh reads that failed are tried again after their backoff.
        let retry: Vec<ObjectKey> = campaign
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
        // Only a finding the cluster holds is fixed: fixed before its Finding is written, an
        // asset would leave no trace should the operator stop in between (a new leader sees
        // it in sync, so it never opens the finding).
        let candidates: Vec<_> = campaign
            .findings
            .iter()
            .filter(|(k, f)| f.status.class.is_some_and(|c| classes.contains(&c)) && !self.in_flight.contains(*k))
            .filter(|(_, f)| f.written_spec.is_some())
            .map(|(k, f)| f.summary(k))
            .collect();
        // Findings of the same classes whose spec is still being written.
        let unwritten = campaign.findings.iter().any(|(k, f)| {
            f.status.class.is_some_and(|c| classes.contains(&c))
                && !self.in_flight.contains(k)
                && f.written_spec.is_none()
        });
        let held_since = campaign.wave_held_since;
        let plan = plan_wave(&spec.strategy, spec.paused, campaign.last_wave, campaign.last_outcome, &candidates, now);
        for key in retry {
            self.verify_finding(&name, &key);
        }
        let Ok(WavePlan::Go { findings }) = plan else { return };
        // A due wave waits a little for those, so that they are not left to the next one.
        if unwritten
            && held_since.is_none_or(|since| now.duration_since(since) < crate::reconcile::campaigns::WAVE_HOLD)
        {
            if let Some(campaign) = self.campaigns.get_mut(&name) {
                campaign.wave_held_since.get_or_insert(now);
            }
            return;
        }
        if let Some(campaign) = self.campaigns.get_mut(&name) {
            campaign.wave_held_since = None;
        }
        let keys: Vec<ObjectKey> = findings.iter().map(ObjectKey::from_ref).collect();
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

    /// Starts the campaign's fix of one asset: the policy's drifts decided as if the policy
    /// fixed the campaign's classes (or, on approval, exactly the approved paths), with the
    /// policy's rate limit, flapping detection and, unless approved, circuit breaker.
    /// Returns whether a fix started. A paused campaign starts none.
    pub(in crate::operator::reconciler) fn start_campaign_fix(
        &mut self,
        name: &str,
        key: &ObjectKey,
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
        let live = self.kinds.get(&key.kind).and_then(|k| k.cache.get(key));
        let namespaces = &self.namespaces;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let Some(policy) = self.policies.get(&policy_key) else { return false };
        let covers = covers_for(&self.exceptions, policy, live.as_ref(), &self.settings.namespace, &labels);
        let Some(policy) = self.policies.get_mut(&policy_key) else { return false };
        let Ok(compiled) = &policy.compiled else { return false };
        let Some(target) = policy.targets().get(key) else { return false };
        let mut rules = compiled.rules.clone();
        rules.mode = Mode::Enforce;
        match &approved {
            Some(_) => {
                rules.auto_remediate =
                    RemediationClass::ALL.iter().copied().filter(|c| *c != RemediationClass::Recreate).collect();
                // A person decided: the breaker guards against unattended mass changes only.
                rules.max_drifted_percent = None;
            }
            None => {
                rules.auto_remediate = classes;
                // Waves are the paced, checkpointed mass change a campaign is for: only a
                // breaker the policy sets itself stops them.
                if rules.breaker_defaulted {
                    rules.max_drifted_percent = None;
                }
            }
        }
        let drifts: Vec<_> = target.drifts.iter().map(|d| d.drift.clone()).collect();
        let first_seen = target.first_seen;
        let owner = target.owner.clone();
        let remediations_last_minute = policy.rate.in_last_minute(now);
        let context = DecisionContext {
            key,
            live: live.as_ref(),
            covers: &covers,
            own_manager: &self.settings.field_manager,
            appliers: &self.settings.appliers,
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
            desired: fixing.iter().map(|d| (d.path.clone(), d.desired.clone())).collect(),
            owner,
        };
        self.start_fix(key, vec![part]);
        self.in_flight.contains(key)
    }

    /// Takes a finding's fix off its campaign's wave under way, counting it as verified or
    /// failed (`None`: neither, as for a fix the operator was not allowed to make); the
    /// wave ends with its last fix.
    pub(in crate::operator::reconciler) fn end_wave_part(
        &mut self,
        name: &str,
        key: &ObjectKey,
        verified: Option<bool>,
    ) {
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
    pub(in crate::operator::reconciler) fn on_campaign_fixed(
        &mut self,
        fix: &CampaignFix,
        key: &ObjectKey,
        result: &FixResult,
    ) {
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
        let hashes = |fresh: &Value| evidence_hashes(&finding.desired, fresh, &self.fingerprints);
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
            FixResult::NotVerified { resource_version, fresh, .. } => {
                let (desired_hash, live_hash) = hashes(fresh);
                self.step_finding(name, key, started, now);
                self.step_finding(name, key, Observation::Applied { resource_version: resource_version.clone() }, now);
                let message = result.failure().unwrap_or_default();
                let failed = Observation::VerifyFailed {
                    resource_version: resource_version.clone(),
                    desired_hash,
                    live_hash,
                    message,
                };
                self.step_finding(name, key, failed, now);
            }
            FixResult::DryRunRejected { .. } => {
                let reason = result.failure().unwrap_or_default();
                self.step_finding(name, key, Observation::Escalate { reason }, now);
            }
            FixResult::ApplyFailed { .. } => {
                self.step_finding(name, key, started, now);
                let reason = result.failure().unwrap_or_default();
                self.step_finding(name, key, Observation::Escalate { reason }, now);
            }
        }
    }
}
