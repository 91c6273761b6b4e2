//! `driftwarden report` on what the operator really wrote: an Auto campaign fixes two
//! ConfigMaps a wave, an hour apart on the operator's clock, so its burn-down has points,
//! its checkpoints are met and missed, and it has a projection; the report (the binary,
//! with a kubeconfig) must show all of it, with the evidence of each verified fix.

use std::path::PathBuf;
use std::process::Output;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::campaigns::{campaigns, create_campaign};
use crate::support::*;

/// Runs `driftwarden report ARGS` against the harness's cluster.
async fn report(harness: &Harness, kubeconfig: PathBuf, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let operator_namespace = harness.ns().to_string();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_driftwarden"))
            .arg("report")
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("DRIFTWARDEN_OPERATOR_NAMESPACE", operator_namespace)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The kubeconfig of the harness's cluster: the real cluster's, or the sandbox's written to
/// `dir`.
fn kubeconfig(harness: &Harness, dir: &tempfile::TempDir) -> PathBuf {
    if let Some(path) = std::env::var_os(driftwarden_sandbox::testing::KUBECONFIG_ENV) {
        return PathBuf::from(path);
    }
    let path = dir.path().join("kubeconfig");
    let sandbox = harness.sandbox().expect("the sandbox, when no cluster is configured");
    std::fs::write(&path, serde_yaml::to_string(&sandbox.kubeconfig()).unwrap()).unwrap();
    path
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_of_a_campaign_the_operator_ran_shows_its_burn_down_checkpoints_and_evidence() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for index in 0..6 {
        let mut cm = config_map(&ns, &format!("cm-{index}"), "other");
        let owner = if index % 2 == 0 { "storefront" } else { "payments" };
        cm.metadata.labels.get_or_insert_default().insert("driftwarden.dev/owner".into(), owner.into());
        config_maps.create(&PostParams::default(), &cm).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let start = harness.clock.now();
    let at = |minutes: i64| (start + jiff::SignedDuration::from_mins(minutes)).to_string();
    let name = create_campaign(
        &harness,
        json!({
            "strategy": {"mode": "Auto", "waveSize": 2, "waveInterval": "1h"},
            "checkpoints": [{"date": at(10), "compliantPercent": 30}, {"date": at(30), "compliantPercent": 80},
                            {"date": at(48 * 60), "compliantPercent": 90}]
        }),
    )
    .await;
    let closed = |count: u64| move |c: &kube::api::DynamicObject| c.data["status"]["findings"]["closed"] == count;
    wait_for(&campaigns(&harness), &name, "the first wave closed two findings", closed(2)).await;
    harness.clock.advance(jiff::SignedDuration::from_mins(61));
    let campaign = wait_for(&campaigns(&harness), &name, "a second wave an hour later, and a projection", |c| {
        closed(4)(c) && c.data["status"]["projectedCompletion"].is_string()
    })
    .await;
    let status = &campaign.data["status"];
    let results: Vec<&str> =
        status["checkpoints"].as_array().unwrap().iter().map(|c| c["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["Met", "Missed", "Pending"], "{status:#}");
    let points = status["burnDown"].as_array().unwrap().len();
    assert!(points >= 2, "{status:#}");

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(&harness, &dir);
    let report_json = json_of(&report(&harness, kubeconfig.clone(), &["campaign", &name, "--format", "json"]).await);
    assert_eq!(report_json["total"], 6);
    assert_eq!(report_json["findingsRead"], 6);
    assert_eq!(report_json["findingsIgnored"], 0);
    assert_eq!(report_json["counts"]["closed"], 4);
    assert_eq!(report_json["burnDown"].as_array().unwrap().len(), points);
    assert_eq!(report_json["projectedCompletion"], status["projectedCompletion"]);
    let owners: Vec<(&str, u64, u64)> = report_json["byOwner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["team"].as_str().unwrap(), o["open"].as_u64().unwrap(), o["resolved"].as_u64().unwrap()))
        .collect();
    assert_eq!(owners.iter().map(|o| o.1 + o.2).sum::<u64>(), 6, "{owners:?}");
    assert!(owners.iter().all(|o| o.0 == "storefront" || o.0 == "payments"), "{owners:?}");
    assert_eq!(report_json["oldestOpen"].as_array().unwrap().len(), 2);
    let closed = report_json["recentlyClosed"].as_array().unwrap();
    assert_eq!(closed.len(), 4);
    for finding in closed {
        let verified = finding["evidence"].as_array().unwrap().iter().rfind(|e| e["action"] == "Verified").unwrap();
        assert_eq!(verified["result"], "Succeeded");
        assert_eq!(verified["liveHash"], verified["desiredHash"], "{verified}");
    }

    let page = report(&harness, kubeconfig.clone(), &["campaign", &name]).await;
    assert!(page.status.success(), "{page:?}");
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(page.contains(&format!(r#"data-series="open" data-points="{points}""#)));
    assert!(page.contains(r#"data-series="projection""#));
    for result in ["Met", "Missed", "Pending"] {
        assert!(page.contains(&format!(r#"data-checkpoint="{result}""#)), "{result}");
    }
    let markdown = report(&harness, kubeconfig.clone(), &["campaign", &name, "--format", "markdown"]).await;
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(markdown.contains("- **Progress:** 4 of 6 findings resolved (66% compliant)"), "{markdown}");

    // The policy the campaign follows: its two remaining drifts, by owner.
    let policy = json_of(&report(&harness, kubeconfig, &["policy", "owners", "-n", &ns, "--format", "json"]).await);
    assert_eq!(policy["counts"]["targets"], 6);
    assert_eq!(policy["counts"]["drifted"], 2);
    let drifted: u64 = policy["byOwner"].as_array().unwrap().iter().map(|g| g["drifts"].as_u64().unwrap()).sum();
    assert_eq!(drifted, 2, "{policy:#}");
    harness.stop().await;
}
