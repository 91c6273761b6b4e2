use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher;

use super::*;
use crate::operator::shards::view::SHARDS_ANNOTATION;

const SECOND: Duration = Duration::from_secs(1);

fn settings(identity: &str, shards: u32) -> ShardSettings {
    ShardSettings {
        identity: identity.to_string(),
        lease_duration: Duration::from_secs(10),
        renew_period: Duration::from_secs(2),
        safety_margin: Duration::from_secs(3),
        handoff_delay: SECOND,
        ..ShardSettings::new("ns", "dw", shards)
    }
}

fn lease(name: &str, holder: Option<&str>, version: u64, shards: u32) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            resource_version: Some(version.to_string()),
            annotations: Some(BTreeMap::from([(SHARDS_ANNOTATION.to_string(), shards.to_string())])),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: holder.map(str::to_string),
            lease_duration_seconds: Some(10),
            ..Default::default()
        }),
    }
}

/// A view listed at `now` holding `leases`.
fn view(settings: &ShardSettings, leases: Vec<Lease>, now: Instant) -> View {
    let mut view = View::new(settings);
    view.event(watcher::Event::Init, now);
    for lease in leases {
        view.event(watcher::Event::InitApply(lease), now);
    }
    view.event(watcher::Event::InitDone, now);
    view
}

fn takes(plan: &Plan) -> Vec<u32> {
    plan.requests.iter().filter_map(|r| if let Request::Take { shard, .. } = r { Some(*shard) } else { None }).collect()
}

fn releases(plan: &Plan) -> Vec<u32> {
    plan.requests
        .iter()
        .filter_map(|r| if let Request::Release { shard, .. } = r { Some(*shard) } else { None })
        .collect()
}

fn renewals(plan: &Plan) -> Vec<u32> {
    plan.requests
        .iter()
        .filter_map(|r| if let Request::Renew { shard, .. } = r { Some(*shard) } else { None })
        .collect()
}

fn acting(plan: &Plan) -> Vec<u32> {
    plan.assignment.shards().iter().copied().collect()
}

/// Answers every request of `plan` with success, sent at `started`.
fn succeed(table: &mut Table, plan: &Plan, started: Instant, version: u64) {
    for request in &plan.requests {
        table.record(request, Outcome::Done { started, version: Some(version.to_string()) }, started);
    }
}

fn sorted(mut shards: Vec<u32>) -> Vec<u32> {
    shards.sort_unstable();
    shards
}

#[test]
fn a_lone_replica_takes_every_shard_and_acts_on_them_once_written() {
    let t0 = Instant::now();
    let settings = settings("a", 4);
    let mut table = Table::new(&settings, t0);
    let unlisted = table.plan(&View::new(&settings), t0);
    assert!(takes(&unlisted).is_empty(), "nothing is taken before the Leases are listed");
    let view = view(&settings, vec![], t0);
    let plan = table.plan(&view, t0);
    assert_eq!(sorted(takes(&plan)), [0, 1, 2, 3]);
    assert!(plan.requests.contains(&Request::Take { shard: 0, version: None }), "a missing Lease is created");
    assert!(plan.assignment.is_empty(), "nothing is acted on before the writes succeed");
    // Busy: the same requests are not planned again while under way.
    assert!(takes(&table.plan(&view, t0)).is_empty());
    succeed(&mut table, &plan, t0, 7);
    let plan = table.plan(&view, t0 + SECOND);
    assert_eq!(acting(&plan), [0, 1, 2, 3]);
    assert_eq!(plan.assignment.until(), Some(t0 + Duration::from_secs(7)), "the term less the safety margin");
    assert!(plan.requests.is_empty(), "nothing to renew yet: {:?}", plan.requests);
    assert_eq!(plan.wake_at, t0 + Duration::from_secs(2), "woken for the next renewal");
    let plan = table.plan(&view, t0 + Duration::from_secs(2));
    assert_eq!(sorted(renewals(&plan)), [0, 1, 2, 3]);
    assert!(plan.requests.contains(&Request::Renew { shard: 0, version: "7".to_string() }));
}

