//! `DriftException` (namespaced): a human-approved, time-boxed deviation from declared state.
//!
//! How long an exception may last is checked in two places. The API server checks what it
//! can see: `expiresAt` is after `approvedAt` and at most `maxDuration` later. It cannot
//! check against the creation time (CEL validation rules do not see
//! `metadata.creationTimestamp`), so the operator does, with [`DriftException::expiry_problem`],
//! and does not honour an exception that lasts longer than `maxDuration` after its creation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DATE_RULE_MESSAGE, DURATION_PATTERN, DurationError, PATH_PATTERN, TargetMatch, date_rule, parse_duration,
};
use super::policy::{MAX_PATH_LENGTH, MAX_PATHS};

/// The default `maxDuration`: 90 days.
pub const DEFAULT_MAX_DURATION: &str = "2160h";
/// The longest `maxDuration` allowed: one year.
pub const MAX_MAX_DURATION: &str = "8760h";
/// The longest any exception may last on an installation unless its operator is told
/// otherwise (`--max-exception-duration`): 90 days, whatever an exception's `maxDuration`.
pub const DEFAULT_INSTALLATION_CAP: std::time::Duration = std::time::Duration::from_secs(2160 * 3600);

/// A human-approved, time-boxed deviation from declared state (a compensating control): the
/// drift it covers is reported but neither fixed nor escalated until it expires.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "driftwarden.dev",
    version = "v1alpha1",
    kind = "DriftException",
    doc = "A DriftException is a human-approved, time-boxed deviation from declared state. It covers targets in its own namespace (one in the operator's namespace may cover any namespace); when it expires, enforcement resumes by itself.",
    namespaced,
    status = "ExceptionStatus",
    shortname = "dex",
    category = "driftwarden",
    cel,
    derive = "PartialEq",
    printcolumn = r#"{"name":"Kind","type":"string","jsonPath":".spec.match.kind"}"#,
    printcolumn = r#"{"name":"Approved By","type":"string","jsonPath":".spec.approvedBy"}"#,
    printcolumn = r#"{"name":"Ticket","type":"string","jsonPath":".spec.ticket","priority":1}"#,
    printcolumn = r#"{"name":"Expires","type":"string","format":"date-time","jsonPath":".spec.expiresAt"}"#,
    printcolumn = r#"{"name":"Covered","type":"integer","jsonPath":".status.covered"}"#,
    printcolumn = r#"{"name":"Active","type":"string","jsonPath":".status.conditions[?(@.type==\"Active\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(
    validation = Rule::new("self.expiresAt > self.approvedAt").message("expiresAt must be after approvedAt"),
    validation = Rule::new("self.expiresAt <= self.approvedAt + duration(self.maxDuration)")
        .message("expiresAt must be no later than approvedAt + maxDuration"),
    validation = Rule::new("duration(self.maxDuration) <= duration('8760h')")
        .message("maxDuration may not exceed 8760h (one year)")
)]
#[serde(rename_all = "camelCase")]
pub struct DriftExceptionSpec {
    /// The targets the exception covers.
    #[serde(rename = "match")]
    pub target: TargetMatch,
    /// The fields it covers, as JSON pointers starting with `/` (`*` stands for any map key or
    /// list item; in a map key, `~` is written `~0` and `/` is written `~1`). Without paths it
    /// covers every drifted field of the targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PATHS), inner(length(min = 1, max = MAX_PATH_LENGTH), regex(pattern = PATH_PATTERN)))]
    pub paths: Vec<String>,
    /// Why the deviation is acceptable, and what compensates for it.
    #[schemars(length(min = 1, max = 4096), regex(pattern = r"\S"))]
    pub justification: String,
    /// Who approved it, for example an email address.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"\S"))]
    pub approved_by: String,
    /// The change or risk ticket that records the approval (an issue key or a URL).
    #[schemars(length(min = 1, max = 512), regex(pattern = r"\S"))]
    pub ticket: String,
    /// When it was approved (RFC 3339), from 1970 to 2999.
    #[x_kube(validation = Rule::new(date_rule()).message(DATE_RULE_MESSAGE))]
    pub approved_at: Time,
    /// When it expires (RFC 3339): after `approvedAt`, and at most `maxDuration` after both
    /// `approvedAt` and the exception's creation. From then on the drift it covered is
    /// enforced or escalated again. From 1970 to 2999.
    #[x_kube(validation = Rule::new(date_rule()).message(DATE_RULE_MESSAGE))]
    pub expires_at: Time,
    /// The longest the exception may last, as a duration such as `720h` (units `ms`, `s`, `m`,
    /// `h`), at most `8760h`. Defaults to `2160h` (90 days).
    #[serde(default = "default_max_duration")]
    #[schemars(length(min = 1, max = 32), regex(pattern = DURATION_PATTERN))]
    pub max_duration: String,
}

