//! Notifications of findings and campaigns to the campaign's sink.

use super::*;

impl Reconciler {
    /// Tells the campaign's owner about a finding that moved: at once for a critical one that
    /// opens (the ticket path), and when any finding closes or reopens.
    pub(in crate::operator::reconciler) fn notify_finding(
        &mut self,
        name: &str,
        key: &ObjectKey,
        before: Option<FindingState>,
    ) {
        let Some(finding) = self.campaigns.get(name).and_then(|c| c.findings.get(key)) else { return };
        let Some(kind) = finding_notice(before, finding.status.state, finding.severity) else { return };
        let at = finding.status.last_transition_time.as_ref().map_or(finding.opened, |t| t.0);
        self.send_finding_notice(name, key, kind, at, json!({}));
    }

    /// Sends a notice about a finding to the campaign's sink: `at` makes its id (one
    /// occurrence, one id); `extra` adds to the finding's fields.
    pub(in crate::operator::reconciler) fn send_finding_notice(
        &mut self,
        name: &str,
        key: &ObjectKey,
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
        let subject = Some(format!("{}/{}", finding.namespace, finding.name));
        let notification = self.campaign_notification(name, kind, id, subject, data);
        self.send_notification(sink, notification, Some(key));
    }

    /// A notification from a campaign.
    pub(in crate::operator::reconciler) fn campaign_notification(
        &self,
        campaign: &str,
        kind: NotificationType,
        id: String,
        subject: Option<String>,
        data: Value,
    ) -> Notification {
        let source = format!("/apis/driftwarden.dev/v1alpha1/remediationcampaigns/{campaign}");
        Notification { id, kind, source, subject, time: self.now, data }
    }
}
