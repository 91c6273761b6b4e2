//! A campaign whose scope narrows, or whose control changes, deletes the findings it no
//! longer wants and stops counting them.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{campaigns, create_campaign, findings, state};
use crate::support::*;

#[tokio::test]
async fn findings_out_of_a_narrowed_scope_or_of_a_former_policy_are_deleted() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for (name, tier) in [("web", "web"), ("db", "db")] {
        let mut cm = config_map(&ns, name, "other");
        cm.metadata.labels.get_or_insert_default().insert("tier".into(), tier.into());
        config_maps.create(&PostParams::default(), &cm).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(&harness, json!({"strategy": {"mode": "Manual"}})).await;
    wait_for(&campaigns(&harness), &name, "two findings", |c| c.data["status"]["total"] == 2).await;
    let web = format!("{name}.configmap.web");
    let before = wait_for(&findings(&harness, &ns), &web, "escalated", |f| state(f) == "Escalated").await;

    // Only `tier: web` now: the `db` finding goes, the `web` one stays as it was.
    let narrowed = json!({"spec": {"scope": {"selector": {"matchLabels": {"tier": "web"}}}}});
    campaigns(&harness).patch(&name, &PatchParams::default(), &Patch::Merge(narrowed)).await.unwrap();
    let counted = wait_for(&campaigns(&harness), &name, "one finding", |c| {
        c.data["status"]["total"] == 1 && c.data["status"]["observedGeneration"] == 2
    })
    .await;
    assert_eq!(counted.data["status"]["findings"]["escalated"], 1);
    eventually("the db finding is deleted", || async {
        let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
        listed.items.iter().map(|f| f.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>() == [web.clone()]
    })
    .await;
    let kept = findings(&harness, &ns).get(&web).await.unwrap();
    assert_eq!(kept.metadata.uid, before.metadata.uid, "the finding still in scope is kept");

    // Another policy, same assets: the former policy's finding is replaced by the new one's.
    let mut other = owners_policy(&ns, json!({"mode": "Audit"}));
    other["metadata"]["name"] = json!("owners-next");
    create_policy(&harness, other).await;
    let repointed =
        json!({"spec": {"control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners-next"}}}});
    campaigns(&harness).patch(&name, &PatchParams::default(), &Patch::Merge(repointed)).await.unwrap();
    let replaced = wait_for(&findings(&harness, &ns), &web, "of the new policy", |f| {
        f.data["spec"]["control"] == format!("{ns}/owners-next").as_str() && state(f) == "Escalated"
    })
    .await;
    assert_ne!(replaced.metadata.uid, before.metadata.uid, "a new finding, not the former policy's");
    let counted = wait_for(&campaigns(&harness), &name, "counted once", |c| {
        c.data["status"]["total"] == 1 && c.data["status"]["observedGeneration"] == 3
    })
    .await;
    assert_eq!(counted.data["status"]["findings"]["escalated"], 1);
    harness.stop().await;
}
