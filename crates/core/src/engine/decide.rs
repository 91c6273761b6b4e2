//! What to do about each drift of one object: remediate it, escalate it (and why), leave it
//! to an active exception, report it only (audit), or wait (window closed, rate limited).
//!
//! The order of the checks is the order of authority: a human-approved exception wins over
//! everything; then the policy's mode; then the object's own opt-out; then the class of the
//! fix; then the guards that protect the cluster from driftwarden itself (conflict with
//! another applier, flapping, circuit breaker); and last the pacing (windows, rate limit),
//! which only delays a fix.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use jiff::{Timestamp, ToSpan, Zoned, civil::Time, tz::TimeZone};
use serde::Serialize;

use crate::api::RemediationClass;
use crate::api::common::{DurationError, parse_duration};
use crate::api::policy::{Mode, RemediationSpec, RemediationWindow, Weekday};
use crate::engine::drift::Drift;
use crate::engine::pointer::PathPattern;

/// The annotation by which a live object opts out of automatic fixes.
pub const ENFORCE_ANNOTATION: &str = "driftwarden.dev/enforce";

/// Field managers of the GitOps appliers driftwarden never fights: when one of them owns a
/// drifted field, the drift is a `Conflict` to be settled in Git, not a fix to apply.
pub const GITOPS_MANAGERS: &[&str] =
    &["argocd-controller", "argocd-application-controller", "kustomize-controller", "helm-controller"];

/// Whether the live object carries `driftwarden.dev/enforce: disabled`.
pub fn opted_out(object: &serde_json::Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ENFORCE_ANNOTATION))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// What driftwarden does about one drift.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "PascalCase")]
pub enum Action {
    /// Fix it now: server-side apply, then verify with a fresh read.
    Remediate,
    /// A person must act; the reason says why driftwarden did not.
    Escalate { reason: EscalationReason },
    /// An active DriftException covers it.
    Excepted { exception: String },
    /// The policy is in `Audit` mode: report and escalate, never fix.
    Audit,
    /// It will be fixed, but not yet.
    Defer { reason: DeferReason },
}

impl Action {
    /// The action's name, as shown in status and output.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Remediate => "Remediate",
            Action::Escalate { .. } => "Escalate",
            Action::Excepted { .. } => "Excepted",
            Action::Audit => "Audit",
            Action::Defer { .. } => "Defer",
        }
    }
}

/// Why a drift goes to a person instead of being fixed.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "reason", rename_all = "PascalCase")]
pub enum EscalationReason {
    /// The object carries `driftwarden.dev/enforce: disabled`.
    OptedOut,
    /// The policy does not fix this class automatically.
    ClassNotAutomatic { class: RemediationClass },
    /// Another declared applier (a GitOps controller) owns the live value.
    Conflict { manager: String },
    /// The same field was fixed too often: another actor is fighting back.
    Flapping { fixes: u32, window_seconds: u64 },
    /// Too many of the policy's targets drift at once.
    CircuitOpen { drifted_percent: u32, max_percent: u8 },
}

impl EscalationReason {
    /// A PascalCase name for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            Self::OptedOut => "OptedOut",
            Self::ClassNotAutomatic { .. } => "ClassNotAutomatic",
            Self::Conflict { .. } => "Conflict",
            Self::Flapping { .. } => "Flapping",
            Self::CircuitOpen { .. } => "CircuitOpen",
        }
    }
}

impl std::fmt::Display for EscalationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OptedOut => write!(f, "the object opts out with {ENFORCE_ANNOTATION}: disabled"),
            Self::ClassNotAutomatic { class } => write!(f, "{class} fixes are not in autoRemediate"),
            Self::Conflict { manager } => write!(f, "the live value is owned by {manager}; settle it in Git"),
            Self::Flapping { fixes, window_seconds } => {
                write!(f, "fixed {fixes} times in {window_seconds}s: another actor is reverting it")
            }
            Self::CircuitOpen { drifted_percent, max_percent } => {
                write!(f, "{drifted_percent}% of targets drift, above the circuit breaker's {max_percent}%")
            }
        }
    }
}

/// Why a fix waits.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "reason", rename_all = "PascalCase")]
pub enum DeferReason {
    /// No remediation window is open; the next one opens at `opens`.
    OutsideWindow { opens: Option<Timestamp> },
    /// The policy's rate limit is used up for this minute.
    RateLimited { per_minute: u32 },
}

