//! `Auto` mode: which findings the operator fixes next, and when.
//!
//! Fixes roll out in waves of at most `strategy.waveSize` findings, `strategy.waveInterval`
//! apart, most severe and then oldest first. A wave in which more than
//! `strategy.pauseOnFailurePercent` of the fixes failed stops the rollout until the campaign's
//! spec changes: the shell forgets the last wave's outcome when `metadata.generation` moves,
//! which is how a person resumes it.

use jiff::{SignedDuration, Timestamp};

use crate::api::campaign::{CampaignMode, Strategy};
use crate::api::common::DurationError;
use crate::api::finding::FindingState;
use crate::api::reasons;
use crate::api::{ObjectRef, RemediationClass};

use super::accounting::FindingSummary;

/// How the last wave turned out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaveOutcome {
    /// How many fixes the wave tried.
    pub tried: u32,
    /// How many of them failed (refused, not applied, or not verified).
    pub failed: u32,
}

impl WaveOutcome {
    /// Whether more than `max_percent` of the tried fixes failed.
    pub fn exceeds(self, max_percent: u8) -> bool {
        self.tried > 0 && u64::from(self.failed) * 100 > u64::from(max_percent) * u64::from(self.tried)
    }
}

/// What to do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WavePlan {
    /// Fix these findings now (by their assets, in order), then record the wave's start
    /// time. Assets, not Finding names: a Finding's name is unique in its namespace only.
    Go {
        /// The assets of at most `waveSize` findings, most severe and then oldest first.
        findings: Vec<ObjectRef>,
    },
    /// The previous wave is too recent: look again at `until`.
    Wait {
        /// When the next wave may start.
        until: Timestamp,
    },
    /// No wave starts until the spec changes.
    Paused {
        /// Why.
        reason: PauseReason,
    },
    /// Nothing to fix (or the campaign is in `Manual` mode, where owners fix).
    Idle,
}

/// Why waves are stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseReason {
    /// `spec.paused` is true.
    Spec,
    /// Too many fixes of the last wave failed.
    Failures {
        /// How many fixes the wave tried.
        tried: u32,
        /// How many failed.
        failed: u32,
        /// `strategy.pauseOnFailurePercent`.
        max_percent: u8,
    },
}

impl PauseReason {
    /// The condition reason that says so (PascalCase).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Spec => reasons::PAUSED,
            Self::Failures { .. } => reasons::WAVE_FAILURE_THRESHOLD_EXCEEDED,
        }
    }
}

impl std::fmt::Display for PauseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spec => f.write_str("the campaign is paused by spec.paused"),
            Self::Failures { tried, failed, max_percent } => write!(
                f,
                "{failed} of {tried} fixes of the last wave failed, above pauseOnFailurePercent {max_percent}%: \
                 waves resume when the campaign's spec changes"
            ),
        }
    }
}

/// Plans the next wave at `now`.
///
/// `candidates` are the campaign's findings whose fix the campaign may apply (the caller
/// keeps only those of the [`campaign_classes`]); findings not `Open` or `Reopened` are
/// skipped. `last_wave` is when the previous wave started and `last_outcome` how it turned
/// out, since the spec last changed. Fails only when `waveInterval` cannot be read.
pub fn plan_wave(
    strategy: &Strategy,
    paused: bool,
    last_wave: Option<Timestamp>,
    last_outcome: Option<WaveOutcome>,
    candidates: &[FindingSummary],
    now: Timestamp,
) -> Result<WavePlan, DurationError> {
    let interval = strategy.wave_interval()?;
    if strategy.mode == CampaignMode::Manual {
        return Ok(WavePlan::Idle);
    }
    if paused {
        return Ok(WavePlan::Paused { reason: PauseReason::Spec });
    }
    if let Some(outcome) = last_outcome.filter(|o| o.exceeds(strategy.pause_on_failure_percent)) {
        let reason = PauseReason::Failures {
            tried: outcome.tried,
            failed: outcome.failed,
            max_percent: strategy.pause_on_failure_percent,
        };
        return Ok(WavePlan::Paused { reason });
    }
    let mut ready: Vec<&FindingSummary> =
        candidates.iter().filter(|f| matches!(f.state, FindingState::Open | FindingState::Reopened)).collect();
    if ready.is_empty() {
        return Ok(WavePlan::Idle);
    }
    if let Some(last) = last_wave {
        let until = SignedDuration::try_from(interval)
            .ok()
            .and_then(|interval| last.checked_add(interval).ok())
            .unwrap_or(Timestamp::MAX);
        if now < until {
            return Ok(WavePlan::Wait { until });
        }
    }
    ready.sort_by(|a, b| (a.severity, a.opened, &a.name).cmp(&(b.severity, b.opened, &b.name)));
    let size = usize::try_from(strategy.wave_size.max(1)).unwrap_or(usize::MAX);
    Ok(WavePlan::Go { findings: ready.into_iter().take(size).map(|f| f.asset.clone()).collect() })
}

