//! Owners' approvals: kept until the fix can run (an approval found after a restart, one
//! deferred by the policy's rate limit), announced once, and never applied while the
//! campaign is paused.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{campaigns, create_campaign, evidence_actions, finding_of, findings, state, until};
use crate::support::*;

/// ConfigMaps labelled `app: shop` carry `team: shop` and `mode: fast`; `extra` goes into
/// the policy's remediation.
fn mode_policy(ns: &str, remediation: Value) -> Value {
    drift_policy(
        ns,
        "owners",
        json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                              "template": {"metadata": {"labels": {"team": "shop"}}, "data": {"mode": "fast"}}}],
               "remediation": remediation}),
    )
}

fn slow(ns: &str, name: &str, team: &str) -> ConfigMap {
    let mut cm = config_map(ns, name, team);
    cm.data.get_or_insert_default().insert("mode".into(), "slow".into());
    cm
}

fn mode_is(cm: &ConfigMap, mode: &str) -> bool {
    cm.data.as_ref().and_then(|d| d.get("mode")).is_some_and(|m| m == mode)
}

async fn approve(harness: &Harness, finding: &str, by: &str) {
    grant_approve(harness, harness.ns(), by, false).await;
    give_approval(harness, finding, by, "restores the declared mode").await;
}

/// Writes an approval into `finding`, as its owner would (nothing granted).
async fn give_approval(harness: &Harness, finding: &str, by: &str, reason: &str) {
    findings(harness, harness.ns())
        .patch(
            finding,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approval": {"by": by, "reason": reason}}})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_approval_the_operator_finds_after_a_restart_is_applied() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &slow(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    // What an earlier operator left: the finding escalated, and approved while it was down.
    let finding = format!("{name}.configmap.settings");
    let body: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": finding, "namespace": ns},
        "spec": {"campaign": name, "asset": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": "settings"},
                 "control": format!("{ns}/owners"), "severity": "Low", "owner": {"team": "other"},
                 "approval": {"by": "lead@example.com", "reason": "restores the declared mode"}}
    }))
    .unwrap();
    grant_approve(&harness, &ns, "lead@example.com", false).await;
    findings(&harness, &ns).create(&PostParams::default(), &body).await.unwrap();
    let detected = jiff::Timestamp::now().to_string();
    let status = json!({"status": {"state": "Escalated", "paths": ["/data/mode", "/metadata/labels/team"], "class": "Spec",
        "evidence": [{"time": detected, "action": "Detected", "actor": "external", "result": "Succeeded"},
                     {"time": detected, "action": "Escalated", "actor": "driftwarden", "result": "Succeeded",
                      "message": "the campaign is Manual"}]}});
    findings(&harness, &ns).patch_status(&finding, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    harness.start_operator();

    let closed = finding_of(&harness, &name, "settings", "closed by the approved fix", |f| state(f) == "Closed").await;
    let actions = evidence_actions(&closed);
    assert!(actions.contains(&"Approved".to_string()) && actions.contains(&"Applied".to_string()), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "Detected").count(), 1, "the history carries on: {actions:?}");
    let live = config_maps.get("settings").await.unwrap();
    assert!(mode_is(&live, "fast") && team_is(&live, "shop"));
    harness.stop().await;
}

#[tokio::test]
async fn an_approval_given_before_the_escalation_is_applied_once_escalated() {
    let mut harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &slow(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit"}))).await;
    // Paused: the finding opens but is not escalated yet.
    let name = create_campaign(&harness, json!({"paused": true, "strategy": {"mode": "Manual"}})).await;
    let open = finding_of(&harness, &name, "settings", "opened", |f| state(f) == "Open").await;
    approve(&harness, &open.metadata.name.clone().unwrap(), "lead@example.com").await;
    // The operator that resumes the campaign knows of the approval before the escalation.
    harness.restart_operator().await;
    campaigns(&harness)
        .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"paused": false}})))
        .await
        .unwrap();
    let closed = finding_of(&harness, &name, "settings", "fixed on approval", |f| state(f) == "Closed").await;
    let actions = evidence_actions(&closed);
    let escalated = actions.iter().position(|a| a == "Escalated");
    let approved = actions.iter().position(|a| a == "Approved");
    assert!(escalated.is_some() && approved > escalated, "recorded once escalated: {actions:?}");
    assert!(mode_is(&config_maps.get("settings").await.unwrap(), "fast"));
    harness.stop().await;
}

