//! The sandbox under load: 10,000 ConfigMaps, 100 watchers on the whole collection (every
//! write reaches every watcher, as with cluster-wide informers), and writers patching
//! objects at a steady rate, then as fast as they can.
//!
//! Prints writes/s, watch fan-out latency (from just before a write is sent until a
//! watcher has decoded its event; p50/p99) and the process's resident memory.
//!
//! Then the cost of admission: unthrottled writes without watchers, alternately without
//! and with `DW_BENCH_POLICIES` (20) bound ValidatingAdmissionPolicies that match every
//! ConfigMap write, `DW_BENCH_ROUNDS` (3) rounds each; prints the medians and their ratio.
//!
//! `cargo bench --bench sandbox`; tune with `DW_BENCH_OBJECTS`, `DW_BENCH_WATCHERS`,
//! `DW_BENCH_RATE` (steady writes/s), `DW_BENCH_SECONDS` (per phase), `DW_BENCH_WRITERS`,
//! `DW_BENCH_POLICIES`, `DW_BENCH_ROUNDS`; `DW_BENCH_ADMISSION_ONLY=1` skips the two phases
//! with watchers. `DW_BENCH_GENERATED=1` binds, instead of the hand-written policies, the
//! ValidatingAdmissionPolicies driftwarden generates from `DW_BENCH_POLICIES`
//! ClusterDriftPolicies with `spec.admission` (each a baseline on every ConfigMap: every
//! policy is evaluated on every write, the worst case); `DW_BENCH_GENERATED=2` from as many
//! DriftPolicies, one in each namespace in turn (each matches the writes of its own
//! namespace only, as tenants' policies do).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use driftwarden_sandbox::store::{DeleteOptions, ResourceRef, WriteOptions};
use driftwarden_sandbox::testing::Sandbox;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;
use tokio::sync::Mutex;

mod support;

use support::{rss_kib, setting};

type Error = Box<dyn std::error::Error + Send + Sync>;

const NAMESPACES: usize = 100;

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(sorted[index])
}

struct Shared {
    epoch: Instant,
    latencies: Mutex<Vec<u64>>,
    restarts: AtomicU64,
    /// The `data.wake` value of the last write of a phase: a watcher that sees it has
    /// seen every write before it, and stops.
    wake: String,
}

/// One watcher: follows the collection across all namespaces, recording the latency of
/// every MODIFIED event, and re-watching from its last resourceVersion if the server ends
/// the watch; it stops at the phase's wake-up write.
async fn watcher(api: Api<ConfigMap>, mut rv: String, shared: Arc<Shared>) -> Result<(), Error> {
    let mut latencies = Vec::new();
    'watching: loop {
        let mut stream = api.watch(&WatchParams::default().timeout(290), &rv).await?.boxed();
        while let Some(event) = stream.next().await {
            match event? {
                WatchEvent::Modified(cm) => {
                    rv = cm.metadata.resource_version.clone().unwrap_or_default();
                    let data = cm.data.unwrap_or_default();
                    if data.get("wake") == Some(&shared.wake) {
                        break 'watching;
                    }
                    if let Some(sent) = data.get("sentAt").and_then(|v| v.parse::<u64>().ok()) {
                        let now = shared.epoch.elapsed().as_micros() as u64;
                        latencies.push(now.saturating_sub(sent));
                    }
                }
                WatchEvent::Added(cm) | WatchEvent::Deleted(cm) => {
                    rv = cm.metadata.resource_version.clone().unwrap_or_default();
                }
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(e) => return Err(format!("watch error {}", e.code).into()),
            }
        }
        shared.restarts.fetch_add(1, Ordering::Relaxed);
    }
    shared.latencies.lock().await.extend(latencies);
    Ok(())
}

