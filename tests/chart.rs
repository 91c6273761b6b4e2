//! `charts/driftwarden`, linted and rendered by the real Helm library: the default values
//! and the variations that matter, every rendered document a valid object of its
//! Kubernetes type, and invalid values refused by the schema with a message naming the
//! value.

#[path = "common/chart.rs"]
mod chart;

use std::collections::BTreeSet;
use std::path::Path;

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use chart::{Rendered, for_approvers};

const NAMESPACE: &str = "driftwarden-system";

/// Renders with `values`; `None` when the chart tests are skipped.
fn rendered(values: Value) -> Option<Rendered> {
    Some(chart::render(values.clone(), NAMESPACE)?.unwrap_or_else(|e| panic!("the chart refuses {values}: {e}")))
}

/// Helm's message for `values`, which it must refuse.
fn refused(values: Value) -> Option<String> {
    match chart::render(values.clone(), NAMESPACE)? {
        Ok(_) => panic!("the chart accepts invalid values {values}"),
        Err(message) => Some(message),
    }
}

/// The variations the tests render: name and values.
fn variations() -> Vec<(&'static str, Value)> {
    vec![
        ("default", json!({})),
        ("namespaced", json!({"rbac": {"scope": "Namespaced", "namespaces": ["shop", "payments"]}})),
        ("replicas 3", json!({"replicas": 3})),
        (
            "monitoring",
            json!({"metrics": {"serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}}},
                   "networkPolicy": {"enabled": true, "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}}),
        ),
        (
            "recreate",
            json!({"rbac": {"governed": [{"apiGroup": "", "resources": ["configmaps"], "create": true, "recreate": true}]}}),
        ),
        ("identity", json!({"identity": {"enabled": true}, "policyReports": {"enabled": false}})),
        (
            "dashboard and alerts",
            json!({"metrics": {"dashboard": {"enabled": true, "annotations": {"grafana_folder": "Platform"}},
                               "prometheusRule": {"enabled": true, "runbookBaseURL": "https://git.example.com/platform/driftwarden/blob/main/README.md",
                                                  "labels": {"release": "prometheus"}, "additionalLabels": {"team": "platform"}}}}),
        ),
        (
            "scheduling",
            json!({"nodeSelector": {"kubernetes.io/os": "linux"},
                   "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
                   "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ops"]}]}]}}},
                   "image": {"digest": format!("sha256:{}", "a".repeat(64))},
                   "rbac": {"notificationSecrets": {"secrets": [{"names": ["drift-hooks"]}, {"namespace": "shop", "names": ["hooks"]}],
                                                     "namespaces": ["payments"]}},
                   "notifications": {"allowedCIDRs": ["10.20.0.0/16"]}}),
        ),
    ]
}

