use std::collections::BTreeSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;
use crate::operator::notify::{Notification, NotificationType, Sink};
use crate::operator::reconciler::{Announcement, EventType};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn policy() -> PolicyKey {
    PolicyKey { namespace: Some("shop".into()), name: "web".into() }
}

fn object(name: &str) -> ObjectKey {
    ObjectKey::new(crate::keys::KindKey::new("apps/v1", "Deployment"), Some("shop".into()), name)
}

fn event(name: &str) -> Pending {
    Pending::Event(Announcement {
        object: object(name),
        object_uid: Some("uid-1".into()),
        policy: policy(),
        policy_uid: None,
        type_: EventType::Warning,
        reason: crate::api::reasons::DRIFT_ESCALATED,
        message: "/spec/replicas: Conflict".into(),
    })
}

fn notification(id: &str) -> Pending {
    let spec: crate::api::policy::NotifySpec =
        serde_json::from_value(json!({"urlSecretRef": {"name": "hook", "key": "url"}})).unwrap();
    Pending::Notification {
        sink: Sink { namespace: "shop".into(), spec },
        notification: Notification {
            id: id.into(),
            kind: NotificationType::DriftEscalated,
            source: "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web".into(),
            subject: Some("web".into()),
            time: at("2026-03-02T10:00:00Z"),
            data: json!({"drifts": [{"path": "/spec/replicas"}]}),
        },
    }
}

/// Writes every due bucket and answers each write as `ok`; returns the writes.
fn write(ledger: &mut Ledger, now: Timestamp, ok: bool) -> Vec<BucketWrite> {
    let (writes, _) = ledger.due_writes(now);
    for w in &writes {
        ledger.written(w.index, w.serial, ok, now);
    }
    writes
}

fn stored(writes: &[BucketWrite]) -> Vec<(String, String)> {
    writes.iter().map(|w| (w.name.clone(), w.data.clone())).collect()
}

#[test]
fn an_announcement_is_delivered_only_once_a_write_recorded_it() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    ledger.enqueue("event/a".into(), event("web"), None, now);
    assert!(ledger.due_deliveries(now, 10).is_empty(), "not recorded yet");
    let (writes, _) = ledger.due_writes(now);
    assert_eq!(writes.len(), 1, "one bucket changed, one write");
    assert!(ledger.due_deliveries(now, 10).is_empty(), "the write is under way");
    ledger.written(writes[0].index, writes[0].serial, true, now);
    let due = ledger.due_deliveries(now, 10);
    assert_eq!(due, vec![("event/a".to_string(), event("web"))]);
    assert!(ledger.due_deliveries(now, 10).is_empty(), "handed out once");
    assert_eq!(ledger.backlog(), 1);
    ledger.delivered("event/a", Delivery::Delivered, now);
    assert_eq!(ledger.backlog(), 0);
    // The removal is written too, so a new leader does not deliver it again.
    let writes = write(&mut ledger, now, true);
    let (restored, problems) = Ledger::restore(stored(&writes), now);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(restored.backlog(), 0);
}

#[test]
fn the_same_occurrence_is_queued_once() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    ledger.enqueue("n/1".into(), notification("1"), None, now);
    ledger.enqueue("n/1".into(), notification("1"), None, now);
    assert_eq!(ledger.backlog(), 1);
}

#[test]
fn a_new_leader_delivers_what_was_recorded_and_not_delivered_and_knows_what_was_announced() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    let drifts: BTreeSet<String> = [fingerprint("/spec/replicas", &crate::engine::decide::Action::Audit)].into();
    ledger.set_announced(&policy(), &object("web"), drifts.clone(), now);
    ledger.enqueue("n/1".into(), notification("1"), None, now);
    ledger.enqueue("event/1".into(), event("web"), None, now);
    let guard = (5, Duration::from_secs(600));
    ledger.fixed(&policy(), &object("api"), "/spec/replicas", now, guard);
    ledger.counted(&policy(), now);
    let writes = write(&mut ledger, now + SLOW_FLUSH, true);
    // The leader dies here: delivered nothing.
    let later = now + SLOW_FLUSH + SignedDuration::from_secs(1);
    let (mut next, problems) = Ledger::restore(stored(&writes), later);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(next.announced(&policy(), &object("web")), Some(&drifts));
    let mut due = next.due_deliveries(later, 10);
    due.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(due, vec![("event/1".to_string(), event("web")), ("n/1".to_string(), notification("1"))]);
    let (history, mut rate) = next.history_of(&policy(), guard);
    assert_eq!(history.count(&object("api").to_string(), "/spec/replicas", guard.1, later), 1);
    assert_eq!(rate.in_last_minute(later), 1);
}

