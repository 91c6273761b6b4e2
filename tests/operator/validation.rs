//! Tenant input the CRDs refuse: the API server answers 422 naming the field, for a bad
//! label selector, a path with a bad escape and a duration over its maximum.

use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::support::{Harness, drift_policy, policies};

async fn refusal(harness: &Harness, name: &str, spec: Value) -> (u16, String) {
    let object: DynamicObject = serde_json::from_value(drift_policy(harness.ns(), name, spec)).unwrap();
    match policies(harness).create(&PostParams::default(), &object).await {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("{name} was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn the_crd_refuses_bad_selectors_paths_and_durations_naming_the_field() {
    let harness = Harness::prepare().await;
    let baseline = |selector: Value| {
        json!({"baselines": [{
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": selector},
            "template": {"data": {"mode": "fast"}},
        }]})
    };
    let cases = [
        (
            "bad-key",
            baseline(json!({"matchLabels": {"app web": "shop"}})),
            "spec.baselines[0].match.selector.matchLabels",
        ),
        (
            "bad-value",
            baseline(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["-shop"]}]})),
            "spec.baselines[0].match.selector.matchExpressions[0].values[0]",
        ),
        (
            "no-values",
            baseline(json!({"matchExpressions": [{"key": "app", "operator": "In"}]})),
            "spec.baselines[0].match.selector.matchExpressions[0]",
        ),
        ("bad-escape", json!({"ignore": [{"paths": ["/metadata/annotations/a~2b"]}]}), "spec.ignore[0].paths[0]"),
        (
            "long-window",
            json!({"remediation": {"flapping": {"maxFixes": 3, "window": "169h"}}}),
            "spec.remediation.flapping.window",
        ),
    ];
    for (name, spec, field) in cases {
        let (code, message) = refusal(&harness, name, spec).await;
        assert_eq!(code, 422, "{name}: {message}");
        assert!(message.contains(field), "{name}: {message}");
    }
    let fine = baseline(json!({"matchLabels": {"app.kubernetes.io/name": "shop"}}));
    let object: DynamicObject = serde_json::from_value(drift_policy(harness.ns(), "fine", fine)).unwrap();
    policies(&harness).create(&PostParams::default(), &object).await.expect("a valid selector is admitted");
    harness.stop().await;
}