/// `object` read as `K` and written back is `object`: no field is misspelt, misplaced or
/// of the wrong type.
fn round_trips<K: DeserializeOwned + Serialize>(object: &Value) -> Result<(), String> {
    let typed: K = serde_json::from_value(object.clone()).map_err(|e| format!("does not parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if &back != object {
        return Err(format!("loses or changes fields:\nrendered: {object}\nas read:  {back}"));
    }
    Ok(())
}

#[test]
fn every_rendered_document_is_a_valid_object_of_its_kind() {
    for (name, values) in variations() {
        let Some(rendered) = rendered(values) else { return };
        let errors: Vec<&Value> = rendered.lint["messages"]
            .as_array()
            .expect("lint messages")
            .iter()
            .filter(|m| m["severity"].as_i64().unwrap_or(0) >= 2)
            .collect();
        assert!(errors.is_empty(), "{name}: helm lint --strict: {errors:?}");
        for object in rendered.objects() {
            let kind = object["kind"].as_str().unwrap_or_default();
            let result = match kind {
                "Deployment" => round_trips::<Deployment>(&object),
                "ServiceAccount" => round_trips::<ServiceAccount>(&object),
                "Service" => round_trips::<Service>(&object),
                "ClusterRole" => round_trips::<ClusterRole>(&object),
                "ClusterRoleBinding" => round_trips::<ClusterRoleBinding>(&object),
                "Role" => round_trips::<Role>(&object),
                "RoleBinding" => round_trips::<RoleBinding>(&object),
                "PodDisruptionBudget" => round_trips::<PodDisruptionBudget>(&object),
                "NetworkPolicy" => round_trips::<NetworkPolicy>(&object),
                "ServiceMonitor" => service_monitor_is_well_formed(&object),
                "PrometheusRule" => prometheus_rule_is_well_formed(&object),
                "ConfigMap" => round_trips::<ConfigMap>(&object),
                "ValidatingAdmissionPolicy" => round_trips::<ValidatingAdmissionPolicy>(&object),
                "ValidatingAdmissionPolicyBinding" => round_trips::<ValidatingAdmissionPolicyBinding>(&object),
                other => Err(format!("the chart renders a {other}, which this test does not know")),
            };
            if let Err(problem) = result {
                panic!("{name}: {kind} {}: {problem}", object["metadata"]["name"]);
            }
        }
    }
}

/// The fields of a ServiceMonitor (monitoring.coreos.com/v1) the chart sets, and no others.
fn service_monitor_is_well_formed(object: &Value) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)] // read only to check the shape
    struct Spec {
        selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
        namespace_selector: NamespaceSelector,
        endpoints: Vec<Endpoint>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct NamespaceSelector {
        match_names: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Endpoint {
        port: String,
        path: String,
        interval: String,
        scrape_timeout: String,
    }
    if object["apiVersion"] != "monitoring.coreos.com/v1" {
        return Err(format!("apiVersion {}", object["apiVersion"]));
    }
    serde_json::from_value::<Spec>(object["spec"].clone()).map(|_| ()).map_err(|e| e.to_string())
}

/// The fields of a PrometheusRule (monitoring.coreos.com/v1) the chart sets, and no others.
fn prometheus_rule_is_well_formed(object: &Value) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to check the shape
    struct Spec {
        groups: Vec<Group>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Group {
        name: String,
        rules: Vec<Rule>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rule {
        alert: String,
        expr: String,
        #[serde(rename = "for")]
        for_: String,
        labels: std::collections::BTreeMap<String, String>,
        annotations: std::collections::BTreeMap<String, String>,
    }
    if object["apiVersion"] != "monitoring.coreos.com/v1" {
        return Err(format!("apiVersion {}", object["apiVersion"]));
    }
    serde_json::from_value::<Spec>(object["spec"].clone()).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn the_default_deployment_runs_restricted_with_probes_and_the_downward_api() {
    let Some(rendered) = rendered(json!({})) else { return };
    let deployment: Deployment = serde_json::from_value(rendered.one("Deployment")).unwrap();
    let pod = deployment.spec.template.spec.unwrap();
    let pod_security = pod.security_context.unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(pod_security.run_as_user, Some(65532));
    assert_eq!(pod_security.seccomp_profile.unwrap().type_, "RuntimeDefault");
    assert_eq!(pod.service_account_name.as_deref(), Some("driftwarden"));
    let container = &pod.containers[0];
    let security = container.security_context.clone().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
    assert_eq!(security.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe.as_ref().and_then(|p| p.http_get.as_ref()).and_then(|h| h.path.clone())
    };
    assert_eq!(path(&container.liveness_probe).as_deref(), Some("/healthz"));
    assert_eq!(path(&container.startup_probe).as_deref(), Some("/healthz"));
    assert_eq!(path(&container.readiness_probe).as_deref(), Some("/readyz"));
    assert!(container.resources.as_ref().and_then(|r| r.requests.as_ref()).is_some());
    let env: Vec<(String, String)> = container
        .env
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|e| Some((e.name, e.value_from?.field_ref?.field_path)))
        .collect();
    assert!(env.contains(&("POD_NAMESPACE".into(), "metadata.namespace".into())), "{env:?}");
    assert!(env.contains(&("POD_NAME".into(), "metadata.name".into())), "{env:?}");
    let args = container.args.clone().unwrap();
    for expected in [
        "run",
        "--log-format=json",
        "--log-level=info",
        "--health-address=0.0.0.0:8080",
        "--leader-elect=true",
        "--max-exception-duration=2160h",
        "--require-service-account=true",
    ] {
        assert!(args.contains(&expected.to_string()), "{expected} missing from {args:?}");
    }
    // The image is the one the Dockerfile builds, tagged with the chart's appVersion,
    // which is the crate's version.
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart::chart_dir().join("Chart.yaml")).unwrap()).unwrap();
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"), "Chart.yaml appVersion must be the crate's version");
    assert_eq!(container.image.as_deref(), Some(format!("driftwarden:{}", env!("CARGO_PKG_VERSION")).as_str()));
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.lines().any(|l| l.trim() == "USER 65532:65532"), "the image's user is the pod's runAsUser");

    assert!(rendered.of_kind("PodDisruptionBudget").is_empty(), "one replica: no PodDisruptionBudget");
    assert!(rendered.of_kind("ServiceMonitor").is_empty() && rendered.of_kind("NetworkPolicy").is_empty());
    let service: Service = serde_json::from_value(rendered.one("Service")).unwrap();
    assert_eq!(service.spec.unwrap().ports.unwrap()[0].port, 8080);
    assert!(rendered.notes().contains("Helm never upgrades or"), "NOTES.txt states the CRD caveat");
    assert!(!rendered.notes().contains("WARNING"));
}

/// Every (group, resource, verb) a kind of the operator's roles grants, with its namespace.
fn grants(rendered: &Rendered, kind: &str) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for role in rendered.of_kind(kind).into_iter().filter(|r| !for_approvers(r)) {
        let namespace = role["metadata"]["namespace"].as_str().unwrap_or("").to_string();
        let rules: Vec<PolicyRule> = serde_json::from_value(role["rules"].clone()).unwrap_or_default();
        for rule in rules {
            for group in rule.api_groups.unwrap_or_default() {
                for resource in rule.resources.clone().unwrap_or_default() {
                    for verb in &rule.verbs {
                        out.insert((namespace.clone(), group.clone(), resource.clone(), verb.clone()));
                    }
                }
            }
        }
    }
    out
}

fn grants_verb(set: &BTreeSet<(String, String, String, String)>, group: &str, resource: &str, verb: &str) -> bool {
    set.iter().any(|(_, g, r, v)| g == group && r == resource && v == verb)
}

