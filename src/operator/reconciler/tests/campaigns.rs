//! Campaigns over time: Auto waves (their size, their interval, the pause after too many
//! failures) and an owner's approval of an escalated finding.

use serde_json::{Value, json};

use super::harness::{AskedFix, Harness, Own, audit_policy, campaign, configmap, fixes, ms, namespace};
use crate::operator::reconciler::{Effect, FindingWrite, Input, Outcome};
use crate::operator::watch::{Change, Source};

fn own(strategy: Value) -> Own {
    Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![audit_policy()],
        campaigns: vec![campaign(strategy)],
        ..Own::default()
    }
}

fn drifted(count: usize) -> Vec<Value> {
    (0..count).map(|i| configmap(&format!("web-{i}"), None)).collect()
}

fn fixed(h: &mut Harness, fix: AskedFix) {
    let name = fix.fix.key.name.clone();
    h.verified(fix, configmap(&name, Some("shop")));
}

fn wave_of(fixes: &[AskedFix]) -> Vec<Option<u32>> {
    fixes.iter().map(|f| f.parts[0].campaign.as_ref().and_then(|c| c.wave)).collect()
}

#[test]
fn an_auto_campaign_fixes_in_waves_of_its_size_one_interval_apart() {
    let mut h = Harness::new();
    let strategy = json!({"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 2, "waveInterval": "10m"});
    let effects = h.start(own(strategy), drifted(5));
    assert!(fixes(effects).is_empty(), "the policy only reports: nothing is fixed outside a wave");
    assert!(fixes(h.settled_tick()).is_empty(), "no asset is fixed before its Finding is written");
    let first = fixes(h.settled_tick());
    assert_eq!(wave_of(&first), vec![Some(1), Some(1)], "the first wave holds two fixes");
    for fix in first {
        fixed(&mut h, fix);
    }
    h.advance(ms(10 * 60 * 1_000 - 1));
    assert!(fixes(h.settled_tick()).is_empty(), "the next wave waits for the interval");
    h.advance(ms(1));
    let second = fixes(h.settled_tick());
    assert_eq!(wave_of(&second), vec![Some(2), Some(2)]);
}

#[test]
fn a_wave_with_too_many_failures_pauses_the_campaign() {
    let mut h = Harness::new();
    let strategy = json!({
        "mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 2, "waveInterval": "1m",
        "pauseOnFailurePercent": 10
    });
    h.start(own(strategy), drifted(6));
    assert!(fixes(h.settled_tick()).is_empty(), "no asset is fixed before its Finding is written");
    let mut first = fixes(h.settled_tick());
    assert_eq!(first.len(), 2);
    fixed(&mut h, first.remove(0));
    h.failed(first.remove(0));
    h.advance(ms(60_000));
    let effects = h.settled_tick();
    let paused = effects.iter().any(|e| match e {
        Effect::WriteCampaignStatus { status, .. } => status.conditions.iter().any(|c| c.type_ == "Stalled"),
        _ => false,
    });
    assert!(fixes(effects).is_empty(), "one failure in two is over 10%: no next wave");
    assert!(paused, "the campaign says it is stalled");
    h.advance(ms(60 * 60_000));
    assert!(fixes(h.settled_tick()).is_empty(), "it stays paused until its spec changes");
}

/// The Finding writes among `effects`.
fn finding_writes(effects: Vec<Effect>) -> Vec<FindingWrite> {
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::WriteFinding(write) => Some(write),
            _ => None,
        })
        .collect()
}

/// A Manual campaign's one Finding, opened and written: owners fix, the operator fixes only
/// what an owner approves.
fn opened_finding(h: &mut Harness) -> FindingWrite {
    h.start(own(json!({"mode": "Manual"})), drifted(1));
    let mut writes = finding_writes(h.tick_recorded());
    assert_eq!(writes.len(), 1, "the operator opens a Finding for the asset, once its notice is recorded");
    let write = writes.remove(0);
    finding_written(h, &write);
    h.advance(ms(200));
    write
}

