//! One list call per kind, with the caller's credentials. Of Secrets only ServiceAccount
//! tokens are listed (field selector `type=kubernetes.io/service-account-token`), and only
//! their metadata: no other Secret, and no Secret's data, is ever received.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use crate::identity::Snapshot;
use crate::identity::snapshot::SERVICE_ACCOUNT_TOKEN_TYPE;

/// A list the inventory needs and could not make.
#[derive(Debug, thiserror::Error)]
#[error("cannot list {resource} (verb list, cluster-wide): {source}")]
pub struct ListError {
    /// The resource, as `kubectl` names it: `secrets`, `clusterrolebindings.rbac.authorization.k8s.io`.
    pub resource: String,
    #[source]
    pub source: kube::Error,
}

fn resource_name<K: Resource<DynamicType = ()>>() -> String {
    let group = K::group(&());
    if group.is_empty() { K::plural(&()).to_string() } else { format!("{}.{group}", K::plural(&())) }
}

async fn list<K>(client: &Client) -> Result<Vec<K>, ListError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    api.list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|source| ListError { resource: resource_name::<K>(), source })
}

/// Ingresses, or none when the cluster does not serve them.
async fn ingresses(client: &Client) -> Result<Vec<Ingress>, ListError> {
    match list::<Ingress>(client).await {
        Err(ListError { source: kube::Error::Api(status), .. }) if status.code == 404 => Ok(Vec::new()),
        other => other,
    }
}

/// Reads everything the identity analysis needs. Every list is cluster-wide; the first
/// one refused or failed is the error.
pub async fn snapshot(client: &Client) -> Result<Snapshot, ListError> {
    let mut out = Snapshot {
        namespaces: list::<Namespace>(client).await?,
        service_accounts: list::<ServiceAccount>(client).await?,
        roles: list::<Role>(client).await?,
        cluster_roles: list::<ClusterRole>(client).await?,
        role_bindings: list::<RoleBinding>(client).await?,
        cluster_role_bindings: list::<ClusterRoleBinding>(client).await?,
        pods: list::<Pod>(client).await?,
        deployments: list::<Deployment>(client).await?,
        stateful_sets: list::<StatefulSet>(client).await?,
        daemon_sets: list::<DaemonSet>(client).await?,
        replica_sets: list::<ReplicaSet>(client).await?,
        jobs: list::<Job>(client).await?,
        cron_jobs: list::<CronJob>(client).await?,
        services: list::<Service>(client).await?,
        ingresses: ingresses(client).await?,
        ..Snapshot::default()
    };
    let secrets = token_secrets(client).await?;
    out.add_secrets(&secrets);
    Ok(out)
}

/// The ServiceAccount token Secrets, metadata only (their type is what selected them).
async fn token_secrets(client: &Client) -> Result<Vec<Secret>, ListError> {
    let api: Api<Secret> = Api::all(client.clone());
    let params = ListParams::default().fields(&format!("type={SERVICE_ACCOUNT_TOKEN_TYPE}"));
    let listed =
        api.list_metadata(&params).await.map_err(|source| ListError { resource: resource_name::<Secret>(), source })?;
    Ok(listed
        .items
        .into_iter()
        .map(|partial| Secret {
            metadata: partial.metadata,
            type_: Some(SERVICE_ACCOUNT_TOKEN_TYPE.to_string()),
            ..Secret::default()
        })
        .collect())
}
