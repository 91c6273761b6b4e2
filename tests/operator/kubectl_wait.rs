//! driftwarden's conditions are kstatus conditions: the real `kubectl wait
//! --for=condition=Ready` (what Flux health checks and CI scripts use) returns once the
//! operator made a policy Ready, and times out, saying so, on an invalid one, which
//! `--for=condition=Stalled` reports instead.
//!
//! kubectl comes from `DRIFTWARDEN_KUBECTL` (which `scripts/test` exports), else `.venv`;
//! without it the test fails and says so, unless `DRIFTWARDEN_SKIP_KUBECTL=1`.

use serde_json::json;
use tokio::process::Command;

use crate::kubectl_tool::kubectl_binary;
use crate::support::*;

// kubectl runs as a child process while the sandbox and the operator run in this test's
// runtime: on a single-threaded runtime, waiting for the child now and then starved the
// operator's first list long enough to time out; two worker threads keep both going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_wait_for_ready_follows_the_operator() -> Result<(), Box<dyn std::error::Error>> {
    let Some(kubectl) = kubectl_binary() else { return Ok(()) };
    let mut harness = Harness::prepare().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    harness.start_operator();
    let ns = harness.ns().to_string();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, serde_yaml::to_string(&harness.sandbox()?.kubeconfig()).unwrap()).unwrap();
    let wait = |target: &str, condition: &str, timeout: &str| {
        let mut command = Command::new(&kubectl);
        command
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["wait", "-n", &ns, &format!("--for=condition={condition}"), &format!("--timeout={timeout}"), target])
            .kill_on_drop(true);
        command
    };

    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    // A generous timeout: on a machine running the whole suite at once, listing can take
    // seconds; the wait returns as soon as the condition is met.
    let ready = wait("driftpolicy/owners", "Ready", "60s").output().await.unwrap();
    if !ready.status.success() {
        let policy = policies(&harness).get("owners").await?;
        let requests: Vec<String> = harness
            .sandbox()?
            .requests()
            .into_iter()
            .filter(|r| r.resource == "configmaps" || r.resource == "driftpolicies")
            .map(|r| format!("{} {} {:?} {} {}", r.verb, r.resource, r.subresource, r.namespace, r.code))
            .collect();
        panic!(
            "kubectl wait: {}; the policy: {:#}; requests: {requests:#?}",
            String::from_utf8_lossy(&ready.stderr),
            policy.data["status"]
        );
    }
    assert!(String::from_utf8_lossy(&ready.stdout).contains("condition met"));

    create_policy(
        &harness,
        drift_policy(&ns, "broken", json!({
            "remediation": {"windows": [{"start": "09:00", "end": "17:00", "timeZone": "Mars/Olympus"}]},
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"x": "y"}}}}]
        })),
    )
    .await;
    let stalled = wait("driftpolicy/broken", "Stalled", "30s").output().await.unwrap();
    assert!(stalled.status.success(), "kubectl wait: {}", String::from_utf8_lossy(&stalled.stderr));
    let never_ready = wait("driftpolicy/broken", "Ready", "2s").output().await.unwrap();
    assert!(!never_ready.status.success(), "an invalid policy never becomes Ready");
    assert!(String::from_utf8_lossy(&never_ready.stderr).contains("timed out"), "{never_ready:?}");
    harness.stop().await;
    Ok(())
}
