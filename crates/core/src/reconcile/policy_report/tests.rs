use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::json;

use super::*;
use crate::api::RemediationClass;
use crate::engine::decide::{DeferReason, EscalationReason};
use crate::engine::drift::Drift;
use crate::keys::KindKey;

fn key(namespace: Option<&str>, kind: &str, name: &str) -> ObjectKey {
    ObjectKey { kind: KindKey::new("v1", kind), namespace: namespace.map(str::to_string), name: name.to_string() }
}

fn drift(source: &str, path: &str, class: RemediationClass, action: Action) -> DecidedDrift {
    DecidedDrift {
        source: source.to_string(),
        drift: Drift { path: path.to_string(), desired: json!("x"), live: None, class, attribution: None },
        action,
    }
}

fn target(drifts: Vec<DecidedDrift>) -> TargetState {
    TargetState {
        uid: Some("uid-1".into()),
        sources: vec!["baseline web".into()],
        drifts,
        first_seen: None,
        attempts: 0,
        opted_out: false,
        failure: None,
        retry_at: None,
        owner: None,
    }
}

fn policies(targets: Vec<(ObjectKey, TargetState)>) -> BTreeMap<PolicyKey, PolicyEntry> {
    let key = PolicyKey { namespace: None, name: "baseline".into() };
    let mut entry = PolicyEntry::new(key.clone(), Some(1), Err("not compiled in this test".into()));
    for (key, target) in targets {
        entry.set_target(&key, target);
    }
    BTreeMap::from([(key, entry)])
}

fn only(reports: &BTreeMap<Option<String>, ReportBody>, namespace: Option<&str>) -> Vec<(Outcome, Option<String>)> {
    reports[&namespace.map(str::to_string)].results.iter().map(|r| (r.result, r.category.clone())).collect()
}

#[test]
fn each_target_gets_the_outcome_of_what_was_decided() {
    let escalate = Action::Escalate { reason: EscalationReason::ClassNotAutomatic { class: RemediationClass::Access } };
    let mut opted = target(vec![drift(
        "baseline web",
        "/spec/a",
        RemediationClass::Spec,
        Action::Escalate { reason: EscalationReason::OptedOut },
    )]);
    opted.opted_out = true;
    let mut failed = target(vec![drift("baseline web", "/spec/a", RemediationClass::Spec, Action::Remediate)]);
    failed.failure = Some("the fix failed: Forbidden".into());
    let now = Timestamp::from_second(1_700_000_000).unwrap();
    let reports = build(
        &policies(vec![
            (key(Some("shop"), "ConfigMap", "a-compliant"), target(vec![])),
            (
                key(Some("shop"), "ConfigMap", "b-escalated"),
                target(vec![drift("baseline web", "/spec/x", RemediationClass::Access, escalate)]),
            ),
            (
                key(Some("shop"), "ConfigMap", "c-fixing"),
                target(vec![drift(
                    "baseline web",
                    "/metadata/labels/team",
                    RemediationClass::Metadata,
                    Action::Remediate,
                )]),
            ),
            (
                key(Some("shop"), "ConfigMap", "d-deferred"),
                target(vec![drift(
                    "baseline web",
                    "/spec/a",
                    RemediationClass::Spec,
                    Action::Defer { reason: DeferReason::RateLimited { per_minute: 1 } },
                )]),
            ),
            (
                key(Some("shop"), "ConfigMap", "e-excepted"),
                target(vec![drift(
                    "baseline web",
                    "/spec/a",
                    RemediationClass::Spec,
                    Action::Excepted { exception: "shop/freeze".into() },
                )]),
            ),
            (key(Some("shop"), "ConfigMap", "f-opted-out"), opted),
            (key(Some("shop"), "ConfigMap", "g-failed"), failed),
            (
                key(Some("other"), "ConfigMap", "audited"),
                target(vec![drift("baseline web", "/spec/a", RemediationClass::Spec, Action::Audit)]),
            ),
            (key(None, "Namespace", "shop"), target(vec![])),
        ]),
        now,
    );
    let class = |c: &str| Some(c.to_string());
    assert_eq!(
        only(&reports, Some("shop")),
        vec![
            (Outcome::Pass, None),
            (Outcome::Fail, class("Access")),
            (Outcome::Warn, class("Metadata")),
            (Outcome::Warn, class("Spec")),
            (Outcome::Skip, class("Spec")),
            (Outcome::Skip, class("Spec")),
            (Outcome::Fail, class("Spec")),
        ]
    );
    assert_eq!(reports[&Some("shop".to_string())].summary, Summary { pass: 1, fail: 2, warn: 2, error: 0, skip: 2 });
    assert_eq!(only(&reports, Some("other")), vec![(Outcome::Fail, class("Spec"))]);
    assert_eq!(only(&reports, None), vec![(Outcome::Pass, None)]);

    let escalated = &reports[&Some("shop".to_string())].results[1];
    assert_eq!(escalated.severity, Some("critical"));
    assert_eq!(escalated.message, "/spec/x: escalated: Access fixes are not in autoRemediate");
    assert!(reports[&Some("shop".to_string())].results[6].message.contains("the fix failed: Forbidden"));
    let object = reports[&Some("shop".to_string())].to_object(Some("shop"));
    assert_eq!(object["kind"], "PolicyReport");
    assert_eq!(
        object["metadata"],
        json!({"name": "driftwarden", "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "driftwarden"}})
    );
    assert_eq!(object["summary"], json!({"pass": 1, "fail": 2, "warn": 2, "error": 0, "skip": 2}));
    assert_eq!(
        object["results"][1],
        json!({
            "policy": "baseline", "rule": "baseline web", "result": "fail", "source": "driftwarden",
            "category": "Access", "severity": "critical",
            "message": "/spec/x: escalated: Access fixes are not in autoRemediate",
            "resources": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "b-escalated", "uid": "uid-1"}],
            "timestamp": {"seconds": 1_700_000_000, "nanos": 0}
        })
    );
    assert_eq!(reports[&None].to_object(None)["kind"], "ClusterPolicyReport");
}

