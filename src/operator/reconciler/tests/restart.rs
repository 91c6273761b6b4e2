//! A restart resumes from what the cluster holds: a policy's status as written, a
//! campaign's waves and their interval, and its Findings. Nothing is written, fixed or
//! announced again for it.

use serde_json::{Value, json};

use super::harness::{Harness, Own, audit_policy, campaign, configmap, fixes, ms, namespace, policy, status_writes};
use crate::operator::reconciler::Effect;

/// Answers every write among `effects` (and those their outcomes ask for) as done, and
/// returns what was written.
fn write_all(h: &mut Harness, effects: Vec<Effect>) -> Written {
    let effects = h.settle(effects);
    let mut written = Written { findings: findings_in(&effects), ..Written::default() };
    for effect in effects {
        match effect {
            Effect::WritePolicyStatus { status, .. } => written.policies.push(status),
            Effect::WriteCampaignStatus { status, .. } => written.campaigns.push(status),
            _ => {}
        }
    }
    written
}

#[derive(Default)]
struct Written {
    policies: Vec<crate::api::policy::PolicyStatus>,
    campaigns: Vec<crate::api::campaign::CampaignStatus>,
    findings: Vec<Value>,
}

#[test]
fn a_policy_status_written_before_a_restart_is_not_written_again_and_its_counts_carry_on() {
    let mut h = Harness::new();
    let spec = policy(json!({}));
    let fix = fixes(h.start(Own::policy(spec.clone()), vec![configmap("web", None)])).remove(0);
    h.verified(fix, configmap("web", Some("shop")));
    let effects = h_tick(&mut h);
    let written = write_all(&mut h, effects);
    let status = written.policies.last().cloned().expect("the status is written");
    assert_eq!(status.remediated, 1);

    // The operator restarts and lists the policy with that status.
    let mut after = Harness::new();
    after.now = h.now + ms(5_000);
    let mut listed = spec;
    listed["status"] = serde_json::to_value(&status).unwrap();
    let effects = after.start(Own::policy(listed), vec![configmap("web", Some("shop"))]);
    assert!(fixes(effects).is_empty());
    assert_eq!(status_writes(&after.tick()), 0, "the status did not change: it is not written");
    // A new fix counts on from the count before the restart.
    let fix = fixes(after.changed(configmap("web", None))).remove(0);
    after.verified(fix, configmap("web", Some("shop")));
    let effects = h_tick(&mut after);
    let written = write_all(&mut after, effects);
    assert_eq!(written.policies.last().map(|s| s.remediated), Some(2));
}

fn h_tick(h: &mut Harness) -> Vec<Effect> {
    h.advance(ms(200));
    h.tick()
}

