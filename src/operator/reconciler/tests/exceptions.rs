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
    let effects = h.list(crate::operator::watch::Source::Exceptions, vec![exception("2027-01-01T00:00:00Z")]);
    assert!(fixes(effects).is_empty(), "the exception covers it");
}