#[test]
fn one_result_per_rule_and_policies_are_named_as_people_know_them() {
    let mut both = target(vec![drift("resource ConfigMap flags", "/data/beta", RemediationClass::Spec, Action::Audit)]);
    both.sources = vec!["baseline web".into(), "resource ConfigMap flags".into()];
    let key_ns = PolicyKey { namespace: Some("shop".into()), name: "owners".into() };
    let mut entry = PolicyEntry::new(key_ns.clone(), Some(1), Err("not compiled in this test".into()));
    entry.set_target(&key(Some("shop"), "ConfigMap", "flags"), both);
    let reports = build(&BTreeMap::from([(key_ns, entry)]), Timestamp::now());
    let results = &reports[&Some("shop".to_string())].results;
    let seen: Vec<(&str, &str, Outcome)> =
        results.iter().map(|r| (r.policy.as_str(), r.rule.as_str(), r.result)).collect();
    assert_eq!(
        seen,
        vec![
            ("shop/owners", "baseline web", Outcome::Pass),
            ("shop/owners", "resource ConfigMap flags", Outcome::Fail)
        ]
    );
}

#[test]
fn namespaces_without_results_have_no_report() {
    assert!(build(&policies(vec![]), Timestamp::now()).is_empty());
}

#[test]
fn comparison_ignores_when_results_were_produced_and_times_are_kept() {
    let targets = || {
        policies(vec![(
            key(Some("shop"), "ConfigMap", "a"),
            target(vec![drift("baseline web", "/spec/a", RemediationClass::Spec, Action::Audit)]),
        )])
    };
    let earlier = build(&targets(), Timestamp::from_second(1).unwrap());
    let later = build(&targets(), Timestamp::from_second(2).unwrap());
    let shop = Some("shop".to_string());
    assert!(earlier[&shop].same_ignoring_time(&later[&shop]));
    assert_ne!(earlier[&shop], later[&shop]);
    let mut kept = later[&shop].clone();
    kept.keep_times_from(&earlier[&shop]);
    assert_eq!(kept, earlier[&shop]);

    let changed = build(
        &policies(vec![(key(Some("shop"), "ConfigMap", "a"), target(vec![]))]),
        Timestamp::from_second(1).unwrap(),
    );
    assert!(!earlier[&shop].same_ignoring_time(&changed[&shop]));
}

