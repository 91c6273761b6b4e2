//! Exceptions over time: drift an active exception covers is left alone, and enforced again
//! the moment the exception expires.

use serde_json::json;

use super::harness::{Harness, Own, START, configmap, fixes, key, ms, namespace, policy};

fn exception(expires_at: &str) -> serde_json::Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1",
        "kind": "DriftException",
        "metadata": {"name": "web-team-label", "namespace": "shop", "generation": 1},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["web"]},
            "paths": ["/metadata/labels/team"],
            "justification": "the web team migrates its labels this week",
            "approvedBy": "platform-lead@example.com",
            "ticket": "OPS-1207",
            "approvedAt": "2026-03-01T00:00:00Z",
            "expiresAt": expires_at
        }
    })
}

#[test]
fn drift_under_an_exception_is_fixed_as_soon_as_the_exception_expires() {
    let mut h = Harness::new();
    let start: jiff::Timestamp = START.parse().unwrap();
    let expires = start + jiff::SignedDuration::from_hours(1);
    let own = Own {
        namespaces: vec![namespace("shop")],
        policies: vec![policy(json!({}))],
        exceptions: vec![exception(&expires.to_string())],
        ..Own::default()
    };
    let effects = h.start(own, vec![configmap("web", None), configmap("api", None)]);
    let asked: Vec<_> = fixes(effects).into_iter().map(|f| f.fix.key).collect();
    assert_eq!(asked, vec![key("api")], "the excepted drift is left alone");
    h.advance(jiff::SignedDuration::from_mins(59));
    assert!(fixes(h.tick()).is_empty(), "the exception still holds");
    h.advance(jiff::SignedDuration::from_mins(1));
    let asked: Vec<_> = fixes(h.tick()).into_iter().map(|f| f.fix.key).collect();
    assert_eq!(asked, vec![key("web")], "enforced again on the tick the exception expires");
    h.advance(ms(200));
}

#[test]
fn no_fix_starts_before_the_exceptions_are_listed() {
    let mut h = Harness::new();
    let own = Own { namespaces: vec![namespace("shop")], policies: vec![policy(json!({}))], ..Own::default() };
    // Everything but the exceptions is listed.
    let mut effects = h.list(crate::operator::watch::Source::Namespaces, own.namespaces);
    effects.extend(h.list(crate::operator::watch::Source::Policies, own.policies));
    h.serve_discovery(&effects);
    let effects =
        h.list(crate::operator::watch::Source::Kind(super::harness::configmaps_kind()), vec![configmap("web", None)]);
    assert!(fixes(effects).is_empty(), "an exception that exists must not lose a race with the drift it covers");
    let effects = h.list(crate::operator::watch::Source::Exceptions, vec![exception("2026-04-01T00:00:00Z")]);
    assert!(fixes(effects).is_empty(), "the exception covers it");
}

/// [`policy`] as a ClusterDriftPolicy, with `exceptions` as its `spec.exceptions`.
fn cluster_policy(exceptions: Option<serde_json::Value>) -> serde_json::Value {
    let mut cluster = policy(json!({}));
    cluster["kind"] = json!("ClusterDriftPolicy");
    cluster["metadata"].as_object_mut().unwrap().remove("namespace");
    if let Some(exceptions) = exceptions {
        cluster["spec"]["exceptions"] = exceptions;
    }
    cluster
}

/// Which ConfigMaps the first ticks of a start with `own` fix.
fn fixed_at_start(own: Own) -> Vec<crate::keys::ObjectKey> {
    let mut h = Harness::new();
    let effects = h.start(own, vec![configmap("web", None), configmap("api", None)]);
    fixes(effects).into_iter().map(|f| f.fix.key).collect()
}

#[test]
fn a_namespaced_exception_covers_a_cluster_policy_only_when_the_policy_allows_it() {
    let start: jiff::Timestamp = START.parse().unwrap();
    let expires = (start + jiff::SignedDuration::from_hours(1)).to_string();
    let own = |policy: serde_json::Value, exception: serde_json::Value| Own {
        namespaces: vec![namespace("shop"), namespace("driftwarden-system")],
        cluster_policies: vec![policy],
        exceptions: vec![exception],
        ..Own::default()
    };
    let tenant = exception(&expires);
    assert_eq!(
        fixed_at_start(own(cluster_policy(None), tenant.clone())),
        vec![key("api"), key("web")],
        "a tenant's exception does not exempt its namespace from a cluster policy"
    );
    let allowing = cluster_policy(Some(json!({"allowNamespaced": true})));
    assert_eq!(fixed_at_start(own(allowing, tenant)), vec![key("api")], "the policy allows it");
    let mut platform = exception(&expires);
    platform["metadata"]["namespace"] = json!("driftwarden-system");
    platform["spec"]["match"]["namespaces"] = json!(["shop"]);
    assert_eq!(
        fixed_at_start(own(cluster_policy(None), platform)),
        vec![key("api")],
        "one in the operator's namespace covers any policy's drift"
    );
    let namespaced = Own { namespaces: vec![namespace("shop")], policies: vec![policy(json!({}))], ..Own::default() };
    let covered = Own { exceptions: vec![exception(&expires)], ..namespaced };
    assert_eq!(fixed_at_start(covered), vec![key("api")], "a DriftPolicy's drift, by one of its namespace");
}

#[test]
fn a_cluster_policy_with_a_malformed_exceptions_field_is_invalid_and_says_where() {
    let mut h = Harness::new();
    let broken = cluster_policy(Some(json!({"allowNamespaced": "yes"})));
    let own = Own { namespaces: vec![namespace("shop")], cluster_policies: vec![broken], ..Own::default() };
    h.list(crate::operator::watch::Source::Namespaces, own.namespaces);
    h.list(crate::operator::watch::Source::ClusterPolicies, own.cluster_policies);
    let entry = h.reconciler.policies.values().next().expect("the policy is kept");
    let Err(problem) = &entry.compiled else { panic!("the policy should be invalid") };
    assert!(problem.starts_with("spec.exceptions: invalid type"), "{problem}");
}

#[test]
fn an_exception_longer_than_the_installation_allows_is_not_ready_and_covers_nothing() {
    let settings = crate::operator::OperatorSettings {
        max_exception_duration: std::time::Duration::from_secs(24 * 3600),
        ..crate::operator::OperatorSettings::default()
    };
    let mut h = Harness::with_settings(settings);
    let start: jiff::Timestamp = START.parse().unwrap();
    // Approved on March 1st, it lasts more than a day, well within its 90-day maxDuration.
    let expires = (start + jiff::SignedDuration::from_hours(1)).to_string();
    let own = Own { exceptions: vec![exception(&expires)], ..Own::policy(policy(json!({}))) };
    let effects = h.start(own, vec![configmap("web", None), configmap("api", None)]);
    let asked: Vec<_> = fixes(effects).into_iter().map(|f| f.fix.key).collect();
    assert_eq!(asked, vec![key("api"), key("web")], "the exception covers nothing");
    let effects = h.settled_tick();
    let status = effects
        .iter()
        .find_map(|e| match e {
            crate::operator::reconciler::Effect::WriteExceptionStatus { status, .. } => Some(status.clone()),
            _ => None,
        })
        .expect("its status is written");
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").expect("Ready");
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "ExceedsMaxDuration"));
    assert!(ready.message.contains("24h, the longest this installation allows"), "{}", ready.message);
}
