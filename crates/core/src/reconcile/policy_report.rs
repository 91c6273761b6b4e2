//! driftwarden's results as `wgpolicyk8s.io/v1alpha2` PolicyReports, so that dashboards
//! built for them (Policy Reporter) show them beside other engines' results: one
//! `PolicyReport` named `driftwarden` per namespace, one `ClusterPolicyReport` of the same
//! name for cluster-scoped objects. This module only builds the reports from what the
//! operator remembers of its policies ([`super::policies`]); the operator writes them.
//!
//! One result per policy, governed object and part of the policy (`rule`: the template
//! source, `baseline <name>` or `resource <kind> <name>`):
//! - `pass`: the object holds the template;
//! - `fail`: it drifts and a person must act (escalated, Audit mode, or the fix failed);
//! - `warn`: it drifts and driftwarden is fixing it or will (a window, the rate limit);
//! - `skip`: its drift is covered by a DriftException, or the object opts out with
//!   `driftwarden.dev/enforce: disabled`.
//!
//! `category` is the remediation class of the drift (absent on `pass`), and `severity`
//! follows the class as it does for campaign findings: `Access` is `critical`, `SecretData`
//! `high`, `Rollout`, `Create` and `Recreate` `medium`, `Spec` and `Metadata` `low`.
//! Messages name paths and actions, never values.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::policies::{DecidedDrift, PolicyEntry, TargetState};
use crate::api::ObjectRef;
use crate::api::finding::Severity;
use crate::engine::campaign::drift_severity;
use crate::engine::classify::riskiest;
use crate::engine::decide::Action;
use crate::keys::{ObjectKey, PolicyKey};

/// The API version of PolicyReport and ClusterPolicyReport.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// The name of every report driftwarden writes.
pub const REPORT_NAME: &str = "driftwarden";
/// The `source` of every result.
pub const SOURCE: &str = "driftwarden";
/// The label that marks driftwarden's reports.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "driftwarden");

/// The outcome of one result.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Warn,
    Skip,
}

/// When a result was produced, as PolicyReports spell it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultTime {
    pub seconds: i64,
    pub nanos: i32,
}

impl From<Timestamp> for ResultTime {
    fn from(time: Timestamp) -> Self {
        Self { seconds: time.as_second(), nanos: time.subsec_nanosecond() }
    }
}

/// One result of a report.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub policy: String,
    pub rule: String,
    pub result: Outcome,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    pub message: String,
    pub resources: Vec<ObjectRef>,
    pub timestamp: ResultTime,
    /// `owner`: the team accountable for a drifted object.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<&'static str, String>,
}

/// How many results of each outcome a report holds.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pass: u32,
    pub fail: u32,
    pub warn: u32,
    pub error: u32,
    pub skip: u32,
}

/// The results of one report and their summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportBody {
    pub results: Vec<ReportResult>,
    pub summary: Summary,
}

impl ReportBody {
    fn push(&mut self, result: ReportResult) {
        match result.result {
            Outcome::Pass => self.summary.pass += 1,
            Outcome::Fail => self.summary.fail += 1,
            Outcome::Warn => self.summary.warn += 1,
            Outcome::Skip => self.summary.skip += 1,
        }
        self.results.push(result);
    }

    /// Whether the two reports say the same, whenever their results were produced.
    pub fn same_ignoring_time(&self, other: &Self) -> bool {
        self.summary == other.summary
            && self.results.len() == other.results.len()
            && self.results.iter().zip(&other.results).all(|(a, b)| same_result(a, b))
    }

    /// Keeps the timestamp of every result that `previous` already held unchanged, so a
    /// result's time says when it last changed.
    pub fn keep_times_from(&mut self, previous: &Self) {
        for result in &mut self.results {
            if let Some(old) = previous.results.iter().find(|old| same_result(old, result)) {
                result.timestamp = old.timestamp;
            }
        }
    }

    /// The whole object to apply: a PolicyReport in `namespace`, or the
    /// ClusterPolicyReport when `namespace` is `None`.
    pub fn to_object(&self, namespace: Option<&str>) -> Value {
        let mut metadata = json!({"name": REPORT_NAME, "labels": {MANAGED_BY.0: MANAGED_BY.1}});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": report_kind(namespace.is_some()),
            "metadata": metadata,
            "summary": self.summary,
            "results": self.results,
        })
    }
}