#[tokio::test]
async fn an_approval_the_rate_limit_defers_is_applied_later_and_announced_once() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (url, mut events) = crate::receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let hook = serde_json::from_value(crate::receiver::hook_secret("hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    // `labels` drifts in Metadata only (the campaign fixes it); `mode` in Spec (escalated).
    config_maps.create(&PostParams::default(), &config_map(&ns, "labels", "other")).await.unwrap();
    config_maps.create(&PostParams::default(), &slow(&ns, "mode", "shop")).await.unwrap();
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit", "rateLimit": {"perMinute": 1}}))).await;
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "autoRemediate": ["Metadata"], "waveInterval": "1s"},
               "notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}}),
    )
    .await;
    finding_of(&harness, &name, "labels", "fixed by the wave", |f| state(f) == "Closed").await;
    let escalated = finding_of(&harness, &name, "mode", "escalated", |f| state(f) == "Escalated").await;

    // The wave's fix used the policy's one fix a minute: the approved fix waits for the next.
    approve(&harness, &escalated.metadata.name.clone().unwrap(), "lead@example.com").await;
    let approved = finding_of(&harness, &name, "mode", "approval recorded", |f| {
        evidence_actions(f).contains(&"Approved".to_string())
    })
    .await;
    assert_eq!(state(&approved), "Escalated", "{:#}", approved.data["status"]);
    let mut seen = Vec::new();
    let announced = until(&mut events, &mut seen, "dev.driftwarden.finding.approved").await;
    assert_eq!(announced["data"]["approval"]["by"], "lead@example.com");
    assert_eq!(announced["data"]["asset"]["name"], "mode");

    harness.clock.advance(jiff::SignedDuration::from_secs(61));
    let closed = finding_of(&harness, &name, "mode", "fixed once the rate allows", |f| state(f) == "Closed").await;
    assert!(evidence_actions(&closed).contains(&"Applied".to_string()));
    assert!(mode_is(&config_maps.get("mode").await.unwrap(), "fast"));
    until(&mut events, &mut seen, "dev.driftwarden.finding.closed").await;
    let approvals = seen.iter().filter(|e| e["type"] == "dev.driftwarden.finding.approved").count();
    assert_eq!(approvals, 1, "announced once");
    harness.stop().await;
}

#[tokio::test]
async fn a_paused_campaign_records_an_approval_but_applies_it_only_when_resumed()
-> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::start().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &slow(&ns, "settings", "other")).await?;
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    let escalated = finding_of(&harness, &name, "settings", "escalated", |f| state(f) == "Escalated").await;
    let pause = |paused: bool| Patch::Merge(json!({"spec": {"paused": paused}}));
    campaigns(&harness).patch(&name, &PatchParams::default(), &pause(true)).await?;
    wait_for(&campaigns(&harness), &name, "paused", |c| condition(c, "Ready").is_some_and(|(_, r)| r == "Paused"))
        .await;

    harness.sandbox()?.clear_requests();
    approve(&harness, &escalated.metadata.name.clone().unwrap(), "lead@example.com").await;
    let recorded = finding_of(&harness, &name, "settings", "approval recorded", |f| {
        evidence_actions(f).contains(&"Approved".to_string())
    })
    .await;
    assert_eq!(state(&recorded), "Escalated");
    let touched = harness.sandbox()?.requests().into_iter().filter(|r| r.resource == "configmaps" && r.verb == "patch");
    assert_eq!(touched.count(), 0, "no dry-run and no apply while paused");
    assert!(mode_is(&config_maps.get("settings").await?, "slow"));

    campaigns(&harness).patch(&name, &PatchParams::default(), &pause(false)).await?;
    finding_of(&harness, &name, "settings", "fixed once resumed", |f| state(f) == "Closed").await;
    assert!(mode_is(&config_maps.get("settings").await?, "fast"));
    harness.stop().await;
    Ok(())
}

