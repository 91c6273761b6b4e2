//! A campaign over N drifted assets against the sandbox: a ClusterDriftPolicy in `Audit`
//! (it fixes nothing by itself) and an `Auto` RemediationCampaign that fixes the drift in
//! waves. The operator runs as its own user, so the sandbox's request log counts its writes.
//!
//! Prints: the cost of the campaign's accounting (the pure [`account`] over every finding's
//! summary, as each status flush runs it); then, against the sandbox, the time until every
//! asset has its Finding, until the campaign is `Completed`, and until every Finding is
//! written `Closed`; the number of waves the campaign started (`status.waves`); the
//! operator's API writes in total and per wave (Findings, their status, fixes, the
//! campaign's status); the size of the campaign's status; and the memory used.
//!
//! `cargo bench --bench campaign`; tune with `DW_BENCH_ASSETS` (10000) and
//! `DW_BENCH_WAVE` (wave size, 1000). With `DW_BENCH_MANUAL=1` the campaign is `Manual`:
//! nothing is fixed, every finding stays open (escalated to its owner), and the bench prints
//! the operator's heap once every asset has its Finding, and that heap per open finding.
//!
//! [`account`]: driftwarden::engine::campaign::account

use std::time::{Duration, Instant};

use driftwarden::operator::OperatorSettings;
use driftwarden_sandbox::store::{ResourceRef, WriteOptions};
use driftwarden_sandbox::testing::{Sandbox, install_crds};
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

/// Times the campaign's accounting over `findings` findings, as the operator's loop runs it
/// on each flush: every finding's summary, then [`account`]. Prints the median, minimum and
/// maximum of 21 runs, and what the operator's entry for one closed finding holds on the
/// heap (runs before the sandbox starts, so the process's live heap is the entries').
///
/// [`account`]: driftwarden::engine::campaign::account
fn accounting_cost(findings: usize) -> Result<(), Error> {
    use driftwarden::api::RemediationClass;
    use driftwarden::api::campaign::{CampaignStatus, RemediationCampaignSpec};
    use driftwarden::api::common::Owner;
    use driftwarden::api::finding::{FindingState, Severity};
    use driftwarden::engine::campaign::{Observation, step};
    use driftwarden::keys::{KindKey, ObjectKey};
    use driftwarden::reconcile::campaigns::CampaignEntry;
    use driftwarden::reconcile::findings::{Written, finding_body, new_finding};

    let spec: RemediationCampaignSpec = serde_json::from_value(json!({
        "objective": "o", "owner": {"team": "platform"}, "deadline": "2099-01-01T00:00:00Z",
        "control": {"policyRef": {"kind": "ClusterDriftPolicy", "name": "labels"}},
        "checkpoints": [{"date": "2098-01-01T00:00:00Z", "compliantPercent": 50}]
    }))?;
    let start = jiff::Timestamp::now();
    let states = [FindingState::Open, FindingState::Escalated, FindingState::Closed, FindingState::Verifying];
    let severities = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    let entries: Vec<(ObjectKey, _)> = (0..findings)
        .map(|i| {
            let key = ObjectKey {
                kind: KindKey::new("v1", "ConfigMap"),
                namespace: Some(format!("team-{}", i % NAMESPACES)),
                name: format!("cm-{i}"),
            };
            let mut entry = new_finding(
                format!("labels.configmap.cm-{i}"),
                format!("team-{}", i % NAMESPACES),
                severities[i % severities.len()],
                Owner::unowned(),
                start + jiff::SignedDuration::from_millis(i as i64),
            );
            entry.status.state = states[i % states.len()];
            (key, entry)
        })
        .collect();
    let mut previous = CampaignStatus::default();
    let heap = || tagged::live_bytes(0);
    // A closed finding as a wave leaves it: detected, fixed in a wave, applied, verified.
    let before = heap();
    let campaign =
        CampaignEntry { uid: Some("0b5e4c1e-0000-4000-8000-000000000000".into()), ..CampaignEntry::new("labels") };
    let mut closed: Vec<(ObjectKey, _)> = entries.iter().take(1000).cloned().collect();
    for (key, entry) in &mut closed {
        let at = start;
        let path = "/metadata/labels/team".to_string();
        entry.desired = vec![(path.clone(), json!("shop"))];
        entry.asset_uid = Some("7d3c2f10-0000-4000-8000-000000000000".into());
        entry.control = "labels".into();
        let hash = "a".repeat(64);
        let observations = [
            Observation::Drifted {
                paths: vec![path],
                class: RemediationClass::Metadata,
                changed_by: Some(("kubectl-edit".into(), Some(at))),
            },
            Observation::FixStarted { approved_by: None, wave: Some(3) },
            Observation::Applied { resource_version: Some("123456".into()) },
            Observation::Verified {
                resource_version: Some("123456".into()),
                desired_hash: hash.clone(),
                live_hash: hash,
                actor: "driftwarden".into(),
            },
        ];
        entry.status.state = FindingState::Open;
        for observation in observations {
            if let Some(next) = step(&entry.status, observation, at) {
                entry.status = next;
            }
        }
        entry.written_spec = Some(Written::of(&finding_body(&campaign, "labels", key, entry)));
        entry.written_status = Some(Written::of(&entry.status));
    }
    let per_entry = (heap() - before) / closed.len() as i64;
    let before = heap();
    let copies: Vec<_> = closed
        .iter()
        .map(|(key, entry)| (finding_body(&campaign, "labels", key, entry), entry.status.clone()))
        .collect();
    let per_copy = (heap() - before) / copies.len() as i64;
    drop(copies);
    drop(closed);
    println!(
        "a closed finding's entry in the operator: {per_entry} bytes of heap (its key included); keeping copies of the spec \
         and status last written instead of their digests would add {per_copy} bytes"
    );
    let mut times = Vec::new();
    for run in 0..21 {
        let now = start + jiff::SignedDuration::from_secs(run);
        let began = Instant::now();
        let summaries: Vec<_> = entries.iter().map(|(key, entry)| entry.summary(key)).collect();
        let status = driftwarden::engine::campaign::account(&spec, &previous, &summaries, true, Some(1), now);
        times.push(began.elapsed());
        previous = status;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "campaign accounting over {findings} findings (summaries and account()): median {:.2} ms (min {:.2} ms, max {:.2} ms), \
         status {} bytes",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        serde_json::to_vec(&previous)?.len()
    );
    Ok(())
}

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

