//! Whether a kind lives in namespaces or at cluster scope.
//!
//! The API server's discovery is the authority: the operator learns each kind's scope from
//! it before it reads or writes a single object of that kind. Offline (`driftwarden check`),
//! the built-in kinds are known ([`builtin`]) and the others come from the JSON of
//! `kubectl api-resources -o json` or a discovery document ([`Scopes::read_api_resources`]);
//! a kind known from neither is unknown, and never guessed.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// Where the objects of a kind live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// In a namespace.
    Namespaced,
    /// Outside namespaces.
    Cluster,
}

impl Scope {
    /// The scope of a kind discovery marks `namespaced` or not.
    pub fn of_namespaced(namespaced: bool) -> Self {
        if namespaced { Self::Namespaced } else { Self::Cluster }
    }
}

/// The built-in kinds (and driftwarden's own, and the PolicyReport kinds), by
/// `(group, kind)`, with their scope: what a Kubernetes 1.30 to 1.35 API server serves.
const BUILTIN: &[(&str, &str, Scope)] = {
    use Scope::{Cluster as C, Namespaced as N};
    &[
        ("", "Binding", N),
        ("", "ComponentStatus", C),
        ("", "ConfigMap", N),
        ("", "Endpoints", N),
        ("", "Event", N),
        ("", "LimitRange", N),
        ("", "Namespace", C),
        ("", "Node", C),
        ("", "PersistentVolume", C),
        ("", "PersistentVolumeClaim", N),
        ("", "Pod", N),
        ("", "PodTemplate", N),
        ("", "ReplicationController", N),
        ("", "ResourceQuota", N),
        ("", "Secret", N),
        ("", "Service", N),
        ("", "ServiceAccount", N),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy", C),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding", C),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", C),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", C),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", C),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", C),
        ("apiextensions.k8s.io", "CustomResourceDefinition", C),
        ("apiregistration.k8s.io", "APIService", C),
        ("apps", "ControllerRevision", N),
        ("apps", "DaemonSet", N),
        ("apps", "Deployment", N),
        ("apps", "ReplicaSet", N),
        ("apps", "StatefulSet", N),
        ("authentication.k8s.io", "SelfSubjectReview", C),
        ("authentication.k8s.io", "TokenReview", C),
        ("authorization.k8s.io", "LocalSubjectAccessReview", N),
        ("authorization.k8s.io", "SelfSubjectAccessReview", C),
        ("authorization.k8s.io", "SelfSubjectRulesReview", C),
        ("authorization.k8s.io", "SubjectAccessReview", C),
        ("autoscaling", "HorizontalPodAutoscaler", N),
        ("batch", "CronJob", N),
        ("batch", "Job", N),
        ("certificates.k8s.io", "CertificateSigningRequest", C),
        ("certificates.k8s.io", "ClusterTrustBundle", C),
        ("coordination.k8s.io", "Lease", N),
        ("coordination.k8s.io", "LeaseCandidate", N),
        ("discovery.k8s.io", "EndpointSlice", N),
        ("driftwarden.dev", "ClusterDriftPolicy", C),
        ("driftwarden.dev", "DriftException", N),
        ("driftwarden.dev", "DriftPolicy", N),
        ("driftwarden.dev", "Finding", N),
        ("driftwarden.dev", "RemediationCampaign", C),
        ("events.k8s.io", "Event", N),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema", C),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", C),
        ("internal.apiserver.k8s.io", "StorageVersion", C),
        ("networking.k8s.io", "IPAddress", C),
        ("networking.k8s.io", "Ingress", N),
        ("networking.k8s.io", "IngressClass", C),
        ("networking.k8s.io", "NetworkPolicy", N),
        ("networking.k8s.io", "ServiceCIDR", C),
        ("node.k8s.io", "RuntimeClass", C),
        ("policy", "PodDisruptionBudget", N),
        ("rbac.authorization.k8s.io", "ClusterRole", C),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", C),
        ("rbac.authorization.k8s.io", "Role", N),
        ("rbac.authorization.k8s.io", "RoleBinding", N),
        ("resource.k8s.io", "DeviceClass", C),
        ("resource.k8s.io", "DeviceTaintRule", C),
        ("resource.k8s.io", "ResourceClaim", N),
        ("resource.k8s.io", "ResourceClaimTemplate", N),
        ("resource.k8s.io", "ResourceSlice", C),
        ("scheduling.k8s.io", "PriorityClass", C),
        ("storage.k8s.io", "CSIDriver", C),
        ("storage.k8s.io", "CSINode", C),
        ("storage.k8s.io", "CSIStorageCapacity", N),
        ("storage.k8s.io", "StorageClass", C),
        ("storage.k8s.io", "VolumeAttachment", C),
        ("storage.k8s.io", "VolumeAttributesClass", C),
        ("storagemigration.k8s.io", "StorageVersionMigration", C),
        ("wgpolicyk8s.io", "ClusterPolicyReport", C),
        ("wgpolicyk8s.io", "PolicyReport", N),
    ]
};

