//! Privilege-bearing fields of pod specs: changing them changes what a workload may do to
//! its node, its neighbours or the API, so their fix is `Access`.

use serde_json::Value;

use crate::engine::kind::Kind;

/// Pod spec fields that carry privilege.
pub const POD_SPEC_FIELDS: [&str; 9] = [
    "securityContext",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "shareProcessNamespace",
];

/// Keys that, anywhere in a pod spec value, carry privilege (the pod spec fields, plus
/// `hostPath` volumes and `hostPort`s; `privileged`, `capabilities` and the like live in
/// `securityContext`).
const PRIVILEGED_KEYS: [&str; 11] = [
    "securityContext",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "hostPath",
    "hostPort",
];

/// Maps whose keys are user data (label keys), never field names.
const USER_KEYED_MAPS: [&str; 4] = ["labels", "annotations", "nodeSelector", "matchLabels"];

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Whether fixing `path` of an object of `kind` touches a privilege-bearing field: the
/// path is one, or is in one, or the desired or live value at the path (a whole
/// container, a volume, a pod spec) holds one.
pub fn touches_privilege(kind: Kind, path: &[&str], desired: &Value, live: Option<&Value>) -> bool {
    let Some(pod_spec) = kind.pod_spec_path() else { return false };
    let holds_privilege = || {
        let label_like = path.last().is_some_and(|last| USER_KEYED_MAPS.contains(last));
        !label_like && (holds_privileged_key(desired) || live.is_some_and(holds_privileged_key))
    };
    if let Some(inner) = path.strip_prefix(pod_spec) {
        is_privileged_field(inner) || holds_privilege()
    } else {
        // Above the pod spec (a whole template, a whole spec): look inside.
        pod_spec.starts_with(path) && holds_privilege()
    }
}

/// Whether a path inside a pod spec is, or is in, a privilege-bearing field.
fn is_privileged_field(inner: &[&str]) -> bool {
    match inner {
        [field, ..] if POD_SPEC_FIELDS.contains(field) => true,
        [list, _, "securityContext", ..] if CONTAINER_LISTS.contains(list) => true,
        [list, _, "ports", _, "hostPort" | "hostIP", ..] if CONTAINER_LISTS.contains(list) => true,
        ["volumes", _, "hostPath", ..] => true,
        _ => false,
    }
}

fn holds_privileged_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, inner)| {
            PRIVILEGED_KEYS.contains(&key.as_str())
                || (!USER_KEYED_MAPS.contains(&key.as_str()) && holds_privileged_key(inner))
        }),
        Value::Array(items) => items.iter().any(holds_privileged_key),
        _ => false,
    }
}
