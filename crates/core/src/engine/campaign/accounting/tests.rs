use crate::api::campaign::{Checkpoint, RemediationCampaign};
use crate::api::conditions::{check_contract, find, status_of};

use super::*;

const CAMPAIGN: &str = r#"
apiVersion: driftwarden.dev/v1alpha1
kind: RemediationCampaign
metadata:
  name: no-token-automount
spec:
  objective: No workload mounts a ServiceAccount token it does not use
  owner:
    team: platform-security
  control:
    check:
      name: ServiceAccountTokenAutomount
  successCriteria:
    compliantPercent: 90
  deadline: "2026-06-30T00:00:00Z"
  checkpoints:
    - date: "2026-05-01T00:00:00Z"
      compliantPercent: 50
"#;

fn spec() -> RemediationCampaignSpec {
    serde_yaml::from_str::<RemediationCampaign>(CAMPAIGN).unwrap().spec
}

fn day(date: &str) -> Timestamp {
    format!("{date}T00:00:00Z").parse().unwrap()
}

fn finding(i: usize, state: FindingState, severity: Severity) -> FindingSummary {
    FindingSummary {
        name: format!("f-{i}"),
        asset: ObjectRef {
            api_version: "apps/v1".to_string(),
            kind: "Deployment".to_string(),
            namespace: Some("shop".to_string()),
            name: format!("d-{i}"),
            uid: None,
        },
        severity,
        state,
        opened: day("2026-04-01") + SignedDuration::from_mins(i as i64),
    }
}

/// `total` findings of which the first `resolved` are closed.
fn findings(total: usize, resolved: usize) -> Vec<FindingSummary> {
    (0..total)
        .map(|i| finding(i, if i < resolved { FindingState::Closed } else { FindingState::Open }, Severity::High))
        .collect()
}

fn condition(status: &CampaignStatus, type_: &str) -> (ConditionStatus, String) {
    let c = find(&status.conditions, type_).unwrap();
    (status_of(&status.conditions, type_).unwrap(), c.reason.clone())
}

#[test]
fn counts_and_compliance_count_excepted_as_resolved() {
    let findings = vec![
        finding(0, FindingState::Closed, Severity::Low),
        finding(1, FindingState::Excepted, Severity::Low),
        finding(2, FindingState::Open, Severity::Low),
    ];
    let status = account(&spec(), &CampaignStatus::default(), &findings, true, Some(2), day("2026-04-02"));
    assert_eq!(status.total, 3);
    assert_eq!((status.findings.closed, status.findings.excepted, status.findings.open), (1, 1, 1));
    // 2 of 3 is 66.6%: rounded down.
    assert_eq!(status.compliant_percent, Some(66));
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(check_contract(&status.conditions, Some(2)), Ok(()));
    assert_eq!(condition(&status, types::READY), (ConditionStatus::True, reasons::RECONCILED.to_string()));
}

#[test]
fn a_campaign_without_findings_is_compliant_only_once_evaluated() {
    let before = account(&spec(), &CampaignStatus::default(), &[], false, Some(1), day("2026-04-02"));
    assert_eq!(before.compliant_percent, None);
    assert!(before.burn_down.is_empty());
    assert_eq!(condition(&before, types::READY).0, ConditionStatus::Unknown);
    assert_eq!(condition(&before, types::COMPLETED).0, ConditionStatus::False);

    let after = account(&spec(), &before, &[], true, Some(1), day("2026-04-02"));
    assert_eq!(after.compliant_percent, Some(100));
    assert_eq!(condition(&after, types::COMPLETED), (ConditionStatus::True, reasons::SUCCESS_CRITERIA_MET.into()));
    // 99 of 100 is 99%, never rounded up to 100.
    let almost = account(&spec(), &after, &findings(100, 99), true, Some(1), day("2026-04-02"));
    assert_eq!(almost.compliant_percent, Some(99));
}