fn campaign_objects(status: Option<&crate::api::campaign::CampaignStatus>) -> (Value, Value) {
    let strategy = json!({"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 2, "waveInterval": "10m"});
    let mut campaign = campaign(strategy);
    if let Some(status) = status {
        campaign["status"] = serde_json::to_value(status).unwrap();
    }
    (audit_policy(), campaign)
}

#[test]
fn a_campaign_resumes_its_waves_and_findings_after_a_restart() {
    let mut h = Harness::new();
    let (policy, campaign) = campaign_objects(None);
    let assets: Vec<Value> = (0..4).map(|i| configmap(&format!("web-{i}"), None)).collect();
    let own = Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![policy.clone()],
        campaigns: vec![campaign],
        ..Own::default()
    };
    let effects = h.start(own, assets);
    let effects = write_all_and_keep(&mut h, effects);
    let mut findings_written = findings_in(&effects);
    let wave = fixes(effects);
    assert_eq!(wave.len(), 2);
    let mut fixed = Vec::new();
    for fix in wave {
        let name = fix.fix.key.name.clone();
        fixed.push(name.clone());
        h.verified(fix, configmap(&name, Some("shop")));
    }
    // Everything is written before the restart: Findings, their status, the campaign's.
    let mut written = Written::default();
    for _ in 0..5 {
        let effects = h_tick(&mut h);
        let more = write_all(&mut h, effects);
        written.campaigns.extend(more.campaigns);
        written.findings.extend(more.findings);
    }
    findings_written.append(&mut written.findings);
    let status = written.campaigns.last().cloned().expect("the campaign status is written");
    assert_eq!(status.waves, Some(1));
    let findings = latest_by_name(findings_written);
    assert_eq!(findings.len(), 4, "one Finding per asset");

    // The operator restarts five minutes after the first wave: the cluster holds the
    // campaign with its status, the Findings, and the assets as they are now.
    let mut after = Harness::new();
    after.now = h.now + ms(5 * 60_000);
    let (_, campaign) = campaign_objects(Some(&status));
    let assets: Vec<Value> = (0..4)
        .map(|i| {
            let name = format!("web-{i}");
            let team = fixed.contains(&name).then_some("shop");
            configmap(&name, team)
        })
        .collect();
    let own = Own {
        namespaces: vec![namespace("shop")],
        cluster_policies: vec![policy],
        campaigns: vec![campaign],
        findings: findings.clone(),
        ..Own::default()
    };
    let effects = after.start(own, assets);
    assert!(fixes(effects).is_empty());
    let effects = after.tick();
    let rewritten = effects.iter().filter(|e| matches!(e, Effect::WriteFinding(_))).count();
    assert_eq!(rewritten, 0, "the Findings as listed are what the operator would write");
    assert!(fixes(effects).is_empty(), "the wave interval counts from the wave before the restart");
    after.advance(ms(5 * 60_000));
    let wave = fixes(after.tick());
    let numbers: Vec<Option<u32>> = wave.iter().map(|f| f.parts[0].campaign.as_ref().and_then(|c| c.wave)).collect();
    assert_eq!(numbers, vec![Some(2), Some(2)], "wave numbers carry on");
    let names: Vec<&str> = wave.iter().map(|f| f.fix.key.name.as_str()).collect();
    assert!(names.iter().all(|n| !fixed.iter().any(|f| f == n)), "what was fixed is not fixed again: {names:?}");
}

/// Answers the writes among `effects` (and those of two ticks: Findings are written on the
/// first, a wave may start on the second) and keeps the rest.
fn write_all_and_keep(h: &mut Harness, effects: Vec<Effect>) -> Vec<Effect> {
    let mut all = h.settle(effects);
    all.extend(h.settled_tick());
    all.extend(h.settled_tick());
    all
}

/// The Findings written among `effects`, each with its status.
fn findings_in(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::WriteFinding(write) => {
                let mut finding = write.body.clone();
                finding["metadata"]["generation"] = json!(1);
                finding["status"] = serde_json::to_value(&write.status).unwrap();
                Some(finding)
            }
            _ => None,
        })
        .collect()
}

/// The last version written of each Finding.
fn latest_by_name(findings: Vec<Value>) -> Vec<Value> {
    let mut by_name = std::collections::BTreeMap::new();
    for finding in findings {
        let name = finding.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        by_name.insert(name, finding);
    }
    by_name.into_values().collect()
}

/// The ledger as the cluster holds it after `effects`' writes: the last write of each bucket.
fn ledger_after(effects: &[Effect], stored: &mut std::collections::BTreeMap<String, String>) {
    for effect in effects {
        if let Effect::WriteLedger(write) = effect {
            stored.insert(write.name.clone(), write.data.clone());
        }
    }
}

fn restore(
    stored: &std::collections::BTreeMap<String, String>,
    now: jiff::Timestamp,
) -> crate::operator::ledger::Ledger {
    let (ledger, problems) = crate::operator::ledger::Ledger::restore(stored.clone().into_iter().collect(), now);
    assert!(problems.is_empty(), "{problems:?}");
    ledger
}

/// driftwarden's own objects with the cluster policy that audits ConfigMaps' team label.
fn audited() -> Own {
    Own { namespaces: vec![namespace("shop")], cluster_policies: vec![audit_policy()], ..Own::default() }
}

