//! The one way conditions are written, read and checked, for every driftwarden kind.
//!
//! Conditions follow the Kubernetes and kstatus conventions: `Ready` is always present and
//! listed first, `Reconciling` and `Stalled` say why an object is not ready yet, each condition
//! carries the `observedGeneration` it was computed for, and `lastTransitionTime` moves only
//! when what the condition says changes.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::json;

use super::reasons::types;

/// The status of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// It is not known whether the condition holds.
    Unknown,
}

impl ConditionStatus {
    /// The value written to `status` in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }

    /// Reads a `status` value from the API; `None` for anything but the three legal values.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "True" => Some(Self::True),
            "False" => Some(Self::False),
            "Unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(holds: bool) -> Self {
        if holds { Self::True } else { Self::False }
    }
}

impl std::fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a condition should say, without the bookkeeping fields (`observedGeneration`,
/// `lastTransitionTime`) that [`set_condition`] fills in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionSpec {
    /// The condition type, one of [`types`].
    pub type_: Cow<'static, str>,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// Why, as a PascalCase constant from [`reasons`](super::reasons).
    pub reason: Cow<'static, str>,
    /// Why, for a person. Never a Secret value.
    pub message: String,
}

impl ConditionSpec {
    /// A condition of type `type_` with the given status, reason and message.
    pub fn new(
        type_: impl Into<Cow<'static, str>>,
        status: ConditionStatus,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self { type_: type_.into(), status, reason: reason.into(), message: message.into() }
    }
}

/// Sets one condition in `conditions` and returns whether the list changed.
///
/// - A condition of a type not yet present is added.
/// - `observedGeneration` is set to `generation` (the object's `metadata.generation`).
/// - `lastTransitionTime` is set to `now` when the condition is added or when its status,
///   reason or message changes; otherwise it is kept, so a reconcile that finds nothing new
///   writes nothing new.
/// - `Ready` is moved to the front; the other conditions keep their order.
pub fn set_condition(conditions: &mut Vec<Condition>, new: ConditionSpec, generation: Option<i64>, now: Time) -> bool {
    let ConditionSpec { type_, status, reason, message } = new;
    let status = status.as_str();
    let changed = match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let says_something_new =
                existing.status != status || existing.reason != reason || existing.message != message;
            let generation_moved = existing.observed_generation != generation;
            if says_something_new {
                existing.status = status.to_string();
                existing.reason = reason.into_owned();
                existing.message = message;
                existing.last_transition_time = now;
            }
            existing.observed_generation = generation;
            says_something_new || generation_moved
        }
        None => {
            conditions.push(Condition {
                type_: type_.into_owned(),
                status: status.to_string(),
                reason: reason.into_owned(),
                message,
                observed_generation: generation,
                last_transition_time: now,
            });
            true
        }
    };
    sort_ready_first(conditions);
    changed
}

/// Removes the condition of type `type_`; returns whether there was one.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// The condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// The status of the condition of type `type_`, if present and legal.
pub fn status_of(conditions: &[Condition], type_: &str) -> Option<ConditionStatus> {
    find(conditions, type_).and_then(|c| ConditionStatus::parse(&c.status))
}

/// Whether the condition of type `type_` is present and `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    status_of(conditions, type_) == Some(ConditionStatus::True)
}

/// Whether two condition lists say the same thing, ignoring `lastTransitionTime`: when they
/// do, a status write would change nothing a reader cares about and is skipped.
pub fn same_ignoring_time(a: &[Condition], b: &[Condition]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.type_ == y.type_
                && x.status == y.status
                && x.reason == y.reason
                && x.message == y.message
                && x.observed_generation == y.observed_generation
        })
}

fn sort_ready_first(conditions: &mut [Condition]) {
    // A stable sort: only Ready moves, every other condition keeps its place.
    conditions.sort_by_key(|c| c.type_ != types::READY);
}

