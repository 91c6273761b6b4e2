//! What an object is: its API group, version and kind, and the kinds the engine knows by
//! name (their list merge keys, defaults, immutable fields and pod templates).

use serde_json::Value;

/// The group, version and kind of an object, borrowed from its `apiVersion` and `kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectKind<'a> {
    /// The API group, empty for the core group (`v1`).
    pub group: &'a str,
    /// The API version within the group, for example `v1`.
    pub version: &'a str,
    /// The kind, for example `Deployment`.
    pub kind: &'a str,
    /// The kind, when the engine knows it.
    pub known: Kind,
}

impl<'a> ObjectKind<'a> {
    /// The kind named by an `apiVersion` (`apps/v1`, or `v1` for the core group) and a
    /// `kind`.
    pub fn new(api_version: &'a str, kind: &'a str) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        Self { group, version, kind, known: Kind::resolve(group, kind) }
    }

    /// The kind of an object, from its `apiVersion` and `kind`; `None` when either is
    /// missing.
    pub fn of(object: &'a Value) -> Option<Self> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        Some(Self::new(api_version, kind))
    }
}

/// The kinds the engine knows by name. Every other kind is [`Kind::Other`]: it is still
/// compared, with granular maps and atomic lists (what the API server does for a schema
/// without list-type extensions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    // core/v1
    Pod,
    PodTemplate,
    ReplicationController,
    Service,
    ServiceAccount,
    ConfigMap,
    Secret,
    Namespace,
    PersistentVolumeClaim,
    ResourceQuota,
    // apps/v1
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    // batch/v1
    Job,
    CronJob,
    // rbac.authorization.k8s.io/v1
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    // networking.k8s.io/v1
    NetworkPolicy,
    Ingress,
    // policy/v1
    PodDisruptionBudget,
    // storage.k8s.io/v1
    StorageClass,
    /// Any other kind, custom resources included.
    #[default]
    Other,
}

impl Kind {
    /// The known kind of `group` and `kind`. The version is not needed: the kinds listed
    /// here have one served version whose list types and defaults the engine follows.
    pub fn resolve(group: &str, kind: &str) -> Kind {
        match (group, kind) {
            ("", "Pod") => Kind::Pod,
            ("", "PodTemplate") => Kind::PodTemplate,
            ("", "ReplicationController") => Kind::ReplicationController,
            ("", "Service") => Kind::Service,
            ("", "ServiceAccount") => Kind::ServiceAccount,
            ("", "ConfigMap") => Kind::ConfigMap,
            ("", "Secret") => Kind::Secret,
            ("", "Namespace") => Kind::Namespace,
            ("", "PersistentVolumeClaim") => Kind::PersistentVolumeClaim,
            ("", "ResourceQuota") => Kind::ResourceQuota,
            ("apps", "Deployment") => Kind::Deployment,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps", "DaemonSet") => Kind::DaemonSet,
            ("apps", "ReplicaSet") => Kind::ReplicaSet,
            ("batch", "Job") => Kind::Job,
            ("batch", "CronJob") => Kind::CronJob,
            ("rbac.authorization.k8s.io", "Role") => Kind::Role,
            ("rbac.authorization.k8s.io", "ClusterRole") => Kind::ClusterRole,
            ("rbac.authorization.k8s.io", "RoleBinding") => Kind::RoleBinding,
            ("rbac.authorization.k8s.io", "ClusterRoleBinding") => Kind::ClusterRoleBinding,
            ("networking.k8s.io", "NetworkPolicy") => Kind::NetworkPolicy,
            ("networking.k8s.io", "Ingress") => Kind::Ingress,
            ("policy", "PodDisruptionBudget") => Kind::PodDisruptionBudget,
            ("storage.k8s.io", "StorageClass") => Kind::StorageClass,
            _ => Kind::Other,
        }
    }

    /// Where the pod template of a workload is, for the kinds that have one.
    pub fn pod_template_path(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::Deployment
            | Kind::StatefulSet
            | Kind::DaemonSet
            | Kind::ReplicaSet
            | Kind::ReplicationController
            | Kind::Job => Some(&["spec", "template"]),
            Kind::CronJob => Some(&["spec", "jobTemplate", "spec", "template"]),
            Kind::PodTemplate => Some(&["template"]),
            _ => None,
        }
    }

    /// Where the pod spec is: in the pod template of a workload, or the `spec` of a Pod.
    pub fn pod_spec_path(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::Pod => Some(&["spec"]),
            Kind::Deployment
            | Kind::StatefulSet
            | Kind::DaemonSet
            | Kind::ReplicaSet
            | Kind::ReplicationController
            | Kind::Job => Some(&["spec", "template", "spec"]),
            Kind::CronJob => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
            Kind::PodTemplate => Some(&["template", "spec"]),
            _ => None,
        }
    }

    /// Whether objects of this kind grant or carry access: RBAC objects and
    /// ServiceAccounts.
    pub fn is_access_kind(self) -> bool {
        matches!(
            self,
            Kind::Role | Kind::ClusterRole | Kind::RoleBinding | Kind::ClusterRoleBinding | Kind::ServiceAccount
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_api_version_into_group_and_version() {
        let kind = ObjectKind::new("apps/v1", "Deployment");
        assert_eq!((kind.group, kind.version, kind.kind, kind.known), ("apps", "v1", "Deployment", Kind::Deployment));
        let core = ObjectKind::new("v1", "Secret");
        assert_eq!((core.group, core.version, core.known), ("", "v1", Kind::Secret));
        let custom = ObjectKind::new("example.com/v1beta1", "Widget");
        assert_eq!(custom.known, Kind::Other);
    }

    #[test]
    fn reads_the_kind_of_an_object() {
        let object = json!({"apiVersion": "batch/v1", "kind": "CronJob"});
        assert_eq!(ObjectKind::of(&object).map(|k| k.known), Some(Kind::CronJob));
        assert_eq!(ObjectKind::of(&json!({"kind": "Pod"})), None);
    }

    #[test]
    fn knows_where_pod_specs_are() {
        assert_eq!(Kind::CronJob.pod_spec_path(), Some(&["spec", "jobTemplate", "spec", "template", "spec"][..]));
        assert_eq!(Kind::Pod.pod_spec_path(), Some(&["spec"][..]));
        assert_eq!(Kind::Pod.pod_template_path(), None);
        assert_eq!(Kind::Service.pod_spec_path(), None);
    }
}
