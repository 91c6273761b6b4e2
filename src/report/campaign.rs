//! What a campaign report shows, gathered from the RemediationCampaign and its Findings:
//! the campaign's own status (counts, burn-down, checkpoints, projection) as the operator
//! wrote it, and tables computed from the findings (by owner and severity, the oldest open
//! ones, the evidence of the latest closed ones). Every table is bounded, so the report of a
//! campaign over 10,000 assets is as long as one over 100.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use super::{ConditionSummary, top_n};
use crate::api::campaign::{
    BurnDownPoint, CampaignMode, CheckpointStatus, FindingCounts, MAX_BURN_DOWN_POINTS, MAX_CHECKPOINTS,
    RemediationCampaign,
};
use crate::api::finding::{Evidence, Finding, FindingState, Severity};
use crate::api::{ObjectRef, Owner, RemediationClass};

/// The most owners listed one by one; the others are summed up in one row.
pub const MAX_OWNER_ROWS: usize = 20;
/// The most open findings listed, oldest first.
pub const MAX_OLDEST_OPEN: usize = 20;
/// The most closed findings listed with their evidence, latest first.
pub const MAX_CLOSED: usize = 20;
/// The most paths shown for one finding.
pub const MAX_PATHS_SHOWN: usize = 5;

/// Every severity, most severe first.
pub const SEVERITIES: [Severity; 5] =
    [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

/// A campaign's report.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    /// When the report was made.
    pub generated_at: Timestamp,
    pub name: String,
    pub objective: String,
    /// The team accountable for the campaign as a whole.
    pub owner: Owner,
    /// Where the findings come from: `DriftPolicy ns/name`, `ClusterDriftPolicy name` or a
    /// check's name.
    pub control: String,
    pub mode: CampaignMode,
    pub paused: bool,
    pub deadline: Timestamp,
    /// The share of compliant findings that counts as done.
    pub target_percent: u8,
    /// The share of compliant findings now, as the operator last counted it.
    pub compliant_percent: Option<u8>,
    /// When the target will be met at the current pace, as the operator projected it.
    pub projected_completion: Option<Timestamp>,
    pub conditions: Vec<ConditionSummary>,
    /// How many findings the campaign has, as the operator last counted them.
    pub total: u32,
    /// How many are in each state, as the operator last counted them.
    pub counts: FindingCounts,
    pub checkpoints: Vec<CheckpointStatus>,
    /// Open and closed findings over time, oldest first.
    pub burn_down: Vec<BurnDownPoint>,
    /// How many owners the findings have.
    pub owners: u32,
    /// Findings per owner, most open first (at most [`MAX_OWNER_ROWS`]).
    pub by_owner: Vec<OwnerRow>,
    /// The owners past [`MAX_OWNER_ROWS`], summed up (`team` says how many).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_owners: Option<OwnerRow>,
    /// Findings per severity, most severe first.
    pub by_severity: Vec<SeverityRow>,
    /// The open findings that were opened first (at most [`MAX_OLDEST_OPEN`]).
    pub oldest_open: Vec<OpenFinding>,
    /// The findings closed last, with their evidence (at most [`MAX_CLOSED`]).
    pub recently_closed: Vec<ClosedFinding>,
    /// How many Findings of the campaign were read.
    pub findings_read: u32,
    /// How many Findings named the campaign but were not written by the operator for it,
    /// and were left out.
    pub findings_ignored: u32,
}

/// Findings of one owner.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRow {
    pub team: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Findings not closed or excepted.
    pub open: u32,
    /// Findings closed or excepted.
    pub resolved: u32,
    /// Open findings per severity.
    pub open_by_severity: SeverityCounts,
}

/// A count per severity.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SeverityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub info: u32,
}

impl SeverityCounts {
    pub fn get(&self, severity: Severity) -> u32 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    fn add(&mut self, severity: Severity, count: u32) {
        let slot = match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        };
        *slot += count;
    }
}

/// Findings of one severity.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SeverityRow {
    pub severity: Severity,
    pub open: u32,
    pub resolved: u32,
}

