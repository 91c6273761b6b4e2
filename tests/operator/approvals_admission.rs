//! Approvals are recorded by the API server: the chart's ValidatingAdmissionPolicy admits a
//! Finding's approval or a DriftException only in the requesting user's own name, from a
//! user who holds the verb `approve` (`approve-privileged` for an Access or SecretData fix)
//! on that object, and only the operator creates Findings. Each attempt below is made as a
//! tenant or an approver (impersonation), and refused or admitted at admission.

use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::chart;
use crate::support::*;

fn findings(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &ApiResource::erase::<driftwarden::api::finding::Finding>(&()))
}

fn exceptions(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()))
}

/// Installs the approvals policy, its binding and the approver ClusterRoles the chart
/// renders with `values`; `None` when the chart tests are skipped.
async fn install_approvals(harness: &Harness, values: Value) -> Option<()> {
    let rendered = chart::render(values, "driftwarden-system")?.expect("the chart renders");
    let client = harness.client();
    let policy = rendered.named("ValidatingAdmissionPolicy", "driftwarden-approvals");
    let binding = rendered.named("ValidatingAdmissionPolicyBinding", "driftwarden-approvals");
    let vaps = Api::<DynamicObject>::all_with(
        client.clone(),
        &ApiResource::erase::<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy>(&()),
    );
    vaps.create(&PostParams::default(), &serde_json::from_value(policy).unwrap()).await.expect("policy installed");
    let bindings = Api::<DynamicObject>::all_with(
        client.clone(),
        &ApiResource::erase::<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(&()),
    );
    bindings.create(&PostParams::default(), &serde_json::from_value(binding).unwrap()).await.expect("binding");
    for role in rendered.of_kind("ClusterRole").into_iter().filter(chart::for_approvers) {
        let role: ClusterRole = serde_json::from_value(role).unwrap();
        Api::<ClusterRole>::all(client.clone()).create(&PostParams::default(), &role).await.expect("role");
    }
    Some(())
}

/// Binds ClusterRole `role` to User `user` in `ns`.
async fn bind(harness: &Harness, ns: &str, role: &str, user: &str) {
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("{role}-{user}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(harness.client(), ns).create(&PostParams::default(), &binding).await.unwrap();
}

/// A tenant who may write driftwarden's namespaced objects in `ns`, as a team that keeps
/// its own exceptions and annotates its own findings would be granted.
async fn tenant_role(harness: &Harness, ns: &str, user: &str) {
    let rules = json!([{"apiGroups": ["driftwarden.dev"], "resources": ["findings", "driftexceptions"],
                        "verbs": ["get", "list", "create", "update", "patch"]}]);
    grant(harness, ns, user, "driftwarden-writer", rules).await;
}

/// A Finding as the operator writes it, with its fix of `class`.
async fn finding(harness: &Harness, ns: &str, name: &str, class: &str) {
    let api = findings(harness.client(), ns);
    let object = json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"campaign": "tokens", "control": format!("{ns}/owners"), "severity": "High",
                 "owner": {"team": "shop", "contact": "shop@example.com"},
                 "asset": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": name}}
    });
    api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap();
    let status = json!({"status": {"state": "Escalated", "class": class}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status)).await.unwrap();
}

/// What the API server answers `user` patching `approval` into finding `name`.
async fn approve(harness: &Harness, ns: &str, name: &str, user: &str, by: &str) -> Result<(), String> {
    let client = harness.cluster.client_impersonating(user, &[]).unwrap();
    let patch = json!({"spec": {"approval": {"by": by, "reason": "restores the declared state"}}});
    findings(client, ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

fn refused(result: Result<(), String>, says: &str) {
    let error = result.expect_err("refused at admission");
    assert!(error.contains(says), "{says:?} not in {error:?}");
}

fn exception(ns: &str, name: &str, approved_by: &str) -> DynamicObject {
    let now = jiff::Timestamp::now();
    serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]},
                 "justification": "migrating", "approvedBy": approved_by, "ticket": "OPS-1",
                 "approvedAt": now.to_string(), "expiresAt": (now + jiff::SignedDuration::from_hours(24)).to_string()}
    }))
    .unwrap()
}

