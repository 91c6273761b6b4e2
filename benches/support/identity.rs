//! The identity fixture the inventory benchmarks share: ServiceAccounts in 100 namespaces,
//! bindings of every shape (RoleBindings to Roles and ClusterRoles, ClusterRoleBindings,
//! group and user subjects), Roles, ClusterRoles (one aggregated), Deployments with their
//! ReplicaSets and Pods, Services and legacy token Secrets. Every object is whole
//! (`apiVersion`, `kind`, `metadata`), so it can be stored in a cluster or read into a
//! snapshot alike.

use serde_json::{Value, json};

/// The namespaces the objects spread over.
pub const NAMESPACES: usize = 100;

/// The plural resource of one of the fixture's kinds, as `(group, version, plural)`.
#[allow(dead_code)] // Only the commands bench stores the fixture in a cluster.
pub fn resource_of(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "Namespace" => ("", "v1", "namespaces"),
        "ServiceAccount" => ("", "v1", "serviceaccounts"),
        "Secret" => ("", "v1", "secrets"),
        "Pod" => ("", "v1", "pods"),
        "Service" => ("", "v1", "services"),
        "Role" => ("rbac.authorization.k8s.io", "v1", "roles"),
        "ClusterRole" => ("rbac.authorization.k8s.io", "v1", "clusterroles"),
        "RoleBinding" => ("rbac.authorization.k8s.io", "v1", "rolebindings"),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"),
        "Deployment" => ("apps", "v1", "deployments"),
        "ReplicaSet" => ("apps", "v1", "replicasets"),
        other => panic!("the identity fixture makes no {other}"),
    }
}

fn object(api_version: &str, kind: &str, mut body: Value) -> Value {
    body["apiVersion"] = json!(api_version);
    body["kind"] = json!(kind);
    body
}

fn namespace(i: usize) -> String {
    format!("team-{}", i % NAMESPACES)
}

const RBAC: &str = "rbac.authorization.k8s.io/v1";

