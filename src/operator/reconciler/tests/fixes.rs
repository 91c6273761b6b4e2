//! Fixes over time: the backoff after a failed fix, flapping, the rate limit and
//! remediation windows.

use serde_json::json;

use super::harness::{Harness, Own, configmap, events, fixes, key, ms, policy};
use crate::api::reasons;

#[test]
fn a_drift_is_fixed_once_and_its_verified_fix_is_announced() {
    let mut h = Harness::new();
    let effects = h.start(
        Own::policy(policy(json!({"autoRemediate": ["Metadata"]}))),
        vec![configmap("drifted", None), configmap("in-sync", Some("shop"))],
    );
    let mut asked = fixes(effects);
    assert_eq!(asked.len(), 1, "only the drifted ConfigMap is fixed");
    let fix = asked.remove(0);
    assert_eq!((fix.fix.key.clone(), fix.attempt), (key("drifted"), 1));
    assert_eq!(fix.fix.body["metadata"]["labels"], json!({"team": "shop"}), "the body holds the governed field only");
    let effects = h.verified(fix, configmap("drifted", Some("shop")));
    assert!(fixes(h.tick()).is_empty(), "nothing is fixed twice");
    assert_eq!(events(&effects).first().map(|e| e.0), Some(reasons::REMEDIATED));
}

#[test]
fn an_announcement_names_the_object_and_the_policy_by_uid_for_kubectl_describe() {
    let mut h = Harness::new();
    let effects =
        h.start(Own::policy(policy(json!({"autoRemediate": ["Metadata"]}))), vec![configmap("drifted", None)]);
    let effects = h.verified(fixes(effects).remove(0), configmap("drifted", Some("shop")));
    let announced = effects
        .iter()
        .find_map(|effect| match effect {
            crate::operator::reconciler::Effect::Publish(announcement) => Some(announcement),
            _ => None,
        })
        .expect("the fix is announced");
    assert_eq!(announced.object_uid.as_deref(), Some("uid-drifted"));
    assert_eq!(announced.policy_uid.as_deref(), Some("policy-uid"));
}

#[test]
fn a_failed_fix_is_tried_again_after_a_backoff_that_doubles() {
    let mut h = Harness::new();
    let effects = h.start(Own::policy(policy(json!({}))), vec![configmap("web", None)]);
    let fix = fixes(effects).remove(0);
    let effects = h.failed(fix);
    assert!(fixes(effects).is_empty(), "a failed fix is not retried at once");
    assert!(fixes(h.tick()).is_empty());
    h.advance(ms(499));
    assert!(fixes(h.tick()).is_empty(), "the first retry waits half a second");
    h.advance(ms(1));
    let fix = fixes(h.tick()).remove(0);
    assert_eq!(fix.attempt, 2);
    h.failed(fix);
    h.advance(ms(999));
    assert!(fixes(h.tick()).is_empty(), "the second retry waits a second");
    h.advance(ms(1));
    let fix = fixes(h.tick()).remove(0);
    assert_eq!(fix.attempt, 3);
    // A success ends the backoff: a new drift is fixed at once.
    h.verified(fix, configmap("web", Some("shop")));
    let effects = h.changed(configmap("web", Some("someone-else")));
    assert_eq!(fixes(effects).len(), 1);
}

#[test]
fn a_field_fixed_too_often_is_escalated_as_flapping_instead_of_fixed_again() {
    let mut h = Harness::new();
    let remediation = json!({"flapping": {"maxFixes": 2, "window": "10m"}});
    let mut asked = fixes(h.start(Own::policy(policy(remediation)), vec![configmap("web", None)]));
    // Fixed twice; another actor reverts the label each time.
    let mut escalated = Vec::new();
    for _ in 0..2 {
        let fix = asked.remove(0);
        h.verified(fix, configmap("web", Some("shop")));
        h.advance(ms(1_000));
        let effects = h.changed(configmap("web", None));
        escalated = h.announced(&effects);
        asked = fixes(effects);
    }
    assert!(asked.is_empty(), "the third revert is not fixed");
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!(escalated[0].0, reasons::FLAPPING_DETECTED);
    assert!(escalated[0].1.contains("conflict: fixed 2 times in 600s"), "{}", escalated[0].1);
    // The policy's status says so too.
    let status = h
        .tick()
        .into_iter()
        .find_map(|effect| match effect {
            crate::operator::reconciler::Effect::WritePolicyStatus { status, .. } => Some(status),
            _ => None,
        })
        .expect("the escalation changes the policy's status");
    let drift = &status.drifts[0];
    assert_eq!(drift.action, "Escalate", "{drift:?}");
    assert!(drift.reason.as_deref().is_some_and(|r| r.contains("reverting")), "{drift:?}");
    // Once the window has passed, the next look (a resync, or the object changing) fixes
    // the field again.
    h.advance(ms(10 * 60 * 1_000));
    assert!(fixes(h.tick()).is_empty(), "an escalation waits for the next look");
    assert_eq!(fixes(h.input(crate::operator::reconciler::Input::Resync)).len(), 1);
}