impl std::fmt::Display for DeferReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutsideWindow { opens: Some(opens) } => {
                write!(f, "waiting for the remediation window opening at {opens}")
            }
            Self::OutsideWindow { opens: None } => f.write_str("waiting for a remediation window"),
            Self::RateLimited { per_minute } => write!(f, "rate limited to {per_minute} fixes per minute"),
        }
    }
}

/// The policy's remediation settings, checked and ready to use.
#[derive(Clone, Debug)]
pub struct RemediationRules {
    pub mode: Mode,
    pub auto_remediate: Vec<RemediationClass>,
    pub per_minute: Option<u32>,
    pub max_drifted_percent: Option<u8>,
    pub flapping: Option<(u32, Duration)>,
    pub windows: Vec<Window>,
}

/// Why a policy's remediation settings are not valid.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("remediation.flapping.window: {0}")]
    FlappingWindow(#[source] DurationError),
    #[error("remediation.circuitBreaker.maxDriftedPercent must be at most 100, got {0}")]
    Percent(u8),
    #[error("remediation.windows[{index}]: {message}")]
    Window { index: usize, message: String },
}

impl RemediationRules {
    /// Checks a policy's `spec.remediation`.
    pub fn from_spec(spec: &RemediationSpec) -> Result<Self, RulesError> {
        let flapping = match &spec.flapping {
            Some(f) => Some((f.max_fixes, parse_duration(&f.window).map_err(RulesError::FlappingWindow)?)),
            None => None,
        };
        let max_drifted_percent = spec.circuit_breaker.as_ref().map(|c| c.max_drifted_percent);
        if let Some(percent) = max_drifted_percent.filter(|p| *p > 100) {
            return Err(RulesError::Percent(percent));
        }
        let windows = spec
            .windows
            .iter()
            .enumerate()
            .map(|(index, w)| Window::from_spec(w).map_err(|message| RulesError::Window { index, message }))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            mode: spec.mode,
            auto_remediate: spec.auto_remediate.clone(),
            per_minute: spec.rate_limit.as_ref().map(|r| r.per_minute),
            max_drifted_percent,
            flapping,
            windows,
        })
    }
}

/// A recurring remediation window in its time zone.
#[derive(Clone, Debug)]
pub struct Window {
    days: Vec<jiff::civil::Weekday>,
    start: Time,
    end: Time,
    zone: TimeZone,
}

impl Window {
    fn from_spec(spec: &RemediationWindow) -> Result<Self, String> {
        let time = |field: &str, text: &str| {
            Time::strptime("%H:%M", text).map_err(|_| format!("{field} {text:?} is not a time of day as HH:MM"))
        };
        let zone = TimeZone::get(&spec.time_zone)
            .map_err(|_| format!("timeZone {:?} is not a known IANA time zone", spec.time_zone))?;
        let days = spec
            .days
            .iter()
            .map(|d| match d {
                Weekday::Monday => jiff::civil::Weekday::Monday,
                Weekday::Tuesday => jiff::civil::Weekday::Tuesday,
                Weekday::Wednesday => jiff::civil::Weekday::Wednesday,
                Weekday::Thursday => jiff::civil::Weekday::Thursday,
                Weekday::Friday => jiff::civil::Weekday::Friday,
                Weekday::Saturday => jiff::civil::Weekday::Saturday,
                Weekday::Sunday => jiff::civil::Weekday::Sunday,
            })
            .collect();
        Ok(Self { days, start: time("start", &spec.start)?, end: time("end", &spec.end)?, zone })
    }

    /// Whether the window is open at `now`. A window whose end is not after its start runs
    /// past midnight, into the next day.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let local = now.to_zoned(self.zone.clone());
        let time = local.time();
        let opened_on = |day: jiff::civil::Weekday| self.days.is_empty() || self.days.contains(&day);
        if self.start < self.end {
            opened_on(local.weekday()) && time >= self.start && time < self.end
        } else {
            (opened_on(local.weekday()) && time >= self.start)
                || (opened_on(local.weekday().previous()) && time < self.end)
        }
    }

    /// The next time the window opens after `now`, within the coming eight days.
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        let local: Zoned = now.to_zoned(self.zone.clone());
        (0..8).find_map(|offset| {
            let date = local.date().checked_add(offset.days()).ok()?;
            let opening = date.to_datetime(self.start).to_zoned(self.zone.clone()).ok()?.timestamp();
            let day_ok = self.days.is_empty() || self.days.contains(&date.weekday());
            (day_ok && opening > now).then_some(opening)
        })
    }
}