#[tokio::test]
async fn approvals_are_given_only_in_ones_own_name_and_with_the_approve_verb() {
    let harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    finding(&harness, &ns, "plain", "Spec").await;
    finding(&harness, &ns, "privileged", "Access").await;
    let Some(()) = install_approvals(&harness, json!({})).await else { return };
    let (tenant, approver, privileged) = (format!("{ns}-tenant"), format!("{ns}-lead"), format!("{ns}-security"));
    for user in [&tenant, &approver, &privileged] {
        tenant_role(&harness, &ns, user).await;
    }
    bind(&harness, &ns, "driftwarden-finding-approver", &approver).await;
    bind(&harness, &ns, "driftwarden-privileged-approver", &privileged).await;

    // Admission needs a moment to see a new policy and new roles.
    eventually("the policy is in force", || async {
        approve(&harness, &ns, "plain", &tenant, &tenant).await.is_err_and(|e| e.contains("may not approve"))
    })
    .await;
    refused(approve(&harness, &ns, "plain", &tenant, &tenant).await, &format!("{tenant} may not approve findings"));
    refused(approve(&harness, &ns, "plain", &approver, "cto@example.com").await, "must be the requesting user");
    refused(
        approve(&harness, &ns, "privileged", &approver, &approver).await,
        &format!("{approver} may not approve-privileged findings"),
    );
    approve(&harness, &ns, "plain", &approver, &approver).await.expect("an approver approves in their own name");
    approve(&harness, &ns, "privileged", &privileged, &privileged).await.expect("a privileged approver");

    // Only the operator creates Findings, and nobody moves one to another asset (the CRD).
    let tenant_client = harness.cluster.client_impersonating(&tenant, &[]).unwrap();
    let mut forged = findings(harness.client(), &ns).get("plain").await.unwrap();
    forged.metadata = kube::api::ObjectMeta { name: Some("forged".into()), ..Default::default() };
    let created = findings(tenant_client.clone(), &ns).create(&PostParams::default(), &forged).await;
    refused(created.map(drop).map_err(|e| e.to_string()), "only driftwarden creates Findings");
    let moved = findings(tenant_client.clone(), &ns)
        .patch("plain", &PatchParams::default(), &Patch::Merge(json!({"spec": {"asset": {"name": "other"}}})))
        .await;
    refused(moved.map(drop).map_err(|e| e.to_string()), "the asset cannot be changed");
    // A ticket is still the tenant's to set.
    findings(tenant_client, &ns)
        .patch("plain", &PatchParams::default(), &Patch::Merge(json!({"spec": {"ticket": "OPS-9"}})))
        .await
        .expect("people's other fields are theirs");

    // With the policy installed, a campaign says that approvals are recorded.
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    let campaign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": format!("{ns}-audit")},
        "spec": {"objective": "owners", "owner": {"team": "platform", "contact": "platform@example.com"},
                 "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}},
                 "deadline": deadline}
    }))
    .unwrap();
    let campaigns = Api::<DynamicObject>::all_with(
        harness.client(),
        &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()),
    );
    campaigns.create(&PostParams::default(), &campaign).await.unwrap();
    let mut harness = harness;
    harness.start_operator();
    wait_for(&campaigns, &format!("{ns}-audit"), "approvals recorded", |c| {
        condition(c, "ApprovalsRecorded").is_some_and(|(s, r)| s == "True" && r == "AdmissionPolicyInstalled")
    })
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_is_approved_by_its_author_who_holds_approve_or_applied_by_a_trusted_applier() {
    let harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let gitops = format!("{ns}-gitops");
    let Some(()) = install_approvals(&harness, json!({"approvals": {"trustedAppliers": [gitops]}})).await else {
        return;
    };
    let (tenant, approver) = (format!("{ns}-tenant"), format!("{ns}-lead"));
    for user in [&tenant, &approver, &gitops] {
        tenant_role(&harness, &ns, user).await;
    }
    bind(&harness, &ns, "driftwarden-exception-approver", &approver).await;
    bind(&harness, &ns, "driftwarden-exception-approver", &gitops).await;
    let create = |user: String, name: &'static str, by: String| {
        let client = harness.cluster.client_impersonating(&user, &[]).unwrap();
        let ns = ns.clone();
        async move {
            exceptions(client, &ns)
                .create(&PostParams::default(), &exception(&ns, name, &by))
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    eventually("the policy is in force", || async {
        create(tenant.clone(), "mine", tenant.clone()).await.is_err_and(|e| e.contains("may not approve"))
    })
    .await;
    refused(create(tenant.clone(), "boss", "ciso@example.com".into()).await, "must be the requesting user");
    refused(create(approver.clone(), "theirs", "ciso@example.com".into()).await, "must be the requesting user");
    create(approver.clone(), "mine", approver.clone()).await.expect("approved in one's own name");
    create(gitops.clone(), "reviewed", "carol@example.com".into()).await.expect("a trusted applier");
    // Lengthening an approved exception is approving it again.
    let tenant_client = harness.cluster.client_impersonating(&tenant, &[]).unwrap();
    let longer = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let stretched = exceptions(tenant_client, &ns)
        .patch("mine", &PatchParams::default(), &Patch::Merge(json!({"spec": {"expiresAt": longer}})))
        .await;
    refused(stretched.map(drop).map_err(|e| e.to_string()), "must be the requesting user");
}
