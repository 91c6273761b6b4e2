//! Announcements: new drifts and escalations are counted, and escalations and fixes told
//! to people, as Events on the object and its policy and as notifications to the policy's
//! sink. Each announcement's id names its occurrence; escalation Events and every
//! notification go through the ledger's outbox, so a restart neither repeats nor loses one.

use serde_json::{Value, json};
use tracing::info;

use super::effect::{Announcement, EventType};
use super::{Effect, News, Reconciler};
use crate::api::reasons;
use crate::engine::decide::{Action, EscalationReason};
use crate::keys::{ObjectKey, PolicyKey};
use crate::notification::NotificationType;
use crate::operator::ledger::Pending;
use crate::operator::notify::{Notification, Sink};

/// One drift as a notification tells it.
fn drift_data(d: &crate::reconcile::policies::DecidedDrift) -> Value {
    json!({
        "path": d.drift.path,
        "class": d.drift.class,
        "source": d.source,
        "action": d.action,
        "changedBy": d.drift.attribution.as_ref().map(|a| a.manager.clone()),
    })
}

impl Reconciler {
    pub(super) fn announce(&mut self, key: &ObjectKey, news: News) {
        for class in &news.detected {
            self.metrics.drift_detected(*class);
        }
        if !news.detected.is_empty() {
            info!(object = %key, policy = %news.policy, classes = ?news.detected, "drift detected");
        }
        let owner = news.owner.as_deref();
        if !news.detected_drifts.is_empty() {
            let paths: Vec<&str> = news.detected_drifts.iter().map(|d| d.drift.path.as_str()).collect();
            let occurrence = format!("{}/{key}/{}/{}", news.policy, news.version, paths.join(","));
            let data = json!({
                "policy": news.policy.to_string(),
                "object": key.to_ref(None),
                "owner": owner,
                "drifts": news.detected_drifts.iter().map(drift_data).collect::<Vec<_>>(),
            });
            let id = format!("{occurrence}/detected");
            self.notify_owner(NotificationType::DriftDetected, &id, &news.policy, key, owner, &data);
            if !news.recurred.is_empty() {
                let data = json!({
                    "policy": news.policy.to_string(),
                    "object": key.to_ref(None),
                    "owner": owner,
                    "paths": news.recurred,
                });
                let id = format!("{occurrence}/recurred");
                self.notify_owner(NotificationType::DriftRecurred, &id, &news.policy, key, owner, &data);
            }
        }
        if news.escalated.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for decided in &news.escalated {
            match &decided.action {
                Action::Escalate { reason } => {
                    self.metrics.escalated(reason);
                    lines.push(format!("{}: {reason}", decided.drift.path));
                }
                _ => {
                    self.metrics.escalated_because("Audit");
                    lines.push(format!("{}: reported (Audit mode)", decided.drift.path));
                }
            }
        }
        let message = match owner {
            Some(owner) => format!("escalated to {owner}: {}", lines.join("; ")),
            None => lines.join("; "),
        };
        // A field another writer keeps reverting is a conflict to settle, said as such.
        let fought = news
            .escalated
            .iter()
            .any(|d| matches!(d.action, Action::Escalate { reason: EscalationReason::Flapping { .. } }));
        let reason = if fought { reasons::FLAPPING_DETECTED } else { reasons::DRIFT_ESCALATED };
        let paths: Vec<&str> = news.escalated.iter().map(|d| d.drift.path.as_str()).collect();
        // One occurrence, one id: the same escalation decided again (after a restart, say)
        // is announced once.
        let occurrence = format!("{}/{key}/{}/{}", news.policy, news.version, paths.join(","));
        let event = self.announcement(key, &news.policy, EventType::Warning, reason, message.clone());
        self.enqueue(format!("event/{occurrence}/{reason}"), Pending::Event(event), Some(key));
        let data = json!({
            "policy": news.policy.to_string(),
            "object": key.to_ref(None),
            "owner": owner,
            "drifts": news.escalated.iter().map(drift_data).collect::<Vec<_>>(),
            "message": message,
        });
        let id = format!("{occurrence}/escalated");
        self.notify_owner(NotificationType::DriftEscalated, &id, &news.policy, key, owner, &data);
    }

    /// Notifies the policy's sink and the routes of `owner` that are sent `kind`, the
    /// occurrence `id` once per sink. Nothing is queued when no sink wants it.
    pub(super) fn notify_owner(
        &mut self,
        kind: NotificationType,
        id: &str,
        policy: &PolicyKey,
        key: &ObjectKey,
        owner: Option<&str>,
        data: &Value,
    ) {
        let sinks = self.policies.get(policy).map(|p| p.sinks_for(kind, owner)).unwrap_or_default();
        for sink in sinks {
            self.notify(&sink, kind, id.to_string(), policy, key, data.clone());
        }
    }

    pub(super) fn notify(
        &mut self,
        sink: &Sink,
        kind: NotificationType,
        id: String,
        policy: &PolicyKey,
        key: &ObjectKey,
        data: Value,
    ) {
        let source = match &policy.namespace {
            Some(ns) => format!("/apis/driftwarden.dev/v1alpha1/namespaces/{ns}/driftpolicies/{}", policy.name),
            None => format!("/apis/driftwarden.dev/v1alpha1/clusterdriftpolicies/{}", policy.name),
        };
        let notification = Notification { id, kind, source, subject: Some(key.to_string()), time: self.now, data };
        self.send_notification(sink.clone(), notification, Some(key));
    }

    /// Puts a notification in the ledger's outbox (beside the records of the object it is
    /// `about`): delivered once recorded, and by the next leader should this one stop
    /// before it is delivered. A sink whose `types` leave out the notification's type is
    /// not sent it.
    pub(super) fn send_notification(&mut self, sink: Sink, notification: Notification, about: Option<&ObjectKey>) {
        let spec = &sink.spec;
        if !spec.sends(notification.kind) {
            return;
        }
        let id = format!(
            "notification/{}/{}/{}/{}",
            sink.namespace, spec.url_secret_ref.name, spec.url_secret_ref.key, notification.id
        );
        self.enqueue(id, Pending::Notification { sink, notification }, about);
    }

    /// Publishes an Event on the object and on the policy. The runtime's recorder
    /// aggregates repeats into a series instead of new Events.
    pub(super) fn publish(
        &mut self,
        key: &ObjectKey,
        policy: &PolicyKey,
        type_: EventType,
        reason: &'static str,
        message: String,
    ) {
        let announcement = self.announcement(key, policy, type_, reason, message);
        self.effects.push(Effect::Publish(announcement));
    }

    /// An Event on the object and on the policy, with their uids when known.
    fn announcement(
        &self,
        key: &ObjectKey,
        policy: &PolicyKey,
        type_: EventType,
        reason: &'static str,
        message: String,
    ) -> Announcement {
        let object_uid = self.kinds.get(&key.kind).and_then(|kind| kind.cache.uid(key));
        let policy_uid = self.policies.get(policy).and_then(|entry| entry.uid.clone());
        Announcement { object: key.clone(), object_uid, policy: policy.clone(), policy_uid, type_, reason, message }
    }
}
