//! Each effect carried out: requests run as tasks of their own and send their outcome back
//! to the loop, so the loop never waits on the API server.

use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType};
use tracing::{Instrument, debug, warn};

use super::{Runtime, requests};
use crate::keys::{ObjectKey, PolicyKey};
use crate::operator::reconciler::{Announcement, Effect, EventType, Outcome, fix_span};
use crate::operator::remediate::{self, FixResult};
use crate::operator::{recreation_runner, watch};

impl Runtime {
    /// Carries out one effect.
    pub(super) fn execute(&mut self, effect: Effect) {
        let client = self.client.clone();
        let tx = self.outcomes_tx.clone();
        let send = move |outcome| {
            // The loop has stopped when nobody receives: the outcome no longer matters.
            let _ = tx.send(outcome);
        };
        match effect {
            Effect::Discover(kind) => {
                tokio::spawn(async move {
                    let result = watch::resolve(&client, &kind).await;
                    send(Outcome::Resolved(kind, result));
                });
            }
            Effect::Watch { kind, resource, namespaced, mask } => {
                let task = watch::watch_kind(
                    client,
                    kind.clone(),
                    resource,
                    namespaced,
                    &self.settings.watch_namespaces,
                    mask,
                    self.watched_tx.clone(),
                );
                if let Some(previous) = self.watches.insert(kind, task) {
                    previous.abort();
                }
            }
            Effect::Unwatch(kind) => {
                if let Some(task) = self.watches.remove(&kind) {
                    task.abort();
                }
            }
            Effect::Fix { fix, parts, recreation, attempt, started } => {
                let span = fix_span(&fix.key, &parts, attempt);
                tokio::spawn(
                    async move {
                        let (result, denied) = match recreation {
                            None => remediate::apply(client, &fix).await,
                            Some(Ok(recreation)) => (recreation_runner::run(client, &fix, &recreation).await, None),
                            Some(Err(refused)) => (FixResult::DryRunRejected { error: refused.into() }, None),
                        };
                        debug!(result = result.category(), "fix ended");
                        send(Outcome::Fixed { key: fix.key, fixed: parts, result, denied, started, attempt });
                    }
                    .instrument(span),
                );
            }
            Effect::CheckFix { fix, campaign } => {
                let span = tracing::info_span!("fix", object = %fix.key, campaign = %campaign.campaign, attempt = 1);
                tokio::spawn(
                    async move {
                        let (result, denied) = remediate::apply(client, &fix).await;
                        send(Outcome::CheckFixed { campaign, key: fix.key, result, denied });
                    }
                    .instrument(span),
                );
            }
            Effect::WritePolicyStatus { policy, status } => {
                let manager = self.settings.status_manager.clone();
                tokio::spawn(async move {
                    let result =
                        requests::write_policy_status(client, &policy, &manager, &status).await.map(|()| status);
                    send(Outcome::StatusWritten(policy, result));
                });
            }
            Effect::ReadAsset { campaign, key, resource, namespaced } => {
                tokio::spawn(async move {
                    let read = requests::read_asset(client, &key, &resource, namespaced).await;
                    send(Outcome::FindingRead { campaign, key, read });
                });
            }
            Effect::WriteFinding(write) => {
                let manager = self.settings.field_manager.clone();
                let status_manager = self.settings.status_manager.clone();
                tokio::spawn(async move {
                    let written = requests::write_finding(client, &write, &manager, &status_manager).await;
                    send(Outcome::FindingWritten { campaign: write.campaign, key: write.key, written });
                });
            }
            Effect::DeleteFinding { campaign, namespace, name } => {
                tokio::spawn(async move {
                    if let Err(err) = requests::delete_finding(client, &namespace, &name).await {
                        warn!(%campaign, finding = %name, "deleting a finding out of scope failed: {err}");
                    }
                });
            }
            Effect::WriteCampaignStatus { name, status } => {
                let manager = self.settings.status_manager.clone();
                tokio::spawn(async move {
                    let result = requests::write_campaign_status(client, &name, &manager, status).await;
                    send(Outcome::CampaignWritten(name, result));
                });
            }
            Effect::WriteExceptionStatus { key, status } => {
                let manager = self.settings.status_manager.clone();
                tokio::spawn(async move {
                    let result = requests::write_exception_status(client, &key, &manager, status).await;
                    send(Outcome::ExceptionWritten(key, result));
                });
            }
            Effect::DiscoverPolicyReports => {
                let watched = self.settings.watch_namespaces.clone();
                tokio::spawn(async move {
                    send(Outcome::PolicyReportsServed(requests::discover_reports(&client, &watched).await));
                });
            }
            Effect::WritePolicyReport { namespace, resource, body } => {
                let manager = self.settings.status_manager.clone();
                tokio::spawn(async move {
                    let written = requests::write_report(client, resource, namespace.as_deref(), &manager, body).await;
                    send(Outcome::PolicyReportWritten(namespace, written));
                });
            }
            Effect::Publish(announcement) => self.publish(announcement),
            Effect::Notify { sink, notification } => {
                self.notifier.send(&sink, notification);
            }
        }
    }

    /// Publishes an Event on the object and one on its policy.
    fn publish(&self, announcement: Announcement) {
        let Announcement { object: key, object_uid, policy, policy_uid, type_, reason, message } = announcement;
        let recorder = self.recorder.clone();
        let type_ = match type_ {
            EventType::Normal => KubeEventType::Normal,
            EventType::Warning => KubeEventType::Warning,
        };
        let object = object_reference(&key, object_uid);
        let policy_ref = policy_reference(&policy, policy_uid);
        let on_object = KubeEvent {
            type_,
            reason: reason.to_string(),
            note: Some(format!("{message} (policy {policy})")),
            action: "Reconcile".to_string(),
            secondary: Some(policy_ref.clone()),
        };
        // On the policy, one Event per reason that counts up as a series (the recorder
        // aggregates Events with the same reason and no related object): a campaign fixing
        // ten thousand objects leaves one Event there, not ten thousand. Each object's own
        // Event says what was done to it.
        let on_policy = KubeEvent {
            type_,
            reason: reason.to_string(),
            note: Some(format!(
                "{reason} on governed objects, the first {key}: {message}; each object's Events tell the rest"
            )),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        tokio::spawn(async move {
            for (event, reference) in [(on_object, object), (on_policy, policy_ref)] {
                if let Err(err) = recorder.publish(&event, &reference).await {
                    debug!("event not published: {err}");
                }
            }
        });
    }
}

fn object_reference(key: &ObjectKey, uid: Option<String>) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(key.kind.api_version.clone()),
        kind: Some(key.kind.kind.clone()),
        namespace: key.namespace.clone(),
        name: Some(key.name.clone()),
        uid,
        ..Default::default()
    }
}

fn policy_reference(policy: &PolicyKey, uid: Option<String>) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("driftwarden.dev/v1alpha1".to_string()),
        kind: Some(policy.kind().to_string()),
        namespace: policy.namespace.clone(),
        name: Some(policy.name.clone()),
        uid,
        ..Default::default()
    }
}