#[test]
fn an_owners_approval_fixes_an_escalated_finding() {
    let mut h = Harness::new();
    let write = opened_finding(&mut h);
    assert!(fixes(h.tick()).is_empty(), "nothing is fixed without an approval");
    // The owner approves: the Finding comes back through its watch with the approval.
    let mut approved = write.body.clone();
    approved["metadata"]["generation"] = json!(2);
    approved["metadata"]["resourceVersion"] = json!("500");
    approved["spec"]["approval"] = json!({"by": "owner@example.com", "reason": "safe to label"});
    approved["status"] = serde_json::to_value(&write.status).unwrap();
    let mut effects = h.watched(Source::Findings, Change::Apply(approved.clone()));
    effects.extend(h.tick());
    // First the API server is asked whether the owner may approve it: a Metadata fix
    // needs the verb `approve`.
    let reviews = reviews(&effects);
    assert_eq!(reviews.len(), 1, "asked once");
    let (campaign, key, review) = reviews[0].clone();
    assert_eq!((review.user.as_str(), review.verb), ("owner@example.com", "approve"));
    assert!(fixes(effects).is_empty(), "nothing is fixed before the answer");
    let effects = h.input(Input::Outcome(Outcome::ApprovalReviewed { campaign, key, review, allowed: Ok(true) }));
    let asked = fixes(effects);
    assert_eq!(asked.len(), 1, "the approved fix starts");
    let by = asked[0].parts[0].campaign.as_ref().and_then(|c| c.approved_by.clone());
    assert_eq!(by.as_deref(), Some("owner@example.com"), "the approval is recorded with the fix");
}

/// Every approval review among `effects`.
fn reviews(effects: &[Effect]) -> Vec<(String, crate::keys::ObjectKey, crate::operator::reconciler::ApprovalReview)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReviewApproval { campaign, key, review } => Some((campaign.clone(), key.clone(), review.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_approval_by_someone_the_api_server_says_may_not_approve_fixes_nothing() {
    let mut h = Harness::new();
    let write = opened_finding(&mut h);
    h.tick();
    let mut approved = write.body.clone();
    approved["metadata"]["generation"] = json!(2);
    approved["spec"]["approval"] = json!({"by": "intern@example.com", "reason": "looks fine"});
    approved["status"] = serde_json::to_value(&write.status).unwrap();
    let effects = h.watched(Source::Findings, Change::Apply(approved));
    let (campaign, key, review) = reviews(&effects).remove(0);
    let effects = h.input(Input::Outcome(Outcome::ApprovalReviewed { campaign, key, review, allowed: Ok(false) }));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::PublishOn { reason, message, .. }
            if *reason == "ApprovalNotAuthorized" && message.starts_with("intern@example.com may not approve findings"))),
        "a Warning Event on the Finding says why"
    );
    assert!(fixes(effects).is_empty());
    for _ in 0..3 {
        h.advance(ms(1_000));
        let effects = h.tick();
        assert!(reviews(&effects).is_empty(), "not asked again");
        assert!(fixes(effects).is_empty(), "not fixed");
    }
}

#[test]
fn a_finding_is_written_only_once_its_notice_is_recorded() {
    let mut h = Harness::new();
    h.start(own(json!({"mode": "Manual"})), drifted(1));
    let effects = h.tick();
    let recorded: Vec<(usize, u64)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::WriteLedger(w) => Some((w.index, w.serial)),
            _ => None,
        })
        .collect();
    assert!(!recorded.is_empty(), "the opening notice is recorded first");
    assert!(finding_writes(effects).is_empty(), "a Finding written first could hide its notice from a new leader");
    let mut after = Vec::new();
    for (index, serial) in recorded {
        after.extend(h.input(Input::Outcome(Outcome::LedgerWritten { index, serial, result: Ok(()) })));
    }
    assert_eq!(finding_writes(after).len(), 1, "written as soon as the ledger holds the notice");
}

/// Answers `write` as written.
fn finding_written(h: &mut Harness, write: &FindingWrite) -> Vec<Effect> {
    h.input(Input::Outcome(Outcome::FindingWritten {
        campaign: write.campaign.clone(),
        key: write.key.clone(),
        written: Ok((write.body.clone(), write.status.clone())),
    }))
}

