//! The operator end to end against the sandbox: N governed ConfigMaps, drifts injected at
//! a steady rate, and the time from each drift's write until a watcher sees it restored
//! (drift observed, fixed with a dry-run and an apply, verified by a fresh GET, and the
//! fixed object delivered by the watch).
//!
//! Prints: the time to list and evaluate N objects at start, p50/p99 drift→fix latency,
//! the API requests the operator made (it runs as its own user, so the sandbox's request
//! log tells its requests apart): while every object is in sync, per fix, and the applies
//! and status writes that changed nothing; the time to re-evaluate every object after a
//! policy edit (and the list calls it made: none expected), and memory.
//!
//! The operator runs either on a runtime of its own in this process (the default; its heap
//! is told apart from the sandbox's by an allocation tag), or, with
//! `DW_BENCH_OPERATOR=process`, as the release `driftwarden run` binary in a child process
//! with a kubeconfig for the sandbox: then its resident memory is the child's own `VmRSS`.
//!
//! With `DW_BENCH_SOAK_SECS` above 0, a soak follows: drifts go on at `DW_BENCH_RATE` for
//! that long, every object in turn, and the operator's memory is sampled every
//! `DW_BENCH_SOAK_SAMPLE_SECS` (30): it must not grow beyond noise while what it governs
//! stays the same.
//!
//! `cargo bench --bench operator`; tune with `DW_BENCH_OBJECTS` (1000), `DW_BENCH_DRIFTS`
//! (200), `DW_BENCH_RATE` (drifts per second, 50) and `DW_BENCH_OPERATOR` (`in-process` or
//! `process`). `DW_BENCH_DEPLOYMENTS` (0) adds that many Deployments, governed by two more
//! ClusterDriftPolicies (ownership labels, and a pod security setting in their pod
//! template): the mix of kinds and policies a cluster has; drifts stay on the ConfigMaps. With `DW_BENCH_SERVICE_ACCOUNT=1` the policy names a ServiceAccount, so every
//! request of every fix impersonates it (what a fix made as the tenant costs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driftwarden::operator::OperatorSettings;
use driftwarden_sandbox::store::{ResourceRef, WriteOptions};
use driftwarden_sandbox::testing::{RequestRecord, Sandbox, install_crds};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

#[path = "support/isolated.rs"]
mod isolated;

/// The operator's namespace, where it keeps its ledger.
const NAMESPACE: &str = "driftwarden-bench";
mod support;
#[path = "support/tagged.rs"]
mod tagged;

#[global_allocator]
static ALLOCATOR: tagged::Tagged = tagged::Tagged;

use support::{rss_and_peak_kib_of, rss_kib, setting};

type Error = Box<dyn std::error::Error + Send + Sync>;

const NAMESPACES: usize = 20;

fn rss_mib() -> u64 {
    rss_kib() / 1024
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The requests `user` made since the log was last cleared.
/// Makes the ServiceAccount `fixer` in the operator's namespace, allowed to read and patch
/// ConfigMaps everywhere: what a fix of the bench's policy needs, and no more.
async fn fix_as_a_service_account(client: &kube::Client) -> Result<(), Error> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    let params = PostParams::default();
    let account: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "fixer"}}))?;
    Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE).create(&params, &account).await?;
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "bench-fixer"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]}]
    }))?;
    Api::<ClusterRole>::all(client.clone()).create(&params, &role).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "bench-fixer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "bench-fixer"},
        "subjects": [{"kind": "ServiceAccount", "name": "fixer", "namespace": NAMESPACE}]
    }))?;
    Api::<ClusterRoleBinding>::all(client.clone()).create(&params, &binding).await?;
    Ok(())
}

/// The requests the operator made: as itself, and as the ServiceAccount it impersonates.
fn requests_of(sandbox: &Sandbox, user: &str) -> Vec<RequestRecord> {
    sandbox.requests().into_iter().filter(|r| r.user == user || r.impersonator.as_deref() == Some(user)).collect()
}

/// `verb resource: count` for each kind of request.
fn describe(requests: &[RequestRecord]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in requests {
        let resource = match &r.subresource {
            Some(sub) => format!("{}/{sub}", r.resource),
            None if r.name.starts_with("driftwarden-ledger-") => format!("{} (ledger)", r.resource),
            None => r.resource.clone(),
        };
        *counts.entry(format!("{}{} {resource}", r.verb, if r.dry_run { " (dry-run)" } else { "" })).or_default() += 1;
    }
    if counts.is_empty() {
        return "none".to_string();
    }
    counts.iter().map(|(what, n)| format!("{what}: {n}")).collect::<Vec<_>>().join(", ")
}

