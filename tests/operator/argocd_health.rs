//! The Argo CD health checks (`charts/driftwarden/argocd/health/*.lua`) run on Lua 5.4
//! against the status our resources really have: policies the operator reconciled to
//! compliant, invalid and still syncing; every other kind on the objects the operator wrote
//! in the sandbox (Healthy, Progressing and Degraded where the operator reaches them), and
//! on the conditions their controllers set. The argocd-cm example holds exactly those scripts,
//! and both are what `driftwarden argocd-health` generates.
//!
//! Lua comes from `DRIFTWARDEN_LUA` (which `scripts/test` exports), else `lua5.4` on the
//! PATH. Without it, the tests fail and say so, unless `DRIFTWARDEN_SKIP_LUA=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use driftwarden::api::reasons;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const KINDS: [&str; 5] = ["DriftPolicy", "ClusterDriftPolicy", "RemediationCampaign", "Finding", "DriftException"];

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/driftwarden/argocd")
}

/// The Lua 5.4 interpreter; `None` means skip.
fn lua_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DRIFTWARDEN_LUA").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("lua5.4")).find(|p| p.is_file()))
        .unwrap_or_default();
    if found.is_some() {
        return found;
    }
    if std::env::var("DRIFTWARDEN_SKIP_LUA").is_ok_and(|v| v == "1") {
        eprintln!("skipped: DRIFTWARDEN_SKIP_LUA=1 and no lua5.4 found");
        return None;
    }
    panic!(
        "lua5.4 not found: install it (Debian/Ubuntu: apt-get install lua5.4; scripts/test does it when run as \
         root) or set DRIFTWARDEN_SKIP_LUA=1 to skip the Argo CD health check tests"
    );
}

fn lua_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\{}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value as a Lua table literal, the shape Argo CD hands a health script as `obj`.
fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lua_string(s),
        Value::Array(items) => format!("{{{}}}", items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("[{}] = {}", lua_string(k), lua_literal(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Argo CD's health of `object` by the script for `kind`: (status, message).
fn health(lua: &Path, kind: &str, object: &Value) -> (String, String) {
    let script = argocd_dir().join(format!("health/{kind}.lua"));
    let program = format!(
        "obj = {}\nlocal hs = dofile({})\nio.write(hs.status, \"\\n\", hs.message or \"\", \"\\n\")\n",
        lua_literal(object),
        lua_string(&script.to_string_lossy())
    );
    let mut child = Command::new(lua)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", lua.display()));
    child.stdin.take().unwrap().write_all(program.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{kind}.lua failed on {object}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let (status, message) = text.split_once('\n').unwrap_or((&text, ""));
    (status.to_string(), message.trim_end().to_string())
}

#[tokio::test]
async fn policies_the_operator_reconciled_have_the_argo_cd_health_they_deserve() {
    let Some(lua) = lua_binary() else { return };
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    create_policy(
        &harness,
        drift_policy(&ns, "broken", json!({
            "remediation": {"windows": [{"start": "09:00", "end": "17:00", "timeZone": "Mars/Olympus"}]},
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"x": "y"}}}}]
        })),
    )
    .await;
    create_policy(
        &harness,
        drift_policy(&ns, "syncing", json!({
            "baselines": [{"match": {"apiVersion": "widgets.example.com/v1", "kind": "Widget"}, "template": {"metadata": {"labels": {"x": "y"}}}}]
        })),
    )
    .await;

    let compliant = wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let invalid = wait_for(&policies(&harness), "broken", "invalid", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == reasons::INVALID_SPEC)
    })
    .await;
    // Progressing from the first status on ("listing the objects the policy names"); the
    // wait is for the message that says the kind is not served, which discovery brings.
    let syncing = wait_for(&policies(&harness), "syncing", "waiting for its kind", |p| {
        condition(p, "Reconciling").is_some_and(|(s, r)| s == "True" && r == reasons::PROGRESSING)
            && p.data["status"]["conditions"].to_string().contains(reasons::KIND_NOT_SERVED)
    })
    .await;
    // The live objects as Argo CD sees them: apiVersion, kind, metadata, spec and status.
    let [compliant, invalid, syncing] = [compliant, invalid, syncing].map(|p| serde_json::to_value(p).unwrap());
    for kind in ["DriftPolicy", "ClusterDriftPolicy"] {
        let (status, message) = health(&lua, kind, &compliant);
        assert_eq!(status, "Healthy", "{kind}: {message}");
        assert!(message.contains(reasons::ALL_TARGETS_COMPLIANT), "{message}");
        let (status, message) = health(&lua, kind, &invalid);
        assert_eq!(status, "Degraded", "{kind}: {message}");
        assert!(message.contains("Mars/Olympus"), "the reason and message reach Argo CD: {message}");
        let (status, message) = health(&lua, kind, &syncing);
        assert_eq!(status, "Progressing", "{kind}: {message}");
        assert!(message.contains(reasons::KIND_NOT_SERVED), "{message}");
    }

    assert_eq!(compliant["metadata"]["name"], "owners", "{compliant}");
    let mut before_status = compliant.clone();
    before_status.as_object_mut().unwrap().remove("status");
    assert_eq!(health(&lua, "DriftPolicy", &before_status).0, "Progressing", "no status yet");
    let mut newer_spec = compliant.clone();
    newer_spec["metadata"]["generation"] = json!(compliant["status"]["observedGeneration"].as_i64().unwrap() + 1);
    assert_eq!(health(&lua, "DriftPolicy", &newer_spec).0, "Progressing", "a spec not reconciled yet");
    harness.stop().await;
}

