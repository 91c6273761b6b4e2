//! RemediationCampaigns over a policy's drifts: findings per asset, fixed in waves or by
//! owners, closed only on a fresh read, reopened when the asset drifts again.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

mod approvals;
mod evidence;
mod guards;
mod scope;

pub(crate) fn campaigns(harness: &Harness) -> Api<DynamicObject> {
    Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()))
}

fn findings(harness: &Harness, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), ns, &ApiResource::erase::<driftwarden::api::finding::Finding>(&()))
}

/// A campaign named after the test namespace (campaigns are cluster-scoped) following the
/// `owners` policy of that namespace.
fn campaign(ns: &str, extra: Value) -> (String, DynamicObject) {
    let name = format!("{ns}-labels");
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    let mut spec = json!({
        "objective": "Every shop ConfigMap names its team",
        "owner": {"team": "platform", "contact": "platform@example.com"},
        "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}},
        "deadline": deadline,
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let object = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap();
    (name, object)
}

pub(crate) async fn create_campaign(harness: &Harness, extra: Value) -> String {
    let (name, object) = campaign(harness.ns(), extra);
    campaigns(harness).create(&PostParams::default(), &object).await.expect("campaign created");
    name
}

/// Receives notifications until one of type `wanted` arrives; returns it.
async fn until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<crate::receiver::Received>,
    seen: &mut Vec<Value>,
    wanted: &str,
) -> Value {
    within(wanted, async {
        while !seen.iter().any(|e| e["type"] == wanted) {
            let received = events.recv().await.expect("the receiver runs");
            seen.push(serde_json::from_slice(&received.body).unwrap());
        }
    })
    .await;
    seen.iter().find(|e| e["type"] == wanted).cloned().unwrap()
}

fn state(finding: &DynamicObject) -> &str {
    finding.data["status"]["state"].as_str().unwrap_or_default()
}

/// The wave a finding's latest fix was part of (its dry-run record says `wave N`), and the
/// time that fix was recorded, in whole seconds.
fn fixed_in_wave(finding: &DynamicObject) -> Option<(u32, i64)> {
    let record = finding.data["status"]["evidence"].as_array()?.iter().rev().find(|r| r["action"] == "DryRun")?;
    let wave = record["message"].as_str()?.strip_prefix("wave ")?.parse().ok()?;
    let time: jiff::Timestamp = record["time"].as_str()?.parse().ok()?;
    Some((wave, time.as_second()))
}

/// The findings of `findings` grouped by the wave that fixed them: how many each wave fixed,
/// and the earliest and latest time of its records.
fn by_wave(findings: &[DynamicObject]) -> std::collections::BTreeMap<u32, (usize, i64, i64)> {
    let mut waves = std::collections::BTreeMap::new();
    for finding in findings {
        let (wave, time) = fixed_in_wave(finding).unwrap_or_else(|| panic!("{:#}", finding.data["status"]));
        let entry = waves.entry(wave).or_insert((0, time, time));
        *entry = (entry.0 + 1, entry.1.min(time), entry.2.max(time));
    }
    waves
}

fn evidence_actions(finding: &DynamicObject) -> Vec<String> {
    finding.data["status"]["evidence"]
        .as_array()
        .map(|e| e.iter().map(|r| r["action"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_auto_campaign_fixes_an_audit_policy_wave_by_wave_until_completed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for index in 0..200 {
        config_maps.create(&PostParams::default(), &config_map(&ns, &format!("cm-{index:03}"), "other")).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "waveSize": 50, "waveInterval": "1s", "pauseOnFailurePercent": 10}}),
    )
    .await;
    // 200 Findings written, four waves a second apart, each fix verified: give it time.
    let done = wait_for_within(3 * PATIENCE, &campaigns(&harness), &name, "completed", |c| {
        condition(c, "Completed").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&done, "total"), 200, "{:#}", done.data["status"]);
    assert_eq!(done.data["status"]["findings"]["closed"], 200);
    assert_eq!(done.data["status"]["compliantPercent"], 100);
    assert!(done.data["status"]["lastWaveTime"].is_string());
    let all_closed = || async {
        let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
        listed.items.len() == 200 && listed.items.iter().all(|f| state(f) == "Closed")
    };
    eventually("every finding is written closed", all_closed).await;
    let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
    // The live hash is of the fresh read: the label as the API server returned it.
    let fixed_hash =
        driftwarden::engine::campaign::hash_fields(&[("/metadata/labels/team".into(), Some(json!("shop")))]);
    let drifted_hash =
        driftwarden::engine::campaign::hash_fields(&[("/metadata/labels/team".into(), Some(json!("other")))]);
    assert_ne!(fixed_hash, drifted_hash);
    for finding in &listed.items {
        assert_eq!(state(finding), "Closed", "{:?}", finding.data["status"]);
        let last = finding.data["status"]["evidence"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["action"].as_str(), last["result"].as_str()), (Some("Verified"), Some("Succeeded")));
        assert_eq!(last["actor"], "driftwarden");
        assert!(last["resourceVersion"].is_string(), "{last}");
        assert_eq!((last["desiredHash"].as_str(), last["liveHash"].as_str()), (Some(&*fixed_hash), Some(&*fixed_hash)));
        assert!(evidence_actions(finding).contains(&"Applied".to_string()), "{:#}", finding.data["status"]);
    }
    // Wave by wave: at most waveSize fixes each, and each wave at least waveInterval (1 s)
    // after the previous one started. A fix of wave j is recorded after wave j started, one
    // of wave i before wave i+1 started, so their records are more than j-i-1 seconds apart.
    let waves = by_wave(&listed.items);
    let started = done.data["status"]["waves"].as_u64().unwrap_or_default() as u32;
    assert!(started >= 4 && waves.len() as u32 <= started, "{started} waves: {waves:?}");
    assert!(waves.values().all(|(fixed, _, _)| *fixed <= 50), "{waves:?}");
    assert_eq!(waves.values().map(|(fixed, _, _)| fixed).sum::<usize>(), 200);
    let (first, (_, earliest, _)) = waves.first_key_value().unwrap();
    let (last, (_, _, latest)) = waves.last_key_value().unwrap();
    assert!(latest - earliest >= i64::from(last - first) - 1, "waves {first}..{last} within {}s", latest - earliest);
    for index in [0, 199] {
        assert!(team_is(&config_maps.get(&format!("cm-{index:03}")).await.unwrap(), "shop"));
    }
    let policy = policies(&harness).get("owners").await.unwrap();
    assert_eq!(status_number(&policy, "remediated"), 200, "the policy counts the campaign's verified fixes");
    campaigns(&harness).delete(&name, &DeleteParams::default()).await.unwrap();
    eventually("findings are garbage-collected with their campaign", || async {
        findings(&harness, &ns).list(&ListParams::default()).await.unwrap().items.is_empty()
    })
    .await;
    harness.stop().await;
}