/// An open finding.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OpenFinding {
    /// `namespace/name` of the Finding.
    pub finding: String,
    pub asset: ObjectRef,
    pub owner: String,
    pub severity: Severity,
    pub state: FindingState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<RemediationClass>,
    /// When the Finding was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened: Option<Timestamp>,
    /// Seconds since it was opened, when the report was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The offending fields (at most [`MAX_PATHS_SHOWN`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

/// A closed finding and what proved it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ClosedFinding {
    /// `namespace/name` of the Finding.
    pub finding: String,
    pub asset: ObjectRef,
    pub owner: String,
    pub severity: Severity,
    /// `Closed` or `Excepted`.
    pub state: FindingState,
    /// When it was closed (its state's last change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The finding's evidence, oldest first: hashes and resource versions, never values.
    pub evidence: Vec<Evidence>,
}

impl CampaignReport {
    /// The report of `campaign` over `findings` (the genuine Findings of that campaign; see
    /// [`super::read`]), at `now`. `ignored` counts the Findings left out as not written by
    /// the operator.
    pub fn build(campaign: &RemediationCampaign, findings: &[Finding], ignored: u32, now: Timestamp) -> Self {
        let spec = &campaign.spec;
        let status = campaign.status.clone().unwrap_or_default();
        let control = match (&spec.control.policy_ref, &spec.control.check) {
            (Some(policy), _) => match &policy.namespace {
                Some(ns) => format!("{:?} {ns}/{}", policy.kind, policy.name),
                None => format!("{:?} {}", policy.kind, policy.name),
            },
            (None, Some(check)) => format!("{:?}", check.name),
            (None, None) => String::new(),
        };
        let mut burn_down = status.burn_down;
        thin(&mut burn_down, MAX_BURN_DOWN_POINTS);
        let mut checkpoints = status.checkpoints;
        checkpoints.truncate(MAX_CHECKPOINTS);
        let (by_owner, other_owners, owner_count) = owners(findings);
        CampaignReport {
            generated_at: now,
            name: campaign.metadata.name.clone().unwrap_or_default(),
            objective: spec.objective.clone(),
            owner: spec.owner.clone(),
            control,
            mode: spec.strategy.mode,
            paused: spec.paused,
            deadline: spec.deadline.0,
            target_percent: spec.success_criteria.compliant_percent,
            compliant_percent: status.compliant_percent,
            projected_completion: status.projected_completion.map(|t| t.0),
            conditions: super::conditions(&status.conditions),
            total: status.total,
            counts: status.findings,
            checkpoints,
            burn_down,
            owners: owner_count,
            by_owner,
            other_owners,
            by_severity: severities(findings),
            oldest_open: oldest_open(findings, now),
            recently_closed: recently_closed(findings),
            findings_read: u32::try_from(findings.len()).unwrap_or(u32::MAX),
            findings_ignored: ignored,
        }
    }

    /// The number of open findings that meets `percent` compliance: what a checkpoint or the
    /// success criteria allow to stay open.
    pub fn open_allowed(&self, percent: u8) -> u32 {
        let total = u64::from(self.total);
        let resolved = (total * u64::from(percent)).div_ceil(100);
        u32::try_from(total.saturating_sub(resolved)).unwrap_or(u32::MAX)
    }
}

fn state_of(finding: &Finding) -> FindingState {
    finding.status.as_ref().map(|s| s.state).unwrap_or_default()
}

fn finding_name(finding: &Finding) -> String {
    format!(
        "{}/{}",
        finding.metadata.namespace.as_deref().unwrap_or_default(),
        finding.metadata.name.as_deref().unwrap_or_default()
    )
}