/// An active DriftException that covers the object being decided.
#[derive(Clone, Debug)]
pub struct ExceptionCover {
    /// The exception's `namespace/name`.
    pub name: String,
    /// The paths it covers; empty means every path.
    pub paths: Vec<PathPattern>,
    /// When it stops covering anything.
    pub expires_at: Timestamp,
}

impl ExceptionCover {
    /// Whether this exception covers `drift` at `now`.
    pub fn covers(&self, drift: &Drift, now: Timestamp) -> bool {
        now < self.expires_at && (self.paths.is_empty() || self.paths.iter().any(|p| p.matches(&drift.path)))
    }
}

/// The live counters a decision reads.
pub struct Counters<'a> {
    /// How many targets the policy governs.
    pub targets: u32,
    /// How many of them drift now.
    pub drifted: u32,
    /// How many fixes the policy applied in the last minute.
    pub remediations_last_minute: u32,
    /// How many times a path of this object was fixed within the flapping window.
    pub fixes_of: &'a dyn Fn(&str) -> u32,
}

/// What decides the drifts of one object.
pub struct DecisionInput<'a> {
    pub rules: &'a RemediationRules,
    /// The object's `driftwarden.dev/enforce: disabled` opt-out.
    pub opted_out: bool,
    /// Exceptions whose match selects the object (expired ones are ignored here).
    pub exceptions: &'a [ExceptionCover],
    pub counters: Counters<'a>,
    /// Field managers that count as declared appliers; see [`GITOPS_MANAGERS`]. Any other
    /// manager whose last write of a drifted field was a server-side apply is a declared
    /// applier too.
    pub conflict_managers: &'a [&'a str],
    /// driftwarden's own field manager, whose applies are never a conflict.
    pub own_manager: &'a str,
    pub now: Timestamp,
}

/// Decides every drift of one object; the result is in the same order as `drifts`.
pub fn decide(input: &DecisionInput<'_>, drifts: &[Drift]) -> Vec<Action> {
    drifts.iter().map(|drift| decide_one(input, drift)).collect()
}

fn decide_one(input: &DecisionInput<'_>, drift: &Drift) -> Action {
    let rules = input.rules;
    if let Some(cover) = input.exceptions.iter().find(|e| e.covers(drift, input.now)) {
        return Action::Excepted { exception: cover.name.clone() };
    }
    if rules.mode == Mode::Audit {
        return Action::Audit;
    }
    let escalate = |reason| Action::Escalate { reason };
    if input.opted_out {
        return escalate(EscalationReason::OptedOut);
    }
    if !rules.auto_remediate.contains(&drift.class) {
        return escalate(EscalationReason::ClassNotAutomatic { class: drift.class });
    }
    if let Some(attribution) = &drift.attribution
        && attribution.manager != input.own_manager
        && (input.conflict_managers.contains(&attribution.manager.as_str()) || attribution.operation == "Apply")
    {
        return escalate(EscalationReason::Conflict { manager: attribution.manager.clone() });
    }
    if let Some((max_fixes, window)) = rules.flapping {
        let fixes = (input.counters.fixes_of)(&drift.path);
        if fixes >= max_fixes {
            return escalate(EscalationReason::Flapping { fixes, window_seconds: window.as_secs() });
        }
    }
    if let Some(max_percent) = rules.max_drifted_percent {
        let counters = &input.counters;
        if counters.targets > 0
            && u64::from(counters.drifted) * 100 > u64::from(max_percent) * u64::from(counters.targets)
        {
            let drifted_percent = (u64::from(counters.drifted) * 100 / u64::from(counters.targets)) as u32;
            return escalate(EscalationReason::CircuitOpen { drifted_percent, max_percent });
        }
    }
    if !rules.windows.is_empty() && !rules.windows.iter().any(|w| w.is_open(input.now)) {
        let opens = rules.windows.iter().filter_map(|w| w.next_opening(input.now)).min();
        return Action::Defer { reason: DeferReason::OutsideWindow { opens } };
    }
    if let Some(per_minute) = rules.per_minute
        && input.counters.remediations_last_minute >= per_minute
    {
        return Action::Defer { reason: DeferReason::RateLimited { per_minute } };
    }
    Action::Remediate
}

