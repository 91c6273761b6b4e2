//! The operator's Prometheus metrics.
//!
//! Every label is a closed set (an enum, a remediation class, an error category, a condition
//! type or a kind name), never the name of an object: a metric's cardinality must not grow
//! with the cluster. [`Metrics::encode`] renders the OpenMetrics text served on `/metrics`.
//!
//! The chart's Grafana dashboard and Prometheus alerts query these metrics by name; a test
//! (`tests/chart_observability.rs`) checks that each name they use is one encoded here.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Uri};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Client;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::wrapped::wrapped_client;
use crate::api::campaign::FindingCounts;
use crate::api::common::RemediationClass;
use crate::api::reasons::types;
use crate::engine::decide::EscalationReason;
use crate::reconcile::campaigns::CampaignEntry;
use crate::reconcile::policies::PolicyEntry;

/// The upper bounds (seconds) of the latency histograms: 5 ms to 60 s.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a remediation ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RemediationResult {
    /// Applied and proven by a fresh read.
    Verified,
    /// Applied but not proven, or the apply failed.
    Failed,
    /// The server-side dry-run refused the fix, so nothing was applied.
    DryRunRejected,
}

/// What became of one notification.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum NotificationResult {
    /// The sink accepted it (2xx).
    Delivered,
    /// The sink refused it with a status that retrying cannot change (4xx other than 408 and 429).
    Rejected,
    /// Every attempt failed with a retryable error.
    Exhausted,
    /// The sink is misconfigured (missing Secret or key, invalid URL or header).
    Misconfigured,
    /// The delivery queue was full, so it was never attempted.
    Dropped,
    /// The same event was already sent (or is queued) for this sink.
    Duplicate,
}

/// A Kubernetes API verb, for counting requests.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Verb {
    /// `get`
    Get,
    /// `list`
    List,
    /// `watch`
    Watch,
    /// `create`
    Create,
    /// `update`
    Update,
    /// `patch` (server-side apply included)
    Patch,
    /// `delete`
    Delete,
}

/// Gives a closed set a snake_case `as_str` and encodes it as that label value.
macro_rules! label_value {
    ($ty:ident { $($variant:ident => $value:literal),+ $(,)? }) => {
        impl $ty {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }
        }

        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                self.as_str().encode(encoder)
            }
        }
    };
}

/// Why a request to the Kubernetes API server failed.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ApiErrorReason {
    /// 400 or 422: the request or the object it carried is invalid.
    Invalid,
    /// 401: the credentials were refused.
    Unauthorized,
    /// 403: RBAC (or an admission check) refused the request.
    Forbidden,
    /// 404: the object does not exist (often expected: a read of something deleted).
    NotFound,
    /// 409: another writer changed the object, a field manager conflict, or it exists already.
    Conflict,
    /// 410: a watch or list asked for a version the server no longer holds.
    Gone,
    /// 429: the server throttled the request.
    Throttled,
    /// Another 4xx status.
    ClientError,
    /// A 5xx status.
    ServerError,
    /// No answer: the connection failed, or a step before the server refused to send it.
    NoResponse,
}

impl ApiErrorReason {
    /// The reason of an answer with `status`; `None` for a success (or a redirect).
    pub fn of_status(status: http::StatusCode) -> Option<Self> {
        Some(match status.as_u16() {
            400 | 422 => Self::Invalid,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            410 => Self::Gone,
            429 => Self::Throttled,
            400..=499 => Self::ClientError,
            500..=599 => Self::ServerError,
            _ => return None,
        })
    }
}

label_value!(ApiErrorReason {
    Invalid => "invalid",
    Unauthorized => "unauthorized",
    Forbidden => "forbidden",
    NotFound => "not_found",
    Conflict => "conflict",
    Gone => "gone",
    Throttled => "throttled",
    ClientError => "client_error",
    ServerError => "server_error",
    NoResponse => "no_response",
});