/// Patches objects until `until`, at `rate` writes/s shared by all writers (0: as fast
/// as possible); returns how many writes completed.
async fn write_load(
    client: kube::Client,
    objects: usize,
    writers: usize,
    rate: u64,
    until: Instant,
    epoch: Instant,
) -> Result<u64, Error> {
    let done = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (client, done, next) = (client.clone(), done.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                if Instant::now() >= until {
                    return Ok::<_, kube::Error>(());
                }
                let i = (n as usize * 7919) % objects;
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &format!("bench-{}", i % NAMESPACES));
                let sent = epoch.elapsed().as_micros() as u64;
                let patch = Patch::Merge(json!({"data": {"sentAt": sent.to_string()}}));
                api.patch(&format!("cm-{i}"), &PatchParams::default(), &patch).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// One phase: writers (and watchers) for `seconds`; answers writes/s.
async fn phase(name: &str, sandbox: &Sandbox, settings: (usize, usize, usize, u64, u64)) -> Result<f64, Error> {
    let (objects, watchers, writers, rate, seconds) = settings;
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        latencies: Mutex::new(Vec::new()),
        restarts: AtomicU64::new(0),
        wake: format!("{name} done"),
    });
    let api: Api<ConfigMap> = Api::all(sandbox.client());
    let rv = sandbox.store().resource_version().to_string();
    let mut watch_tasks = Vec::new();
    for _ in 0..watchers {
        watch_tasks.push(tokio::spawn(watcher(api.clone(), rv.clone(), shared.clone())));
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let writes = write_load(sandbox.client(), objects, writers, rate, until, shared.epoch).await?;
    let elapsed = started.elapsed();
    let rss = rss_kib();
    // A last write every watcher sees after all others; each drains its backlog up to it.
    let wake = Api::<ConfigMap>::namespaced(sandbox.client(), "bench-0");
    wake.patch("cm-0", &PatchParams::default(), &Patch::Merge(json!({"data": {"wake": shared.wake}}))).await?;
    for task in watch_tasks {
        task.await??;
    }
    let drained = started.elapsed();
    let mut latencies = std::mem::take(&mut *shared.latencies.lock().await);
    latencies.sort_unstable();
    println!(
        "{name}: {writes} writes in {:.1}s = {:.0} writes/s; {} watch events delivered (all drained after {:.1}s); fan-out latency p50 {:?}, p99 {:?}; watch restarts {}; RSS {} MiB",
        elapsed.as_secs_f64(),
        writes as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        drained.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        shared.restarts.load(Ordering::Relaxed),
        rss / 1024,
    );
    Ok(writes as f64 / elapsed.as_secs_f64())
}

/// Creates (`bind`) or deletes `count` ValidatingAdmissionPolicies and bindings that match
/// every ConfigMap create and update, each with a match condition, a variable and three
/// validations that pass for the benchmark's objects.
fn policies(sandbox: &Sandbox, count: usize, bind: bool) -> Result<(), Error> {
    let policies = ResourceRef::new("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", None);
    let bindings = ResourceRef::new("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", None);
    for i in 0..count {
        let name = format!("bench-{i}");
        if !bind {
            sandbox.store().delete(&bindings, &name, &DeleteOptions::default())?;
            sandbox.store().delete(&policies, &name, &DeleteOptions::default())?;
            continue;
        }
        let policy = json!({
            "metadata": {"name": name},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]},
                "matchConditions": [{"name": "labelled", "expression": "has(object.metadata.labels)"}],
                "variables": [{"name": "payload", "expression": "has(object.data) && 'payload' in object.data ? object.data.payload : ''"}],
                "validations": [
                    {"expression": "object.metadata.name.size() <= 253"},
                    {"expression": "variables.payload.size() < 4096", "messageExpression": "'payload of ' + string(variables.payload.size()) + ' bytes'"},
                    {"expression": "object.metadata.labels['app'] == 'bench'", "reason": "Invalid"}
                ]
            }
        });
        sandbox.store().create(&policies, policy, WriteOptions::default())?;
        let binding = json!({"metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}});
        sandbox.store().create(&bindings, binding, WriteOptions::default())?;
    }
    Ok(())
}

/// Creates (`bind`) or deletes the admission objects generated from `count`
/// ClusterDriftPolicies, each holding every ConfigMap to the label and payload the
/// benchmark's objects have.
fn generated_policies(sandbox: &Sandbox, count: usize, bind: bool, namespaced: bool) -> Result<(), Error> {
    use driftwarden::admission::{DEFAULT_APPLIERS, DEFAULT_EXEMPT_GROUPS, Source, generate};
    use driftwarden::api::policy::PolicySpec;
    let policies = ResourceRef::new("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", None);
    let bindings = ResourceRef::new("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", None);
    let key = driftwarden::fingerprints::draw();
    let exempt: Vec<String> = DEFAULT_APPLIERS.iter().map(|u| u.to_string()).collect();
    // The writers are the sandbox's administrator, a member of system:masters, which the
    // installation exempts by default: left out here, so that the rules are evaluated.
    let groups: Vec<String> =
        DEFAULT_EXEMPT_GROUPS.iter().filter(|g| **g != "system:masters").map(|g| g.to_string()).collect();
    let resource_of = |_: &str, _: &str| Some(("configmaps".to_string(), true));
    for i in 0..count {
        let name = format!("bench-{i}");
        let spec: PolicySpec = serde_json::from_value(json!({
            "owner": {"team": "bench"},
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "bench"}}},
                           "template": {"metadata": {"labels": {"app": "bench", "tier": format!("t{i}")}}}}],
            "ignore": [{"paths": ["/metadata/labels/tier"]}],
            "admission": {"action": "Deny"}
        }))?;
        let namespace = namespaced.then(|| format!("bench-{}", i % NAMESPACES));
        let compiled = driftwarden::engine::evaluate::compile(&name, namespace.as_deref(), &spec, &key)
            .map_err(|p| format!("{p:?}"))?;
        let policy_key = driftwarden::keys::PolicyKey { namespace, name };
        let generated = generate(&Source {
            key: &policy_key,
            uid: None,
            admission: spec.admission.as_ref().ok_or("admission")?,
            policy: &compiled,
            resource_of: &resource_of,
            exempt_users: &exempt,
            exempt_groups: &groups,
            exceptions: &[],
        });
        if !bind {
            sandbox.store().delete(&bindings, &generated.name, &DeleteOptions::default())?;
            sandbox.store().delete(&policies, &generated.name, &DeleteOptions::default())?;
            continue;
        }
        sandbox.store().create(&policies, generated.policy, WriteOptions::default())?;
        sandbox.store().create(&bindings, generated.binding, WriteOptions::default())?;
    }
    Ok(())
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures.get(figures.len() / 2).copied().unwrap_or_default()
}