#[test]
fn rbac_grants_writes_only_on_governed_kinds_and_never_wildcards_by_default() {
    let Some(rendered) = rendered(json!({})) else { return };
    let cluster = grants(&rendered, "ClusterRole");
    assert!(cluster.iter().all(|(_, g, r, v)| g != "*" && r != "*" && v != "*"), "{cluster:?}");
    assert!(grants_verb(&cluster, "", "configmaps", "patch"));
    assert!(!grants_verb(&cluster, "", "configmaps", "create"), "create only when asked");
    assert!(!grants_verb(&cluster, "", "configmaps", "delete"), "delete only with recreate");
    assert!(grants_verb(&cluster, "apps", "deployments", "patch"));
    for (group, resource) in [("", "secrets"), ("apps", "deployments"), ("", "configmaps")] {
        assert!(!grants_verb(&cluster, group, resource, "update"), "{resource}: fixes are patches");
    }
    assert!(grants_verb(&cluster, "driftwarden.dev", "driftpolicies/status", "patch"));
    assert!(grants_verb(&cluster, "driftwarden.dev", "findings", "delete"));
    assert!(
        grants_verb(&cluster, "events.k8s.io", "events", "create") && grants_verb(&cluster, "", "events", "create")
    );
    assert!(grants_verb(&cluster, "wgpolicyk8s.io", "clusterpolicyreports", "create"), "PolicyReports on by default");
    assert!(!grants_verb(&cluster, "rbac.authorization.k8s.io", "clusterroles", "list"), "identity is off by default");
    let role = grants(&rendered, "Role");
    assert!(role.iter().all(|(ns, ..)| ns == NAMESPACE));
    assert_eq!(secret_rules(&rendered), fingerprint_key_rules(), "no Secret but the fingerprint key, by name");
    for verb in ["list", "watch"] {
        assert!(
            !grants_verb(&cluster, "", "secrets", verb) && !grants_verb(&role, "", "secrets", verb),
            "no Secret is listed or watched by default (secrets {verb})"
        );
    }
    for verb in ["create", "get", "patch", "list", "watch"] {
        assert!(grants_verb(&role, "coordination.k8s.io", "leases", verb), "leases {verb}");
    }
    assert!(!grants_verb(&role, "coordination.k8s.io", "leases", "delete"));
    let binding: ClusterRoleBinding = serde_json::from_value(rendered.one("ClusterRoleBinding")).unwrap();
    let subject = &binding.subjects.unwrap()[0];
    assert_eq!((subject.kind.as_str(), subject.name.as_str()), ("ServiceAccount", "driftwarden"));
    assert_eq!(subject.namespace.as_deref(), Some(NAMESPACE));
}