label_value!(RemediationResult { Verified => "verified", Failed => "failed", DryRunRejected => "dry_run_rejected" });
label_value!(NotificationResult {
    Delivered => "delivered",
    Rejected => "rejected",
    Exhausted => "exhausted",
    Misconfigured => "misconfigured",
    Dropped => "dropped",
    Duplicate => "duplicate",
});
label_value!(Verb {
    Get => "get",
    List => "list",
    Watch => "watch",
    Create => "create",
    Update => "update",
    Patch => "patch",
    Delete => "delete",
});

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RemediationLabels {
    class: &'static str,
    result: RemediationResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    result: NotificationResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    controller: &'static str,
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// What a caught panic was handling.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum InternalErrorKind {
    /// Compiling a policy.
    Policy,
    /// Evaluating one object against one policy.
    Object,
    /// One campaign's step (its waves, its accounting).
    Campaign,
    /// One exception's status.
    Exception,
    /// A task of the runtime (a request, a watch).
    Task,
    /// One input of the loop, outside any one resource's boundary: the input is dropped
    /// and the loop goes on.
    Input,
}

label_value!(InternalErrorKind {
    Policy => "policy",
    Object => "object",
    Campaign => "campaign",
    Exception => "exception",
    Task => "task",
    Input => "input",
});

/// How a write of the ledger ended, or what it had to drop.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum LedgerEvent {
    /// A bucket was written.
    Written,
    /// A bucket write failed (it is tried again).
    WriteFailed,
    /// An announcement was dropped: its bucket was full, or it failed every round.
    AnnouncementDropped,
    /// Fix history was dropped because its bucket was full.
    HistoryTrimmed,
    /// An escalation record was dropped because its bucket was full (it may be announced
    /// again after a restart).
    EscalationTrimmed,
}

