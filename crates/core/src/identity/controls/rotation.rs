//! `SecretRotation`: Secrets not rotated within `maxAge`.
//!
//! A Secret's age runs from the annotation [`ROTATED_AT_ANNOTATION`]
//! (`driftwarden.dev/rotated-at`, an RFC 3339 time set by whoever rotates it), or from its
//! `creationTimestamp` when the annotation is absent or unreadable (the finding says so).
//! The parameter `maxAge` is a Go duration (default `2160h`, 90 days; at most `87600h`).
//!
//! Every finding goes to the owner: **rotate the credential** where it is issued, write the
//! new value, and set the annotation. Never automatic: only the issuer of a credential can
//! rotate it.
//!
//! Not checked: ServiceAccount tokens (`kubernetes.io/service-account-token`, see
//! `LegacyServiceAccountTokens`), bootstrap tokens (`bootstrap.kubernetes.io/token`, which
//! carry their own expiry) and Helm release records (`helm.sh/release.v1`, not credentials).
//!
//! Severity: `Medium` past `maxAge`, `High` past twice `maxAge`.

use std::time::Duration;

use jiff::Timestamp;

use super::{ControlError, ControlFinding, ControlFix};
use crate::api::ObjectRef;
use crate::api::campaign::{CheckControl, CheckName, MAX_SECRET_AGE};
use crate::api::common::parse_duration_at_most;
use crate::api::finding::Severity;
use crate::identity::snapshot::{SERVICE_ACCOUNT_TOKEN_TYPE, Snapshot};

/// The annotation holding when a Secret was last rotated (RFC 3339).
pub const ROTATED_AT_ANNOTATION: &str = "driftwarden.dev/rotated-at";
/// The parameter holding the longest age allowed.
pub const MAX_AGE_PARAMETER: &str = "maxAge";
/// `maxAge` when the parameter is not given.
pub const DEFAULT_MAX_AGE: &str = "2160h";
/// Secret types this control leaves alone.
pub const EXEMPT_TYPES: [&str; 3] = [SERVICE_ACCOUNT_TOKEN_TYPE, "bootstrap.kubernetes.io/token", "helm.sh/release.v1"];

/// The `maxAge` of `check`, or the default.
pub fn max_age(check: &CheckControl) -> Result<Duration, ControlError> {
    let value = check.parameters.get(MAX_AGE_PARAMETER).map_or(DEFAULT_MAX_AGE, String::as_str);
    parse_duration_at_most(value, MAX_SECRET_AGE).map_err(|source| ControlError::InvalidDuration {
        check: CheckName::SecretRotation,
        parameter: MAX_AGE_PARAMETER,
        source,
    })
}

pub(super) fn run(snapshot: &Snapshot, max_age: Duration, now: Timestamp) -> Vec<ControlFinding> {
    let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for secret in &snapshot.secrets {
        if EXEMPT_TYPES.contains(&secret.type_.as_str()) {
            continue;
        }
        let annotated = secret.annotations.get(ROTATED_AT_ANNOTATION);
        let rotated = annotated.and_then(|value| value.parse::<Timestamp>().ok());
        let (since, from) = match (rotated, annotated) {
            (Some(at), _) => (Some(at), "rotated".to_string()),
            (None, Some(_)) => (
                secret.created.as_ref().map(|t| t.0),
                format!("created ({ROTATED_AT_ANNOTATION} is not an RFC 3339 time)"),
            ),
            (None, None) => (secret.created.as_ref().map(|t| t.0), "created".to_string()),
        };
        let Some(since) = since else { continue };
        let age = now.as_second() - since.as_second();
        if age <= limit {
            continue;
        }
        let severity = if age > limit.saturating_mul(2) { Severity::High } else { Severity::Medium };
        out.push(ControlFinding {
            asset: ObjectRef {
                api_version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some(secret.namespace.clone()),
                name: secret.name.clone(),
                uid: secret.uid.clone(),
            },
            asset_labels: secret.labels.clone(),
            severity,
            summary: format!(
                "Secret {}/{} was {from} {} days ago, more than the {} days allowed",
                secret.namespace,
                secret.name,
                age / 86_400,
                limit / 86_400
            ),
            fix: ControlFix::Owner {
                action: format!(
                    "rotate the credential in Secret {}/{} where it is issued, then set the annotation {ROTATED_AT_ANNOTATION} to the time of rotation",
                    secret.namespace, secret.name
                ),
                why: "only the issuer of a credential can rotate it".to_string(),
            },
        });
    }
    out
}
