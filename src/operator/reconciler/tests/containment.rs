//! Containment: one policy whose handling panics is stalled with reason `InternalError`
//! (its status, an Event, the metric say so) while every other policy and object is still
//! served, and the panic is not triggered again in a tight loop.

use serde_json::{Value, json};

use super::super::contain::{Step, inject};
use super::super::{Effect, Input, OwnResource};
use super::harness::{Harness, Own, configmap, configmaps_kind, events, fixes, key, ms, namespace, policy};
use crate::api::policy::PolicyStatus;
use crate::api::reasons;
use crate::keys::PolicyKey;
use crate::operator::metrics::InternalErrorKind;
use crate::operator::watch::{Change, Source};

/// A second DriftPolicy of `shop` that wants `tier: web` on the same ConfigMaps.
fn tier_policy() -> Value {
    let mut tier = policy(json!({}));
    tier["metadata"]["name"] = json!("tier");
    tier["spec"]["baselines"][0]["template"] = json!({"metadata": {"labels": {"tier": "web"}}});
    tier
}

/// A ConfigMap of `shop` labelled `app: web` and `tier: web`, with `team` as given.
fn labelled(name: &str, team: Option<&str>) -> Value {
    let mut object = configmap(name, team);
    object["metadata"]["labels"]["tier"] = json!("web");
    object
}

fn labels_policy() -> PolicyKey {
    PolicyKey { namespace: Some("shop".into()), name: "labels".into() }
}

fn both() -> Own {
    Own { namespaces: vec![namespace("shop")], policies: vec![policy(json!({})), tier_policy()], ..Own::default() }
}

/// The status written for policy `name` among `effects`.
fn status_of(effects: &[Effect], name: &str) -> Option<PolicyStatus> {
    effects.iter().find_map(|effect| match effect {
        Effect::WritePolicyStatus { policy, status } if policy.name == name => Some(status.clone()),
        _ => None,
    })
}

fn condition(status: &PolicyStatus, type_: &str) -> (String, String, String) {
    let c = status.conditions.iter().find(|c| c.type_ == type_).expect("the condition is set");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// The paths of each policy's share of the fix of `name`.
fn fixed_by(asked: &[super::harness::AskedFix], name: &str) -> Vec<String> {
    asked
        .iter()
        .filter(|f| f.fix.key == key(name))
        .flat_map(|f| f.parts.iter().map(|p| format!("{} {}", p.policy.name, p.paths.join(","))))
        .collect()
}

#[test]
fn an_object_whose_evaluation_panics_stalls_its_policy_and_everything_else_heals() {
    let mut h = Harness::new();
    let planted = inject(Step::Evaluate, &format!("{} {}", labels_policy(), key("bad")));
    let effects = h.start(both(), vec![configmap("bad", None), configmap("good", None)]);
    let announced = events(&effects);
    let asked = fixes(effects);
    assert_eq!(fixed_by(&asked, "good"), ["labels /metadata/labels/team", "tier /metadata/labels/tier"]);
    assert_eq!(fixed_by(&asked, "bad"), ["tier /metadata/labels/tier"], "the other policy still fixes it");
    let internal: Vec<_> = announced.iter().filter(|(reason, _)| *reason == reasons::INTERNAL_ERROR).collect();
    assert_eq!(internal.len(), 1, "{announced:?}");
    assert!(internal[0].1.contains("ConfigMap shop/bad") && internal[0].1.contains("injected panic"), "{internal:?}");
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Object), 1);
    assert!(h.metrics.encode().contains("driftwarden_internal_errors_total{kind=\"object\"} 1"));

    // The fixes asked for are done; the one of `bad` changes it, and a changed object is
    // evaluated again at once (and panics again).
    for fix in asked {
        let name = fix.fix.key.name.clone();
        let team = (name == "good").then_some("shop");
        h.verified(fix, labelled(&name, team));
    }
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Object), 2);

    let effects = h.settled_tick();
    let stalled = status_of(&effects, "labels").expect("the stalled policy's status is written");
    let (status, reason, message) = condition(&stalled, "Stalled");
    assert_eq!((status.as_str(), reason.as_str()), ("True", reasons::INTERNAL_ERROR));
    assert!(message.contains("ConfigMap shop/bad") && message.contains("injected panic"), "{message}");
    assert_eq!(condition(&stalled, "Ready").0, "False");
    let served = status_of(&effects, "tier").expect("the other policy's status is written");
    assert_eq!(condition(&served, "Ready").0, "True");
    assert_eq!(condition(&served, "Stalled").0, "False");
    assert_eq!(served.compliant, 2, "the other policy healed both objects");

    // Ticks do not run into the panic again.
    for _ in 0..5 {
        h.advance(ms(1_000));
        h.tick();
    }
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Object), 2, "no tight loop");
    // A resync after the backoff (20 s after the second panic) tries again; it still
    // panics, and waits twice as long.
    h.advance(ms(15_000));
    h.input(Input::Resync);
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Object), 3);
    h.advance(ms(39_000));
    h.input(Input::Resync);
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Object), 3, "the third backoff is 40 s");
    // Once evaluating it no longer panics, the next retry fixes it and the policy is ready.
    drop(planted);
    h.advance(ms(1_000));
    let asked = fixes(h.input(Input::Resync));
    assert_eq!(fixed_by(&asked, "bad"), ["labels /metadata/labels/team"]);
    let effects = h.settled_tick();
    let ready = status_of(&effects, "labels").expect("the status changes back");
    assert_eq!(condition(&ready, "Stalled").0, "False");
    assert!(h.reconciler.policies.values().all(|p| p.panicked.is_empty()));
}