fn default_max_duration() -> String {
    DEFAULT_MAX_DURATION.to_string()
}

impl DriftExceptionSpec {
    /// The longest the exception may last.
    pub fn max_duration(&self) -> Result<std::time::Duration, DurationError> {
        parse_duration(&self.max_duration)
    }

    /// Why the exception must not be honoured, given when it was created and the longest
    /// any exception may last on this installation (`cap`, the operator's
    /// `--max-exception-duration`); `None` when its dates are within bounds. The API server
    /// checks the same bounds against `approvedAt` but can see neither the creation time nor
    /// the operator's cap, so the operator calls this.
    pub fn expiry_problem(&self, created: Timestamp, cap: std::time::Duration) -> Option<ExpiryProblem> {
        let max = match self.max_duration() {
            Ok(max) => max,
            Err(source) => return Some(ExpiryProblem::MaxDuration { source }),
        };
        let ceiling = parse_duration(MAX_MAX_DURATION).expect("the ceiling is a valid duration");
        if max > ceiling {
            return Some(ExpiryProblem::MaxDurationAboveCeiling { max_duration: self.max_duration.clone() });
        }
        let limit = match cap < max {
            true => Limit::Installation(format_duration(cap)),
            false => Limit::Spec(self.max_duration.clone()),
        };
        let max = SignedDuration::try_from(max.min(cap)).expect("at most a year fits a signed duration");
        let expires = self.expires_at.0;
        let approved = self.approved_at.0;
        if expires <= approved {
            return Some(ExpiryProblem::NotAfterApproval { expires, approved });
        }
        let by_approval = approved.checked_add(max).unwrap_or(Timestamp::MAX);
        if expires > by_approval {
            return Some(ExpiryProblem::LongerThanAllowedAfterApproval { expires, approved, limit });
        }
        let by_creation = created.checked_add(max).unwrap_or(Timestamp::MAX);
        if expires > by_creation {
            return Some(ExpiryProblem::LongerThanAllowedAfterCreation { expires, created, limit });
        }
        None
    }

    /// Whether the exception has expired at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        now >= self.expires_at.0
    }
}

impl DriftException {
    /// Why the exception must not be honoured, given when it was created (normally
    /// `metadata.creationTimestamp`) and the installation's cap; `None` when its dates are
    /// within bounds. See [`DriftExceptionSpec::expiry_problem`].
    pub fn expiry_problem(&self, created: Timestamp, cap: std::time::Duration) -> Option<ExpiryProblem> {
        self.spec.expiry_problem(created, cap)
    }
}

/// The bound an exception's length is held to: its own `maxDuration`, or the installation's
/// cap when that is shorter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// The exception's `maxDuration`.
    Spec(String),
    /// The operator's `--max-exception-duration` (chart value `exceptions.maxDuration`).
    Installation(String),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spec(duration) => write!(f, "maxDuration {duration}"),
            Self::Installation(duration) => {
                write!(f, "{duration}, the longest this installation allows (--max-exception-duration)")
            }
        }
    }
}

/// `duration` in whole hours when it is some, else in seconds (`2160h`, `90s`).
fn format_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    match seconds % 3600 {
        0 => format!("{}h", seconds / 3600),
        _ => format!("{seconds}s"),
    }
}

/// Why an exception's dates must not be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryProblem {
    /// `maxDuration` is not a duration.
    #[error("maxDuration: {source}")]
    MaxDuration {
        #[source]
        source: DurationError,
    },
    /// `maxDuration` is longer than any exception may last.
    #[error("maxDuration {max_duration} exceeds {MAX_MAX_DURATION} (one year)")]
    MaxDurationAboveCeiling { max_duration: String },
    /// The exception expires before it was approved.
    #[error("expiresAt {expires} is not after approvedAt {approved}")]
    NotAfterApproval { expires: Timestamp, approved: Timestamp },
    /// The exception lasts longer than its limit from its approval.
    #[error("expiresAt {expires} is more than {limit} after approvedAt {approved}")]
    LongerThanAllowedAfterApproval { expires: Timestamp, approved: Timestamp, limit: Limit },
    /// The exception lasts longer than its limit from its creation.
    #[error("expiresAt {expires} is more than {limit} after the exception was created at {created}")]
    LongerThanAllowedAfterCreation { expires: Timestamp, created: Timestamp, limit: Limit },
}

impl ExpiryProblem {
    /// Whether the problem is the exception's `maxDuration`, or lasting longer than it: such
    /// an exception counts as expired. An exception that expires before its approval is
    /// merely invalid.
    pub fn exceeds_max_duration(&self) -> bool {
        !matches!(self, Self::NotAfterApproval { .. })
    }
}

