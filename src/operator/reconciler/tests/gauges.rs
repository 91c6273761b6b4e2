//! The gauges the leader sets on every tick: open circuit breakers, and campaigns by
//! condition with their findings by state, from what the loop holds, so a breaker that
//! closes or a campaign that goes leaves them at once.

use serde_json::json;

use super::harness::{Harness, Own, audit_policy, campaign, configmap, namespace, policy};
use crate::operator::metrics::FINDING_STATES;
use crate::operator::watch::{Change, Source};

#[test]
fn an_open_circuit_breaker_is_a_gauge_until_the_drift_is_gone() {
    let mut h = Harness::new();
    let configmaps = (0..10).map(|i| configmap(&format!("web-{i}"), if i < 6 { None } else { Some("shop") })).collect();
    h.start(Own::policy(policy(json!({}))), configmaps);
    assert_eq!(h.metrics.circuit_breakers_open(), 0, "set on the tick, not before");
    h.settled_tick();
    assert_eq!(h.metrics.circuit_breakers_open(), 1, "6 of 10 targets drift: above the default 50%");
    for i in 0..6 {
        h.changed(configmap(&format!("web-{i}"), Some("shop")));
    }
    h.settled_tick();
    assert_eq!(h.metrics.circuit_breakers_open(), 0, "no drift left: the breaker is closed");

    // An audit policy fixes nothing, so it has no breaker to open.
    let mut h = Harness::new();
    let configmaps = (0..10).map(|i| configmap(&format!("web-{i}"), None)).collect();
    h.start(Own::policy(policy(json!({"mode": "Audit"}))), configmaps);
    h.settled_tick();
    assert_eq!(h.metrics.circuit_breakers_open(), 0);
}

#[test]
fn campaigns_are_counted_by_condition_and_their_findings_by_state() {
    let mut h = Harness::new();
    let mut late = campaign(json!({"mode": "Manual"}));
    late["spec"]["deadline"] = json!("2026-01-01T00:00:00Z");
    let own = Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![audit_policy()],
        campaigns: vec![late],
        ..Own::default()
    };
    let configmaps = (0..3).map(|i| configmap(&format!("web-{i}"), if i < 2 { None } else { Some("shop") })).collect();
    h.start(own, configmaps);
    h.settled_tick();
    h.settled_tick();
    assert_eq!(h.metrics.campaigns("DeadlineMissed"), 1, "the deadline passed before the campaign was met");
    assert_eq!(h.metrics.campaigns("AtRisk"), 1, "a missed deadline is a campaign at risk too");
    assert_eq!((h.metrics.campaigns("OnTrack"), h.metrics.campaigns("Completed")), (0, 0));
    let findings: i64 = FINDING_STATES.iter().map(|state| h.metrics.campaign_findings(state)).sum();
    assert_eq!(findings, 2, "one finding per drifted asset");
    assert_eq!(h.metrics.campaign_findings("Closed"), 0);

    // The campaign is deleted: the gauges forget it on the next tick.
    let mut gone = campaign(json!({"mode": "Manual"}));
    gone["metadata"]["resourceVersion"] = json!("900");
    h.watched(Source::Campaigns, Change::Delete(gone));
    h.settled_tick();
    assert_eq!(h.metrics.campaigns("DeadlineMissed"), 0);
    let findings: i64 = FINDING_STATES.iter().map(|state| h.metrics.campaign_findings(state)).sum();
    assert_eq!(findings, 0);
}