/// Checks the condition contract every controller must keep, for controller tests:
///
/// - `Ready` is present, and listed first;
/// - no condition type appears twice;
/// - every status is `True`, `False` or `Unknown`, and every reason is a non-empty
///   PascalCase identifier;
/// - `Reconciling` and `Stalled` are never both `True`, and a `Stalled` object is not `Ready`;
/// - when `generation` is given, every condition was computed for it (`observedGeneration`).
///
/// Returns every broken rule, so a failing test shows them all at once.
pub fn check_contract(conditions: &[Condition], generation: Option<i64>) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match conditions.first() {
        None => problems.push("no conditions: Ready must always be present".to_string()),
        Some(first) if first.type_ != types::READY => {
            if find(conditions, types::READY).is_some() {
                problems.push(format!("Ready must be the first condition, found {} first", first.type_));
            } else {
                problems.push("Ready is missing".to_string());
            }
        }
        Some(_) => {}
    }
    for (i, c) in conditions.iter().enumerate() {
        if conditions[..i].iter().any(|earlier| earlier.type_ == c.type_) {
            problems.push(format!("condition {} appears more than once", c.type_));
        }
        if ConditionStatus::parse(&c.status).is_none() {
            problems.push(format!("condition {} has status {:?}; must be True, False or Unknown", c.type_, c.status));
        }
        if !is_pascal_case(&c.reason) {
            problems.push(format!("condition {} has reason {:?}; must be a PascalCase identifier", c.type_, c.reason));
        }
        if let Some(generation) = generation
            && c.observed_generation != Some(generation)
        {
            problems.push(format!(
                "condition {} has observedGeneration {:?}; the object is at generation {generation}",
                c.type_, c.observed_generation
            ));
        }
    }
    if is_true(conditions, types::RECONCILING) && is_true(conditions, types::STALLED) {
        problems.push("Reconciling and Stalled are both True".to_string());
    }
    if is_true(conditions, types::READY) && is_true(conditions, types::STALLED) {
        problems.push("Ready and Stalled are both True".to_string());
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Whether `value` is a PascalCase identifier: an upper-case ASCII letter followed by ASCII
/// letters and digits.
pub fn is_pascal_case(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The schema of a `conditions` field: the standard condition list, merged by `type` under
/// server-side apply (`x-kubernetes-list-type: map`). Use it on every `conditions` field with
/// `#[schemars(schema_with = "crate::api::conditions::schema")]`.
pub fn schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = <Vec<Condition>>::json_schema(generator);
    schema.insert("x-kubernetes-list-type".to_string(), json!("map"));
    schema.insert("x-kubernetes-list-map-keys".to_string(), json!(["type"]));
    schema
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::api::reasons;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(1_767_225_600 + seconds).unwrap())
    }

    fn ready(status: ConditionStatus, reason: &'static str, message: &str) -> ConditionSpec {
        ConditionSpec::new(types::READY, status, reason, message)
    }

    #[test]
    fn adds_a_new_condition_with_generation_and_time() {
        let mut conditions = Vec::new();
        let changed = set_condition(
            &mut conditions,
            ready(ConditionStatus::True, reasons::RECONCILED, "all good"),
            Some(3),
            at(0),
        );
        assert!(changed);
        assert_eq!(conditions.len(), 1);
        let c = &conditions[0];
        assert_eq!((c.type_.as_str(), c.status.as_str(), c.reason.as_str()), ("Ready", "True", "Reconciled"));
        assert_eq!(c.message, "all good");
        assert_eq!(c.observed_generation, Some(3));
        assert_eq!(c.last_transition_time, at(0));
    }

    #[test]
    fn same_condition_again_keeps_transition_time_and_reports_no_change() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(0));
        let changed =
            set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(60));
        assert!(!changed);
        assert_eq!(conditions[0].last_transition_time, at(0));
    }

    #[test]
    fn new_generation_is_stamped_without_moving_transition_time() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(0));
        let changed =
            set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(2), at(60));
        assert!(changed);
        assert_eq!(conditions[0].observed_generation, Some(2));
        assert_eq!(conditions[0].last_transition_time, at(0));
    }

    #[test]
    fn status_reason_or_message_change_resets_transition_time() {
        let cases = [
            ready(ConditionStatus::False, reasons::RECONCILED, "ok"),
            ready(ConditionStatus::True, reasons::PROGRESSING, "ok"),
            ready(ConditionStatus::True, reasons::RECONCILED, "something else"),
        ];
        for case in cases {
            let mut conditions = Vec::new();
            set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(0));
            let changed = set_condition(&mut conditions, case.clone(), Some(1), at(60));
            assert!(changed, "{case:?}");
            assert_eq!(conditions[0].last_transition_time, at(60), "{case:?}");
            assert_eq!(conditions[0].status, case.status.as_str());
            assert_eq!(conditions[0].reason, case.reason);
            assert_eq!(conditions[0].message, case.message);
        }
    }

    #[test]
    fn ready_is_sorted_first_and_the_rest_keep_their_order() {
        let mut conditions = Vec::new();
        let now = at(0);
        for type_ in [types::COMPLIANT, types::RECONCILING, types::ESCALATED] {
            set_condition(
                &mut conditions,
                ConditionSpec::new(type_, ConditionStatus::False, reasons::PROGRESSING, ""),
                Some(1),
                now.clone(),
            );
        }
        set_condition(&mut conditions, ready(ConditionStatus::False, reasons::PROGRESSING, "working"), Some(1), now);
        let order: Vec<&str> = conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(order, ["Ready", "Compliant", "Reconciling", "Escalated"]);
    }

    #[test]
    fn remove_and_find() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, ready(ConditionStatus::True, reasons::RECONCILED, ""), Some(1), at(0));
        set_condition(
            &mut conditions,
            ConditionSpec::new(types::RECONCILING, ConditionStatus::True, reasons::PROGRESSING, ""),
            Some(1),
            at(0),
        );
        assert!(is_true(&conditions, types::READY));
        assert_eq!(status_of(&conditions, types::RECONCILING), Some(ConditionStatus::True));
        assert!(remove_condition(&mut conditions, types::RECONCILING));
        assert!(!remove_condition(&mut conditions, types::RECONCILING));
        assert!(find(&conditions, types::RECONCILING).is_none());
        assert!(!is_true(&conditions, types::STALLED));
    }

    #[test]
    fn comparison_ignores_only_transition_time() {
        let mut a = Vec::new();
        set_condition(&mut a, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(0));
        let mut b = Vec::new();
        set_condition(&mut b, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(1), at(99));
        assert!(same_ignoring_time(&a, &b));
        set_condition(&mut b, ready(ConditionStatus::True, reasons::RECONCILED, "ok"), Some(2), at(99));
        assert!(!same_ignoring_time(&a, &b));
    }

    #[test]
    fn contract_accepts_a_well_formed_list() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ConditionSpec::new(types::RECONCILING, ConditionStatus::True, reasons::PROGRESSING, ""),
            Some(4),
            at(0),
        );
        set_condition(&mut conditions, ready(ConditionStatus::Unknown, reasons::PROGRESSING, ""), Some(4), at(0));
        assert_eq!(check_contract(&conditions, Some(4)), Ok(()));
    }

    #[test]
    fn contract_reports_each_broken_rule() {
        let condition = |type_: &str, status: &str, reason: &str, generation: i64| Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: String::new(),
            observed_generation: Some(generation),
            last_transition_time: at(0),
        };
        let missing_ready = vec![condition("Compliant", "True", "AllTargetsCompliant", 1)];
        assert_eq!(check_contract(&missing_ready, Some(1)).unwrap_err(), ["Ready is missing"]);
        assert!(check_contract(&[], None).is_err());

        let both = vec![
            condition("Ready", "False", "Progressing", 1),
            condition("Reconciling", "True", "Progressing", 1),
            condition("Stalled", "True", "InvalidSpec", 1),
        ];
        assert_eq!(check_contract(&both, Some(1)).unwrap_err(), ["Reconciling and Stalled are both True"]);

        let stale = vec![condition("Ready", "True", "Reconciled", 1)];
        let problems = check_contract(&stale, Some(2)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("observedGeneration"), "{problems:?}");
        assert_eq!(check_contract(&stale, None), Ok(()));

        let malformed = vec![
            condition("Compliant", "True", "AllTargetsCompliant", 1),
            condition("Ready", "yes", "all good", 1),
            condition("Ready", "True", "Reconciled", 1),
            condition("Stalled", "True", "InvalidSpec", 1),
        ];
        let problems = check_contract(&malformed, Some(1)).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn schema_is_a_list_map_keyed_by_type() {
        let mut generator = SchemaGenerator::default();
        let schema = schema(&mut generator).to_value();
        assert_eq!(schema["x-kubernetes-list-type"], "map");
        assert_eq!(schema["x-kubernetes-list-map-keys"], json!(["type"]));
        assert_eq!(schema["type"], "array");
    }

    #[test]
    fn pascal_case() {
        assert!(is_pascal_case("Reconciled"));
        assert!(is_pascal_case("CircuitBreakerOpen"));
        assert!(!is_pascal_case(""));
        assert!(!is_pascal_case("reconciled"));
        assert!(!is_pascal_case("Not Pascal"));
        assert!(!is_pascal_case("Snake_Case"));
    }
}
