//! The admission objects generated from a policy: applied once everything is listed,
//! applied again when the policy changes, a refusal said (condition and Event) and retried
//! with backoff, deleted with the policy.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::harness::{Harness, Own, configmap, policy};
use crate::operator::OperatorSettings;
use crate::operator::reconciler::{AdmissionWrite, Effect, EventType, Input, Outcome, RequestError};
use crate::operator::watch::{Change, Source};

fn guarded(template: Value) -> Value {
    let mut policy = policy(json!({}));
    policy["spec"]["baselines"][0]["template"] = template;
    policy["spec"]["admission"] = json!({"action": "Deny"});
    policy
}

fn writes(effects: &[Effect]) -> Vec<AdmissionWrite> {
    effects.iter().filter_map(|e| if let Effect::WriteAdmission(w) = e { Some(w.clone()) } else { None }).collect()
}

/// The AdmissionReady condition of the last status write among `effects`: (status, reason).
fn admission_ready(effects: &[Effect]) -> Option<(String, String)> {
    effects.iter().rev().find_map(|e| match e {
        Effect::WritePolicyStatus { status, .. } => {
            status.conditions.iter().find(|c| c.type_ == "AdmissionReady").map(|c| (c.status.clone(), c.reason.clone()))
        }
        _ => None,
    })
}

fn written(h: &mut Harness, write: AdmissionWrite, result: Result<(), RequestError>) -> Vec<Effect> {
    h.input(Input::Outcome(Outcome::AdmissionWritten { write, result }))
}

#[test]
fn generated_objects_follow_the_policy_and_a_refusal_is_said_and_retried() {
    let mut h = Harness::with_settings(OperatorSettings { admission: true, ..OperatorSettings::default() });
    let policy = guarded(json!({"metadata": {"labels": {"team": "shop"}}}));
    let started = h.start(Own::policy(policy.clone()), vec![configmap("web", Some("shop"))]);
    let mut effects = h.settle(started);
    let ticked = h.tick();
    effects.extend(h.settle(ticked));
    let keep =
        effects.iter().find_map(|e| if let Effect::SweepAdmission { keep } = e { Some(keep.clone()) } else { None });
    assert_eq!(
        keep.expect("objects of deleted policies are looked for").into_iter().collect::<Vec<_>>(),
        ["dp.driftwarden.dev.shop.labels"]
    );
    let first = writes(&effects);
    assert_eq!(first.len(), 1, "one policy, one pair of objects");
    let (vap, _) = first[0].objects.clone().expect("objects to apply");
    assert!(vap.to_string().contains("/metadata/labels/team must be 'shop'"), "{vap}");
    assert!(writes(&h.tick()).is_empty(), "nothing more while the write is under way");

    // Refused: a Warning Event once, the condition says so, tried again after the backoff.
    let refused = RequestError::Internal("spec.validations[0].expression: compilation failed".into());
    let answered = written(&mut h, first[0].clone(), Err(refused));
    let warned: Vec<_> = answered
        .iter()
        .filter(|e| matches!(e, Effect::PublishOn { type_: EventType::Warning, reason: "AdmissionRefused", .. }))
        .collect();
    assert_eq!(warned.len(), 1);
    h.advance(SignedDuration::from_millis(300));
    let ticked = h.settled_tick();
    assert_eq!(admission_ready(&ticked), Some(("False".into(), "AdmissionRefused".into())));
    assert!(writes(&ticked).is_empty(), "not before the backoff is over");
    h.advance(SignedDuration::from_secs(2));
    let retried = writes(&h.tick());
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].digest, first[0].digest, "the same objects");
    let answered = written(&mut h, retried[0].clone(), Ok(()));
    assert!(!answered.iter().any(|e| matches!(e, Effect::PublishOn { .. })), "no Event for success");
    h.advance(SignedDuration::from_millis(300));
    let ticked = h.settled_tick();
    assert_eq!(admission_ready(&ticked), Some(("True".into(), "AdmissionEnforced".into())));
    assert!(writes(&ticked).is_empty(), "in place: nothing to write");

    // The policy changes: its objects are applied again, as the new template says.
    let mut edited = guarded(json!({"metadata": {"labels": {"team": "books"}}}));
    edited["metadata"]["generation"] = json!(2);
    h.watched(Source::Policies, Change::Apply(edited.clone()));
    let again = writes(&h.tick());
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].digest, first[0].digest);
    assert!(again[0].objects.as_ref().unwrap().0.to_string().contains("must be 'books'"));
    written(&mut h, again[0].clone(), Ok(()));

    // The policy goes: so do its objects.
    h.watched(Source::Policies, Change::Delete(edited));
    let deleted = writes(&h.tick());
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].objects.is_none(), "a deletion");
    assert_eq!(deleted[0].name, "dp.driftwarden.dev.shop.labels");
    written(&mut h, deleted[0].clone(), Ok(()));
    assert!(writes(&h.tick()).is_empty());
}

#[test]
fn nothing_is_generated_without_admission_and_the_policy_says_so() {
    let mut h = Harness::new();
    let started = h.start(Own::policy(guarded(json!({"metadata": {"labels": {"team": "shop"}}}))), vec![]);
    let mut effects = h.settle(started);
    for _ in 0..2 {
        h.advance(SignedDuration::from_millis(300));
        effects.extend(h.settled_tick());
    }
    assert!(writes(&effects).is_empty());
    assert!(!effects.iter().any(|e| matches!(e, Effect::SweepAdmission { .. })));
    assert_eq!(admission_ready(&effects), Some(("False".into(), "AdmissionUnavailable".into())));

    // The policy drops spec.admission: the condition goes with it.
    let mut plain = guarded(json!({"metadata": {"labels": {"team": "shop"}}}));
    plain["spec"].as_object_mut().unwrap().remove("admission");
    plain["metadata"]["generation"] = json!(2);
    let mut effects = h.watched(Source::Policies, Change::Apply(plain));
    for _ in 0..2 {
        h.advance(SignedDuration::from_millis(300));
        effects.extend(h.settled_tick());
    }
    let written = effects.iter().rev().find_map(|e| match e {
        Effect::WritePolicyStatus { status, .. } => Some(status.clone()),
        _ => None,
    });
    let written = written.expect("the status is written again");
    assert!(!written.conditions.iter().any(|c| c.type_ == "AdmissionReady"), "{:?}", written.conditions);
}