#[test]
fn checkpoints_are_pending_then_frozen_at_their_date() {
    let spec = spec();
    let mut status = account(&spec, &CampaignStatus::default(), &findings(10, 2), true, Some(1), day("2026-04-20"));
    assert_eq!(status.checkpoints[0].result, CheckpointResult::Pending);
    assert_eq!(status.checkpoints[0].actual, Some(20));
    status = account(&spec, &status, &findings(10, 6), true, Some(1), day("2026-04-30"));
    assert_eq!(status.checkpoints[0].actual, Some(60));

    // The date passed between two evaluations: the share is the one found now.
    let later = account(&spec, &status, &findings(10, 3), true, Some(1), day("2026-05-02"));
    assert_eq!(later.checkpoints[0].actual, Some(30));
    let at_date = account(&spec, &status, &findings(10, 2), true, Some(1), day("2026-05-01"));
    assert_eq!(at_date.checkpoints[0].actual, Some(20));
    // Evaluations after the date that did not freeze it (a checkpoint added later): the
    // share is the newest point at or before the date.
    let mut with_point_after = status.clone();
    with_point_after.burn_down.push(BurnDownPoint { time: Time(day("2026-05-03")), open: 0, closed: 10 });
    let frozen = account(&spec, &with_point_after, &findings(10, 10), true, Some(1), day("2026-05-04"));
    assert_eq!((frozen.checkpoints[0].actual, frozen.checkpoints[0].result), (Some(60), CheckpointResult::Met));

    // Frozen once: later progress does not change it.
    let missed = account(&spec, &CampaignStatus::default(), &findings(10, 1), true, Some(1), day("2026-05-02"));
    assert_eq!((missed.checkpoints[0].actual, missed.checkpoints[0].result), (Some(10), CheckpointResult::Missed));
    let still = account(&spec, &missed, &findings(10, 8), true, Some(1), day("2026-05-10"));
    assert_eq!((still.checkpoints[0].actual, still.checkpoints[0].result), (Some(10), CheckpointResult::Missed));
    assert_eq!(condition(&still, types::AT_RISK), (ConditionStatus::True, reasons::CHECKPOINT_MISSED.into()));
    assert_eq!(condition(&still, types::ON_TRACK).0, ConditionStatus::False);
}

#[test]
fn burn_down_adds_points_on_change_at_most_one_per_interval() {
    let start = day("2026-04-01");
    let points = burn_down(&[], 10, 0, start);
    assert_eq!(points.len(), 1);
    assert_eq!(burn_down(&points, 10, 0, start + SignedDuration::from_hours(5)), points, "no change, no point");
    let points = burn_down(&points, 9, 1, start + SignedDuration::from_mins(1));
    assert_eq!(points.len(), 2);
    // Within the interval of the newest point: replaces it (the first point stays).
    let replaced = burn_down(&points, 8, 2, start + SignedDuration::from_mins(2));
    assert_eq!(replaced.len(), 2);
    assert_eq!((replaced[1].open, replaced[1].closed), (8, 2));
    assert_eq!(replaced[0], points[0]);
    let appended = burn_down(&replaced, 7, 3, start + SignedDuration::from_hours(2));
    assert_eq!(appended.len(), 3);
}

#[test]
fn a_full_burn_down_is_thinned_evenly_keeping_both_ends() {
    let start = day("2026-01-01");
    let mut points = Vec::new();
    for i in 0..1_000u32 {
        points = burn_down(&points, 1_000 - i, i, start + SignedDuration::from_hours(i64::from(i) * 2));
    }
    assert_eq!(points.len(), MAX_BURN_DOWN_POINTS);
    assert_eq!(points[0].time, Time(start));
    assert_eq!(points.last().unwrap().closed, 999);
    let gaps: Vec<i64> = points.windows(2).map(|w| w[1].time.0.duration_since(w[0].time.0).as_hours()).collect();
    let (min, max) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    // Merging the closest neighbours keeps every gap within a small factor of the others.
    assert!(max / min <= 4, "uneven thinning: gaps from {min}h to {max}h");
}

#[test]
fn projection_follows_the_pace_of_the_burn_down() {
    let spec = spec();
    let mut status = CampaignStatus::default();
    // 10% a week from April 1st: 90% around June 3rd, before the June 30th deadline.
    for week in 0..4 {
        let now = day("2026-04-01") + SignedDuration::from_hours(24 * 7 * week);
        status = account(&spec, &status, &findings(100, 10 * week as usize), true, Some(1), now);
    }
    let projected = status.projected_completion.as_ref().unwrap().0;
    assert!(projected > day("2026-05-25") && projected < day("2026-06-10"), "{projected}");
    assert_eq!(condition(&status, types::ON_TRACK), (ConditionStatus::True, reasons::ON_SCHEDULE.into()));
    assert_eq!(condition(&status, types::AT_RISK).0, ConditionStatus::False);

    // 1% a week: far after the deadline.
    let mut slow = CampaignStatus::default();
    for week in 0..4 {
        let now = day("2026-04-01") + SignedDuration::from_hours(24 * 7 * week);
        slow = account(&spec, &slow, &findings(100, week as usize), true, Some(1), now);
    }
    assert!(slow.projected_completion.as_ref().unwrap().0 > spec.deadline.0);
    assert_eq!(condition(&slow, types::AT_RISK), (ConditionStatus::True, reasons::PROJECTION_MISSES_DEADLINE.into()));
}

#[test]
fn no_projection_without_history_or_progress() {
    let spec = spec();
    let first = account(&spec, &CampaignStatus::default(), &findings(10, 1), true, Some(1), day("2026-04-01"));
    assert_eq!(first.projected_completion, None);
    assert_eq!(condition(&first, types::ON_TRACK), (ConditionStatus::Unknown, reasons::NOT_ENOUGH_HISTORY.into()));
    let stalled = account(&spec, &first, &findings(10, 1), true, Some(1), day("2026-04-10"));
    assert_eq!(stalled.projected_completion, None);
    assert_eq!(condition(&stalled, types::AT_RISK), (ConditionStatus::Unknown, reasons::NO_PROGRESS.into()));
}

