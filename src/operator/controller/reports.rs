//! PolicyReports in the operator's loop. When the `wgpolicyk8s.io` CRDs are served, the
//! results of every policy are written as one PolicyReport per namespace and one
//! ClusterPolicyReport (see [`policy_report`]), gathered on the status tick, with server-side
//! apply under the status field manager, and only when a report says something new (times
//! aside). A namespace left without results loses its report. When the CRDs are not
//! served, nothing is written and discovery is asked again on the kinds' retry interval.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use tracing::{debug, info, warn};

use super::{Controller, Report};
use crate::operator::keys::{KindKey, PolicyKey};
use crate::operator::policy_report::{self, API_VERSION, MANAGED_BY, REPORT_NAME, ReportBody, report_kind};
use crate::operator::state::STATUS_BACKOFF;
use crate::operator::watch;

/// The report kinds the API server serves, and the reports driftwarden wrote before it
/// (re)started, by namespace (`None`: the ClusterPolicyReport).
#[derive(Debug)]
pub(super) struct Served {
    namespaced: ApiResource,
    cluster: Option<ApiResource>,
    existing: Vec<Option<String>>,
}

/// What the loop knows of its reports.
#[derive(Debug, Default)]
pub(super) struct ReportWriter {
    /// `None` until discovery finds the PolicyReport kind.
    served: Option<Served>,
    looking: bool,
    next_lookup: Option<Timestamp>,
    /// What each report holds as last written; `None` for a report found at start, whose
    /// content is not known.
    written: BTreeMap<Option<String>, Option<ReportBody>>,
    writing: BTreeSet<Option<String>>,
    /// The policies the last reports were built from: a deleted policy changes them too.
    built_from: Vec<PolicyKey>,
    /// Something changed that the reports do not show yet.
    pending: bool,
    failures: u32,
    retry_at: Option<Timestamp>,
}

/// How one report write ended: `Ok(None)` when the report was deleted.
pub(super) type Written = Result<Option<ReportBody>, ReportError>;

/// Why reports cannot be published, or one could not be written. A message carries its
/// cause's text too, as kube's own errors do; the cause stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReportError {
    /// Discovery does not find the PolicyReport kind.
    #[error("{source}")]
    NotServed {
        #[source]
        source: watch::WatchError,
    },
    /// Listing the reports written before failed.
    #[error("listing {kind}s failed: {source}")]
    List {
        kind: &'static str,
        #[source]
        source: kube::Error,
    },
    /// Applying a report failed.
    #[error("applying {report}: {source}")]
    Apply {
        report: String,
        #[source]
        source: kube::Error,
    },
    /// Deleting a report failed.
    #[error("deleting {report}: {source}")]
    Delete {
        report: String,
        #[source]
        source: kube::Error,
    },
}

impl ReportError {
    /// A stable PascalCase label for logs.
    pub(super) fn category(&self) -> &'static str {
        match self {
            Self::NotServed { source } => source.category(),
            Self::List { .. } => "ReportListFailed",
            Self::Apply { .. } | Self::Delete { .. } => "ReportWriteFailed",
        }
    }
}

impl Controller {
    /// Brings the reports up to date with every policy's targets; called on each tick,
    /// before the policies' status is flushed (which clears their `dirty` flags).
    pub(super) fn flush_reports(&mut self, now: Timestamp) {
        let writer = &mut self.reports;
        let Some(served) = &writer.served else {
            if !writer.looking && writer.next_lookup.is_none_or(|at| at <= now) {
                writer.looking = true;
                let client = self.client.clone();
                let tx = self.reports_tx.clone();
                let watched = self.settings.watch_namespaces.clone();
                tokio::spawn(async move {
                    let _ = tx.send(Report::PolicyReportsServed(discover(&client, &watched).await));
                });
            }
            return;
        };
        let keys: Vec<PolicyKey> = self.policies.keys().cloned().collect();
        if self.policies.values().any(|p| p.dirty) || keys != writer.built_from {
            writer.pending = true;
            writer.built_from = keys;
        }
        if !writer.pending || !writer.writing.is_empty() || writer.retry_at.is_some_and(|at| at > now) {
            return;
        }
        writer.pending = false;
        let mut desired = policy_report::build(&self.policies, now);
        if served.cluster.is_none() && desired.remove(&None).is_some() {
            debug!("ClusterPolicyReport is not served: results of cluster-scoped objects are not published");
        }
        let namespaces: BTreeSet<Option<String>> = desired.keys().chain(writer.written.keys()).cloned().collect();
        for namespace in namespaces {
            let resource = match &namespace {
                Some(_) => served.namespaced.clone(),
                None => match &served.cluster {
                    Some(resource) => resource.clone(),
                    None => continue,
                },
            };
            let body = match (desired.remove(&namespace), writer.written.get(&namespace)) {
                (Some(body), Some(Some(old))) if body.same_ignoring_time(old) => continue,
                (Some(mut body), Some(Some(old))) => {
                    body.keep_times_from(old);
                    Some(body)
                }
                (Some(body), _) => Some(body),
                (None, Some(_)) => None,
                (None, None) => continue,
            };
            writer.writing.insert(namespace.clone());
            let client = self.client.clone();
            let manager = self.settings.status_manager.clone();
            let tx = self.reports_tx.clone();
            tokio::spawn(async move {
                let written = write(client, resource, namespace.as_deref(), &manager, body).await;
                let _ = tx.send(Report::PolicyReportWritten(namespace, written));
            });
        }
    }