/// The group of an `apiVersion`: `apps/v1` is `apps`, `v1` is the core group `""`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// The scope of a built-in kind; `None` for any other (custom resources).
pub fn builtin(api_version: &str, kind: &str) -> Option<Scope> {
    let group = group_of(api_version);
    BUILTIN.iter().find(|(g, k, _)| *g == group && *k == kind).map(|(_, _, scope)| *scope)
}

/// The scopes of the kinds some API server serves, as its discovery or `kubectl
/// api-resources -o json` lists them, over the built-in ones.
#[derive(Clone, Debug, Default)]
pub struct Scopes {
    listed: HashMap<(String, String), Scope>,
    /// The resource (plural) names listed, by `(group, kind)`.
    plurals: HashMap<(String, String), String>,
}

/// Why an api-resources document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ApiResourcesError {
    /// Not JSON or YAML.
    #[error("is not JSON or YAML: {0}")]
    Syntax(String),
    /// JSON, but not a list of API resources.
    #[error("is not the output of `kubectl api-resources -o json`, an APIResourceList or a list of them: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceList {
    #[serde(default)]
    group_version: String,
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    kind: String,
    namespaced: bool,
    /// Set by `kubectl api-resources -o json`, which lists every group in one list.
    #[serde(default)]
    group: Option<String>,
}

impl Scopes {
    /// The scope of a kind: as listed, else as built in; `None` when it is neither.
    pub fn scope(&self, api_version: &str, kind: &str) -> Option<Scope> {
        let group = group_of(api_version);
        self.listed.get(&(group.to_string(), kind.to_string())).copied().or_else(|| builtin(api_version, kind))
    }

    /// The resource name of a kind, as its URLs and admission rules name it: as listed,
    /// else for a built-in kind the lower-case plural the API server gives it (`Ingress`:
    /// `ingresses`, `NetworkPolicy`: `networkpolicies`, `Endpoints`: `endpoints`); `None`
    /// for a kind that is neither, whose plural is never guessed.
    pub fn plural(&self, api_version: &str, kind: &str) -> Option<String> {
        let group = group_of(api_version);
        if let Some(plural) = self.plurals.get(&(group.to_string(), kind.to_string())) {
            return Some(plural.clone());
        }
        builtin(api_version, kind)?;
        let lower = kind.to_ascii_lowercase();
        Some(if lower == "endpoints" {
            lower
        } else if lower.ends_with(['s', 'x', 'z']) || lower.ends_with("ch") || lower.ends_with("sh") {
            format!("{lower}es")
        } else if let Some(stem) = lower.strip_suffix('y').filter(|stem| !stem.ends_with(['a', 'e', 'i', 'o', 'u'])) {
            format!("{stem}ies")
        } else {
            format!("{lower}s")
        })
    }

    /// Records that `kind` of `group` has `scope`.
    pub fn insert(&mut self, group: &str, kind: &str, scope: Scope) {
        self.listed.insert((group.to_string(), kind.to_string()), scope);
    }

    /// How many kinds were listed (beyond the built-in ones).
    pub fn len(&self) -> usize {
        self.listed.len()
    }

