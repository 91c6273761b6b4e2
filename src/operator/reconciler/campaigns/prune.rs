//! Findings a campaign no longer wants: when its scope narrows or its control changes, the
//! findings of assets now outside the scope, and those of the former control, are deleted
//! and leave the campaign's accounting. Looked at when the campaign's generation changes
//! and when findings are listed (after a restart, the spec may have changed meanwhile).

use jiff::SignedDuration;
use tracing::debug;

use super::super::{Effect, Reconciler};
use super::control_name;
use crate::api::campaign::CampaignScope;
use crate::engine::campaign::in_scope;
use crate::keys::ObjectKey;
use crate::operator::watch;

/// How long a finding's name stays reserved for its deletion: a deletion that did not
/// show in the watch by then is given up on, and a finding of the same name may be written.
const DELETION_WAIT: SignedDuration = SignedDuration::from_secs(30);

impl Reconciler {
    /// Deletes the campaign's findings that are out of its scope or from another control.
    /// A finding being written is deleted once its write ends (the next flush).
    pub(in crate::operator::reconciler) fn prune_findings(&mut self, name: &str) {
        if !self.campaigns_listed() {
            return;
        }
        let now = self.now;
        let Some(campaign) = self.campaigns.get(name) else { return };
        // An unreadable spec says nothing about scope: keep everything until it is fixed.
        let Ok(spec) = &campaign.spec else { return };
        let control = control_name(campaign);
        let mut doomed: Vec<ObjectKey> = Vec::new();
        let mut waiting = false;
        for (key, finding) in &campaign.findings {
            let other_control = finding.control != control;
            if !other_control && self.keeps_scope(&spec.scope, key) {
                continue;
            }
            match finding.writing {
                true => waiting = true,
                false => doomed.push(key.clone()),
            }
        }
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        campaign.prune_due = waiting;
        let mut deletions = Vec::new();
        for key in doomed {
            let Some(finding) = campaign.findings.remove(&key) else { continue };
            campaign.unwritten.remove(&key);
            debug!(campaign = %name, finding = %finding.name, "finding out of the campaign's scope or control");
            // Never written: nothing to delete.
            if finding.written_spec.is_some() {
                campaign.deleting.insert((finding.namespace.clone(), finding.name.clone()), now + DELETION_WAIT);
                deletions.push((finding.namespace, finding.name));
            }
        }
        campaign.deleting.retain(|_, until| *until > now);
        for (namespace, finding) in deletions {
            self.effects.push(Effect::DeleteFinding { campaign: name.to_string(), namespace, name: finding });
        }
    }

    /// Whether the asset of a finding is still within `scope`. What is not known yet (the
    /// asset's labels before its kind is listed, its namespace's labels) keeps it: an asset
    /// not in the cache is judged by its namespace and name only.
    fn keeps_scope(&self, scope: &CampaignScope, key: &ObjectKey) -> bool {
        let namespace_labels = key.namespace.as_ref().and_then(|ns| self.namespaces.get(ns));
        if scope.namespace_selector.is_some() && key.namespace.is_some() && namespace_labels.is_none() {
            return true;
        }
        let cached = self.kinds.get(&key.kind).filter(|k| k.synced).and_then(|k| k.cache.get(key));
        match cached {
            Some(object) => in_scope(scope, key, &watch::labels(&object), namespace_labels),
            None => {
                let by_place = CampaignScope { selector: None, ..scope.clone() };
                in_scope(&by_place, key, &Default::default(), namespace_labels)
            }
        }
    }
}