#[test]
fn a_policy_without_a_flapping_setting_stops_fighting_after_the_default_bound() {
    let mut h = Harness::new();
    let mut asked = fixes(h.start(Own::policy(policy(json!({}))), vec![configmap("web", None)]));
    // Another writer reverts the label a second after every fix.
    let mut fixed = 0;
    let mut escalated = Vec::new();
    while let Some(fix) = asked.pop() {
        fixed += 1;
        assert!(fixed <= 5, "more fixes than the default guard allows");
        h.verified(fix, configmap("web", Some("shop")));
        h.advance(ms(1_000));
        let effects = h.changed(configmap("web", None));
        escalated = h.announced(&effects);
        asked = fixes(effects);
    }
    assert_eq!(fixed, 5, "the default guard allows 5 fixes of a field in 10 minutes");
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!(escalated[0].0, reasons::FLAPPING_DETECTED);
    assert!(escalated[0].1.contains("conflict: fixed 5 times in 600s"), "{}", escalated[0].1);
    let status = h
        .tick()
        .into_iter()
        .find_map(|effect| match effect {
            crate::operator::reconciler::Effect::WritePolicyStatus { status, .. } => Some(status),
            _ => None,
        })
        .expect("the escalation changes the policy's status");
    assert_eq!((status.escalated, status.remediated), (1, 5));
    assert!(status.drifts[0].reason.as_deref().is_some_and(|r| r.starts_with("conflict")), "{:?}", status.drifts);
    // Further reverts within the window are not fought either.
    for _ in 0..3 {
        h.advance(ms(1_000));
        h.changed(configmap("web", Some("other")));
        assert!(fixes(h.input(crate::operator::reconciler::Input::Resync)).is_empty());
    }
}

#[test]
fn the_default_circuit_breaker_stops_a_mass_change_of_a_large_policy() {
    let mut h = Harness::new();
    let configmaps = (0..10).map(|i| configmap(&format!("web-{i}"), if i < 6 { None } else { Some("shop") })).collect();
    let effects = h.start(Own::policy(policy(json!({}))), configmaps);
    let escalated = h.announced(&effects);
    assert!(fixes(effects).is_empty(), "6 of 10 targets drift: above the default 50%");
    assert_eq!(escalated.len(), 6, "{escalated:?}");
    assert!(escalated.iter().all(|(_, m)| m.contains("above the circuit breaker's 50%")), "{escalated:?}");
    // Below the threshold, fixes go ahead.
    let mut h = Harness::new();
    let configmaps = (0..10).map(|i| configmap(&format!("web-{i}"), if i < 5 { None } else { Some("shop") })).collect();
    assert_eq!(fixes(h.start(Own::policy(policy(json!({}))), configmaps)).len(), 5);
}

#[test]
fn the_rate_limit_defers_fixes_to_the_next_minute() {
    let mut h = Harness::new();
    let configmaps = (0..5).map(|i| configmap(&format!("web-{i}"), None)).collect();
    let effects = h.start(Own::policy(policy(json!({"rateLimit": {"perMinute": 2}}))), configmaps);
    let first = fixes(effects);
    assert_eq!(first.len(), 2, "two fixes in the first minute");
    for fix in first {
        let name = fix.fix.key.name.clone();
        h.verified(fix, configmap(&name, Some("shop")));
    }
    h.advance(ms(30_000));
    assert!(fixes(h.tick()).is_empty(), "the minute is not over");
    h.advance(ms(30_001));
    let second = fixes(h.tick());
    assert_eq!(second.len(), 2, "two more once the minute is over");
}

#[test]
fn fixes_wait_for_the_remediation_window_and_start_when_it_opens() {
    let mut h = Harness::new();
    // The clock starts on a Monday at 10:00 UTC; the window opens at 12:00.
    let remediation = json!({"windows": [{"start": "12:00", "end": "13:00"}]});
    let effects = h.start(Own::policy(policy(remediation)), vec![configmap("web", None)]);
    assert!(fixes(effects).is_empty(), "outside the window nothing is fixed");
    h.advance(ms(2 * 3_600_000 - 1));
    assert!(fixes(h.tick()).is_empty());
    h.advance(ms(1));
    assert_eq!(fixes(h.tick()).len(), 1, "the fix starts when the window opens");
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_json_log_follows_one_drift_from_detection_to_its_verified_fix() {
    // The process-wide subscriber: a scoped one misses log sites that tests on other
    // threads, with no subscriber, have just marked as unwanted. Other tests log into it
    // too; only this one names the ConfigMap `followed`.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).expect("no other test sets a subscriber");
    let mut h = Harness::new();
    let fix = fixes(h.start(Own::policy(policy(json!({}))), vec![configmap("followed", None)])).remove(0);
    h.failed(fix);
    h.advance(ms(500));
    let fix = fixes(h.tick()).remove(0);
    h.verified(fix, configmap("followed", Some("shop")));

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let object = key("followed").to_string();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["object"] == json!(object) || l["span"]["object"] == json!(object))
        .collect();
    let about = |message: &str| {
        lines.iter().find(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message))).cloned()
    };
    assert!(about("drift detected").is_some(), "the drift is logged when detected: {lines:?}");
    let verified = about("drift fixed and verified").unwrap_or_else(|| panic!("the verified fix is logged: {lines:?}"));
    assert_eq!(verified["span"]["name"], json!("fix"), "{verified}");
    assert_eq!(verified["span"]["policy"], json!("shop/labels"), "{verified}");
    assert_eq!(verified["span"]["class"], json!("Metadata"), "{verified}");
    assert_eq!(verified["span"]["attempt"], json!(2), "the second attempt verified: {verified}");
}

#[test]
fn a_field_a_gitops_applier_set_is_escalated_as_a_conflict_not_fixed() {
    let mut h = Harness::new();
    let mut applied = configmap("web", Some("from-git"));
    applied["metadata"]["managedFields"] = json!([{
        "manager": "argocd-controller",
        "operation": "Apply",
        "apiVersion": "v1",
        "time": "2026-03-02T09:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}
    }]);
    let effects = h.start(Own::policy(policy(json!({}))), vec![applied]);
    let escalated = h.announced(&effects);
    assert!(fixes(effects).is_empty(), "driftwarden does not fight the applier");
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!(escalated[0].0, reasons::DRIFT_ESCALATED);
    assert!(escalated[0].1.contains("owned by argocd-controller; settle it in Git"), "{}", escalated[0].1);
}