label_value!(LedgerEvent {
    Written => "written",
    WriteFailed => "write_failed",
    AnnouncementDropped => "announcement_dropped",
    HistoryTrimmed => "history_trimmed",
    EscalationTrimmed => "escalation_trimmed",
});

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LedgerLabels {
    event: LedgerEvent,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InternalErrorLabels {
    kind: InternalErrorKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerbLabels {
    verb: Verb,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiErrorLabels {
    verb: Verb,
    reason: ApiErrorReason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    condition: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The campaign conditions `driftwarden_campaigns` counts, by their `type`.
pub const CAMPAIGN_CONDITIONS: [&str; 5] =
    [types::ON_TRACK, types::AT_RISK, types::COMPLETED, types::DEADLINE_MISSED, types::STALLED];

/// The finding states `driftwarden_campaign_findings` counts, as `status.state` shows them.
pub const FINDING_STATES: [&str; 7] =
    ["Open", "Remediating", "Verifying", "Closed", "Escalated", "Excepted", "Reopened"];

/// What the leading replica holds at one moment, for the gauges it sets on every tick:
/// the policies whose circuit breaker is open, and its campaigns by condition and their
/// findings by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// Policies in Enforce mode whose circuit breaker is open.
    pub circuit_breakers_open: usize,
    /// How many campaigns have each of [`CAMPAIGN_CONDITIONS`] `True`, in that order.
    pub campaigns: [usize; CAMPAIGN_CONDITIONS.len()],
    /// The findings of every campaign, by state, as their statuses count them.
    pub findings: FindingCounts,
}

impl Standing {
    /// What `policies` and `campaigns` stand at now.
    pub fn of<'a>(
        policies: impl IntoIterator<Item = &'a PolicyEntry>,
        campaigns: impl IntoIterator<Item = &'a CampaignEntry>,
    ) -> Self {
        let mut standing = Standing {
            circuit_breakers_open: policies.into_iter().filter(|p| p.circuit_open().is_some()).count(),
            ..Standing::default()
        };
        for campaign in campaigns {
            standing.count_campaign(&campaign.status.conditions, &campaign.status.findings);
        }
        standing
    }

    /// Counts one campaign with `conditions` and `findings`.
    pub fn count_campaign(&mut self, conditions: &[Condition], findings: &FindingCounts) {
        for (count, type_) in self.campaigns.iter_mut().zip(CAMPAIGN_CONDITIONS) {
            if conditions.iter().any(|c| c.type_ == type_ && c.status == "True") {
                *count += 1;
            }
        }
        let total = &mut self.findings;
        total.open += findings.open;
        total.remediating += findings.remediating;
        total.verifying += findings.verifying;
        total.closed += findings.closed;
        total.escalated += findings.escalated;
        total.excepted += findings.excepted;
        total.reopened += findings.reopened;
    }
}

/// A count as a gauge's value.
fn gauge_value(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The operator's metrics, registered under the `driftwarden_` prefix. Cheap to share
/// behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    drifts_detected: Family<ClassLabels, Counter>,
    remediations: Family<RemediationLabels, Counter>,
    escalations: Family<ReasonLabels, Counter>,
    notifications: Family<NotificationLabels, Counter>,
    drift_to_verified: Histogram,
    reconcile_duration: Family<ControllerLabels, Histogram, fn() -> Histogram>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    watched_objects: Family<KindLabels, Gauge>,
    api_requests: Family<VerbLabels, Counter>,
    internal_errors: Family<InternalErrorLabels, Counter>,
    leader: Gauge,
    ledger: Family<LedgerLabels, Counter>,
    backlog: Gauge,
    api_errors: Family<ApiErrorLabels, Counter>,
    circuit_breakers_open: Gauge,
    campaigns: Family<ConditionLabels, Gauge>,
    campaign_findings: Family<StateLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("driftwarden");
        let drifts_detected = Family::<ClassLabels, Counter>::default();
        let remediations = Family::<RemediationLabels, Counter>::default();
        let escalations = Family::<ReasonLabels, Counter>::default();
        let notifications = Family::<NotificationLabels, Counter>::default();
        let drift_to_verified = latency_histogram();
        let reconcile_duration: Family<ControllerLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let watched_objects = Family::<KindLabels, Gauge>::default();
        let api_requests = Family::<VerbLabels, Counter>::default();
        let internal_errors = Family::<InternalErrorLabels, Counter>::default();
        let leader = Gauge::default();
        let ledger = Family::<LedgerLabels, Counter>::default();
        let backlog = Gauge::default();
        let api_errors = Family::<ApiErrorLabels, Counter>::default();
        let circuit_breakers_open = Gauge::default();
        let campaigns = Family::<ConditionLabels, Gauge>::default();
        let campaign_findings = Family::<StateLabels, Gauge>::default();

        registry.register("drifts_detected", "Drifts detected, by remediation class", drifts_detected.clone());
        registry.register("remediations", "Fixes attempted, by class and result", remediations.clone());
        registry.register("escalations", "Drifts escalated to a person, by reason", escalations.clone());
        registry.register("notifications", "CloudEvents notifications, by outcome", notifications.clone());
        registry.register(
            "drift_to_verified_seconds",
            "Time from a drift being observed to its fix being verified",
            drift_to_verified.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconciliation, by controller",
            reconcile_duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconciliations, by controller and error category",
            reconcile_errors.clone(),
        );
        registry.register("watched_objects", "Objects held in the watch caches, by kind", watched_objects.clone());
        registry.register("api_requests", "Requests sent to the Kubernetes API server, by verb", api_requests.clone());
        registry.register(
            "internal_errors",
            "Panics caught while handling one resource, by what was handled",
            internal_errors.clone(),
        );
        registry.register("leader", "Whether this replica leads and reconciles (1) or stands by (0)", leader.clone());
        registry.register("ledger", "Writes of the announcement ledger and what it dropped, by event", ledger.clone());
        registry.register(
            "announcement_backlog",
            "Announcements (escalation Events and notifications) decided and not yet delivered",
            backlog.clone(),
        );
        registry.register(
            "api_errors",
            "Requests to the Kubernetes API server that failed, by verb and reason",
            api_errors.clone(),
        );
        registry.register(
            "circuit_breakers_open",
            "Policies whose circuit breaker is open: more of their targets drift than maxDriftedPercent allows",
            circuit_breakers_open.clone(),
        );
        registry.register(
            "campaigns",
            "RemediationCampaigns whose condition is True, by condition type",
            campaigns.clone(),
        );
        registry.register(
            "campaign_findings",
            "Findings of every RemediationCampaign, by state",
            campaign_findings.clone(),
        );

        let metrics = Metrics {
            registry,
            drifts_detected,
            remediations,
            escalations,
            notifications,
            drift_to_verified,
            reconcile_duration,
            reconcile_errors,
            watched_objects,
            api_requests,
            internal_errors,
            leader,
            ledger,
            backlog,
            api_errors,
            circuit_breakers_open,
            campaigns,
            campaign_findings,
        };
        // Every campaign condition and finding state is a series from the start, at 0, so
        // that dashboards and alerts read a value rather than nothing.
        metrics.set_standing(&Standing::default());
        metrics
    }

    /// Sets the gauges of what the leader holds now (see [`Standing`]).
    pub fn set_standing(&self, standing: &Standing) {
        self.circuit_breakers_open.set(gauge_value(standing.circuit_breakers_open));
        for (condition, count) in CAMPAIGN_CONDITIONS.into_iter().zip(standing.campaigns) {
            self.campaigns.get_or_create(&ConditionLabels { condition }).set(gauge_value(count));
        }
        let findings = &standing.findings;
        let counts = [
            findings.open,
            findings.remediating,
            findings.verifying,
            findings.closed,
            findings.escalated,
            findings.excepted,
            findings.reopened,
        ];
        for (state, count) in FINDING_STATES.into_iter().zip(counts) {
            self.campaign_findings.get_or_create(&StateLabels { state }).set(gauge_value(count));
        }
    }

    /// How many policies have their circuit breaker open, as last set.
    pub fn circuit_breakers_open(&self) -> i64 {
        self.circuit_breakers_open.get()
    }

    /// How many campaigns have `condition` (one of [`CAMPAIGN_CONDITIONS`]) `True`, as last set.
    pub fn campaigns(&self, condition: &'static str) -> i64 {
        self.campaigns.get_or_create(&ConditionLabels { condition }).get()
    }

    /// How many findings of every campaign are in `state` (one of [`FINDING_STATES`]), as
    /// last set.
    pub fn campaign_findings(&self, state: &'static str) -> i64 {
        self.campaign_findings.get_or_create(&StateLabels { state }).get()
    }

    /// Counts `count` ledger events of one kind.
    pub fn ledger(&self, event: LedgerEvent, count: u64) {
        if count > 0 {
            self.ledger.get_or_create(&LedgerLabels { event }).inc_by(count);
        }
    }

    /// How many ledger events of one kind were counted.
    pub fn ledger_events(&self, event: LedgerEvent) -> u64 {
        self.ledger.get_or_create(&LedgerLabels { event }).get()
    }

    /// Sets how many announcements wait for delivery.
    pub fn set_backlog(&self, count: usize) {
        self.backlog.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// How many announcements wait for delivery.
    pub fn backlog(&self) -> i64 {
        self.backlog.get()
    }

    /// Counts a detected drift whose fix is of `class`.
    pub fn drift_detected(&self, class: RemediationClass) {
        self.drifts_detected.get_or_create(&ClassLabels { class: class.as_str() }).inc();
    }

    /// Counts a remediation of `class` that ended with `result`.
    pub fn remediation(&self, class: RemediationClass, result: RemediationResult) {
        self.remediations.get_or_create(&RemediationLabels { class: class.as_str(), result }).inc();
    }

    /// Counts an escalation decided by the engine.
    pub fn escalated(&self, reason: &EscalationReason) {
        self.escalated_because(reason.category());
    }

    /// Counts an escalation for a reason outside the engine's decision (such as a fix that
    /// failed verification); `category` is a PascalCase error or reason category.
    pub fn escalated_because(&self, category: &'static str) {
        self.escalations.get_or_create(&ReasonLabels { reason: category }).inc();
    }

    /// Counts a notification that ended with `result`.
    pub fn notification(&self, result: NotificationResult) {
        self.notifications.get_or_create(&NotificationLabels { result }).inc();
    }

    /// Records the time from a drift being observed to its fix being verified.
    pub fn drift_to_verified(&self, elapsed: Duration) {
        self.drift_to_verified.observe(elapsed.as_secs_f64());
    }

    /// Records how long one reconciliation of `controller` (such as `"DriftPolicy"`) took.
    pub fn reconcile_duration(&self, controller: &'static str, elapsed: Duration) {
        self.reconcile_duration.get_or_create(&ControllerLabels { controller }).observe(elapsed.as_secs_f64());
    }

    /// Counts a failed reconciliation of `controller`; `category` is the error's
    /// PascalCase `category()`.
    pub fn reconcile_error(&self, controller: &'static str, category: &'static str) {
        self.reconcile_errors.get_or_create(&ErrorLabels { controller, category }).inc();
    }

    /// Sets how many objects of `kind` the watch caches hold. Kinds are few (one per
    /// watched resource), so the label stays bounded.
    pub fn set_watched_objects(&self, kind: &str, count: u64) {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.watched_objects.get_or_create(&KindLabels { kind: kind.to_string() }).set(count);
    }

    /// Forgets the gauge of a kind that is no longer watched.
    pub fn remove_watched_kind(&self, kind: &str) {
        self.watched_objects.remove(&KindLabels { kind: kind.to_string() });
    }

    /// Counts a panic caught while handling one resource of `kind`.
    pub fn internal_error(&self, kind: InternalErrorKind) {
        self.internal_errors.get_or_create(&InternalErrorLabels { kind }).inc();
    }

    /// How many panics were caught while handling resources of `kind`.
    pub fn internal_errors(&self, kind: InternalErrorKind) -> u64 {
        self.internal_errors.get_or_create(&InternalErrorLabels { kind }).get()
    }

    /// Counts a request sent to the Kubernetes API server.
    pub fn api_request(&self, verb: Verb) {
        self.api_requests.get_or_create(&VerbLabels { verb }).inc();
    }

    /// Counts a request to the Kubernetes API server that failed.
    pub fn api_error(&self, verb: Verb, reason: ApiErrorReason) {
        self.api_errors.get_or_create(&ApiErrorLabels { verb, reason }).inc();
    }

    /// How many requests with `verb` failed for `reason`.
    pub fn api_errors(&self, verb: Verb, reason: ApiErrorReason) -> u64 {
        self.api_errors.get_or_create(&ApiErrorLabels { verb, reason }).get()
    }

    /// Records whether this replica leads. A replica that stops leading forgets what it
    /// held (the [`Standing`] gauges go back to 0): only the leader reports policies and
    /// campaigns, so a standby's gauges never double what the leader reports.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
        if !leading {
            self.set_standing(&Standing::default());
        }
    }

    /// The metrics in the OpenMetrics text format (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in the encoder.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "the metrics could not be encoded");
        }
        out
    }
}