/// A sliding one-minute count of a policy's fixes, for its rate limit.
#[derive(Clone, Debug, Default)]
pub struct RateWindow {
    fixes: VecDeque<Timestamp>,
}

impl RateWindow {
    /// Records a fix at `at`.
    pub fn record(&mut self, at: Timestamp) {
        self.fixes.push_back(at);
    }

    /// How many fixes fall within the minute before `now`.
    pub fn in_last_minute(&mut self, now: Timestamp) -> u32 {
        let cutoff = now - 60.seconds();
        while self.fixes.front().is_some_and(|t| *t <= cutoff) {
            self.fixes.pop_front();
        }
        self.fixes.len() as u32
    }
}

/// When each field of each object was fixed, for flapping detection.
#[derive(Clone, Debug, Default)]
pub struct FixHistory {
    fixes: BTreeMap<(String, String), VecDeque<Timestamp>>,
}

impl FixHistory {
    /// Records that `path` of the object `key` was fixed at `at`.
    pub fn record(&mut self, key: &str, path: &str, at: Timestamp) {
        self.fixes.entry((key.to_string(), path.to_string())).or_default().push_back(at);
    }

    /// How many times `path` of `key` was fixed within `window` before `now`.
    pub fn count(&self, key: &str, path: &str, window: Duration, now: Timestamp) -> u32 {
        let Ok(span) = jiff::SignedDuration::try_from(window) else { return 0 };
        let cutoff = now - span;
        self.fixes
            .get(&(key.to_string(), path.to_string()))
            .map_or(0, |times| times.iter().filter(|t| **t > cutoff).count() as u32)
    }

    /// Forgets fixes older than `window`, so the history stays bounded.
    pub fn prune(&mut self, window: Duration, now: Timestamp) {
        let Ok(span) = jiff::SignedDuration::try_from(window) else { return };
        let cutoff = now - span;
        self.fixes.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= cutoff) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::drift::Attribution;
    use serde_json::json;

    fn drift(path: &str, class: RemediationClass) -> Drift {
        Drift { path: path.to_string(), desired: json!("x"), live: Some(json!("y")), class, attribution: None }
    }

    fn rules(yaml: &str) -> RemediationRules {
        RemediationRules::from_spec(&serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    fn no_fixes(_: &str) -> u32 {
        0
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn input<'a>(
        rules: &'a RemediationRules,
        exceptions: &'a [ExceptionCover],
        counters: Counters<'a>,
    ) -> DecisionInput<'a> {
        DecisionInput {
            rules,
            opted_out: false,
            exceptions,
            counters,
            conflict_managers: GITOPS_MANAGERS,
            own_manager: "driftwarden",
            now: at("2026-11-23T10:00:00Z"),
        }
    }

    fn calm() -> Counters<'static> {
        Counters { targets: 10, drifted: 1, remediations_last_minute: 0, fixes_of: &no_fixes }
    }

    #[test]
    fn enforce_fixes_allowed_classes_and_escalates_the_rest() {
        let rules = rules("mode: Enforce");
        let drifts = [
            drift("/metadata/labels/team", RemediationClass::Metadata),
            drift("/spec/template/spec/containers/name=app/image", RemediationClass::Rollout),
        ];
        let actions = decide(&input(&rules, &[], calm()), &drifts);
        assert_eq!(actions[0], Action::Remediate);
        assert_eq!(
            actions[1],
            Action::Escalate { reason: EscalationReason::ClassNotAutomatic { class: RemediationClass::Rollout } }
        );
    }

    #[test]
    fn audit_fixes_nothing() {
        let rules = rules("mode: Audit");
        let actions =
            decide(&input(&rules, &[], calm()), &[drift("/metadata/labels/team", RemediationClass::Metadata)]);
        assert_eq!(actions, vec![Action::Audit]);
    }

