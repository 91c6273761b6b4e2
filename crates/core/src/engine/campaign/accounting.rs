//! A campaign's status from its findings: counts, compliance, checkpoints, burn-down,
//! projection, residual exposure and conditions.
//!
//! - **Compliance** counts `Closed` and `Excepted` findings as resolved
//!   ([`FindingState::is_resolved`]): a closed finding was verified against a fresh read, and
//!   an excepted one is risk a person accepted, with an expiry. The share is rounded down, so
//!   it reads 100 only when every finding is resolved. A campaign without findings is 100%
//!   once its control was evaluated, and has no share before.
//! - **Checkpoints** are `Pending` until their date. The first evaluation at or after the
//!   date freezes them: the share is taken from the newest burn-down point at or before the
//!   date, or is the current share when no evaluation happened between the previous point and
//!   the date.
//! - **Burn-down**: a point is added when the counts change, at most one per
//!   [`BURN_DOWN_INTERVAL`] (a newer change within the interval replaces the newest point), and
//!   when [`MAX_BURN_DOWN_POINTS`] are reached the point whose removal leaves the smallest gap
//!   is dropped, so the whole campaign stays visible at an even density.
//! - **Projection**: a least-squares line of the compliant share over time, through the
//!   burn-down points and the current share now, extended to the success criteria. No
//!   projection without two distinct times, nor when the line does not rise: `OnTrack` and
//!   `AtRisk` are then `Unknown` (`NotEnoughHistory`, `NoProgress`) until a checkpoint or the
//!   deadline passes. `AtRisk` is `True` when the projection is after the deadline, a
//!   checkpoint was missed, or the deadline passed unmet.
//! - **Completed** when the control was evaluated and the share reaches
//!   `successCriteria.compliantPercent`. Since only verified (`Closed`) and `Excepted`
//!   findings count, a fix that is applied but not verified never completes a campaign.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::ObjectRef;
use crate::api::campaign::{
    BurnDownPoint, CampaignStatus, CheckpointResult, CheckpointStatus, ExposedFinding, FindingCounts,
    MAX_BURN_DOWN_POINTS, MAX_RESIDUAL_EXPOSURE, RemediationCampaignSpec,
};
use crate::api::conditions::{ConditionSpec, ConditionStatus, same_ignoring_time, set_condition};
use crate::api::finding::{FindingState, Severity};
use crate::api::reasons::{self, types};

/// The shortest time between two burn-down points.
pub const BURN_DOWN_INTERVAL: SignedDuration = SignedDuration::from_hours(1);

/// What the campaign needs to know of one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingSummary {
    /// The name of the Finding.
    pub name: String,
    /// The asset it is about.
    pub asset: ObjectRef,
    /// How severe it is.
    pub severity: Severity,
    /// Where it stands.
    pub state: FindingState,
    /// When it was opened (the Finding's creation).
    pub opened: Timestamp,
}

/// The campaign's status after an evaluation of its findings at `now`.
///
/// `previous` is the status as last written: it keeps checkpoints frozen once their date
/// passed, the burn-down history, and the `lastTransitionTime` of conditions that did not
/// change. `evaluated` says whether the control has been evaluated at least once, so that a
/// campaign without findings is not reported compliant before anything was looked at.
/// `generation` is the campaign's `metadata.generation`.
pub fn account(
    spec: &RemediationCampaignSpec,
    previous: &CampaignStatus,
    findings: &[FindingSummary],
    evaluated: bool,
    generation: Option<i64>,
    now: Timestamp,
) -> CampaignStatus {
    let mut counts = FindingCounts::default();
    for finding in findings {
        counts.add(finding.state);
    }
    let total = counts.total();
    let resolved = counts.closed + counts.excepted;
    let compliant = evaluated.then(|| percent(resolved, total));

    let checkpoints = checkpoints(spec, previous, compliant, now);
    let burn_down = if evaluated {
        burn_down(&previous.burn_down, total - resolved, resolved, now)
    } else {
        previous.burn_down.clone()
    };
    let target = spec.success_criteria.compliant_percent;
    let completed = compliant.is_some_and(|c| c >= target);
    let projection = if completed || !evaluated {
        Projection::NotEnoughHistory
    } else {
        project(&burn_down, f64::from(target), now)
    };

    let mut status = CampaignStatus {
        observed_generation: generation,
        conditions: previous.conditions.clone(),
        total,
        findings: counts,
        compliant_percent: compliant,
        checkpoints,
        burn_down,
        projected_completion: match projection {
            Projection::At(at) => Some(Time(at)),
            _ => None,
        },
        residual_exposure: residual_exposure(findings),
        last_wave_time: previous.last_wave_time.clone(),
        waves: previous.waves,
        forged_findings: previous.forged_findings,
    };
    let deadline = spec.deadline.0;
    let facts = Facts { evaluated, completed, resolved, total, target, deadline, projection, now };
    for condition in conditions(spec, &status, &facts) {
        set_condition(&mut status.conditions, condition, generation, Time(now));
    }
    status
}