fn dynamic<K: kube::Resource<DynamicType = ()>>(harness: &Harness, ns: Option<&str>) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource::erase::<K>(&());
    match ns {
        Some(ns) => Api::namespaced_with(harness.client(), ns, &resource),
        None => Api::all_with(harness.client(), &resource),
    }
}

async fn create(api: &Api<DynamicObject>, body: Value) {
    api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.expect("created");
}

fn campaign(name: &str, ns: &str, policy: &str, strategy: Value) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": name},
        "spec": {"objective": "Every shop ConfigMap names its team", "owner": {"team": "platform"},
                 "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": policy}},
                 "deadline": "2099-01-01T00:00:00Z", "strategy": strategy}
    })
}

fn exception(ns: &str, name: &str, target: &str, approved: jiff::Timestamp, expires: jiff::Timestamp) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException", "metadata": {"name": name, "namespace": ns},
        "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": [target]}, "paths": ["/metadata/labels/team"],
                 "justification": "handed over next sprint", "approvedBy": "lead@example.com", "ticket": "OPS-7",
                 "approvedAt": approved.to_string(), "expiresAt": expires.to_string()}
    })
}

fn state(finding: &DynamicObject) -> &str {
    finding.data["status"]["state"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_kind_the_operator_wrote_has_the_argo_cd_health_it_deserves() {
    let Some(lua) = lua_binary() else { return };
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in ["cm-0", "cm-1", "cm-2", "excused"] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "other")).await.unwrap();
    }
    let cluster_scoped: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "cluster-checked", "namespace": ns, "labels": {"scope": "cluster"}}
    }))
    .unwrap();
    config_maps.create(&PostParams::default(), &cluster_scoped).await.unwrap();

    // ClusterDriftPolicies: one that fixes its target, one invalid, one waiting for its kind.
    let cluster_policies = dynamic::<driftwarden::api::policy::ClusterDriftPolicy>(&harness, None);
    let cluster_policy = |name: &str, spec: Value| {
        json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
               "metadata": {"name": format!("{ns}-{name}")}, "spec": spec})
    };
    let labelled = json!({"metadata": {"labels": {"checked": "yes"}}});
    for (name, spec) in [
        (
            "labels",
            json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [ns],
            "selector": {"matchLabels": {"scope": "cluster"}}}, "template": labelled}]}),
        ),
        (
            "broken",
            json!({"remediation": {"windows": [{"start": "09:00", "end": "17:00", "timeZone": "Mars/Olympus"}]},
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [ns]}, "template": labelled}]}),
        ),
        (
            "syncing",
            json!({"baselines": [{"match": {"apiVersion": "widgets.example.com/v1", "kind": "Widget"},
            "template": labelled}]}),
        ),
    ] {
        create(&cluster_policies, cluster_policy(name, spec)).await;
    }

    // Campaigns: in waves (one fix per hour: the rest stay open), one sent to owners, one
    // following a policy that does not exist, one following a policy still waiting for its kind.
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    create_policy(
        &harness,
        drift_policy(&ns, "widgets", json!({
            "baselines": [{"match": {"apiVersion": "widgets.example.com/v1", "kind": "Widget"}, "template": labelled}]
        })),
    )
    .await;
    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_hours(1);
    let exceptions = dynamic::<driftwarden::api::exception::DriftException>(&harness, Some(&ns));
    create(&exceptions, exception(&ns, "excused", "excused", now - hour, now + hour * 24)).await;
    create(&exceptions, exception(&ns, "lapsed", "cm-2", now - hour * 2, now - hour)).await;
    let campaigns = dynamic::<driftwarden::api::campaign::RemediationCampaign>(&harness, None);
    let name = |n: &str| format!("{ns}-{n}");
    create(
        &campaigns,
        campaign(&name("waves"), &ns, "owners", json!({"mode": "Auto", "waveSize": 1, "waveInterval": "1h"})),
    )
    .await;
    create(&campaigns, campaign(&name("manual"), &ns, "owners", json!({"mode": "Manual"}))).await;
    create(&campaigns, campaign(&name("orphan"), &ns, "absent", json!({"mode": "Manual"}))).await;
    create(&campaigns, campaign(&name("waiting"), &ns, "widgets", json!({"mode": "Manual"}))).await;

    let is =
        |c: &'static str, s: &'static str| move |o: &DynamicObject| condition(o, c).is_some_and(|(got, _)| got == s);
    let mut cases: Vec<(&str, DynamicObject, &str, String)> = Vec::new();
    let policy = wait_for(&cluster_policies, &name("labels"), "compliant", is("Compliant", "True")).await;
    cases.push(("ClusterDriftPolicy", policy, "Healthy", reasons::ALL_TARGETS_COMPLIANT.into()));
    let policy = wait_for(&cluster_policies, &name("broken"), "invalid", is("Ready", "False")).await;
    cases.push(("ClusterDriftPolicy", policy, "Degraded", "Mars/Olympus".into()));
    let policy = wait_for(&cluster_policies, &name("syncing"), "waiting", is("Reconciling", "True")).await;
    cases.push(("ClusterDriftPolicy", policy, "Progressing", reasons::KIND_NOT_SERVED.into()));

    let findings = dynamic::<driftwarden::api::finding::Finding>(&harness, Some(&ns));
    let waves = name("waves");
    let listed = within("a wave fixed one finding and left the others open", async {
        loop {
            let listed = findings.list(&ListParams::default()).await.unwrap().items;
            let of_waves = |s: &str| {
                listed.iter().filter(|f| f.data["spec"]["campaign"] == waves.as_str() && state(f) == s).count()
            };
            if of_waves("Closed") == 1 && of_waves("Open") == 2 && of_waves("Excepted") == 1 {
                break listed;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    for (wanted, health) in [("Closed", "Healthy"), ("Excepted", "Healthy"), ("Open", "Progressing")] {
        let finding =
            listed.iter().find(|f| f.data["spec"]["campaign"] == waves.as_str() && state(f) == wanted).unwrap();
        cases.push(("Finding", finding.clone(), health, wanted.into()));
    }
    let manual = name("manual");
    let escalated = within("the manual campaign sends its findings to the owner", async {
        loop {
            let listed = findings.list(&ListParams::default()).await.unwrap().items;
            if let Some(f) =
                listed.iter().find(|f| f.data["spec"]["campaign"] == manual.as_str() && state(f) == "Escalated")
            {
                break f.clone();
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    cases.push(("Finding", escalated, "Degraded", reasons::AWAITING_OWNER.into()));

    let on_track = wait_for(&campaigns, &waves, "accounted", |c| {
        is("Ready", "True")(c) && c.data["status"]["findings"]["closed"] == 1
    })
    .await;
    cases.push(("RemediationCampaign", on_track, "Healthy", reasons::ON_SCHEDULE.into()));
    let orphan = wait_for(&campaigns, &name("orphan"), "without its policy", is("Ready", "False")).await;
    cases.push(("RemediationCampaign", orphan, "Degraded", reasons::DEPENDENCY_NOT_FOUND.into()));
    let waiting = wait_for(&campaigns, &name("waiting"), "not evaluated yet", is("Ready", "Unknown")).await;
    cases.push(("RemediationCampaign", waiting, "Progressing", reasons::PROGRESSING.into()));

    let active = wait_for(&exceptions, "excused", "covering", is("Active", "True")).await;
    cases.push(("DriftException", active, "Healthy", reasons::WITHIN_VALIDITY.into()));
    let lapsed = wait_for(&exceptions, "lapsed", "expired", is("Expired", "True")).await;
    cases.push(("DriftException", lapsed, "Degraded", reasons::EXPIRES_AT_PASSED.into()));

    for (kind, object, wanted, in_message) in &cases {
        let object = serde_json::to_value(object).unwrap();
        let (status, message) = health(&lua, kind, &object);
        assert_eq!(&status, wanted, "{kind} {}: {message}\n{:#}", object["metadata"]["name"], object["status"]);
        assert!(
            message.contains(in_message.as_str()),
            "{kind} {}: {message:?} should mention {in_message}",
            object["metadata"]["name"]
        );
    }
    let kinds: std::collections::BTreeSet<&str> = cases.iter().map(|(kind, ..)| *kind).collect();
    assert_eq!(kinds.len(), KINDS.len() - 1, "every kind but DriftPolicy (tested above) is covered: {kinds:?}");
    for name in ["labels", "broken", "syncing"] {
        cluster_policies.delete(&format!("{ns}-{name}"), &Default::default()).await.unwrap();
    }
    for name in ["waves", "manual", "orphan", "waiting"] {
        campaigns.delete(&format!("{ns}-{name}"), &Default::default()).await.unwrap();
    }
    harness.stop().await;
}

/// An object of `kind` whose status holds `conditions` (type, status, reason), as the
/// condition setter writes them.
fn with_conditions(kind: &str, conditions: &[(&str, &str, &str)], extra: Value) -> Value {
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|(type_, status, reason)| {
            json!({"type": type_, "status": status, "reason": reason, "message": format!("{reason} says so"),
                   "observedGeneration": 2, "lastTransitionTime": "2026-11-01T00:00:00Z"})
        })
        .collect();
    let mut object = json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": kind,
        "metadata": {"name": "x", "generation": 2},
        "spec": {},
        "status": {"observedGeneration": 2, "conditions": conditions}
    });
    json_merge(&mut object, extra);
    object
}

fn json_merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                json_merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

#[test]
fn campaigns_findings_and_exceptions_map_their_conditions() {
    let Some(lua) = lua_binary() else { return };
    let ready = ("Ready", "True", reasons::RECONCILED);
    let not_reconciling = ("Reconciling", "False", reasons::RECONCILED);
    let not_stalled = ("Stalled", "False", reasons::RECONCILED);
    let stalled = [("Ready", "False", reasons::INVALID_SPEC), ("Stalled", "True", reasons::INVALID_SPEC)];
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "RemediationCampaign",
            with_conditions(
                "RemediationCampaign",
                &[ready, not_reconciling, not_stalled, ("OnTrack", "True", reasons::ON_SCHEDULE)],
                json!({}),
            ),
            "Healthy",
            reasons::ON_SCHEDULE,
        ),
        (
            "RemediationCampaign",
            with_conditions(
                "RemediationCampaign",
                &[("Ready", "False", reasons::PAUSED)],
                json!({"spec": {"paused": true}}),
            ),
            "Suspended",
            "paused",
        ),
        (
            "RemediationCampaign",
            with_conditions(
                "RemediationCampaign",
                &[ready, ("Completed", "True", reasons::SUCCESS_CRITERIA_MET)],
                json!({}),
            ),
            "Healthy",
            reasons::SUCCESS_CRITERIA_MET,
        ),
        (
            "RemediationCampaign",
            with_conditions(
                "RemediationCampaign",
                &[ready, ("AtRisk", "True", reasons::PROJECTION_MISSES_DEADLINE)],
                json!({}),
            ),
            "Healthy",
            "At risk",
        ),
        (
            "RemediationCampaign",
            with_conditions(
                "RemediationCampaign",
                &[ready, ("DeadlineMissed", "True", reasons::DEADLINE_PASSED)],
                json!({}),
            ),
            "Degraded",
            reasons::DEADLINE_PASSED,
        ),
        (
            "RemediationCampaign",
            with_conditions("RemediationCampaign", &stalled, json!({})),
            "Degraded",
            reasons::INVALID_SPEC,
        ),
        ("Finding", with_conditions("Finding", &[ready], json!({"status": {"state": "Closed"}})), "Healthy", "Closed"),
        (
            "Finding",
            with_conditions("Finding", &[ready], json!({"status": {"state": "Excepted"}})),
            "Healthy",
            "Excepted",
        ),
        (
            "Finding",
            with_conditions("Finding", &[ready], json!({"status": {"state": "Verifying"}})),
            "Progressing",
            "Verifying",
        ),
        (
            "Finding",
            with_conditions(
                "Finding",
                &[("Ready", "True", reasons::AWAITING_OWNER)],
                json!({"status": {"state": "Escalated"}}),
            ),
            "Degraded",
            reasons::AWAITING_OWNER,
        ),
        (
            "Finding",
            with_conditions(
                "Finding",
                &[("Ready", "False", reasons::PROGRESSING), ("Reconciling", "True", reasons::PROGRESSING)],
                json!({"status": {"state": "Remediating"}}),
            ),
            "Progressing",
            reasons::PROGRESSING,
        ),
        (
            "Finding",
            with_conditions(
                "Finding",
                &[("Ready", "False", reasons::PROGRESSING), ("Reconciling", "False", reasons::RECONCILED)],
                json!({"status": {"state": "Open"}}),
            ),
            "Progressing",
            "Open",
        ),
        (
            "Finding",
            with_conditions(
                "Finding",
                &[("Ready", "False", reasons::INVALID_SPEC), ("Reconciling", "False", reasons::RECONCILED)],
                json!({"status": {"state": "Open"}}),
            ),
            "Degraded",
            reasons::INVALID_SPEC,
        ),
        (
            "Finding",
            with_conditions(
                "Finding",
                &[
                    ("Ready", "False", reasons::INVALID_SPEC),
                    ("Reconciling", "False", reasons::RECONCILED),
                    ("Stalled", "True", reasons::INVALID_SPEC),
                ],
                json!({"status": {"state": "Escalated"}}),
            ),
            "Degraded",
            reasons::INVALID_SPEC,
        ),
        (
            "DriftException",
            with_conditions("DriftException", &[ready, ("Active", "True", reasons::WITHIN_VALIDITY)], json!({})),
            "Healthy",
            reasons::WITHIN_VALIDITY,
        ),
        (
            "DriftException",
            with_conditions(
                "DriftException",
                &[
                    ready,
                    ("Active", "True", reasons::WITHIN_VALIDITY),
                    ("CoversNothing", "True", reasons::NO_MATCHING_DRIFT),
                ],
                json!({}),
            ),
            "Healthy",
            "Covers nothing",
        ),
        (
            "DriftException",
            with_conditions("DriftException", &[ready, ("Expired", "True", reasons::EXPIRES_AT_PASSED)], json!({})),
            "Degraded",
            reasons::EXPIRES_AT_PASSED,
        ),
        (
            "DriftException",
            with_conditions(
                "DriftException",
                &[
                    ("Ready", "False", reasons::EXCEEDS_MAX_DURATION),
                    ("Stalled", "True", reasons::EXCEEDS_MAX_DURATION),
                ],
                json!({}),
            ),
            "Degraded",
            reasons::EXCEEDS_MAX_DURATION,
        ),
    ];
    for (kind, object, status, in_message) in cases {
        let (got, message) = health(&lua, kind, &object);
        assert_eq!(got, status, "{kind} with {}: {message}", object["status"]);
        assert!(message.contains(in_message), "{kind}: {message:?} should mention {in_message}");
    }
    for kind in KINDS {
        let fresh = json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": kind, "metadata": {"name": "x", "generation": 1}, "spec": {}});
        assert_eq!(health(&lua, kind, &fresh).0, "Progressing", "{kind} without status");
    }
}

#[test]
fn the_argocd_cm_example_holds_exactly_the_health_scripts() {
    let patch: Value =
        serde_yaml::from_str(&std::fs::read_to_string(argocd_dir().join("argocd-cm-patch.yaml")).unwrap()).unwrap();
    assert_eq!((patch["kind"].as_str(), patch["metadata"]["name"].as_str()), (Some("ConfigMap"), Some("argocd-cm")));
    let data = patch["data"].as_object().expect("data");
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    let expected: Vec<String> =
        KINDS.iter().map(|k| format!("resource.customizations.health.driftwarden.dev_{k}")).collect();
    assert_eq!(keys.len(), expected.len(), "{keys:?}");
    for (kind, key) in KINDS.iter().zip(&expected) {
        let script = std::fs::read_to_string(argocd_dir().join(format!("health/{kind}.lua"))).unwrap();
        assert_eq!(
            data.get(key).and_then(Value::as_str),
            Some(script.as_str()),
            "argocd-cm-patch.yaml's {key} differs from health/{kind}.lua: {REGENERATE}"
        );
    }
}

const REGENERATE: &str = "run `cargo run -- argocd-health --out-dir charts/driftwarden/argocd` and commit the result";

/// The problems of a folder that must hold exactly what `driftwarden argocd-health` writes.
fn stale_files(dir: &Path) -> Vec<String> {
    let generated = driftwarden::argocd::generated_files();
    let mut problems = Vec::new();
    for (relative, content) in &generated {
        match std::fs::read_to_string(dir.join(relative)) {
            Ok(on_disk) if on_disk == *content => {}
            Ok(_) => problems.push(format!("{} differs from the generated one", relative.display())),
            Err(error) => problems.push(format!("{} cannot be read: {error}", relative.display())),
        }
    }
    let health = Path::new(driftwarden::argocd::HEALTH_DIR);
    match std::fs::read_dir(dir.join(health)) {
        Ok(entries) => {
            for entry in entries {
                let relative = health.join(entry.expect("the folder is readable").file_name());
                if !generated.iter().any(|(file, _)| *file == relative) {
                    problems.push(format!("{} is not generated by the code", relative.display()));
                }
            }
        }
        Err(error) => problems.push(format!("{}/ cannot be read: {error}", health.display())),
    }
    problems
}

/// The scripts are written once, in `src/argocd/`: the committed copies are its output.
#[test]
fn the_argocd_folder_is_what_the_code_generates() {
    let problems = stale_files(&argocd_dir());
    assert!(problems.is_empty(), "charts/driftwarden/argocd is stale: {REGENERATE}.\n{}", problems.join("\n"));
}

#[test]
fn the_argocd_health_command_prints_the_patch_or_writes_every_file() {
    let binary = env!("CARGO_BIN_EXE_driftwarden");
    let printed = Command::new(binary).arg("argocd-health").output().unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), driftwarden::argocd::argocd_cm_patch());

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("argocd");
    let wrote = Command::new(binary).args(["argocd-health", "--out-dir"]).arg(&out_dir).output().unwrap();
    assert!(wrote.status.success(), "{}", String::from_utf8_lossy(&wrote.stderr));
    assert!(wrote.stdout.is_empty());
    let problems = stale_files(&out_dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