/// The remediation classes a campaign fixes in `Auto` mode: `strategy.autoRemediate`, or the
/// policy's own `autoRemediate` (for a check, the fixes it marks safe), sorted from the least
/// to the most risky, without duplicates.
pub fn campaign_classes(strategy: &Strategy, policy_auto_remediate: &[RemediationClass]) -> Vec<RemediationClass> {
    let mut classes = strategy.auto_remediate.clone().unwrap_or_else(|| policy_auto_remediate.to_vec());
    classes.sort();
    classes.dedup();
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ObjectRef;
    use crate::api::finding::Severity;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_775_000_000 + minutes * 60).unwrap()
    }

    fn auto(wave_size: u32) -> Strategy {
        Strategy { mode: CampaignMode::Auto, wave_size, ..Strategy::default() }
    }

    fn candidate(name: &str, severity: Severity, opened: i64, state: FindingState) -> FindingSummary {
        FindingSummary {
            name: name.to_string(),
            asset: ObjectRef { kind: "Deployment".to_string(), name: name.to_string(), ..ObjectRef::default() },
            severity,
            state,
            opened: at(opened),
        }
    }

    fn candidates() -> Vec<FindingSummary> {
        vec![
            candidate("low-old", Severity::Low, 0, FindingState::Open),
            candidate("crit-new", Severity::Critical, 50, FindingState::Open),
            candidate("crit-old", Severity::Critical, 10, FindingState::Reopened),
            candidate("high", Severity::High, 5, FindingState::Open),
            candidate("crit-fixing", Severity::Critical, 1, FindingState::Remediating),
            candidate("crit-escalated", Severity::Critical, 1, FindingState::Escalated),
        ]
    }

    fn go(names: &[&str]) -> WavePlan {
        WavePlan::Go {
            findings: names
                .iter()
                .map(|n| ObjectRef { kind: "Deployment".to_string(), name: n.to_string(), ..ObjectRef::default() })
                .collect(),
        }
    }

    #[test]
    fn a_wave_takes_the_most_severe_then_oldest_up_to_its_size() {
        assert_eq!(
            plan_wave(&auto(3), false, None, None, &candidates(), at(0)).unwrap(),
            go(&["crit-old", "crit-new", "high"])
        );
        assert_eq!(
            plan_wave(&auto(10), false, None, None, &candidates(), at(0)).unwrap(),
            go(&["crit-old", "crit-new", "high", "low-old"])
        );
    }

    #[test]
    fn findings_of_the_same_name_in_two_namespaces_are_both_planned_by_their_assets() {
        let in_namespace = |namespace: &str, opened| FindingSummary {
            name: "tokens.configmap.settings".to_string(),
            asset: ObjectRef {
                kind: "ConfigMap".to_string(),
                namespace: Some(namespace.to_string()),
                name: "settings".to_string(),
                ..ObjectRef::default()
            },
            severity: Severity::High,
            state: FindingState::Open,
            opened: at(opened),
        };
        let plan = plan_wave(&auto(10), false, None, None, &[in_namespace("a", 0), in_namespace("b", 1)], at(2));
        let WavePlan::Go { findings } = plan.unwrap() else { panic!("a wave is due") };
        let namespaces: Vec<_> = findings.iter().map(|f| f.namespace.as_deref()).collect();
        assert_eq!(namespaces, [Some("a"), Some("b")]);
    }

    #[test]
    fn waves_are_spaced_by_the_interval() {
        let strategy = Strategy { wave_interval: "30m".to_string(), ..auto(2) };
        let waiting = plan_wave(&strategy, false, Some(at(0)), None, &candidates(), at(29)).unwrap();
        assert_eq!(waiting, WavePlan::Wait { until: at(30) });
        let due = plan_wave(&strategy, false, Some(at(0)), None, &candidates(), at(30)).unwrap();
        assert_eq!(due, go(&["crit-old", "crit-new"]));
    }

    #[test]
    fn paused_by_spec_or_by_failures() {
        let plan = plan_wave(&auto(2), true, None, None, &candidates(), at(0)).unwrap();
        assert_eq!(plan, WavePlan::Paused { reason: PauseReason::Spec });
        assert_eq!(PauseReason::Spec.reason(), reasons::PAUSED);

        // Default threshold 10%: 1 of 10 is not above it, 2 of 10 is.
        let ok = WaveOutcome { tried: 10, failed: 1 };
        assert!(matches!(
            plan_wave(&auto(2), false, None, Some(ok), &candidates(), at(0)).unwrap(),
            WavePlan::Go { .. }
        ));
        let bad = WaveOutcome { tried: 10, failed: 2 };
        let WavePlan::Paused { reason } = plan_wave(&auto(2), false, None, Some(bad), &candidates(), at(0)).unwrap()
        else {
            panic!("expected a pause");
        };
        assert_eq!(reason, PauseReason::Failures { tried: 10, failed: 2, max_percent: 10 });
        assert_eq!(reason.reason(), reasons::WAVE_FAILURE_THRESHOLD_EXCEEDED);
        assert!(reason.to_string().contains("spec changes"));
        assert!(!WaveOutcome::default().exceeds(0));
    }

    #[test]
    fn idle_without_candidates_or_in_manual_mode() {
        let fixing = vec![candidate("a", Severity::High, 0, FindingState::Verifying)];
        assert_eq!(plan_wave(&auto(2), false, None, None, &fixing, at(0)).unwrap(), WavePlan::Idle);
        assert_eq!(plan_wave(&Strategy::default(), false, None, None, &candidates(), at(0)).unwrap(), WavePlan::Idle);
        let broken = Strategy { wave_interval: "soon".to_string(), ..auto(2) };
        assert!(plan_wave(&broken, false, None, None, &candidates(), at(0)).is_err());
    }

    #[test]
    fn campaign_classes_default_to_the_policy() {
        use RemediationClass::*;
        assert_eq!(campaign_classes(&auto(1), &[Spec, Metadata, Spec]), [Metadata, Spec]);
        let own = Strategy { auto_remediate: Some(vec![Rollout, Access]), ..auto(1) };
        assert_eq!(campaign_classes(&own, &[Metadata]), [Rollout, Access]);
        let none = Strategy { auto_remediate: Some(Vec::new()), ..auto(1) };
        assert!(campaign_classes(&none, &[Metadata]).is_empty());
    }
}
