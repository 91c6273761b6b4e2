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
use crate::api::common::{DurationError, parse_duration_at_most};
use crate::api::policy::{
    MAX_FLAPPING_FIXES, MAX_FLAPPING_WINDOW, MAX_RATE_PER_MINUTE, Mode, RemediationSpec, RemediationWindow, Weekday,
};
use crate::engine::drift::Drift;
use crate::engine::pointer::PathPattern;

/// The annotation by which a live object opts out of automatic fixes.
pub const ENFORCE_ANNOTATION: &str = "driftwarden.dev/enforce";

/// The field managers of the appliers driftwarden never fights unless an installation
/// (`--appliers`) or a policy (`spec.remediation.appliers`) names others: Argo CD's
/// (`argocd-controller` for server-side applies, `argocd-application-controller` for client-side
/// ones), Flux's kustomize and helm controllers, and Helm's own `helm`. When one of them last
/// wrote a drifted field, the drift is a `Conflict` to settle where that applier reads its
/// declared state, not a fix to apply.
pub const DEFAULT_APPLIERS: &[&str] =
    &["argocd-controller", "argocd-application-controller", "kustomize-controller", "helm-controller", "helm"];

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
                write!(f, "conflict: fixed {fixes} times in {window_seconds}s, another actor is reverting it")
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

/// The flapping guard of a policy that sets no `remediation.flapping`: the same field of
/// the same object fixed 5 times within 10 minutes is escalated instead of fixed again.
pub const DEFAULT_FLAPPING: (u32, Duration) = (5, Duration::from_secs(600));

/// The circuit breaker of a policy that sets no `remediation.circuitBreaker`: more than half
/// of its targets drifting at once stops its fixes ...
pub const DEFAULT_MAX_DRIFTED_PERCENT: u8 = 50;

/// ... once it governs at least this many targets: below that, one drifted object of a
/// small policy is a large percentage but not a mass change.
pub const DEFAULT_BREAKER_MIN_TARGETS: u32 = 10;

/// The policy's remediation settings, checked and ready to use.
#[derive(Clone, Debug)]
pub struct RemediationRules {
    pub mode: Mode,
    pub auto_remediate: Vec<RemediationClass>,
    pub per_minute: Option<u32>,
    /// The circuit breaker's threshold; `None` only where a person decided (an approved
    /// campaign fix).
    pub max_drifted_percent: Option<u8>,
    /// Whether the breaker is [`DEFAULT_MAX_DRIFTED_PERCENT`] because the policy sets none:
    /// it then opens only from [`DEFAULT_BREAKER_MIN_TARGETS`] targets, and a campaign's
    /// paced waves do without it.
    pub breaker_defaulted: bool,
    /// The flapping guard `(max fixes, window)`: the policy's, or [`DEFAULT_FLAPPING`].
    pub flapping: (u32, Duration),
    pub windows: Vec<Window>,
    /// The policy's own appliers (`remediation.appliers`); `None`: the installation's.
    pub appliers: Option<Vec<String>>,
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
    /// A count outside the range the CRD states.
    #[error("remediation.{field} must be from 1 to {max}, got {value}")]
    Count { field: &'static str, value: u32, max: u32 },
}

impl RemediationRules {
    /// Checks a policy's `spec.remediation`.
    pub fn from_spec(spec: &RemediationSpec) -> Result<Self, RulesError> {
        let flapping = match &spec.flapping {
            Some(f) => {
                let window =
                    parse_duration_at_most(&f.window, MAX_FLAPPING_WINDOW).map_err(RulesError::FlappingWindow)?;
                (f.max_fixes, window)
            }
            None => DEFAULT_FLAPPING,
        };
        let count = |field, value: u32, max| {
            if (1..=max).contains(&value) { Ok(()) } else { Err(RulesError::Count { field, value, max }) }
        };
        if let Some(rate) = &spec.rate_limit {
            count("rateLimit.perMinute", rate.per_minute, MAX_RATE_PER_MINUTE)?;
        }
        if let Some(flapping) = &spec.flapping {
            count("flapping.maxFixes", flapping.max_fixes, MAX_FLAPPING_FIXES)?;
        }
        let max_drifted_percent =
            spec.circuit_breaker.as_ref().map_or(DEFAULT_MAX_DRIFTED_PERCENT, |c| c.max_drifted_percent);
        if max_drifted_percent > 100 {
            return Err(RulesError::Percent(max_drifted_percent));
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
            max_drifted_percent: Some(max_drifted_percent),
            breaker_defaulted: spec.circuit_breaker.is_none(),
            flapping,
            windows,
            appliers: spec.appliers.clone(),
        })
    }
}