/// Whether writing `next` over `previous` would change anything a reader cares about: every
/// field counts but the conditions' `lastTransitionTime` and the exact projected completion
/// time (whether there is a projection still counts), which move without anything happening.
pub fn status_changed(previous: &CampaignStatus, next: &CampaignStatus) -> bool {
    let strip = |s: &CampaignStatus| CampaignStatus {
        conditions: Vec::new(),
        projected_completion: s.projected_completion.as_ref().map(|_| Time(Timestamp::UNIX_EPOCH)),
        ..s.clone()
    };
    !same_ignoring_time(&previous.conditions, &next.conditions) || strip(previous) != strip(next)
}

/// The share of `resolved` in `total`, rounded down; 100 when there is nothing to resolve.
fn percent(resolved: u32, total: u32) -> u8 {
    if total == 0 {
        return 100;
    }
    // At most 100: the conversion cannot fail.
    u8::try_from(u64::from(resolved.min(total)) * 100 / u64::from(total)).unwrap_or(100)
}

fn checkpoints(
    spec: &RemediationCampaignSpec,
    previous: &CampaignStatus,
    compliant: Option<u8>,
    now: Timestamp,
) -> Vec<CheckpointStatus> {
    let mut checkpoints: Vec<CheckpointStatus> = spec
        .checkpoints
        .iter()
        .map(|checkpoint| {
            let date = checkpoint.date.0;
            let target = checkpoint.compliant_percent;
            let frozen = previous
                .checkpoints
                .iter()
                .find(|p| p.date.0 == date && p.target == target && p.result != CheckpointResult::Pending);
            if let Some(frozen) = frozen {
                return frozen.clone();
            }
            if now < date {
                return CheckpointStatus {
                    date: Time(date),
                    target,
                    actual: compliant,
                    result: CheckpointResult::Pending,
                };
            }
            let history = &previous.burn_down;
            let reached = match history.last() {
                Some(last) if last.time.0 <= date => compliant,
                _ => history
                    .iter()
                    .rev()
                    .find(|p| p.time.0 <= date)
                    .map(|p| percent(p.closed, p.open + p.closed))
                    .or(compliant),
            };
            let result = match reached {
                Some(actual) if actual >= target => CheckpointResult::Met,
                Some(_) => CheckpointResult::Missed,
                None => CheckpointResult::Pending,
            };
            CheckpointStatus { date: Time(date), target, actual: reached, result }
        })
        .collect();
    checkpoints.sort_by_key(|c| c.date.0);
    checkpoints
}

fn burn_down(previous: &[BurnDownPoint], open: u32, closed: u32, now: Timestamp) -> Vec<BurnDownPoint> {
    let point = BurnDownPoint { time: Time(now), open, closed };
    crate::engine::history::record(previous, point, BURN_DOWN_INTERVAL, MAX_BURN_DOWN_POINTS)
}

impl crate::engine::history::Point for BurnDownPoint {
    fn time(&self) -> Timestamp {
        self.time.0
    }

    fn counts_as(&self, other: &Self) -> bool {
        (self.open, self.closed) == (other.open, other.closed)
    }
}

/// Where the compliant share is heading.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Projection {
    /// Fewer than two distinct times to draw a line through, or nothing left to project.
    NotEnoughHistory,
    /// The share does not rise.
    NoProgress,
    /// The share reaches the target at this time.
    At(Timestamp),
}

fn project(history: &[BurnDownPoint], target: f64, now: Timestamp) -> Projection {
    let origin = match history.first() {
        Some(first) => first.time.0,
        None => return Projection::NotEnoughHistory,
    };
    let share = |open: u32, closed: u32| f64::from(percent(closed, open + closed));
    let mut samples: Vec<(f64, f64)> =
        history.iter().map(|p| (p.time.0.duration_since(origin).as_secs_f64(), share(p.open, p.closed))).collect();
    if let Some(last) = history.last() {
        samples.push((now.duration_since(origin).as_secs_f64(), share(last.open, last.closed)));
    }
    let n = samples.len() as f64;
    let mean_t = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let mean_y = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let variance: f64 = samples.iter().map(|s| (s.0 - mean_t).powi(2)).sum();
    if variance <= 0.0 {
        return Projection::NotEnoughHistory;
    }
    let slope = samples.iter().map(|s| (s.0 - mean_t) * (s.1 - mean_y)).sum::<f64>() / variance;
    if slope <= 0.0 {
        return Projection::NoProgress;
    }
    let intercept = mean_y - slope * mean_t;
    let seconds = (target - intercept) / slope;
    // Never before now: the target is not met yet.
    let at = SignedDuration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|offset| origin.checked_add(offset).ok())
        .unwrap_or(Timestamp::MAX);
    Projection::At(at.max(now))
}

