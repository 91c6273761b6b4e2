//! Whether a kind is cluster-scoped, for manifests read without an API server's discovery.

/// Built-in and well-known kinds that are cluster-scoped, by `(group, kind)`.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("driftwarden.dev", "ClusterDriftPolicy"),
    ("driftwarden.dev", "RemediationCampaign"),
    ("wgpolicyk8s.io", "ClusterPolicyReport"),
];

/// The group of an `apiVersion`: `apps/v1` is `apps`, `v1` is the core group `""`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Whether objects of this kind live outside namespaces. Unknown kinds (most custom
/// resources) are taken to be namespaced.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let group = group_of(api_version);
    CLUSTER_SCOPED.iter().any(|(g, k)| *g == group && *k == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_cluster_scoped_kinds() {
        assert!(is_cluster_scoped("v1", "Namespace"));
        assert!(is_cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRole"));
        assert!(is_cluster_scoped("driftwarden.dev/v1alpha1", "RemediationCampaign"));
        assert!(!is_cluster_scoped("rbac.authorization.k8s.io/v1", "Role"));
        assert!(!is_cluster_scoped("apps/v1", "Deployment"));
        assert!(!is_cluster_scoped("monitoring.coreos.com/v1", "ServiceMonitor"));
        assert_eq!(group_of("v1"), "");
        assert_eq!(group_of("apps/v1"), "apps");
    }
}