async fn finding_of(
    harness: &Harness,
    campaign: &str,
    asset: &str,
    what: &str,
    check: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    let name = format!("{campaign}.configmap.{asset}");
    wait_for(&findings(harness, harness.ns()), &name, what, check).await
}

#[tokio::test]
async fn a_manual_campaign_closes_only_on_the_owners_verified_fix_and_reopens_on_regression() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    let escalated =
        finding_of(&harness, &name, "settings", "escalated to its owner", |f| state(f) == "Escalated").await;
    assert_eq!(escalated.data["spec"]["campaign"], name.as_str());
    assert_eq!(escalated.data["spec"]["asset"]["name"], "settings");
    assert_eq!(escalated.data["spec"]["owner"]["team"], "other", "the asset's `team` label names its owner");
    assert_eq!(escalated.data["spec"]["severity"], "Low");
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"), "a Manual campaign fixes nothing");

    // The owner fixes it: the finding closes only after driftwarden's own fresh read.
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "shop"}}})).await;
    let closed = finding_of(&harness, &name, "settings", "closed", |f| state(f) == "Closed").await;
    let last = closed.data["status"]["evidence"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["actor"].as_str()), (Some("Verified"), Some("kubectl-edit")), "{last}");

    // A regression reopens it and counts a recurrence.
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "rogue"}}})).await;
    let reopened = finding_of(&harness, &name, "settings", "reopened", |f| {
        f.data["status"]["recurrences"] == 1 && matches!(state(f), "Reopened" | "Escalated")
    })
    .await;
    assert!(evidence_actions(&reopened).contains(&"Reopened".to_string()));
    // The campaign's status follows the finding's on a later tick: wait for the reopening.
    let campaign = wait_for(&campaigns(&harness), &name, "counted open again", |c| {
        status_number(c, "total") == 1 && c.data["status"]["findings"]["closed"] == 0
    })
    .await;
    assert_eq!(campaign.data["status"]["findings"]["closed"], 0);
    // No approvals admission policy in this cluster: the campaign says what that means.
    let campaign = wait_for(&campaigns(&harness), &name, "says approvals are not recorded", |c| {
        condition(c, "ApprovalsRecorded").is_some_and(|(s, r)| s == "False" && r == "AdmissionPolicyMissing")
    })
    .await;
    let said =
        campaign.data["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "ApprovalsRecorded");
    assert!(said.unwrap()["message"].as_str().unwrap().contains("who wrote it cannot be proven"), "{said:?}");
    harness.stop().await;
}

