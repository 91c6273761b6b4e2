//! The cluster state an identity analysis reads: typed lists, as the API server returns
//! them. Secrets are kept as [`SecretInfo`]: metadata and type only, never their data.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The Secret type of a long-lived ServiceAccount token.
pub const SERVICE_ACCOUNT_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming the ServiceAccount a token Secret belongs to.
pub const SERVICE_ACCOUNT_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// The annotation `kubectl apply` writes; on a Secret it may hold the data, so it is dropped.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Everything the identity analysis reads. Build it from the lists the API server returns;
/// every list may be empty. Order does not matter: the analysis sorts what it reports.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub namespaces: Vec<Namespace>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Secrets without their data: see [`SecretInfo`].
    pub secrets: Vec<SecretInfo>,
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    pub pods: Vec<Pod>,
    pub deployments: Vec<Deployment>,
    pub stateful_sets: Vec<StatefulSet>,
    pub daemon_sets: Vec<DaemonSet>,
    pub replica_sets: Vec<ReplicaSet>,
    pub jobs: Vec<Job>,
    pub cron_jobs: Vec<CronJob>,
    pub services: Vec<Service>,
    pub ingresses: Vec<Ingress>,
}

impl Snapshot {
    /// Adds Secrets, keeping only what [`SecretInfo`] keeps.
    pub fn add_secrets<'a>(&mut self, secrets: impl IntoIterator<Item = &'a Secret>) {
        self.secrets.extend(secrets.into_iter().map(SecretInfo::from_secret));
    }
}

/// What the analysis keeps of a Secret: its name, namespace, uid, labels, annotations
/// (without `kubectl.kubernetes.io/last-applied-configuration`, which can hold the data),
/// creation time and type. The data and `stringData` are never copied, so no Secret value
/// can reach an inventory, a finding or an output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretInfo {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub created: Option<Time>,
    /// The Secret's `type`, for example `Opaque` or `kubernetes.io/service-account-token`.
    pub type_: String,
}

impl SecretInfo {
    /// The metadata and type of `secret`, without its data.
    pub fn from_secret(secret: &Secret) -> Self {
        let meta = &secret.metadata;
        let mut annotations = meta.annotations.clone().unwrap_or_default();
        annotations.remove(LAST_APPLIED_ANNOTATION);
        Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone(),
            labels: meta.labels.clone().unwrap_or_default(),
            annotations,
            created: meta.creation_timestamp.clone(),
            type_: secret.type_.clone().unwrap_or_else(|| "Opaque".to_string()),
        }
    }

    /// The ServiceAccount this Secret is a long-lived token of, if it is one.
    pub fn token_of(&self) -> Option<&str> {
        (self.type_ == SERVICE_ACCOUNT_TOKEN_TYPE)
            .then(|| self.annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION).map(String::as_str))
            .flatten()
    }
}

impl From<&Secret> for SecretInfo {
    fn from(secret: &Secret) -> Self {
        Self::from_secret(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_info_keeps_no_data_and_drops_the_last_applied_annotation() {
        let secret: Secret = serde_yaml::from_str(
            r#"
metadata:
  name: ci-token
  namespace: build
  annotations:
    kubernetes.io/service-account.name: ci
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"token":"hunter2"}}'
type: kubernetes.io/service-account-token
data:
  token: aHVudGVyMg==
"#,
        )
        .unwrap();
        let info = SecretInfo::from_secret(&secret);
        assert_eq!(info.token_of(), Some("ci"));
        assert!(!format!("{info:?}").contains("hunter2"));
        assert!(!format!("{info:?}").contains("aHVudGVyMg"));
        assert_eq!(info.annotations.len(), 1);
    }

    #[test]
    fn an_opaque_secret_is_no_token_even_when_annotated() {
        let secret: Secret = serde_yaml::from_str(
            "metadata: {name: s, namespace: a, annotations: {kubernetes.io/service-account.name: ci}}",
        )
        .unwrap();
        let info = SecretInfo::from_secret(&secret);
        assert_eq!(info.type_, "Opaque");
        assert_eq!(info.token_of(), None);
    }
}
