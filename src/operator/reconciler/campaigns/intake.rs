//! Campaigns and Findings as they are listed, changed and deleted: a Finding the loop
//! does not know (after a restart) is taken up whole, people's fields (ticket, approval)
//! always.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::*;
use crate::operator::reconciler::{EventType, OwnResource};

impl Reconciler {
    pub(in crate::operator::reconciler) fn on_campaigns(&mut self, change: Change) {
        self.on_own(
            "campaigns",
            change,
            |this, object| this.upsert_campaign(object),
            |this, (_, name)| this.remove_campaign(&name),
            |_| true,
            |this| this.campaigns.keys().map(|name| (None, name.clone())).collect(),
        );
    }

    pub(in crate::operator::reconciler) fn on_findings(&mut self, change: Change) {
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
    pub(in crate::operator::reconciler) fn campaigns_listed(&self) -> bool {
        self.listed.contains("campaigns") && self.listed.contains("findings")
    }

    pub(in crate::operator::reconciler) fn upsert_campaign(&mut self, object: Value) {
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
                // What the core accounts from: the burn-down so far, the checkpoints frozen
                // and the conditions' history go on, and are not started over.
                entry.accounted = status.clone();
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
            // A changed spec is how a person resumes waves paused for failures, and a
            // campaign stalled by an internal error.
            entry.last_outcome = None;
            entry.internal_error = None;
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

    pub(in crate::operator::reconciler) fn remove_campaign(&mut self, name: &str) {
        // Its findings are garbage-collected by the API server (they are owned by it).
        self.campaigns.remove(name);
        self.forget_unused_kinds();
    }

    pub(in crate::operator::reconciler) fn upsert_finding(&mut self, object: Value) {
        let watched = match read_finding(&object) {
            Ok(watched) => watched,
            Err(problem) => {
                let (ns, name) = name_of(&object);
                let key = (ns.unwrap_or_default(), name);
                let message = problem.to_string();
                if self.invalid_findings.get(&key) != Some(&message) {
                    warn!(finding = %format!("{}/{}", key.0, key.1), "unreadable finding: {message}");
                    let conditions = invalid_conditions(&object, &message, self.now);
                    self.invalid_findings.insert(key.clone(), message);
                    self.effects.push(Effect::MarkFindingInvalid { namespace: key.0, name: key.1, conditions });
                }
                return;
            }
        };
        // Readable again: its status is written whole, the marks of the invalid spec gone.
        if self.invalid_findings.remove(&(watched.namespace.clone(), watched.name.clone())).is_some() {
            for campaign in self.campaigns.values_mut() {
                for finding in campaign.findings.values_mut() {
                    if finding.namespace == watched.namespace && finding.name == watched.name {
                        finding.written_status = None;
                    }
                }
            }
        }
        if self.campaigns.contains_key(&watched.spec.campaign) {
            self.adopt_finding(watched);
        } else {
            self.pending_findings.insert((watched.namespace.clone(), watched.name.clone()), watched);
        }
    }

    /// Takes in a watched Finding: people's fields (ticket, approval) always, and the whole
    /// finding when the loop does not know it yet (after a restart).
    pub(in crate::operator::reconciler) fn adopt_finding(&mut self, watched: WatchedFinding) {
        let now = self.now;
        let asset = ObjectKey::from_ref(&watched.spec.asset);
        let namespace = &self.settings.namespace;
        let Some(campaign) = self.campaigns.get_mut(&watched.spec.campaign) else { return };
        if let Some(forgery) = watched.forgery(namespace, campaign.uid.as_deref()) {
            let key = (watched.namespace.clone(), watched.name.clone());
            if campaign.forged.insert(key.clone()) {
                warn!(finding = %format!("{}/{}", key.0, key.1), campaign = %campaign.name, "forged finding: {forgery}");
                self.effects.push(Effect::PublishOn {
                    resource: OwnResource::Finding(key.0, key.1),
                    uid: watched.uid.clone(),
                    type_: EventType::Warning,
                    reason: reasons::FORGED_FINDING,
                    message: forgery,
                });
            }
            return;
        }
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
        finding.lapse_announced = false;
        let Some(approval) = watched.spec.approval else { return };
        let campaign_name = watched.spec.campaign.clone();
        // Recorded at once when the finding is escalated; otherwise, and for the fix, the
        // wave tick tries again (see `run_approvals`).
        if self.record_approval(&campaign_name, &asset, &approval, now) {
            self.try_approved_fix(&campaign_name, &asset);
        }
    }

    pub(in crate::operator::reconciler) fn remove_finding(&mut self, namespace: String, name: &str) {
        self.invalid_findings.remove(&(namespace.clone(), name.to_string()));
        self.pending_findings.remove(&(namespace.clone(), name.to_string()));
        for campaign in self.campaigns.values_mut() {
            // The campaign's own deletion: a finding of that name now in memory is a new one.
            if campaign.deleting.remove(&(namespace.clone(), name.to_string())).is_some() {
                continue;
            }
            // Deleted by a person while the drift remains: it is opened again when seen.
            campaign.findings.retain(|_, f| !(f.namespace == namespace && f.name == name));
            campaign.forged.remove(&(namespace.clone(), name.to_string()));
        }
    }
}

/// The conditions of a Finding whose spec does not read: its own, with `Ready=False` and
/// `Stalled=True` (reason `InvalidSpec`, the problem as message) and `Reconciling=False`.
fn invalid_conditions(object: &Value, problem: &str, now: jiff::Timestamp) -> Vec<Condition> {
    let mut conditions: Vec<Condition> =
        object.pointer("/status/conditions").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
    let message = format!("the Finding's spec does not read: {problem}");
    for (type_, status, reason, message) in [
        (types::READY, ConditionStatus::False, reasons::INVALID_SPEC, message.as_str()),
        (types::STALLED, ConditionStatus::True, reasons::INVALID_SPEC, message.as_str()),
        (types::RECONCILING, ConditionStatus::False, reasons::RECONCILED, ""),
    ] {
        set_condition(&mut conditions, ConditionSpec::new(type_, status, reason, message), generation, Time(now));
    }
    conditions
}
