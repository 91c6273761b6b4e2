//! A campaign over N drifted assets against the sandbox: a ClusterDriftPolicy in `Audit`
//! (it fixes nothing by itself) and an `Auto` RemediationCampaign that fixes the drift in
//! waves. The operator runs as its own user, so the sandbox's request log counts its writes.
//!
//! Prints: the time until every asset has its Finding written, the time until the campaign
//! is `Completed` with every Finding closed, the number of waves, the operator's API writes
//! in total and per wave (Findings, their status, fixes, the campaign's status), the size of
//! the campaign's status, and the process's resident memory.
//!
//! `cargo bench --bench campaign`; tune with `DW_BENCH_ASSETS` (10000) and
//! `DW_BENCH_WAVE` (wave size, 1000).

use std::time::{Duration, Instant};

use driftwarden::operator::OperatorSettings;
use driftwarden::sandbox::store::{ResourceRef, WriteOptions};
use driftwarden::sandbox::testing::{Sandbox, install_crds};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

#[path = "support/isolated.rs"]
mod isolated;
mod support;
#[path = "support/tagged.rs"]
mod tagged;

#[global_allocator]
static ALLOCATOR: tagged::Tagged = tagged::Tagged;

use support::{rss_kib, setting};

type Error = Box<dyn std::error::Error + Send + Sync>;

const NAMESPACES: usize = 20;

