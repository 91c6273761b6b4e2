//! The inventory and the controls over one realistic cluster, written as YAML.

use jiff::Timestamp;

use super::controls::{ControlError, ControlFix, run_control};
use super::inventory::{Inventory, InventoryOptions};
use super::privileges::{GrantScope, Privilege};
use super::rbac::SubjectKey;
use super::testing::snapshot;
use crate::api::campaign::{CheckControl, CheckName};
use crate::api::finding::Severity;

const CLUSTER: &str = r#"
kind: Namespace
metadata: {name: shop, labels: {team: shop-team}}
---
kind: Namespace
metadata: {name: build}
---
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
kind: ServiceAccount
metadata: {name: deployer, namespace: build, labels: {driftwarden.dev/owner: ci-team}}
---
kind: ServiceAccount
metadata: {name: old-admin, namespace: build}
---
kind: ServiceAccount
metadata: {name: reader, namespace: shop}
automountServiceAccountToken: false
---
kind: ServiceAccount
metadata: {name: default, namespace: shop}
---
kind: Secret
metadata:
  name: deployer-token
  namespace: build
  creationTimestamp: "2025-01-01T00:00:00Z"
  annotations: {kubernetes.io/service-account.name: deployer}
  labels: {kubernetes.io/legacy-token-last-used: "2026-05-20"}
type: kubernetes.io/service-account-token
data: {token: c2VjcmV0}
---
kind: Secret
metadata:
  name: payment-key
  namespace: shop
  creationTimestamp: "2025-01-01T00:00:00Z"
  annotations: {driftwarden.dev/rotated-at: "2026-05-01T00:00:00Z"}
type: Opaque
---
kind: Secret
metadata: {name: db-password, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
type: Opaque
---
kind: Secret
metadata: {name: sh.helm.release.v1.shop.v1, namespace: shop, creationTimestamp: "2020-01-01T00:00:00Z"}
type: helm.sh/release.v1
---
kind: ClusterRole
metadata: {name: cluster-admin, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
- {nonResourceURLs: ["*"], verbs: ["*"]}
---
kind: ClusterRoleBinding
metadata: {name: cluster-admin, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:masters"}]
---
kind: ClusterRoleBinding
metadata: {name: web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]
---
kind: ClusterRoleBinding
metadata: {name: legacy-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: old-admin, namespace: build}]
---
kind: ClusterRole
metadata: {name: ops-monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {ops.example.com/aggregate-to-monitoring: "true"}}]
---
kind: ClusterRole
metadata: {name: secret-peek, labels: {ops.example.com/aggregate-to-monitoring: "true"}}
rules: [{apiGroups: [""], resources: [secrets], verbs: [list, watch]}]
---
kind: ClusterRoleBinding
metadata: {name: oncall-monitoring}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ops-monitoring}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: oncall}]
---
kind: ClusterRole
metadata: {name: deploy-anything}
rules:
- {apiGroups: [apps, batch], resources: ["*"], verbs: [create, update, patch]}
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
kind: RoleBinding
metadata: {name: deployer, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deploy-anything}
subjects: [{kind: ServiceAccount, name: deployer, namespace: build}]
---
kind: Role
metadata: {name: tls-reader, namespace: shop}
rules: [{apiGroups: [""], resources: [secrets], resourceNames: [web-tls], verbs: [get]}]
---
kind: RoleBinding
metadata: {name: all-shop-accounts-tls, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: tls-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:serviceaccounts:shop"}]
---
kind: RoleBinding
metadata: {name: ghost, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: removed-role}
subjects: [{kind: User, name: alice@example.com}]
---
kind: Deployment
metadata: {name: web, namespace: shop, uid: w1, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web, containers: [{name: web, image: web}]}
status: {replicas: 2}
---
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443}]}
---
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec: {serviceAccountName: reader, restartPolicy: Never, containers: [{name: r, image: r}]}
"#;

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

fn inventory() -> Inventory {
    Inventory::build(&snapshot(CLUSTER), &InventoryOptions::default(), now())
}