#[test]
fn a_due_wave_waits_a_little_for_findings_still_being_written() {
    let strategy = json!({"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 5, "waveInterval": "10m"});
    for written_late in [true, false] {
        let mut h = Harness::new();
        h.start(own(strategy.clone()), drifted(3));
        let writes = finding_writes(h.tick_recorded());
        assert_eq!(writes.len(), 3);
        for write in &writes[..2] {
            finding_written(&mut h, write);
        }
        h.advance(ms(200));
        assert!(fixes(h.tick_recorded()).is_empty(), "the wave waits for the third Finding");
        h.advance(ms(9_000));
        assert!(fixes(h.tick_recorded()).is_empty(), "still within the hold");
        if written_late {
            finding_written(&mut h, &writes[2]);
            h.advance(ms(200));
            let wave = fixes(h.tick_recorded());
            assert_eq!(wave_of(&wave), vec![Some(1); 3], "all three in the first wave");
        } else {
            // A Finding whose write never lands holds the wave no longer than that.
            h.advance(ms(1_000));
            let wave = fixes(h.tick_recorded());
            assert_eq!(wave_of(&wave), vec![Some(1); 2], "the written two go");
        }
    }
}

#[test]
fn a_finding_whose_spec_does_not_read_is_marked_stalled_once_and_keeps_its_status() {
    let mut h = Harness::new();
    h.start(own(json!({"mode": "Manual"})), drifted(1));
    let unreadable = json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": "broken", "namespace": "shop", "generation": 3},
        "spec": {"campaign": "tokens", "severity": "Dreadful"},
        "status": {"state": "Escalated", "conditions": [{"type": "Ready", "status": "False", "reason": "AwaitingOwner",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    });
    type Mark = (String, String, Vec<(String, String, String)>);
    let marks = |effects: Vec<Effect>| -> Vec<Mark> {
        effects
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::MarkFindingInvalid { namespace, name, conditions } => {
                    Some((namespace, name, conditions.into_iter().map(|c| (c.type_, c.status, c.reason)).collect()))
                }
                _ => None,
            })
            .collect()
    };
    let marked = marks(h.watched(Source::Findings, Change::Apply(unreadable.clone())));
    assert_eq!(marked.len(), 1, "{marked:?}");
    let (namespace, name, conditions) = &marked[0];
    assert_eq!((namespace.as_str(), name.as_str()), ("shop", "broken"));
    let has =
        |t: &str, s: &str, r: &str| conditions.iter().any(|c| (c.0.as_str(), c.1.as_str(), c.2.as_str()) == (t, s, r));
    assert!(has("Ready", "False", "InvalidSpec"), "{conditions:?}");
    assert!(has("Stalled", "True", "InvalidSpec"), "{conditions:?}");
    assert!(has("Reconciling", "False", "Reconciled"), "{conditions:?}");
    // The watch brings the marked object back: it is not marked again.
    assert!(marks(h.watched(Source::Findings, Change::Apply(unreadable))).is_empty());
}

#[test]
fn a_restarted_operator_goes_on_with_the_burn_down_it_wrote() {
    let mut h = Harness::new();
    let mut listed = campaign(json!({"mode": "Manual"}));
    let earlier = json!([
        {"time": "2026-01-01T00:00:00Z", "open": 9, "closed": 0},
        {"time": "2026-01-02T00:00:00Z", "open": 5, "closed": 4}
    ]);
    listed["status"] = json!({"burnDown": earlier, "total": 9});
    let own = Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![audit_policy()],
        campaigns: vec![listed],
        ..Own::default()
    };
    h.start(own, drifted(3));
    let mut written = None;
    for _ in 0..3 {
        for effect in h.settled_tick() {
            if let Effect::WriteCampaignStatus { status, .. } = effect {
                written = Some(status);
            }
        }
    }
    let status = written.expect("the campaign's status is written with its findings");
    let times: Vec<String> = status.burn_down.iter().map(|p| p.time.0.to_string()).collect();
    assert_eq!(
        &times[..2],
        ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
        "the burn-down goes on from where it was: {times:?}"
    );
    assert_eq!(status.burn_down.last().map(|p| p.open), Some(3));
}
