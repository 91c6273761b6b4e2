//! Types shared by several driftwarden resources.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of every driftwarden resource.
pub const GROUP: &str = "driftwarden.dev";
/// The API version of every driftwarden resource.
pub const VERSION: &str = "v1alpha1";

/// The OpenAPI pattern of a duration as Go's `time.ParseDuration` reads it, restricted to
/// positive values and the units people use for schedules: `ms`, `s`, `m` and `h`, for
/// example `90s`, `10m` or `1h30m`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// The OpenAPI pattern of a time of day as `HH:MM`, from `00:00` to `23:59`.
pub const TIME_OF_DAY_PATTERN: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";

/// The OpenAPI pattern of a path: a JSON pointer (RFC 6901) of one or more non-empty
/// segments, in which `~` only appears escaped, as `~0` (for `~`) or `~1` (for `/`).
pub const PATH_PATTERN: &str = r"^(/([^/~]|~[01])+)+$";

/// The earliest date a resource may hold.
pub const EARLIEST_DATE: &str = "1970-01-01T00:00:00Z";
/// The first date a resource may no longer hold: dates stay before the year 3000, so that
/// adding any duration to one stays far inside what a timestamp can hold.
pub const DATE_CEILING: &str = "3000-01-01T00:00:00Z";
/// What the CRDs and the operator say of a date out of bounds.
pub const DATE_RULE_MESSAGE: &str = "must be a date from 1970 to 2999";

/// The CEL rule that bounds a date field.
pub fn date_rule() -> String {
    format!("self >= timestamp('{EARLIEST_DATE}') && self < timestamp('{DATE_CEILING}')")
}

/// A date out of the bounds of [`date_rule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {date} {DATE_RULE_MESSAGE}")]
pub struct DateError {
    /// The field, for example `spec.deadline`.
    pub field: String,
    /// The date.
    pub date: jiff::Timestamp,
}

/// Checks that `date` is within the bounds the CRDs state ([`date_rule`]): what the API
/// server refuses, the operator refuses too.
pub fn check_date(field: &str, date: jiff::Timestamp) -> Result<(), DateError> {
    let within = |bound: &str| bound.parse::<jiff::Timestamp>().ok();
    match (within(EARLIEST_DATE), within(DATE_CEILING)) {
        (Some(earliest), Some(ceiling)) if date >= earliest && date < ceiling => Ok(()),
        _ => Err(DateError { field: field.to_string(), date }),
    }
}

/// The OpenAPI pattern of a ServiceAccount's name: a DNS subdomain (RFC 1123).
pub const SUBDOMAIN_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// The OpenAPI pattern of a namespace's name: a DNS label (RFC 1123).
pub const LABEL_NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A ServiceAccount that driftwarden impersonates to make a resource's fixes: every request
/// of such a fix is authorized as that ServiceAccount, never as the operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountRef {
    /// The ServiceAccount's namespace.
    #[schemars(length(min = 1, max = 63), regex(pattern = LABEL_NAME_PATTERN))]
    pub namespace: String,
    /// The ServiceAccount's name.
    #[schemars(length(min = 1, max = 253), regex(pattern = SUBDOMAIN_PATTERN))]
    pub name: String,
}

impl ServiceAccountRef {
    /// The ServiceAccount `name` of `namespace`.
    pub fn new(namespace: &str, name: &str) -> Self {
        Self { namespace: namespace.to_string(), name: name.to_string() }
    }

    /// The user name the API server knows the ServiceAccount by, and that requests
    /// impersonating it carry: `system:serviceaccount:<namespace>:<name>`.
    pub fn user_name(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// Checks the names as the CRDs do, so that a resource written without the CRD's
    /// validation (or before it) is refused with the field at fault: `field` is where the
    /// reference was written, for example `spec.serviceAccountRef`.
    pub fn check(&self, field: &str) -> Result<(), String> {
        let subdomain =
            |text: &str, most: usize| !text.is_empty() && text.len() <= most && super::labels::is_dns_subdomain(text);
        if !subdomain(&self.namespace, 63) || self.namespace.contains('.') {
            return Err(format!(
                "{field}: namespace {:?} is not a namespace name (a DNS label: at most 63 lowercase alphanumerics or '-', \
                 starting and ending with an alphanumeric)",
                self.namespace
            ));
        }
        if !subdomain(&self.name, 253) {
            return Err(format!(
                "{field}: {:?} is not a ServiceAccount name (a DNS subdomain: at most 253 lowercase alphanumerics, '-' \
                 or '.', each part starting and ending with an alphanumeric)",
                self.name
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for ServiceAccountRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

pub use super::duration::{DurationError, MAX_DURATION, at_most_rule, parse_duration, parse_duration_at_most};

/// The risk of a fix: what applying it touches. A drift's class decides whether it may be
/// fixed without a person.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum RemediationClass {
    /// Labels and annotations only.
    Metadata,
    /// Spec fields that do not restart workloads.
    Spec,
    /// A workload's pod template: the fix restarts pods.
    Rollout,
    /// RBAC objects, ServiceAccounts and privilege-bearing fields (securityContext,
    /// hostNetwork, ...).
    Access,
    /// The data of a Secret. Compared by hash; values are never logged, stored or emitted.
    SecretData,
    /// The object is missing and would be created.
    Create,
    /// An immutable field differs: the fix needs the object deleted and created again.
    Recreate,
}

impl RemediationClass {
    /// Every class, from the least to the most risky fix.
    pub const ALL: [RemediationClass; 7] =
        [Self::Metadata, Self::Spec, Self::Rollout, Self::Access, Self::SecretData, Self::Create, Self::Recreate];

    /// The name used in the API and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metadata => "Metadata",
            Self::Spec => "Spec",
            Self::Rollout => "Rollout",
            Self::Access => "Access",
            Self::SecretData => "SecretData",
            Self::Create => "Create",
            Self::Recreate => "Recreate",
        }
    }
}

impl std::fmt::Display for RemediationClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which live objects a rule applies to. Every field given must match; an empty list means
/// "any".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetMatch {
    /// The API version of the targets, for example `apps/v1`.
    #[schemars(length(min = 1, max = 253))]
    pub api_version: String,
    /// The kind of the targets, for example `Deployment`.
    #[schemars(length(min = 1, max = 63))]
    pub kind: String,
    /// Only objects with one of these names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 253)))]
    pub names: Vec<String>,
    /// Only objects whose labels match this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::labels::selector_schema")]
    pub selector: Option<LabelSelector>,
    /// Only objects in these namespaces. Allowed in ClusterDriftPolicy only: a DriftPolicy
    /// always governs its own namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    pub namespaces: Vec<String>,
    /// Only objects in namespaces whose labels match this selector. Allowed in
    /// ClusterDriftPolicy only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::labels::selector_schema")]
    pub namespace_selector: Option<LabelSelector>,
}

/// An accountable owner: the team that must act on what driftwarden escalates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// The team name, for example `payments-platform`.
    #[schemars(length(min = 1, max = 253))]
    pub team: String,
    /// How to reach the team: an email address, a chat channel or a pager handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub contact: Option<String>,
}

impl Owner {
    /// The team of an asset whose owner could not be found. An unknown owner never blocks
    /// containment: the finding is still opened, for this team.
    pub const UNOWNED_TEAM: &'static str = "unowned";