fn status_number(policy: &DynamicObject, field: &str) -> i64 {
    policy.data.pointer(&format!("/status/{field}")).and_then(Value::as_i64).unwrap_or(0)
}

/// The operator being measured.
enum Operator {
    /// On a runtime of its own in this process.
    InProcess(isolated::Isolated),
    /// `driftwarden run` in a child process, serving its metrics on `health`.
    Process { child: tokio::process::Child, health: std::net::SocketAddr, _kubeconfig: tempfile::NamedTempFile },
}

impl Operator {
    async fn start(sandbox: &Sandbox, identity: &driftwarden_sandbox::auth::Identity) -> Result<Self, Error> {
        if std::env::var("DW_BENCH_OPERATOR").as_deref() != Ok("process") {
            let config = sandbox.config_as(identity);
            let settings = OperatorSettings { namespace: NAMESPACE.to_string(), ..OperatorSettings::default() };
            return Ok(Self::InProcess(isolated::Isolated::start(config, settings).await?));
        }
        // The sandbox's kubeconfig, with the operator's own token.
        let mut kubeconfig = serde_json::to_value(sandbox.kubeconfig())?;
        kubeconfig["users"][0]["user"] = json!({"token": identity.token});
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, serde_json::to_string(&kubeconfig)?.as_bytes())?;
        let health = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftwarden"))
            .args(["run", "--namespace", NAMESPACE, "--leader-elect=false", "--log-level", "warn"])
            .arg("--health-address")
            .arg(health.to_string())
            .env("KUBECONFIG", file.path())
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self::Process { child, health, _kubeconfig: file })
    }

    /// The operator's memory now.
    fn memory(&self) -> String {
        match self {
            Self::InProcess(operator) => format!("operator heap {:.1} MiB", operator.heap_mib()),
            Self::Process { child, .. } => {
                let (rss, peak) = child.id().map(rss_and_peak_kib_of).unwrap_or_default();
                let mib = |kib: u64| kib as f64 / 1024.0;
                format!("operator RSS {:.1} MiB, peak {:.1} MiB (VmRSS, VmHWM of driftwarden run)", mib(rss), mib(peak))
            }
        }
    }

    /// The operator's memory now, in KiB: its live heap in process, its `VmRSS` as a process.
    fn memory_kib(&self) -> u64 {
        match self {
            Self::InProcess(operator) => (operator.heap_mib() * 1024.0) as u64,
            Self::Process { child, .. } => child.id().map(rss_and_peak_kib_of).unwrap_or_default().0,
        }
    }

    /// The operator's metrics, as `/metrics` serves them.
    async fn metrics(&self) -> Result<String, Error> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        match self {
            Self::InProcess(operator) => Ok(operator.metrics.encode()),
            Self::Process { health, .. } => {
                let mut stream = tokio::net::TcpStream::connect(health).await?;
                stream.write_all(b"GET /metrics HTTP/1.0\r\nhost: bench\r\n\r\n").await?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await?;
                Ok(answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
            }
        }
    }

    async fn stop(self) -> Result<(), Error> {
        match self {
            Self::InProcess(operator) => operator.stop().await,
            Self::Process { mut child, .. } => {
                child.kill().await?;
            }
        }
        Ok(())
    }
}

