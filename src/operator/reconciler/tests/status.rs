//! Policy status over time: coalesced on the tick, never written when nothing changed,
//! retried after a backoff when a write fails.

use serde_json::json;

use super::harness::{Harness, Own, configmap, configmaps_kind, fixes, ms, policy, status_writes};
use crate::api::policy::PolicyStatus;
use crate::keys::PolicyKey;
use crate::operator::reconciler::{Effect, Input, Outcome, RequestError};
use crate::operator::watch::Source;

/// The status writes among `effects`.
fn written(effects: Vec<Effect>) -> Vec<(PolicyKey, PolicyStatus)> {
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::WritePolicyStatus { policy, status } => Some((policy, status)),
            _ => None,
        })
        .collect()
}

fn answer(h: &mut Harness, writes: Vec<(PolicyKey, PolicyStatus)>) {
    for (policy, status) in writes {
        h.input(Input::Outcome(Outcome::StatusWritten(policy, Ok(status))));
    }
}

#[test]
fn status_is_written_on_the_tick_once_for_many_changes_and_not_at_all_when_nothing_changed() {
    let mut h = Harness::new();
    let effects = h.start(Own::policy(policy(json!({}))), vec![configmap("a", None), configmap("b", None)]);
    assert_eq!(status_writes(&effects), 0, "status waits for the tick");
    let asked = fixes(effects);
    let writes = written(h.tick());
    assert_eq!(writes.len(), 1);
    assert_eq!((writes[0].1.targets, writes[0].1.drifted), (2, 2));
    answer(&mut h, writes);
    // Both fixes end between two ticks: one write says so.
    for fix in asked {
        let name = fix.fix.key.name.clone();
        let effects = h.verified(fix, configmap(&name, Some("shop")));
        assert_eq!(status_writes(&effects), 0);
    }
    h.advance(ms(200));
    let writes = written(h.tick());
    assert_eq!(writes.len(), 1);
    assert_eq!((writes[0].1.drifted, writes[0].1.compliant, writes[0].1.remediated), (0, 2, 2));
    answer(&mut h, writes);
    // Nothing changes: no write, however many ticks and resyncs.
    for _ in 0..5 {
        h.advance(ms(200));
        assert_eq!(status_writes(&h.tick()), 0);
        assert_eq!(status_writes(&h.input(Input::Resync)), 0);
    }
}

#[test]
fn a_failed_status_write_is_tried_again_after_its_backoff() {
    let mut h = Harness::new();
    h.start(Own::policy(policy(json!({}))), vec![configmap("a", Some("shop"))]);
    let (policy, _) = written(h.tick()).remove(0);
    let status = kube::core::Status::failure("too many requests", "TooManyRequests").with_code(429);
    let error = RequestError::StatusWrite { source: kube::Error::Api(Box::new(status)) };
    h.input(Input::Outcome(Outcome::StatusWritten(policy, Err(error))));
    h.advance(ms(199));
    assert_eq!(status_writes(&h.tick()), 0, "the first retry waits 200 ms");
    h.advance(ms(1));
    assert_eq!(status_writes(&h.tick()), 1);
}

#[test]
fn a_policy_with_an_overflowing_duration_is_not_ready_and_the_others_are_served() {
    let mut h = Harness::new();
    let mut hostile = policy(json!({"flapping": {"maxFixes": 1, "window": "9999999999999999h"}}));
    hostile["metadata"]["name"] = json!("hostile");
    let own = Own {
        namespaces: vec![super::harness::namespace("shop")],
        policies: vec![hostile, policy(json!({}))],
        ..Own::default()
    };
    let effects = h.start(own, vec![configmap("web", None)]);
    assert_eq!(fixes(effects).len(), 1, "the valid policy still fixes");
    let writes = written(h.tick());
    let hostile = writes.iter().find(|(key, _)| key.name == "hostile").map(|(_, s)| s).expect("its status is written");
    let ready = hostile.conditions.iter().find(|c| c.type_ == "Ready").expect("Ready is set");
    assert_eq!(ready.status, "False");
    assert!(ready.message.contains("longer than 100 years"), "{}", ready.message);
}

