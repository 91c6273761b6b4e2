//! Runs a `Recreate` fix against the API server: the API server refuses to change an
//! immutable field, so the object is deleted and created again with the field at its
//! desired value. It only ever runs for a policy that lists `Recreate` in `autoRemediate`
//! (the controller decides, before starting it, whether a fix recreates its object); by
//! default such drift is escalated and nothing is deleted. What the steps send is built by
//! [`crate::engine::recreation`].
//!
//! 1. A fresh read of the whole object (the cache keeps only the governed fields). Its uid
//!    must be the one the drift was seen on.
//! 2. Dry runs, so nothing is deleted that cannot be created again: a server-side dry-run
//!    delete with the uid and resourceVersion as preconditions, and a server-side dry-run
//!    create of the replacement. While the old object exists, creating one of the same
//!    name is refused (409) before validation, so the dry-run create uses `generateName`
//!    with the same prefix instead of the name: it runs the same defaulting, validation and
//!    admission on the same body, and only the name's uniqueness goes unchecked (the wait in
//!    step 4 covers that).
//! 3. The delete, with the same preconditions and `propagationPolicy: Background`: the
//!    object's dependents are collected by the garbage collector as with `kubectl delete`.
//! 4. A wait, bounded, until the object with the old uid is gone (finalizers may hold it).
//! 5. The create: the live object less what the server sets (uid, resourceVersion,
//!    creationTimestamp, generation, managedFields, status; owner references are kept),
//!    with the governed fields of the fix body over it, created with field manager
//!    `driftwarden`, retried a few times on failure because the old object is already
//!    gone; then the fix body applied server-side under the same manager, so driftwarden
//!    owns the governed fields as after any fix.
//! 6. A fresh read that must verify, as for every fix.

use std::time::Duration;

use kube::Client;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Map, Value};

use super::remediate::{Fix, FixResult, describe, verify};
use crate::engine::backoff::Backoff;
use crate::engine::recreation::{self, dry_run_probe, replacement};
use crate::keys::{ObjectKey, PolicyKey};

pub use crate::engine::recreation::Recreation;

/// How long the old object may take to go away before the fix gives up.
const GONE_WITHIN: Duration = Duration::from_secs(30);
/// How often the create is tried once the old object is gone.
const CREATE_ATTEMPTS: u32 = 5;
/// How long to wait between creates: 0.4 s, 0.8 s, 1.6 s, 3.2 s.
const CREATE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(400), Duration::from_secs(5));

/// Why a recreation was refused or failed. A message carries the API server's answer as
/// [`describe`] puts it; the answer itself stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum RecreateError {
    /// A policy asking for the fix does not allow recreations.
    #[error(
        "fixing {} needs the object recreated, and policy {policy} does not list Recreate in autoRemediate: nothing deleted",
        .paths.join(", ")
    )]
    NotAllowed { paths: Vec<String>, policy: PolicyKey },
    /// The object's namespace does not fit its kind's scope: refused before any request.
    #[error("{0}")]
    Scope(#[from] super::scoped::ScopeMismatch),
    /// The object the drift was seen on is not known by uid.
    #[error("the uid of {key} is not known: nothing deleted")]
    UidUnknown { key: ObjectKey },
    /// The fresh read before anything else failed.
    #[error("reading {key} to recreate it: {}", describe(.source))]
    Read {
        key: ObjectKey,
        #[source]
        source: kube::Error,
    },
    /// The object is not the one the drift was seen on.
    #[error("{key} was replaced since its drift was seen: nothing deleted")]
    Replaced { key: ObjectKey },
    /// The server refused the dry-run delete.
    #[error("dry-run delete: {}", describe(.source))]
    DryRunDelete {
        #[source]
        source: kube::Error,
    },
    /// The server refused the dry-run create of the replacement.
    #[error("dry-run create of the replacement: {}", describe(.source))]
    DryRunCreate {
        #[source]
        source: kube::Error,
    },
    /// The delete failed.
    #[error("delete: {}", describe(.source))]
    Delete {
        #[source]
        source: kube::Error,
    },
    /// Waiting for the old object to go failed.
    #[error("waiting for the deletion: {source}")]
    AwaitDeletion {
        #[source]
        source: kube::runtime::wait::Error,
    },
    /// The old object was still there after `after`.
    #[error("deleted, but still present after {}s (finalizers?)", .after.as_secs())]
    StillPresent { after: Duration },
    /// The replacement could not be built.
    #[error("the replacement is not an object: {source}")]
    NotAnObject {
        #[source]
        source: serde_json::Error,
    },
    /// The create failed, the last of `attempts` tries.
    #[error("deleted, but not created again ({attempts} attempts): {}", describe(.source))]
    Create {
        attempts: u32,
        #[source]
        source: kube::Error,
    },
    /// The apply of the fix body to the new object failed.
    #[error("recreated, but the apply failed: {}", describe(.source))]
    Apply {
        #[source]
        source: kube::Error,
    },
    /// The fresh read of the new object failed.
    #[error("verifying read failed: {}", describe(.source))]
    VerifyRead {
        #[source]
        source: kube::Error,
    },
}

