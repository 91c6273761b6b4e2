//! Each effect carried out: requests run as tasks of their own and send their outcome back
//! to the loop, so the loop never waits on the API server.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{Instrument, debug, error, warn};

use super::{Runtime, requests};
use crate::keys::{ObjectKey, PolicyKey};
use crate::operator::ledger::{Delivery, Pending};
use crate::operator::metrics::{InternalErrorKind, Metrics, NotificationResult};
use crate::operator::notify::Receipt;
use crate::operator::reconciler::{Announcement, Effect, EventType, Outcome, OwnResource, fix_span};
use crate::operator::reconciler::{ReportError, RequestError, panic_message};
use crate::operator::remediate::{self, FixError, FixResult};
use crate::operator::{recreation_runner, watch};
use crate::reconcile::sinks::SinkHealth;

impl Runtime {
    /// Carries out one effect.
    pub(super) fn execute(&mut self, effect: Effect) {
        let client = self.client.clone();
        let tx = self.outcomes_tx.clone();
        let send = sender(&tx);
        let metrics = self.metrics.clone();
        // A task that panics sends the outcome the loop waits for as a failure, so the
        // loop never waits forever on a task that died, and tries again as after any failure.
        let spawn = |task: Task, fallback: Fallback| spawn_contained(metrics, task, fallback);
        match effect {
            Effect::Discover(kind) => {
                let (sent, failed) = (sender(&tx), kind.clone());
                spawn(
                    Box::pin(async move {
                        let result = watch::resolve(&client, &kind).await;
                        sent(Outcome::Resolved(kind, result));
                    }),
                    Box::new(move |panic| send(Outcome::Resolved(failed, Err(watch::WatchError::Internal(panic))))),
                );
            }
            Effect::Watch { kind, spec } => {
                let task = watch::watch_kind(
                    client,
                    kind.clone(),
                    &spec,
                    &self.settings.watch_namespaces,
                    self.watched_tx.clone(),
                );
                if let Some((Some(previous), _)) = self.watches.insert(kind, (Some(task), spec)) {
                    previous.abort();
                }
            }
            Effect::Unwatch(kind) => {
                if let Some((Some(task), _)) = self.watches.remove(&kind) {
                    task.abort();
                }
            }
            Effect::Fix { fix, parts, recreation, attempt, started } => {
                let span = fix_span(&fix.key, &parts, attempt);
                let (sent, key, fixed) = (sender(&tx), fix.key.clone(), parts.clone());
                let client = self.accounts.client(fix.acting_as.as_ref());
                spawn(
                    Box::pin(
                        async move {
                            let (result, denied) = match (client, recreation) {
                                (Err(problem), _) => {
                                    (FixResult::DryRunRejected { error: FixError::Internal(problem) }, None)
                                }
                                (Ok(client), None) => remediate::apply(client, &fix).await,
                                (Ok(client), Some(Ok(recreation))) => {
                                    recreation_runner::run(client, &fix, &recreation).await
                                }
                                (Ok(_), Some(Err(refused))) => {
                                    (FixResult::DryRunRejected { error: refused.into() }, None)
                                }
                            };
                            debug!(result = result.category(), "fix ended");
                            sent(Outcome::Fixed { key: fix.key, fixed: parts, result, denied, started, attempt });
                        }
                        .instrument(span),
                    ),
                    Box::new(move |panic| {
                        let result = FixResult::ApplyFailed { error: FixError::Internal(panic) };
                        send(Outcome::Fixed { key, fixed, result, denied: None, started, attempt });
                    }),
                );
            }
            Effect::CheckFix { fix, campaign } => {
                let span = tracing::info_span!("fix", object = %fix.key, campaign = %campaign.campaign, attempt = 1);
                let (sent, key, asked) = (sender(&tx), fix.key.clone(), campaign.clone());
                let client = self.accounts.client(fix.acting_as.as_ref());
                spawn(
                    Box::pin(
                        async move {
                            let (result, denied) = match client {
                                Ok(client) => remediate::apply(client, &fix).await,
                                Err(problem) => {
                                    (FixResult::DryRunRejected { error: FixError::Internal(problem) }, None)
                                }
                            };
                            sent(Outcome::CheckFixed { campaign, key: fix.key, result, denied });
                        }
                        .instrument(span),
                    ),
                    Box::new(move |panic| {
                        let result = FixResult::ApplyFailed { error: FixError::Internal(panic) };
                        send(Outcome::CheckFixed { campaign: asked, key, result, denied: None });
                    }),
                );
            }
            Effect::WritePolicyStatus { policy, status } => {
                let manager = self.settings.status_manager.clone();
                let (sent, failed) = (sender(&tx), policy.clone());
                spawn(
                    Box::pin(async move {
                        let result =
                            requests::write_policy_status(client, &policy, &manager, &status).await.map(|()| status);
                        sent(Outcome::StatusWritten(policy, result));
                    }),
                    Box::new(move |panic| send(Outcome::StatusWritten(failed, Err(RequestError::Internal(panic))))),
                );
            }
            Effect::ReadAsset { campaign, key, resource, namespaced, metadata_only } => {
                let (sent, failed) = (sender(&tx), (campaign.clone(), key.clone()));
                spawn(
                    Box::pin(async move {
                        let read = requests::read_asset(client, &key, &resource, namespaced, metadata_only).await;
                        sent(Outcome::FindingRead { campaign, key, read });
                    }),
                    Box::new(move |panic| {
                        let (campaign, key) = failed;
                        send(Outcome::FindingRead { campaign, key, read: Err(RequestError::Internal(panic)) });
                    }),
                );
            }
            Effect::CheckApprovalPolicy(name) => {
                let sent = sender(&tx);
                spawn(
                    Box::pin(async move {
                        sent(Outcome::ApprovalPolicyChecked(requests::approval_policy_installed(client, &name).await));
                    }),
                    Box::new(move |panic| send(Outcome::ApprovalPolicyChecked(Err(RequestError::Internal(panic))))),
                );
            }
            Effect::ReviewApproval { campaign, key, review } => {
                let (sent, failed) = (sender(&tx), (campaign.clone(), key.clone(), review.clone()));
                spawn(
                    Box::pin(async move {
                        let allowed = requests::review_approval(client, &review).await;
                        sent(Outcome::ApprovalReviewed { campaign, key, review, allowed });
                    }),
                    Box::new(move |panic| {
                        let (campaign, key, review) = failed;
                        let allowed = Err(RequestError::Internal(panic));
                        send(Outcome::ApprovalReviewed { campaign, key, review, allowed });
                    }),
                );
            }
            Effect::WriteFinding(write) => {
                let manager = self.settings.field_manager.clone();
                let status_manager = self.settings.status_manager.clone();
                let (sent, failed) = (sender(&tx), (write.campaign.clone(), write.key.clone()));
                spawn(
                    Box::pin(async move {
                        let written = requests::write_finding(client, &write, &manager, &status_manager).await;
                        sent(Outcome::FindingWritten { campaign: write.campaign, key: write.key, written });
                    }),
                    Box::new(move |panic| {
                        let (campaign, key) = failed;
                        send(Outcome::FindingWritten { campaign, key, written: Err(RequestError::Internal(panic)) });
                    }),
                );
            }
            Effect::MarkFindingInvalid { namespace, name, conditions } => {
                let manager = self.settings.status_manager.clone();
                spawn(
                    Box::pin(async move {
                        if let Err(err) =
                            requests::mark_finding_invalid(client, &namespace, &name, &manager, &conditions).await
                        {
                            warn!(finding = %format!("{namespace}/{name}"), "marking a finding's spec invalid failed: {err}");
                        }
                    }),
                    Box::new(|_| {}),
                );
            }
            Effect::DeleteFinding { campaign, namespace, name } => {
                spawn(
                    Box::pin(async move {
                        if let Err(err) = requests::delete_finding(client, &namespace, &name).await {
                            warn!(%campaign, finding = %name, "deleting a finding out of scope failed: {err}");
                        }
                    }),
                    Box::new(|_| {}),
                );
            }
            Effect::WriteCampaignStatus { name, status } => {
                let manager = self.settings.status_manager.clone();
                let (sent, failed) = (sender(&tx), name.clone());
                spawn(
                    Box::pin(async move {
                        let result = requests::write_campaign_status(client, &name, &manager, status).await;
                        sent(Outcome::CampaignWritten(name, result));
                    }),
                    Box::new(move |panic| send(Outcome::CampaignWritten(failed, Err(RequestError::Internal(panic))))),
                );
            }
            Effect::WriteExceptionStatus { key, status } => {
                let manager = self.settings.status_manager.clone();
                let (sent, failed) = (sender(&tx), key.clone());
                spawn(
                    Box::pin(async move {
                        let result = requests::write_exception_status(client, &key, &manager, status).await;
                        sent(Outcome::ExceptionWritten(key, result));
                    }),
                    Box::new(move |panic| send(Outcome::ExceptionWritten(failed, Err(RequestError::Internal(panic))))),
                );
            }
            Effect::DiscoverPolicyReports => {
                let watched = self.settings.watch_namespaces.clone();
                let sent = sender(&tx);
                spawn(
                    Box::pin(async move {
                        sent(Outcome::PolicyReportsServed(requests::discover_reports(&client, &watched).await));
                    }),
                    Box::new(move |panic| send(Outcome::PolicyReportsServed(Err(ReportError::Internal(panic))))),
                );
            }
            Effect::WritePolicyReport { namespace, resource, body } => {
                let manager = self.settings.status_manager.clone();
                let (sent, failed) = (sender(&tx), namespace.clone());
                spawn(
                    Box::pin(async move {
                        let written =
                            requests::write_report(client, resource, namespace.as_deref(), &manager, body).await;
                        sent(Outcome::PolicyReportWritten(namespace, written));
                    }),
                    Box::new(move |panic| {
                        send(Outcome::PolicyReportWritten(failed, Err(ReportError::Internal(panic))))
                    }),
                );
            }
            Effect::PublishOn { resource, uid, type_, reason, message } => {
                let recorder = self.recorder.clone();
                let event = KubeEvent {
                    type_: kube_type(type_),
                    reason: reason.to_string(),
                    note: Some(message),
                    action: "Reconcile".to_string(),
                    secondary: None,
                };
                let reference = match &resource {
                    OwnResource::Policy(policy) => policy_reference(policy, uid),
                    OwnResource::Campaign(name) => k8s_openapi::api::core::v1::ObjectReference {
                        api_version: Some("driftwarden.dev/v1alpha1".to_string()),
                        kind: Some("RemediationCampaign".to_string()),
                        name: Some(name.clone()),
                        uid,
                        ..Default::default()
                    },
                    OwnResource::Exception(namespace, name) | OwnResource::Finding(namespace, name) => {
                        k8s_openapi::api::core::v1::ObjectReference {
                            api_version: Some("driftwarden.dev/v1alpha1".to_string()),
                            kind: Some(
                                if matches!(resource, OwnResource::Finding(..)) { "Finding" } else { "DriftException" }
                                    .to_string(),
                            ),
                            namespace: Some(namespace.clone()),
                            name: Some(name.clone()),
                            uid,
                            ..Default::default()
                        }
                    }
                };
                tokio::spawn(async move {
                    if let Err(err) = recorder.publish(&event, &reference).await {
                        debug!("event not published: {err}");
                    }
                });
            }
            Effect::Publish(announcement) => drop(self.publish(announcement)),
            Effect::RetainSinks(used) => self.notifier.retain_sinks(&used),
            Effect::WriteAdmission(write) => {
                let manager = self.settings.field_manager.clone();
                let (sent, failed) = (sender(&tx), write.clone());
                spawn(
                    Box::pin(async move {
                        let result = requests::write_admission(client, &write, &manager).await;
                        sent(Outcome::AdmissionWritten { write, result });
                    }),
                    Box::new(move |panic| {
                        send(Outcome::AdmissionWritten { write: failed, result: Err(RequestError::Internal(panic)) })
                    }),
                );
            }
            Effect::CheckAdmission(write) => {
                let (sent, failed) = (sender(&tx), write.clone());
                spawn(
                    Box::pin(async move {
                        let result = requests::check_admission(client, &write).await;
                        sent(Outcome::AdmissionChecked { write, result });
                    }),
                    Box::new(move |panic| {
                        send(Outcome::AdmissionChecked { write: failed, result: Err(RequestError::Internal(panic)) })
                    }),
                );
            }
            Effect::SweepAdmission { keep } => {
                let sent = sender(&tx);
                spawn(
                    Box::pin(
                        async move { sent(Outcome::AdmissionSwept(requests::sweep_admission(client, &keep).await)) },
                    ),
                    Box::new(move |panic| send(Outcome::AdmissionSwept(Err(RequestError::Internal(panic))))),
                );
            }
            Effect::WriteLedger(write) => {
                let namespace = self.settings.namespace.clone();
                let (sent, index, serial) = (sender(&tx), write.index, write.serial);
                spawn(
                    Box::pin(async move {
                        let result = requests::write_ledger(client, &namespace, &write).await;
                        sent(Outcome::LedgerWritten { index: write.index, serial: write.serial, result });
                    }),
                    Box::new(move |panic| {
                        send(Outcome::LedgerWritten { index, serial, result: Err(RequestError::Internal(panic)) })
                    }),
                );
            }
            Effect::Deliver { id, pending: Pending::Event(announcement) } => {
                let published = self.publish(announcement);
                tokio::spawn(async move {
                    let delivery = match published.await {
                        Ok(true) => Delivery::Delivered,
                        _ => Delivery::Failed,
                    };
                    send(Outcome::Delivered { id, delivery });
                });
            }
            Effect::Deliver { id, pending: Pending::Notification { sink, notification } } => {
                let key = sink.key();
                let receipt: Receipt = Box::new(move |result, error| {
                    // What the delivery says of the sink's configuration, for the condition
                    // on what names it: a failure of the sink itself says nothing of it.
                    let health = match (result, error) {
                        (NotificationResult::Delivered, _) => Some(SinkHealth::Delivered),
                        (_, Some(error)) if error.is_misconfiguration() => {
                            Some(SinkHealth::Refused { reason: error.category(), message: error.to_string() })
                        }
                        _ => None,
                    };
                    if let Some(health) = health {
                        send(Outcome::SinkChecked { sink: key, health });
                    }
                    let delivery = match result {
                        NotificationResult::Delivered | NotificationResult::Duplicate => Delivery::Delivered,
                        NotificationResult::Rejected => Delivery::Refused,
                        NotificationResult::Exhausted
                        | NotificationResult::Misconfigured
                        | NotificationResult::Dropped => Delivery::Failed,
                    };
                    send(Outcome::Delivered { id, delivery });
                });
                self.notifier.send_with_receipt(&sink, notification, Some(receipt));
            }
        }
    }

