//! The commands people type, timed whole: the `driftwarden` binary in a child process,
//! from its start to its exit, each at a size and at ten times that size, to show that
//! each scales linearly (time at 10× at most 12× the time at 1×).
//!
//! - `check`: `DW_BENCH_MANIFESTS` (10,000) manifests in one YAML stream, as `helm template`
//!   prints them (half Deployments, half ConfigMaps, every tenth drifted, in 100 labelled
//!   Namespaces), against three ClusterDriftPolicies; prints manifests per second, YAML
//!   parsing included.
//! - `diff`: the same three policies in the sandbox over `DW_BENCH_OBJECTS` (1,000) stored
//!   objects of the same mix.
//! - `inventory`: the identity fixture (`support/identity.rs`) in the sandbox with
//!   `DW_BENCH_ACCOUNTS` (1,000) ServiceAccounts and five bindings per account.
//!
//! Each command runs `DW_BENCH_ROUNDS` (3) times per size; the median is printed. A debug
//! build (as `cargo test --all-targets` runs it) uses a hundredth of every size and one round.
//!
//! `cargo bench --bench commands`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use driftwarden_sandbox::Sandbox;
use driftwarden_sandbox::store::{ResourceRef, WriteOptions};
use driftwarden_sandbox::testing::install_crds;
use serde_json::{Value, json};

#[path = "support/identity.rs"]
mod identity;
mod support;

use support::{rss_and_peak_kib_of, setting};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The namespaces the check and diff objects spread over.
const NAMESPACES: usize = 100;

/// Every size is divided by this in a debug build.
const DEBUG_SCALE: usize = 100;

fn scaled(size: u64) -> usize {
    let size = size as usize;
    if cfg!(debug_assertions) { (size / DEBUG_SCALE).max(10) } else { size }
}

/// The three policies: ownership labels and a pod security setting on every Deployment of a
/// team namespace, and the shop's settings on its ConfigMaps.
fn policies() -> Vec<Value> {
    let policy = |name: &str, baseline: Value| {
        json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
            "metadata": {"name": name}, "spec": {"baselines": [baseline]}})
    };
    let team_deployments = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]}});
    vec![
        policy(
            "ownership-labels",
            json!({"name": "owner", "match": team_deployments,
                "template": {"metadata": {"labels": {"driftwarden.dev/owner": "storefront", "cost-center": "cc-4411"}}}}),
        ),
        policy(
            "pod-security",
            json!({"name": "non-root", "match": team_deployments,
                "template": {"spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true}}}}}}),
        ),
        policy(
            "shop-settings",
            json!({"name": "settings",
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                "template": {"data": {"mode": "strict", "currency": "EUR"}}}),
        ),
    ]
}

fn namespace(i: usize) -> String {
    format!("shop-{}", i % NAMESPACES)
}

/// The labelled Namespaces the objects live in.
fn namespaces() -> Vec<Value> {
    (0..NAMESPACES)
        .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace(n), "labels": {"team": "shop"}}}))
        .collect()
}

/// Object `i`: a Deployment when even, a ConfigMap when odd; every tenth drifts from the
/// policies.
fn governed(i: usize) -> Value {
    let drifted = i.is_multiple_of(10);
    if i % 2 == 1 {
        let mode = if drifted { "lenient" } else { "strict" };
        return json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("settings-{i}"), "namespace": namespace(i), "labels": {"app": "shop"}},
            "data": {"mode": mode, "currency": "EUR", "greeting": "welcome to the shop"}});
    }
    let owner = if drifted { "someone-else" } else { "storefront" };
    let labels = json!({"app": format!("web-{i}")});
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("web-{i}"), "namespace": namespace(i),
            "labels": {"app": format!("web-{i}"), "driftwarden.dev/owner": owner, "cost-center": "cc-4411"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"securityContext": {"runAsNonRoot": true},
                    "containers": [{"name": "web", "image": "registry.example/web:1.4.2",
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}}]}}}})
}