impl RecreateError {
    /// The verb of the request the server answered, and its answer, when a request failed.
    pub fn request(&self) -> Option<(&'static str, &kube::Error)> {
        match self {
            Self::Read { source, .. } | Self::VerifyRead { source } => Some(("get", source)),
            Self::DryRunDelete { source } | Self::Delete { source } => Some(("delete", source)),
            Self::DryRunCreate { source } | Self::Create { source, .. } => Some(("create", source)),
            Self::Apply { source } => Some(("patch", source)),
            _ => None,
        }
    }

    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::NotAllowed { .. } => "RecreateNotAllowed",
            Self::Scope(_) => "ScopeMismatch",
            Self::UidUnknown { .. } => "UidUnknown",
            Self::Read { .. } => "ReadFailed",
            Self::Replaced { .. } => "ObjectReplaced",
            Self::DryRunDelete { .. } | Self::DryRunCreate { .. } => "DryRunRejected",
            Self::Delete { .. } => "DeleteFailed",
            Self::AwaitDeletion { .. } | Self::StillPresent { .. } => "DeletionPending",
            Self::NotAnObject { .. } => "InvalidReplacement",
            Self::Create { .. } => "CreateFailed",
            Self::Apply { .. } => "ApplyFailed",
            Self::VerifyRead { .. } => "VerifyReadFailed",
        }
    }

    /// Whether nothing was deleted: the recreation was refused before its delete.
    pub fn nothing_deleted(&self) -> bool {
        matches!(
            self,
            Self::NotAllowed { .. }
                | Self::Scope(_)
                | Self::UidUnknown { .. }
                | Self::Read { .. }
                | Self::Replaced { .. }
                | Self::DryRunDelete { .. }
                | Self::DryRunCreate { .. }
        )
    }
}

/// Deletes the object and creates it again with the fix body's governed fields, then
/// verifies it.
/// When the server refused a request for lack of permission, also says who may not use
/// which verb on which resource.
pub async fn run(client: Client, fix: &Fix, recreation: &Recreation) -> (FixResult, Option<String>) {
    match recreate(client, fix, recreation).await {
        Ok(fresh) => (verify(&fresh, &fix.expectations), None),
        Err(error) => {
            let denied = error.request().and_then(|(verb, source)| super::remediate::denied(source, fix, verb));
            match error.nothing_deleted() {
                true => (FixResult::DryRunRejected { error: error.into() }, denied),
                false => (FixResult::ApplyFailed { error: error.into() }, denied),
            }
        }
    }
}