#[test]
fn rbac_variations_follow_their_values() {
    let Some(recreate) =
        rendered(json!({"rbac": {"governed": [{"apiGroup": "", "resources": ["configmaps"], "recreate": true}]}}))
    else {
        return;
    };
    let cluster = grants(&recreate, "ClusterRole");
    for verb in ["patch", "create", "delete"] {
        assert!(grants_verb(&cluster, "", "configmaps", verb), "configmaps {verb}: recreating deletes and creates");
    }
    assert!(!grants_verb(&cluster, "apps", "deployments", "get"), "the governed list replaces the default");

    let identity = rendered(json!({"identity": {"enabled": true}, "policyReports": {"enabled": false}})).unwrap();
    let cluster = grants(&identity, "ClusterRole");
    for (group, resource) in [
        ("", "serviceaccounts"),
        ("", "secrets"),
        ("", "pods"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("rbac.authorization.k8s.io", "roles"),
        ("apps", "replicasets"),
        ("apps", "daemonsets"),
        ("batch", "cronjobs"),
    ] {
        assert!(grants_verb(&cluster, group, resource, "list") && grants_verb(&cluster, group, resource, "watch"));
    }
    assert!(grants_verb(&cluster, "", "serviceaccounts", "patch"));
    assert!(!grants_verb(&cluster, "wgpolicyk8s.io", "policyreports", "get"));

    let wildcard = rendered(json!({"rbac": {"wildcard": true}})).unwrap();
    assert!(grants_verb(&grants(&wildcard, "ClusterRole"), "*", "*", "*"));
    assert!(wildcard.notes().contains("WARNING: rbac.wildcard is true"), "{}", wildcard.notes());

    let single = rendered(json!({"leaderElection": {"enabled": false}})).unwrap();
    let own = grants(&single, "Role");
    assert!(!grants_verb(&own, "coordination.k8s.io", "leases", "get"), "no Lease: {own:?}");
    assert!(grants_verb(&own, "", "configmaps", "patch"), "the ledger's ConfigMaps: {own:?}");
    assert_eq!(secret_rules(&single), fingerprint_key_rules(), "only the fingerprint key: {own:?}");
}

/// What the operator needs on its fingerprint key Secret in its namespace: get by name, and
/// create (which RBAC cannot limit to a name), as [`secret_rules`] lists them.
fn fingerprint_key_rules() -> Vec<(String, Option<Vec<String>>, Vec<String>)> {
    vec![
        (NAMESPACE.to_string(), None, vec!["create".into()]),
        (NAMESPACE.to_string(), Some(vec!["driftwarden-fingerprint-key".into()]), vec!["get".into()]),
    ]
}

/// The `secrets` rules of the rendered Roles but the fingerprint key's: those for
/// notification sinks.
fn notification_secret_rules(rendered: &Rendered) -> Vec<(String, Option<Vec<String>>, Vec<String>)> {
    let own = fingerprint_key_rules();
    secret_rules(rendered).into_iter().filter(|rule| !own.contains(rule)).collect()
}

#[test]
fn the_operator_may_read_its_fingerprint_key_by_name_and_create_it_only() {
    let Some(rendered) = rendered(json!({})) else { return };
    assert_eq!(secret_rules(&rendered), fingerprint_key_rules());
    let role = grants(&rendered, "Role");
    for verb in ["list", "watch", "update", "patch", "delete"] {
        assert!(!grants_verb(&role, "", "secrets", verb), "secrets {verb}: {role:?}");
    }
}

#[test]
fn a_namespaced_install_has_a_role_per_watched_namespace_and_no_cluster_wide_read() {
    let Some(namespaced) = rendered(json!({"rbac": {"scope": "Namespaced", "namespaces": ["shop", "payments"]}}))
    else {
        return;
    };
    let cluster = grants(&namespaced, "ClusterRole");
    assert!(cluster.is_empty(), "no cluster-wide grant at all: {cluster:?}");
    assert!(namespaced.of_kind("ClusterRoleBinding").is_empty());
    let roles = grants(&namespaced, "Role");
    for ns in ["shop", "payments", NAMESPACE] {
        for (group, resource, verbs) in [
            ("", "configmaps", &["get", "list", "watch", "patch"][..]),
            ("apps", "deployments", &["list", "watch", "patch"]),
            ("driftwarden.dev", "driftpolicies", &["list", "watch"]),
            ("driftwarden.dev", "driftexceptions", &["list", "watch"]),
            ("driftwarden.dev", "findings", &["list", "watch", "create", "patch", "delete"]),
            ("driftwarden.dev", "driftpolicies/status", &["patch"]),
            ("events.k8s.io", "events", &["create"]),
            ("", "namespaces", &["get"]),
        ] {
            for verb in verbs {
                assert!(
                    roles.contains(&(ns.into(), group.into(), resource.into(), verb.to_string())),
                    "{ns}: {resource} {verb}"
                );
            }
        }
    }
    assert!(!grants_verb(&roles, "", "namespaces", "list"), "Namespaces are read by name, never listed");
    assert!(
        notification_secret_rules(&namespaced).is_empty(),
        "no Secret is readable unless rbac.notificationSecrets names it (the fingerprint key apart)"
    );
    assert!(!grants_verb(&roles, "driftwarden.dev", "clusterdriftpolicies", "list"), "cluster kinds are not watched");
    assert!(!grants_verb(&roles, "", "configmaps", "delete"), "delete only with recreate");
    assert_eq!(namespaced.of_kind("RoleBinding").len(), 4, "the Lease's and one per watched namespace");
    let deployment: Deployment = serde_json::from_value(namespaced.one("Deployment")).unwrap();
    let args = deployment.spec.template.spec.unwrap().containers[0].args.clone().unwrap();
    let watched: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix("--watch-namespace=")).collect();
    assert_eq!(watched, ["shop", "payments", NAMESPACE], "the operator watches exactly where it is granted");
    assert!(namespaced.notes().contains("only in namespaces: shop, payments, driftwarden-system"));

    let recreate = rendered(json!({"rbac": {"scope": "Namespaced", "namespaces": ["shop"],
        "governed": [{"apiGroup": "", "resources": ["configmaps"], "recreate": true}]}}))
    .unwrap();
    assert!(grants(&recreate, "Role").contains(&("shop".into(), "".into(), "configmaps".into(), "delete".into())));

    let default = rendered(json!({})).unwrap();
    let deployment: Deployment = serde_json::from_value(default.one("Deployment")).unwrap();
    let args = deployment.spec.template.spec.unwrap().containers[0].args.clone().unwrap();
    assert!(!args.iter().any(|a| a.starts_with("--watch-namespace")), "Cluster scope watches everything");
}

/// The `secrets` rules of the rendered Roles: namespace, the names they are limited to
/// (`None`: every Secret there) and verbs.
fn secret_rules(rendered: &Rendered) -> Vec<(String, Option<Vec<String>>, Vec<String>)> {
    let mut out = Vec::new();
    for role in rendered.of_kind("Role").into_iter().chain(rendered.of_kind("ClusterRole")) {
        let namespace = role["metadata"]["namespace"].as_str().unwrap_or("<cluster>").to_string();
        let rules: Vec<PolicyRule> = serde_json::from_value(role["rules"].clone()).unwrap_or_default();
        for rule in rules.into_iter().filter(|r| r.resources.as_ref().is_some_and(|r| r.iter().any(|r| r == "secrets")))
        {
            out.push((namespace.clone(), rule.resource_names.clone(), rule.verbs.clone()));
        }
    }
    out.sort();
    out
}