/// How many distinct Findings `user` has applied so far.
fn findings_applied(sandbox: &Sandbox, user: &str) -> usize {
    sandbox
        .requests()
        .into_iter()
        .filter(|r| r.user == user && r.resource == "findings" && r.subresource.is_none() && r.verb == "patch")
        .map(|r| (r.namespace, r.name))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let debug = cfg!(debug_assertions);
    let assets = setting("DW_BENCH_ASSETS", if debug { 200 } else { 10_000 }) as usize;
    let wave = setting("DW_BENCH_WAVE", if debug { 50 } else { 1000 });
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    install_crds(&client, &driftwarden::api::crds()).await?;
    for ns in 0..NAMESPACES {
        let target = ResourceRef::new("", "v1", "namespaces", None);
        sandbox.store().create(
            &target,
            json!({"metadata": {"name": format!("team-{ns}")}}),
            WriteOptions::default(),
        )?;
    }
    for i in 0..assets {
        let target = ResourceRef::new("", "v1", "configmaps", Some(&format!("team-{}", i % NAMESPACES)));
        let body = json!({"metadata": {"name": format!("cm-{i}"), "labels": {"app": "bench", "team": "unknown"}},
            "data": {"payload": "x".repeat(256)}});
        sandbox.store().create(&target, body, WriteOptions::default())?;
    }
    let rss_loaded = rss_kib() / 1024;
    let cluster_policies: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::erase::<driftwarden::api::policy::ClusterDriftPolicy>(&()));
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
        "metadata": {"name": "labels"},
        "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "bench"}}},
                                "template": {"metadata": {"labels": {"team": "shop"}}}}],
                 "remediation": {"mode": "Audit"}}
    }))?;
    cluster_policies.create(&PostParams::default(), &policy).await?;

    let identity = sandbox.add_user("driftwarden-bench", &["system:masters"]);
    let user = identity.user.name.clone();
    let settings = OperatorSettings { finding_writes: 64, ..OperatorSettings::default() };
    let operator = isolated::Isolated::start(sandbox.config_as(&identity), settings).await?;
    let audited = move |p: Option<&DynamicObject>| {
        p.and_then(|p| p.data.pointer("/status/drifted")).and_then(Value::as_u64) == Some(assets as u64)
    };
    await_condition(cluster_policies.clone(), "labels", audited).await?;
    let heap_audited = operator.heap_mib();
    sandbox.clear_requests();

    let campaigns: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()));
    let campaign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": "labels"},
        "spec": {"objective": "Every ConfigMap names its team", "owner": {"team": "platform"},
                 "control": {"policyRef": {"kind": "ClusterDriftPolicy", "name": "labels"}},
                 "deadline": "2099-01-01T00:00:00Z",
                 "strategy": {"mode": "Auto", "waveSize": wave, "waveInterval": "1s", "pauseOnFailurePercent": 5}}
    }))?;
    let started = Instant::now();
    campaigns.create(&PostParams::default(), &campaign).await?;
    let findings: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::erase::<driftwarden::api::finding::Finding>(&()));
    // Progress is read from the request log and the campaign's status, never by listing
    // thousands of Findings while the campaign runs.
    let mut all_written = None;
    let mut completed = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while completed.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if all_written.is_none() && findings_applied(&sandbox, &user) == assets {
            all_written = Some(started.elapsed());
        }
        let status = campaigns.get("labels").await?;
        let done = status
            .data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Completed" && c["status"] == "True"));
        if done {
            completed = Some(started.elapsed());
        }
    }
    let rss_completed = rss_kib() / 1024;
    let heap_completed = operator.heap_mib();
    // Every Finding written closed too: the operator's writes settle, then one paged list.
    let mut closed = 0;
    let closing = Instant::now();
    while closing.elapsed() < Duration::from_secs(300) {
        closed = 0;
        let mut params = ListParams::default().limit(500);
        loop {
            let page = findings.list(&params).await?;
            closed += page.items.iter().filter(|f| f.data["status"]["state"] == "Closed").count();
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
        if all_written.is_none() && findings_applied(&sandbox, &user) == assets {
            all_written = Some(started.elapsed());
        }
        if closed == assets {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let closed_everywhere = started.elapsed();
    let requests: Vec<_> = sandbox.requests().into_iter().filter(|r| r.user == user).collect();
    let count = |resource: &str, sub: Option<&str>, verb: &str, dry_run: bool| {
        requests
            .iter()
            .filter(|r| {
                r.resource == resource && r.subresource.as_deref() == sub && r.verb == verb && r.dry_run == dry_run
            })
            .count()
    };
    let waves = (assets as u64).div_ceil(wave);
    let finding_specs = count("findings", None, "patch", false);
    let finding_statuses = count("findings", Some("status"), "patch", false);
    let fixes = count("configmaps", None, "patch", false);
    let campaign_statuses = count("remediationcampaigns", Some("status"), "patch", false);
    let status = campaigns.get("labels").await?;
    let status_bytes = serde_json::to_vec(&status.data["status"])?.len();
    println!("campaign over {assets} drifted ConfigMaps in {NAMESPACES} namespaces, waves of {wave}:");
    match all_written {
        Some(at) => println!("  a Finding applied for every asset after {:.2}s", at.as_secs_f64()),
        None => println!("  Findings were not applied for every asset"),
    }
    match completed {
        Some(at) => println!(
            "  Completed after {:.2}s ({waves} waves); {closed} Findings written closed after {:.2}s",
            at.as_secs_f64(),
            closed_everywhere.as_secs_f64()
        ),
        None => println!("  not Completed within the deadline"),
    }
    println!(
        "  operator writes: {finding_specs} Finding applies, {finding_statuses} Finding status writes, {fixes} fixes \
         ({} dry-runs, {} verifying GETs), {campaign_statuses} campaign status writes, {} Events",
        count("configmaps", None, "patch", true),
        count("configmaps", None, "get", false),
        count("events", None, "create", false),
    );
    println!(
        "  per wave: {:.0} writes ({:.0} Finding writes, {:.0} fixes with their dry-runs and GETs)",
        (finding_specs + finding_statuses + fixes * 3 + campaign_statuses) as f64 / waves as f64,
        (finding_specs + finding_statuses) as f64 / waves as f64,
        (fixes * 3) as f64 / waves as f64,
    );
    println!(
        "  campaign status: {status_bytes} bytes of JSON; RSS (sandbox and operator): {rss_loaded} MiB with the assets \
         loaded, {rss_completed} MiB at completion; the operator's own heap: {heap_audited:.1} MiB with the policy's {assets} drifts \
         escalated, {heap_completed:.1} MiB at completion"
    );
    let encoded = operator.metrics.encode();
    let remediations: Vec<&str> = encoded.lines().filter(|l| l.starts_with("driftwarden_remediations_total")).collect();
    println!("  operator metrics: {}", remediations.join("; "));
    operator.stop().await;
    Ok(())
}