#[tokio::test]
async fn an_approved_escalation_is_fixed_and_the_approval_is_in_the_evidence() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let mut cm = config_map(&ns, "settings", "other");
    cm.data.get_or_insert_default().insert("mode".into(), "slow".into());
    config_maps.create(&PostParams::default(), &cm).await.unwrap();
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "owners",
            json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                                  "template": {"metadata": {"labels": {"team": "shop"}}, "data": {"mode": "fast"}}}],
                   "remediation": {"mode": "Audit"}}),
        ),
    )
    .await;
    // The campaign fixes only Metadata by itself: the data drift needs an approval.
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "autoRemediate": ["Metadata"], "waveInterval": "1s"}}),
    )
    .await;
    let escalated = finding_of(&harness, &name, "settings", "escalated", |f| state(f) == "Escalated").await;
    let reason = escalated.data["status"]["evidence"].as_array().unwrap().last().unwrap()["message"].clone();
    assert!(reason.as_str().unwrap_or_default().contains("Spec"), "{reason}");
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"));

    grant_approve(&harness, &ns, "lead@example.com", false).await;
    findings(&harness, &ns)
        .patch(
            &escalated.metadata.name.clone().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"approval": {"by": "lead@example.com", "reason": "restores the declared mode"},
                                          "ticket": "OPS-7"}}),
            ),
        )
        .await
        .unwrap();
    let closed =
        finding_of(&harness, &name, "settings", "closed after the approved fix", |f| state(f) == "Closed").await;
    let actions = evidence_actions(&closed);
    assert!(actions.contains(&"Approved".to_string()) && actions.contains(&"Applied".to_string()), "{actions:?}");
    assert_eq!(closed.data["spec"]["ticket"], "OPS-7", "people's fields are kept");
    let live = config_maps.get("settings").await.unwrap();
    assert_eq!(live.data.as_ref().unwrap()["mode"], "fast");
    assert!(team_is(&live, "shop"), "the approval restores every path of the finding");
    harness.stop().await;
}

#[tokio::test]
async fn owners_come_from_asset_labels_then_namespace_labels_then_the_default_or_unowned() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let namespaces: Api<Namespace> = Api::all(harness.client());
    for (name, owner) in [("labelled", Some("payments")), ("plain", None)] {
        let mut cm = config_map(&ns, name, "other");
        if let Some(owner) = owner {
            cm.metadata.labels.get_or_insert_default().insert("owner".into(), owner.into());
        }
        config_maps.create(&PostParams::default(), &cm).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}, "ownerLabels": ["owner"]})).await;
    let labelled = finding_of(&harness, &name, "labelled", "opened", |f| !state(f).is_empty()).await;
    assert_eq!(labelled.data["spec"]["owner"]["team"], "payments");
    let plain = finding_of(&harness, &name, "plain", "opened", |f| !state(f).is_empty()).await;
    assert_eq!(plain.data["spec"]["owner"]["team"], "unowned", "no label, no default: unowned, and still escalated");
    assert_eq!(state(&plain), "Escalated");

    // A campaign with a default owner gives it what no label names.
    let (_, mut fallback) = campaign(
        &ns,
        json!({"strategy": {"mode": "Manual"}, "ownerLabels": ["owner"],
               "defaultOwner": {"team": "platform-oncall", "contact": "oncall@example.com"}}),
    );
    let fallback_name = format!("{ns}-fallback");
    fallback.metadata.name = Some(fallback_name.clone());
    campaigns(&harness).create(&PostParams::default(), &fallback).await.unwrap();
    let defaulted = finding_of(&harness, &fallback_name, "plain", "opened", |f| !state(f).is_empty()).await;
    assert_eq!(defaulted.data["spec"]["owner"]["team"], "platform-oncall");
    assert_eq!(defaulted.data["spec"]["owner"]["contact"], "oncall@example.com");
    assert_eq!(state(&defaulted), "Escalated");
    let labelled = finding_of(&harness, &fallback_name, "labelled", "opened", |f| !state(f).is_empty()).await;
    assert_eq!(labelled.data["spec"]["owner"]["team"], "payments", "the asset's label comes before the default");

    // The namespace names an owner: findings opened from now on go to it.
    namespaces
        .patch(&ns, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"owner": "storefront"}}})))
        .await
        .unwrap();
    let mut late = config_map(&ns, "late", "other");
    late.metadata.name = Some("late".into());
    config_maps.create(&PostParams::default(), &late).await.unwrap();
    let late = finding_of(&harness, &name, "late", "opened", |f| !state(f).is_empty()).await;
    assert_eq!(late.data["spec"]["owner"]["team"], "storefront");
    harness.stop().await;
}