/// `effects` and a tick's, every write among them answered as done.
fn settled(h: &mut Harness, mut effects: Vec<Effect>) -> Vec<Effect> {
    effects.extend(h_tick(h));
    h.settle(effects)
}

fn deliveries(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Deliver { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_escalation_announced_before_a_restart_is_not_announced_again() {
    let mut stored = std::collections::BTreeMap::new();
    let mut h = Harness::new();
    let effects = h.start(audited(), vec![configmap("web", None)]);
    let effects = settled(&mut h, effects);
    ledger_after(&effects, &mut stored);
    let delivered = deliveries(&effects);
    assert_eq!(delivered.len(), 1, "the audit escalation's Events, once recorded: {delivered:?}");
    let mut answered = Vec::new();
    for id in delivered {
        let outcome = crate::operator::reconciler::Outcome::Delivered {
            id,
            delivery: crate::operator::ledger::Delivery::Delivered,
        };
        answered.extend(h.input(crate::operator::reconciler::Input::Outcome(outcome)));
    }
    // Deliveries are recorded within a second.
    h.advance(crate::operator::ledger::SOON);
    let effects = settled(&mut h, answered);
    ledger_after(&effects, &mut stored);

    // A new leader starts from what the cluster holds.
    let mut after = Harness::restored(restore(&stored, h.now));
    after.now = h.now + ms(5_000);
    let effects = after.start(audited(), vec![configmap("web", None)]);
    let effects = settled(&mut after, effects);
    assert!(deliveries(&effects).is_empty(), "nothing is announced again");
    // Back in sync, then drifting again: a new occurrence, announced as before.
    let effects = after.changed(configmap("web", Some("shop")));
    settled(&mut after, effects);
    let effects = after.changed(configmap("web", None));
    let effects = settled(&mut after, effects);
    assert_eq!(deliveries(&effects).len(), 1, "{:?}", deliveries(&effects));
}

#[test]
fn an_announcement_recorded_and_not_delivered_is_delivered_by_the_next_leader() {
    let mut stored = std::collections::BTreeMap::new();
    let mut h = Harness::new();
    let effects = h.start(audited(), vec![configmap("web", None)]);
    let effects = settled(&mut h, effects);
    ledger_after(&effects, &mut stored);
    let first = deliveries(&effects);
    assert_eq!(first.len(), 1);
    // The leader dies before the Events are published.
    let mut after = Harness::restored(restore(&stored, h.now));
    after.now = h.now + ms(5_000);
    let effects = after.start(audited(), vec![configmap("web", None)]);
    let effects = settled(&mut after, effects);
    assert_eq!(deliveries(&effects), first, "the same announcement, with the same id, once");
}

#[test]
fn the_flapping_guard_counts_fixes_made_before_a_restart() {
    let mut stored = std::collections::BTreeMap::new();
    let mut h = Harness::new();
    let mut asked = fixes(h.start(Own::policy(policy(json!({}))), vec![configmap("web", None)]));
    // Four fixes of the same field, each reverted by another writer.
    for _ in 0..4 {
        let effects = h.verified(asked.remove(0), configmap("web", Some("shop")));
        ledger_after(&h.settle(effects), &mut stored);
        h.advance(ms(1_000));
        asked = fixes(h.changed(configmap("web", None)));
    }
    h.advance(crate::operator::ledger::SLOW_FLUSH);
    ledger_after(&settled(&mut h, Vec::new()), &mut stored);
    // Restarted, the fifth fix is the last the default guard (5 in 10 minutes) allows.
    let mut after = Harness::restored(restore(&stored, h.now));
    after.now = h.now + ms(1_000);
    let mut asked = fixes(after.start(Own::policy(policy(json!({}))), vec![configmap("web", None)]));
    assert_eq!(asked.len(), 1);
    after.verified(asked.remove(0), configmap("web", Some("shop")));
    after.advance(ms(1_000));
    let effects = after.changed(configmap("web", None));
    assert!(fixes(effects).is_empty(), "the sixth revert is not fought: the fixes before the restart count");
}
