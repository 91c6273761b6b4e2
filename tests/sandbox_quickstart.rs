//! `driftwarden sandbox` as a newcomer first runs it: the API server, the operator, the
//! quickstart applied, a drift healed and another escalated, and the operator's Events
//! listed by `kubectl get events` and shown by `kubectl describe`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn the_sandbox_shows_a_fix_and_an_escalation() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwarden"))
        .args(["sandbox", "--port", "0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the driftwarden binary runs");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let outcome = loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.contains("escalated:") || line.starts_with("quickstart:");
                seen.push(line);
                if done {
                    break Ok(());
                }
            }
            Err(err) => break Err(err),
        }
    };
    let events = kubectl_events(&kubeconfig);
    let _ = child.kill();
    let _ = child.wait();
    let output = seen.join("\n");
    assert!(outcome.is_ok(), "the demonstration did not finish: {output}");
    assert!(output.contains("healed: driftwarden restored team=shop"), "{output}");
    assert!(output.contains("escalated: a Rollout fix restarts pods"), "{output}");
    assert!(kubeconfig.exists(), "a kubeconfig is written for kubectl");
    if let Some((listed, described)) = events {
        assert!(shows_the_quickstart(&listed), "kubectl get events -n shop:\n{listed}");
        assert!(described.contains("DriftEscalated"), "kubectl describe deployment -n shop web:\n{described}");
    }
}

/// The three Events of the quickstart's fix and escalation, as kubectl lists them.
fn shows_the_quickstart(listed: &str) -> bool {
    let row = |reason: &str, object: &str| listed.lines().any(|l| l.contains(reason) && l.contains(object));
    row("Remediated", "configmap/settings")
        && row("DriftEscalated", "deployment/web")
        && row("DriftEscalated", "driftpolicy/shop-baseline")
}

/// What a newcomer sees of the operator's `events.k8s.io` Events through kubectl: `get
/// events -n shop`, which reads them as core Events, once it shows the quickstart's (the
/// operator publishes them in the background) or after ten seconds. `None` without kubectl
/// (set by `scripts/test` as `DRIFTWARDEN_KUBECTL`). With it, what `describe deployment -n
/// shop web` shows, which finds the Deployment's Events by its uid.
fn kubectl_events(kubeconfig: &std::path::Path) -> Option<(String, String)> {
    let kubectl = std::env::var_os("DRIFTWARDEN_KUBECTL").filter(|p| !p.is_empty())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let output = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "events", "-n", "shop"])
            .output()
            .expect("kubectl runs");
        assert!(output.status.success(), "kubectl get events: {}", String::from_utf8_lossy(&output.stderr));
        let listed = String::from_utf8_lossy(&output.stdout).into_owned();
        if shows_the_quickstart(&listed) || std::time::Instant::now() > deadline {
            let described = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(["describe", "deployment", "-n", "shop", "web"])
                .output()
                .expect("kubectl runs");
            assert!(described.status.success(), "kubectl describe: {}", String::from_utf8_lossy(&described.stderr));
            return Some((listed, String::from_utf8_lossy(&described.stdout).into_owned()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