fn check(name: CheckName, parameters: &[(&str, &str)]) -> CheckControl {
    CheckControl { name, parameters: parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn assets(name: CheckName, parameters: &[(&str, &str)]) -> Vec<(String, Severity, bool)> {
    run_control(&check(name, parameters), &snapshot(CLUSTER), now())
        .unwrap()
        .into_iter()
        .map(|f| (f.asset.to_string(), f.severity, f.fix.is_automatic()))
        .collect()
}

#[test]
fn accounts_are_ranked_by_risk_with_the_grants_that_explain_it() {
    let inventory = inventory();
    let order: Vec<String> = inventory.accounts.iter().map(|a| a.account.to_string()).collect();
    assert_eq!(
        order,
        [
            "ServiceAccount shop/web",
            "ServiceAccount build/deployer",
            "ServiceAccount build/old-admin",
            "ServiceAccount shop/reader",
            "ServiceAccount shop/default",
        ]
    );
    let web = &inventory.accounts[0];
    assert_eq!(web.risk.severity, Severity::Critical);
    assert!(web.internet_facing() && web.running() && web.token_mounted());
    assert_eq!(web.owner.team, "shop-team", "from the namespace");
    let admin = web.grants.iter().find(|g| g.privilege == Privilege::ClusterAdmin).unwrap();
    assert_eq!((admin.binding.name.as_str(), admin.role.name.as_str()), ("web-admin", "cluster-admin"));
    let old = inventory.account("build", "old-admin").unwrap();
    assert_eq!(old.risk.severity, Severity::High);
    assert!(web.risk.score > old.risk.score, "an exposed cluster-admin outranks an unused one");
    assert!(old.owner.is_unowned());
}

#[test]
fn a_role_binding_to_a_cluster_role_grants_in_its_namespace_only() {
    let inventory = inventory();
    let deployer = inventory.account("build", "deployer").unwrap();
    assert_eq!(deployer.owner.team, "ci-team");
    assert_eq!(
        deployer.privileges,
        [Privilege::PodExec, Privilege::WorkloadCreate, Privilege::WorkloadModify, Privilege::WildcardResources]
    );
    assert!(deployer.grants.iter().all(|g| g.scope == GrantScope::Namespace("shop".into())));
    assert_eq!(deployer.legacy_tokens.len(), 1);
    assert_eq!((deployer.risk.score, deployer.risk.severity), (65, Severity::High), "{:?}", deployer.risk.reasons);
    let token = &deployer.legacy_tokens[0];
    assert_eq!((token.age_days, token.last_used.map(|d| d.to_string())), (Some(516), Some("2026-05-20".into())));
}

#[test]
fn group_subjects_reach_every_account_of_the_namespace_and_resource_names_narrow() {
    let inventory = inventory();
    for name in ["web", "reader", "default"] {
        let account = inventory.account("shop", name).unwrap();
        let tls = account.grants.iter().find(|g| g.binding.name == "all-shop-accounts-tls").unwrap();
        assert_eq!(tls.via, "Group system:serviceaccounts:shop");
        assert_eq!(tls.resource_names, ["web-tls"]);
        assert!(tls.is_narrowed());
    }
    assert!(
        inventory
            .account("build", "deployer")
            .unwrap()
            .grants
            .iter()
            .all(|g| g.binding.name != "all-shop-accounts-tls")
    );
}

#[test]
fn human_subjects_get_the_same_analysis_through_aggregated_roles() {
    let inventory = inventory();
    let oncall = inventory.subjects.iter().find(|s| s.subject == SubjectKey::Group { name: "oncall".into() }).unwrap();
    assert_eq!(oncall.privileges, [Privilege::ReadSecrets]);
    assert_eq!(oncall.grants[0].role.name, "ops-monitoring");
    assert_eq!(oncall.risk.score, 40);
    let masters = &inventory.subjects[0];
    assert_eq!(masters.subject, SubjectKey::Group { name: "system:masters".into() });
}

#[test]
fn bindings_to_missing_roles_are_reported_and_grant_nothing() {
    let inventory = inventory();
    assert_eq!(inventory.dangling_bindings.len(), 1);
    let ghost = &inventory.dangling_bindings[0];
    assert_eq!((ghost.binding.name.as_str(), ghost.role.name.as_str()), ("ghost", "removed-role"));
    assert_eq!(ghost.subjects, ["User alice@example.com"]);
    assert!(!inventory.subjects.iter().any(|s| s.subject == SubjectKey::User { name: "alice@example.com".into() }));
}

#[test]
fn the_inventory_is_deterministic_and_json_has_no_secret_data() {
    let json = serde_json::to_string(&inventory()).unwrap();
    assert_eq!(json, serde_json::to_string(&inventory()).unwrap());
    assert!(!json.contains("c2VjcmV0"));
}

#[test]
fn automount_is_automatic_only_where_no_workload_relies_on_the_account() {
    assert_eq!(
        assets(CheckName::ServiceAccountTokenAutomount, &[]),
        [
            ("Deployment shop/web".to_string(), Severity::Critical, false),
            ("ServiceAccount build/deployer".to_string(), Severity::High, true),
            ("ServiceAccount build/old-admin".to_string(), Severity::High, true),
            ("ServiceAccount shop/default".to_string(), Severity::Low, true),
        ]
    );
    let findings =
        run_control(&check(CheckName::ServiceAccountTokenAutomount, &[]), &snapshot(CLUSTER), now()).unwrap();
    let ControlFix::Automatic { apply, .. } = &findings[1].fix else { panic!("automatic") };
    assert_eq!(
        apply,
        &serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "deployer", "namespace": "build"}, "automountServiceAccountToken": false})
    );
}