/// Prints what `assets` open findings cost the operator: its heap once every asset has its
/// Finding, against its heap with the policy's drifts escalated and no campaign.
async fn open_findings(
    operator: isolated::Isolated,
    heap_audited: f64,
    assets: usize,
    after: Duration,
) -> Result<(), Error> {
    // The last Finding writes' responses and the loop settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let heap_open = operator.heap_mib();
    let per_finding = (heap_open - heap_audited) * 1024.0 * 1024.0 / assets as f64;
    println!(
        "Manual campaign: every asset has its open Finding after {:.2}s; the operator's own heap: {heap_audited:.1} MiB \
         with the policy's {assets} drifts escalated, {heap_open:.1} MiB with {assets} open findings besides: \
         {per_finding:.0} bytes per open finding",
        after.as_secs_f64()
    );
    operator.stop().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let debug = cfg!(debug_assertions);
    let assets = setting("DW_BENCH_ASSETS", if debug { 200 } else { 10_000 }) as usize;
    let wave = setting("DW_BENCH_WAVE", if debug { 50 } else { 1000 });
    let manual = setting("DW_BENCH_MANUAL", 0) == 1;
    accounting_cost(assets)?;
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

    // The operator's own namespace holds its ledger.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": "driftwarden-bench"}}))?;
    namespaces.create(&PostParams::default(), &namespace).await?;
    let identity = sandbox.add_user("driftwarden-bench", &["system:masters"]);
    let user = identity.user.name.clone();
    let settings = OperatorSettings {
        namespace: "driftwarden-bench".to_string(),
        finding_writes: 64,
        ..OperatorSettings::default()
    };
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
                 "strategy": if manual { json!({"mode": "Manual"}) } else {
                     json!({"mode": "Auto", "waveSize": wave, "waveInterval": "1s", "pauseOnFailurePercent": 5})
                 }}
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
            if manual {
                return open_findings(operator, heap_audited, assets, started.elapsed()).await;
            }
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
    let mut listed_at: Option<Instant> = None;
    while closing.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if all_written.is_none() && findings_applied(&sandbox, &user) == assets {
            all_written = Some(started.elapsed());
        }
        // Listing 10,000 Findings loads the sandbox: only once all exist, every 2 s.
        if all_written.is_none() || listed_at.is_some_and(|at| at.elapsed() < Duration::from_secs(2)) {
            continue;
        }
        listed_at = Some(Instant::now());
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
        if closed == assets {
            break;
        }
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
    let finding_specs = count("findings", None, "patch", false);
    let finding_statuses = count("findings", Some("status"), "patch", false);
    let fixes = count("configmaps", None, "patch", false);
    let campaign_statuses = count("remediationcampaigns", Some("status"), "patch", false);
    let status = campaigns.get("labels").await?;
    let status_bytes = serde_json::to_vec(&status.data["status"])?.len();
    // The waves the campaign started, as it counts them (a failed fix may need one more).
    let waves = status.data.pointer("/status/waves").and_then(Value::as_u64).unwrap_or(0).max(1);
    println!("campaign over {assets} drifted ConfigMaps in {NAMESPACES} namespaces, waves of {wave}:");
    match all_written {
        Some(at) => println!("  every asset has its Finding (applied) after {:.2}s", at.as_secs_f64()),
        None => println!("  Findings were not applied for every asset"),
    }
    match completed {
        Some(at) => println!("  campaign Completed after {:.2}s, in {waves} waves", at.as_secs_f64()),
        None => println!("  not Completed within the deadline"),
    }
    println!(
        "  every Finding written Closed after {:.2}s ({closed} of {assets}; a paged list every 2 s)",
        closed_everywhere.as_secs_f64()
    );
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
