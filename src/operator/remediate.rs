//! One fix: server-side apply dry-run, server-side apply of exactly the governed fields,
//! then a fresh read (never the cache) that must compare clean on every fixed path.

use std::collections::BTreeSet;

use kube::Client;
use kube::api::{ApiResource, Patch, PatchParams};
use serde_json::Value;

use super::recreation_runner::RecreateError;
use crate::api::ServiceAccountRef;
use crate::engine::compare::compare;
use crate::engine::drift::CompareRules;
use crate::keys::ObjectKey;

/// What a fix must make hold: a template, its ignore rules, and the paths being fixed
/// (`None`: every governed path, as when the object is created).
#[derive(Clone, Debug)]
pub struct Expectation {
    pub template: Value,
    pub rules: CompareRules,
    pub paths: Option<BTreeSet<String>>,
}

/// How a fix ended. Its `Debug` output (used in Events) never shows the fresh object,
/// which may be a Secret.
pub enum FixResult {
    /// The fresh read holds every fixed path. The fresh object comes along, so the cache
    /// knows the result before the watch reports it.
    Verified { resource_version: Option<String>, fresh: Box<Value> },
    /// The server refused the dry-run, or the fix was refused before any request: nothing
    /// was changed.
    DryRunRejected { error: FixError },
    /// The apply failed.
    ApplyFailed { error: FixError },
    /// The apply succeeded but the fresh read still differs on these paths. The fresh
    /// object comes along, for the evidence of what was read back.
    NotVerified { paths: Vec<String>, resource_version: Option<String>, fresh: Box<Value> },
}

impl std::fmt::Debug for FixResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verified { resource_version, .. } => {
                f.debug_struct("Verified").field("resource_version", resource_version).finish_non_exhaustive()
            }
            Self::DryRunRejected { error } => {
                f.debug_struct("DryRunRejected").field("message", &error.to_string()).finish()
            }
            Self::ApplyFailed { error } => f.debug_struct("ApplyFailed").field("message", &error.to_string()).finish(),
            Self::NotVerified { paths, resource_version, .. } => f
                .debug_struct("NotVerified")
                .field("paths", paths)
                .field("resource_version", resource_version)
                .finish_non_exhaustive(),
        }
    }
}

impl FixResult {
    /// A PascalCase name for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "Verified",
            Self::DryRunRejected { .. } => "DryRunRejected",
            Self::ApplyFailed { .. } => "ApplyFailed",
            Self::NotVerified { .. } => "NotVerified",
        }
    }

    /// What went wrong, for a person (status, evidence, escalations); `None` when verified.
    pub fn failure(&self) -> Option<String> {
        match self {
            Self::Verified { .. } => None,
            Self::DryRunRejected { error } => Some(format!("the server rejected the dry-run: {error}")),
            Self::ApplyFailed { error } => Some(format!("the fix failed: {error}")),
            Self::NotVerified { paths, .. } => Some(format!("still differs after the fix: {}", paths.join(", "))),
        }
    }

    /// Why the fix failed, when a request failed or the fix was refused.
    pub fn error(&self) -> Option<&FixError> {
        match self {
            Self::DryRunRejected { error } | Self::ApplyFailed { error } => Some(error),
            Self::Verified { .. } | Self::NotVerified { .. } => None,
        }
    }
}

/// Why a fix failed. A message carries the API server's answer as [`describe`] puts it;
/// the answer itself stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The server refused the dry-run apply.
    #[error("{}", describe(.source))]
    DryRun {
        #[source]
        source: kube::Error,
    },
    /// The apply failed.
    #[error("{}", describe(.source))]
    Apply {
        #[source]
        source: kube::Error,
    },
    /// The fresh read after the apply failed.
    #[error("verifying read failed: {}", describe(.source))]
    VerifyRead {
        #[source]
        source: kube::Error,
    },
    /// A recreation was refused or failed.
    #[error("{0}")]
    Recreate(#[from] RecreateError),
    /// The object's namespace does not fit its kind's scope: refused before any request.
    #[error("{0}")]
    Scope(#[from] super::scoped::ScopeMismatch),
    /// The task carrying out the fix panicked (a bug, caught); it is retried as a failure.
    #[error("the fix failed inside driftwarden: {0}")]
    Internal(String),
}

impl FixError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::DryRun { .. } => "DryRunRejected",
            Self::Apply { .. } => "ApplyFailed",
            Self::VerifyRead { .. } => "VerifyReadFailed",
            Self::Recreate(error) => error.category(),
            Self::Scope(_) => "ScopeMismatch",
            Self::Internal(_) => "InternalError",
        }
    }
}

/// Everything one fix needs, prepared by the operator's loop.
#[derive(Debug, Clone)]
pub struct Fix {
    pub key: ObjectKey,
    pub resource: ApiResource,
    pub namespaced: bool,
    /// The apply body: every governed field of every template that governs the object.
    pub body: Value,
    pub expectations: Vec<Expectation>,
    pub field_manager: String,
    /// Whether the object is missing, so that the apply creates it (which the API server
    /// authorizes as a create, not a patch).
    pub creates: bool,
    /// The ServiceAccount every request of the fix impersonates; `None`: the operator.
    pub acting_as: Option<ServiceAccountRef>,
}