#[test]
fn a_shard_is_not_acted_on_after_a_failed_renewal_nor_past_its_safe_term() {
    let t0 = Instant::now();
    let settings = settings("a", 2);
    let mut table = Table::new(&settings, t0);
    let view = view(&settings, vec![], t0);
    let plan = table.plan(&view, t0);
    succeed(&mut table, &plan, t0, 3);
    let t2 = t0 + Duration::from_secs(2);
    let plan = table.plan(&view, t2);
    assert_eq!(sorted(renewals(&plan)), [0, 1]);
    // Shard 0's renewal fails: it leaves the acting set at once; shard 1's renewal is
    // still under way, and it is acted on until 7 s after its last successful renewal.
    table.record(&Request::Renew { shard: 0, version: "3".into() }, Outcome::Failed, t2);
    let plan = table.plan(&view, t2);
    assert_eq!(acting(&plan), [1]);
    assert_eq!(plan.assignment.until(), Some(t0 + Duration::from_secs(7)));
    let late = table.clone().plan(&view, t0 + Duration::from_secs(7));
    assert!(late.assignment.is_empty(), "past renewal + duration - margin nothing is acted on");
    // Shard 0 is retried, and acted on again once renewed.
    let retry = t2 + SECOND;
    let plan = table.plan(&view, retry);
    assert_eq!(renewals(&plan), [0]);
    table.record(&plan.requests[0], Outcome::Done { started: retry, version: Some("9".into()) }, retry);
    assert_eq!(acting(&table.plan(&view, retry)), [0, 1], "shard 1 within its term still");
    // A renewal that meets another writer's version loses the shard.
    let plan = table.plan(&view, retry + Duration::from_secs(2));
    assert!(plan.requests.contains(&Request::Renew { shard: 0, version: "9".into() }));
    table.record(&Request::Renew { shard: 0, version: "9".into() }, Outcome::Conflict, retry + Duration::from_secs(2));
    assert!(!table.held().contains(&0));
}

#[test]
fn a_replica_gives_up_extra_shards_when_another_joins_and_stops_acting_first() {
    let t0 = Instant::now();
    let settings = settings("a", 4);
    let mut table = Table::new(&settings, t0);
    let alone = view(&settings, vec![], t0);
    let plan = table.plan(&alone, t0);
    succeed(&mut table, &plan, t0, 2);
    // Replica b joins: the fair share is 2.
    let mut joined = alone.clone();
    joined.event(watcher::Event::Apply(lease("dw-member-b", Some("b"), 20, 4)), t0 + SECOND);
    let plan = table.plan(&joined, t0 + SECOND);
    assert_eq!(acting(&plan), [0, 1], "the given-up shards leave the acting set at once");
    assert!(releases(&plan).is_empty(), "but their Leases are released only after the handoff delay");
    let plan = table.plan(&joined, t0 + Duration::from_secs(2));
    assert_eq!(sorted(releases(&plan)), [2, 3]);
    assert_eq!(acting(&plan), [0, 1]);
    for request in &plan.requests {
        let started = t0 + Duration::from_secs(2);
        table.record(request, Outcome::Done { started, version: Some("30".into()) }, started);
    }
    assert_eq!(table.held(), BTreeSet::from([0, 1]));
    // Freed shards are not taken back while b may take them.
    let mut freed = joined.clone();
    for shard in [2, 3] {
        freed.event(
            watcher::Event::Apply(lease(&format!("dw-shard-{shard}"), None, 31, 4)),
            t0 + Duration::from_secs(2),
        );
    }
    assert!(takes(&table.plan(&freed, t0 + Duration::from_secs(3))).is_empty());
}