/// Namespaces with their Roles, ClusterRoles (48 plain, one aggregated, cluster-admin).
fn roles() -> Vec<Value> {
    let mut out = Vec::new();
    let role_rules = [
        json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}),
        json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["tls"]}),
        json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "update"]}),
        json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}),
    ];
    for n in 0..NAMESPACES {
        out.push(object(
            "v1",
            "Namespace",
            json!({"metadata": {"name": namespace(n), "labels": {"team": format!("team-{n}")}}}),
        ));
        for (r, rule) in role_rules.iter().enumerate() {
            out.push(object(
                RBAC,
                "Role",
                json!({"metadata": {"name": format!("role-{r}"), "namespace": namespace(n)}, "rules": [rule]}),
            ));
        }
    }
    for c in 0..48 {
        let rule = match c % 4 {
            0 => json!({"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}),
            1 => json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}),
            2 => json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}),
            _ => json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}),
        };
        let aggregate = if c % 2 == 0 { "yes" } else { "no" };
        out.push(object(
            RBAC,
            "ClusterRole",
            json!({"metadata": {"name": format!("cluster-role-{c}"), "labels": {"aggregate": aggregate}}, "rules": [rule]}),
        ));
    }
    out.push(object(
        RBAC,
        "ClusterRole",
        json!({"metadata": {"name": "aggregated"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate": "yes"}}]}}),
    ));
    out.push(object(
        RBAC,
        "ClusterRole",
        json!({"metadata": {"name": "cluster-admin"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
    ));
    out
}

/// One binding of `accounts`' account `b % accounts`: every 50th to a group or a user, every
/// 100th a ClusterRoleBinding (every 1,000th to cluster-admin).
fn binding(b: usize, accounts: usize) -> Value {
    let a = b % accounts;
    let subject = match b % 50 {
        0 => json!({"kind": "Group", "name": format!("system:serviceaccounts:{}", namespace(a))}),
        1 => json!({"kind": "User", "name": format!("user-{}@example.com", b % 500)}),
        _ => json!({"kind": "ServiceAccount", "name": format!("sa-{a}"), "namespace": namespace(a)}),
    };
    let cluster_role =
        |name: String| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name});
    if b.is_multiple_of(100) {
        let role =
            if b.is_multiple_of(1000) { "cluster-admin".to_string() } else { format!("cluster-role-{}", b % 48) };
        return object(
            RBAC,
            "ClusterRoleBinding",
            json!({"metadata": {"name": format!("crb-{b}")}, "roleRef": cluster_role(role), "subjects": [subject]}),
        );
    }
    let role_ref = match b % 3 {
        0 => cluster_role("aggregated".to_string()),
        1 => cluster_role(format!("cluster-role-{}", b % 48)),
        _ => json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("role-{}", b % 4)}),
    };
    object(
        RBAC,
        "RoleBinding",
        json!({"metadata": {"name": format!("rb-{b}"), "namespace": namespace(a)}, "roleRef": role_ref, "subjects": [subject]}),
    )
}

/// Deployment `d`, its ReplicaSet and two Pods running as account `sa-{d}`; a Service for
/// every fifth (every tenth a LoadBalancer).
fn workload(d: usize) -> Vec<Value> {
    let labels = json!({"app": format!("app-{d}")});
    let template = json!({"metadata": {"labels": labels},
        "spec": {"serviceAccountName": format!("sa-{d}"), "containers": [{"name": "app", "image": "app:1"}]}});
    let owner = |kind: &str, name: String, uid: String| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}]);
    let mut out = vec![
        object(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": format!("app-{d}"), "namespace": namespace(d), "uid": format!("d{d}")},
                "spec": {"selector": {"matchLabels": labels}, "template": template}}),
        ),
        object(
            "apps/v1",
            "ReplicaSet",
            json!({"metadata": {"name": format!("app-{d}-1"), "namespace": namespace(d), "uid": format!("r{d}"),
                    "ownerReferences": owner("Deployment", format!("app-{d}"), format!("d{d}"))},
                "spec": {"selector": {"matchLabels": labels}, "template": template}}),
        ),
    ];
    for p in 0..2 {
        out.push(object(
            "v1",
            "Pod",
            json!({"metadata": {"name": format!("app-{d}-1-{p}"), "namespace": namespace(d), "labels": labels,
                    "ownerReferences": owner("ReplicaSet", format!("app-{d}-1"), format!("r{d}"))},
                "spec": template["spec"], "status": {"phase": "Running"}}),
        ));
    }
    if d.is_multiple_of(5) {
        let kind = if d.is_multiple_of(10) { "LoadBalancer" } else { "ClusterIP" };
        out.push(object(
            "v1",
            "Service",
            json!({"metadata": {"name": format!("app-{d}"), "namespace": namespace(d)},
                "spec": {"type": kind, "selector": labels, "ports": [{"port": 80}]}}),
        ));
    }
    out
}

/// Every object of the fixture for `accounts` ServiceAccounts and `bindings` bindings; half
/// as many Deployments as accounts, and a legacy token Secret for every fifth account.
pub fn objects(accounts: usize, bindings: usize) -> Vec<Value> {
    let mut out = roles();
    for a in 0..accounts {
        out.push(object(
            "v1",
            "ServiceAccount",
            json!({"metadata": {"name": format!("sa-{a}"), "namespace": namespace(a)}}),
        ));
    }
    out.extend((0..bindings).map(|b| binding(b, accounts)));
    out.extend((0..accounts / 2).flat_map(workload));
    for t in 0..accounts / 5 {
        out.push(object(
            "v1",
            "Secret",
            json!({"metadata": {"name": format!("sa-{t}-token"), "namespace": namespace(t),
                    "creationTimestamp": "2025-01-01T00:00:00Z",
                    "annotations": {"kubernetes.io/service-account.name": format!("sa-{t}")}},
                "type": "kubernetes.io/service-account-token", "data": {"token": "dG9rZW4="}}),
        ));
    }
    out
}