impl RemediationRules {
    /// Whether the circuit breaker is open when `drifted` of `targets` drift at once: more
    /// of them than `max_drifted_percent` allows (and, for the default threshold, from
    /// [`DEFAULT_BREAKER_MIN_TARGETS`] targets). `Some((drifted percent, threshold))` when
    /// it is open; every drift the policy would fix is then escalated instead.
    pub fn breaker_open(&self, targets: u32, drifted: u32) -> Option<(u32, u8)> {
        let max_percent = self.max_drifted_percent?;
        let min_targets = if self.breaker_defaulted { DEFAULT_BREAKER_MIN_TARGETS } else { 1 };
        let open = targets >= min_targets && u64::from(drifted) * 100 > u64::from(max_percent) * u64::from(targets);
        // Open only with at least one target: the division is safe.
        open.then(|| ((u64::from(drifted) * 100 / u64::from(targets)) as u32, max_percent))
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
    /// The field managers that count as declared appliers (see [`DEFAULT_APPLIERS`]): the
    /// policy's `remediation.appliers`, else the installation's. Any other manager's write,
    /// a server-side apply included, is drift.
    pub appliers: &'a [String],
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
        && input.appliers.contains(&attribution.manager)
    {
        return escalate(EscalationReason::Conflict { manager: attribution.manager.clone() });
    }
    let (max_fixes, window) = rules.flapping;
    let fixes = (input.counters.fixes_of)(&drift.path);
    if fixes >= max_fixes {
        return escalate(EscalationReason::Flapping { fixes, window_seconds: window.as_secs() });
    }
    if let Some((drifted_percent, max_percent)) = rules.breaker_open(input.counters.targets, input.counters.drifted) {
        return escalate(EscalationReason::CircuitOpen { drifted_percent, max_percent });
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

/// A sliding one-minute count of a policy's fixes, for its rate limit. It holds at most the
/// fixes of the last minute (older ones go as new ones come and whenever it is read).
#[derive(Clone, Debug, Default)]
pub struct RateWindow {
    fixes: VecDeque<Timestamp>,
}

impl RateWindow {
    /// Records a fix at `at`.
    pub fn record(&mut self, at: Timestamp) {
        self.forget_before(at);
        self.fixes.push_back(at);
    }

    /// How many fixes fall within the minute before `now`.
    pub fn in_last_minute(&mut self, now: Timestamp) -> u32 {
        self.forget_before(now);
        self.fixes.len() as u32
    }

    /// How many fixes it holds.
    pub fn len(&self) -> usize {
        self.fixes.len()
    }

    /// Whether it holds no fix.
    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty()
    }

    fn forget_before(&mut self, now: Timestamp) {
        let cutoff = now.checked_sub(60.seconds()).unwrap_or(Timestamp::MIN);
        while self.fixes.front().is_some_and(|t| *t <= cutoff) {
            self.fixes.pop_front();
        }
    }
}

/// When each field of each object was fixed, for flapping detection. Bounded: a field
/// keeps at most the `max fixes` latest fixes of its window (enough to decide), an object
/// is forgotten when it goes away ([`FixHistory::forget`]), and fixes older than the
/// window go at the next [`FixHistory::prune`].
#[derive(Clone, Debug, Default)]
pub struct FixHistory {
    fixes: BTreeMap<String, BTreeMap<String, VecDeque<Timestamp>>>,
}

/// `now - window`, or the earliest time when that is out of range.
fn cutoff(window: Duration, now: Timestamp) -> Timestamp {
    jiff::SignedDuration::try_from(window).ok().and_then(|span| now.checked_sub(span).ok()).unwrap_or(Timestamp::MIN)
}

impl FixHistory {
    /// Records that `path` of the object `key` was fixed at `at`, under the flapping guard
    /// `(max_fixes, window)`.
    pub fn record(&mut self, key: &str, path: &str, at: Timestamp, (max_fixes, window): (u32, Duration)) {
        let times = self.fixes.entry(key.to_string()).or_default().entry(path.to_string()).or_default();
        times.push_back(at);
        let cutoff = cutoff(window, at);
        let keep = usize::try_from(max_fixes.max(1)).unwrap_or(usize::MAX);
        while times.front().is_some_and(|t| *t <= cutoff) || times.len() > keep {
            times.pop_front();
        }
    }

    /// How many times `path` of `key` was fixed within `window` before `now`.
    pub fn count(&self, key: &str, path: &str, window: Duration, now: Timestamp) -> u32 {
        let cutoff = cutoff(window, now);
        self.fixes
            .get(key)
            .and_then(|paths| paths.get(path))
            .map_or(0, |times| times.iter().filter(|t| **t > cutoff).count() as u32)
    }

    /// Forgets fixes older than `window`, and the fields and objects left with none.
    pub fn prune(&mut self, window: Duration, now: Timestamp) {
        let cutoff = cutoff(window, now);
        self.fixes.retain(|_, paths| {
            paths.retain(|_, times| {
                while times.front().is_some_and(|t| *t <= cutoff) {
                    times.pop_front();
                }
                !times.is_empty()
            });
            !paths.is_empty()
        });
    }

    /// Forgets every fix of the object `key` (it was deleted or no longer governed).
    pub fn forget(&mut self, key: &str) {
        self.fixes.remove(key);
    }

    /// How many objects have fixes remembered.
    pub fn objects(&self) -> usize {
        self.fixes.len()
    }

    /// How many fixes are remembered in all.
    pub fn len(&self) -> usize {
        self.fixes.values().flat_map(BTreeMap::values).map(VecDeque::len).sum()
    }

    /// Whether no fix is remembered.
    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty()
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

    static APPLIERS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| DEFAULT_APPLIERS.iter().map(|a| a.to_string()).collect());

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
            appliers: &APPLIERS,
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
    fn values_the_crd_refuses_are_refused_here_too() {
        let refused = |yaml: &str| {
            RemediationRules::from_spec(&serde_yaml::from_str(yaml).unwrap()).map(|_| ()).unwrap_err().to_string()
        };
        assert_eq!(
            refused("rateLimit: {perMinute: 0}"),
            "remediation.rateLimit.perMinute must be from 1 to 10000, got 0"
        );
        assert_eq!(
            refused("rateLimit: {perMinute: 10001}"),
            "remediation.rateLimit.perMinute must be from 1 to 10000, got 10001"
        );
        assert!(
            refused("flapping: {maxFixes: 1001, window: 10m}").contains("flapping.maxFixes must be from 1 to 1000")
        );
        assert!(refused("flapping: {maxFixes: 3, window: 169h}").contains("\"169h\" is longer than 168h"));
        assert!(refused("circuitBreaker: {maxDriftedPercent: 101}").contains("at most 100"));
        assert_eq!(rules("rateLimit: {perMinute: 10000}\nflapping: {maxFixes: 1000, window: 168h}").flapping.0, 1000);
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

    fn by(manager: &str, operation: &str) -> Drift {
        let mut d = drift("/metadata/labels/team", RemediationClass::Metadata);
        d.attribution = Some(Attribution { manager: manager.into(), operation: operation.into(), time: None });
        d
    }

    #[test]
    fn only_the_listed_appliers_are_conflicts_and_a_persons_server_side_apply_is_drift() {
        let rules = rules("mode: Enforce");
        let actions = decide(
            &input(&rules, &[], calm()),
            &[
                by("helm", "Update"),
                by("kubectl-edit", "Update"),
                by("driftwarden", "Apply"),
                by("kustomize-controller", "Apply"),
                by("kubectl", "Apply"),
                by("argocd-controller", "Apply"),
            ],
        );
        let conflict =
            |manager: &str| Action::Escalate { reason: EscalationReason::Conflict { manager: manager.into() } };
        assert_eq!(actions[0], conflict("helm"));
        assert_eq!(actions[1], Action::Remediate);
        assert_eq!(actions[2], Action::Remediate);
        assert_eq!(actions[3], conflict("kustomize-controller"));
        assert_eq!(actions[4], Action::Remediate, "a person's kubectl apply --server-side is drift");
        assert_eq!(actions[5], conflict("argocd-controller"));
    }

    #[test]
    fn an_installation_or_policy_list_replaces_the_default_appliers() {
        let rules = rules("mode: Enforce");
        let ours = vec!["platform-applier".to_string()];
        let input = DecisionInput { appliers: &ours, ..input(&rules, &[], calm()) };
        let actions = decide(&input, &[by("platform-applier", "Apply"), by("helm", "Update")]);
        assert_eq!(
            actions,
            vec![
                Action::Escalate { reason: EscalationReason::Conflict { manager: "platform-applier".into() } },
                Action::Remediate
            ]
        );
        let none = Vec::new();
        let input = DecisionInput { appliers: &none, ..input };
        assert_eq!(decide(&input, &[by("argocd-controller", "Apply")]), vec![Action::Remediate]);
        let from_spec = self::rules("appliers: [team-bot]");
        assert_eq!(from_spec.appliers, Some(vec!["team-bot".to_string()]));
        assert_eq!(self::rules("mode: Audit").appliers, None);
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
    fn the_breaker_opens_above_its_threshold_and_from_ten_targets_by_default() {
        let set = rules("circuitBreaker: {maxDriftedPercent: 20}");
        assert_eq!(set.breaker_open(10, 2), None, "at the threshold it stays closed");
        assert_eq!(set.breaker_open(10, 3), Some((30, 20)));
        assert_eq!(set.breaker_open(1, 1), Some((100, 20)), "a threshold the policy sets holds at any size");
        assert_eq!(set.breaker_open(0, 0), None, "no target, nothing open");
        let default = rules("mode: Enforce");
        assert_eq!(default.breaker_open(9, 9), None, "below ten targets the default breaker stays closed");
        assert_eq!(default.breaker_open(10, 6), Some((60, 50)));
        let unguarded = RemediationRules { max_drifted_percent: None, ..default };
        assert_eq!(unguarded.breaker_open(10, 10), None, "an approved fix has no breaker");
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
            history.record("apps/v1/Deployment/shop/web", "/spec/replicas", at(t), (5, Duration::from_secs(600)));
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
        assert!(history.is_empty(), "a pruned field and object leave nothing behind");
    }

    #[test]
    fn the_fix_history_keeps_what_a_decision_needs_and_forgets_deleted_objects() {
        let guard = (3, Duration::from_secs(600));
        let mut history = FixHistory::default();
        for second in 0..100 {
            let t = at("2026-11-23T10:00:00Z") + jiff::SignedDuration::from_secs(second);
            history.record("v1/ConfigMap/shop/web", "/data/a", t, guard);
            history.record("v1/ConfigMap/shop/db", "/data/a", t, guard);
        }
        assert_eq!(history.len(), 6, "each field keeps only its latest maxFixes fixes");
        let now = at("2026-11-23T10:01:40Z");
        assert_eq!(history.count("v1/ConfigMap/shop/web", "/data/a", guard.1, now), 3, "enough to escalate");
        // Fixes older than the window go as the next one is recorded.
        history.record("v1/ConfigMap/shop/web", "/data/a", at("2026-11-23T11:00:00Z"), guard);
        assert_eq!(history.count("v1/ConfigMap/shop/web", "/data/a", guard.1, at("2026-11-23T11:00:00Z")), 1);
        history.forget("v1/ConfigMap/shop/db");
        assert_eq!((history.objects(), history.len()), (1, 1), "a deleted object is forgotten");
        // A window too large for the calendar counts everything and never panics.
        let huge = Duration::from_secs(u64::MAX / 2);
        assert_eq!(history.count("v1/ConfigMap/shop/web", "/data/a", huge, now), 1);
        history.record("v1/ConfigMap/shop/web", "/data/a", Timestamp::MIN, (1, huge));
        let mut rate = RateWindow::default();
        for second in 0..600 {
            rate.record(at("2026-11-23T10:00:00Z") + jiff::SignedDuration::from_secs(second));
        }
        assert_eq!(rate.len(), 60, "the rate window holds one minute of fixes, read or not");
    }

    #[test]
    fn every_policy_has_a_flapping_guard_and_a_circuit_breaker() {
        let rules = rules("mode: Enforce");
        assert_eq!(rules.flapping, DEFAULT_FLAPPING);
        assert_eq!((rules.max_drifted_percent, rules.breaker_defaulted), (Some(DEFAULT_MAX_DRIFTED_PERCENT), true));
        let spec = drift("/spec/paused", RemediationClass::Spec);
        let five = |_: &str| 5;
        let fought = Counters { fixes_of: &five, ..calm() };
        assert_eq!(
            decide(&input(&rules, &[], fought), std::slice::from_ref(&spec)),
            vec![Action::Escalate { reason: EscalationReason::Flapping { fixes: 5, window_seconds: 600 } }]
        );
        let most = Counters { targets: 10, drifted: 6, ..calm() };
        assert_eq!(
            decide(&input(&rules, &[], most), std::slice::from_ref(&spec)),
            vec![Action::Escalate { reason: EscalationReason::CircuitOpen { drifted_percent: 60, max_percent: 50 } }]
        );
        // A small policy is not a mass change: its one drifted object is fixed.
        let small = Counters { targets: 1, drifted: 1, ..calm() };
        assert_eq!(decide(&input(&rules, &[], small), std::slice::from_ref(&spec)), vec![Action::Remediate]);
        // A breaker the policy sets applies at any size; its own flapping guard replaces the default.
        let own = RemediationRules::from_spec(
            &serde_yaml::from_str("{circuitBreaker: {maxDriftedPercent: 50}, flapping: {maxFixes: 9, window: 1m}}")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(own.flapping, (9, Duration::from_secs(60)));
        assert!(!own.breaker_defaulted);
        let small = Counters { targets: 1, drifted: 1, fixes_of: &five, ..calm() };
        assert_eq!(
            decide(&input(&own, &[], small), &[spec]),
            vec![Action::Escalate { reason: EscalationReason::CircuitOpen { drifted_percent: 100, max_percent: 50 } }]
        );
    }
}
