//! Chaos: two replicas under leader election, the leader killed (its runtime aborted, no
//! step-down) at a random moment during a burst of escalations and during an Auto
//! campaign's waves, round after round. Every drift must end fixed or escalated, none
//! fixed twice; the sink must receive every notification, a duplicate only for one in
//! flight at a kill; no Finding duplicated or lost; the standby must take over within 15 s.
//! A kill while idle must repeat nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use driftwarden::operator::{Services, supervise};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use rand::RngExt;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::receiver::{self, Received};
use crate::support::*;

/// How many rounds: `DW_CHAOS_ROUNDS`, 10 by default.
fn rounds() -> usize {
    std::env::var("DW_CHAOS_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

/// The bound on a takeover after the leader dies.
const TAKEOVER: Duration = Duration::from_secs(15);

/// A replica in a runtime of its own, so it can be killed as a crash kills a process:
/// every task dropped where it stands, nothing stepped down or flushed.
struct Replica {
    name: String,
    runtime: Option<tokio::runtime::Runtime>,
    _stop: watch::Sender<bool>,
}

impl Replica {
    fn start(harness: &Harness, name: &str) -> Replica {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name.to_string())
            .enable_all()
            .build()
            .expect("a runtime for the replica");
        // Short enough for quick rounds, long enough that a loaded machine renews in time.
        let options = replica_options(harness, name, Duration::from_secs(4), Duration::from_secs(2));
        let (stop, stopped) = watch::channel(false);
        let config = harness.cluster.config();
        runtime.spawn(async move {
            // Its own client and connections, which die with it.
            let client = kube::Client::try_from(config).expect("a client for the replica");
            let services = Services::with_notify(client.clone(), local_sinks());
            let _ = supervise(client, options, services, stopped).await;
        });
        Replica { name: name.to_string(), runtime: Some(runtime), _stop: stop }
    }

    /// Kills the replica: answers once its threads are gone, so whatever reaches the
    /// cluster or the sink afterwards comes from another replica.
    async fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(5)))
                .await
                .expect("the replica's runtime stops");
        }
    }
}

async fn holder(harness: &Harness) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(harness.client(), harness.ns());
    let lease = leases.get_opt("driftwarden-leader").await.ok().flatten()?;
    lease.spec?.holder_identity
}

/// When a replica was killed: from the moment it was told to the moment it was gone.
#[derive(Clone)]
struct Kill {
    replica: String,
    from: Instant,
    to: Instant,
    /// The same moments on the wall clock, for Events' times.
    wall: (jiff::Timestamp, jiff::Timestamp),
}

/// The replicas, and every kill so far.
struct Fleet {
    replicas: Vec<Replica>,
    /// The number of the next replica started.
    next: usize,
    kills: Vec<Kill>,
    slowest: Duration,
}

impl Fleet {
    fn start(harness: &Harness) -> Fleet {
        let replicas = vec![Replica::start(harness, "replica-0"), Replica::start(harness, "replica-1")];
        Fleet { replicas, next: 2, kills: Vec::new(), slowest: Duration::ZERO }
    }

    /// Kills the replica holding the lease, starts another in its place, and answers how
    /// long the standby took to take over.
    async fn kill_leader(&mut self, harness: &Harness) -> Duration {
        let replicas = &self.replicas;
        let name = within("a replica leads", async {
            loop {
                match holder(harness).await {
                    Some(name) if replicas.iter().any(|r| r.name == name) => break name,
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        })
        .await;
        let index = self.replicas.iter().position(|r| r.name == name).expect("the leader is one of ours");
        let (from, wall_from) = (Instant::now(), jiff::Timestamp::now());
        self.replicas.remove(index).kill().await;
        let killed = Kill { replica: name, from, to: Instant::now(), wall: (wall_from, jiff::Timestamp::now()) };
        self.replicas.push(Replica::start(harness, &format!("replica-{}", self.next)));
        self.next += 1;
        let took = takeover(harness, &killed).await;
        self.kills.push(killed);
        self.slowest = self.slowest.max(took);
        took
    }
}

/// Waits until a replica other than `dead` holds the lease; answers how long after the kill.
async fn takeover(harness: &Harness, killed: &Kill) -> Duration {
    let (dead, killed) = (&killed.replica, killed.from);
    loop {
        if holder(harness).await.is_some_and(|h| h != *dead) {
            return killed.elapsed();
        }
        assert!(killed.elapsed() < TAKEOVER + Duration::from_secs(5), "no takeover after {:?}", killed.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every notification received, with when.
#[derive(Default)]
struct Sink {
    received: Vec<(Instant, Value)>,
}

impl Sink {
    fn drain(&mut self, events: &mut mpsc::UnboundedReceiver<Received>) {
        while let Ok(received) = events.try_recv() {
            self.received.push((received.at, serde_json::from_slice(&received.body).unwrap()));
        }
    }

    /// The subjects of the escalations received.
    fn subjects(&self) -> std::collections::BTreeSet<String> {
        self.received
            .iter()
            .filter(|(_, e)| e["type"] == "dev.driftwarden.drift.escalated")
            .filter_map(|(_, e)| e["subject"].as_str().map(str::to_string))
            .collect()
    }

    /// Each id's receipts, by id.
    fn by_id(&self) -> BTreeMap<String, Vec<Instant>> {
        let mut by_id: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        for (at, event) in &self.received {
            by_id.entry(event["id"].as_str().unwrap_or_default().to_string()).or_default().push(*at);
        }
        by_id
    }
}

fn labelled(ns: &str, name: &str, label: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "other", label: "true"}},
    }))
    .unwrap()
}