/// A tenant of another namespace writes a Finding that names the campaign and this
/// namespace's asset, approved: it is not the operator's, so it is ignored (counted in the
/// campaign's status, marked by a Warning Event) and the real finding stays escalated.
#[tokio::test]
async fn a_forged_finding_in_another_namespace_approves_nothing() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let tenant = harness.cluster.temp_namespace().await.expect("namespace");
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &slow(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    let real = finding_of(&harness, &name, "settings", "escalated", |f| state(f) == "Escalated").await;
    let mut forged = real.clone();
    forged.metadata = kube::api::ObjectMeta {
        name: real.metadata.name.clone(),
        namespace: Some(tenant.name().to_string()),
        ..Default::default()
    };
    forged.data["spec"]["approval"] = json!({"by": "tenant@example.com", "reason": "approve it for them"});
    forged.data.as_object_mut().unwrap().remove("status");
    findings(&harness, tenant.name()).create(&PostParams::default(), &forged).await.unwrap();
    let counted =
        wait_for(&campaigns(&harness), &name, "the forgery counted", |c| c.data["status"]["forgedFindings"] == 1).await;
    assert_eq!(counted.data["status"]["findings"]["escalated"], 1, "the real finding is still escalated");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(harness.client(), tenant.name());
    eventually("a ForgedFinding Event marks it", || async {
        events.list(&Default::default()).await.unwrap().items.iter().any(|e| {
            e.reason.as_deref() == Some("ForgedFinding")
                && e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("Finding")
        })
    })
    .await;
    let real = findings(&harness, &ns).get(&real.metadata.name.clone().unwrap()).await.unwrap();
    assert_eq!(state(&real), "Escalated");
    assert!(!evidence_actions(&real).contains(&"Approved".to_string()), "nobody approved the real finding");
    assert!(mode_is(&config_maps.get("settings").await.unwrap(), "slow"), "nothing was fixed");
    harness.stop().await;
}

/// An approval in the name of someone who does not hold `approve` on the Finding is not
/// acted on, whoever wrote it: the operator asks the API server first.
#[tokio::test]
async fn an_approval_by_someone_without_the_approve_verb_fixes_nothing() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &slow(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, mode_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    let escalated = finding_of(&harness, &name, "settings", "escalated", |f| state(f) == "Escalated").await;
    let finding = escalated.metadata.name.clone().unwrap();
    give_approval(&harness, &finding, "intern@example.com", "looks fine").await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(harness.client(), &ns);
    eventually("an ApprovalNotAuthorized Event on the Finding", || async {
        events.list(&Default::default()).await.unwrap().items.iter().any(|e| {
            e.reason.as_deref() == Some("ApprovalNotAuthorized")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(finding.as_str())
                && e.note.as_deref().is_some_and(|n| n.starts_with("intern@example.com may not approve findings"))
        })
    })
    .await;
    let still = findings(&harness, &ns).get(&finding).await.unwrap();
    assert_eq!(state(&still), "Escalated");
    assert!(!evidence_actions(&still).contains(&"Approved".to_string()));
    assert!(mode_is(&config_maps.get("settings").await.unwrap(), "slow"), "nothing was fixed");
    // Once the approver may approve, the same approval counts.
    grant_approve(&harness, &ns, "intern@example.com", false).await;
    give_approval(&harness, &finding, "intern@example.com", "granted now").await;
    finding_of(&harness, &name, "settings", "fixed on the allowed approval", |f| state(f) == "Closed").await;
    harness.stop().await;
}