/// Unthrottled writes without watchers, alternately without and with bound policies.
async fn admission_cost(sandbox: &Sandbox, objects: usize, writers: usize, seconds: u64) -> Result<(), Error> {
    let count = setting("DW_BENCH_POLICIES", 20) as usize;
    let rounds = setting("DW_BENCH_ROUNDS", 3);
    println!(
        "admission: {writers} writers, no watchers, {seconds}s per round, {rounds} rounds without and with {count} policies"
    );
    let generated = setting("DW_BENCH_GENERATED", 0);
    let bind = |bind: bool| match generated {
        0 => policies(sandbox, count, bind),
        mode => generated_policies(sandbox, count, bind, mode == 2),
    };
    let kind = match generated {
        0 => "hand-written",
        1 => "generated (cluster-wide)",
        _ => "generated (one namespace each)",
    };
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        without.push(phase(&format!("round {round}, no policies"), sandbox, (objects, 0, writers, 0, seconds)).await?);
        bind(true)?;
        with.push(
            phase(&format!("round {round}, {count} {kind} policies"), sandbox, (objects, 0, writers, 0, seconds))
                .await?,
        );
        bind(false)?;
    }
    let (without, with) = (median(without), median(with));
    println!(
        "admission: median {without:.0} writes/s without policies, {with:.0} with {count} {kind}: {:.0}%{}",
        100.0 * with / without,
        if generated == 0 { " (goal: at least 70%)" } else { "" }
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let objects = setting("DW_BENCH_OBJECTS", 10_000) as usize;
    let watchers = setting("DW_BENCH_WATCHERS", 100) as usize;
    let writers = setting("DW_BENCH_WRITERS", 16) as usize;
    let rate = setting("DW_BENCH_RATE", 200);
    let seconds = setting("DW_BENCH_SECONDS", 10);
    let sandbox = Sandbox::start().await?;
    let rss_empty = rss_kib();
    let started = Instant::now();
    for ns in 0..NAMESPACES {
        let target = ResourceRef::new("", "v1", "namespaces", None);
        sandbox.store().create(
            &target,
            json!({"metadata": {"name": format!("bench-{ns}")}}),
            WriteOptions::default(),
        )?;
    }
    for i in 0..objects {
        let target = ResourceRef::new("", "v1", "configmaps", Some(&format!("bench-{}", i % NAMESPACES)));
        let body = json!({"metadata": {"name": format!("cm-{i}"), "labels": {"app": "bench"}},
            "data": {"payload": "x".repeat(256), "sentAt": "0"}});
        sandbox.store().create(&target, body, WriteOptions::default())?;
    }
    println!(
        "loaded {objects} ConfigMaps in {NAMESPACES} namespaces in {:.2}s; RSS {} MiB (empty sandbox: {} MiB)",
        started.elapsed().as_secs_f64(),
        rss_kib() / 1024,
        rss_empty / 1024
    );
    if setting("DW_BENCH_ADMISSION_ONLY", 0) == 0 {
        println!("{watchers} watchers on all ConfigMaps, {writers} concurrent writers, {seconds}s per phase");
        phase(&format!("steady {rate} writes/s"), &sandbox, (objects, watchers, writers, rate, seconds)).await?;
        phase("unthrottled", &sandbox, (objects, watchers, writers, 0, seconds)).await?;
    }
    admission_cost(&sandbox, objects, writers, seconds).await?;
    Ok(())
}