/// `PolicyReport` for a namespace, `ClusterPolicyReport` for cluster-scoped objects.
pub fn report_kind(namespaced: bool) -> &'static str {
    if namespaced { "PolicyReport" } else { "ClusterPolicyReport" }
}

fn same_result(a: &ReportResult, b: &ReportResult) -> bool {
    ReportResult { timestamp: b.timestamp, ..a.clone() } == *b
}

/// The reports every policy's targets make, by namespace (`None`: cluster-scoped objects).
/// A namespace without results has no entry.
pub fn build(policies: &BTreeMap<PolicyKey, PolicyEntry>, now: Timestamp) -> BTreeMap<Option<String>, ReportBody> {
    let mut reports: BTreeMap<Option<String>, ReportBody> = BTreeMap::new();
    for (policy_key, policy) in policies {
        for (key, target) in policy.targets() {
            let report = reports.entry(key.namespace.clone()).or_default();
            for rule in rules_of(target) {
                let drifts: Vec<&DecidedDrift> = target.drifts.iter().filter(|d| d.source == rule).collect();
                report.push(result_for(policy_key, key, target, rule, &drifts, now));
            }
        }
    }
    reports.retain(|_, report| !report.results.is_empty());
    reports
}

/// The parts of the policy that govern the target, with any that only its drifts name.
fn rules_of(target: &TargetState) -> Vec<&str> {
    let mut rules: Vec<&str> = target.sources.iter().map(String::as_str).collect();
    for drift in &target.drifts {
        if !rules.contains(&drift.source.as_str()) {
            rules.push(&drift.source);
        }
    }
    rules
}

fn result_for(
    policy: &PolicyKey,
    key: &ObjectKey,
    target: &TargetState,
    rule: &str,
    drifts: &[&DecidedDrift],
    now: Timestamp,
) -> ReportResult {
    let open: Vec<&DecidedDrift> =
        drifts.iter().copied().filter(|d| !matches!(d.action, Action::Excepted { .. })).collect();
    let (outcome, counted) = if drifts.is_empty() {
        (Outcome::Pass, drifts)
    } else if open.is_empty() || target.opted_out {
        (Outcome::Skip, drifts)
    } else if target.failure.is_some()
        || open.iter().any(|d| matches!(d.action, Action::Escalate { .. } | Action::Audit))
    {
        (Outcome::Fail, open.as_slice())
    } else {
        (Outcome::Warn, open.as_slice())
    };
    let class = riskiest(counted.iter().map(|d| &d.drift));
    let mut message = match outcome {
        Outcome::Pass => "the object holds the template".to_string(),
        _ => {
            counted.iter().map(|d| format!("{}: {}", d.drift.path, describe(&d.action))).collect::<Vec<_>>().join("; ")
        }
    };
    if let (Some(failure), Outcome::Fail) = (&target.failure, outcome) {
        message.push_str(&format!(" ({failure})"));
    }
    ReportResult {
        policy: policy.to_string(),
        rule: rule.to_string(),
        result: outcome,
        source: SOURCE,
        category: class.map(|c| c.to_string()),
        severity: class.map(|c| severity_name(drift_severity(c))),
        message,
        resources: vec![key.to_ref(target.uid.clone())],
        timestamp: now.into(),
        properties: match (&target.owner, outcome) {
            (Some(owner), Outcome::Fail | Outcome::Warn | Outcome::Skip) => BTreeMap::from([("owner", owner.clone())]),
            _ => BTreeMap::new(),
        },
    }
}

fn describe(action: &Action) -> String {
    match action {
        Action::Remediate => "being fixed".to_string(),
        Action::Escalate { reason } => format!("escalated: {reason}"),
        Action::Excepted { exception } => format!("covered by DriftException {exception}"),
        Action::Audit => "reported (Audit mode)".to_string(),
        Action::Defer { reason } => format!("fix deferred: {reason}"),
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

#[cfg(test)]
mod tests;