/// Deployment `i`, compliant with [`deployment_policies`].
fn deployment(i: usize) -> Value {
    let labels = json!({"app": format!("web-{i}")});
    json!({"metadata": {"name": format!("web-{i}"), "labels": {"app": "bench-web", "owner": "storefront"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"securityContext": {"runAsNonRoot": true},
                    "containers": [{"name": "web", "image": "registry.example/web:1.4.2",
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}})
}

/// The two policies on the bench's Deployments: an owner label, and pods that do not run
/// as root.
fn deployment_policies() -> Vec<Value> {
    let matched =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "selector": {"matchLabels": {"app": "bench-web"}}});
    let policy = |name: &str, template: Value| {
        json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy", "metadata": {"name": name},
            "spec": {"baselines": [{"match": matched, "template": template}]}})
    };
    vec![
        policy("bench-owners", json!({"metadata": {"labels": {"owner": "storefront"}}})),
        policy("bench-security", json!({"spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true}}}}})),
    ]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let objects = setting("DW_BENCH_OBJECTS", 1000) as usize;
    let drifts = setting("DW_BENCH_DRIFTS", 200) as usize;
    let rate = setting("DW_BENCH_RATE", 50).max(1);
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    install_crds(&client, &driftwarden::api::crds()).await?;
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
        let body = json!({"metadata": {"name": format!("cm-{i}"), "labels": {"app": "bench", "team": "shop"}},
            "data": {"payload": "x".repeat(256)}});
        sandbox.store().create(&target, body, WriteOptions::default())?;
    }
    let deployments = setting("DW_BENCH_DEPLOYMENTS", 0) as usize;
    for i in 0..deployments {
        let target = ResourceRef::new("apps", "v1", "deployments", Some(&format!("bench-{}", i % NAMESPACES)));
        sandbox.store().create(&target, deployment(i), WriteOptions::default())?;
    }
    let rss_loaded = rss_mib();
    let policies: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::erase::<driftwarden::api::policy::ClusterDriftPolicy>(&()));
    let mut policy = json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
        "metadata": {"name": "bench"},
        "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "bench"}}},
                                "template": {"metadata": {"labels": {"team": "shop"}}}}],
                 "remediation": {"circuitBreaker": {"maxDriftedPercent": 50}}}
    });

    // The operator runs as its own user, so that its requests can be counted apart, in a
    // namespace of its own that holds its ledger.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    namespaces.create(&PostParams::default(), &namespace).await?;
    let as_account = setting("DW_BENCH_SERVICE_ACCOUNT", 0) == 1;
    if as_account {
        fix_as_a_service_account(&client).await?;
        policy["spec"]["serviceAccountRef"] = json!({"namespace": NAMESPACE, "name": "fixer"});
    }
    println!("fixes made as {}", if as_account { "ServiceAccount fixer (impersonated)" } else { "the operator" });
    policies.create(&PostParams::default(), &serde_json::from_value(policy)?).await?;
    if deployments > 0 {
        for policy in deployment_policies() {
            policies.create(&PostParams::default(), &serde_json::from_value(policy)?).await?;
        }
    }
    let identity = sandbox.add_user("driftwarden-bench", &["system:masters"]);
    let user = identity.user.name.clone();
    let operator = Operator::start(&sandbox, &identity).await?;
    let started = Instant::now();
    let ready = move |p: Option<&DynamicObject>| p.is_some_and(|p| status_number(p, "targets") == objects as i64);
    tokio::time::timeout(Duration::from_secs(300), await_condition(policies.clone(), "bench", ready))
        .await
        .map_err(|_| "the operator did not report every object within 300 s")??;
    let deployment_policy_names = ["bench-owners", "bench-security"].into_iter().filter(|_| deployments > 0);
    for name in deployment_policy_names {
        let all = move |p: Option<&DynamicObject>| p.is_some_and(|p| status_number(p, "targets") == deployments as i64);
        tokio::time::timeout(Duration::from_secs(300), await_condition(policies.clone(), name, all))
            .await
            .map_err(|_| format!("the operator did not report every Deployment of {name} within 300 s"))??;
    }
    println!(
        "{objects} ConfigMaps and {deployments} Deployments: listed, evaluated and reported in {:.2}s; RSS of this process {} MiB (sandbox with the \
         objects alone: {} MiB); {}",
        started.elapsed().as_secs_f64(),
        rss_mib(),
        rss_loaded,
        operator.memory()
    );
    println!(
        "operator memory per governed object: {:.2} KiB ({} objects)",
        operator.memory_kib() as f64 / (objects + deployments) as f64,
        objects + deployments
    );

    // Every object in sync: what does the operator ask of the API server meanwhile?
    tokio::time::sleep(Duration::from_secs(1)).await;
    sandbox.clear_requests();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = requests_of(&sandbox, &user);
    println!("{objects} objects in sync for 3 s: {} API requests by the operator ({})", idle.len(), describe(&idle));
    sandbox.clear_requests();

    // Watch every ConfigMap: a drift counts as fixed when its object comes back with team=shop.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let all: Api<ConfigMap> = Api::all(client.clone());
    // A watcher, not one watch: it watches again when the server ends a watch, so a soak of
    // many minutes keeps seeing the fixes.
    let mut stream = kube::runtime::watcher(all, kube::runtime::watcher::Config::default()).boxed();
    // Drifts start once the watcher has listed every ConfigMap: a fixed object seen in its
    // initial list would count the list's own time as the fix's.
    let (listed_tx, listed) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let (sent, latencies) = (sent.clone(), latencies.clone());
        let mut listed_tx = Some(listed_tx);
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                if matches!(event, Ok(kube::runtime::watcher::Event::InitDone))
                    && let Some(tx) = listed_tx.take()
                {
                    let _ = tx.send(());
                }
                let (Ok(kube::runtime::watcher::Event::Apply(cm)) | Ok(kube::runtime::watcher::Event::InitApply(cm))) =
                    event
                else {
                    continue;
                };
                let fixed = cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop");
                let key =
                    format!("{}/{}", cm.metadata.namespace.unwrap_or_default(), cm.metadata.name.unwrap_or_default());
                if fixed && let Some(at) = sent.lock().unwrap().remove(&key) {
                    latencies.lock().unwrap().push(at.elapsed());
                }
            }
        })
    };
    tokio::time::timeout(Duration::from_secs(300), listed)
        .await
        .map_err(|_| "the bench's watcher did not list the ConfigMaps within 300 s")??;
    let edit = PatchParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let injecting = Instant::now();
    for n in 0..drifts {
        tick.tick().await;
        let i = (n * 7919) % objects;
        let (ns, name) = (format!("bench-{}", i % NAMESPACES), format!("cm-{i}"));
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        sent.lock().unwrap().insert(format!("{ns}/{name}"), Instant::now());
        api.patch(&name, &edit, &Patch::Merge(json!({"metadata": {"labels": {"team": format!("drift-{n}")}}}))).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.lock().unwrap().len() < drifts && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last status writes land, then count what the drifts cost.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = requests_of(&sandbox, &user);
    let on_objects = |verb: &str, dry_run: bool| {
        during.iter().filter(|r| r.resource == "configmaps" && r.verb == verb && r.dry_run == dry_run).count()
    };
    let (dry_runs, applies, gets) = (on_objects("patch", true), on_objects("patch", false), on_objects("get", false));
    let status_writes = during
        .iter()
        .filter(|r| r.resource == "clusterdriftpolicies" && r.subresource.as_deref() == Some("status"))
        .count();
    let policy_versions = policies.get("bench").await?.metadata.resource_version.unwrap_or_default();
    let fixed = latencies.lock().unwrap().len().max(1);
    println!(
        "API requests per fix: {:.2} ({dry_runs} dry-runs, {applies} applies, {gets} verifying GETs for {fixed} fixes); \
         no-op applies: {}; other requests: {}",
        (dry_runs + applies + gets) as f64 / fixed as f64,
        applies.saturating_sub(fixed),
        describe(&during.iter().filter(|r| r.resource != "configmaps").cloned().collect::<Vec<_>>()),
    );
    println!("policy status writes during the drifts: {status_writes} (policy resourceVersion now {policy_versions})");
    let mut sorted = latencies.lock().unwrap().clone();
    sorted.sort();
    println!(
        "{drifts} drifts at {rate}/s over {:.1}s: {} fixed and seen; drift→fix p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        injecting.elapsed().as_secs_f64(),
        sorted.len(),
        percentile(&sorted, 0.50).as_secs_f64() * 1000.0,
        percentile(&sorted, 0.99).as_secs_f64() * 1000.0,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );

    // A policy edit: every cached object is evaluated again, without a list call.
    let before = policies.get("bench").await?;
    let generation = before.metadata.generation.unwrap_or(0) + 1;
    sandbox.clear_requests();
    let edited = Instant::now();
    policies
        .patch(
            "bench",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"remediation": {"rateLimit": {"perMinute": 10000}}}})),
        )
        .await?;
    let observed =
        move |p: Option<&DynamicObject>| p.is_some_and(|p| status_number(p, "observedGeneration") >= generation);
    await_condition(policies.clone(), "bench", observed).await?;
    let lists = requests_of(&sandbox, &user).iter().filter(|r| r.verb == "list").count();
    println!(
        "policy edit: all {objects} objects re-evaluated and the status written in {:.1} ms, with {lists} list calls",
        edited.elapsed().as_secs_f64() * 1000.0
    );
    // A status write that changes nothing leaves the resourceVersion alone: count them.
    sandbox.clear_requests();
    let before = policies.get("bench").await?.metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = requests_of(&sandbox, &user).iter().filter(|r| r.subresource.as_deref() == Some("status")).count();
    let after = policies.get("bench").await?.metadata.resource_version;
    println!(
        "no-op status writes over 2 s at rest: {writes} (resourceVersion {})",
        if before == after { "unchanged" } else { "changed" }
    );
    let soak = setting("DW_BENCH_SOAK_SECS", 0);
    if soak > 0 {
        let every = Duration::from_secs(setting("DW_BENCH_SOAK_SAMPLE_SECS", 30).max(1));
        let fixed_before = latencies.lock().unwrap().len();
        let mut samples: Vec<(f64, u64)> = vec![(0.0, operator.memory_kib())];
        let soaking = Instant::now();
        let mut next_sample = soaking + every;
        let mut sent_in_soak = 0usize;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        while soaking.elapsed() < Duration::from_secs(soak) {
            tick.tick().await;
            let n = drifts + sent_in_soak;
            let i = (n * 7919) % objects;
            let (ns, name) = (format!("bench-{}", i % NAMESPACES), format!("cm-{i}"));
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
            sent.lock().unwrap().insert(format!("{ns}/{name}"), Instant::now());
            let patch = Patch::Merge(json!({"metadata": {"labels": {"team": format!("drift-{n}")}}}));
            api.patch(&name, &edit, &patch).await?;
            sent_in_soak += 1;
            if Instant::now() >= next_sample {
                next_sample += every;
                let kib = operator.memory_kib();
                let t = soaking.elapsed().as_secs_f64();
                println!(
                    "soak {t:.0}s: {sent_in_soak} drifts sent, {} fixed and seen; operator {:.1} MiB",
                    latencies.lock().unwrap().len() - fixed_before,
                    kib as f64 / 1024.0
                );
                samples.push((t, kib));
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let fixed = latencies.lock().unwrap().len() - fixed_before;
        let mib = |kib: u64| kib as f64 / 1024.0;
        // Growth: the least-squares slope over the second half, when start-up is long past.
        let half: Vec<(f64, f64)> = samples.iter().skip(samples.len() / 2).map(|(t, kib)| (*t, mib(*kib))).collect();
        let n = half.len() as f64;
        let (mean_t, mean_m) = (half.iter().map(|s| s.0).sum::<f64>() / n, half.iter().map(|s| s.1).sum::<f64>() / n);
        let var: f64 = half.iter().map(|s| (s.0 - mean_t).powi(2)).sum();
        let slope =
            if var > 0.0 { half.iter().map(|s| (s.0 - mean_t) * (s.1 - mean_m)).sum::<f64>() / var } else { 0.0 };
        let (min, max) = samples.iter().fold((u64::MAX, 0), |(lo, hi), (_, kib)| (lo.min(*kib), hi.max(*kib)));
        println!(
            "soak over {:.0}s at {rate}/s: {sent_in_soak} drifts, {fixed} fixed and seen; operator memory first {:.1} / \
             min {:.1} / max {:.1} / last {:.1} MiB ({} samples); second-half slope {:+.2} MiB per hour; {:.2} KiB per \
             governed object at the end",
            soaking.elapsed().as_secs_f64(),
            mib(samples[0].1),
            mib(min),
            mib(max),
            mib(samples.last().map_or(0, |s| s.1)),
            samples.len(),
            slope * 3600.0,
            samples.last().map_or(0, |s| s.1) as f64 / (objects + deployments) as f64,
        );
    }
    let encoded = operator.metrics().await?;
    let line = |name: &str| encoded.lines().filter(|l| l.starts_with(name)).collect::<Vec<_>>().join("; ");
    println!("operator metrics: {}", line("driftwarden_remediations_total"));
    println!("operator metrics: {}", line("driftwarden_api_requests_total"));
    println!("operator metrics: {}", line("driftwarden_watched_objects"));
    println!("operator metrics: {}", line("driftwarden_internal_errors_total"));
    println!("RSS of this process at the end: {} MiB; {}", rss_mib(), operator.memory());
    operator.stop().await?;
    watcher.abort();
    Ok(())
}