    #[test]
    fn opt_out_reports_but_never_fixes() {
        let rules = rules("mode: Enforce");
        let mut decision = input(&rules, &[], calm());
        decision.opted_out = true;
        let actions = decide(&decision, &[drift("/metadata/labels/team", RemediationClass::Metadata)]);
        assert_eq!(actions, vec![Action::Escalate { reason: EscalationReason::OptedOut }]);
        let object = json!({"metadata": {"annotations": {"driftwarden.dev/enforce": "disabled"}}});
        assert!(opted_out(&object));
        assert!(!opted_out(&json!({"metadata": {"annotations": {"driftwarden.dev/enforce": "enabled"}}})));
    }

    #[test]
    fn active_exceptions_suppress_until_they_expire() {
        let rules = rules("mode: Enforce");
        let cover = ExceptionCover {
            name: "shop/legacy-image".into(),
            paths: vec![PathPattern::parse("/spec/template/spec/containers/*/image").unwrap()],
            expires_at: at("2026-11-23T10:00:01Z"),
        };
        let covers = [cover];
        let image = drift("/spec/template/spec/containers/name=app/image", RemediationClass::Rollout);
        let label = drift("/metadata/labels/team", RemediationClass::Metadata);
        let mut decision = input(&rules, &covers, calm());
        let actions = decide(&decision, &[image.clone(), label]);
        assert_eq!(actions[0], Action::Excepted { exception: "shop/legacy-image".into() });
        assert_eq!(actions[1], Action::Remediate);

        decision.now = at("2026-11-23T10:00:01Z");
        assert_eq!(decide(&decision, std::slice::from_ref(&image))[0].name(), "Escalate");
    }

    #[test]
    fn gitops_owned_fields_are_conflicts() {
        let rules = rules("mode: Enforce");
        let mut owned = drift("/spec/replicas", RemediationClass::Spec);
        owned.attribution =
            Some(Attribution { manager: "argocd-controller".into(), operation: "Apply".into(), time: None });
        let actions = decide(&input(&rules, &[], calm()), &[owned]);
        assert_eq!(
            actions,
            vec![Action::Escalate { reason: EscalationReason::Conflict { manager: "argocd-controller".into() } }]
        );
    }

    #[test]
    fn other_appliers_are_conflicts_but_edits_and_own_applies_are_not() {
        let rules = rules("mode: Enforce");
        let by = |manager: &str, operation: &str| {
            let mut d = drift("/metadata/labels/team", RemediationClass::Metadata);
            d.attribution = Some(Attribution { manager: manager.into(), operation: operation.into(), time: None });
            d
        };
        let actions = decide(
            &input(&rules, &[], calm()),
            &[
                by("helm", "Apply"),
                by("kubectl-edit", "Update"),
                by("driftwarden", "Apply"),
                by("kustomize-controller", "Update"),
            ],
        );
        assert_eq!(actions[0], Action::Escalate { reason: EscalationReason::Conflict { manager: "helm".into() } });
        assert_eq!(actions[1], Action::Remediate);
        assert_eq!(actions[2], Action::Remediate);
        assert_eq!(
            actions[3],
            Action::Escalate { reason: EscalationReason::Conflict { manager: "kustomize-controller".into() } }
        );
    }

    #[test]
    fn flapping_fields_escalate_as_conflicts() {
        let rules = rules("flapping: {maxFixes: 3, window: 10m}");
        let three = |path: &str| if path == "/spec/replicas" { 3 } else { 2 };
        let counters = Counters { fixes_of: &three, ..calm() };
        let actions = decide(
            &input(&rules, &[], counters),
            &[drift("/spec/replicas", RemediationClass::Spec), drift("/spec/paused", RemediationClass::Spec)],
        );
        assert_eq!(
            actions[0],
            Action::Escalate { reason: EscalationReason::Flapping { fixes: 3, window_seconds: 600 } }
        );
        assert_eq!(actions[1], Action::Remediate);
    }

