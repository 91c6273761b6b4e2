//! `driftwarden sandbox` as a newcomer first runs it: the API server, the operator, the
//! quickstart applied, a drift healed and another escalated.

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
    let _ = child.kill();
    let _ = child.wait();
    let output = seen.join("\n");
    assert!(outcome.is_ok(), "the demonstration did not finish: {output}");
    assert!(output.contains("healed: driftwarden restored team=shop"), "{output}");
    assert!(output.contains("escalated: a Rollout fix restarts pods"), "{output}");
    assert!(kubeconfig.exists(), "a kubeconfig is written for kubectl");
}
