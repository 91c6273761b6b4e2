//! The command line as a shell pipeline uses it.

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwarden"))
        .arg("crds")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the driftwarden binary runs");
    let mut first = [0u8; 4];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here, like `driftwarden crds | head -c 4`.
    let output = child.wait_with_output().unwrap();
    assert_eq!(&first, b"---\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_subcommands_and_missing_policies_are_usage_errors() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_driftwarden")).args(args).output().unwrap();
    let unknown = run(&["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    let no_policy = run(&["check", "manifests.yaml"]);
    assert_eq!(no_policy.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_policy.stderr).contains("--policy"));
}

#[test]
fn run_logs_json_lines_with_log_format_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_driftwarden"))
        .args(["run", "--log-format", "json", "--leader-elect=false", "--health-address", "127.0.0.1:0"])
        .env("KUBECONFIG", dir.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("RUST_LOG")
        .env("HOME", dir.path())
        .output()
        .expect("the driftwarden binary runs");
    assert!(!output.status.success(), "no configuration is a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    let error =
        lines.iter().find(|line| line["level"] == "ERROR").unwrap_or_else(|| panic!("no error logged: {stderr}"));
    let message = error["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no Kubernetes configuration"), "{error}");
    assert!(error["timestamp"].is_string(), "{error}");
}