    /// Publishes an Event on the object and one on its policy. The task answers whether
    /// both were published.
    fn publish(&self, announcement: Announcement) -> tokio::task::JoinHandle<bool> {
        let Announcement { object: key, object_uid, policy, policy_uid, type_, reason, message } = announcement;
        let recorder = self.recorder.clone();
        let type_ = kube_type(type_);
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
            let mut published = true;
            for (event, reference) in [(on_object, object), (on_policy, policy_ref)] {
                if let Err(err) = recorder.publish(&event, &reference).await {
                    debug!("event not published: {err}");
                    published = false;
                }
            }
            published
        })
    }
}

/// A request's task.
pub(super) type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a task that panicked does instead, given the panic's message.
pub(super) type Fallback = Box<dyn FnOnce(String) + Send>;

/// Sends an outcome to the loop. The loop has stopped when nobody receives: the outcome no
/// longer matters then.
fn sender(tx: &UnboundedSender<Outcome>) -> impl Fn(Outcome) + Send + 'static {
    let tx = tx.clone();
    move |outcome| {
        let _ = tx.send(outcome);
    }
}

fn kube_type(type_: EventType) -> KubeEventType {
    match type_ {
        EventType::Normal => KubeEventType::Normal,
        EventType::Warning => KubeEventType::Warning,
    }
}

/// Runs `task` as a task of its own. Should it panic, the panic is logged and counted
/// (`driftwarden_internal_errors_total{kind="task"}`) and `fallback` is given its message.
pub(super) fn spawn_contained(metrics: Arc<Metrics>, task: Task, fallback: Fallback) {
    tokio::spawn(async move {
        if let Err(panic) = AssertUnwindSafe(task).catch_unwind().await {
            let message = panic_message(panic);
            error!("a task of the operator panicked, its work is retried as a failure: {message}");
            metrics.internal_error(InternalErrorKind::Task);
            fallback(message);
        }
    });
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