#[test]
fn a_joining_replica_takes_no_more_than_its_share() {
    let t0 = Instant::now();
    let settings = settings("b", 4);
    let mut table = Table::new(&settings, t0);
    let leases = vec![
        lease("dw-member-a", Some("a"), 1, 4),
        lease("dw-shard-0", Some("a"), 2, 4),
        lease("dw-shard-1", Some("a"), 3, 4),
        lease("dw-shard-2", None, 4, 4),
        lease("dw-shard-3", None, 5, 4),
    ];
    let plan = table.plan(&view(&settings, leases, t0), t0);
    assert_eq!(sorted(takes(&plan)), [2, 3]);
    assert!(plan.requests.contains(&Request::Take { shard: 2, version: Some("4".into()) }));
}

#[test]
fn a_starved_replica_gets_shards_from_those_at_the_ceiling() {
    // Four shards, three replicas: a and b hold two each, c none.
    let t0 = Instant::now();
    let settings = settings("a", 4);
    let mut table = Table::new(&settings, t0);
    let plan = table.plan(&view(&settings, vec![lease("dw-member-b", Some("b"), 1, 4)], t0), t0);
    assert_eq!(takes(&plan).len(), 2, "two replicas: two each");
    succeed(&mut table, &plan, t0, 10);
    let mine = table.held();
    let mut leases = vec![lease("dw-member-b", Some("b"), 1, 4), lease("dw-member-c", Some("c"), 2, 4)];
    for shard in 0..4 {
        let holder = if mine.contains(&shard) { "a" } else { "b" };
        leases.push(lease(&format!("dw-shard-{shard}"), Some(holder), 11 + u64::from(shard), 4));
    }
    let crowded = view(&settings, leases, t0 + SECOND);
    let plan = table.plan(&crowded, t0 + SECOND);
    assert_eq!(plan.assignment.shards().len(), 1, "one shard given up for c");
    // Given up once: a holds the floor now and gives no more.
    let plan = table.plan(&crowded, t0 + Duration::from_secs(2));
    assert_eq!(releases(&plan).len(), 1);
    assert_eq!(plan.assignment.shards().len(), 1);
}

#[test]
fn a_dead_replicas_shard_is_taken_only_after_its_lease_ran_out_as_seen_here() {
    let t0 = Instant::now();
    let settings = settings("b", 2);
    let mut table = Table::new(&settings, t0);
    let leases = vec![
        lease("dw-member-a", Some("a"), 1, 2),
        lease("dw-shard-0", Some("a"), 2, 2),
        lease("dw-shard-1", Some("b"), 3, 2),
    ];
    let view = view(&settings, leases, t0);
    let plan = table.plan(&view, t0);
    assert_eq!(takes(&plan), [1], "its own Lease is taken back at once; a's is not");
    succeed(&mut table, &plan, t0, 4);
    let before = table.plan(&view, t0 + Duration::from_secs(9));
    assert!(!takes(&before).contains(&0), "a's term runs until 10 s after it was seen");
    assert!(before.wake_at <= t0 + Duration::from_secs(10));
    assert_eq!(renewals(&before), [1]);
    succeed(&mut table, &before, t0 + Duration::from_secs(9), 5);
    // At 10 s a (and its membership) expired: b is alone and takes shard 0.
    let plan = table.plan(&view, t0 + Duration::from_secs(10));
    assert_eq!(takes(&plan), [0]);
    assert!(plan.requests.contains(&Request::Take { shard: 0, version: Some("2".into()) }));
    // A failed take is not repeated against the same version within a renew period.
    table.record(
        &plan.requests.iter().find(|r| matches!(r, Request::Take { .. })).unwrap().clone(),
        Outcome::Conflict,
        t0 + Duration::from_secs(10),
    );
    assert!(takes(&table.plan(&view, t0 + Duration::from_secs(11))).is_empty());
}

#[test]
fn a_free_shard_is_taken_beyond_the_share_once_it_stayed_free_for_a_renew_period() {
    let t0 = Instant::now();
    let settings = settings("a", 2);
    let mut table = Table::new(&settings, t0);
    // b is counted live but does not take shard 1.
    let leases = vec![
        lease("dw-member-b", Some("b"), 1, 2),
        lease("dw-shard-0", Some("a"), 2, 2),
        lease("dw-shard-1", None, 3, 2),
    ];
    let view = view(&settings, leases, t0);
    let plan = table.plan(&view, t0);
    assert_eq!(takes(&plan), [0], "within its share: only its own Lease");
    succeed(&mut table, &plan, t0, 4);
    assert!(takes(&table.plan(&view, t0 + SECOND)).is_empty());
    assert_eq!(takes(&table.plan(&view, t0 + Duration::from_secs(2))), [1], "free for a renew period");
}

