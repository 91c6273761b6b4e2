//! What a campaign writes: its Findings (a bounded number at a time, only what changed)
//! and its status, accounted from the findings.

use super::*;

impl Reconciler {
    /// Writes the Findings and campaign statuses that changed, a bounded number at a time.
    pub(in crate::operator::reconciler) fn flush_campaigns(&mut self, now: Timestamp) {
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in &names {
            self.campaign_step(name, |this| {
                if this.campaigns.get(name).is_some_and(|c| c.prune_due) {
                    this.prune_findings(name);
                }
                this.account_campaign(name, now);
            });
        }
        self.write_findings(now);
    }

    /// Starts the Finding writes that are due, as many as the write budget allows. Runs on
    /// every tick and whenever a write ends, so a backlog drains at the API server's pace.
    pub(in crate::operator::reconciler) fn write_findings(&mut self, now: Timestamp) {
        let mut budget = self.settings.finding_writes.saturating_sub(self.finding_writes);
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        // A Finding whose notice is not recorded yet waits for the ledger: written first, the
        // Finding's new state would keep a new leader from ever sending the notice.
        let held = self.ledger.unrecorded_buckets();
        for name in &names {
            if budget == 0 {
                break;
            }
            let Some(campaign) = self.campaigns.get_mut(name) else { continue };
            let control = control_name(campaign);
            let mut due: Vec<(ObjectKey, Value)> = Vec::new();
            let mut settled: Vec<ObjectKey> = Vec::new();
            for key in &campaign.unwritten {
                if due.len() >= budget {
                    break;
                }
                let Some(finding) = campaign.findings.get(key) else {
                    settled.push(key.clone());
                    continue;
                };
                if finding.writing
                    || finding.retry_at.is_some_and(|at| at > now)
                    || held[crate::operator::ledger::bucket_for(key)]
                {
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

    pub(in crate::operator::reconciler) fn write_finding(&mut self, name: &str, key: &ObjectKey, body: Value) {
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

    pub(in crate::operator::reconciler) fn on_finding_written(
        &mut self,
        name: String,
        key: ObjectKey,
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
                finding.retry_at = Some(BACKOFF.retry_at(finding.write_failures, now));
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
    pub(in crate::operator::reconciler) fn account_campaign(&mut self, name: &str, now: Timestamp) {
        let readiness = self
            .campaigns
            .get(name)
            .and_then(CampaignEntry::policy)
            .map(|p| self.policies.get(&p).map(|policy| self.readiness(policy)));
        let identity_problem = self.identity_problem();
        let approvals = self.approvals_condition();
        let sink_health =
            self.campaigns.get(name).and_then(|c| self.sink_health(self.campaign_sink(c).as_ref()).cloned());
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        if campaign.writing || campaign.retry_status_at.is_some_and(|at| at > now) {
            return;
        }
        // A campaign taken up after a restart keeps the status it was listed with while its
        // policy is still being listed or synced: accounted then, it would read as not
        // evaluated, be written so, and announce its completion or checkpoints a second time.
        let pending = matches!(readiness, Some(None) | Some(Some(Readiness::Syncing)));
        if !campaign.evaluated && pending && campaign.written.is_some() {
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
                accounted.forged_findings = campaign.forged.len() as u32;
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
        if let Some(condition) = approvals {
            set_condition(&mut status.conditions, condition, generation, Time(now));
        }
        if let Some((reason, message)) = problem {
            let time = Time(now);
            let ready = ConditionSpec::new(types::READY, ConditionStatus::False, reason, message.clone());
            set_condition(&mut status.conditions, ready, generation, time.clone());
            let stalled = ConditionSpec::new(types::STALLED, ConditionStatus::True, reason, message);
            set_condition(&mut status.conditions, stalled, generation, time);
        } else {
            crate::api::conditions::remove_condition(&mut status.conditions, types::STALLED);
        }
        crate::reconcile::sinks::set_sink_condition(&mut status.conditions, sink_health.as_ref(), generation, now);
        let notices = campaign_notices(name, &campaign.status, &status);
        let sink = campaign.spec.as_ref().ok().and_then(|s| s.notify.clone());
        campaign.status = status.clone();
        let changed = campaign.written.as_ref().is_none_or(|w| status_changed(w, &status));
        // The status that records a checkpoint or a completion is written only once its
        // notices are in the ledger: written first, it would keep a new leader from ever
        // sending them.
        let about = campaign_key(name);
        let noticed = sink.is_some() && !notices.is_empty();
        let held = noticed || self.ledger.unrecorded_buckets()[crate::operator::ledger::bucket_for(&about)];
        if changed && !held {
            campaign.writing = true;
            self.effects.push(Effect::WriteCampaignStatus { name: name.to_string(), status });
        }
        if let Some(spec) = sink {
            let sink = Sink { namespace: self.settings.namespace.clone(), spec };
            for notice in notices {
                let data = json!({"campaign": name, "message": notice.message, "checkpoint": notice.checkpoint});
                let notification = self.campaign_notification(name, notice.kind, notice.id, None, data);
                self.send_notification(sink.clone(), notification, Some(&about));
            }
        }
    }

    pub(in crate::operator::reconciler) fn on_campaign_written(
        &mut self,
        name: String,
        result: Result<CampaignStatus, RequestError>,
    ) {
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
                campaign.retry_status_at = Some(BACKOFF.retry_at(campaign.status_failures, now));
                warn!(campaign = %name, category = error.category(), "campaign status write failed, retrying: {error}");
            }
        }
    }
}

/// A campaign as an object, to file its notices in the ledger by.
fn campaign_key(name: &str) -> ObjectKey {
    ObjectKey::new(crate::keys::KindKey::new("driftwarden.dev/v1alpha1", "RemediationCampaign"), None, name)
}