#[tokio::test]
async fn a_missed_checkpoint_puts_the_campaign_at_risk_and_the_deadline_passes_unmet() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let now = jiff::Timestamp::now();
    let checkpoint = (now + jiff::SignedDuration::from_hours(24)).to_string();
    let deadline = (now + jiff::SignedDuration::from_hours(72)).to_string();
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Manual"}, "deadline": deadline, "checkpoints": [{"date": checkpoint, "compliantPercent": 100}]}),
    )
    .await;
    let pending = wait_for(&campaigns(&harness), &name, "evaluated", |c| status_number(c, "total") == 1).await;
    assert_eq!(pending.data["status"]["checkpoints"][0]["result"], "Pending");
    assert_eq!(condition(&pending, "DeadlineMissed").map(|(s, _)| s), Some("False".into()));

    harness.clock.advance(jiff::SignedDuration::from_hours(25));
    let missed = wait_for(&campaigns(&harness), &name, "checkpoint missed", |c| {
        c.data["status"]["checkpoints"][0]["result"] == "Missed"
    })
    .await;
    assert_eq!(missed.data["status"]["checkpoints"][0]["actual"], 0);
    assert_eq!(condition(&missed, "AtRisk").map(|(s, _)| s), Some("True".into()));
    assert_eq!(condition(&missed, "OnTrack").map(|(s, _)| s), Some("False".into()));

    harness.clock.advance(jiff::SignedDuration::from_hours(48));
    let late = wait_for(&campaigns(&harness), &name, "deadline missed", |c| {
        condition(c, "DeadlineMissed").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(condition(&late, "Completed").map(|(s, _)| s), Some("False".into()));
    harness.stop().await;
}

#[tokio::test]
async fn an_excepted_finding_is_enforced_again_when_its_exception_expires() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(4);
    let exceptions: Api<DynamicObject> = Api::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()),
    );
    let exception: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": "migration", "namespace": ns},
        "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]},
                 "justification": "team rename", "approvedBy": "lead@example.com", "ticket": "PLAT-1",
                 "approvedAt": jiff::Timestamp::now().to_string(), "expiresAt": expires.to_string()}
    }))
    .unwrap();
    exceptions.create(&PostParams::default(), &exception).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    harness.start_operator();
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Auto", "waveInterval": "1s"}})).await;
    let excepted = finding_of(&harness, &name, "settings", "excepted", |f| state(f) == "Excepted").await;
    assert!(evidence_actions(&excepted).contains(&"Excepted".to_string()));
    let covering =
        wait_for(&exceptions, "migration", "counts the finding", |e| status_number(e, "coveredFindings") == 1).await;
    assert_eq!(status_number(&covering, "covered"), 1);
    if jiff::Timestamp::now() < expires {
        assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"), "nothing fixed while excepted");
    }
    // At expiry the finding leaves Excepted and the campaign's wave fixes it.
    let closed = finding_of(&harness, &name, "settings", "fixed after expiry", |f| state(f) == "Closed").await;
    assert!(jiff::Timestamp::now() >= expires);
    assert_eq!(closed.data["status"]["evidence"].as_array().unwrap().last().unwrap()["actor"], "driftwarden");
    let expired =
        wait_for(&exceptions, "migration", "expired", |e| condition(e, "Expired").is_some_and(|(s, _)| s == "True"))
            .await;
    assert_eq!(condition(&expired, "Active").map(|(s, _)| s), Some("False".into()));
    harness.stop().await;
}