#[test]
fn notification_secrets_are_readable_only_by_name_or_by_namespace_as_the_values_say() {
    let values = json!({"rbac": {"notificationSecrets": {
        "secrets": [{"names": ["campaign-hooks"]}, {"namespace": "shop", "names": ["hooks", "auth"]},
                    {"namespace": "shop", "names": ["hooks"]}, {"namespace": "payments", "names": ["ignored"]}],
        "namespaces": ["payments"]}}});
    let Some(granted) = rendered(values) else { return };
    let names = |list: &[&str]| Some(list.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    assert_eq!(
        notification_secret_rules(&granted),
        vec![
            (NAMESPACE.to_string(), names(&["campaign-hooks"]), vec!["get".to_string()]),
            ("payments".to_string(), None, vec!["get".to_string()]),
            ("shop".to_string(), names(&["auth", "hooks"]), vec!["get".to_string()]),
        ],
        "get only, by name unless the namespace is listed whole"
    );
    let bindings: Vec<RoleBinding> = granted
        .of_kind("RoleBinding")
        .into_iter()
        .map(|b| serde_json::from_value(b).unwrap())
        .filter(|b: &RoleBinding| b.role_ref.name == "driftwarden-notification-secrets")
        .collect();
    assert_eq!(bindings.len(), 3, "one binding per namespace granted");
    for binding in bindings {
        let subject = &binding.subjects.unwrap()[0];
        assert_eq!((subject.name.as_str(), subject.namespace.as_deref()), ("driftwarden", Some(NAMESPACE)));
    }
    let default = rendered(json!({})).unwrap();
    let by_default = notification_secret_rules(&default);
    assert!(by_default.is_empty(), "no notification Secret access by default: {by_default:?}");
    assert!(
        rendered(json!({"rbac": {"create": false, "notificationSecrets": {"namespaces": ["shop"]}}}))
            .unwrap()
            .of_kind("Role")
            .is_empty(),
        "rbac.create false renders no Role"
    );
}

#[test]
fn allowed_notification_cidrs_reach_the_operator_as_one_flag() {
    let args = |rendered: &Rendered| -> Vec<String> {
        let deployment: Deployment = serde_json::from_value(rendered.one("Deployment")).unwrap();
        let args = deployment.spec.template.spec.unwrap().containers[0].args.clone().unwrap();
        args.into_iter().filter(|a| a.starts_with("--notification-allowed-cidrs")).collect()
    };
    let Some(default) = rendered(json!({})) else { return };
    assert!(args(&default).is_empty(), "no restricted address is allowed by default");
    let allowed = rendered(json!({"notifications": {"allowedCIDRs": ["10.20.0.0/16", "fd00::/8"]}})).unwrap();
    assert_eq!(args(&allowed), ["--notification-allowed-cidrs=10.20.0.0/16,fd00::/8"]);
}

#[test]
fn appliers_reach_the_operator_as_one_flag_with_the_gitops_tools_and_helm_by_default() {
    let args = |rendered: &Rendered| -> Vec<String> {
        let deployment: Deployment = serde_json::from_value(rendered.one("Deployment")).unwrap();
        let args = deployment.spec.template.spec.unwrap().containers[0].args.clone().unwrap();
        args.into_iter().filter(|a| a.starts_with("--appliers")).collect()
    };
    let Some(default) = rendered(json!({})) else { return };
    assert_eq!(
        args(&default),
        ["--appliers=argocd-controller,argocd-application-controller,kustomize-controller,helm-controller,helm"]
    );
    let ours = rendered(json!({"appliers": ["argocd-controller", "platform-bot"]})).unwrap();
    assert_eq!(args(&ours), ["--appliers=argocd-controller,platform-bot"]);
}

#[test]
fn replicas_bring_a_disruption_budget_and_options_their_objects() {
    let Some(three) = rendered(json!({"replicas": 3})) else { return };
    let budget: PodDisruptionBudget = serde_json::from_value(three.one("PodDisruptionBudget")).unwrap();
    assert_eq!(
        budget.spec.unwrap().min_available,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
    let deployment: Deployment = serde_json::from_value(three.one("Deployment")).unwrap();
    assert_eq!(deployment.spec.replicas, Some(3));

    let monitoring =
        rendered(json!({"metrics": {"serviceMonitor": {"enabled": true}}, "networkPolicy": {"enabled": true}}))
            .unwrap();
    let monitor = monitoring.one("ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    let policy: NetworkPolicy = serde_json::from_value(monitoring.one("NetworkPolicy")).unwrap();
    let spec = policy.spec.unwrap();
    assert_eq!(spec.policy_types, Some(vec!["Ingress".to_string(), "Egress".to_string()]));
    let egress_ports: Vec<String> = spec
        .egress
        .unwrap()
        .iter()
        .flat_map(|rule| rule.ports.clone().unwrap_or_default())
        .filter_map(|p| p.port.map(|p| format!("{p:?}")))
        .collect();
    for port in ["53", "443", "6443"] {
        assert!(egress_ports.iter().any(|p| p.contains(port)), "egress to {port}: {egress_ports:?}");
    }
}

#[test]
fn scheduling_logging_and_resources_values_reach_the_pod() {
    let values = json!({
        "nodeSelector": {"node-role.example.com/platform": "true"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}]}}},
        "logLevel": "info,driftwarden=debug",
        "logFormat": "text",
        "exceptions": {"maxDuration": "720h"},
        "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    });
    let Some(chart) = rendered(values.clone()) else { return };
    let deployment = chart.one("Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"], values["nodeSelector"]);
    assert_eq!(pod["tolerations"], values["tolerations"]);
    assert_eq!(pod["affinity"], values["affinity"]);
    let container = &pod["containers"][0];
    assert_eq!(container["resources"], values["resources"]);
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(args.contains(&"--log-level=info,driftwarden=debug"), "{args:?}");
    assert!(args.contains(&"--log-format=text"), "{args:?}");
    assert!(args.contains(&"--max-exception-duration=720h"), "{args:?}");
    // And it is still a valid Deployment.
    round_trips::<Deployment>(&deployment).unwrap();

    let default = rendered(json!({})).unwrap().one("Deployment");
    let pod = &default["spec"]["template"]["spec"];
    for field in ["nodeSelector", "tolerations", "affinity"] {
        assert!(pod.get(field).is_none(), "{field} is not rendered when empty");
    }
    let args: Vec<&str> = pod["containers"][0]["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(args.contains(&"--log-level=info") && args.contains(&"--log-format=json"), "{args:?}");
}

#[test]
fn the_readme_names_every_kind_identity_enabled_grants() {
    let Some(base) = rendered(json!({})) else { return };
    let identity = rendered(json!({"identity": {"enabled": true}})).unwrap();
    let before = grants(&base, "ClusterRole");
    let added: BTreeSet<String> =
        grants(&identity, "ClusterRole").difference(&before).map(|(_, _, resource, _)| resource.clone()).collect();
    assert!(added.contains("services") && added.contains("ingresses"), "{added:?}");
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let bullet = readme
        .split("\n- ")
        .find(|b| b.starts_with("**Identity controls**"))
        .expect("the README's RBAC section has an Identity controls entry");
    let squashed: String = bullet.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let missing: Vec<&String> = added.iter().filter(|r| !squashed.contains(r.as_str())).collect();
    assert!(missing.is_empty(), "README's Identity controls entry omits {missing:?}");
    let values = std::fs::read_to_string(chart::chart_dir().join("values.yaml")).unwrap();
    let comment = &values[..values.find("identity:").unwrap()];
    assert!(comment.contains("Services and Ingresses"), "values.yaml's identity comment names what it reads");
}

#[test]
fn invalid_values_are_refused_with_a_message_naming_the_value() {
    let cases = [
        (json!({"replicas": 0}), "/replicas"),
        (json!({"logFormat": "xml"}), "/logFormat"),
        (json!({"rbac": {"scope": "Everywhere"}}), "/rbac/scope"),
        (json!({"rbac": {"governed": [{"apiGroup": "apps"}]}}), "resources"),
        (json!({"rbac": {"governed": [{"apiGroup": "", "resources": ["configmaps"], "delete": true}]}}), "delete"),
        (json!({"image": {"pullPolicy": "Sometimes"}}), "/image/pullPolicy"),
        (json!({"resyncSeconds": 1}), "/resyncSeconds"),
        (json!({"exceptions": {"maxDuration": "90d"}}), "/exceptions/maxDuration"),
        (json!({"replica": 2}), "replica"),
        (json!({"rbac": {"scope": "Namespaced"}}), "rbac.scope Namespaced needs rbac.namespaces"),
        (
            json!({"rbac": {"scope": "Namespaced", "namespaces": ["shop"]}, "identity": {"enabled": true}}),
            "identity.enabled needs rbac.scope Cluster",
        ),
        (json!({"replicas": 2, "leaderElection": {"enabled": false}}), "replicas > 1 needs leaderElection.enabled"),
        (json!({"rbac": {"notificationSecrets": {"scope": "Cluster"}}}), "scope"),
        (json!({"rbac": {"notificationSecrets": {"secrets": [{"namespace": "shop"}]}}}), "names"),
        (
            json!({"rbac": {"notificationSecrets": {"namespaces": ["Not_A_Namespace"]}}}),
            "/rbac/notificationSecrets/namespaces/0",
        ),
        (json!({"notifications": {"allowedCIDRs": ["cluster-network"]}}), "/notifications/allowedCIDRs/0"),
        (json!({"appliers": [""]}), "/appliers/0"),
        (json!({"appliers": []}), "/appliers"),
        (
            json!({"metrics": {"prometheusRule": {"enabled": true}}}),
            "metrics.prometheusRule.runbookBaseURL is required",
        ),
        (
            json!({"metrics": {"prometheusRule": {"runbookBaseURL": "README.md"}}}),
            "/metrics/prometheusRule/runbookBaseURL",
        ),
        (
            json!({"metrics": {"prometheusRule": {"alerts": {"fixesFailing": {"ratio": 25}}}}}),
            "/metrics/prometheusRule/alerts/fixesFailing/ratio",
        ),
        (
            json!({"metrics": {"prometheusRule": {"alerts": {"down": {"for": "five minutes"}}}}}),
            "/metrics/prometheusRule/alerts/down/for",
        ),
        (json!({"metrics": {"prometheusRule": {"alerts": {"paging": {}}}}}), "paging"),
        (json!({"metrics": {"dashboard": {"label": "grafana dashboard"}}}), "/metrics/dashboard/label"),
        (json!({"metrics": {"dashboard": {"folder": "Platform"}}}), "folder"),
    ];
    for (values, expected) in cases {
        let Some(message) = refused(values.clone()) else { return };
        assert!(message.contains(expected), "{values}: the message should name {expected:?}: {message}");
    }
}

#[test]
fn the_round_trip_catches_misspelt_and_mistyped_fields() {
    let good = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "automountServiceAccountToken": true});
    assert!(round_trips::<ServiceAccount>(&good).is_ok());
    let misspelt = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "automountServiceAcountToken": true});
    assert!(round_trips::<ServiceAccount>(&misspelt).unwrap_err().contains("loses or changes"));
    let mistyped = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "automountServiceAccountToken": "yes"});
    assert!(round_trips::<ServiceAccount>(&mistyped).unwrap_err().contains("does not parse"));
}