#[test]
fn replicas_that_disagree_on_the_shard_count_act_on_nothing() {
    let t0 = Instant::now();
    let settings = settings("a", 4);
    let mut table = Table::new(&settings, t0);
    let plan = table.plan(&view(&settings, vec![], t0), t0);
    succeed(&mut table, &plan, t0, 2);
    let other = view(&settings, vec![lease("dw-member-b", Some("b"), 1, 8)], t0 + SECOND);
    let plan = table.plan(&other, t0 + SECOND);
    assert!(plan.paused && plan.assignment.is_empty() && takes(&plan).is_empty());
    let plan = table.plan(&other, t0 + Duration::from_secs(2));
    assert_eq!(sorted(releases(&plan)), [0, 1, 2, 3], "everything handed over");
}

#[test]
fn stepping_down_stops_acting_and_hands_everything_over() {
    let t0 = Instant::now();
    let settings = settings("a", 2);
    let mut table = Table::new(&settings, t0);
    let view = view(&settings, vec![], t0);
    let plan = table.plan(&view, t0);
    succeed(&mut table, &plan, t0, 2);
    let requests = table.step_down();
    assert_eq!(
        requests,
        [
            Request::Release { shard: 0, version: "2".into() },
            Request::Release { shard: 1, version: "2".into() },
            Request::ForgetMember { name: "dw-member-a".into(), version: None },
        ]
    );
    let plan = table.plan(&view, t0 + SECOND);
    assert!(plan.assignment.is_empty() && takes(&plan).is_empty());
}

#[test]
fn one_shard_behaves_as_one_leader() {
    let t0 = Instant::now();
    let (a_settings, b_settings) = (settings("a", 1), settings("b", 1));
    let mut a = Table::new(&a_settings, t0);
    let mut b = Table::new(&b_settings, t0);
    let plan = a.plan(&view(&a_settings, vec![], t0), t0);
    assert_eq!(takes(&plan), [0]);
    succeed(&mut a, &plan, t0, 2);
    let both = vec![
        lease("dw-member-a", Some("a"), 1, 1),
        lease("dw-member-b", Some("b"), 3, 1),
        lease("dw-shard-0", Some("a"), 2, 1),
    ];
    let a_plan = a.plan(&view(&a_settings, both.clone(), t0), t0 + SECOND);
    assert_eq!(acting(&a_plan), [0], "the holder keeps it");
    assert!(releases(&a_plan).is_empty());
    let b_plan = b.plan(&view(&b_settings, both, t0), t0 + SECOND);
    assert!(takes(&b_plan).is_empty() && b_plan.assignment.is_empty(), "the other waits");
}

#[test]
fn dead_members_are_swept_after_a_further_term() {
    let t0 = Instant::now();
    let settings = settings("a", 1);
    let mut table = Table::new(&settings, t0);
    let view = view(&settings, vec![lease("dw-member-b", Some("b"), 1, 1), lease("dw-member-c", None, 2, 1)], t0);
    let forgets = |plan: &Plan| -> Vec<String> {
        plan.requests
            .iter()
            .filter_map(|r| if let Request::ForgetMember { name, .. } = r { Some(name.clone()) } else { None })
            .collect()
    };
    assert!(forgets(&table.plan(&view, t0)).is_empty(), "the first sweep comes a term after the start");
    assert_eq!(forgets(&table.plan(&view, t0 + Duration::from_secs(10))), ["dw-member-c"]);
    assert_eq!(forgets(&table.plan(&view, t0 + Duration::from_secs(20))), ["dw-member-b"]);
}