#[tokio::test]
async fn campaign_owners_hear_of_critical_findings_at_once_and_of_checkpoints_and_completion() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (url, mut events) = crate::receiver::start().await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(harness.client(), &ns);
    let hook = serde_json::from_value(crate::receiver::hook_secret("campaign-hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let account = serde_json::from_value(json!({"metadata": {"name": "builder", "labels": {"app": "shop"}}})).unwrap();
    accounts.create(&PostParams::default(), &account).await.unwrap();
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "owners",
            json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ServiceAccount", "selector": {"matchLabels": {"app": "shop"}}},
                                  "template": {"automountServiceAccountToken": false}}],
                   "remediation": {"mode": "Audit"}}),
        ),
    )
    .await;
    let checkpoint = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string();
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Manual"}, "checkpoints": [{"date": checkpoint, "compliantPercent": 100}],
               "notify": {"urlSecretRef": {"name": "campaign-hooks", "key": "url"}, "mode": "Structured"}}),
    )
    .await;
    let mut seen: Vec<Value> = Vec::new();
    let opened = until(&mut events, &mut seen, "dev.driftwarden.finding.opened").await;
    assert_eq!(opened["data"]["severity"], "Critical", "ServiceAccount drift touches access");
    assert_eq!(opened["data"]["asset"]["name"], "builder");
    assert_eq!(opened["source"], format!("/apis/driftwarden.dev/v1alpha1/remediationcampaigns/{name}"));

    harness.clock.advance(jiff::SignedDuration::from_hours(25));
    let missed = until(&mut events, &mut seen, "dev.driftwarden.campaign.checkpoint.missed").await;
    assert_eq!(missed["data"]["campaign"], name.as_str());

    let finding = format!("{name}.serviceaccount.builder");
    // The notification goes out at once; the Finding is written beside it, not before it.
    wait_for(&findings(&harness, &ns), &finding, "written", |_| true).await;
    findings(&harness, &ns)
        .patch(&finding, &PatchParams::default(), &Patch::Merge(json!({"spec": {"ticket": "SEC-101"}})))
        .await
        .unwrap();
    wait_for(&findings(&harness, &ns), &finding, "ticket kept", |f| f.data["spec"]["ticket"] == "SEC-101").await;
    edit(&accounts, "builder", json!({"automountServiceAccountToken": false})).await;
    let closed = until(&mut events, &mut seen, "dev.driftwarden.finding.closed").await;
    assert_eq!(closed["data"]["ticket"], "SEC-101", "the external ticket is echoed");
    until(&mut events, &mut seen, "dev.driftwarden.campaign.completed").await;
    let ids: Vec<&str> = seen.iter().filter_map(|e| e["id"].as_str()).collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "nothing is sent twice: {ids:?}");
    harness.stop().await;
}

