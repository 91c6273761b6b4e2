//! The RBAC the chart renders by default is enough for the operator and not more than it
//! uses: the chart's roles are installed in the sandbox (which enforces RBAC), the real
//! operator runs as the chart's ServiceAccount, with leader election, through
//! representative scenarios, and the sandbox's request log shows that nothing was
//! Forbidden and which granted permissions went unused (each one justified below and next
//! to its rule in the chart). The variations run the same way: an Auto campaign, a
//! ClusterDriftPolicy, Recreate enabled (delete granted), identity checks enabled, and a
//! Namespaced install (Roles only, the operator confined with `--watch-namespace`).

use std::collections::BTreeSet;
use std::time::Duration;

use driftwarden::notification::SinkAddressPolicy;
use driftwarden::operator::leader::{LeaderSettings, identity_with_suffix};
use driftwarden::operator::notify::NotifySettings;
use driftwarden::operator::settings::Clock;
use driftwarden::operator::{OperatorSettings, RunOptions, Services, supervise};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

use crate::chart::{self, for_approvers};
use crate::receiver;
use crate::support::*;

/// A granted (verb, group, resource) triple.
type Grant = (String, String, String);

/// What the default chart grants and the scenario below does not use, with why it stays.
const UNUSED_BY_THE_SCENARIO: &[(&str, &str, &str, &str)] = &[
    // Exercised by ClusterDriftPolicy tests; the scenario uses namespaced policies only.
    ("get", "driftwarden.dev", "clusterdriftpolicies/status", "ClusterDriftPolicy status"),
    ("patch", "driftwarden.dev", "clusterdriftpolicies/status", "ClusterDriftPolicy status"),
    // Status is written by server-side apply (patch); get on /status is the conventional
    // pair for clients that read it and costs no write power.
    ("get", "driftwarden.dev", "driftpolicies/status", "reading status"),
    ("get", "driftwarden.dev", "driftexceptions/status", "reading status"),
    // Campaigns and findings are listed and watched, and findings written with server-side
    // apply (a patch, authorized as a create too when it creates one); get is kept for
    // tools that read them one by one; delete lets the operator remove findings of assets
    // that are gone when garbage collection is not enough.
    ("get", "driftwarden.dev", "remediationcampaigns", "campaigns"),
    ("get", "driftwarden.dev", "remediationcampaigns/status", "campaigns"),
    ("get", "driftwarden.dev", "findings", "findings"),
    ("delete", "driftwarden.dev", "findings", "findings"),
    ("get", "driftwarden.dev", "findings/status", "findings"),
    // The objects of the operator's own kinds are listed and watched, never fetched one
    // by one; get is kept for clients of the same identity (and costs no write power).
    ("get", "driftwarden.dev", "driftpolicies", "reads"),
    ("get", "driftwarden.dev", "clusterdriftpolicies", "reads"),
    ("get", "driftwarden.dev", "driftexceptions", "reads"),
    ("get", "", "namespaces", "reads"),
    // Approvals: the scenario approves nothing; the approval tests run the reviews.
    ("create", "authorization.k8s.io", "localsubjectaccessreviews", "approver reviews"),
    // Events: kube-runtime's recorder writes events.k8s.io/v1; core Events are granted for
    // clusters and tools on the older API. patch aggregates a repeated Event into a series.
    ("create", "", "events", "core Events"),
    ("patch", "", "events", "core Events"),
    ("patch", "events.k8s.io", "events", "Event series"),
    // Deployments are governed by default: patch fixes their Metadata and Spec drift; the
    // scenario's drift on a Deployment is a Rollout, which is escalated, not fixed, so it is
    // neither patched nor re-read.
    ("get", "apps", "deployments", "verification of a fix"),
    ("patch", "apps", "deployments", "fixes"),
    // Fixes made as a ServiceAccount: the scenario's policies name none (its install runs
    // without the lockdown); the Namespaced install fixes as one, and tests/operator/tenancy.rs
    // as several.
    ("impersonate", "", "serviceaccounts", "fixes made as a ServiceAccount"),
    // PolicyReports (policyReports.enabled, on by default): published when the wgpolicyk8s.io
    // CRDs are installed, which the scenario's cluster does not have.
    ("get", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("list", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("watch", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("create", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("patch", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("delete", "wgpolicyk8s.io", "policyreports", "PolicyReports"),
    ("get", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
    ("list", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
    ("watch", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
    ("create", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
    ("patch", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
    ("delete", "wgpolicyk8s.io", "clusterpolicyreports", "PolicyReports"),
];

/// The rendered ClusterRoles and Roles the operator is bound to.
fn operator_roles(rendered: &chart::Rendered) -> Vec<Value> {
    rendered.of_kind("ClusterRole").into_iter().chain(rendered.of_kind("Role")).filter(|r| !for_approvers(r)).collect()
}

/// Every (verb, group, resource) the rendered roles of the operator grant.
fn granted(rendered: &chart::Rendered) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for role in operator_roles(rendered) {
        let rules: Vec<PolicyRule> = serde_json::from_value(role["rules"].clone()).unwrap();
        for rule in rules {
            for group in rule.api_groups.unwrap_or_default() {
                for resource in rule.resources.clone().unwrap_or_default() {
                    for verb in &rule.verbs {
                        out.insert((verb.clone(), group.clone(), resource.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Creates what the chart renders for RBAC, with the admin client.
async fn install_rbac(harness: &Harness, rendered: &chart::Rendered) {
    let client = harness.client();
    let params = PostParams::default();
    for object in rendered.objects() {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        match object["kind"].as_str().unwrap_or_default() {
            "ClusterRole" => {
                let role: ClusterRole = serde_json::from_value(object).unwrap();
                Api::<ClusterRole>::all(client.clone()).create(&params, &role).await.unwrap();
            }
            "ClusterRoleBinding" => {
                let binding: ClusterRoleBinding = serde_json::from_value(object).unwrap();
                Api::<ClusterRoleBinding>::all(client.clone()).create(&params, &binding).await.unwrap();
            }
            "Role" => {
                let role: Role = serde_json::from_value(object).unwrap();
                Api::<Role>::namespaced(client.clone(), &namespace).create(&params, &role).await.unwrap();
            }
            "RoleBinding" => {
                let binding: RoleBinding = serde_json::from_value(object).unwrap();
                Api::<RoleBinding>::namespaced(client.clone(), &namespace).create(&params, &binding).await.unwrap();
            }
            _ => {}
        }
    }
}

/// The operator as the chart runs it: the chart's ServiceAccount, the Deployment's
/// `--lease-name` and `--watch-namespace` arguments, leader election on.
struct AsTheChart {
    user: String,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), driftwarden::operator::supervisor::SuperviseError>>,
    lease: String,
}

/// The rendered Deployment's arguments with `prefix`, without it.
fn args_with(rendered: &chart::Rendered, prefix: &str) -> Vec<String> {
    rendered.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str()?.strip_prefix(prefix).map(str::to_string))
        .collect()
}

/// Installs the chart's RBAC and starts the operator as the chart's ServiceAccount, then
/// waits until it leads.
async fn run_as_the_chart(harness: &Harness, rendered: &chart::Rendered, clock: Clock) -> AsTheChart {
    let ns = harness.ns().to_string();
    install_rbac(harness, rendered).await;
    let service_account = rendered.one("ServiceAccount")["metadata"]["name"].as_str().unwrap().to_string();
    let identity = harness.sandbox().unwrap().add_service_account(&ns, &service_account);
    let client = harness.sandbox().unwrap().client_as(&identity).unwrap();
    let lease = args_with(rendered, "--lease-name=").pop().expect("the chart passes --lease-name");
    let settings = OperatorSettings {
        namespace: ns.clone(),
        watch_namespaces: args_with(rendered, "--watch-namespace="),
        require_service_account: args_with(rendered, "--require-service-account=") == ["true"],
        default_service_account: args_with(rendered, "--default-service-account=").pop(),
        admission: args_with(rendered, "--admission=") == ["true"],
        admission_exempt_users: args_with(rendered, "--admission-exempt-user="),
        admission_exempt_groups: args_with(rendered, "--admission-exempt-group="),
        status_interval: Duration::from_millis(50),
        discovery_retry: Duration::from_millis(500),
        clock,
        ..OperatorSettings::default()
    };
    let leader = LeaderSettings { identity: identity_with_suffix("driftwarden-0"), ..LeaderSettings::new(&ns, &lease) };
    let options = RunOptions { settings, health_address: None, leader: Some(leader) };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // The Deployment's --notification-allowed-cidrs, as `driftwarden run` reads it.
    let allowed = args_with(rendered, "--notification-allowed-cidrs=")
        .iter()
        .flat_map(|blocks| blocks.split(',').map(|block| block.parse().expect("the chart passes CIDR blocks")))
        .collect();
    let notify = NotifySettings { addresses: SinkAddressPolicy::allowing(allowed), ..NotifySettings::default() };
    let task = tokio::spawn(supervise(client.clone(), options, Services::with_notify(client, notify), stopped));
    let leases: Api<Lease> = Api::namespaced(harness.client(), &ns);
    wait_for(&leases, &lease, "the operator leads", |l| {
        l.spec.as_ref().and_then(|s| s.holder_identity.as_ref()).is_some_and(|h| h.starts_with("driftwarden-0"))
    })
    .await;
    AsTheChart { user: identity.user.name.clone(), stop, task, lease }
}

impl AsTheChart {
    /// Stops the operator and returns the requests it made.
    async fn stop(self, harness: &Harness) -> Vec<driftwarden_sandbox::testing::RequestRecord> {
        let _ = self.stop.send(true);
        self.task.await.unwrap().expect("the operator stops cleanly");
        let requests: Vec<_> =
            harness.sandbox().unwrap().requests().into_iter().filter(|r| r.user == self.user).collect();
        assert!(!requests.is_empty(), "the request log holds the operator's requests");
        let forbidden: Vec<_> = requests.iter().filter(|r| r.code == 403).collect();
        assert!(forbidden.is_empty(), "the chart's RBAC forbade the operator: {forbidden:#?}");
        requests
    }
}

#[tokio::test]
async fn a_namespaced_install_fixes_drift_with_roles_only_and_no_cluster_wide_request()
-> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let shop = harness.cluster.temp_namespace().await?;
    let elsewhere = harness.cluster.temp_namespace().await?;
    let values = json!({"rbac": {"scope": "Namespaced", "namespaces": [shop.name()]}});
    let Some(rendered) = chart::render(values, &ns) else { return Ok(()) };
    let rendered = rendered.expect("the Namespaced values render");
    let cluster_roles = rendered.of_kind("ClusterRole");
    assert!(cluster_roles.iter().all(for_approvers), "only the approvers' ClusterRoles, bound to no one");
    assert!(rendered.of_kind("ClusterRoleBinding").is_empty());
    assert_eq!(args_with(&rendered, "--watch-namespace="), [shop.name(), ns.as_str()]);

    // A governed ConfigMap in the watched namespace, the same in one that is not watched,
    // each with a policy; and a ClusterDriftPolicy, which a namespaced install cannot serve.
    for namespace in [shop.name(), elsewhere.name()] {
        let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), namespace);
        config_maps.create(&PostParams::default(), &config_map(namespace, "settings", "shop")).await?;
        let policies = Api::<DynamicObject>::namespaced_with(
            harness.client(),
            namespace,
            &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
        );
        // The chart requires a ServiceAccount: the policy fixes as `fixer`, which may
        // patch ConfigMaps of its namespace.
        let mut policy = owners_policy(namespace, json!({}));
        policy["spec"]["serviceAccountName"] = json!("fixer");
        policies.create(&PostParams::default(), &serde_json::from_value(policy)?).await?;
        grant_service_account(
            &harness,
            namespace,
            "fixer",
            json!([
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]}
            ]),
        )
        .await;
    }
    let cluster_policies = Api::<DynamicObject>::all_with(
        harness.client(),
        &ApiResource::erase::<driftwarden::api::policy::ClusterDriftPolicy>(&()),
    );
    let cluster_policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
        "metadata": {"name": format!("{ns}-everywhere")},
        "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                                "template": {"metadata": {"labels": {"team": "everyone"}}}}]}
    }))?;
    cluster_policies.create(&PostParams::default(), &cluster_policy).await?;
    crate::reports::install_report_crds(&harness).await;
    // A cluster-scoped kind a DriftPolicy names: refused, since discovery says where it lives.
    let gadgets: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
        serde_json::from_value(json!({
            "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster",
                     "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))?;
    driftwarden_sandbox::testing::install_crds(&harness.client(), &[gadgets]).await?;
    let policies_in_shop = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        shop.name(),
        &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
    );
    let gadget_policy = drift_policy(
        shop.name(),
        "gadgets",
        json!({
            "serviceAccountName": "fixer",
            "baselines": [{"match": {"apiVersion": "example.com/v1", "kind": "Gadget"}, "template": {"metadata": {"labels": {"x": "y"}}}}]
        }),
    );
    policies_in_shop.create(&PostParams::default(), &serde_json::from_value(gadget_policy)?).await?;

    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    let shop_policies = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        shop.name(),
        &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
    );
    wait_for(&shop_policies, "owners", "compliant", |p| condition(p, "Compliant").is_some_and(|(s, _)| s == "True"))
        .await;
    let refused = wait_for(&shop_policies, "gadgets", "refused", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == driftwarden::api::reasons::INVALID_SPEC)
    })
    .await;
    let message = &refused.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()["message"];
    // Discovery says Gadget is cluster-scoped: a DriftPolicy may not name it at all.
    assert!(
        message.as_str().unwrap().contains("Gadget is cluster-scoped: only a ClusterDriftPolicy can govern it"),
        "{message}"
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), shop.name());
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
    wait_for(&config_maps, "settings", "the label restored", |cm| team_is(cm, "shop")).await;
    // Results published in the watched namespace's PolicyReport, listed there only.
    let reports = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        shop.name(),
        &crate::reports::report_resource("PolicyReport", "policyreports"),
    );
    within("the PolicyReport of the watched namespace", async {
        while reports.list(&ListParams::default()).await.unwrap().items.is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let lease = running.lease.clone();
    let requests = running.stop(&harness).await;

    // Roles only: every request named a namespace the chart granted, except the reads of
    // those Namespaces by name and discovery (which is not a resource request).
    let granted: BTreeSet<String> = [shop.name().to_string(), ns.clone()].into();
    let outside: Vec<_> = requests
        .iter()
        .filter(|r| !r.resource.is_empty())
        .filter(|r| {
            let namespace_read = r.resource == "namespaces" && r.verb == "get";
            !granted.contains(&r.namespace) && !namespace_read
        })
        .collect();
    assert!(outside.is_empty(), "requests beyond the watched namespaces: {outside:#?}");
    assert!(requests.iter().any(|r| r.resource == "leases" && r.name == lease), "leader election ran");
    // The unwatched namespace's policy and the cluster policy were never served.
    let elsewhere_policies = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        elsewhere.name(),
        &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
    );
    assert!(elsewhere_policies.get("owners").await?.data.get("status").is_none_or(Value::is_null));
    assert!(cluster_policies.get(&format!("{ns}-everywhere")).await?.data.get("status").is_none_or(Value::is_null));
    cluster_policies.delete(&format!("{ns}-everywhere"), &Default::default()).await?;
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_default_chart_rbac_with_the_sink_secret_named_is_enough_and_every_unused_grant_is_justified()
-> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    // The defaults, with the one thing they leave out on purpose: the sink's Secret (the
    // release namespace is the test namespace) and its loopback receiver.
    // Its DriftPolicies name no ServiceAccount and fix as the operator, as an install
    // upgraded without the lockdown does: the Namespaced install below fixes as one.
    let values = json!({"rbac": {"notificationSecrets": {"secrets": [{"names": ["hooks"]}]}},
                        "notifications": {"allowedCIDRs": ["127.0.0.0/8"]},
                        "tenancy": {"requireServiceAccount": false}});
    let Some(rendered) = chart::render(values, &ns) else { return Ok(()) };
    let rendered = rendered.expect("the default values render");

    // The scene: a notification sink whose URL is in a Secret, a ConfigMap and a
    // Deployment, a policy for each.
    let (url, mut notifications) = receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let hook: Secret = serde_json::from_value(crate::receiver::hook_secret("hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns, "labels": {"tier": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}
        }
    }))
    .unwrap();
    deployments.create(&PostParams::default(), &deployment).await.unwrap();
    let notify = json!({"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}});
    create_policy(
        &harness,
        drift_policy(&ns, "owners", json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                           "template": {"metadata": {"labels": {"team": "shop"}}}}],
            "escalation": notify
        })),
    )
    .await;
    create_policy(
        &harness,
        drift_policy(&ns, "images", json!({
            "baselines": [{"match": {"apiVersion": "apps/v1", "kind": "Deployment", "selector": {"matchLabels": {"tier": "web"}}},
                           "template": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}}}}],
            "escalation": notify
        })),
    )
    .await;

    // The operator as the chart runs it: its ServiceAccount, its namespace, its Lease.
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    for name in ["owners", "images"] {
        wait_for(&policies(&harness), name, "compliant", |p| {
            condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
        })
        .await;
    }

    // A label drift on a governed kind: fixed, verified and notified (the sink Secret read).
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
    wait_for(&config_maps, "settings", "the label restored", |cm| team_is(cm, "shop")).await;
    // A pod-template drift: escalated with an Event and a notification.
    edit(
        &deployments,
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:9.9.9"}]}}}}),
    )
    .await;
    wait_for(&policies(&harness), "images", "escalated", |p| {
        condition(p, "Escalated").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let mut seen = BTreeSet::new();
    within("a remediation and an escalation notified", async {
        while !(seen.contains("dev.driftwarden.drift.remediated") && seen.contains("dev.driftwarden.drift.escalated")) {
            let received = notifications.recv().await.expect("the receiver runs");
            let event: Value = serde_json::from_slice(&received.body).unwrap();
            seen.insert(event["type"].as_str().unwrap_or_default().to_string());
        }
    })
    .await;
    let events = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::erase::<k8s_openapi::api::events::v1::Event>(&()),
    );
    within("an Event about the escalation", async {
        loop {
            let listed = events.list(&ListParams::default()).await.unwrap();
            if listed
                .items
                .iter()
                .any(|e| e.data["regarding"]["name"] == "images" || e.data["regarding"]["name"] == "web")
            {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;

    // A campaign over the escalated drift: a finding written with its status, the campaign's
    // status; and an exception, whose status says it covers nothing.
    let campaigns = Api::<DynamicObject>::all_with(
        harness.client(),
        &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()),
    );
    let campaign_name = format!("{ns}-images");
    let campaign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": campaign_name},
        "spec": {"objective": "Images come from releases", "owner": {"team": "platform"},
                 "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "images"}},
                 "deadline": "2099-01-01T00:00:00Z", "strategy": {"mode": "Manual"}}
    }))
    .unwrap();
    campaigns.create(&Default::default(), &campaign).await.unwrap();
    let exceptions = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()),
    );
    let exception: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": "unused", "namespace": ns},
        "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["absent"]},
                 "justification": "kept for the scenario", "approvedBy": "lead@example.com", "ticket": "OPS-1",
                 "approvedAt": jiff::Timestamp::now().to_string(),
                 "expiresAt": (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string()}
    }))
    .unwrap();
    exceptions.create(&Default::default(), &exception).await.unwrap();
    let findings = Api::<DynamicObject>::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::erase::<driftwarden::api::finding::Finding>(&()),
    );
    wait_for(&findings, &format!("{campaign_name}.deployment.web"), "escalated to its owner", |f| {
        f.data["status"]["state"] == "Escalated"
    })
    .await;
    wait_for(&campaigns, &campaign_name, "counted", |c| status_number(c, "total") == 1).await;
    wait_for(&exceptions, "unused", "flagged", |e| condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True"))
        .await;
    campaigns.delete(&campaign_name, &Default::default()).await.unwrap();

    let requests = running.stop(&harness).await;
    let used: BTreeSet<Grant> = requests
        .iter()
        .filter(|r| !r.resource.is_empty())
        .flat_map(|r| {
            let resource = match &r.subresource {
                Some(sub) => format!("{}/{sub}", r.resource),
                None => r.resource.clone(),
            };
            // An apply that created its object (201) was authorized as a create too.
            let created =
                (r.verb == "patch" && r.code == 201).then(|| ("create".to_string(), r.group.clone(), resource.clone()));
            std::iter::once((r.verb.clone(), r.group.clone(), resource)).chain(created)
        })
        .collect();
    let granted = granted(&rendered);
    let beyond: Vec<&Grant> = used.difference(&granted).collect();
    assert!(beyond.is_empty(), "used without a grant (RBAC must have allowed it another way): {beyond:?}");
    let unused: BTreeSet<Grant> = granted.difference(&used).cloned().collect();
    let justified: BTreeSet<Grant> = UNUSED_BY_THE_SCENARIO
        .iter()
        .map(|(verb, group, resource, _)| (verb.to_string(), group.to_string(), resource.to_string()))
        .collect();
    let unjustified: Vec<&Grant> = unused.difference(&justified).collect();
    let now_used: Vec<&Grant> = justified.difference(&unused).collect();
    assert!(
        unjustified.is_empty() && now_used.is_empty(),
        "granted but unused, and not justified: {unjustified:?}\njustified as unused, but used (or no longer granted): {now_used:?}"
    );
    harness.stop().await;
    Ok(())
}

