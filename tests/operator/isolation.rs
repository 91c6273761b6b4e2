//! One wrong policy never disturbs the others.

use driftwarden_sandbox::testing::install_crds;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn an_invalid_policy_is_not_ready_and_others_keep_working() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "someone-else")).await.unwrap();
    create_policy(
        &harness,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "broken", "namespace": ns},
            // The schema admits any time zone name; only the operator knows there is no Mars.
            "spec": {"remediation": {"windows": [{"start": "09:00", "end": "17:00", "timeZone": "Mars/Olympus"}]},
                     "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"x": "y"}}}}]}
        }),
    )
    .await;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    let broken = wait_for(&policies(&harness), "broken", "not ready", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "InvalidSpec")
    })
    .await;
    let message = broken.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("spec.remediation.windows[0]") && message.contains("Mars/Olympus"), "{message}");
    assert_eq!(condition(&broken, "Stalled").map(|(s, _)| s), Some("True".into()));
    wait_for(&config_maps, "settings", "the valid policy still fixes", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let live = config_maps.get("settings").await.unwrap();
    assert!(!live.metadata.labels.unwrap().contains_key("x"), "nothing of the invalid policy is applied");
    harness.stop().await;
}

/// The Ready condition's `(status, reason, message)`.
fn ready(policy: &kube::api::DynamicObject) -> Option<(String, String, String)> {
    let conditions = policy.data.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    let text = |field: &str| ready[field].as_str().unwrap_or_default().to_string();
    Some((text("status"), text("reason"), text("message")))
}

/// The DriftPolicy CRD as it was before it checked selector operators, so that a policy
/// written then can be stored with an operator nothing can evaluate.
fn drift_policy_crd_without_operator_checks() -> CustomResourceDefinition {
    fn loosen(node: &mut Value) {
        let Some(map) = node.as_object_mut() else {
            if let Some(items) = node.as_array_mut() {
                items.iter_mut().for_each(loosen);
            }
            return;
        };
        if let Some(operator) = map.get_mut("properties").and_then(|p| p.get_mut("operator")) {
            operator.as_object_mut().map(|o| o.remove("enum"));
            map.remove("x-kubernetes-validations");
        }
        map.values_mut().for_each(loosen);
    }
    let crd = driftwarden::api::crds().into_iter().find(|c| c.spec.names.kind == "DriftPolicy").expect("generated");
    let mut value = serde_json::to_value(crd).expect("CRDs serialize");
    loosen(&mut value);
    serde_json::from_value(value).expect("a loosened CRD is still a CRD")
}

#[tokio::test]
async fn a_bad_selector_a_malformed_template_and_conflicting_fields_are_not_ready_and_isolated() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "someone-else")).await.unwrap();
    let shop_config_maps =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}});
    // Each broken policy, if it were enforced, would change the ConfigMap the healthy one governs.
    let broken = [
        (
            "bad-selector",
            json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap",
                                            "selector": {"matchExpressions": [{"key": "app", "operator": "Like", "values": ["shop"]}]}},
                                  "template": {"metadata": {"labels": {"team": "selector"}}}}]}),
            "InvalidSpec",
            vec!["spec.baselines[0].match.selector.matchExpressions[0]", "Like"],
        ),
        (
            "malformed",
            json!({"baselines": [{"match": shop_config_maps, "template": {"metadata": {"labels": "team=malformed"}}}]}),
            "InvalidSpec",
            vec!["spec.baselines[0].template", "metadata.labels must be a map of strings"],
        ),
        (
            "conflicting",
            json!({"baselines": [{"match": shop_config_maps, "template": {"metadata": {"labels": {"team": "first"}}}},
                                 {"match": shop_config_maps, "template": {"metadata": {"labels": {"team": "second"}}}}]}),
            "ConflictingFields",
            vec!["spec.baselines[1].template", "spec.baselines[0].template", "/metadata/labels/team"],
        ),
    ];
    // The CRD refuses the bad selector today; it is stored as it would have been before.
    install_crds(&harness.client(), &[drift_policy_crd_without_operator_checks()]).await.expect("CRD loosened");
    for (name, spec, _, _) in &broken {
        create_policy(&harness, drift_policy(&ns, name, spec.clone())).await;
    }
    install_crds(&harness.client(), &driftwarden::api::crds()).await.expect("CRDs restored");
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator();

    for (name, _, reason, words) in &broken {
        let policy = wait_for(&policies(&harness), name, "not ready", |p| {
            ready(p).is_some_and(|(status, r, _)| status == "False" && r == *reason)
        })
        .await;
        let (_, _, message) = ready(&policy).unwrap();
        for word in words {
            assert!(message.contains(word), "{name}: {word:?} not in {message:?}");
        }
        assert_eq!(condition(&policy, "Stalled"), Some(("True".into(), reason.to_string())), "{name}");
    }
    let owners = wait_for(&policies(&harness), "owners", "the healthy policy fixed its drift", |p| {
        status_number(p, "remediated") == 1 && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(ready(&owners).map(|(s, r, _)| (s, r)), Some(("True".into(), "Reconciled".into())));
    let live = config_maps.get("settings").await.unwrap();
    assert_eq!(live.metadata.labels.unwrap().get("team").map(String::as_str), Some("shop"));
    harness.stop().await;
}
