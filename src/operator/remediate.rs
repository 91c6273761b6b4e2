//! One fix: server-side apply dry-run, server-side apply of exactly the governed fields,
//! then a fresh read (never the cache) that must compare clean on every fixed path.

use std::collections::BTreeSet;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::keys::ObjKey;
use crate::engine::compare::compare;
use crate::engine::drift::CompareRules;

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
#[derive(Clone, PartialEq, Eq)]
pub enum FixResult {
    /// The fresh read holds every fixed path. The fresh object comes along, so the cache
    /// knows the result before the watch reports it.
    Verified { resource_version: Option<String>, fresh: Box<Value> },
    /// The server refused the dry-run: nothing was changed.
    DryRunRejected { message: String },
    /// The apply failed.
    ApplyFailed { message: String },
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
            Self::DryRunRejected { message } => f.debug_struct("DryRunRejected").field("message", message).finish(),
            Self::ApplyFailed { message } => f.debug_struct("ApplyFailed").field("message", message).finish(),
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
}

/// Everything one fix needs, prepared by the operator's loop.
#[derive(Debug, Clone)]
pub struct Fix {
    pub key: ObjKey,
    pub resource: ApiResource,
    pub namespaced: bool,
    /// The apply body: every governed field of every template that governs the object.
    pub body: Value,
    pub expectations: Vec<Expectation>,
    pub field_manager: String,
    /// Whether the object is missing, so that the apply creates it (which the API server
    /// authorizes as a create, not a patch).
    pub creates: bool,
}

/// Applies a fix and verifies it; when the server refused a request for lack of
/// permission, also says which verb on which resource was forbidden.
pub async fn apply(client: Client, fix: &Fix) -> (FixResult, Option<String>) {
    let api: Api<DynamicObject> = match (&fix.key.namespace, fix.namespaced) {
        (Some(namespace), true) => Api::namespaced_with(client, namespace, &fix.resource),
        _ => Api::all_with(client, &fix.resource),
    };
    // Ownership moves to driftwarden for the fixed fields: drifts whose last writer was
    // another applier are escalated as conflicts before a fix is ever attempted.
    let params = PatchParams::apply(&fix.field_manager).force();
    let patch = Patch::Apply(&fix.body);
    let write = if fix.creates { "create" } else { "patch" };
    if let Err(err) = api.patch(&fix.key.name, &params.clone().dry_run(), &patch).await {
        return (FixResult::DryRunRejected { message: describe(&err) }, denied(&err, fix, write));
    }
    if let Err(err) = api.patch(&fix.key.name, &params, &patch).await {
        return (FixResult::ApplyFailed { message: describe(&err) }, denied(&err, fix, write));
    }
    let fresh = match api.get(&fix.key.name).await {
        Ok(object) => serde_json::to_value(&object).unwrap_or(Value::Null),
        Err(err) => {
            let message = format!("verifying read failed: {}", describe(&err));
            return (FixResult::ApplyFailed { message }, denied(&err, fix, "get"));
        }
    };
    (verify(&fresh, &fix.expectations), None)
}

/// When `error` is a 403: which verb on which resource the operator may not use, and what
/// the server said.
fn denied(error: &kube::Error, fix: &Fix, verb: &str) -> Option<String> {
    if !super::watch::is_forbidden(error) {
        return None;
    }
    let group = match fix.resource.group.as_str() {
        "" => String::new(),
        group => format!(".{group}"),
    };
    let scope = match (&fix.key.namespace, fix.namespaced) {
        (Some(namespace), true) => format!(" in namespace {namespace}"),
        _ => String::new(),
    };
    Some(format!("the operator may not {verb} {}{group}{scope}: {}", fix.resource.plural, describe(error)))
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

    #[test]
    fn verification_looks_only_at_the_fixed_paths() {
        let template =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"team": "shop", "tier": "web"}}});
        let fresh = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "42", "labels": {"team": "shop", "tier": "db"}}});
        let expect = |paths: &[&str]| Expectation {
            template: template.clone(),
            rules: CompareRules::default(),
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
        };
        assert_eq!(
            verify(&fresh, &[expect(&["/metadata/labels/team"])]),
            FixResult::Verified { resource_version: Some("42".into()), fresh: Box::new(fresh.clone()) }
        );
        assert_eq!(
            verify(&fresh, &[expect(&["/metadata/labels/team", "/metadata/labels/tier"])]),
            FixResult::NotVerified {
                paths: vec!["/metadata/labels/tier".into()],
                resource_version: Some("42".into()),
                fresh: Box::new(fresh.clone())
            }
        );
        let secret = json!({"kind": "Secret", "data": {"token": "aHVudGVyMg=="}});
        let shown =
            format!("{:?}", FixResult::NotVerified { paths: vec![], resource_version: None, fresh: Box::new(secret) });
        assert!(!shown.contains("aHVudGVyMg=="), "{shown}");
        let everything = Expectation { template: template.clone(), rules: CompareRules::default(), paths: None };
        assert_eq!(
            verify(&fresh, &[everything]),
            FixResult::NotVerified {
                paths: vec!["/metadata/labels/tier".into()],
                resource_version: Some("42".into()),
                fresh: Box::new(fresh.clone())
            }
        );
    }
}