/// What an exception covers and whether it is in force.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The exception's conditions: `Ready`, `Active`, `Expired`, and the hygiene conditions
    /// `CoversNothing` (no current drift matches it) and `ExpiringSoon` (it expires within
    /// the reminder lead time).
    #[serde(default)]
    #[schemars(schema_with = "super::conditions::schema")]
    pub conditions: Vec<Condition>,
    /// How many current drifts the exception covers.
    #[serde(default)]
    pub covered: u32,
    /// How many campaign findings it keeps `Excepted`.
    #[serde(default)]
    pub covered_findings: u32,
}

#[cfg(test)]
mod tests {
    use kube::core::cel::apply_defaults;
    use serde_json::{Value, json};

    use super::*;
    use crate::api::testing::{admit, admit_value, assert_rejected, schema_of};

    const EXCEPTION: &str = r##"
apiVersion: driftwarden.dev/v1alpha1
kind: DriftException
metadata:
  name: checkout-token-until-migration
  namespace: shop
spec:
  match:
    apiVersion: apps/v1
    kind: Deployment
    names: [checkout]
  paths: ["/spec/template/spec/automountServiceAccountToken"]
  justification: checkout still calls the API with its token until the migration to workload identity; egress is restricted by a NetworkPolicy meanwhile
  approvedBy: carol@example.com
  ticket: SEC-481
  approvedAt: "2026-04-01T00:00:00Z"
  expiresAt: "2026-05-01T00:00:00Z"
  maxDuration: 720h
status:
  observedGeneration: 1
  conditions:
    - type: Ready
      status: "True"
      reason: Reconciled
      message: ""
      observedGeneration: 1
      lastTransitionTime: "2026-04-01T00:00:05Z"
    - type: Active
      status: "True"
      reason: WithinValidity
      message: expires 2026-05-01T00:00:00Z
      observedGeneration: 1
      lastTransitionTime: "2026-04-01T00:00:05Z"
  covered: 1
  coveredFindings: 0
"##;

    fn exception() -> Value {
        serde_yaml::from_str(EXCEPTION).unwrap()
    }