#[test]
fn a_failed_delivery_is_tried_again_after_a_backoff_and_given_up_after_its_rounds() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    ledger.enqueue("n/1".into(), notification("1"), None, now);
    write(&mut ledger, now, true);
    let mut t = now;
    for round in 1..MAX_ROUNDS {
        assert_eq!(ledger.due_deliveries(t, 10).len(), 1, "round {round}");
        assert_eq!(ledger.delivered("n/1", Delivery::Failed, t), None);
        assert!(ledger.due_deliveries(t, 10).is_empty(), "round {round} waits");
        t += SignedDuration::from_secs(601);
    }
    assert_eq!(ledger.due_deliveries(t, 10).len(), 1);
    let given_up = ledger.delivered("n/1", Delivery::Failed, t).expect("the last round gives up");
    assert_eq!(given_up.id, "n/1");
    assert_eq!(ledger.backlog(), 0);
}

#[test]
fn a_ledger_that_cannot_be_written_does_not_silence_announcements() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    ledger.enqueue("event/1".into(), event("web"), None, now);
    let mut t = now;
    for failure in 1..DELIVER_UNRECORDED_AFTER {
        assert_eq!(write(&mut ledger, t, false).len(), 1, "write {failure}");
        assert!(ledger.due_deliveries(t, 10).is_empty(), "held while writes may still succeed");
        t += SignedDuration::from_secs(60);
    }
    write(&mut ledger, t, false);
    assert_eq!(ledger.due_deliveries(t, 10).len(), 1, "delivered unrecorded after repeated failures");
}

#[test]
fn fix_history_alone_is_written_after_the_slow_flush_and_announcements_at_once() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    let fixed = object("web");
    ledger.fixed(&policy(), &fixed, "/spec/replicas", now, (5, Duration::from_secs(600)));
    assert!(ledger.due_writes(now).0.is_empty(), "fix history waits to be batched");
    // An id in another bucket than the fix's.
    let id = (0..).map(|i| format!("event/{i}")).find(|id| bucket_of(id) != object_bucket(&fixed)).unwrap();
    ledger.enqueue(id.clone(), event("web"), None, now);
    let written: Vec<usize> = ledger.due_writes(now).0.iter().map(|w| w.index).collect();
    assert_eq!(written, vec![bucket_of(&id)], "the announcement is written at once, the history later");
    let written: Vec<usize> = ledger.due_writes(now + SLOW_FLUSH).0.iter().map(|w| w.index).collect();
    assert_eq!(written, vec![object_bucket(&fixed)]);
}

#[test]
fn many_fixes_make_one_write_per_changed_bucket() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    for i in 0..10_000 {
        ledger.fixed(&policy(), &object(&format!("web-{i}")), "/spec/replicas", now, (5, Duration::from_secs(600)));
        ledger.counted(&policy(), now);
    }
    let writes = ledger.due_writes(now + SLOW_FLUSH).0;
    assert_eq!(writes.len(), BUCKETS, "10,000 fixes, {BUCKETS} writes");
    let sizes: Vec<usize> = writes.iter().map(|w| w.data.len()).collect();
    let (least, most) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(most * 2 < least * 3, "similar names spread evenly over the buckets: {sizes:?}");
    assert!(writes.iter().all(|w| w.data.len() <= MAX_BUCKET_BYTES));
}