/// The steps of [`run`] up to the fresh read of the new object.
async fn recreate(client: Client, fix: &Fix, recreation: &Recreation) -> Result<Value, RecreateError> {
    let api = super::scoped::object_api(client, &fix.key, &fix.resource, fix.namespaced)?;
    let name = fix.key.name.as_str();
    let live = match api.get(name).await {
        Ok(object) => serde_json::to_value(&object).unwrap_or(Value::Null),
        Err(source) => return Err(RecreateError::Read { key: fix.key.clone(), source }),
    };
    let text = |pointer: &str| live.pointer(pointer).and_then(Value::as_str).map(str::to_string);
    if text("/metadata/uid").as_deref() != Some(recreation.uid.as_str()) {
        return Err(RecreateError::Replaced { key: fix.key.clone() });
    }
    let preconditions =
        Preconditions { uid: Some(recreation.uid.clone()), resource_version: text("/metadata/resourceVersion") };
    let delete = DeleteParams {
        preconditions: Some(preconditions),
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    let replacement = replacement(&live, &fix.body);
    let create = PostParams { dry_run: false, field_manager: Some(fix.field_manager.clone()) };

    api.delete(name, &DeleteParams { dry_run: true, ..delete.clone() })
        .await
        .map_err(|source| RecreateError::DryRunDelete { source })?;
    let probe = probe(&replacement, name);
    api.create(&PostParams { dry_run: true, ..create.clone() }, &probe)
        .await
        .map_err(|source| RecreateError::DryRunCreate { source })?;

    api.delete(name, &delete).await.map_err(|source| RecreateError::Delete { source })?;
    let gone =
        tokio::time::timeout(GONE_WITHIN, await_condition(api.clone(), name, conditions::is_deleted(&recreation.uid)));
    match gone.await {
        Ok(Ok(_)) => {}
        Ok(Err(source)) => return Err(RecreateError::AwaitDeletion { source }),
        Err(_) => return Err(RecreateError::StillPresent { after: GONE_WITHIN }),
    }

    let replacement: DynamicObject =
        serde_json::from_value(replacement).map_err(|source| RecreateError::NotAnObject { source })?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match api.create(&create, &replacement).await {
            Ok(_) => break,
            Err(err) if attempt < CREATE_ATTEMPTS && !is_conflict(&err) => {
                tokio::time::sleep(CREATE_BACKOFF.delay(attempt)).await;
            }
            Err(source) => return Err(RecreateError::Create { attempts: attempt, source }),
        }
    }
    let params = PatchParams::apply(&fix.field_manager).force();
    api.patch(name, &params, &Patch::Apply(&fix.body)).await.map_err(|source| RecreateError::Apply { source })?;
    match api.get(name).await {
        Ok(object) => Ok(serde_json::to_value(&object).unwrap_or(Value::Null)),
        Err(source) => Err(RecreateError::VerifyRead { source }),
    }
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// The replacement under a generated name, for the dry-run create ([`dry_run_probe`]).
fn probe(replacement: &Value, name: &str) -> DynamicObject {
    serde_json::from_value(dry_run_probe(replacement, name)).unwrap_or_else(|_| DynamicObject {
        types: None,
        metadata: Default::default(),
        data: Value::Object(Map::new()),
    })
}

/// What the `Remediated` Event says of a recreation ([`recreation::describe`]).
pub fn describe_recreated(result: &FixResult, paths: &[String]) -> String {
    let uid = match result {
        FixResult::Verified { fresh, .. } => fresh.pointer("/metadata/uid").and_then(Value::as_str),
        _ => None,
    };
    recreation::describe(uid, paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_dry_run_create_generates_a_name() {
        let probe = probe(
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "shop"}}),
            "tls",
        );
        assert_eq!(probe.metadata.name, None);
        assert_eq!(probe.metadata.generate_name.as_deref(), Some("tls-"));
        assert_eq!(probe.metadata.namespace.as_deref(), Some("shop"));
    }
}
