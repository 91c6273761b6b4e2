//! How lists are merged: which lists are keyed maps (and by which fields), which are sets
//! and which are atomic, for the kinds the engine knows.
//!
//! # Where the table comes from
//! The source of truth is the Kubernetes API's own list-type markers, published in the
//! OpenAPI v3 documents of the API server as `x-kubernetes-list-type` and
//! `x-kubernetes-list-map-keys` (`+listType`/`+listMapKey` in `k8s.io/api` `types.go`),
//! which server-side apply follows. Where a list also has a strategic-merge
//! `x-kubernetes-patch-merge-key`, the first list-map key is that key; the table holds
//! the full key that server-side apply uses:
//! - core/v1 PodSpec: `containers`, `initContainers`, `ephemeralContainers`, `volumes`,
//!   `imagePullSecrets`, `resourceClaims`, `schedulingGates` by `name`; `hostAliases` by
//!   `ip`; `topologySpreadConstraints` by `topologyKey` + `whenUnsatisfiable`;
//!   `tolerations` and `readinessGates` atomic; `nodeSelector` an atomic map.
//! - core/v1 Container: `env` by `name`; `ports` by `containerPort` + `protocol` (the
//!   patch merge key is `containerPort` alone); `volumeMounts` by `mountPath`;
//!   `volumeDevices` by `devicePath`; `resources.claims` by `name`; `args`, `command`,
//!   `envFrom`, `resizePolicy` atomic.
//! - core/v1 ServiceSpec: `ports` by `port` + `protocol`; `selector` an atomic map;
//!   `clusterIPs`, `externalIPs`, `ipFamilies`, `loadBalancerSourceRanges` atomic.
//! - core/v1 ServiceAccount: `secrets` by `name`; `imagePullSecrets` atomic.
//! - meta/v1 ObjectMeta: `ownerReferences` by `uid`; `finalizers` a set;
//!   `managedFields` atomic. meta/v1 LabelSelector is an atomic structure.
//! - Conditions in `status` by `type`.
//! - apps/v1 StatefulSetSpec `volumeClaimTemplates`: atomic for server-side apply (the
//!   items have no scalar key; strategic merge patch keys them by `metadata.name`).
//! - rbac/v1: Role and ClusterRole `rules`, binding `subjects`, and every list in a
//!   PolicyRule are atomic.
//! - networking/v1 NetworkPolicySpec: `ingress`, `egress`, `policyTypes` and every list
//!   inside a rule atomic.
//! - Every other list, in particular of custom resources without list-type extensions, is
//!   atomic, as the API server treats it.
//!
//! The tests below check the list types and first keys against the merge strategies that
//! `k8s-openapi` generates from the same OpenAPI documents.

use crate::engine::kind::Kind;
use crate::engine::pointer;
pub use crate::engine::schema::ListType;
use crate::engine::schema::{self, Field, Position};

/// How the list at `path` is merged in objects of `group` and `kind`. `path` is the
/// unescaped tokens from the root to the list field; items of lists on the way are
/// addressed by any token (`name=app`, `*`, `0`), so pod templates nested in any workload
/// resolve: `["spec", "jobTemplate", "spec", "template", "spec", "containers", "*", "env"]`
/// for the env of a CronJob's containers. A path that does not lead to a known list is
/// [`ListType::Atomic`].
pub fn list_type<S: AsRef<str>>(group: &str, kind: &str, path: &[S]) -> ListType {
    match schema::resolve(Kind::resolve(group, kind), path) {
        Position::Field(Field::List { list_type, .. }) => *list_type,
        _ => ListType::Atomic,
    }
}

/// [`list_type`] for an `apiVersion` (`apps/v1`, `v1`) and a JSON pointer such as
/// `/spec/template/spec/containers/name=app/ports`.
pub fn list_type_at(api_version: &str, kind: &str, pointer: &str) -> ListType {
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    list_type(group, kind, &pointer::split(pointer))
}

