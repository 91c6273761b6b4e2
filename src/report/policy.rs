//! What a policy report shows: what a DriftPolicy's or ClusterDriftPolicy's status holds.
//! The current drifts grouped by owner, class and age; the counts over time
//! (`status.history`) with the fixes made between two points (differences of the running
//! `remediated` total); and the recent fixes with their evidence (`status.fixes`). The
//! status itself is bounded (50 drifts, 20 fixes, 100 points), and so is the report.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::ConditionSummary;
use super::campaign::{MAX_PATHS_SHOWN, thin};
use crate::api::policy::{
    MAX_DRIFTS, MAX_POLICY_FIXES, MAX_POLICY_HISTORY, Mode, PolicyFix, PolicyHistoryPoint, PolicyStatus,
};
use crate::api::{ObjectRef, RemediationClass};

/// The age buckets drifts are counted in: the upper bound in seconds and its label.
pub const AGE_BUCKETS: [(i64, &str); 5] = [
    (3_600, "under 1 hour"),
    (86_400, "1 hour to 1 day"),
    (7 * 86_400, "1 to 7 days"),
    (30 * 86_400, "7 to 30 days"),
    (i64::MAX, "over 30 days"),
];
/// The bucket of drifts whose first sighting is not known.
pub const AGE_UNKNOWN: &str = "unknown";

/// A policy's report.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    /// When the report was made.
    pub generated_at: Timestamp,
    /// `DriftPolicy` or `ClusterDriftPolicy`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub mode: Mode,
    pub conditions: Vec<ConditionSummary>,
    pub counts: PolicyCounts,
    /// When the last fix was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_remediation_time: Option<String>,
    /// Current drifts per owner, most first.
    pub by_owner: Vec<DriftGroup>,
    /// Current drifts per remediation class, riskiest first.
    pub by_class: Vec<DriftGroup>,
    /// Current drifts per age (since first seen), youngest first.
    pub by_age: Vec<DriftGroup>,
    /// The current drifts the status lists (at most 50), oldest first.
    pub drifts: Vec<DriftRow>,
    /// The counts over time, oldest first.
    pub history: Vec<PolicyHistoryPoint>,
    /// The fixes verified between two points of the history.
    pub fixes_per_interval: Vec<FixInterval>,
    /// The recent fixes with their evidence, latest first.
    pub fixes: Vec<PolicyFix>,
}

/// The policy's counts as its status holds them.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyCounts {
    pub targets: u32,
    pub compliant: u32,
    pub drifted: u32,
    pub remediated: u32,
    pub escalated: u32,
    pub excepted: u32,
    pub opted_out: u32,
}

/// Drifts of one owner, class or age.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriftGroup {
    pub key: String,
    pub drifts: u32,
    /// Of them, escalated to a person.
    pub escalated: u32,
}

/// One current drift.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriftRow {
    pub target: ObjectRef,
    /// The drifted fields (at most [`MAX_PATHS_SHOWN`]).
    pub paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<RemediationClass>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

/// Fixes verified between two points of the history.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FixInterval {
    pub from: Timestamp,
    pub to: Timestamp,
    pub fixes: u32,
}

