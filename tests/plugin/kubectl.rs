//! The real kubectl runs the binary as its plugin: `kubectl driftwarden status` finds
//! `kubectl-driftwarden` (a link to the binary) on `PATH`, and `kubectl __complete
//! driftwarden …` (what kubectl's shell completion runs) asks `kubectl_complete-driftwarden`.
//!
//! kubectl comes from `DRIFTWARDEN_KUBECTL` (which `scripts/test` exports), else `.venv`;
//! without it the test fails and says so, unless `DRIFTWARDEN_SKIP_KUBECTL=1`.

use tokio::process::Command;

use crate::kubectl_tool::kubectl_binary;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_binary_as_its_driftwarden_plugin() {
    let Some(kubectl) = kubectl_binary() else { return };
    let scene = Scene::start().await;
    let campaign = crate::status::scene_with_escalations(&scene).await;
    // Installed as the README says: links named after the plugin, on PATH.
    let bin = scene.dir().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for name in ["kubectl-driftwarden", "kubectl_complete-driftwarden"] {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_driftwarden"), bin.join(name)).unwrap();
    }
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let kubectl_run = |args: &[&str]| {
        let mut command = Command::new(&kubectl);
        command.args(args).env("PATH", &path).env("KUBECONFIG", scene.kubeconfig("admin")).env("HOME", scene.dir());
        run(command)
    };

    let listed = kubectl_run(&["plugin", "list"]).await;
    assert!(
        listed.stdout.contains(&bin.join("kubectl-driftwarden").display().to_string()),
        "{}{}",
        listed.stdout,
        listed.stderr
    );

    let status = kubectl_run(&["driftwarden", "status", "-n", scene.ns()]).await;
    let text = status.expect_code(0);
    for expected in ["driftpolicy/owners", campaign.as_str(), "AtRisk", "finding/api-settings-1", "deployment/web"] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    // The plugin's own errors and exit codes come through kubectl.
    let missing = kubectl_run(&["driftwarden", "explain", "nothing", "-n", scene.ns()]).await;
    missing.expect_code(2);
    assert!(missing.stderr.contains("no finding, driftpolicy"), "{}", missing.stderr);

    // kubectl's shell completion asks the completion link for the plugin's words.
    let completed = kubectl_run(&["__complete", "driftwarden", "st"]).await;
    let words: Vec<&str> = completed.expect_code(0).lines().collect();
    assert_eq!(words, ["status", ":4"], "{}", completed.stderr);
    let flags = kubectl_run(&["__complete", "driftwarden", "except", "configmap/x", "--ti"]).await;
    assert_eq!(flags.expect_code(0).lines().collect::<Vec<_>>(), ["--ticket", ":4"], "{}", flags.stderr);
}