/// Applies a fix and verifies it; when the server refused a request for lack of
/// permission, also says which verb on which resource was forbidden.
pub async fn apply(client: Client, fix: &Fix) -> (FixResult, Option<String>) {
    let api = match super::scoped::object_api(client, &fix.key, &fix.resource, fix.namespaced) {
        Ok(api) => api,
        Err(mismatch) => return (FixResult::DryRunRejected { error: FixError::Scope(mismatch) }, None),
    };
    // Ownership moves to driftwarden for the fixed fields: drifts whose last writer was
    // another applier are escalated as conflicts before a fix is ever attempted.
    let params = PatchParams::apply(&fix.field_manager).force();
    let patch = Patch::Apply(&fix.body);
    let write = if fix.creates { "create" } else { "patch" };
    if let Err(source) = api.patch(&fix.key.name, &params.clone().dry_run(), &patch).await {
        let denied = denied(&source, fix, write);
        return (FixResult::DryRunRejected { error: FixError::DryRun { source } }, denied);
    }
    if let Err(source) = api.patch(&fix.key.name, &params, &patch).await {
        let denied = denied(&source, fix, write);
        return (FixResult::ApplyFailed { error: FixError::Apply { source } }, denied);
    }
    let fresh = match api.get(&fix.key.name).await {
        Ok(object) => serde_json::to_value(&object).unwrap_or(Value::Null),
        Err(source) => {
            let denied = denied(&source, fix, "get");
            return (FixResult::ApplyFailed { error: FixError::VerifyRead { source } }, denied);
        }
    };
    (verify(&fresh, &fix.expectations), None)
}

/// When `error` is a 403: who (the operator, or the ServiceAccount the fix is made as) may
/// not use which verb on which resource, and what the server said. When the operator may
/// not impersonate the ServiceAccount, that is what it says.
pub(crate) fn denied(error: &kube::Error, fix: &Fix, verb: &str) -> Option<String> {
    if !super::watch::is_forbidden(error) {
        return None;
    }
    let answer = describe(error);
    if let Some(account) = &fix.acting_as
        && answer.contains("cannot impersonate")
    {
        return Some(format!(
            "the operator may not impersonate ServiceAccount {account} (verb impersonate on serviceaccounts in namespace \
             {}), so it makes no fix as it: {answer}",
            account.namespace
        ));
    }
    let group = match fix.resource.group.as_str() {
        "" => String::new(),
        group => format!(".{group}"),
    };
    let scope = match (&fix.key.namespace, fix.namespaced) {
        (Some(namespace), true) => format!(" in namespace {namespace}"),
        _ => String::new(),
    };
    let who = match &fix.acting_as {
        Some(account) => format!("ServiceAccount {account}"),
        None => "the operator".to_string(),
    };
    Some(format!("{who} may not {verb} {}{group}{scope}: {answer}", fix.resource.plural))
}

/// Whether `fresh` holds every path a fix set out to restore.
pub fn verify(fresh: &Value, expectations: &[Expectation]) -> FixResult {
    let mut remaining: Vec<String> = expectations
        .iter()
        .flat_map(|e| {
            compare(fresh, &e.template, &e.rules)
                .into_iter()
                .filter(|d| e.paths.as_ref().is_none_or(|paths| paths.contains(&d.path)))
                .map(|d| d.path)
        })
        .collect();
    remaining.sort();
    remaining.dedup();
    let resource_version = fresh.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
    if remaining.is_empty() {
        FixResult::Verified { resource_version, fresh: Box::new(fresh.clone()) }
    } else {
        FixResult::NotVerified { paths: remaining, resource_version, fresh: Box::new(fresh.clone()) }
    }
}

pub(crate) fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({}): {}", status.reason, status.code, status.message),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> crate::engine::FingerprintKey {
        crate::engine::FingerprintKey::new(b"driftwarden test fingerprint key").unwrap()
    }

    #[test]
    fn verification_looks_only_at_the_fixed_paths() {
        let template =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"team": "shop", "tier": "web"}}});
        let fresh = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "42", "labels": {"team": "shop", "tier": "db"}}});
        let expect = |paths: &[&str]| Expectation {
            template: template.clone(),
            rules: CompareRules::new(key()),
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
        };
        let verified = verify(&fresh, &[expect(&["/metadata/labels/team"])]);
        assert!(
            matches!(&verified, FixResult::Verified { resource_version, fresh: read }
                if resource_version.as_deref() == Some("42") && **read == fresh),
            "{verified:?}"
        );
        let both = verify(&fresh, &[expect(&["/metadata/labels/team", "/metadata/labels/tier"])]);
        assert!(
            matches!(&both, FixResult::NotVerified { paths, resource_version, fresh: read }
                if paths == &["/metadata/labels/tier"] && resource_version.as_deref() == Some("42") && **read == fresh),
            "{both:?}"
        );
        let secret = json!({"kind": "Secret", "data": {"token": "aHVudGVyMg=="}});
        let shown =
            format!("{:?}", FixResult::NotVerified { paths: vec![], resource_version: None, fresh: Box::new(secret) });
        assert!(!shown.contains("aHVudGVyMg=="), "{shown}");
        let everything = Expectation { template: template.clone(), rules: CompareRules::new(key()), paths: None };
        let all = verify(&fresh, &[everything]);
        assert!(matches!(&all, FixResult::NotVerified { paths, .. } if paths == &["/metadata/labels/tier"]), "{all:?}");
    }

    #[test]
    fn a_failed_fix_keeps_the_answer_and_shows_it_as_before() {
        let status = kube::core::Status::failure("denied by policy", "Forbidden").with_code(403);
        let error = FixError::DryRun { source: kube::Error::Api(Box::new(status)) };
        assert_eq!(error.to_string(), "Forbidden (403): denied by policy");
        assert_eq!(error.category(), "DryRunRejected");
        let source = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<kube::Error>());
        assert!(matches!(source, Some(kube::Error::Api(status)) if status.code == 403), "{source:?}");
        let result = FixResult::DryRunRejected { error };
        assert_eq!(format!("{result:?}"), r#"DryRunRejected { message: "Forbidden (403): denied by policy" }"#);
        assert_eq!(result.error().map(FixError::category), Some("DryRunRejected"));
    }
}