    /// An owner for the team `team`, without a contact.
    pub fn team(team: impl Into<String>) -> Self {
        Self { team: team.into(), contact: None }
    }

    /// The owner of an asset whose owner could not be found.
    pub fn unowned() -> Self {
        Self::team(Self::UNOWNED_TEAM)
    }

    /// Whether this is the placeholder for an unknown owner.
    pub fn is_unowned(&self) -> bool {
        self.team == Self::UNOWNED_TEAM
    }
}

/// A reference to one Kubernetes object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// The API version of the object, for example `apps/v1`.
    #[schemars(length(max = 317))]
    pub api_version: String,
    /// The kind of the object, for example `Deployment`.
    #[schemars(length(max = 63))]
    pub kind: String,
    /// The namespace of the object; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub namespace: Option<String>,
    /// The name of the object.
    #[schemars(length(max = 253))]
    pub name: String,
    /// The UID of the live object, when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub uid: Option<String>,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A key of a Secret in the same namespace as the resource that refers to it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key in the Secret's data.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use regex::Regex;

    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2160h").unwrap(), Duration::from_secs(90 * 24 * 3600));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(matches!(parse_duration("-1h"), Err(DurationError::Negative { .. })));
        for malformed in ["10", "1d", "ten minutes"] {
            assert!(matches!(parse_duration(malformed), Err(DurationError::Malformed { .. })), "{malformed}");
        }
    }

    #[test]
    fn every_duration_the_pattern_admits_can_be_read() {
        let pattern = Regex::new(DURATION_PATTERN).unwrap();
        for admitted in ["10m", "1h30m", "2160h", "1.5h", "90s", "250ms", "1h0m0s"] {
            assert!(pattern.is_match(admitted), "{admitted}");
            assert!(parse_duration(admitted).is_ok(), "{admitted}");
        }
        for refused in ["", "10", "1d", "-1h", "10 m", "1h 30m", "h", "1.h", "1w"] {
            assert!(!pattern.is_match(refused), "{refused}");
        }
    }

    #[test]
    fn dates_are_bounded() {
        let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(check_date("spec.deadline", at("2026-06-30T00:00:00Z")), Ok(()));
        assert_eq!(check_date("spec.deadline", at("1970-01-01T00:00:00Z")), Ok(()));
        for bad in ["3000-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "1969-12-31T23:59:59Z"] {
            let error = check_date("spec.deadline", at(bad)).unwrap_err();
            assert_eq!(error.to_string(), format!("spec.deadline: {bad} must be a date from 1970 to 2999"));
        }
    }

    #[test]
    fn time_of_day_pattern() {
        let pattern = Regex::new(TIME_OF_DAY_PATTERN).unwrap();
        for admitted in ["00:00", "09:30", "19:05", "23:59"] {
            assert!(pattern.is_match(admitted), "{admitted}");
        }
        for refused in ["24:00", "9:30", "09:60", "0930", "09:30:00", " 09:30"] {
            assert!(!pattern.is_match(refused), "{refused}");
        }
    }

    #[test]
    fn unknown_owner() {
        let owner = Owner::unowned();
        assert_eq!(owner.team, "unowned");
        assert!(owner.is_unowned());
        assert!(!Owner::team("payments").is_unowned());
    }

    #[test]
    fn object_refs_display_with_their_namespace() {
        let mut asset = ObjectRef {
            api_version: "v1".to_string(),
            kind: "ServiceAccount".to_string(),
            namespace: Some("shop".to_string()),
            name: "checkout".to_string(),
            uid: None,
        };
        assert_eq!(asset.to_string(), "ServiceAccount shop/checkout");
        asset.namespace = None;
        assert_eq!(asset.to_string(), "ServiceAccount checkout");
    }
}
