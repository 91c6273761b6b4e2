//! PolicyReports in the operator's loop. When the `wgpolicyk8s.io` CRDs are served, the
//! results of every policy are written as one PolicyReport per namespace and one
//! ClusterPolicyReport (see [`policy_report`]), gathered on the status tick, with server-side
//! apply under the status field manager, and only when a report says something new (times
//! aside). A namespace left without results loses its report. When the CRDs are not
//! served, nothing is written and discovery is asked again on the kinds' retry interval.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use kube::api::ApiResource;
use tracing::{debug, info, warn};

use super::{Effect, Reconciler};
use crate::keys::PolicyKey;
use crate::operator::watch;
use crate::reconcile::policies::STATUS_BACKOFF;
use crate::reconcile::policy_report::{self, ReportBody};

/// The report kinds the API server serves, and the reports driftwarden wrote before it
/// (re)started, by namespace (`None`: the ClusterPolicyReport).
#[derive(Debug)]
pub struct Served {
    pub namespaced: ApiResource,
    pub cluster: Option<ApiResource>,
    pub existing: Vec<Option<String>>,
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
pub type Written = Result<Option<ReportBody>, ReportError>;

/// Why reports cannot be published, or one could not be written. A message carries its
/// cause's text too, as kube's own errors do; the cause stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
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
    /// The task sending the request panicked (a bug, caught); it is tried again.
    #[error("the request failed inside driftwarden: {0}")]
    Internal(String),
}

impl ReportError {
    /// A stable PascalCase label for logs.
    pub(super) fn category(&self) -> &'static str {
        match self {
            Self::NotServed { source } => source.category(),
            Self::List { .. } => "ReportListFailed",
            Self::Apply { .. } | Self::Delete { .. } => "ReportWriteFailed",
            Self::Internal(_) => "InternalError",
        }
    }
}

impl Reconciler {
    /// Brings the reports up to date with every policy's targets; called on each tick,
    /// before the policies' status is flushed (which clears their `dirty` flags).
    pub(super) fn flush_reports(&mut self, now: Timestamp) {
        let writer = &mut self.reports;
        let Some(served) = &writer.served else {
            if !writer.looking && writer.next_lookup.is_none_or(|at| at <= now) {
                writer.looking = true;
                self.effects.push(Effect::DiscoverPolicyReports);
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
            self.effects.push(Effect::WritePolicyReport { namespace, resource, body });
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
                writer.next_lookup = Some(self.now + retry);
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
                writer.retry_at = Some(STATUS_BACKOFF.retry_at(writer.failures, self.now));
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