    pub(super) fn on_reports_served(&mut self, served: Result<Served, ReportError>) {
        let writer = &mut self.reports;
        writer.looking = false;
        match served {
            Ok(served) => {
                info!(cluster = served.cluster.is_some(), "PolicyReports are served: publishing results");
                writer.written = served.existing.iter().map(|namespace| (namespace.clone(), None)).collect();
                writer.served = Some(served);
                writer.pending = true;
            }
            Err(error) => {
                debug!(category = error.category(), "PolicyReports are not published: {error}");
                let retry = jiff::SignedDuration::try_from(self.settings.discovery_retry).unwrap_or_default();
                writer.next_lookup = Some(self.settings.clock.now() + retry);
            }
        }
    }

    pub(super) fn on_report_written(&mut self, namespace: Option<String>, written: Written) {
        let writer = &mut self.reports;
        writer.writing.remove(&namespace);
        match written {
            Ok(Some(body)) => {
                writer.written.insert(namespace, Some(body));
                writer.failures = 0;
            }
            Ok(None) => {
                writer.written.remove(&namespace);
                writer.failures = 0;
            }
            Err(error) => {
                // A failed write is tried again, later each time.
                writer.failures += 1;
                writer.retry_at = Some(STATUS_BACKOFF.retry_at(writer.failures, self.settings.clock.now()));
                writer.pending = true;
                let report = namespace.as_deref().unwrap_or("(cluster)");
                warn!(
                    namespace = report,
                    failures = writer.failures,
                    category = error.category(),
                    "PolicyReport write failed, retrying: {error}"
                );
            }
        }
    }
}

/// Asks discovery whether the report kinds are served and lists the reports driftwarden
/// wrote before, so that those of namespaces without results any more are deleted. Confined
/// to `watched` namespaces, it lists only there and publishes no ClusterPolicyReport.
async fn discover(client: &Client, watched: &[String]) -> Result<Served, ReportError> {
    let kind = |name: &str| KindKey::new(API_VERSION, name);
    let (namespaced, _) =
        watch::resolve(client, &kind(report_kind(true))).await.map_err(|source| ReportError::NotServed { source })?;
    let cluster = match watched.is_empty() {
        true => watch::resolve(client, &kind(report_kind(false))).await.ok().map(|(resource, _)| resource),
        false => None,
    };
    let selector = ListParams::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let apis: Vec<Api<DynamicObject>> = match watched {
        [] => vec![Api::all_with(client.clone(), &namespaced)],
        some => some.iter().map(|ns| Api::namespaced_with(client.clone(), ns, &namespaced)).collect(),
    };
    let mut existing = Vec::new();
    for api in apis {
        let listed =
            api.list(&selector).await.map_err(|source| ReportError::List { kind: report_kind(true), source })?;
        existing.extend(
            listed
                .items
                .iter()
                .filter(|report| report.metadata.name.as_deref() == Some(REPORT_NAME))
                .map(|report| report.metadata.namespace.clone()),
        );
    }
    if let Some(cluster) = &cluster {
        let listed = Api::<DynamicObject>::all_with(client.clone(), cluster)
            .list(&selector)
            .await
            .map_err(|source| ReportError::List { kind: report_kind(false), source })?;
        if listed.items.iter().any(|report| report.metadata.name.as_deref() == Some(REPORT_NAME)) {
            existing.push(None);
        }
    }
    Ok(Served { namespaced, cluster, existing })
}

/// Applies `body` as the report of `namespace` (`None`: the ClusterPolicyReport), or
/// deletes that report when `body` is `None`.
async fn write(
    client: Client,
    resource: ApiResource,
    namespace: Option<&str>,
    manager: &str,
    body: Option<ReportBody>,
) -> Written {
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client, namespace, &resource),
        None => Api::all_with(client, &resource),
    };
    let report = format!("{} {}{REPORT_NAME}", resource.kind, namespace.map(|ns| format!("{ns}/")).unwrap_or_default());
    match body {
        Some(body) => api
            .patch(REPORT_NAME, &PatchParams::apply(manager).force(), &Patch::Apply(&body.to_object(namespace)))
            .await
            .map(|_| Some(body))
            .map_err(|source| ReportError::Apply { report, source }),
        None => match api.delete(REPORT_NAME, &DeleteParams::default()).await {
            Ok(_) => Ok(None),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(source) => Err(ReportError::Delete { report, source }),
        },
    }
}