#[test]
fn approvals_are_enforced_at_admission_for_everyone_but_the_operator() {
    let Some(rendered) = rendered(json!({})) else { return };
    let policy = rendered.named("ValidatingAdmissionPolicy", "driftwarden-approvals");
    assert_eq!(policy["metadata"]["name"], "driftwarden-approvals");
    assert_eq!(policy["spec"]["failurePolicy"], "Fail");
    let exempt = policy["spec"]["matchConditions"][0]["expression"].as_str().unwrap();
    assert_eq!(exempt, format!("request.userInfo.username != \"system:serviceaccount:{NAMESPACE}:driftwarden\""));
    let binding = rendered.named("ValidatingAdmissionPolicyBinding", "driftwarden-approvals");
    assert_eq!(binding["spec"]["policyName"], "driftwarden-approvals");
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
    let mut approvers: Vec<String> = rendered
        .of_kind("ClusterRole")
        .iter()
        .filter(|r| for_approvers(r))
        .map(|r| r["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    approvers.sort();
    assert_eq!(
        approvers,
        ["driftwarden-exception-approver", "driftwarden-finding-approver", "driftwarden-privileged-approver"]
    );
    let approver_grants = |name: &str| {
        let role = rendered.of_kind("ClusterRole").into_iter().find(|r| r["metadata"]["name"] == name).unwrap();
        serde_json::from_value::<Vec<PolicyRule>>(role["rules"].clone()).unwrap()[0].verbs.clone()
    };
    assert!(!approver_grants("driftwarden-finding-approver").contains(&"approve-privileged".to_string()));
    assert!(approver_grants("driftwarden-privileged-approver").contains(&"approve-privileged".to_string()));

    let trusted = |policy: &Value| {
        let variables = policy["spec"]["variables"].as_array().unwrap();
        variables.iter().find(|v| v["name"] == "trusted").unwrap()["expression"].as_str().unwrap().to_string()
    };
    assert_eq!(trusted(&policy), "request.userInfo.username in []");
    let appliers = json!({"approvals": {"trustedAppliers": ["system:serviceaccount:argocd:argocd-application-controller", "flux"]}});
    let with_appliers = rendered_with(appliers).named("ValidatingAdmissionPolicy", "driftwarden-approvals");
    assert_eq!(
        trusted(&with_appliers),
        "request.userInfo.username in ['system:serviceaccount:argocd:argocd-application-controller', 'flux']"
    );
    let without =
        rendered_with(json!({"approvals": {"admissionPolicy": false}, "tenancy": {"admissionPolicy": false}}));
    assert!(without.of_kind("ValidatingAdmissionPolicy").is_empty());
    assert!(without.of_kind("ValidatingAdmissionPolicyBinding").is_empty());
    assert_eq!(without.of_kind("ClusterRole").iter().filter(|r| for_approvers(r)).count(), 3, "the roles stay");
    let quoted = refused(json!({"approvals": {"trustedAppliers": ["o'brien"]}})).unwrap();
    assert!(quoted.contains("/approvals/trustedAppliers/0"), "{quoted}");
}

#[test]
fn fixes_are_made_as_a_service_account_the_author_may_impersonate() {
    let Some(rendered) = rendered(json!({})) else { return };
    let args = |rendered: &Rendered| -> Vec<String> {
        let deployment = rendered.one("Deployment");
        let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().clone();
        args.iter().filter_map(Value::as_str).filter(|a| a.contains("service-account")).map(str::to_string).collect()
    };
    assert_eq!(args(&rendered), ["--require-service-account=true"], "the lockdown is on by default");
    let defaulted =
        rendered_with(json!({"tenancy": {"defaultServiceAccount": "fixer", "requireServiceAccount": false}}));
    assert_eq!(args(&defaulted), ["--require-service-account=false", "--default-service-account=fixer"]);
    let bad = refused(json!({"tenancy": {"defaultServiceAccount": "Fixer"}})).unwrap();
    assert!(bad.contains("/tenancy/defaultServiceAccount"), "{bad}");

    // The operator may impersonate ServiceAccounts, and nothing else.
    let impersonates = |rules: &Value| -> Vec<String> {
        let rules: Vec<PolicyRule> = serde_json::from_value(rules.clone()).unwrap();
        rules
            .iter()
            .filter(|r| r.verbs.iter().any(|v| v == "impersonate" || v == "*"))
            .flat_map(|r| r.resources.clone().unwrap_or_default())
            .collect()
    };
    let operator = rendered.named("ClusterRole", "driftwarden");
    assert_eq!(impersonates(&operator["rules"]), ["serviceaccounts"]);
    let namespaced = rendered_with(json!({"rbac": {"scope": "Namespaced", "namespaces": ["shop", "books"]}}));
    assert!(namespaced.of_kind("ClusterRole").iter().all(|r| impersonates(&r["rules"]).is_empty()));
    let per_namespace: Vec<(String, Vec<String>)> = namespaced
        .of_kind("Role")
        .iter()
        .filter(|r| r["metadata"]["name"] == "driftwarden-namespace")
        .map(|r| (r["metadata"]["namespace"].as_str().unwrap().to_string(), impersonates(&r["rules"])))
        .collect();
    let watched: Vec<&str> = per_namespace.iter().map(|(ns, _)| ns.as_str()).collect();
    assert!(watched.contains(&"shop") && watched.contains(&"books"), "{watched:?}");
    assert!(per_namespace.iter().all(|(_, resources)| resources == &["serviceaccounts"]), "{per_namespace:?}");

    let policy = rendered.named("ValidatingAdmissionPolicy", "driftwarden-service-accounts");
    let resources = &policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"];
    assert_eq!(resources, &json!(["driftpolicies", "clusterdriftpolicies", "remediationcampaigns"]));
    let check = policy["spec"]["validations"][0]["expression"].as_str().unwrap();
    assert!(check.contains("resource('serviceaccounts')") && check.contains("check('impersonate')"), "{check}");
    let binding = rendered.named("ValidatingAdmissionPolicyBinding", "driftwarden-service-accounts");
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
    let without = rendered_with(json!({"tenancy": {"admissionPolicy": false}}));
    let names: Vec<Value> =
        without.of_kind("ValidatingAdmissionPolicy").iter().map(|p| p["metadata"]["name"].clone()).collect();
    assert_eq!(names, [json!("driftwarden-approvals")]);
}

fn rendered_with(values: Value) -> Rendered {
    rendered(values).expect("the chart tests run")
}

#[test]
fn admission_is_off_by_default_and_when_enabled_grants_only_admission_policy_writes() {
    let Some(rendered) = rendered(json!({})) else { return };
    let args = |rendered: &Rendered| -> Vec<String> {
        let deployment = rendered.one("Deployment");
        let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().clone();
        args.iter().filter_map(Value::as_str).filter(|a| a.starts_with("--admission")).map(str::to_string).collect()
    };
    let admission_writes = |rendered: &Rendered| -> Vec<String> {
        let role = rendered.named("ClusterRole", "driftwarden");
        let rules: Vec<PolicyRule> = serde_json::from_value(role["rules"].clone()).unwrap();
        rules
            .iter()
            .filter(|r| r.api_groups.iter().flatten().any(|g| g == "admissionregistration.k8s.io"))
            .filter(|r| r.verbs.iter().any(|v| v == "patch"))
            .flat_map(|r| r.resources.clone().unwrap_or_default())
            .collect()
    };
    assert!(args(&rendered).is_empty(), "off by default");
    assert!(admission_writes(&rendered).is_empty(), "no write access to admission policies by default");

    let enabled = rendered_with(json!({"admission": {"enabled": true}}));
    assert_eq!(
        args(&enabled),
        [
            "--admission=true",
            "--admission-exempt-user=system:serviceaccount:driftwarden-system:driftwarden",
            "--admission-exempt-user=system:serviceaccount:argocd:argocd-application-controller",
            "--admission-exempt-user=system:serviceaccount:flux-system:kustomize-controller",
            "--admission-exempt-user=system:serviceaccount:flux-system:helm-controller",
            "--admission-exempt-group=system:masters",
        ],
        "the operator itself and the GitOps appliers are exempt"
    );
    assert_eq!(admission_writes(&enabled), ["validatingadmissionpolicies", "validatingadmissionpolicybindings"]);
    let render_default = driftwarden::admission::DEFAULT_APPLIERS;
    assert!(args(&enabled)[2..5].iter().zip(render_default).all(|(arg, user)| arg.ends_with(user)), "render agrees");
    assert!(args(&enabled)[5].ends_with(driftwarden::admission::DEFAULT_EXEMPT_GROUPS[0]), "render agrees");

    // Namespaced: no cluster-wide grant; the operator is told, and its policies say so.
    let namespaced =
        rendered_with(json!({"admission": {"enabled": true}, "rbac": {"scope": "Namespaced", "namespaces": ["shop"]}}));
    assert_eq!(args(&namespaced)[0], "--admission=true");
    let grants_admission = |role: &Value| {
        let rules: Vec<PolicyRule> = serde_json::from_value(role["rules"].clone()).unwrap_or_default();
        rules.iter().any(|r| r.api_groups.iter().flatten().any(|g| g == "admissionregistration.k8s.io"))
    };
    let roles = namespaced.of_kind("ClusterRole").into_iter().chain(namespaced.of_kind("Role"));
    assert!(!roles.into_iter().any(|r| grants_admission(&r)), "no admission grants in a namespaced install");
    let bad = refused(json!({"admission": {"exemptUsers": [""]}})).unwrap();
    assert!(bad.contains("/admission/exemptUsers"), "{bad}");
}
