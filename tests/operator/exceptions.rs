//! DriftExceptions: an active one suppresses, an expired one stops suppressing by itself.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_exception_suppresses_until_it_expires_then_the_drift_is_fixed() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    // A day ahead on the operator's clock, which the test moves past it instead of waiting.
    let now = harness.clock.now();
    let expires = now + jiff::SignedDuration::from_hours(24);
    let exception: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": "migration", "namespace": ns},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]},
            "paths": ["/metadata/labels/team"],
            "justification": "team rename in progress", "approvedBy": "platform-lead@example.com", "ticket": "PLAT-42",
            "approvedAt": now.to_string(), "expiresAt": expires.to_string()
        }
    }))
    .unwrap();
    exceptions_in(&harness, &ns).create(&PostParams::default(), &exception).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator();
    let policy = wait_for(&policies(&harness), "owners", "excepted", |p| status_number(p, "excepted") == 1).await;
    assert_eq!(policy.data["status"]["drifts"][0]["action"], "Excepted");
    let live = config_maps.get("settings").await.unwrap();
    assert_eq!(live.metadata.labels.unwrap()["team"], "other", "not fixed while the exception is active");
    // The expiry is decided on the same clock as the exception's status: once the clock
    // passes `expiresAt`, the drift is fixed without waiting for a resync.
    harness.clock.advance(jiff::SignedDuration::from_hours(25));
    wait_for(&config_maps, "settings", "fixed once the exception expired", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let exception = wait_for(&exceptions_in(&harness, &ns), "migration", "expired", |e| {
        condition(e, "Expired").is_some_and(|(status, _)| status == "True")
    })
    .await;
    assert_eq!(exception.data["status"]["covered"], 0, "an expired exception covers nothing");
    harness.stop().await;
}

fn exception_body(ns: &str, name: &str, names: &[&str], expires: jiff::Timestamp) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": names},
            "justification": "vendor migration", "approvedBy": "security-lead@example.com", "ticket": "SEC-9",
            "approvedAt": jiff::Timestamp::now().to_string(), "expiresAt": expires.to_string()
        }
    }))
    .unwrap()
}

fn exceptions_in(harness: &Harness, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), ns, &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()))
}

#[tokio::test]
async fn exception_status_counts_what_it_covers_and_flags_what_covers_nothing() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let in_a_month = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    let exceptions = exceptions_in(&harness, &ns);
    exceptions
        .create(&PostParams::default(), &exception_body(&ns, "covering", &["settings"], in_a_month))
        .await
        .unwrap();
    exceptions
        .create(&PostParams::default(), &exception_body(&ns, "idle", &["nothing-here"], in_a_month))
        .await
        .unwrap();
    let covering = wait_for(&exceptions, "covering", "covers the drift", |e| status_number(e, "covered") == 1).await;
    assert_eq!(condition(&covering, "Active").map(|(s, _)| s), Some("True".into()));
    assert_eq!(condition(&covering, "CoversNothing").map(|(s, _)| s), Some("False".into()));
    assert_eq!(condition(&covering, "ExpiringSoon").map(|(s, _)| s), Some("False".into()));
    let idle =
        wait_for(&exceptions, "idle", "flagged", |e| condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True"))
            .await;
    assert_eq!(condition(&idle, "Ready").map(|(s, _)| s), Some("True".into()));
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_never_covers_another_namespace() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let other = harness.cluster.temp_namespace().await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    // Written in another team's namespace, naming this namespace's object.
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    exceptions_in(&harness, other.name())
        .create(&PostParams::default(), &exception_body(other.name(), "reach", &["settings"], expires))
        .await
        .unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    wait_for(&config_maps, "settings", "fixed: the other namespace's exception does not apply", |cm| {
        team_is(cm, "shop")
    })
    .await;
    let reach = wait_for(&exceptions_in(&harness, other.name()), "reach", "covers nothing", |e| {
        condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&reach, "covered"), 0);
    harness.stop().await;
}

/// Receives notifications until one of type `wanted` about `exception` arrives; returns it.
async fn until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<crate::receiver::Received>,
    seen: &mut Vec<serde_json::Value>,
    wanted: &str,
    exception: &str,
) -> serde_json::Value {
    let matches = |e: &serde_json::Value| e["type"] == wanted && e["data"]["exception"] == exception;
    within(wanted, async {
        while !seen.iter().any(matches) {
            let received = events.recv().await.expect("the receiver runs");
            seen.push(serde_json::from_slice(&received.body).unwrap());
        }
    })
    .await;
    seen.iter().find(|e| matches(e)).cloned().unwrap()
}