fn residual_exposure(findings: &[FindingSummary]) -> Vec<ExposedFinding> {
    let mut exposed: Vec<&FindingSummary> = findings.iter().filter(|f| !f.state.is_resolved()).collect();
    exposed.sort_by(|a, b| (a.severity, a.opened, &a.name).cmp(&(b.severity, b.opened, &b.name)));
    exposed
        .into_iter()
        .take(MAX_RESIDUAL_EXPOSURE)
        .map(|f| ExposedFinding { finding: f.name.clone(), asset: f.asset.clone(), severity: f.severity })
        .collect()
}

struct Facts {
    evaluated: bool,
    completed: bool,
    resolved: u32,
    total: u32,
    target: u8,
    deadline: Timestamp,
    projection: Projection,
    now: Timestamp,
}

fn conditions(spec: &RemediationCampaignSpec, status: &CampaignStatus, facts: &Facts) -> Vec<ConditionSpec> {
    use ConditionStatus::{False, True, Unknown};
    let progress = format!(
        "{} of {} findings resolved ({}%), target {}%",
        facts.resolved,
        facts.total,
        status.compliant_percent.unwrap_or(0),
        facts.target
    );
    let ready = if !facts.evaluated {
        ConditionSpec::new(types::READY, Unknown, reasons::PROGRESSING, "the control has not been evaluated yet")
    } else if spec.paused {
        ConditionSpec::new(
            types::READY,
            True,
            reasons::PAUSED,
            "paused: no new waves or escalations; findings are still evaluated",
        )
    } else {
        ConditionSpec::new(types::READY, True, reasons::RECONCILED, progress.clone())
    };

    let completed = if facts.completed {
        ConditionSpec::new(types::COMPLETED, True, reasons::SUCCESS_CRITERIA_MET, progress.clone())
    } else {
        ConditionSpec::new(types::COMPLETED, False, reasons::SUCCESS_CRITERIA_NOT_MET, progress.clone())
    };

    let deadline_passed = facts.now > facts.deadline;
    let deadline = if facts.completed {
        ConditionSpec::new(types::DEADLINE_MISSED, False, reasons::SUCCESS_CRITERIA_MET, "the success criteria are met")
    } else if deadline_passed {
        ConditionSpec::new(
            types::DEADLINE_MISSED,
            True,
            reasons::DEADLINE_PASSED,
            format!("the deadline {} passed with {progress}", facts.deadline),
        )
    } else {
        ConditionSpec::new(
            types::DEADLINE_MISSED,
            False,
            reasons::DEADLINE_AHEAD,
            format!("the deadline is {}", facts.deadline),
        )
    };

    let missed: Vec<String> = status
        .checkpoints
        .iter()
        .filter(|c| c.result == CheckpointResult::Missed)
        .map(|c| format!("{} ({}% of {}%)", c.date.0, c.actual.unwrap_or(0), c.target))
        .collect();
    let (on_track, reason, message): (ConditionStatus, &'static str, String) = if facts.completed {
        (True, reasons::SUCCESS_CRITERIA_MET, "the success criteria are met".to_string())
    } else if deadline_passed {
        (False, reasons::DEADLINE_PASSED, format!("the deadline {} passed", facts.deadline))
    } else if !missed.is_empty() {
        (False, reasons::CHECKPOINT_MISSED, format!("checkpoints missed: {}", missed.join(", ")))
    } else {
        match facts.projection {
            Projection::At(at) if at > facts.deadline => (
                False,
                reasons::PROJECTION_MISSES_DEADLINE,
                "at the current pace the success criteria are met after the deadline".to_string(),
            ),
            Projection::At(_) => (
                True,
                reasons::ON_SCHEDULE,
                "at the current pace the success criteria are met by the deadline".to_string(),
            ),
            Projection::NoProgress => (
                Unknown,
                reasons::NO_PROGRESS,
                "the burn-down shows no progress: no completion date can be projected".to_string(),
            ),
            Projection::NotEnoughHistory => {
                (Unknown, reasons::NOT_ENOUGH_HISTORY, "too little history to project a completion date".to_string())
            }
        }
    };
    let at_risk = match on_track {
        True => False,
        False => True,
        Unknown => Unknown,
    };
    vec![
        ready,
        ConditionSpec::new(types::ON_TRACK, on_track, reason, message.clone()),
        ConditionSpec::new(types::AT_RISK, at_risk, reason, message),
        completed,
        deadline,
    ]
}

#[cfg(test)]
mod tests;