#[test]
fn completion_deadline_and_pause() {
    let mut spec = spec();
    let done = account(&spec, &CampaignStatus::default(), &findings(10, 9), true, Some(1), day("2026-04-01"));
    assert_eq!(condition(&done, types::COMPLETED).0, ConditionStatus::True);
    assert_eq!(condition(&done, types::ON_TRACK).0, ConditionStatus::True);
    assert_eq!(condition(&done, types::DEADLINE_MISSED).0, ConditionStatus::False);
    assert_eq!(done.projected_completion, None);

    let late = account(&spec, &CampaignStatus::default(), &findings(10, 8), true, Some(1), day("2026-07-01"));
    assert_eq!(condition(&late, types::COMPLETED).0, ConditionStatus::False);
    assert_eq!(condition(&late, types::DEADLINE_MISSED), (ConditionStatus::True, reasons::DEADLINE_PASSED.into()));
    assert_eq!(condition(&late, types::AT_RISK), (ConditionStatus::True, reasons::DEADLINE_PASSED.into()));
    let early = account(&spec, &CampaignStatus::default(), &findings(10, 8), true, Some(1), day("2026-04-01"));
    assert_eq!(condition(&early, types::DEADLINE_MISSED), (ConditionStatus::False, reasons::DEADLINE_AHEAD.into()));

    spec.paused = true;
    let paused = account(&spec, &CampaignStatus::default(), &findings(10, 1), true, Some(1), day("2026-04-01"));
    assert_eq!(condition(&paused, types::READY), (ConditionStatus::True, reasons::PAUSED.into()));
}

#[test]
fn residual_exposure_lists_the_most_severe_then_oldest_unresolved() {
    let mut all: Vec<FindingSummary> = (0..30)
        .map(|i| {
            let severity = [Severity::Low, Severity::Critical, Severity::Medium][i % 3];
            finding(i, FindingState::Open, severity)
        })
        .collect();
    all[1].state = FindingState::Closed; // the oldest critical is resolved
    all[4].state = FindingState::Excepted;
    let exposure = residual_exposure(&all);
    assert_eq!(exposure.len(), MAX_RESIDUAL_EXPOSURE);
    let names: Vec<&str> = exposure.iter().map(|e| e.finding.as_str()).collect();
    assert_eq!(names[..3], ["f-7", "f-10", "f-13"]);
    assert!(exposure[..8].iter().all(|e| e.severity == Severity::Critical));
    assert_eq!(exposure[8].severity, Severity::Medium);
}

#[test]
fn status_changes_only_when_something_but_time_moves() {
    let spec = spec();
    let a = account(&spec, &CampaignStatus::default(), &findings(10, 2), true, Some(1), day("2026-04-01"));
    let b = account(&spec, &a, &findings(10, 2), true, Some(1), day("2026-04-02"));
    let again = account(&spec, &b, &findings(10, 2), true, Some(1), day("2026-04-03"));
    assert!(!status_changed(&b, &again), "{b:#?}\n{again:#?}");
    let mut shifted = b.clone();
    shifted.conditions[0].last_transition_time = Time(day("2026-04-05"));
    assert!(!status_changed(&b, &shifted));
    let c = account(&spec, &b, &findings(10, 3), true, Some(1), day("2026-04-03"));
    assert!(status_changed(&b, &c));
    let d = account(&spec, &b, &findings(10, 2), true, Some(2), day("2026-04-03"));
    assert!(status_changed(&b, &d), "a new generation is written");
    let mut waved = b.clone();
    waved.last_wave_time = Some(Time(day("2026-04-03")));
    assert!(status_changed(&b, &waved));
    let mut reprojected = c.clone();
    reprojected.projected_completion = reprojected.projected_completion.map(|_| Time(day("2027-01-01")));
    assert!(!status_changed(&c, &reprojected));
}

#[test]
fn status_of_ten_thousand_findings_stays_small() {
    let mut spec = spec();
    spec.checkpoints = (1..=24)
        .map(|i| Checkpoint {
            date: Time(day("2026-04-01") + SignedDuration::from_hours(i * 48)),
            compliant_percent: 50,
        })
        .collect();
    let mut status = CampaignStatus::default();
    let mut summaries = findings(10_000, 0);
    for step in 0..500usize {
        let now = day("2026-04-01") + SignedDuration::from_hours(step as i64 * 3);
        for summary in &mut summaries[..step * 15] {
            summary.state = FindingState::Closed;
        }
        status = account(&spec, &status, &summaries, true, Some(1), now);
    }
    assert_eq!(status.total, 10_000);
    assert_eq!(status.burn_down.len(), MAX_BURN_DOWN_POINTS);
    let bytes = serde_json::to_vec(&status).unwrap().len();
    assert!(bytes < 16 * 1024, "status is {bytes} bytes");
}