fn api_of<K: kube::Resource<DynamicType = ()>>(harness: &Harness, ns: Option<&str>) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    match ns {
        Some(ns) => Api::namespaced_with(harness.client(), ns, &resource),
        None => Api::all_with(harness.client(), &resource),
    }
}

async fn create_dynamic(api: &Api<DynamicObject>, body: Value) {
    api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.expect("created");
}

/// Whether the operator made a request with `verb` on `resource`.
fn made(requests: &[driftwarden_sandbox::testing::RequestRecord], verb: &str, resource: &str) -> bool {
    requests.iter().any(|r| r.verb == verb && r.resource == resource && !r.dry_run)
}

#[tokio::test]
async fn the_default_chart_rbac_serves_an_auto_campaign_fixing_its_findings() -> Result<(), Box<dyn std::error::Error>>
{
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let Some(rendered) = chart::render(json!({"tenancy": {"requireServiceAccount": false}}), &ns) else {
        return Ok(());
    };
    let rendered = rendered.expect("the default values render");
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for index in 0..3 {
        config_maps.create(&PostParams::default(), &config_map(&ns, &format!("cm-{index}"), "other")).await?;
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    let campaigns = api_of::<driftwarden::api::campaign::RemediationCampaign>(&harness, None);
    let name = format!("{ns}-labels");
    create_dynamic(
        &campaigns,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": name},
            "spec": {"objective": "Every shop ConfigMap names its team", "owner": {"team": "platform"},
                     "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}},
                     "deadline": "2099-01-01T00:00:00Z", "strategy": {"mode": "Auto", "waveInterval": "1s"}}
        }),
    )
    .await;
    let done =
        wait_for(&campaigns, &name, "completed", |c| condition(c, "Completed").is_some_and(|(s, _)| s == "True")).await;
    assert_eq!(done.data["status"]["findings"]["closed"], 3, "{:#}", done.data["status"]);
    for index in 0..3 {
        assert!(team_is(&config_maps.get(&format!("cm-{index}")).await?, "shop"));
    }
    let requests = running.stop(&harness).await;
    assert!(made(&requests, "patch", "configmaps") && made(&requests, "patch", "findings"));
    campaigns.delete(&name, &Default::default()).await?;
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_default_chart_rbac_serves_a_cluster_drift_policy() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let Some(rendered) = chart::render(json!({}), &ns) else { return Ok(()) };
    let rendered = rendered.expect("the default values render");
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await?;
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    let cluster_policies = api_of::<driftwarden::api::policy::ClusterDriftPolicy>(&harness, None);
    let name = format!("{ns}-owners");
    create_dynamic(
        &cluster_policies,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy", "metadata": {"name": name},
            "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [ns],
                                              "selector": {"matchLabels": {"app": "shop"}}},
                                    "template": {"metadata": {"labels": {"team": "shop"}}}}]}
        }),
    )
    .await;
    wait_for(&config_maps, "settings", "the label restored", |cm| team_is(cm, "shop")).await;
    wait_for(&cluster_policies, &name, "compliant", |p| {
        status_number(p, "remediated") == 1 && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let requests = running.stop(&harness).await;
    assert!(
        requests.iter().any(|r| r.resource == "clusterdriftpolicies" && r.subresource.as_deref() == Some("status"))
    );
    cluster_policies.delete(&name, &Default::default()).await?;
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_chart_enabling_recreate_grants_the_delete_a_recreation_needs() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let values = json!({"rbac": {"governed": [{"apiGroup": "", "resources": ["secrets"], "recreate": true}]},
                        "tenancy": {"requireServiceAccount": false}});
    let Some(rendered) = chart::render(values, &ns) else { return Ok(()) };
    let rendered = rendered.expect("the Recreate values render");
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let legacy: Secret = serde_json::from_value(json!({
        "metadata": {"name": "api", "labels": {"app": "shop"}}, "type": "example.com/legacy", "data": {"token": "c2VjcmV0"}
    }))?;
    let created = secrets.create(&PostParams::default(), &legacy).await?;
    create_policy(
        &harness,
        drift_policy(&ns, "secret-types", json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "Secret", "names": ["api"]}, "template": {"type": "Opaque"}}],
            "remediation": {"autoRemediate": ["Metadata", "Spec", "Recreate"]}
        })),
    )
    .await;
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    let recreated = wait_for(&secrets, "api", "recreated as Opaque", |s| s.type_.as_deref() == Some("Opaque")).await;
    assert_ne!(recreated.metadata.uid, created.metadata.uid);
    wait_for(&policies(&harness), "secret-types", "remediated", |p| status_number(p, "remediated") == 1).await;
    let requests = running.stop(&harness).await;
    assert!(made(&requests, "delete", "secrets") && made(&requests, "create", "secrets"), "recreated by the operator");
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_chart_enabling_identity_serves_check_campaigns() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let Some(rendered) = chart::render(json!({"identity": {"enabled": true}}), &ns) else { return Ok(()) };
    let rendered = rendered.expect("the identity values render");
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(harness.client(), &ns);
    accounts.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "builder"}}))?).await?;
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    let campaigns = api_of::<driftwarden::api::campaign::RemediationCampaign>(&harness, None);
    let mut names = Vec::new();
    for (check, mode) in [("ServiceAccountTokenAutomount", "Auto"), ("ClusterAdminBindings", "Manual")] {
        let name = format!("{ns}-{}", check.to_lowercase());
        create_dynamic(
            &campaigns,
            json!({
                "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": name},
                "spec": {"objective": "Least privilege for machine identities", "owner": {"team": "security"},
                         "control": {"check": {"name": check}}, "scope": {"namespaces": [ns]},
                         "deadline": "2099-01-01T00:00:00Z", "strategy": {"mode": mode, "waveInterval": "1s"}}
            }),
        )
        .await;
        names.push(name);
    }
    let findings = api_of::<driftwarden::api::finding::Finding>(&harness, Some(&ns));
    wait_for(&findings, &format!("{}.serviceaccount.builder", names[0]), "fixed", |f| {
        f.data["status"]["state"] == "Closed"
    })
    .await;
    assert_eq!(accounts.get("builder").await?.automount_service_account_token, Some(false));
    for name in &names {
        wait_for(&campaigns, name, "completed", |c| condition(c, "Completed").is_some_and(|(s, _)| s == "True")).await;
    }
    let requests = running.stop(&harness).await;
    for resource in ["serviceaccounts", "clusterrolebindings", "rolebindings", "clusterroles", "pods", "services"] {
        assert!(made(&requests, "list", resource), "the inventory read {resource}");
    }
    assert!(made(&requests, "patch", "serviceaccounts"));
    for name in names {
        campaigns.delete(&name, &Default::default()).await?;
    }
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_chart_enabling_admission_grants_what_generated_admission_policies_need()
-> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let values = json!({"admission": {"enabled": true}, "tenancy": {"requireServiceAccount": false}});
    let Some(rendered) = chart::render(values, &ns) else { return Ok(()) };
    let rendered = rendered.expect("the admission values render");
    let mut policy = owners_policy(&ns, json!({}));
    policy["spec"]["admission"] = json!({"action": "Deny"});
    create_policy(&harness, policy).await;
    let running = run_as_the_chart(&harness, &rendered, Clock::default()).await;
    wait_for(&policies(&harness), "owners", "admission enforced", |p| {
        condition(p, "AdmissionReady").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let vaps = api_of::<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy>(&harness, None);
    let name = format!("dp.driftwarden.dev.{ns}.owners");
    let generated = vaps.get(&name).await?;
    let exempt = generated.data["spec"]["matchConditions"][0]["expression"].as_str().unwrap_or_default().to_string();
    assert!(exempt.contains(&format!("system:serviceaccount:{ns}:driftwarden")), "the operator is exempt: {exempt}");
    policies(&harness).delete("owners", &Default::default()).await?;
    eventually("the generated objects are deleted", || async { vaps.get_opt(&name).await.is_ok_and(|v| v.is_none()) })
        .await;
    let requests = running.stop(&harness).await;
    for verb in ["list", "patch", "delete"] {
        assert!(made(&requests, verb, "validatingadmissionpolicies"), "{verb} on validatingadmissionpolicies");
        assert!(made(&requests, verb, "validatingadmissionpolicybindings"), "{verb} on bindings");
    }
    harness.stop().await;
    Ok(())
}