fn owners(findings: &[Finding]) -> (Vec<OwnerRow>, Option<OwnerRow>, u32) {
    let mut rows: HashMap<&str, OwnerRow> = HashMap::new();
    for finding in findings {
        let owner = &finding.spec.owner;
        let row = rows.entry(owner.team.as_str()).or_insert_with(|| OwnerRow {
            team: owner.team.clone(),
            contact: owner.contact.clone(),
            ..OwnerRow::default()
        });
        if state_of(finding).is_resolved() {
            row.resolved += 1;
        } else {
            row.open += 1;
            row.open_by_severity.add(finding.spec.severity, 1);
        }
    }
    let count = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let mut rows: Vec<OwnerRow> = rows.into_values().collect();
    let order = |a: &OwnerRow, b: &OwnerRow| {
        (b.open, b.open_by_severity.critical, b.open_by_severity.high, b.resolved, &a.team).cmp(&(
            a.open,
            a.open_by_severity.critical,
            a.open_by_severity.high,
            a.resolved,
            &b.team,
        ))
    };
    let rest = top_n(&mut rows, MAX_OWNER_ROWS, order);
    let others = (!rest.is_empty()).then(|| {
        let mut sum = OwnerRow { team: format!("{} other owners", rest.len()), ..OwnerRow::default() };
        for row in &rest {
            sum.open += row.open;
            sum.resolved += row.resolved;
            for severity in SEVERITIES {
                sum.open_by_severity.add(severity, row.open_by_severity.get(severity));
            }
        }
        sum
    });
    (rows, others, count)
}

fn severities(findings: &[Finding]) -> Vec<SeverityRow> {
    let mut rows: Vec<SeverityRow> =
        SEVERITIES.iter().map(|&severity| SeverityRow { severity, open: 0, resolved: 0 }).collect();
    for finding in findings {
        let Some(row) = rows.iter_mut().find(|r| r.severity == finding.spec.severity) else { continue };
        if state_of(finding).is_resolved() {
            row.resolved += 1;
        } else {
            row.open += 1;
        }
    }
    rows.retain(|r| r.open + r.resolved > 0);
    rows
}

fn oldest_open(findings: &[Finding], now: Timestamp) -> Vec<OpenFinding> {
    let mut open: Vec<&Finding> = findings.iter().filter(|f| !state_of(f).is_resolved()).collect();
    let opened = |f: &Finding| f.metadata.creation_timestamp.as_ref().map(|t| t.0);
    // Unknown creation times last; then the most severe; then by name, for a stable order.
    let key = |f: &Finding| (opened(f).is_none(), opened(f), f.spec.severity, finding_name(f));
    top_n(&mut open, MAX_OLDEST_OPEN, |a, b| key(a).cmp(&key(b)));
    open.into_iter()
        .map(|f| {
            let status = f.status.clone().unwrap_or_default();
            OpenFinding {
                finding: finding_name(f),
                asset: f.spec.asset.clone(),
                owner: f.spec.owner.team.clone(),
                severity: f.spec.severity,
                state: status.state,
                class: status.class,
                opened: opened(f),
                age_seconds: opened(f).map(|at| super::text::seconds_between(at, now)),
                ticket: f.spec.ticket.clone(),
                paths: status.paths.into_iter().take(MAX_PATHS_SHOWN).collect(),
            }
        })
        .collect()
}

fn recently_closed(findings: &[Finding]) -> Vec<ClosedFinding> {
    let mut closed: Vec<&Finding> = findings.iter().filter(|f| state_of(f).is_resolved()).collect();
    let closed_at = |f: &Finding| f.status.as_ref().and_then(|s| s.last_transition_time.as_ref()).map(|t| t.0);
    let key = |f: &Finding| (std::cmp::Reverse(closed_at(f)), finding_name(f));
    top_n(&mut closed, MAX_CLOSED, |a, b| key(a).cmp(&key(b)));
    closed
        .into_iter()
        .map(|f| ClosedFinding {
            finding: finding_name(f),
            asset: f.spec.asset.clone(),
            owner: f.spec.owner.team.clone(),
            severity: f.spec.severity,
            state: state_of(f),
            closed_at: closed_at(f),
            evidence: f.status.as_ref().map(|s| s.evidence.clone()).unwrap_or_default(),
        })
        .collect()
}

/// Keeps at most `max` points, evenly spread, first and last kept.
pub(super) fn thin<T>(points: &mut Vec<T>, max: usize) {
    if points.len() <= max {
        return;
    }
    if max < 2 {
        points.truncate(max);
        return;
    }
    let len = points.len();
    let keep: Vec<usize> = (0..max).map(|i| i * (len - 1) / (max - 1)).collect();
    let mut index = 0;
    let mut next = 0;
    points.retain(|_| {
        let kept = keep.get(next) == Some(&index);
        if kept {
            next += 1;
        }
        index += 1;
        kept
    });
}