#[test]
fn a_full_bucket_drops_its_oldest_fix_history_first_and_stays_within_its_bound() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    ledger.enqueue("event/keep".into(), event("web"), None, now);
    let long = "x".repeat(200);
    for i in 0..60_000 {
        let t = now + SignedDuration::from_millis(i);
        ledger.fixed(&policy(), &object(&format!("{long}-{i}")), "/spec/replicas", t, (5, Duration::from_secs(3600)));
    }
    let (writes, trimmed) = ledger.due_writes(now + SLOW_FLUSH + SignedDuration::from_secs(60));
    assert_eq!(writes.len(), BUCKETS);
    assert!(trimmed.fixes > 0);
    assert!(trimmed.announcements.is_empty(), "announcements stay while history can go");
    assert!(writes.iter().all(|w| w.data.len() <= MAX_BUCKET_BYTES));
    let (restored, problems) = Ledger::restore(stored(&writes), now);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(restored.backlog(), 1);
    // The newest fixes were kept.
    let newest = object(&format!("{long}-59999"));
    let (history, _) = restored.history_of(&policy(), (5, Duration::from_secs(3600)));
    assert_eq!(history.count(&newest.to_string(), "/spec/replicas", Duration::from_secs(3600), now), 1);
}

#[test]
fn pruning_forgets_fixes_past_their_window_and_the_records_of_deleted_policies() {
    let now = at("2026-03-02T10:00:00Z");
    let mut ledger = Ledger::default();
    let window = Duration::from_secs(600);
    ledger.fixed(&policy(), &object("web"), "/spec/replicas", now, (5, window));
    ledger.set_announced(&policy(), &object("api"), ["f".to_string()].into(), now);
    ledger.prune(now + SignedDuration::from_secs(300), &|_| Some(window));
    assert_eq!(ledger.sizes().1, 1, "within its window");
    ledger.prune(now + SignedDuration::from_secs(601), &|_| Some(window));
    assert_eq!(ledger.sizes().1, 0, "past its window");
    ledger.forget_policy(&policy(), now);
    assert_eq!(ledger.sizes(), (0, 0, 0, 0));
}

#[test]
fn a_bad_record_is_skipped_and_said_while_the_rest_is_read() {
    let now = at("2026-03-02T10:00:00Z");
    let data = json!({
        "escalations": [
            {"policy": "shop/web", "object": "apps/v1 Deployment shop web", "drifts": ["a"]},
            {"policy": "shop/web", "object": "no spaces", "drifts": ["b"]},
        ],
        "outbox": [{"id": "x", "since": 0, "event": {"object": "v1 ConfigMap shop a", "policy": "p", "warning": true, "reason": "NotAReason", "message": "m"}}],
    })
    .to_string();
    let (ledger, problems) = Ledger::restore(
        vec![(bucket_name(3), data), (bucket_name(4), "{not json".into()), ("other".into(), "{}".into())],
        now,
    );
    assert_eq!(ledger.sizes().0, 1);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.problem.contains("no spaces") && p.bucket == bucket_name(3)), "{problems:?}");
    assert!(problems.iter().any(|p| p.problem.contains("NotAReason")), "{problems:?}");
    assert!(problems.iter().any(|p| p.bucket == bucket_name(4)), "{problems:?}");
}

#[test]
fn bucket_names_round_trip_and_others_are_not_buckets() {
    for index in 0..BUCKETS {
        assert_eq!(bucket_index(&bucket_name(index)), Some(index));
    }
    assert_eq!(bucket_index("driftwarden-ledger-16"), None);
    assert_eq!(bucket_index("driftwarden-ledger-1"), None);
    assert_eq!(bucket_index("kube-root-ca.crt"), None);
}

#[test]
fn escalation_fingerprints_are_of_path_and_decision_only_and_read_as_earlier_versions_wrote_them() {
    // A ledger fingerprint holds no Secret value and no fingerprint of one: the key of
    // Secret fingerprints never enters it, so records written before that key existed, or
    // under another key, still match what is announced now.
    let audit = crate::engine::decide::Action::Audit;
    assert_eq!(fingerprint("/data/password", &audit), "9e0065a06f159571");
    assert_ne!(fingerprint("/data/password", &audit), fingerprint("/data/token", &audit));
}