    fn spec() -> DriftExceptionSpec {
        serde_yaml::from_str::<DriftException>(EXCEPTION).unwrap().spec
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// A cap that holds no exception back: the CRD's own ceiling.
    const YEAR: std::time::Duration = std::time::Duration::from_secs(8760 * 3600);

    #[test]
    fn example_round_trips_unchanged_and_is_admitted() {
        let parsed: DriftException = serde_yaml::from_str(EXCEPTION).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), exception());
        assert_eq!(parsed.spec.target.names, ["checkout"]);
        assert_eq!(parsed.spec.max_duration().unwrap(), std::time::Duration::from_secs(720 * 3600));
        assert_eq!(parsed.status.as_ref().unwrap().covered, 1);
        assert_eq!(admit::<DriftException>(EXCEPTION), Ok(()));
        parsed.validate_cel().unwrap();
    }

    #[test]
    fn max_duration_defaults_to_90_days_in_code_and_in_schema() {
        let mut value = exception();
        value["spec"].as_object_mut().unwrap().remove("maxDuration");
        let from_code: DriftException = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(from_code.spec.max_duration, "2160h");
        assert_eq!(from_code.spec.max_duration().unwrap(), std::time::Duration::from_secs(90 * 24 * 3600));
        let defaulted = apply_defaults(&schema_of::<DriftException>(), &value);
        assert_eq!(defaulted["spec"]["maxDuration"], "2160h");
        assert_eq!(admit_value::<DriftException>(&value, None), Ok(()));
    }

    #[test]
    fn expiry_is_after_approval_and_within_max_duration() {
        let mut value = exception();
        value["spec"]["expiresAt"] = json!("2026-04-01T00:00:00Z");
        assert_rejected(admit_value::<DriftException>(&value, None), "expiresAt must be after approvedAt");

        value["spec"]["expiresAt"] = json!("2026-05-01T00:00:01Z");
        assert_rejected(
            admit_value::<DriftException>(&value, None),
            "expiresAt must be no later than approvedAt + maxDuration",
        );

        value["spec"]["expiresAt"] = json!("2026-05-01T00:00:00Z");
        assert_eq!(admit_value::<DriftException>(&value, None), Ok(()), "exactly maxDuration is allowed");

        value["spec"].as_object_mut().unwrap().remove("maxDuration");
        value["spec"]["expiresAt"] = json!("2026-06-30T00:00:00Z");
        assert_eq!(admit_value::<DriftException>(&value, None), Ok(()), "within the default 90 days");
        value["spec"]["expiresAt"] = json!("2026-07-01T00:00:00Z");
        assert_rejected(admit_value::<DriftException>(&value, None), "no later than approvedAt + maxDuration");
    }

    #[test]
    fn max_duration_is_a_bounded_duration() {
        let mut value = exception();
        value["spec"]["maxDuration"] = json!("8761h");
        assert_rejected(admit_value::<DriftException>(&value, None), "maxDuration may not exceed 8760h");
        value["spec"]["maxDuration"] = json!("90d");
        assert_rejected(admit_value::<DriftException>(&value, None), "should match");
    }

    #[test]
    fn approval_fields_are_required_and_meaningful() {
        for field in ["expiresAt", "approvedAt", "approvedBy", "ticket", "justification", "match"] {
            let mut value = exception();
            value["spec"].as_object_mut().unwrap().remove(field);
            assert_rejected(admit_value::<DriftException>(&value, None), &format!("spec.{field}: Required value"));
        }
        for blank in ["", "   "] {
            let mut value = exception();
            value["spec"]["justification"] = json!(blank);
            assert_rejected(admit_value::<DriftException>(&value, None), "spec.justification");
        }
        let mut value = exception();
        value["spec"]["paths"] = json!(["spec/template"]);
        assert_rejected(admit_value::<DriftException>(&value, None), "spec.paths[0] in body should match");
        value["spec"]["paths"] = json!(["/metadata/annotations/a~2b"]);
        assert_rejected(admit_value::<DriftException>(&value, None), "spec.paths[0] in body should match");
    }

    #[test]
    fn expiry_problem_accepts_an_exception_within_bounds() {
        assert_eq!(spec().expiry_problem(at("2026-04-01T00:00:00Z"), YEAR), None);
        assert_eq!(spec().expiry_problem(at("2026-04-02T00:00:00Z"), YEAR), None, "created the day after approval");
    }

    #[test]
    fn expiry_problem_measures_from_creation_too() {
        let problem = spec().expiry_problem(at("2026-03-01T00:00:00Z"), YEAR).expect("created 61 days before expiry");
        assert!(problem.to_string().contains("after the exception was created"), "{problem}");
        let exception: DriftException = serde_yaml::from_str(EXCEPTION).unwrap();
        assert!(exception.expiry_problem(at("2026-03-01T00:00:00Z"), YEAR).is_some());
    }

    #[test]
    fn expiry_problem_repeats_the_server_checks() {
        let created = at("2026-04-01T00:00:00Z");
        let mut spec = spec();
        spec.expires_at = Time(at("2026-03-31T00:00:00Z"));
        assert!(spec.expiry_problem(created, YEAR).unwrap().to_string().contains("is not after approvedAt"));

        let mut spec = self::spec();
        spec.expires_at = Time(at("2026-05-02T00:00:00Z"));
        assert!(spec.expiry_problem(created, YEAR).unwrap().to_string().contains("after approvedAt"));

        let mut spec = self::spec();
        spec.max_duration = "90d".to_string();
        assert!(spec.expiry_problem(created, YEAR).unwrap().to_string().starts_with("maxDuration"));

        let mut spec = self::spec();
        spec.max_duration = "9000h".to_string();
        assert!(spec.expiry_problem(created, YEAR).unwrap().to_string().contains("exceeds 8760h"));
    }

    #[test]
    fn the_installation_cap_holds_whatever_max_duration_says() {
        // 30 days from approval, with maxDuration 720h: within a 30-day cap, beyond a 10-day one.
        let created = at("2026-04-01T00:00:00Z");
        assert_eq!(spec().expiry_problem(created, std::time::Duration::from_secs(720 * 3600)), None);
        let ten_days = std::time::Duration::from_secs(240 * 3600);
        let problem = spec().expiry_problem(created, ten_days).expect("longer than the cap");
        assert!(problem.exceeds_max_duration(), "an exception beyond the cap counts as expired");
        assert_eq!(
            problem.to_string(),
            "expiresAt 2026-05-01T00:00:00Z is more than 240h, the longest this installation allows \
             (--max-exception-duration) after approvedAt 2026-04-01T00:00:00Z"
        );
        // The cap applies from creation too.
        let mut spec = spec();
        spec.approved_at = Time(at("2026-04-25T00:00:00Z"));
        let problem = spec.expiry_problem(created, ten_days).expect("longer than the cap from creation");
        assert!(problem.to_string().contains("after the exception was created"), "{problem}");
        assert_eq!(format_duration(std::time::Duration::from_secs(90)), "90s");
    }

    #[test]
    fn expires_at_expires_at() {
        let spec = spec();
        assert!(!spec.is_expired_at(at("2026-04-30T23:59:59Z")));
        assert!(spec.is_expired_at(at("2026-05-01T00:00:00Z")));
    }
}