#[test]
fn a_policy_whose_compilation_panics_is_stalled_until_its_spec_changes() {
    let mut h = Harness::new();
    let planted = inject(Step::Compile, &labels_policy().to_string());
    let effects = h.start(both(), vec![configmap("web", None)]);
    let on_policy: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::PublishOn { resource, reason, message, .. } => Some((resource.clone(), *reason, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(on_policy.len(), 1, "one Event on the policy");
    assert_eq!(
        (on_policy[0].0.clone(), on_policy[0].1),
        (OwnResource::Policy(labels_policy()), reasons::INTERNAL_ERROR)
    );
    let mut asked = fixes(effects);
    assert_eq!(fixed_by(&asked, "web"), ["tier /metadata/labels/tier"], "the other policy is served");
    h.verified(asked.remove(0), labelled("web", None));
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Policy), 1);
    let stalled = status_of(&h.settled_tick(), "labels").expect("its status is written");
    let (status, reason, message) = condition(&stalled, "Stalled");
    assert_eq!((status.as_str(), reason.as_str()), ("True", reasons::INTERNAL_ERROR));
    assert!(message.contains("injected panic"), "{message}");
    // The same generation seen again is not compiled again.
    h.watched(Source::Policies, Change::Apply(policy(json!({}))));
    h.input(Input::Resync);
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Policy), 1);
    // A new generation is compiled afresh.
    drop(planted);
    let mut edited = policy(json!({}));
    edited["metadata"]["generation"] = json!(2);
    let effects = h.watched(Source::Policies, Change::Apply(edited));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Watch { .. })),
        "the cache widens to the fields the policy now governs"
    );
    let asked = fixes(h.list(Source::Kind(configmaps_kind()), vec![labelled("web", None)]));
    assert_eq!(fixed_by(&asked, "web"), ["labels /metadata/labels/team"]);
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Policy), 1);
}