    #[test]
    fn circuit_breaker_opens_above_the_threshold() {
        let rules = rules("circuitBreaker: {maxDriftedPercent: 20}");
        let at_limit = Counters { targets: 10, drifted: 2, ..calm() };
        let spec = drift("/spec/paused", RemediationClass::Spec);
        assert_eq!(decide(&input(&rules, &[], at_limit), std::slice::from_ref(&spec)), vec![Action::Remediate]);
        let above = Counters { targets: 10, drifted: 3, ..calm() };
        assert_eq!(
            decide(&input(&rules, &[], above), &[spec]),
            vec![Action::Escalate { reason: EscalationReason::CircuitOpen { drifted_percent: 30, max_percent: 20 } }]
        );
    }

    #[test]
    fn rate_limit_defers() {
        let rules = rules("rateLimit: {perMinute: 5}");
        let busy = Counters { remediations_last_minute: 5, ..calm() };
        let actions = decide(&input(&rules, &[], busy), &[drift("/spec/paused", RemediationClass::Spec)]);
        assert_eq!(actions, vec![Action::Defer { reason: DeferReason::RateLimited { per_minute: 5 } }]);
    }

    #[test]
    fn windows_open_close_and_cross_midnight() {
        // 2026-11-23 is a Monday.
        let rules = rules("windows: [{days: [Monday], start: '09:00', end: '17:00', timeZone: Europe/Paris}]");
        let inside = input(&rules, &[], calm()); // 10:00 UTC = 11:00 in Paris
        assert_eq!(decide(&inside, &[drift("/spec/paused", RemediationClass::Spec)]), vec![Action::Remediate]);
        let mut evening = input(&rules, &[], calm());
        evening.now = at("2026-11-23T17:30:00Z");
        let deferred = decide(&evening, &[drift("/spec/paused", RemediationClass::Spec)]);
        assert_eq!(
            deferred,
            vec![Action::Defer { reason: DeferReason::OutsideWindow { opens: Some(at("2026-11-30T08:00:00Z")) } }]
        );

        let night = Window::from_spec(&serde_yaml::from_str("{days: [Friday], start: '22:00', end: '02:00'}").unwrap())
            .unwrap();
        assert!(night.is_open(at("2026-11-27T23:00:00Z")));
        assert!(night.is_open(at("2026-11-28T01:00:00Z")), "a Friday night window stays open after midnight");
        assert!(!night.is_open(at("2026-11-28T03:00:00Z")));
        assert!(!night.is_open(at("2026-11-26T23:00:00Z")));
    }

    #[test]
    fn invalid_settings_say_what_is_wrong() {
        let spec =
            |yaml: &str| RemediationRules::from_spec(&serde_yaml::from_str(yaml).unwrap()).unwrap_err().to_string();
        assert!(spec("flapping: {maxFixes: 3, window: soon}").starts_with("remediation.flapping.window"));
        assert!(spec("windows: [{start: '25:00', end: '02:00'}]").contains("windows[0]: start \"25:00\""));
        assert!(spec("windows: [{start: '01:00', end: '02:00', timeZone: Mars/Olympus}]").contains("Mars/Olympus"));
        assert!(spec("circuitBreaker: {maxDriftedPercent: 120}").contains("at most 100"));
    }

    #[test]
    fn rate_window_and_fix_history_slide() {
        let mut rate = RateWindow::default();
        rate.record(at("2026-11-23T10:00:00Z"));
        rate.record(at("2026-11-23T10:00:30Z"));
        assert_eq!(rate.in_last_minute(at("2026-11-23T10:00:59Z")), 2);
        assert_eq!(rate.in_last_minute(at("2026-11-23T10:01:00Z")), 1);

        let mut history = FixHistory::default();
        for t in ["2026-11-23T10:00:00Z", "2026-11-23T10:05:00Z", "2026-11-23T10:09:00Z"] {
            history.record("apps/v1/Deployment/shop/web", "/spec/replicas", at(t));
        }
        let window = Duration::from_secs(600);
        assert_eq!(
            history.count("apps/v1/Deployment/shop/web", "/spec/replicas", window, at("2026-11-23T10:09:30Z")),
            3
        );
        assert_eq!(
            history.count("apps/v1/Deployment/shop/web", "/spec/replicas", window, at("2026-11-23T10:12:00Z")),
            2
        );
        history.prune(window, at("2026-11-23T10:30:00Z"));
        assert_eq!(
            history.count("apps/v1/Deployment/shop/web", "/spec/replicas", window, at("2026-11-23T10:30:00Z")),
            0
        );
    }
}
