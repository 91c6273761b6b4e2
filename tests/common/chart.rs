//! Renders `charts/driftwarden` with the real Helm library (the `helm-python-sdk` package,
//! through `scripts/render-chart.py`), for the chart tests and the RBAC test that installs
//! what the chart renders into the sandbox.
//!
//! Python comes from `DRIFTWARDEN_PYTHON` (which `scripts/test` exports), else `.venv`.
//! Without either, the tests fail and say so, unless `DRIFTWARDEN_SKIP_HELM=1`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Whether a rendered `role` is one of the ClusterRoles the chart ships for approvers
/// (bound by the platform team to people, never to the operator).
pub fn for_approvers(role: &Value) -> bool {
    role["metadata"]["name"]
        .as_str()
        .is_some_and(|name| name.starts_with("driftwarden-") && name.ends_with("-approver"))
}

/// The chart folder.
pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/driftwarden")
}

/// The Python with the Helm library: `DRIFTWARDEN_PYTHON`, else `.venv/bin/python`.
/// `None` means skip (with `DRIFTWARDEN_SKIP_HELM=1`); without either, the test fails.
pub fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DRIFTWARDEN_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.is_file() {
        return Some(venv);
    }
    if std::env::var("DRIFTWARDEN_SKIP_HELM").is_ok_and(|v| v == "1") {
        eprintln!("skipped: DRIFTWARDEN_SKIP_HELM=1 and no Python with the Helm library found");
        return None;
    }
    panic!(
        "no Python with the Helm library: run the suite with scripts/test (it installs helm-python-sdk into .venv \
         and sets DRIFTWARDEN_PYTHON), or set DRIFTWARDEN_SKIP_HELM=1 to skip the chart tests"
    );
}

/// What Helm made of the chart with some values.
#[derive(Debug)]
pub struct Rendered {
    /// `helm lint --strict`'s report: `messages` (`severity` 1 info, 2 warning, 3 error).
    pub lint: Value,
    /// Template path to rendered text.
    pub manifests: BTreeMap<String, String>,
}

impl Rendered {
    /// Every rendered Kubernetes object (NOTES.txt excluded), as JSON.
    pub fn objects(&self) -> Vec<Value> {
        let mut objects = Vec::new();
        for (path, text) in &self.manifests {
            if path.ends_with("NOTES.txt") {
                continue;
            }
            for document in serde_yaml::Deserializer::from_str(text) {
                let value: Value = serde::Deserialize::deserialize(document)
                    .unwrap_or_else(|e| panic!("{path} renders YAML that does not parse: {e}\n{text}"));
                if !value.is_null() {
                    objects.push(value);
                }
            }
        }
        objects
    }

    /// The objects of `kind`.
    pub fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.objects().into_iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of `kind`.
    pub fn one(&self, kind: &str) -> Value {
        let mut found = self.of_kind(kind);
        assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
        found.remove(0)
    }

    /// The one object of `kind` named `name`.
    pub fn named(&self, kind: &str, name: &str) -> Value {
        let mut found: Vec<Value> = self.of_kind(kind).into_iter().filter(|o| o["metadata"]["name"] == name).collect();
        assert_eq!(found.len(), 1, "expected one {kind} {name}, found {}", found.len());
        found.remove(0)
    }

    /// The rendered NOTES.txt.
    pub fn notes(&self) -> &str {
        self.manifests.iter().find(|(path, _)| path.ends_with("NOTES.txt")).map(|(_, t)| t.as_str()).unwrap_or("")
    }
}

/// Lints and renders the chart as release `driftwarden` in `namespace` with `values`:
/// `Ok` with the output, `Err` with Helm's message when it refuses the values or a
/// template fails; `None` when the chart tests are skipped.
pub fn render(values: Value, namespace: &str) -> Option<Result<Rendered, String>> {
    let python = python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/render-chart.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let request = json!({"chart": chart_dir(), "values": values, "release": "driftwarden", "namespace": namespace});
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("request written");
    let output = child.wait_with_output().expect("the renderer ends");
    assert!(
        output.status.success(),
        "{} {} failed: {}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("the renderer answers JSON");
    if answer["ok"] != true {
        return Some(Err(format!(
            "{}: {}",
            answer["error"].as_str().unwrap_or(""),
            answer["message"].as_str().unwrap_or("")
        )));
    }
    let manifests = serde_json::from_value(answer["manifests"].clone()).expect("manifests are text");
    Some(Ok(Rendered { lint: answer["lint"].clone(), manifests }))
}
