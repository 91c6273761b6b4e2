//! Fields the API server refuses to change on an existing object: fixing them needs the
//! object deleted and created again (`Recreate`).
//!
//! From the update validation of `k8s.io/kubernetes` (`pkg/apis/*/validation`):
//! - Deployment, ReplicaSet, DaemonSet: `spec.selector`.
//! - StatefulSet: everything in `spec` except `replicas`, `ordinals`, `template`,
//!   `updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`.
//! - Job: `spec.selector`, `manualSelector`, `template`, `completions`,
//!   `completionMode`, `podFailurePolicy`, `backoffLimitPerIndex`, `successPolicy`,
//!   `managedBy`; except that a suspended Job that never started may change its
//!   template's labels, annotations, node selector, tolerations, affinity and scheduling
//!   gates. (Elastic indexed Jobs, whose `completions` may change with `parallelism`, are
//!   treated as immutable.)
//! - Service: `spec.clusterIP`/`clusterIPs` once allocated; the primary IP family.
//! - RoleBinding, ClusterRoleBinding: `roleRef`.
//! - ConfigMap, Secret with `immutable: true`: `data`, `binaryData`, `stringData`,
//!   `immutable`. Secret: `type`.
//! - PersistentVolumeClaim: `spec`, except growing `resources.requests` and
//!   `volumeAttributesClassName`.
//! - Pod: `spec`, except container and init-container `image`, `activeDeadlineSeconds`,
//!   adding tolerations and removing scheduling gates. (In-place resize goes through the
//!   `resize` subresource, not an apply: `resources` count as immutable here.)
//! - StorageClass: `parameters`, `provisioner`, `reclaimPolicy`, `volumeBindingMode`.

use serde_json::Value;

use crate::engine::kind::Kind;
use crate::engine::normalize::equal::{Shape, deep_eq};
use crate::engine::normalize::scalar::quantity;

const STATEFUL_SET_MUTABLE: [&str; 6] =
    ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

const JOB_IMMUTABLE: [&str; 9] = [
    "selector",
    "manualSelector",
    "template",
    "completions",
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "successPolicy",
    "managedBy",
];

const STORAGE_CLASS_IMMUTABLE: [&str; 4] = ["parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"];

/// Whether changing `path` from `live` to `desired` on the existing `live_object` of
/// `kind` is refused by the API server. Nothing is immutable on an object that does not
/// exist yet.
pub fn is_immutable(
    kind: Kind,
    live_object: Option<&Value>,
    path: &[&str],
    desired: &Value,
    live: Option<&Value>,
) -> bool {
    let Some(live_object) = live_object else { return false };
    match kind {
        Kind::Deployment | Kind::ReplicaSet | Kind::DaemonSet => path.starts_with(&["spec", "selector"]),
        Kind::StatefulSet => match path {
            ["spec"] => true,
            ["spec", field, ..] => !STATEFUL_SET_MUTABLE.contains(field),
            _ => false,
        },
        Kind::Job => match path {
            ["spec", "template", rest @ ..] => !suspended_scheduling_change(live_object, rest),
            ["spec", field, ..] => JOB_IMMUTABLE.contains(field),
            _ => false,
        },
        Kind::Service => match path {
            ["spec", "clusterIP" | "clusterIPs", ..] => live.is_some(),
            ["spec", "ipFamilies", ..] => primary_family_changes(desired, live),
            _ => false,
        },
        Kind::RoleBinding | Kind::ClusterRoleBinding => path.first() == Some(&"roleRef"),
        Kind::ConfigMap | Kind::Secret => {
            let sealed = live_object.get("immutable") == Some(&Value::Bool(true));
            let data = matches!(path.first(), Some(&("data" | "binaryData" | "stringData" | "immutable")));
            (sealed && data) || (kind == Kind::Secret && path == ["type"] && live.is_some())
        }
        Kind::PersistentVolumeClaim => match path {
            ["spec", "resources", "requests", rest @ ..] => shrinks(rest, desired, live),
            ["spec", "volumeAttributesClassName"] => false,
            ["spec", ..] => true,
            _ => false,
        },
        Kind::Pod => pod_spec_immutable(path, desired, live),
        Kind::StorageClass => path.first().is_some_and(|field| STORAGE_CLASS_IMMUTABLE.contains(field)),
        _ => false,
    }
}

fn pod_spec_immutable(path: &[&str], desired: &Value, live: Option<&Value>) -> bool {
    match path {
        ["spec", "containers" | "initContainers", _, "image"] => false,
        ["spec", "activeDeadlineSeconds"] => false,
        // Tolerations may only be added: every live toleration must stay.
        ["spec", "tolerations"] => !keeps_every_item(desired, live),
        // Scheduling gates may only be removed.
        ["spec", "schedulingGates", ..] => !desired.is_null(),
        ["spec", ..] => true,
        _ => false,
    }
}

fn keeps_every_item(desired: &Value, live: Option<&Value>) -> bool {
    let desired = desired.as_array().map(Vec::as_slice).unwrap_or_default();
    let live = live.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    live.iter().all(|kept| desired.iter().any(|item| deep_eq(Shape::Unknown, Some(item), Some(kept))))
}

/// Whether a suspended Job that never started is changing one of its template's
/// scheduling directives (the one template change allowed).
fn suspended_scheduling_change(job: &Value, template_path: &[&str]) -> bool {
    let suspended = job.pointer("/spec/suspend") == Some(&Value::Bool(true));
    let never_started = job.pointer("/status/startTime").is_none_or(Value::is_null);
    let directive = matches!(
        template_path,
        ["metadata", "labels" | "annotations", ..]
            | ["spec", "nodeSelector" | "tolerations" | "affinity" | "schedulingGates", ..]
    );
    suspended && never_started && directive
}

fn primary_family_changes(desired: &Value, live: Option<&Value>) -> bool {
    let first = |value: &Value| value.as_array().and_then(|families| families.first()).cloned();
    match live {
        Some(live) => first(live).is_some() && first(desired) != first(live),
        None => false,
    }
}

/// Whether a change of PVC `resources.requests` (the whole map, or one resource) asks
/// for less than the live claim has: claims can grow, never shrink.
fn shrinks(resource: &[&str], desired: &Value, live: Option<&Value>) -> bool {
    let Some(live) = live else { return false };
    let less = |desired: &Value, live: &Value| match (quantity(desired), quantity(live)) {
        (Some(desired), Some(live)) => desired.nanos() < live.nanos(),
        _ => true,
    };
    match resource {
        [] => desired.as_object().is_some_and(|requests| {
            requests.iter().any(|(name, value)| live.get(name).is_some_and(|current| less(value, current)))
        }),
        _ => less(desired, live),
    }
}
