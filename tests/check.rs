//! `driftwarden check` as a CI pipeline runs it: the binary, on the policies and manifests
//! in `examples/check/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/check")
}

fn check(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwarden"))
        .arg("check")
        .args(args)
        .current_dir(examples())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the driftwarden binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("JSON on stdout ({err}): {}", text(output)))
}

fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `(object name, path, class)` of every violation, sorted.
fn violations(report: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let field = |name: &str| v[name].as_str().unwrap_or_default().to_string();
            (v["object"]["name"].as_str().unwrap().to_string(), field("path"), field("class"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn passing_manifests_exit_zero() {
    for example in ["pod-security", "ownership-labels", "shop-config"] {
        let policy = format!("{example}/policy.yaml");
        let manifests = format!("{example}/pass");
        let output = check(&["--policy", &policy, &manifests], None);
        assert_eq!(output.status.code(), Some(0), "{example}: {}", text(&output));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("0 violations"), "{example}: {}", text(&output));
    }
}

#[test]
fn pod_security_violations_are_listed_with_their_class() {
    let output = check(&["--policy", "pod-security/policy.yaml", "pod-security/fail", "--output", "json"], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = json(&output);
    let pod = "/spec/template/spec";
    let expected = [
        ("ledger-api", format!("{pod}/hostNetwork"), "Access"),
        ("ledger-api", format!("{pod}/securityContext/seccompProfile/type"), "Access"),
        ("ledger-db", format!("{pod}/automountServiceAccountToken"), "Access"),
        ("ledger-db", format!("{pod}/securityContext/runAsNonRoot"), "Access"),
        ("ledger-db", format!("{pod}/securityContext/seccompProfile/type"), "Access"),
    ];
    let expected: Vec<_> = expected.iter().map(|(n, p, c)| (n.to_string(), p.clone(), c.to_string())).collect();
    assert_eq!(violations(&report), expected);
    let host_network =
        report["violations"].as_array().unwrap().iter().find(|v| v["path"] == format!("{pod}/hostNetwork")).unwrap();
    assert_eq!(host_network["desired"], false);
    assert_eq!(host_network["live"], true);
    assert_eq!(host_network["policy"], "pod-security-restricted");
    assert_eq!(host_network["source"], "baseline restricted-deployments");
    assert_eq!(host_network["origin"]["document"], 2);
}

#[test]
fn ownership_violations_in_text() {
    let output = check(&["-p", "ownership-labels/policy.yaml", "ownership-labels/fail"], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Deployment storefront/checkout: /metadata/labels/driftwarden.dev~1owner [Metadata]"),
        "{stdout}"
    );
    assert!(stdout.contains("    desired: \"storefront-team\"\n    live:    \"someone-else\""), "{stdout}");
    assert!(stdout.contains("Deployment storefront/checkout: /metadata/labels/cost-center [Metadata]"), "{stdout}");
    assert!(
        stdout.contains("Service storefront/checkout: /metadata/labels/driftwarden.dev~1owner [Metadata]"),
        "{stdout}"
    );
    assert!(stdout.ends_with("3 violations in 2 objects; 3 manifests checked against 1 policy\n"), "{stdout}");
}

#[test]
fn full_manifest_policy_reports_missing_and_changed_objects() {
    let output = check(&["-p", "shop-config/policy.yaml", "-o", "json", "shop-config/fail"], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = json(&output);
    assert_eq!(
        violations(&report),
        [
            ("frontdoor".to_string(), "/spec/ports/port=80,protocol=TCP".to_string(), "Spec".to_string()),
            ("frontdoor-settings".to_string(), String::new(), "Create".to_string()),
        ]
    );
    let missing = report["violations"].as_array().unwrap().iter().find(|v| v["class"] == "Create").unwrap();
    assert!(missing.get("origin").is_none(), "a missing object has no place in the manifests");
    assert_eq!(missing["desired"]["data"]["LOG_LEVEL"], "info");
}

#[test]
fn manifests_can_come_from_standard_input() {
    let manifests = std::fs::read_to_string(examples().join("shop-config/pass/frontdoor.yaml")).unwrap();
    let output = check(&["-p", "shop-config/policy.yaml", "-"], Some(&manifests));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let output = check(&["-p", "shop-config/policy.yaml"], Some(&manifests));
    assert_eq!(output.status.code(), Some(0), "standard input is the default: {}", text(&output));
}

#[test]
fn invalid_input_exits_two_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let good_policy = examples().join("shop-config/policy.yaml").display().to_string();

    let manifest = write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n",
    );
    let output = check(&["-p", &good_policy, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("error: {manifest} (document 1): metadata.name: is required\n")
    );

    let policy = write(
        "policy.yaml",
        "apiVersion: driftwarden.dev/v1alpha1\nkind: ClusterDriftPolicy\nmetadata: {name: p}\nspec:\n  baselines:\n  - match: {apiVersion: apps/v1, kind: Deployment}\n    template: {}\n  ignore:\n  - paths: [spec/replicas]\n",
    );
    let output = check(&["-p", &policy, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(document 0): invalid policy p:"), "{stderr}");
    assert!(stderr.contains("spec.ignore[0].paths[0]: path \"spec/replicas\" must be a JSON pointer"), "{stderr}");

    let typo = write(
        "typo.yaml",
        "apiVersion: driftwarden.dev/v1alpha1\nkind: ClusterDriftPolicy\nmetadata: {name: p}\nspec:\n  remediation:\n    autoRemediate: [Metadata, Everything]\n",
    );
    let output = check(&["-p", &typo, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("spec.remediation.autoRemediate[1]: unknown variant `Everything`"), "{stderr}");

    let yaml = write("broken.yaml", "kind: [\n");
    let output = check(&["-p", &good_policy, &yaml], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("(document 0): not valid YAML"));

    let output = check(&["-p", dir.path().join("absent.yaml").to_str().unwrap(), &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("absent.yaml: No such file"));
}

#[test]
fn secret_values_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftPolicy\nmetadata: {name: creds, namespace: shop}\nspec:\n  resources:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: db}\n    stringData: {password: correct-horse-battery}\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: api}\n    data: {token: c3VwZXItc2VjcmV0LXRva2Vu}\n",
    )
    .unwrap();
    // "hunter2-staple" base64-encoded.
    let live =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata: {password: aHVudGVyMi1zdGFwbGU=}\n";
    for output_format in ["text", "json"] {
        let output = check(&["-p", policy.to_str().unwrap(), "-o", output_format], Some(live));
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let all = text(&output);
        for secret in [
            "correct-horse-battery",
            "Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5",
            "hunter2-staple",
            "aHVudGVyMi1zdGFwbGU=",
            "super-secret-token",
            "c3VwZXItc2VjcmV0LXRva2Vu",
        ] {
            assert!(!all.contains(secret), "{output_format} output leaks {secret}: {all}");
        }
        assert!(all.contains("SecretData"), "{all}");
    }
}

#[test]
fn the_scope_of_a_custom_kind_comes_from_api_resources_and_is_never_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let policy = write(
        "policy.yaml",
        "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftPolicy\nmetadata: {name: widgets, namespace: shop}\nspec:\n  \
         baselines:\n  - match: {apiVersion: example.com/v1, kind: Widget}\n    template: {spec: {size: 1}}\n",
    );
    let manifest = write(
        "widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 2}\n",
    );
    // Without --api-resources, Widget's scope is unknown: the DriftPolicy's reach would be a guess.
    let output = check(&["-p", &policy, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spec.baselines[0].match: Widget of example.com/v1 is not a built-in kind")
            && stderr.contains("--api-resources"),
        "{stderr}"
    );
    // As `kubectl api-resources -o json` prints it.
    let listing = |namespaced: bool| {
        serde_json::json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "", "resources": [
            {"name": "widgets", "namespaced": namespaced, "group": "example.com", "version": "v1", "kind": "Widget", "verbs": ["get"]}
        ]})
        .to_string()
    };
    let namespaced = write("namespaced.json", &listing(true));
    let output = check(&["-p", &policy, "--api-resources", &namespaced, &manifest, "-o", "json"], None);
    assert_eq!(output.status.code(), Some(1), "a namespaced kind: the drift is found: {}", text(&output));
    assert_eq!(violations(&json(&output)), [("w".to_string(), "/spec/size".to_string(), "Spec".to_string())]);
    let cluster = write("cluster.json", &listing(false));
    let output = check(&["-p", &policy, "--api-resources", &cluster, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Widget is cluster-scoped: only a ClusterDriftPolicy can govern it"), "{stderr}");
    let broken = write("broken.json", "{\"resources\": [{\"kind\": \"Widget\"}]}");
    let output = check(&["-p", &policy, "--api-resources", &broken, &manifest], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: --api-resources {broken}: ")), "{stderr}");
    assert!(stderr.contains("missing field"), "{stderr}");
}

/// The policy and live Secret of the fingerprint tests: the live password is
/// "hunter2-staple".
fn secret_case(dir: &Path) -> (PathBuf, &'static str) {
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftPolicy\nmetadata: {name: creds, namespace: shop}\nspec:\n  resources:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: db}\n    stringData: {password: correct-horse-battery}\n",
    )
    .unwrap();
    let live =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata: {password: aHVudGVyMi1zdGFwbGU=}\n";
    (policy, live)
}

/// The live fingerprint of the password in a JSON report.
fn live_fingerprint(report: &Value) -> String {
    let violations = report["violations"].as_array().unwrap();
    let password = violations.iter().find(|v| v["path"] == "/data/password").expect("the password drifts");
    password["live"].as_str().unwrap().to_string()
}

#[test]
fn a_key_file_makes_fingerprints_that_compare_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, live) = secret_case(dir.path());
    let key = dir.path().join("fingerprint.key");
    std::fs::write(&key, b"driftwarden test fingerprint key").unwrap();
    let args = ["-p", policy.to_str().unwrap(), "--fingerprint-key-file", key.to_str().unwrap(), "-o", "json"];
    let first = check(&args, Some(live));
    let second = check(&args, Some(live));
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    // hmac.new(b"driftwarden test fingerprint key", b"hunter2-staple", hashlib.sha256).hexdigest()
    // = 378ff1ee1d71f1c7b2c94ee3dd591f47f8ab9c42583fcc9c99db3d0d21bd344c
    assert_eq!(live_fingerprint(&json(&first)), "hmac-sha256:378ff1ee1d71f1c7b2c94ee3dd591f47");
    assert_eq!(live_fingerprint(&json(&first)), live_fingerprint(&json(&second)));
    let report = json(&first);
    assert_eq!(report["fingerprints"]["scheme"], "hmac-sha256-128");
    assert_eq!(report["fingerprints"]["key"]["source"], "File");
    assert!(report["fingerprints"].get("note").is_none(), "{report:#}");
    assert!(!String::from_utf8_lossy(&first.stderr).contains("not comparable"), "{}", text(&first));
}