/// `examples/campaigns`, applied as the README shows, gives what the README shows.
#[tokio::test]
async fn the_campaign_example_gives_what_the_readme_shows() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::start().await;
    // The example's namespaces have fixed names: only a sandbox of its own may hold them.
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/campaigns");
    let discovery = kube::Discovery::new(harness.client()).run().await?;
    for file in ["assets.yaml", "exception.yaml", "policy.yaml", "campaign.yaml"] {
        let text = std::fs::read_to_string(dir.join(file))?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let mut object: DynamicObject = serde::Deserialize::deserialize(document)?;
            if file == "exception.yaml" {
                // The example's dates are a real approval's; the test approves it today.
                let now = jiff::Timestamp::now();
                object.data["spec"]["approvedAt"] = json!(now.to_string());
                object.data["spec"]["expiresAt"] = json!((now + jiff::SignedDuration::from_hours(24 * 30)).to_string());
            }
            let types = object.types.clone().expect("typed");
            let gvk = kube::core::GroupVersionKind::try_from(&types)?;
            let (resource, capabilities) = discovery.resolve_gvk(&gvk).expect("served");
            let api: Api<DynamicObject> = match (&object.metadata.namespace, capabilities.scope) {
                (Some(ns), kube::discovery::Scope::Namespaced) => Api::namespaced_with(harness.client(), ns, &resource),
                _ => Api::all_with(harness.client(), &resource),
            };
            let name = object.metadata.name.clone().expect("named");
            api.patch(&name, &PatchParams::apply("example").force(), &Patch::Apply(&object)).await?;
        }
    }
    let team_a = findings(&harness, "team-a");
    let expect = [
        ("flags", "storefront", "Closed"),
        ("settings", "checkout", "Closed"),
        ("vendor-feed", "storefront", "Excepted"),
    ];
    for (asset, owner, wanted) in expect {
        let found =
            wait_for(&team_a, &format!("classify-config.configmap.{asset}"), wanted, |f| state(f) == wanted).await;
        assert_eq!(found.data["spec"]["owner"]["team"], owner, "{asset}");
        assert_eq!(found.data["spec"]["severity"], "Low");
    }
    let team_b = findings(&harness, "team-b").list(&ListParams::default()).await?;
    assert!(team_b.items.is_empty(), "team-b is not in production");
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_paused_campaign_acts_on_nothing_and_says_so_until_resumed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name =
        create_campaign(&harness, json!({"paused": true, "strategy": {"mode": "Auto", "waveInterval": "1s"}})).await;
    let paused = wait_for(&campaigns(&harness), &name, "paused", |c| {
        condition(c, "Ready").is_some_and(|(_, r)| r == "Paused") && status_number(c, "total") == 1
    })
    .await;
    assert_eq!(paused.data["status"]["findings"]["open"], 1, "neither fixed nor escalated while paused");
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"));
    campaigns(&harness)
        .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"paused": false}})))
        .await
        .unwrap();
    finding_of(&harness, &name, "settings", "fixed once resumed", |f| state(f) == "Closed").await;
    harness.stop().await;
}

#[tokio::test]
async fn a_wave_that_fails_too_often_pauses_the_campaign_until_its_spec_changes()
-> Result<(), Box<dyn std::error::Error>> {
    let mut harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    harness.start_operator();
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in ["a", "b"] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "other")).await?;
    }
    // The server refuses every change to `a` for now: its fix fails its dry-run.
    let refuse = driftwarden_sandbox::faults::RequestMatch::new("patch", "configmaps").namespace(&ns).name("a");
    harness.sandbox()?.inject(driftwarden_sandbox::faults::Fault::fail(refuse, 500, 1000))?;
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "waveSize": 2, "waveInterval": "1s", "pauseOnFailurePercent": 10}}),
    )
    .await;
    // The pause and the findings' tally may be written in two status writes: b's finding
    // closes once its fix is verified, whichever comes first.
    let paused = wait_for(&campaigns(&harness), &name, "paused by failures, b fixed and a escalated", |c| {
        condition(c, "Ready").is_some_and(|(s, r)| s == "False" && r == "WaveFailureThresholdExceeded")
            && c.data["status"]["findings"]["closed"] == 1
            && c.data["status"]["findings"]["escalated"] == 1
    })
    .await;
    assert_eq!(condition(&paused, "Ready").map(|(_, r)| r), Some("WaveFailureThresholdExceeded".to_string()));
    // A person looks, clears the cause and changes the spec: waves resume.
    harness.sandbox()?.faults().clear();
    campaigns(&harness)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"strategy": {"pauseOnFailurePercent": 20}}})),
        )
        .await?;
    wait_for(&campaigns(&harness), &name, "ready again", |c| condition(c, "Ready").is_some_and(|(s, _)| s == "True"))
        .await;
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_restarted_operator_carries_on_with_the_findings_it_finds() {
    let mut harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    let before = finding_of(&harness, &name, "settings", "escalated", |f| state(f) == "Escalated").await;
    harness.restart_operator().await;

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "shop"}}})).await;
    let closed = finding_of(&harness, &name, "settings", "closed by the new operator", |f| state(f) == "Closed").await;
    assert_eq!(closed.metadata.uid, before.metadata.uid, "the same Finding, not a second one");
    let actions = evidence_actions(&closed);
    assert_eq!(actions.iter().filter(|a| *a == "Detected").count(), 1, "the history carries on: {actions:?}");
    assert!(actions.contains(&"Escalated".to_string()));
    assert_eq!(findings(&harness, &ns).list(&ListParams::default()).await.unwrap().items.len(), 1);
    harness.stop().await;
}
