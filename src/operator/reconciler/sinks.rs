//! How the last delivery to each notification sink went, shown as `NotificationSinkReady`
//! on the policies and campaigns that name the sink (see `crate::reconcile::sinks`).

use super::Reconciler;
use crate::notification::{Sink, SinkKey};
use crate::reconcile::campaigns::CampaignEntry;
use crate::reconcile::sinks::SinkHealth;

impl Reconciler {
    /// Records how a delivery to `sink` went; the policies naming it write their status
    /// again when that changes what it says (campaigns are accounted on every tick).
    pub(super) fn on_sink_checked(&mut self, sink: SinkKey, health: SinkHealth) {
        if self.sinks.get(&sink) == Some(&health) {
            return;
        }
        if let SinkHealth::Refused { reason, message } = &health {
            tracing::warn!(reason = *reason, "notification sink refused: {message}");
        }
        for policy in self.policies.values_mut() {
            if policy.all_sinks().any(|s| s.key() == sink) {
                policy.dirty = true;
            }
        }
        self.sinks.insert(sink, health);
    }

    /// What is known of `sink`, if anything.
    pub(super) fn sink_health(&self, sink: Option<&Sink>) -> Option<&SinkHealth> {
        self.sinks.get(&sink?.key())
    }

    /// What is known of a policy's sinks (its own and its routes'): the first refusal, else
    /// a delivery, else nothing.
    pub(super) fn policy_sink_health(&self, policy: &crate::reconcile::policies::PolicyEntry) -> Option<&SinkHealth> {
        let known: Vec<&SinkHealth> = policy.all_sinks().filter_map(|sink| self.sinks.get(&sink.key())).collect();
        known.iter().find(|h| matches!(h, SinkHealth::Refused { .. })).or(known.first()).copied()
    }

    /// A campaign's sink: its `notify`, with its Secrets in the operator's namespace.
    pub(super) fn campaign_sink(&self, campaign: &CampaignEntry) -> Option<Sink> {
        let spec = campaign.spec.as_ref().ok()?.notify.clone()?;
        Some(Sink { namespace: self.settings.namespace.clone(), spec })
    }
}