    /// Whether nothing was listed.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// Reads the JSON (or YAML) of `kubectl api-resources -o json`, one `APIResourceList`
    /// of discovery, a `List` of them or an array of them. Subresources are skipped.
    pub fn read_api_resources(text: &str) -> Result<Self, ApiResourcesError> {
        let value: Value = serde_yaml::from_str(text).map_err(|err| ApiResourcesError::Syntax(err.to_string()))?;
        let lists = match value {
            Value::Array(items) => items,
            Value::Object(ref map) if map.contains_key("items") => {
                map.get("items").and_then(Value::as_array).cloned().unwrap_or_default()
            }
            other => vec![other],
        };
        let mut scopes = Self::default();
        for (index, list) in lists.into_iter().enumerate() {
            let list: ResourceList = serde_path_to_error::deserialize(list)
                .map_err(|err| ApiResourcesError::Shape(format!("list {index}, at {}: {}", err.path(), err.inner())))?;
            let list_group = group_of(&list.group_version).to_string();
            for resource in list.resources.into_iter().filter(|r| !r.name.contains('/')) {
                let group = resource.group.unwrap_or_else(|| list_group.clone());
                scopes.insert(&group, &resource.kind, Scope::of_namespaced(resource.namespaced));
                scopes.plurals.insert((group, resource.kind), resource.name);
            }
        }
        Ok(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_scope_of_built_in_kinds_and_not_of_others() {
        assert_eq!(builtin("v1", "Namespace"), Some(Scope::Cluster));
        assert_eq!(builtin("rbac.authorization.k8s.io/v1", "ClusterRole"), Some(Scope::Cluster));
        assert_eq!(builtin("driftwarden.dev/v1alpha1", "RemediationCampaign"), Some(Scope::Cluster));
        for (api_version, kind) in [
            ("storage.k8s.io/v1", "VolumeAttributesClass"),
            ("resource.k8s.io/v1", "DeviceClass"),
            ("certificates.k8s.io/v1beta1", "ClusterTrustBundle"),
        ] {
            assert_eq!(builtin(api_version, kind), Some(Scope::Cluster), "{kind}");
        }
        assert_eq!(builtin("rbac.authorization.k8s.io/v1", "Role"), Some(Scope::Namespaced));
        assert_eq!(builtin("apps/v1", "Deployment"), Some(Scope::Namespaced));
        assert_eq!(builtin("monitoring.coreos.com/v1", "ServiceMonitor"), None, "unknown, not guessed");
        assert_eq!(group_of("v1"), "");
        assert_eq!(group_of("apps/v1"), "apps");
    }

    #[test]
    fn plurals_of_built_in_kinds_are_the_api_servers_and_others_are_never_guessed() {
        let scopes = Scopes::default();
        for (api_version, kind, plural) in [
            ("v1", "ConfigMap", "configmaps"),
            ("v1", "Endpoints", "endpoints"),
            ("v1", "ComponentStatus", "componentstatuses"),
            ("networking.k8s.io/v1", "Ingress", "ingresses"),
            ("networking.k8s.io/v1", "IngressClass", "ingressclasses"),
            ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
            ("storage.k8s.io/v1", "StorageClass", "storageclasses"),
            ("apps/v1", "Deployment", "deployments"),
            ("driftwarden.dev/v1alpha1", "DriftPolicy", "driftpolicies"),
        ] {
            assert_eq!(scopes.plural(api_version, kind).as_deref(), Some(plural), "{kind}");
        }
        assert_eq!(scopes.plural("example.com/v1", "Gateway"), None, "unknown, not guessed");
        let listed = Scopes::read_api_resources(
            r#"{"groupVersion": "example.com/v1", "resources": [{"name": "gatewaies", "kind": "Gateway", "namespaced": true}]}"#,
        )
        .unwrap();
        assert_eq!(listed.plural("example.com/v1", "Gateway").as_deref(), Some("gatewaies"), "as listed");
    }

    #[test]
    fn the_built_in_table_names_each_kind_once() {
        let mut seen = std::collections::HashSet::new();
        for (group, kind, _) in BUILTIN {
            assert!(seen.insert((group, kind)), "{group} {kind} twice");
        }
    }

    #[test]
    fn reads_kubectl_api_resources_output() {
        // As `kubectl api-resources -o json` prints it: one list, each resource with its group.
        let text = r#"{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "", "resources": [
            {"name": "configmaps", "namespaced": true, "version": "v1", "kind": "ConfigMap", "verbs": []},
            {"name": "widgets", "namespaced": false, "group": "example.com", "version": "v1", "kind": "Widget"},
            {"name": "gadgets", "namespaced": true, "group": "example.com", "version": "v1", "kind": "Gadget"}
        ]}"#;
        let scopes = Scopes::read_api_resources(text).unwrap();
        assert_eq!(scopes.len(), 3);
        assert_eq!(scopes.scope("example.com/v1", "Widget"), Some(Scope::Cluster));
        assert_eq!(scopes.scope("example.com/v1", "Gadget"), Some(Scope::Namespaced));
        assert_eq!(scopes.scope("apps/v1", "Deployment"), Some(Scope::Namespaced), "built in");
        assert_eq!(scopes.scope("example.com/v1", "Gizmo"), None);
    }

    #[test]
    fn reads_discovery_lists_and_skips_subresources() {
        let text = r#"[{"kind": "APIResourceList", "groupVersion": "example.com/v1", "resources": [
            {"name": "widgets", "namespaced": false, "kind": "Widget"},
            {"name": "widgets/status", "namespaced": true, "kind": "Widget"}
        ]}]"#;
        let scopes = Scopes::read_api_resources(text).unwrap();
        assert_eq!(scopes.scope("example.com/v1", "Widget"), Some(Scope::Cluster), "the subresource is skipped");
        let list = r#"{"kind": "List", "items": [{"groupVersion": "example.com/v1", "resources": []}]}"#;
        assert!(Scopes::read_api_resources(list).unwrap().is_empty());
    }

    #[test]
    fn a_document_that_is_not_an_api_resource_list_says_where_it_is_wrong() {
        let error = Scopes::read_api_resources("{]").unwrap_err();
        assert!(error.to_string().starts_with("is not JSON or YAML"), "{error}");
        let error =
            Scopes::read_api_resources(r#"{"resources": [{"name": "widgets", "kind": "Widget"}]}"#).unwrap_err();
        assert!(error.to_string().contains("list 0, at resources[0]: missing field `namespaced`"), "{error}");
    }
}