/// Whether the map or structure at `path` is replaced whole rather than merged field by
/// field (`x-kubernetes-map-type: atomic` or `x-kubernetes-struct-type: atomic`), like
/// `spec.selector` of a Deployment or a Service.
pub fn is_atomic_map<S: AsRef<str>>(group: &str, kind: &str, path: &[S]) -> bool {
    match schema::resolve(Kind::resolve(group, kind), path) {
        Position::Field(Field::Struct(node)) => node.atomic,
        Position::Field(Field::Map { atomic, .. }) => *atomic,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::DeepMerge;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    const POD_SPEC_IN: [(&str, &str, &[&str]); 7] = [
        ("", "Pod", &["spec"]),
        ("apps", "Deployment", &["spec", "template", "spec"]),
        ("apps", "StatefulSet", &["spec", "template", "spec"]),
        ("apps", "DaemonSet", &["spec", "template", "spec"]),
        ("apps", "ReplicaSet", &["spec", "template", "spec"]),
        ("batch", "Job", &["spec", "template", "spec"]),
        ("batch", "CronJob", &["spec", "jobTemplate", "spec", "template", "spec"]),
    ];

    fn under<'a>(prefix: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        prefix.iter().chain(rest).copied().collect()
    }

    #[test]
    fn pod_spec_lists_resolve_in_every_workload() {
        for (group, kind, prefix) in POD_SPEC_IN {
            let at = |rest: &[&str]| list_type(group, kind, &under(prefix, rest));
            assert_eq!(at(&["containers"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["initContainers"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["ephemeralContainers"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["containers", "name=app", "env"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["containers", "*", "ports"]), ListType::Map(&["containerPort", "protocol"]), "{kind}");
            assert_eq!(at(&["initContainers", "0", "volumeMounts"]), ListType::Map(&["mountPath"]), "{kind}");
            assert_eq!(at(&["containers", "*", "volumeDevices"]), ListType::Map(&["devicePath"]), "{kind}");
            assert_eq!(at(&["containers", "*", "resources", "claims"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["containers", "*", "args"]), ListType::Atomic, "{kind}");
            assert_eq!(at(&["volumes"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["imagePullSecrets"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["tolerations"]), ListType::Atomic, "{kind}");
            assert_eq!(at(&["hostAliases"]), ListType::Map(&["ip"]), "{kind}");
            assert_eq!(
                at(&["topologySpreadConstraints"]),
                ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
                "{kind}"
            );
            assert_eq!(at(&["resourceClaims"]), ListType::Map(&["name"]), "{kind}");
            assert_eq!(at(&["schedulingGates"]), ListType::Map(&["name"]), "{kind}");
        }
    }

    #[test]
    fn other_kinds_and_metadata() {
        assert_eq!(list_type_at("v1", "Service", "/spec/ports"), ListType::Map(&["port", "protocol"]));
        assert_eq!(list_type_at("v1", "Service", "/spec/clusterIPs"), ListType::Atomic);
        assert_eq!(list_type_at("v1", "ServiceAccount", "/secrets"), ListType::Map(&["name"]));
        assert_eq!(list_type_at("v1", "ConfigMap", "/metadata/ownerReferences"), ListType::Map(&["uid"]));
        assert_eq!(list_type_at("example.com/v1", "Widget", "/metadata/finalizers"), ListType::Set);
        assert_eq!(list_type_at("example.com/v1", "Widget", "/spec/items"), ListType::Atomic);
        assert_eq!(list_type_at("apps/v1", "Deployment", "/status/conditions"), ListType::Map(&["type"]));
        assert_eq!(list_type_at("rbac.authorization.k8s.io/v1", "ClusterRole", "/rules"), ListType::Atomic);
        assert_eq!(list_type_at("rbac.authorization.k8s.io/v1", "RoleBinding", "/subjects"), ListType::Atomic);
        assert_eq!(list_type_at("networking.k8s.io/v1", "NetworkPolicy", "/spec/ingress"), ListType::Atomic);
        assert_eq!(list_type_at("networking.k8s.io/v1", "NetworkPolicy", "/spec/egress"), ListType::Atomic);
        assert_eq!(list_type_at("apps/v1", "StatefulSet", "/spec/volumeClaimTemplates"), ListType::Atomic);
        assert_eq!(list_type_at("apps/v1", "Deployment", "/spec/template/spec/containers/name=app"), ListType::Atomic);
    }

    #[test]
    fn atomic_maps_and_structures() {
        assert!(is_atomic_map("apps", "Deployment", &["spec", "selector"]));
        assert!(is_atomic_map("", "Service", &["spec", "selector"]));
        assert!(is_atomic_map("apps", "Deployment", &["spec", "template", "spec", "nodeSelector"]));
        assert!(!is_atomic_map("apps", "Deployment", &["spec", "template", "metadata", "labels"]));
        assert!(!is_atomic_map("apps", "Deployment", &["spec", "template", "spec", "containers", "*", "resources"]));
    }

    /// How many items a list has after k8s-openapi's generated merge of two objects that
    /// each hold one item: 2 for keyed lists and sets with different items, 1 for atomic
    /// lists (the second replaces the first) and for keyed lists with equal keys.
    fn merged_items<T: DeepMerge + DeserializeOwned + Serialize>(field: &str, first: Value, second: Value) -> usize {
        let mut merged: T = serde_json::from_value(json!({ field: [first] })).unwrap();
        merged.merge_from(serde_json::from_value(json!({ field: [second] })).unwrap());
        serde_json::to_value(merged).unwrap()[field].as_array().map_or(0, Vec::len)
    }

    /// Checks one list of the table against k8s-openapi: the list type, and for keyed
    /// lists that two items that agree on the first key merge into one.
    fn agrees<T: DeepMerge + DeserializeOwned + Serialize>(table: ListType, field: &str, a: Value, b: Value) {
        let different = merged_items::<T>(field, a.clone(), b.clone());
        match table {
            ListType::Atomic => assert_eq!(different, 1, "{field} is atomic in k8s-openapi"),
            ListType::Set => assert_eq!(different, 2, "{field} is a set in k8s-openapi"),
            ListType::Map(keys) => {
                assert_eq!(different, 2, "{field} is keyed in k8s-openapi");
                let mut same_first_key = b;
                same_first_key[keys[0]] = a[keys[0]].clone();
                assert_eq!(merged_items::<T>(field, a, same_first_key), 1, "{field} is keyed by {}", keys[0]);
            }
        }
    }

    #[test]
    fn table_agrees_with_k8s_openapi_merge_strategies() {
        use k8s_openapi::api::core::v1::{Container, PodSpec, ServiceAccount, ServiceSpec};
        use k8s_openapi::api::networking::v1::NetworkPolicySpec;
        use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

        let pod = |rest: &[&str]| list_type("apps", "Deployment", &under(&["spec", "template", "spec"], rest));
        let named = |name: &str| json!({"name": name, "image": name});
        agrees::<PodSpec>(pod(&["containers"]), "containers", named("a"), named("b"));
        agrees::<PodSpec>(pod(&["initContainers"]), "initContainers", named("a"), named("b"));
        agrees::<PodSpec>(pod(&["volumes"]), "volumes", json!({"name": "a"}), json!({"name": "b", "emptyDir": {}}));
        agrees::<PodSpec>(pod(&["imagePullSecrets"]), "imagePullSecrets", json!({"name": "a"}), json!({"name": "b"}));
        agrees::<PodSpec>(pod(&["hostAliases"]), "hostAliases", json!({"ip": "10.0.0.1"}), json!({"ip": "10.0.0.2"}));
        agrees::<PodSpec>(pod(&["tolerations"]), "tolerations", json!({"key": "a"}), json!({"key": "b"}));
        agrees::<PodSpec>(
            pod(&["readinessGates"]),
            "readinessGates",
            json!({"conditionType": "a"}),
            json!({"conditionType": "b"}),
        );
        agrees::<PodSpec>(
            pod(&["topologySpreadConstraints"]),
            "topologySpreadConstraints",
            json!({"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}),
            json!({"topologyKey": "host", "maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}),
        );
        agrees::<PodSpec>(pod(&["schedulingGates"]), "schedulingGates", json!({"name": "a"}), json!({"name": "b"}));
        agrees::<PodSpec>(pod(&["resourceClaims"]), "resourceClaims", json!({"name": "a"}), json!({"name": "b"}));

        let container = |field: &str| pod(&["containers", "*", field]);
        agrees::<Container>(container("env"), "env", json!({"name": "A", "value": "1"}), json!({"name": "B"}));
        agrees::<Container>(
            container("ports"),
            "ports",
            json!({"containerPort": 80, "protocol": "TCP"}),
            json!({"containerPort": 81, "protocol": "UDP"}),
        );
        agrees::<Container>(
            container("volumeMounts"),
            "volumeMounts",
            json!({"name": "a", "mountPath": "/a"}),
            json!({"name": "b", "mountPath": "/b"}),
        );
        agrees::<Container>(
            container("volumeDevices"),
            "volumeDevices",
            json!({"name": "a", "devicePath": "/a"}),
            json!({"name": "b", "devicePath": "/b"}),
        );
        agrees::<Container>(container("envFrom"), "envFrom", json!({"prefix": "a"}), json!({"prefix": "b"}));
        agrees::<Container>(container("args"), "args", json!("a"), json!("b"));

        agrees::<ServiceSpec>(
            list_type_at("v1", "Service", "/spec/ports"),
            "ports",
            json!({"port": 80, "protocol": "TCP"}),
            json!({"port": 81, "protocol": "UDP"}),
        );
        agrees::<ServiceSpec>(list_type_at("v1", "Service", "/spec/clusterIPs"), "clusterIPs", json!("a"), json!("b"));
        agrees::<ServiceAccount>(
            list_type_at("v1", "ServiceAccount", "/secrets"),
            "secrets",
            json!({"name": "a"}),
            json!({"name": "b"}),
        );
        agrees::<ServiceAccount>(
            list_type_at("v1", "ServiceAccount", "/imagePullSecrets"),
            "imagePullSecrets",
            json!({"name": "a"}),
            json!({"name": "b"}),
        );
        agrees::<ObjectMeta>(
            list_type_at("v1", "ConfigMap", "/metadata/ownerReferences"),
            "ownerReferences",
            json!({"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1"}),
            json!({"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2"}),
        );
        agrees::<ObjectMeta>(
            list_type_at("v1", "ConfigMap", "/metadata/finalizers"),
            "finalizers",
            json!("a"),
            json!("b"),
        );
        let rbac = "rbac.authorization.k8s.io/v1";
        agrees::<Role>(
            list_type_at(rbac, "Role", "/rules"),
            "rules",
            json!({"verbs": ["get"]}),
            json!({"verbs": ["list"]}),
        );
        agrees::<RoleBinding>(
            list_type_at(rbac, "RoleBinding", "/subjects"),
            "subjects",
            json!({"kind": "User", "name": "a"}),
            json!({"kind": "User", "name": "b"}),
        );
        let np = "networking.k8s.io/v1";
        agrees::<NetworkPolicySpec>(
            list_type_at(np, "NetworkPolicy", "/spec/ingress"),
            "ingress",
            json!({}),
            json!({"ports": []}),
        );
        agrees::<NetworkPolicySpec>(
            list_type_at(np, "NetworkPolicy", "/spec/egress"),
            "egress",
            json!({}),
            json!({"ports": []}),
        );
    }
}
