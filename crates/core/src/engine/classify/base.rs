//! The class of a path before privilege and immutability are considered.

use crate::api::RemediationClass;
use crate::engine::kind::Kind;
use crate::engine::secret::LAST_APPLIED_ANNOTATION;

/// The label prefix of Pod Security Admission: a Namespace's level is access control.
const POD_SECURITY_LABELS: &str = "pod-security.kubernetes.io/";

pub(super) fn base_class(kind: Kind, path: &[&str]) -> RemediationClass {
    use RemediationClass::{Access, Metadata, Rollout, SecretData, Spec};
    match path {
        ["metadata", "labels", rest @ ..] => match (kind, rest) {
            // ClusterRoles are aggregated into others by label: a label grants access.
            (Kind::ClusterRole, _) => Access,
            (Kind::Namespace, []) => Access,
            (Kind::Namespace, [key, ..]) if key.starts_with(POD_SECURITY_LABELS) => Access,
            _ => Metadata,
        },
        ["metadata", "annotations", rest @ ..] => match (kind, rest) {
            // Workload identity (cloud IAM roles) is bound by ServiceAccount annotations.
            (Kind::ServiceAccount, _) => Access,
            (Kind::Secret, []) => SecretData,
            (Kind::Secret, [key, ..]) if *key == LAST_APPLIED_ANNOTATION => SecretData,
            _ => Metadata,
        },
        _ if kind.is_access_kind() => Access,
        ["data" | "stringData", ..] if kind == Kind::Secret => SecretData,
        ["spec", "containers" | "initContainers", _, "image"] if kind == Kind::Pod => Rollout,
        _ if in_pod_template(kind, path) => Rollout,
        _ => Spec,
    }
}

/// Whether a path is in, or contains, the pod template of a workload (a PodTemplate
/// object is not a workload: changing it restarts nothing).
fn in_pod_template(kind: Kind, path: &[&str]) -> bool {
    if kind == Kind::PodTemplate {
        return false;
    }
    kind.pod_template_path().is_some_and(|template| {
        let shared = template.len().min(path.len());
        !path.is_empty() && path[..shared] == template[..shared]
    })
}
