//! `driftwarden admission render`: the ValidatingAdmissionPolicy and binding a policy's
//! `spec.admission` generates, printed for a GitOps repository, with what they leave
//! unchecked on standard error.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn render(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftwarden"))
        .args(["admission", "render"])
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/check"))
        .output()
        .expect("the driftwarden binary runs")
}

fn documents(output: &Output) -> Vec<Value> {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| serde::Deserialize::deserialize(document).expect("YAML"))
        .collect()
}

#[test]
fn a_policy_renders_its_admission_policy_and_binding() {
    let output = render(&["-f", "admission/policy.yaml"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    let objects = documents(&output);
    let kinds: Vec<(&str, &str)> =
        objects.iter().map(|o| (o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [
            ("ValidatingAdmissionPolicy", "dp.driftwarden.dev.shop.shop-settings"),
            ("ValidatingAdmissionPolicyBinding", "dp.driftwarden.dev.shop.shop-settings"),
        ]
    );
    let spec = &objects[0]["spec"];
    assert_eq!(spec["matchConstraints"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "shop");
    let exempt = spec["matchConditions"][0]["expression"].as_str().unwrap();
    assert!(exempt.contains("system:serviceaccount:driftwarden-system:driftwarden"), "{exempt}");
    assert!(exempt.contains("system:serviceaccount:argocd:argocd-application-controller"), "{exempt}");
    assert!(
        stderr.contains("spec.resources[1]/spec/scopeSelector/matchExpressions is not checked at admission"),
        "{stderr}"
    );
    assert!(objects[0].to_string().contains("quantity('20')"), "a quantity is compared by amount");

    // The operator's user and the appliers as the installation names them.
    let output = render(&[
        "-f",
        "admission/policy.yaml",
        "--operator-user",
        "system:serviceaccount:ops:dw",
        "--exempt-user",
        "ci-deployer",
    ]);
    let objects = documents(&output);
    let exempt = objects[0]["spec"]["matchConditions"][0]["expression"].as_str().unwrap().to_string();
    assert!(exempt.contains("'ci-deployer'") && exempt.contains("system:serviceaccount:ops:dw"), "{exempt}");
    assert!(!exempt.contains("argocd"), "the list replaces the default appliers: {exempt}");
}

#[test]
fn policies_without_admission_render_nothing_and_say_so() {
    let output = render(&["-f", "shop-config/policy.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no spec.admission") && stderr.contains("no policy sets spec.admission"), "{stderr}");
    let output = render(&["-f", "no-such-file.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.yaml"));
}