#[test]
fn an_account_becomes_automatic_once_its_workloads_set_their_own_value() {
    let fixed = CLUSTER.replace(
        "spec: {serviceAccountName: web, containers",
        "spec: {serviceAccountName: web, automountServiceAccountToken: true, containers",
    );
    let found = run_control(&check(CheckName::ServiceAccountTokenAutomount, &[]), &snapshot(&fixed), now()).unwrap();
    let web = found.iter().find(|f| f.asset.to_string() == "ServiceAccount shop/web").unwrap();
    assert!(web.fix.is_automatic());
    assert!(!found.iter().any(|f| f.asset.kind == "Deployment"));
}

#[test]
fn legacy_tokens_go_to_owners() {
    let findings = run_control(&check(CheckName::LegacyServiceAccountTokens, &[]), &snapshot(CLUSTER), now()).unwrap();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f.asset.to_string(), "Secret build/deployer-token");
    assert!(matches!(&f.fix, ControlFix::Owner { action, .. } if action.contains("delete the Secret")));
    assert!(f.summary.contains("last used 2026-05-20"), "{}", f.summary);
    assert_eq!(f.asset_labels.get("kubernetes.io/legacy-token-last-used").map(String::as_str), Some("2026-05-20"));
}

#[test]
fn rotation_reads_the_annotation_then_the_creation_time() {
    assert_eq!(
        assets(CheckName::SecretRotation, &[]),
        [("Secret shop/db-password".to_string(), Severity::Medium, false)]
    );
    assert_eq!(
        assets(CheckName::SecretRotation, &[("maxAge", "720h")]),
        [
            ("Secret shop/db-password".to_string(), Severity::High, false),
            ("Secret shop/payment-key".to_string(), Severity::Medium, false),
        ]
    );
}

#[test]
fn bad_parameters_name_the_parameter() {
    let err =
        run_control(&check(CheckName::SecretRotation, &[("maxAge", "90d")]), &snapshot(CLUSTER), now()).unwrap_err();
    assert!(matches!(err, ControlError::InvalidDuration { parameter: "maxAge", .. }));
    assert!(err.to_string().contains("maxAge"), "{err}");
    let err = run_control(&check(CheckName::WildcardRbac, &[("maxAge", "1h")]), &snapshot(CLUSTER), now()).unwrap_err();
    assert_eq!(err.category(), "UnknownParameter");
}

#[test]
fn cluster_admin_bindings_skip_the_builtin_ones() {
    assert_eq!(
        assets(CheckName::ClusterAdminBindings, &[]),
        [
            ("ClusterRoleBinding legacy-admin".to_string(), Severity::High, false),
            ("ClusterRoleBinding web-admin".to_string(), Severity::Critical, false),
        ]
    );
}

#[test]
fn wildcard_rbac_skips_builtin_and_aggregated_roles() {
    assert_eq!(
        assets(CheckName::WildcardRbac, &[]),
        [("ClusterRole deploy-anything".to_string(), Severity::High, false)]
    );
}

#[test]
fn unused_accounts_skip_default_and_accounts_used_through_a_token() {
    assert_eq!(
        assets(CheckName::UnusedServiceAccounts, &[]),
        [("ServiceAccount build/old-admin".to_string(), Severity::High, false)]
    );
}

#[test]
fn every_control_is_a_pure_function_of_the_snapshot() {
    let snap = snapshot(CLUSTER);
    for name in [
        CheckName::ServiceAccountTokenAutomount,
        CheckName::LegacyServiceAccountTokens,
        CheckName::SecretRotation,
        CheckName::ClusterAdminBindings,
        CheckName::WildcardRbac,
        CheckName::UnusedServiceAccounts,
    ] {
        let first = run_control(&check(name, &[]), &snap, now()).unwrap();
        assert_eq!(first, run_control(&check(name, &[]), &snap, now()).unwrap());
        assert!(first.iter().all(|f| !f.summary.contains("c2VjcmV0")));
    }
}