impl PolicyReport {
    /// The report of the policy `kind` `namespace/name` whose spec has `mode` and whose
    /// status is `status`, at `now`.
    pub fn build(
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        mode: Mode,
        status: &PolicyStatus,
        now: Timestamp,
    ) -> Self {
        let drifts: Vec<DriftRow> = status
            .drifts
            .iter()
            .take(MAX_DRIFTS)
            .map(|d| {
                let first_seen = d.first_seen.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
                DriftRow {
                    target: d.target.clone(),
                    paths: d.paths.iter().take(MAX_PATHS_SHOWN).cloned().collect(),
                    class: d.class,
                    action: d.action.clone(),
                    reason: d.reason.clone(),
                    owner: d.owner.clone().unwrap_or_else(|| crate::api::Owner::UNOWNED_TEAM.to_string()),
                    first_seen,
                    age_seconds: first_seen.map(|at| super::text::seconds_between(at, now)),
                    attempts: d.attempts,
                    changed_by: d.changed_by.clone(),
                }
            })
            .collect();
        let mut history = status.history.clone();
        history.sort_by_key(|p| p.time.0);
        thin(&mut history, MAX_POLICY_HISTORY);
        let fixes_per_interval = history
            .windows(2)
            .map(|pair| FixInterval {
                from: pair[0].time.0,
                to: pair[1].time.0,
                // A total that went down was counted again from zero.
                fixes: if pair[1].remediated >= pair[0].remediated {
                    pair[1].remediated - pair[0].remediated
                } else {
                    pair[1].remediated
                },
            })
            .collect();
        let mut fixes: Vec<PolicyFix> = status.fixes.iter().rev().take(MAX_POLICY_FIXES).cloned().collect();
        fixes.sort_by_key(|f| std::cmp::Reverse(f.evidence.time.0));
        let mut sorted = drifts;
        sorted.sort_by(|a, b| {
            (a.first_seen.is_none(), a.first_seen, &a.target).cmp(&(b.first_seen.is_none(), b.first_seen, &b.target))
        });
        PolicyReport {
            generated_at: now,
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            mode,
            conditions: super::conditions(&status.conditions),
            counts: PolicyCounts {
                targets: status.targets,
                compliant: status.compliant,
                drifted: status.drifted,
                remediated: status.remediated,
                escalated: status.escalated,
                excepted: status.excepted,
                opted_out: status.opted_out,
            },
            last_remediation_time: status.last_remediation_time.clone(),
            by_owner: group(&sorted, |d| d.owner.clone(), |a, b| b.drifts.cmp(&a.drifts).then(a.key.cmp(&b.key))),
            by_class: group(
                &sorted,
                |d| d.class.map_or_else(|| "unknown".to_string(), |c| format!("{c:?}")),
                |a, b| class_rank(&b.key).cmp(&class_rank(&a.key)).then(a.key.cmp(&b.key)),
            ),
            by_age: group(
                &sorted,
                |d| age_bucket(d.age_seconds).to_string(),
                |a, b| age_rank(&a.key).cmp(&age_rank(&b.key)),
            ),
            drifts: sorted,
            history,
            fixes_per_interval,
            fixes,
        }
    }

    /// The title: `DriftPolicy shop/web` or `ClusterDriftPolicy baseline`.
    pub fn title(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// Whether the status lists fewer drifts than it counts (it lists at most 50).
    pub fn drifts_cut(&self) -> bool {
        (self.drifts.len() as u64) < u64::from(self.counts.drifted)
    }
}

fn is_escalated(drift: &DriftRow) -> bool {
    drift.action == "Escalate"
}

fn group(
    drifts: &[DriftRow],
    key: impl Fn(&DriftRow) -> String,
    order: impl Fn(&DriftGroup, &DriftGroup) -> std::cmp::Ordering,
) -> Vec<DriftGroup> {
    let mut groups: BTreeMap<String, DriftGroup> = BTreeMap::new();
    for drift in drifts {
        let key = key(drift);
        let group = groups.entry(key.clone()).or_insert(DriftGroup { key, drifts: 0, escalated: 0 });
        group.drifts += 1;
        group.escalated += u32::from(is_escalated(drift));
    }
    let mut groups: Vec<DriftGroup> = groups.into_values().collect();
    groups.sort_by(order);
    groups
}

/// The riskier the fix, the higher; unknown classes lowest.
fn class_rank(key: &str) -> usize {
    RemediationClass::ALL.iter().position(|c| format!("{c:?}") == key).map_or(0, |i| i + 1)
}

fn age_bucket(age: Option<i64>) -> &'static str {
    match age {
        None => AGE_UNKNOWN,
        Some(seconds) => AGE_BUCKETS.iter().find(|(limit, _)| seconds < *limit).map_or(AGE_UNKNOWN, |(_, label)| label),
    }
}

fn age_rank(key: &str) -> usize {
    AGE_BUCKETS.iter().position(|(_, label)| *label == key).unwrap_or(AGE_BUCKETS.len())
}