fn write_yaml_stream(path: &Path, documents: impl Iterator<Item = Value>) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for document in documents {
        out.write_all(b"---\n")?;
        out.write_all(serde_yaml::to_string(&document)?.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// How a command ran: the median wall time of its runs, and the most memory one held.
#[derive(Clone, Copy, Default)]
struct Run {
    time: Duration,
    peak_kib: u64,
}

/// Runs the binary with `args` `rounds` times; the exit code must be one of `expected`
/// (`check` and `diff` exit 1 when they find drift). The peak resident memory is the
/// child's `VmHWM`, read every 5 ms while it runs (it only grows, so the last read is
/// within 5 ms of the end).
async fn time_command(args: &[&str], env: &[(&str, &Path)], expected: &[i32], rounds: usize) -> Result<Run, Error> {
    let mut times = Vec::with_capacity(rounds);
    let mut peak_kib = 0;
    for _ in 0..rounds {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftwarden"));
        command.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let start = Instant::now();
        let child = command.spawn()?;
        let pid = child.id().unwrap_or_default();
        let mut output = std::pin::pin!(child.wait_with_output());
        let output = loop {
            tokio::select! {
                output = &mut output => break output?,
                _ = tokio::time::sleep(Duration::from_millis(5)) => {
                    peak_kib = peak_kib.max(rss_and_peak_kib_of(pid).1);
                }
            }
        };
        times.push(start.elapsed());
        let code = output.status.code().unwrap_or(-1);
        if !expected.contains(&code) {
            return Err(format!(
                "driftwarden {} exited {code}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    times.sort();
    Ok(Run { time: times[times.len() / 2], peak_kib })
}

/// One command at a size and ten times it.
struct Scaling {
    what: &'static str,
    unit: &'static str,
    sizes: [usize; 2],
    runs: [Run; 2],
}

impl Scaling {
    fn print(&self) {
        let seconds = |i: usize| self.runs[i].time.as_secs_f64();
        let ratio = seconds(1) / seconds(0);
        for i in 0..2 {
            println!(
                "{}: {} {} in {:.3} s ({:.0} {} per second), peak RSS {:.1} MiB",
                self.what,
                self.sizes[i],
                self.unit,
                seconds(i),
                self.sizes[i] as f64 / seconds(i),
                self.unit,
                self.runs[i].peak_kib as f64 / 1024.0
            );
        }
        let verdict = if ratio <= 12.0 { "linear" } else { "NOT linear" };
        println!("{}: 10x the {} takes {ratio:.2}x the time ({verdict}: at most 12x)", self.what, self.unit);
    }
}

async fn bench_check(small: usize, rounds: usize) -> Result<Scaling, Error> {
    let dir = tempfile::tempdir()?;
    let policy_file = dir.path().join("policies.yaml");
    write_yaml_stream(&policy_file, policies().into_iter())?;
    let mut runs = [Run::default(); 2];
    let sizes = [small, small * 10];
    for (i, size) in sizes.into_iter().enumerate() {
        let manifests = dir.path().join(format!("manifests-{size}.yaml"));
        write_yaml_stream(&manifests, namespaces().into_iter().chain((0..size).map(governed)))?;
        let bytes = std::fs::metadata(&manifests)?.len();
        println!("check: {size} manifests, {:.1} MiB of YAML", bytes as f64 / 1_048_576.0);
        let (policy, manifests) = (policy_file.to_string_lossy(), manifests.to_string_lossy());
        runs[i] = time_command(&["check", "-p", &policy, &manifests], &[], &[1], rounds).await?;
    }
    Ok(Scaling { what: "check", unit: "manifests", sizes, runs })
}

/// Stores `object` in the sandbox as its kind's resource.
fn store(sandbox: &Sandbox, object: Value, resource: (&str, &str, &str)) -> Result<(), Error> {
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
    let (group, version, plural) = resource;
    let target = ResourceRef::new(group, version, plural, namespace.as_deref());
    match sandbox.store().create(&target, object, WriteOptions::default()) {
        // The sandbox has its default objects (cluster-admin) already.
        Err(err) if err.code() == 409 => Ok(()),
        other => other.map(drop).map_err(Into::into),
    }
}

/// A sandbox holding `objects`, and a kubeconfig for it in `dir`.
async fn sandbox_with(
    objects: impl Iterator<Item = Value>,
    resource_of: impl Fn(&str) -> (&'static str, &'static str, &'static str),
    dir: &Path,
) -> Result<(Sandbox, std::path::PathBuf), Error> {
    let sandbox = Sandbox::start().await?;
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        store(&sandbox, object, resource_of(&kind))?;
    }
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, serde_json::to_string(&sandbox.kubeconfig())?)?;
    Ok((sandbox, kubeconfig))
}

fn check_resource_of(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "Namespace" => ("", "v1", "namespaces"),
        "ConfigMap" => ("", "v1", "configmaps"),
        "Deployment" => ("apps", "v1", "deployments"),
        other => panic!("the check fixture makes no {other}"),
    }
}

async fn bench_diff(small: usize, rounds: usize) -> Result<Scaling, Error> {
    let dir = tempfile::tempdir()?;
    let mut runs = [Run::default(); 2];
    let sizes = [small, small * 10];
    for (i, size) in sizes.into_iter().enumerate() {
        let objects = namespaces().into_iter().chain((0..size).map(governed));
        let (sandbox, kubeconfig) = sandbox_with(objects, check_resource_of, dir.path()).await?;
        let client = sandbox.client();
        install_crds(&client, &driftwarden::api::crds()).await?;
        for policy in policies() {
            store(&sandbox, policy, ("driftwarden.dev", "v1alpha1", "clusterdriftpolicies"))?;
        }
        runs[i] = time_command(&["diff"], &[("KUBECONFIG", &kubeconfig)], &[1], rounds).await?;
    }
    Ok(Scaling { what: "diff", unit: "objects", sizes, runs })
}

async fn bench_inventory(small: usize, rounds: usize) -> Result<Scaling, Error> {
    let dir = tempfile::tempdir()?;
    let mut runs = [Run::default(); 2];
    let sizes = [small, small * 10];
    for (i, accounts) in sizes.into_iter().enumerate() {
        let objects = identity::objects(accounts, accounts * 5);
        println!("inventory: {accounts} accounts, {} objects in the cluster", objects.len());
        let (_sandbox, kubeconfig) = sandbox_with(objects.into_iter(), identity::resource_of, dir.path()).await?;
        runs[i] = time_command(&["inventory"], &[("KUBECONFIG", &kubeconfig)], &[0], rounds).await?;
    }
    Ok(Scaling { what: "inventory", unit: "accounts", sizes, runs })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let rounds = if cfg!(debug_assertions) { 1 } else { setting("DW_BENCH_ROUNDS", 3).max(1) as usize };
    let results = [
        bench_check(scaled(setting("DW_BENCH_MANIFESTS", 10_000)), rounds).await?,
        bench_diff(scaled(setting("DW_BENCH_OBJECTS", 1_000)), rounds).await?,
        bench_inventory(scaled(setting("DW_BENCH_ACCOUNTS", 1_000)).max(NAMESPACES), rounds).await?,
    ];
    println!("median of {rounds} runs per size, the whole process from start to exit:");
    for result in &results {
        result.print();
    }
    Ok(())
}