#[tokio::test]
async fn an_exception_expiring_soon_or_covering_nothing_says_so_and_notifies() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (url, mut events) = crate::receiver::start().await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(harness.client(), &ns);
    let hook = serde_json::from_value(crate::receiver::hook_secret("hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    let mut policy = owners_policy(&ns, json!({"mode": "Audit"}));
    policy["spec"]["escalation"] =
        json!({"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}});
    create_policy(&harness, policy).await;
    let in_a_month = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    let exceptions = exceptions_in(&harness, &ns);
    exceptions
        .create(&PostParams::default(), &exception_body(&ns, "covering", &["settings"], in_a_month))
        .await
        .unwrap();
    let covering = wait_for(&exceptions, "covering", "covers the drift", |e| status_number(e, "covered") == 1).await;
    assert_eq!(condition(&covering, "ExpiringSoon"), Some(("False".into(), "ExpiryNotNear".into())));

    // Three weeks and a half later, on the operator's clock: within the seven-day lead time.
    harness.clock.advance(jiff::SignedDuration::from_hours(24 * 25));
    let soon = wait_for(&exceptions, "covering", "expiring soon", |e| {
        condition(e, "ExpiringSoon").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(condition(&soon, "ExpiringSoon").map(|(_, r)| r), Some("ExpiresWithinLeadTime".into()));
    assert_eq!(condition(&soon, "Active").map(|(s, _)| s), Some("True".into()), "still in force");
    let mut seen = Vec::new();
    let expiring = until(&mut events, &mut seen, "dev.driftwarden.exception.expiring", &format!("{ns}/covering")).await;
    assert_eq!(expiring["data"]["covered"], 1);

    // One that covers nothing is flagged, and the policies it could concern hear of it.
    let later = harness.clock.now() + jiff::SignedDuration::from_hours(24 * 30);
    exceptions.create(&PostParams::default(), &exception_body(&ns, "idle", &["nothing-here"], later)).await.unwrap();
    wait_for(&exceptions, "idle", "flagged", |e| condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True")).await;
    let idle = until(&mut events, &mut seen, "dev.driftwarden.exception.covers_nothing", &format!("{ns}/idle")).await;
    assert_eq!(idle["data"]["covered"], 0);
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_in_the_operators_namespace_covers_another_one_and_a_namespaced_one_may_not() {
    // The scene is set before the operator starts: no fix may come before the exceptions.
    let mut harness = Harness::prepare().await;
    let central = harness.ns().to_string();
    let team = harness.cluster.temp_namespace().await.unwrap();
    let team = team.name().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &team);
    config_maps.create(&PostParams::default(), &config_map(&team, "settings", "other")).await.unwrap();
    let in_a_day = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let mut wide = exception_body(&central, "wide", &["settings"], in_a_day);
    wide.data["spec"]["match"]["namespaces"] = json!([team]);
    exceptions_in(&harness, &central).create(&PostParams::default(), &wide).await.unwrap();
    // Written in the team's namespace, reaching into the operator's.
    let mut reach = exception_body(&team, "reach", &["settings"], in_a_day);
    reach.data["spec"]["match"]["namespaces"] = json!([team, central]);
    exceptions_in(&harness, &team).create(&PostParams::default(), &reach).await.unwrap();
    let policies: Api<DynamicObject> = Api::namespaced_with(
        harness.client(),
        &team,
        &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
    );
    let policy: DynamicObject = serde_json::from_value(owners_policy(&team, json!({}))).unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
    harness.start_operator();

    let excepted = wait_for(&policies, "owners", "excepted", |p| status_number(p, "excepted") == 1).await;
    assert_eq!(excepted.data["status"]["drifts"][0]["action"], "Excepted");
    let covering =
        wait_for(&exceptions_in(&harness, &central), "wide", "covers", |e| status_number(e, "covered") == 1).await;
    assert_eq!(condition(&covering, "Ready").map(|(s, _)| s), Some("True".into()));
    let refused = wait_for(&exceptions_in(&harness, &team), "reach", "refused", |e| {
        condition(e, "Ready").is_some_and(|(s, _)| s == "False")
    })
    .await;
    let message = refused.data["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert_eq!(condition(&refused, "Ready").map(|(_, r)| r), Some("InvalidSpec".into()));
    assert!(message.contains(&format!("spec.match.namespaces names {central}")), "{message}");
    assert_eq!(condition(&refused, "Active").map(|(s, _)| s), Some("False".into()));
    assert_eq!(status_number(&refused, "covered"), 0);
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"), "covered: not fixed");
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_that_selects_nothing_reminds_the_policies_of_its_namespace() {
    let harness = Harness::start().await;
    let team = harness.cluster.temp_namespace().await.unwrap();
    let team = team.name().to_string();
    let (url, mut events) = crate::receiver::start().await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(harness.client(), &team);
    let hook = serde_json::from_value(crate::receiver::hook_secret("hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    let mut policy = owners_policy(&team, json!({"mode": "Audit"}));
    policy["spec"]["escalation"] =
        json!({"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}});
    let policies: Api<DynamicObject> = Api::namespaced_with(
        harness.client(),
        &team,
        &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()),
    );
    policies.create(&PostParams::default(), &serde_json::from_value(policy).unwrap()).await.unwrap();
    wait_for(&policies, "owners", "ready", |p| condition(p, "Ready").is_some_and(|(s, _)| s == "True")).await;
    // The policy governs nothing the exception names: only its namespace links them.
    let in_a_month = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    exceptions_in(&harness, &team)
        .create(&PostParams::default(), &exception_body(&team, "idle", &["nothing-here"], in_a_month))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let idle = until(&mut events, &mut seen, "dev.driftwarden.exception.covers_nothing", &format!("{team}/idle")).await;
    assert_eq!(
        idle["source"],
        format!("/apis/driftwarden.dev/v1alpha1/namespaces/{team}/driftexceptions/idle").as_str()
    );
    harness.stop().await;
}