#[test]
fn the_drifted_count_follows_every_change_of_the_targets() {
    let mut entry = PolicyEntry::new(PolicyKey { namespace: None, name: "p".into() }, Some(1), Err("none".into()));
    let recount = |entry: &PolicyEntry| entry.targets().values().filter(|t| t.is_drifted()).count() as u32;
    let drifted = || target(vec![drift("baseline web", "/data/a", RemediationClass::Spec, Action::Audit)]);
    let excepted = || {
        target(vec![drift(
            "baseline web",
            "/data/a",
            RemediationClass::Spec,
            Action::Excepted { exception: "shop/x".into() },
        )])
    };
    let (a, b, c) =
        (key(Some("shop"), "ConfigMap", "a"), key(Some("shop"), "ConfigMap", "b"), key(None, "Namespace", "c"));
    assert!(entry.set_target(&a, drifted()));
    assert!(!entry.set_target(&a, drifted()), "the same state changes nothing");
    assert!(entry.set_target(&b, excepted()));
    assert!(entry.set_target(&c, target(vec![])));
    assert_eq!((entry.drifted(), recount(&entry)), (1, 1));
    entry.set_target(&b, drifted());
    entry.set_target(&c, drifted());
    assert_eq!((entry.drifted(), recount(&entry)), (3, 3));
    entry.set_target(&a, target(vec![]));
    entry.update_target(&b, |t| t.drifts.clear());
    entry.update_target(&c, |t| t.attempts += 1);
    assert_eq!((entry.drifted(), recount(&entry)), (1, 1));
    assert!(entry.remove_target(&c).is_some());
    assert!(entry.remove_target(&c).is_none());
    assert_eq!((entry.drifted(), recount(&entry)), (0, 0));
    entry.set_target(&a, drifted());
    entry.clear_targets();
    assert_eq!((entry.drifted(), entry.targets().len()), (0, 0));
}

#[test]
fn a_batch_counts_new_objects_and_changed_drift_before_any_is_decided() {
    let mut entry = PolicyEntry::new(PolicyKey { namespace: None, name: "p".into() }, Some(1), Err("none".into()));
    let drifted = || target(vec![drift("baseline web", "/data/a", RemediationClass::Spec, Action::Audit)]);
    let (a, b, c, d) = (
        key(Some("shop"), "ConfigMap", "a"),
        key(Some("shop"), "ConfigMap", "b"),
        key(Some("shop"), "ConfigMap", "c"),
        key(Some("shop"), "ConfigMap", "d"),
    );
    entry.set_target(&a, drifted());
    entry.set_target(&b, target(vec![]));
    entry.set_target(&c, drifted());
    // a still drifts, b now drifts, c no longer does, d is new and drifts.
    for (key, drifts) in [(&a, true), (&b, true), (&c, false), (&d, true)] {
        entry.provisionally(key, drifts);
    }
    entry.freeze_batch_counts();
    assert_eq!(entry.counts_with(&a, false), (4, 3), "frozen for the whole batch");
    entry.end_batch();
    assert_eq!(entry.counts_with(&d, true), (4, 3), "after the batch: the targets as they are, and d");
}

#[test]
fn a_drifted_result_names_its_owner_and_a_passing_one_names_none() {
    let escalate = Action::Escalate { reason: EscalationReason::ClassNotAutomatic { class: RemediationClass::Access } };
    let mut drifted = target(vec![drift("baseline web", "/spec/x", RemediationClass::Access, escalate)]);
    drifted.owner = Some("payments".into());
    let mut compliant = target(vec![]);
    compliant.owner = Some("payments".into());
    let now = Timestamp::from_second(1_700_000_000).unwrap();
    let reports = build(
        &policies(vec![
            (key(Some("shop"), "ConfigMap", "a-drifted"), drifted),
            (key(Some("shop"), "ConfigMap", "b-compliant"), compliant),
        ]),
        now,
    );
    let results = &reports[&Some("shop".to_string())].results;
    assert_eq!(results[0].properties.get("owner").map(String::as_str), Some("payments"));
    assert!(results[1].properties.is_empty(), "{:?}", results[1]);
    let json = serde_json::to_value(&results[0]).unwrap();
    assert_eq!(json["properties"], json!({"owner": "payments"}));
    assert!(serde_json::to_value(&results[1]).unwrap().get("properties").is_none());
}
