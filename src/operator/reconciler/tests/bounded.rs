//! Bounded state: what the reconciler keeps about an object, a policy or an exception goes
//! with it.

use serde_json::json;

use super::super::Effect;
use super::harness::{Harness, Own, configmap, configmaps_kind, fixes, key, ms, policy};
use crate::keys::PolicyKey;
use crate::operator::watch::{Change, Source};

fn labels() -> PolicyKey {
    PolicyKey { namespace: Some("shop".into()), name: "labels".into() }
}

#[test]
fn a_deleted_object_leaves_nothing_behind() {
    let mut h = Harness::new();
    let asked = fixes(h.start(Own::policy(policy(json!({}))), vec![configmap("web", None), configmap("db", None)]));
    for fix in asked {
        let name = fix.fix.key.name.clone();
        h.verified(fix, configmap(&name, Some("shop")));
    }
    let entry = &h.reconciler.policies[&labels()];
    assert_eq!((entry.targets().len(), entry.history.objects(), entry.rate.len()), (2, 2, 2));
    h.advance(ms(1_000));
    h.watched(Source::Kind(configmaps_kind()), Change::Delete(configmap("web", Some("shop"))));
    let entry = &h.reconciler.policies[&labels()];
    assert!(!entry.targets().contains_key(&key("web")), "its target state goes");
    assert_eq!(entry.history.objects(), 1, "its fix history goes");
    let cached = &h.reconciler.kinds[&configmaps_kind()].cache;
    assert!(cached.get(&key("web")).is_none(), "its cache entry goes");
    assert!(!h.reconciler.in_flight.contains(&key("web")));
    // An object that no longer matches goes the same way.
    let mut unmatched = configmap("db", Some("shop"));
    unmatched["metadata"]["labels"]["app"] = json!("batch");
    h.changed(unmatched);
    let entry = &h.reconciler.policies[&labels()];
    assert!(entry.targets().is_empty() && entry.history.is_empty(), "{:?}", entry.targets().keys());
}

#[test]
fn fixes_older_than_the_flapping_window_are_forgotten_on_the_tick() {
    let mut h = Harness::new();
    let fix = fixes(h.start(Own::policy(policy(json!({}))), vec![configmap("web", None)])).remove(0);
    h.verified(fix, configmap("web", Some("shop")));
    assert_eq!(h.reconciler.policies[&labels()].history.len(), 1);
    // The default window is 10 minutes.
    h.advance(ms(9 * 60_000));
    h.tick();
    assert_eq!(h.reconciler.policies[&labels()].history.len(), 1, "a fix within the window still counts");
    h.advance(ms(60_000));
    h.tick();
    assert!(h.reconciler.policies[&labels()].history.is_empty());
}

#[test]
fn a_deleted_policy_or_exception_leaves_nothing_behind() {
    let mut h = Harness::new();
    let exception = json!({
        "apiVersion": "driftwarden.dev/v1alpha1",
        "kind": "DriftException",
        "metadata": {"name": "legacy", "namespace": "shop", "generation": 1},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["web"]},
            "justification": "migrating",
            "approvedBy": "platform-lead@example.com",
            "ticket": "OPS-1",
            "approvedAt": "2026-03-01T00:00:00Z",
            "expiresAt": "2026-03-03T10:00:00Z"
        }
    });
    let own = Own { exceptions: vec![exception.clone()], ..Own::policy(policy(json!({}))) };
    h.start(own, vec![configmap("web", None)]);
    h.settled_tick();
    assert_eq!(h.reconciler.exception_status.len(), 1);
    h.watched(Source::Exceptions, Change::Delete(exception));
    assert!(h.reconciler.exceptions.is_empty() && h.reconciler.exception_status.is_empty());
    h.watched(Source::Policies, Change::Delete(policy(json!({}))));
    h.settled_tick();
    assert!(h.reconciler.policies.is_empty());
    assert!(h.reconciler.writing_status.is_empty());
    assert!(h.reconciler.kinds.is_empty(), "a kind no policy names is no longer watched nor cached");
}

#[test]
fn a_namespace_gone_while_the_watch_was_down_is_forgotten_at_the_relist() {
    let mut h = Harness::new();
    h.start(Own::policy(policy(json!({}))), vec![]);
    h.watched(Source::Namespaces, Change::Apply(super::harness::namespace("gone")));
    assert!(h.reconciler.namespaces.contains_key("gone"));
    h.list(Source::Namespaces, vec![super::harness::namespace("shop")]);
    assert_eq!(h.reconciler.namespaces.keys().collect::<Vec<_>>(), ["shop"]);
}

#[test]
fn every_minute_the_notifier_is_told_which_sinks_are_still_named() {
    let mut h = Harness::new();
    let mut notifying = policy(json!({}));
    notifying["spec"]["escalation"] = json!({"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}}});
    h.start(Own::policy(notifying.clone()), vec![]);
    let retained = |effects: Vec<Effect>| {
        effects.into_iter().find_map(|e| match e {
            Effect::RetainSinks(used) => Some(used.len()),
            _ => None,
        })
    };
    assert_eq!(retained(h.tick()), None, "not before a minute has passed");
    h.advance(ms(60_000));
    assert_eq!(retained(h.tick()), Some(1));
    h.watched(Source::Policies, Change::Delete(notifying));
    h.advance(ms(60_000));
    assert_eq!(retained(h.tick()), Some(0), "the deleted policy's sink is forgotten");
}
