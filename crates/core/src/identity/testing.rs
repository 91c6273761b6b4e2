//! Test fixtures: a [`Snapshot`] from a multi-document YAML string, each document sorted
//! into its list by `kind`.

use serde::Deserialize;
use serde_json::Value;

use super::snapshot::Snapshot;

fn typed<T: serde::de::DeserializeOwned>(doc: Value) -> T {
    serde_json::from_value(doc).expect("fixture document has the shape of its kind")
}

/// The snapshot of the objects in `yaml`.
pub fn snapshot(yaml: &str) -> Snapshot {
    let mut out = Snapshot::default();
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let doc = Value::deserialize(document).expect("fixture is valid YAML");
        if doc.is_null() {
            continue;
        }
        match doc["kind"].as_str().expect("fixture document has a kind") {
            "Namespace" => out.namespaces.push(typed(doc)),
            "ServiceAccount" => out.service_accounts.push(typed(doc)),
            "Secret" => out.add_secrets([&typed(doc)]),
            "Role" => out.roles.push(typed(doc)),
            "ClusterRole" => out.cluster_roles.push(typed(doc)),
            "RoleBinding" => out.role_bindings.push(typed(doc)),
            "ClusterRoleBinding" => out.cluster_role_bindings.push(typed(doc)),
            "Pod" => out.pods.push(typed(doc)),
            "Deployment" => out.deployments.push(typed(doc)),
            "StatefulSet" => out.stateful_sets.push(typed(doc)),
            "DaemonSet" => out.daemon_sets.push(typed(doc)),
            "ReplicaSet" => out.replica_sets.push(typed(doc)),
            "Job" => out.jobs.push(typed(doc)),
            "CronJob" => out.cron_jobs.push(typed(doc)),
            "Service" => out.services.push(typed(doc)),
            "Ingress" => out.ingresses.push(typed(doc)),
            other => panic!("fixture kind {other} is not part of a snapshot"),
        }
    }
    out
}