#[test]
fn without_a_key_file_fingerprints_are_drawn_per_run_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, live) = secret_case(dir.path());
    let first = check(&["-p", policy.to_str().unwrap(), "-o", "json"], Some(live));
    let second = check(&["-p", policy.to_str().unwrap(), "-o", "json"], Some(live));
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let (one, two) = (live_fingerprint(&json(&first)), live_fingerprint(&json(&second)));
    assert!(one.starts_with("hmac-sha256:") && one.len() == "hmac-sha256:".len() + 32, "{one}");
    assert_ne!(one, two, "each run draws its own key");
    let report = json(&first);
    assert_eq!(report["fingerprints"]["key"]["source"], "PerRun");
    assert!(report["fingerprints"]["note"].as_str().unwrap().contains("not comparable across runs"), "{report:#}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("note:") && stderr.contains("not comparable across runs"), "{stderr}");
    let text_output = check(&["-p", policy.to_str().unwrap()], Some(live));
    assert!(String::from_utf8_lossy(&text_output.stderr).contains("not comparable across runs"));
}

#[test]
fn a_bad_key_file_is_invalid_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, live) = secret_case(dir.path());
    let key = dir.path().join("short.key");
    std::fs::write(&key, b"too short\n").unwrap();
    let output = check(&["-p", policy.to_str().unwrap(), "--fingerprint-key-file", key.to_str().unwrap()], Some(live));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("short.key") && stderr.contains("from 16 to 4096 bytes, this one has 10"), "{stderr}");
    let absent = dir.path().join("absent.key");
    let output =
        check(&["-p", policy.to_str().unwrap(), "--fingerprint-key-file", absent.to_str().unwrap()], Some(live));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read the fingerprint key file"),
        "{}",
        text(&output)
    );
}

#[test]
fn violations_admission_would_refuse_are_marked() {
    let output = check(&["--policy", "admission/policy.yaml", "admission/fail", "--output", "json"], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = json(&output);
    let marks: Vec<(String, Value)> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["path"].as_str().unwrap().to_string(), v.get("admission").cloned().unwrap_or(Value::Null)))
        .collect();
    assert_eq!(
        marks,
        [
            ("/data/mode".to_string(), Value::from("Deny")),
            ("/spec/hard/pods".to_string(), Value::from("Deny")),
            // A list of objects compared whole: admission leaves it to the operator.
            ("/spec/scopeSelector/matchExpressions".to_string(), Value::Null),
        ]
    );
    let output = check(&["--policy", "admission/policy.yaml", "admission/fail"], None);
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("admission: refused at admission (spec.admission.action Deny)"), "{said}");
    assert!(said.ends_with("2 of them would be refused at admission (the policies' spec.admission)\n"), "{said}");
}