#[test]
fn a_campaign_whose_step_panics_is_stalled_and_the_other_campaign_runs_its_waves() {
    use super::harness::{audit_policy, campaign};
    let strategy = json!({"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 1, "waveInterval": "1m"});
    let mut other = campaign(strategy.clone());
    other["metadata"]["name"] = json!("other");
    let own = Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![audit_policy()],
        campaigns: vec![campaign(strategy.clone()), other],
        ..Own::default()
    };
    let planted = inject(Step::Campaign, "label-everything");
    let mut h = Harness::new();
    h.start(own, vec![configmap("web-0", None), configmap("web-1", None)]);
    // Findings are written on the first tick, the first wave starts on the next.
    let mut effects = h.settled_tick();
    effects.extend(h.settled_tick());
    let statuses: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::WriteCampaignStatus { name, status } => Some((name.clone(), status.clone())),
            _ => None,
        })
        .collect();
    let stalled = |name: &str| {
        statuses.iter().rfind(|(n, _)| n == name).and_then(|(_, s)| {
            s.conditions.iter().find(|c| c.type_ == "Stalled").map(|c| (c.status.clone(), c.reason.clone()))
        })
    };
    assert_eq!(stalled("label-everything"), Some(("True".to_string(), reasons::INTERNAL_ERROR.to_string())));
    assert_ne!(stalled("other").map(|s| s.1), Some(reasons::INTERNAL_ERROR.to_string()));
    let asked = fixes(effects);
    let campaigns: Vec<_> = asked
        .iter()
        .flat_map(|f| f.parts.iter().filter_map(|p| p.campaign.as_ref().map(|c| c.campaign.clone())))
        .collect();
    assert_eq!(campaigns, ["other"], "the other campaign's first wave runs");
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Campaign), 1);
    for _ in 0..3 {
        h.advance(ms(1_000));
        h.settled_tick();
    }
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Campaign), 1, "a stalled campaign is left alone");
    // A changed spec is handled afresh.
    drop(planted);
    let mut edited = campaign(strategy);
    edited["metadata"]["generation"] = json!(2);
    h.watched(Source::Campaigns, Change::Apply(edited));
    let effects = h.settled_tick();
    let resumed = effects.iter().find_map(|e| match e {
        Effect::WriteCampaignStatus { name, status } if name == "label-everything" => Some(status.clone()),
        _ => None,
    });
    let resumed = resumed.expect("its status is written again");
    assert!(resumed.conditions.iter().all(|c| c.reason != reasons::INTERNAL_ERROR), "{:?}", resumed.conditions);
}

#[test]
fn an_exception_whose_status_panics_is_stalled_and_the_others_are_written() {
    let exception = |name: &str, generation: i64| {
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1",
            "kind": "DriftException",
            "metadata": {"name": name, "namespace": "shop", "generation": generation},
            "spec": {
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["web"]},
                "justification": "migrating",
                "approvedBy": "platform-lead@example.com",
                "ticket": "OPS-1",
                "approvedAt": "2026-03-01T00:00:00Z",
                "expiresAt": "2026-03-03T10:00:00Z"
            }
        })
    };
    let planted = inject(Step::Exception, "shop/broken");
    let mut h = Harness::new();
    let own = Own { exceptions: vec![exception("broken", 1), exception("fine", 1)], ..Own::policy(policy(json!({}))) };
    h.start(own, vec![configmap("web", None)]);
    let effects = h.settled_tick();
    let written = |effects: &[Effect], name: &str| {
        effects.iter().find_map(|e| match e {
            Effect::WriteExceptionStatus { key, status } if key.1 == name => Some(status.clone()),
            _ => None,
        })
    };
    let stalled = written(&effects, "broken").expect("the stalled exception's status is written");
    let reason = |status: &crate::api::exception::ExceptionStatus, type_: &str| {
        status.conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.clone(), c.reason.clone()))
    };
    assert_eq!(reason(&stalled, "Stalled"), Some(("True".into(), reasons::INTERNAL_ERROR.into())));
    let fine = written(&effects, "fine").expect("the other exception's status is written");
    assert_eq!(reason(&fine, "Ready"), Some(("True".into(), reasons::RECONCILED.into())));
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::PublishOn { resource: OwnResource::Exception(_, name), .. } if name == "broken")
        )
    );
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Exception), 1);
    h.advance(ms(1_000));
    h.settled_tick();
    assert_eq!(h.metrics.internal_errors(InternalErrorKind::Exception), 1, "left alone until its spec changes");
    drop(planted);
    h.watched(Source::Exceptions, Change::Apply(exception("broken", 2)));
    let effects = h.settled_tick();
    let resumed = written(&effects, "broken").expect("its status is written again");
    assert_eq!(reason(&resumed, "Ready"), Some(("True".into(), reasons::RECONCILED.into())));
    assert_eq!(reason(&resumed, "Stalled"), None);
}