fn policy(ns: &str, name: &str, label: &str, extra: Value) -> Value {
    let mut spec = json!({
        "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {label: "true"}}},
                       "template": {"metadata": {"labels": {"team": "shop"}}}}],
        "remediation": {"mode": "Audit"},
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    drift_policy(ns, name, spec)
}

fn campaigns(harness: &Harness) -> Api<DynamicObject> {
    Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()))
}

fn findings(harness: &Harness) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), harness.ns(), &ApiResource::erase::<driftwarden::api::finding::Finding>(&()))
}

/// When each ConfigMap's `DriftEscalated` Events (not those on the policy) were
/// published, by name.
async fn escalation_events(harness: &Harness) -> BTreeMap<String, Vec<jiff::Timestamp>> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(harness.client(), harness.ns());
    let mut published: BTreeMap<String, Vec<jiff::Timestamp>> = BTreeMap::new();
    for event in events.list(&ListParams::default()).await.expect("Events listed").items {
        let regarding = event.regarding.unwrap_or_default();
        if event.reason.as_deref() == Some("DriftEscalated")
            && regarding.kind.as_deref() == Some("ConfigMap")
            && let Some(name) = regarding.name
        {
            let at = event.event_time.map_or(jiff::Timestamp::MIN, |t| t.0);
            published.entry(name).or_default().push(at);
        }
    }
    for times in published.values_mut() {
        times.sort();
    }
    published
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_at_random_loses_and_repeats_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let (url, mut events) = receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let hook = serde_json::from_value(crate::receiver::hook_secret("hooks", &url))?;
    secrets.create(&PostParams::default(), &hook).await?;
    // Mass drift is the point here: the circuit breaker stays out of the way.
    let remediation = json!({"mode": "Audit", "circuitBreaker": {"maxDriftedPercent": 100}});
    let notify = json!({"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"});
    let burst_spec = json!({"remediation": remediation, "escalation": {"notify": notify}});
    create_policy(&harness, policy(&ns, "burst", "burst", burst_spec)).await;
    create_policy(&harness, policy(&ns, "owners", "wave", json!({"remediation": remediation}))).await;
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    let campaign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": format!("{ns}-waves")},
        "spec": {
            "objective": "Every wave ConfigMap names its team",
            "owner": {"team": "platform", "contact": "platform@example.com"},
            "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}},
            "deadline": deadline,
            "strategy": {"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 3, "waveInterval": "1s"},
            "notify": notify,
        }
    }))?;
    campaigns(&harness).create(&PostParams::default(), &campaign).await?;

    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let mut fleet = Fleet::start(&harness);
    eventually("a leader", || async { holder(&harness).await.is_some() }).await;
    let mut sink = Sink::default();
    let mut rng = rand::rng();
    let (mut burst, mut waves) = (Vec::new(), Vec::new());
    for round in 0..rounds() {
        // A burst of escalations, then new drifts for the campaign's waves: the leader is
        // killed in the middle of each.
        for (label, count, within_ms) in [("burst", 12, 400), ("wave", 6, 2_500)] {
            let names: Vec<String> = (0..count).map(|i| format!("{}{round}-{i}", &label[..1])).collect();
            for name in &names {
                config_maps.create(&PostParams::default(), &labelled(&ns, name, label)).await?;
            }
            if label == "burst" { &mut burst } else { &mut waves }.extend(names);
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..within_ms))).await;
            let took = fleet.kill_leader(&harness).await;
            assert!(took <= TAKEOVER, "round {round}: the standby took over after {took:?}");
        }
    }

    // Every escalation notified, every wave drift fixed and its Finding closed.
    let wanted: std::collections::BTreeSet<String> = burst.iter().map(|n| format!("ConfigMap {ns}/{n}")).collect();
    let until = Instant::now() + PATIENCE;
    while !wanted.is_subset(&sink.subjects()) {
        sink.drain(&mut events);
        let seen = sink.subjects();
        let missing: Vec<&String> = wanted.difference(&seen).collect();
        assert!(Instant::now() < until, "escalations never notified: {missing:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("every wave drift fixed", || async {
        let listed = config_maps.list(&ListParams::default().labels("wave=true")).await.unwrap();
        listed.items.len() == waves.len() && listed.items.iter().all(|cm| team_is(cm, "shop"))
    })
    .await;
    let until = Instant::now() + PATIENCE;
    loop {
        let listed = findings(&harness).list(&ListParams::default()).await?;
        let open: Vec<(Option<&str>, &Value)> = listed
            .items
            .iter()
            .filter(|f| f.data["status"]["state"] != "Closed")
            .map(|f| (f.metadata.name.as_deref(), &f.data["status"]))
            .collect();
        if listed.items.len() == waves.len() && open.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "{} Findings of {}; not closed: {open:#?}", listed.items.len(), waves.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every Finding's closing notified.
    let closing = |event: &Value| {
        (event["type"] == "dev.driftwarden.finding.closed")
            .then(|| event["data"]["asset"]["name"].as_str().map(str::to_string))?
    };
    let until = Instant::now() + PATIENCE;
    loop {
        sink.drain(&mut events);
        let closed: std::collections::BTreeSet<String> = sink.received.iter().filter_map(|(_, e)| closing(e)).collect();
        let missing: Vec<&String> = waves.iter().filter(|name| !closed.contains(*name)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "Findings whose closing was never notified: {missing:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("every escalation's Event", || async {
        let events = escalation_events(&harness).await;
        burst.iter().all(|name| events.contains_key(name))
    })
    .await;

    // A kill while idle (the campaign completed, everything delivered and recorded): the
    // next leader repeats nothing.
    let name = format!("{ns}-waves");
    wait_for(&campaigns(&harness), &name, "completed", |c| condition(c, "Completed").is_some_and(|(s, _)| s == "True"))
        .await;
    let maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    eventually("the ledger's outbox empty", || async {
        let listed = maps.list(&ListParams::default().labels("driftwarden.dev/ledger=true")).await.unwrap();
        !listed.items.iter().any(|m| m.data.as_ref().is_some_and(|d| d.values().any(|v| v.contains("\"outbox\""))))
    })
    .await;
    let before = escalation_events(&harness).await;
    sink.drain(&mut events);
    let received = sink.received.len();
    fleet.kill_leader(&harness).await;
    // Once the new leader has announced a new drift, it has looked at every other object.
    config_maps.create(&PostParams::default(), &labelled(&ns, "after-idle-kill", "burst")).await?;
    let marker = format!("ConfigMap {ns}/after-idle-kill");
    within("the new leader's first escalation", async {
        while !sink.subjects().contains(&marker) {
            sink.drain(&mut events);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let after_idle: Vec<&Value> = sink.received[received..].iter().map(|(_, e)| e).collect();
    assert_eq!(after_idle.len(), 1, "only the new drift is notified after an idle kill: {after_idle:#?}");
    let now = escalation_events(&harness).await;
    for (name, count) in &before {
        assert_eq!(now.get(name), Some(count), "{name}'s escalation Event was not published again");
    }

    // A duplicate is one in flight at a kill: its first receipt before, its second after.
    let duplicates: Vec<(String, Vec<Instant>)> = sink.by_id().into_iter().filter(|(_, at)| at.len() > 1).collect();
    let kills = &fleet.kills;
    let start = kills.first().map_or_else(Instant::now, |k| k.from);
    let since = |at: &Instant| at.saturating_duration_since(start).as_secs_f64();
    for (id, at) in &duplicates {
        let straddles = at.windows(2).all(|w| kills.iter().any(|k| w[0] <= k.to && k.from <= w[1]));
        let received: Vec<f64> = at.iter().map(since).collect();
        let killed: Vec<(f64, f64)> = kills.iter().map(|k| (since(&k.from), since(&k.to))).collect();
        assert!(straddles, "{id} was received twice without a kill between: at {received:?} s; kills {killed:?}");
    }
    // So is a second Event on an object: published before a kill, again after it.
    for (name, at) in escalation_events(&harness).await {
        let straddles = at.windows(2).all(|w| kills.iter().any(|k| w[0] <= k.wall.1 && k.wall.0 <= w[1]));
        assert!(straddles, "{name}'s escalation Event was published again without a kill between: {at:?}");
    }

    // No wave asset was fixed twice: one apply each, whichever replica made it.
    let sandbox = harness.sandbox()?;
    let mut applies: BTreeMap<String, usize> = BTreeMap::new();
    for request in sandbox.requests() {
        if request.resource == "configmaps" && request.verb == "patch" && !request.dry_run && request.code < 300 {
            *applies.entry(request.name).or_default() += 1;
        }
    }
    for name in &waves {
        assert_eq!(applies.get(name), Some(&1), "{name} was fixed {:?} times", applies.get(name));
    }
    eprintln!(
        "chaos: {} rounds, {} kills (slowest takeover {:?}), {} escalations, {} wave fixes, {} notifications ({} duplicated at a kill)",
        rounds(),
        fleet.kills.len(),
        fleet.slowest,
        burst.len(),
        waves.len(),
        sink.received.len(),
        duplicates.len()
    );
    for replica in fleet.replicas {
        replica.kill().await;
    }
    harness.stop().await;
    Ok(())
}