#[test]
fn policies_with_values_the_crd_now_refuses_are_not_ready_and_the_others_are_served() {
    let mut h = Harness::new();
    let mut bad_key = policy(json!({}));
    bad_key["metadata"]["name"] = json!("bad-key");
    bad_key["spec"]["baselines"][0]["match"]["selector"] = json!({"matchLabels": {"app web": "web"}});
    let mut bad_value = policy(json!({}));
    bad_value["metadata"]["name"] = json!("bad-value");
    bad_value["spec"]["baselines"][0]["match"]["selector"] =
        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "-web"]}]});
    let mut bad_path = policy(json!({}));
    bad_path["metadata"]["name"] = json!("bad-path");
    bad_path["spec"]["ignore"] = json!([{"paths": ["/metadata/annotations/a~2b"]}]);
    let mut long_window = policy(json!({"flapping": {"maxFixes": 3, "window": "169h"}}));
    long_window["metadata"]["name"] = json!("long-window");
    let own = Own {
        namespaces: vec![super::harness::namespace("shop")],
        policies: vec![bad_key, bad_value, bad_path, long_window, policy(json!({}))],
        ..Own::default()
    };
    let effects = h.start(own, vec![configmap("web", None)]);
    assert_eq!(fixes(effects).len(), 1, "the valid policy still fixes");
    let writes = written(h.tick());
    let expected = [
        ("bad-key", "spec.baselines[0].match.selector.matchLabels: \"app web\" is not a valid label key"),
        (
            "bad-value",
            "spec.baselines[0].match.selector.matchExpressions[0].values[1]: \"-web\" is not a valid label value",
        ),
        ("bad-path", "spec.ignore[0].paths[0]: path \"/metadata/annotations/a~2b\" has a '~' that is not an escape"),
        ("long-window", "\"169h\" is longer than 168h, the longest this field allows"),
    ];
    for (name, message) in expected {
        let status = writes.iter().find(|(key, _)| key.name == name).map(|(_, s)| s).expect("its status is written");
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready").expect("Ready is set");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "InvalidSpec"), "{name}");
        assert!(ready.message.contains(message), "{name}: {}", ready.message);
    }
    let served = writes.iter().find(|(key, _)| key.name == "labels").map(|(_, s)| s).expect("its status is written");
    assert!(served.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"), "{served:?}");
}

#[test]
fn a_sink_refusal_shows_on_the_policies_naming_the_sink_until_a_delivery_goes_through() {
    use crate::api::common::SecretKeyRef;
    use crate::api::policy::{CloudEventsMode, NotifySpec};
    use crate::notification::Sink;
    use crate::reconcile::sinks::SinkHealth;

    let mut h = Harness::new();
    let mut named = policy(json!({}));
    named["spec"]["escalation"] = json!({"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}}});
    h.start(Own::policy(named), vec![configmap("a", Some("shop"))]);
    let first = written(h.tick());
    assert!(first[0].1.conditions.iter().all(|c| c.type_ != "NotificationSinkReady"), "nothing known yet");
    answer(&mut h, first);
    let sink = |name: &str| {
        let url_secret_ref = SecretKeyRef { name: name.to_string(), key: "url".to_string() };
        Sink {
            namespace: "shop".into(),
            spec: NotifySpec { url_secret_ref, auth_secret_ref: None, mode: CloudEventsMode::Binary, types: Vec::new() },
        }
        .key()
    };
    let sink_condition = |status: &PolicyStatus| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == "NotificationSinkReady")
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    let refused =
        SinkHealth::Refused { reason: "SecretNotLabelled", message: "sink shop/hooks: Secret hooks …".into() };

    // Another sink's refusal says nothing about this policy.
    h.input(Input::Outcome(Outcome::SinkChecked { sink: sink("other"), health: refused.clone() }));
    h.advance(ms(200));
    assert_eq!(status_writes(&h.tick()), 0);

    h.input(Input::Outcome(Outcome::SinkChecked { sink: sink("hooks"), health: refused.clone() }));
    h.advance(ms(200));
    let writes = written(h.tick());
    assert_eq!(writes.len(), 1);
    assert_eq!(
        sink_condition(&writes[0].1),
        Some(("False".into(), "SecretNotLabelled".into(), "sink shop/hooks: Secret hooks …".into()))
    );
    assert_eq!(crate::api::conditions::check_contract(&writes[0].1.conditions, Some(1)), Ok(()));
    answer(&mut h, writes);

    // The same refusal again changes nothing; a delivery turns it True.
    h.input(Input::Outcome(Outcome::SinkChecked { sink: sink("hooks"), health: refused }));
    h.advance(ms(200));
    assert_eq!(status_writes(&h.tick()), 0);
    h.input(Input::Outcome(Outcome::SinkChecked { sink: sink("hooks"), health: SinkHealth::Delivered }));
    h.advance(ms(200));
    let writes = written(h.tick());
    assert_eq!(writes.len(), 1);
    assert_eq!(
        sink_condition(&writes[0].1).map(|(s, r, _)| (s, r)),
        Some(("True".into(), "NotificationDelivered".into()))
    );
}

#[test]
fn a_kind_listed_empty_after_the_first_status_write_makes_the_policy_ready() {
    let mut h = Harness::new();
    let effects = h.list_own(Own::policy(policy(json!({}))));
    assert!(h.serve_discovery(&effects));
    // The tick comes before the kind's list ends: the policy says it is still listing.
    let writes = written(h.tick());
    let ready = |status: &PolicyStatus| status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    assert_eq!(writes.len(), 1);
    assert!(!ready(&writes[0].1));
    answer(&mut h, writes);
    // No ConfigMap at all: nothing is evaluated, yet the policy is now Ready.
    h.list(Source::Kind(configmaps_kind()), vec![]);
    h.advance(ms(200));
    let writes = written(h.tick());
    assert_eq!(writes.len(), 1, "the listed kind changes the policy's readiness");
    assert!(ready(&writes[0].1), "{:?}", writes[0].1.conditions);
    assert_eq!(writes[0].1.targets, 0);
}