/// The verb of a request to the Kubernetes API server, read from its method and URL: a
/// `GET` of a collection is a `list`, or a `watch` with `watch=true`.
pub fn verb_of(method: &Method, uri: &Uri) -> Verb {
    match *method {
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE => Verb::Delete,
        _ if watches(uri) => Verb::Watch,
        _ if is_collection(uri.path()) => Verb::List,
        _ => Verb::Get,
    }
}

fn watches(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(key, value)| key == "watch" && (value == "true" || value == "1"))
    })
}

/// Whether `path` names a collection (`/api/v1/namespaces/ns/configmaps`), not one object
/// or a discovery document.
fn is_collection(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    };
    let rest = match rest {
        Some([namespaces, _, rest @ ..]) if *namespaces == "namespaces" && !rest.is_empty() => rest,
        Some(rest) => rest,
        None => return false,
    };
    rest.len() == 1
}

/// A client that sends through `client` and counts every request in
/// `driftwarden_api_requests_total`, by verb: watches, lists, fixes, status writes and
/// Events alike; and each that failed (an error status, or no answer) in
/// `driftwarden_api_errors_total`, by verb and reason.
pub fn counting_client(client: Client, metrics: Arc<Metrics>) -> Client {
    wrapped_client(client, move |client, request| {
        let verb = verb_of(request.method(), request.uri());
        metrics.api_request(verb);
        let metrics = metrics.clone();
        Box::pin(async move {
            let answer = client.send(request).await;
            let failed = match &answer {
                Ok(response) => ApiErrorReason::of_status(response.status()),
                Err(_) => Some(ApiErrorReason::NoResponse),
            };
            if let Some(reason) = failed {
                metrics.api_error(verb, reason);
            }
            answer
        })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Parses the sample lines of OpenMetrics text into `name{labels}` → value.
    fn samples(text: &str) -> BTreeMap<String, f64> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
                (series.to_string(), value.parse::<f64>().expect("the value is a number"))
            })
            .collect()
    }

    #[test]
    fn counters_carry_typed_labels() {
        let metrics = Metrics::new();
        metrics.drift_detected(RemediationClass::Metadata);
        metrics.drift_detected(RemediationClass::Metadata);
        metrics.drift_detected(RemediationClass::Rollout);
        metrics.remediation(RemediationClass::Spec, RemediationResult::Verified);
        metrics.remediation(RemediationClass::Spec, RemediationResult::DryRunRejected);
        metrics.escalated(&EscalationReason::Conflict { manager: "argocd-controller".to_string() });
        metrics.escalated_because("VerificationFailed");
        metrics.notification(NotificationResult::Dropped);
        metrics.reconcile_error("DriftPolicy", "Forbidden");
        metrics.api_request(Verb::Patch);

        let text = metrics.encode();
        let samples = samples(&text);
        assert_eq!(samples[r#"driftwarden_drifts_detected_total{class="Metadata"}"#], 2.0);
        assert_eq!(samples[r#"driftwarden_drifts_detected_total{class="Rollout"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_remediations_total{class="Spec",result="verified"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_remediations_total{class="Spec",result="dry_run_rejected"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_escalations_total{reason="Conflict"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_escalations_total{reason="VerificationFailed"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_notifications_total{result="dropped"}"#], 1.0);
        assert_eq!(
            samples[r#"driftwarden_reconcile_errors_total{controller="DriftPolicy",category="Forbidden"}"#],
            1.0
        );
        assert_eq!(samples[r#"driftwarden_api_requests_total{verb="patch"}"#], 1.0);
        assert!(!text.contains("argocd-controller"), "a manager name must not become a label: {text}");
        assert!(text.contains("# TYPE driftwarden_drifts_detected counter"), "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF: {text}");
    }

    #[test]
    fn latency_histograms_span_five_milliseconds_to_a_minute() {
        let metrics = Metrics::new();
        metrics.drift_to_verified(Duration::from_millis(3));
        metrics.drift_to_verified(Duration::from_millis(700));
        metrics.drift_to_verified(Duration::from_secs(90));
        metrics.reconcile_duration("DriftPolicy", Duration::from_millis(20));

        let samples = samples(&metrics.encode());
        assert_eq!(samples[r#"driftwarden_drift_to_verified_seconds_bucket{le="0.005"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_drift_to_verified_seconds_bucket{le="1.0"}"#], 2.0);
        assert_eq!(samples[r#"driftwarden_drift_to_verified_seconds_bucket{le="60.0"}"#], 2.0);
        assert_eq!(samples[r#"driftwarden_drift_to_verified_seconds_bucket{le="+Inf"}"#], 3.0);
        assert_eq!(samples["driftwarden_drift_to_verified_seconds_count"], 3.0);
        let sum = samples["driftwarden_drift_to_verified_seconds_sum"];
        assert!((sum - 90.703).abs() < 1e-9, "sum {sum}");
        assert_eq!(
            samples[r#"driftwarden_reconcile_duration_seconds_bucket{le="0.025",controller="DriftPolicy"}"#],
            1.0
        );
        assert_eq!(
            samples[r#"driftwarden_reconcile_duration_seconds_bucket{le="0.01",controller="DriftPolicy"}"#],
            0.0
        );
    }

    #[test]
    fn verbs_are_read_from_method_and_url() {
        let verb = |method: Method, uri: &str| verb_of(&method, &uri.parse::<Uri>().unwrap());
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/shop/configmaps"), Verb::List);
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/shop/configmaps?watch=true&resourceVersion=5"), Verb::Watch);
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/shop/configmaps/settings"), Verb::Get);
        assert_eq!(verb(Method::GET, "/api/v1/namespaces"), Verb::List);
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/shop"), Verb::Get);
        assert_eq!(verb(Method::GET, "/apis/apps/v1/deployments?limit=500"), Verb::List);
        assert_eq!(verb(Method::GET, "/apis/apps/v1/namespaces/shop/deployments/web/status"), Verb::Get);
        assert_eq!(verb(Method::GET, "/apis/apps/v1"), Verb::Get);
        assert_eq!(verb(Method::GET, "/version"), Verb::Get);
        assert_eq!(verb(Method::PATCH, "/apis/driftwarden.dev/v1alpha1/clusterdriftpolicies/p/status"), Verb::Patch);
        assert_eq!(verb(Method::POST, "/apis/events.k8s.io/v1/namespaces/shop/events"), Verb::Create);
        assert_eq!(verb(Method::PUT, "/api/v1/namespaces/shop/configmaps/settings"), Verb::Update);
        assert_eq!(verb(Method::DELETE, "/api/v1/namespaces/shop/configmaps/settings"), Verb::Delete);
    }

    #[test]
    fn leadership_is_a_gauge() {
        let metrics = Metrics::new();
        assert_eq!(samples(&metrics.encode())["driftwarden_leader"], 0.0);
        metrics.set_leader(true);
        assert_eq!(samples(&metrics.encode())["driftwarden_leader"], 1.0);
    }

    #[test]
    fn api_errors_are_read_from_the_status_or_the_missing_answer() {
        let reason = |code: u16| ApiErrorReason::of_status(http::StatusCode::from_u16(code).unwrap());
        assert_eq!(reason(200), None);
        assert_eq!(reason(201), None);
        assert_eq!(reason(304), None);
        assert_eq!(reason(400), Some(ApiErrorReason::Invalid));
        assert_eq!(reason(422), Some(ApiErrorReason::Invalid));
        assert_eq!(reason(401), Some(ApiErrorReason::Unauthorized));
        assert_eq!(reason(403), Some(ApiErrorReason::Forbidden));
        assert_eq!(reason(404), Some(ApiErrorReason::NotFound));
        assert_eq!(reason(409), Some(ApiErrorReason::Conflict));
        assert_eq!(reason(410), Some(ApiErrorReason::Gone));
        assert_eq!(reason(429), Some(ApiErrorReason::Throttled));
        assert_eq!(reason(408), Some(ApiErrorReason::ClientError));
        assert_eq!(reason(500), Some(ApiErrorReason::ServerError));
        assert_eq!(reason(504), Some(ApiErrorReason::ServerError));
    }

    #[tokio::test]
    async fn the_counting_client_counts_requests_and_their_failures_by_verb() {
        use kube::client::Body;

        // An API server that answers with the status the request's path names, and drops
        // the connection for `/drop`.
        let server = crate::operator::wrapped::answered_by(|request: http::Request<Body>| {
            let path = request.uri().path().to_string();
            Box::pin(async move {
                if path.ends_with("/drop") {
                    return Err(kube::Error::Service("connection reset".into()));
                }
                let code: u16 = path.rsplit('-').next().and_then(|c| c.parse().ok()).unwrap_or(200);
                let mut response = http::Response::new(Body::from(b"{}".to_vec()));
                *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
                Ok(response)
            })
        });
        let metrics = Arc::new(Metrics::new());
        let client = counting_client(server, metrics.clone());
        let send = |method: Method, path: &str| {
            let request = http::Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
            let client = client.clone();
            async move { client.send(request).await }
        };
        send(Method::GET, "/api/v1/namespaces/shop/configmaps/cm-200").await.unwrap();
        send(Method::GET, "/api/v1/namespaces/shop/configmaps/cm-404").await.unwrap();
        send(Method::PATCH, "/api/v1/namespaces/shop/configmaps/cm-409").await.unwrap();
        send(Method::PATCH, "/api/v1/namespaces/shop/configmaps/cm-409").await.unwrap();
        send(Method::PATCH, "/api/v1/namespaces/shop/configmaps/cm-503").await.unwrap();
        assert!(send(Method::GET, "/api/v1/namespaces/shop/configmaps/drop").await.is_err());

        let samples = samples(&metrics.encode());
        assert_eq!(samples[r#"driftwarden_api_requests_total{verb="get"}"#], 3.0);
        assert_eq!(samples[r#"driftwarden_api_requests_total{verb="patch"}"#], 3.0);
        assert_eq!(samples[r#"driftwarden_api_errors_total{verb="get",reason="not_found"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_api_errors_total{verb="get",reason="no_response"}"#], 1.0);
        assert_eq!(samples[r#"driftwarden_api_errors_total{verb="patch",reason="conflict"}"#], 2.0);
        assert_eq!(samples[r#"driftwarden_api_errors_total{verb="patch",reason="server_error"}"#], 1.0);
        let errors: f64 =
            samples.iter().filter(|(k, _)| k.starts_with("driftwarden_api_errors_total")).map(|(_, v)| v).sum();
        assert_eq!(errors, 5.0, "the success is not an error: {samples:?}");
    }

    #[test]
    fn the_standing_gauges_start_at_zero_and_a_replica_that_stops_leading_forgets_them() {
        use crate::api::campaign::FindingCounts;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

        for state in FINDING_STATES {
            let parsed = serde_json::from_value::<crate::api::finding::FindingState>(serde_json::json!(state));
            assert!(parsed.is_ok(), "{state} is a finding state as status.state shows it");
        }
        let metrics = Metrics::new();
        let text = metrics.encode();
        let zero = samples(&text);
        assert_eq!(zero["driftwarden_circuit_breakers_open"], 0.0);
        for condition in CAMPAIGN_CONDITIONS {
            assert_eq!(zero[&format!(r#"driftwarden_campaigns{{condition="{condition}"}}"#)], 0.0, "{text}");
        }
        for state in FINDING_STATES {
            assert_eq!(zero[&format!(r#"driftwarden_campaign_findings{{state="{state}"}}"#)], 0.0, "{text}");
        }

        let condition = |type_: &str, status: &str| Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: "Test".to_string(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
        };
        let mut standing = Standing { circuit_breakers_open: 2, ..Standing::default() };
        let late = [condition("AtRisk", "True"), condition("DeadlineMissed", "True"), condition("OnTrack", "False")];
        standing.count_campaign(&late, &FindingCounts { open: 3, escalated: 1, ..FindingCounts::default() });
        let done = [condition("Completed", "True"), condition("AtRisk", "False")];
        standing.count_campaign(&done, &FindingCounts { closed: 4, excepted: 1, ..FindingCounts::default() });
        metrics.set_leader(true);
        metrics.set_standing(&standing);
        let set = samples(&metrics.encode());
        assert_eq!(set["driftwarden_circuit_breakers_open"], 2.0);
        assert_eq!(set[r#"driftwarden_campaigns{condition="AtRisk"}"#], 1.0);
        assert_eq!(set[r#"driftwarden_campaigns{condition="DeadlineMissed"}"#], 1.0);
        assert_eq!(set[r#"driftwarden_campaigns{condition="Completed"}"#], 1.0);
        assert_eq!(set[r#"driftwarden_campaigns{condition="OnTrack"}"#], 0.0);
        assert_eq!(set[r#"driftwarden_campaign_findings{state="Open"}"#], 3.0);
        assert_eq!(set[r#"driftwarden_campaign_findings{state="Escalated"}"#], 1.0);
        assert_eq!(set[r#"driftwarden_campaign_findings{state="Closed"}"#], 4.0);
        assert_eq!(set[r#"driftwarden_campaign_findings{state="Excepted"}"#], 1.0);

        metrics.set_leader(false);
        let after = samples(&metrics.encode());
        assert_eq!(after["driftwarden_circuit_breakers_open"], 0.0, "a standby reports nothing it held");
        assert_eq!(after[r#"driftwarden_campaigns{condition="AtRisk"}"#], 0.0);
        assert_eq!(after[r#"driftwarden_campaign_findings{state="Closed"}"#], 0.0);
    }

    #[test]
    fn watched_objects_gauge_is_set_and_removed_per_kind() {
        let metrics = Metrics::new();
        metrics.set_watched_objects("Deployment", 12);
        metrics.set_watched_objects("ConfigMap", 3);
        metrics.set_watched_objects("Deployment", 10);
        let samples = samples(&metrics.encode());
        assert_eq!(samples[r#"driftwarden_watched_objects{kind="Deployment"}"#], 10.0);
        assert_eq!(samples[r#"driftwarden_watched_objects{kind="ConfigMap"}"#], 3.0);

        metrics.remove_watched_kind("ConfigMap");
        let samples = self::samples(&metrics.encode());
        assert!(!samples.contains_key(r#"driftwarden_watched_objects{kind="ConfigMap"}"#));
    }
}
