//! Every driftwarden resource under `examples/gitops` and `examples/campaigns` is one the API server admits (schema,
//! unknown fields, CEL rules) and, for policies, one `driftwarden check` compiles: the
//! layout a platform team copies stays valid as the kinds evolve. Each environment is built
//! as Kustomize builds it (resources and merge patches) and checked whole, and the Argo CD
//! and Flux objects that sync them are checked against the repository: the paths they
//! sync exist, the names they reference are defined, and the project admits every kind
//! an environment holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::campaign::RemediationCampaign;
use super::exception::DriftException;
use super::finding::Finding;
use super::policy::{ClusterDriftPolicy, DriftPolicy};
use super::testing::admit_value;
use crate::engine::evaluate::compile;
use crate::engine::fingerprint::test_key;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{} cannot be read: {e}", dir.display())) {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Admitted as `K`, parsed as `K`, and its CEL rules hold.
fn valid<K>(object: &Value) -> Result<K, Vec<String>>
where
    K: CustomResourceExt + DeserializeOwned + kube::Resource<DynamicType = ()>,
{
    admit_value::<K>(object, None)?;
    serde_json::from_value(object.clone()).map_err(|e| vec![format!("does not parse as {}: {e}", K::kind(&()))])
}

/// The problems of one document, or the kind it is when it is driftwarden's and valid.
fn check(object: &Value) -> Result<Option<String>, Vec<String>> {
    if object["apiVersion"].as_str().is_none_or(|v| !v.starts_with("driftwarden.dev/")) {
        return Ok(None);
    }
    if object["apiVersion"] != "driftwarden.dev/v1alpha1" {
        return Err(vec![format!("apiVersion {} is not served; use driftwarden.dev/v1alpha1", object["apiVersion"])]);
    }
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let problems =
        |p: Vec<crate::engine::evaluate::PolicyProblem>| p.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>();
    match kind.as_str() {
        "DriftPolicy" => {
            let policy = valid::<DriftPolicy>(object)?;
            compile(name, policy.metadata.namespace.as_deref(), &policy.spec.policy, &test_key()).map_err(problems)?;
        }
        "ClusterDriftPolicy" => {
            let policy = valid::<ClusterDriftPolicy>(object)?;
            compile(name, None, &policy.spec.policy, &test_key()).map_err(problems)?;
        }
        "RemediationCampaign" => drop(valid::<RemediationCampaign>(object)?),
        "DriftException" => drop(valid::<DriftException>(object)?),
        "Finding" => drop(valid::<Finding>(object)?),
        other => return Err(vec![format!("kind {other} is not a driftwarden kind")]),
    }
    Ok(Some(kind))
}

#[test]
fn every_driftwarden_resource_in_the_gitops_example_is_valid() {
    let root = repository_root().join("examples/gitops");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    // Overlay patches are partial objects: they are checked merged, by the environments' test.
    let patches = patch_files(&root);
    files.retain(|file| !patches.contains(&file.canonicalize().unwrap_or_else(|_| file.clone())));
    let mut kinds = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let shown = format!("{} (document {index})", file.strip_prefix(&root).unwrap_or(file).display());
            let object: Value = match serde::Deserialize::deserialize(document) {
                Ok(object) => object,
                Err(e) => {
                    failures.push(format!("{shown}: not YAML: {e}"));
                    continue;
                }
            };
            match check(&object) {
                Ok(Some(kind)) => {
                    kinds.insert(kind);
                }
                Ok(None) => {}
                Err(problems) => failures.push(format!("{shown}:\n  {}", problems.join("\n  "))),
            }
        }
    }
    assert!(failures.is_empty(), "invalid driftwarden resources in examples/gitops:\n{}", failures.join("\n"));
    let expected = ["ClusterDriftPolicy", "DriftException", "DriftPolicy", "RemediationCampaign"];
    assert_eq!(kinds.iter().map(String::as_str).collect::<Vec<_>>(), expected, "the example shows each kind");
}

#[test]
fn every_driftwarden_resource_in_the_campaign_example_is_valid() {
    let root = repository_root().join("examples/campaigns");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut kinds = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let object: Value = serde::Deserialize::deserialize(document).unwrap();
            match check(&object) {
                Ok(kind) => kinds.extend(kind),
                Err(problems) => panic!("{}: {}", file.display(), problems.join("; ")),
            }
        }
    }
    let expected = ["ClusterDriftPolicy", "DriftException", "RemediationCampaign"];
    assert_eq!(kinds.iter().map(String::as_str).collect::<Vec<_>>(), expected);
}

/// Every document of every YAML file under `examples/<folder>`, with where it is.
fn documents(folder: &str) -> Vec<(String, Value)> {
    let root = repository_root().join("examples").join(folder);
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let object: Value = serde::Deserialize::deserialize(document).unwrap();
            out.push((format!("{} (document {index})", file.strip_prefix(&root).unwrap_or(file).display()), object));
        }
    }
    out
}

/// The dates of an example exception are judged against its own `approvedAt`, never against
/// the day the suite runs: applied on the day it was approved, it is honoured (within
/// `maxDuration` of its creation, and within the chart's default cap), active, and lasts
/// long enough to be worth copying.
fn exception_dates_problem(exception: &DriftException) -> Option<String> {
    let approved = exception.spec.approved_at.0;
    if let Some(problem) = exception.spec.expiry_problem(approved, crate::api::exception::DEFAULT_INSTALLATION_CAP) {
        return Some(problem.to_string());
    }
    if exception.spec.is_expired_at(approved) {
        return Some("expired when approved".to_string());
    }
    let lasts = exception.spec.expires_at.0.duration_since(approved);
    (lasts < jiff::SignedDuration::from_hours(14 * 24))
        .then(|| format!("lasts {lasts:#}, less than two weeks after approval: too short to be an example"))
}

/// A campaign's checkpoints come before its deadline, in order, with rising targets.
fn campaign_dates_problem(campaign: &RemediationCampaign) -> Option<String> {
    let deadline = campaign.spec.deadline.0;
    let mut previous: Option<(jiff::Timestamp, u8)> = None;
    for checkpoint in &campaign.spec.checkpoints {
        let (date, percent) = (checkpoint.date.0, checkpoint.compliant_percent);
        if date >= deadline {
            return Some(format!("checkpoint {date} is not before the deadline {deadline}"));
        }
        if previous.is_some_and(|(d, p)| d >= date || p > percent) {
            return Some(format!("checkpoint {date} does not follow the one before in date and target"));
        }
        previous = Some((date, percent));
    }
    None
}

#[test]
fn example_dates_are_consistent_whatever_day_the_suite_runs() {
    let mut exceptions = 0;
    let mut failures = Vec::new();
    for folder in ["gitops", "campaigns"] {
        for (shown, object) in documents(folder) {
            let problem = match object["kind"].as_str() {
                Some("DriftException") => {
                    exceptions += 1;
                    exception_dates_problem(&serde_json::from_value(object).unwrap())
                }
                Some("RemediationCampaign") => campaign_dates_problem(&serde_json::from_value(object).unwrap()),
                _ => None,
            };
            failures.extend(problem.map(|p| format!("{folder}/{shown}: {p}")));
        }
    }
    assert!(exceptions >= 3, "the examples hold their exceptions ({exceptions} found)");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_date_checks_catch_bad_dates() {
    let exception = |approved: &str, expires: &str, max: &str| -> DriftException {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
            "metadata": {"name": "x", "namespace": "y"},
            "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "paths": ["/data"], "justification": "j",
                     "approvedBy": "a", "ticket": "T-1", "approvedAt": approved, "expiresAt": expires, "maxDuration": max}
        }))
        .unwrap()
    };
    let fine = exception("2026-12-01T00:00:00Z", "2027-02-26T00:00:00Z", "2160h");
    assert_eq!(exception_dates_problem(&fine), None);
    let too_long = exception("2026-11-01T00:00:00Z", "2026-12-15T00:00:00Z", "720h");
    assert!(exception_dates_problem(&too_long).is_some_and(|p| p.contains("maxDuration")));
    let too_short = exception("2026-12-01T00:00:00Z", "2026-12-05T00:00:00Z", "2160h");
    assert!(exception_dates_problem(&too_short).is_some_and(|p| p.contains("too short")));

    let campaign = |deadline: &str, checkpoints: Value| -> RemediationCampaign {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": "c"},
            "spec": {"objective": "o", "owner": {"team": "t"}, "control": {"check": {"name": "WildcardRbac"}},
                     "deadline": deadline, "checkpoints": checkpoints}
        }))
        .unwrap()
    };
    let ordered = serde_json::json!([{"date": "2027-01-01T00:00:00Z", "compliantPercent": 50},
                                     {"date": "2027-02-01T00:00:00Z", "compliantPercent": 80}]);
    assert_eq!(campaign_dates_problem(&campaign("2027-03-01T00:00:00Z", ordered.clone())), None);
    assert!(campaign_dates_problem(&campaign("2027-01-15T00:00:00Z", ordered)).is_some());
    let falling = serde_json::json!([{"date": "2027-01-01T00:00:00Z", "compliantPercent": 80},
                                     {"date": "2027-02-01T00:00:00Z", "compliantPercent": 50}]);
    assert!(campaign_dates_problem(&campaign("2027-03-01T00:00:00Z", falling)).is_some());
}

#[test]
fn the_check_catches_an_invalid_example() {
    let bad: Value = serde_yaml::from_str(
        "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftException\nmetadata: {name: x, namespace: y}\n\
         spec: {match: {apiVersion: v1, kind: ConfigMap}, paths: [/data], justification: j, approvedBy: a,\n\
         ticket: T-1, approvedAt: \"2026-01-02T00:00:00Z\", expiresAt: \"2026-01-01T00:00:00Z\", colour: red}",
    )
    .unwrap();
    let problems = check(&bad).unwrap_err().join("\n");
    assert!(problems.contains("colour") && problems.contains("expiresAt must be after approvedAt"), "{problems}");
    let other: Value = serde_yaml::from_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}").unwrap();
    assert_eq!(check(&other), Ok(None));
}

/// The first document of a YAML file.
fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
}

/// Every file a `kustomization.yaml` under `root` names as a patch, canonicalized.
fn patch_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    let mut patches = Vec::new();
    for kustomization in files.iter().filter(|f| f.file_name().is_some_and(|n| n == "kustomization.yaml")) {
        let dir = kustomization.parent().expect("a file has a folder");
        for patch in read_yaml(kustomization)["patches"].as_array().cloned().unwrap_or_default() {
            if let Some(path) = patch["path"].as_str() {
                patches.push(dir.join(path).canonicalize().unwrap_or_else(|_| dir.join(path)));
            }
        }
    }
    patches
}

/// JSON merge patch (RFC 7386): how Kustomize patches a custom resource, whose schema it
/// does not know.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn identity_of(object: &Value) -> (String, String, String) {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    (text("/kind"), text("/metadata/namespace"), text("/metadata/name"))
}

/// What `kustomize build dir` gives for the subset of Kustomize the example uses
/// (`resources`: files and folders; `patches`: merge patches by `path`, targeting the
/// object of the patch's kind and name). Anything else is an error, so that the check
/// keeps up with the layout.
fn build(dir: &Path) -> Result<Vec<Value>, String> {
    let file = dir.join("kustomization.yaml");
    let kustomization = read_yaml(&file);
    for key in kustomization.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        if !["apiVersion", "kind", "resources", "patches"].contains(&key.as_str()) {
            return Err(format!("{}: {key} is not understood by this check", file.display()));
        }
    }
    let mut objects = Vec::new();
    for entry in kustomization["resources"].as_array().cloned().unwrap_or_default() {
        let path = dir.join(entry.as_str().ok_or_else(|| format!("{}: a resource is not a path", file.display()))?);
        if path.is_dir() {
            objects.extend(build(&path)?);
        } else if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for document in serde_yaml::Deserializer::from_str(&text) {
                let object: Value =
                    serde::Deserialize::deserialize(document).map_err(|e| format!("{}: {e}", path.display()))?;
                objects.push(object);
            }
        } else {
            return Err(format!("{}: resource {} does not exist", file.display(), path.display()));
        }
    }
    for entry in kustomization["patches"].as_array().cloned().unwrap_or_default() {
        let path = dir.join(entry["path"].as_str().ok_or_else(|| format!("{}: a patch has no path", file.display()))?);
        if !path.is_file() {
            return Err(format!("{}: patch {} does not exist", file.display(), path.display()));
        }
        let patch = read_yaml(&path);
        let wanted = identity_of(&patch);
        let mut targets = objects.iter_mut().filter(|o| identity_of(o) == wanted);
        let (Some(target), None) = (targets.next(), targets.next()) else {
            return Err(format!("{}: patches {wanted:?}, which is not exactly one object", path.display()));
        };
        merge_patch(target, &patch);
    }
    Ok(objects)
}

fn repository_root() -> PathBuf {
    // The core crate lives in crates/core of the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn environments() -> Vec<(String, Vec<Value>)> {
    let dir = repository_root().join("examples/gitops/environments");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let built = build(&dir.join(&name)).unwrap_or_else(|e| panic!("environments/{name} does not build: {e}"));
            (name, built)
        })
        .collect()
}

#[test]
fn every_environment_builds_to_valid_resources_and_they_differ() {
    let environments = environments();
    assert_eq!(environments.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["production", "staging"]);
    for (name, objects) in &environments {
        let mut kinds = std::collections::BTreeSet::new();
        let mut seen = std::collections::BTreeSet::new();
        for object in objects {
            let identity = identity_of(object);
            assert!(seen.insert(identity.clone()), "environments/{name} holds {identity:?} twice");
            match check(object) {
                Ok(kind) => kinds.extend(kind),
                Err(problems) => panic!("environments/{name}: {identity:?}:\n  {}", problems.join("\n  ")),
            }
        }
        for kind in ["ClusterDriftPolicy", "DriftException", "DriftPolicy", "RemediationCampaign"] {
            assert!(kinds.contains(kind), "environments/{name} has a {kind}: {kinds:?}");
        }
    }
    // The per-environment difference: staging enforces what production rolls out by campaign.
    let mode = |objects: &[Value]| {
        objects
            .iter()
            .find(|o| identity_of(o) == ("ClusterDriftPolicy".into(), String::new(), "web-pod-security".into()))
            .map(|o| o["spec"]["remediation"]["mode"].clone())
    };
    assert_eq!(mode(&environments[0].1), Some(Value::from("Audit")), "production");
    assert_eq!(mode(&environments[1].1), Some(Value::from("Enforce")), "staging, by its overlay patch");
}

#[test]
fn the_environment_build_catches_a_patch_without_target_and_a_missing_resource() {
    let dir = std::env::temp_dir().join(format!("driftwarden-gitops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")
        .unwrap();
    std::fs::write(dir.join("patch.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: w}\n")
        .unwrap();
    let write = |text: &str| std::fs::write(dir.join("kustomization.yaml"), text).unwrap();
    write("resources: [policy.yaml]\npatches: [{path: patch.yaml}]\n");
    assert!(build(&dir).unwrap_err().contains("not exactly one object"));
    write("resources: [policy.yaml, absent.yaml]\n");
    assert!(build(&dir).unwrap_err().contains("does not exist"));
    std::fs::write(dir.join("patch.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: w}\n")
        .unwrap();
    write("resources: [policy.yaml]\npatches: [{path: patch.yaml}]\n");
    assert_eq!(build(&dir).unwrap()[0]["data"]["k"], "w");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Argo CD and Flux objects of the example, by kind.
fn sync_objects() -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for folder in ["argocd", "flux"] {
        for (shown, object) in documents(&format!("gitops/{folder}")) {
            let kind = object["kind"].as_str().unwrap_or_else(|| panic!("{folder}/{shown} has no kind")).to_string();
            out.entry(kind).or_default().push(object);
        }
    }
    out
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} {} lacks {pointer}", object["kind"], object["metadata"]["name"]))
}

/// A path in the repository, as Argo CD and Flux give it, that holds a kustomization.
fn environment_at(path: &str) -> Vec<Value> {
    let dir = repository_root().join(path.trim_start_matches("./"));
    assert!(dir.join("kustomization.yaml").is_file(), "{path} is not a folder with a kustomization.yaml");
    build(&dir).unwrap()
}

#[test]
fn argo_cd_applications_reference_their_project_and_paths_that_exist() {
    let objects = sync_objects();
    let projects = &objects["AppProject"];
    let applications = &objects["Application"];
    assert_eq!(applications.len(), 2, "one Application per environment");
    for application in applications {
        assert_eq!(text(application, "/apiVersion"), "argoproj.io/v1alpha1");
        let name = text(application, "/metadata/name");
        let project_name = text(application, "/spec/project");
        let project = projects
            .iter()
            .find(|p| {
                text(p, "/metadata/name") == project_name
                    && p["metadata"]["namespace"] == application["metadata"]["namespace"]
            })
            .unwrap_or_else(|| panic!("{name}: project {project_name} is not defined beside it"));
        let repo = text(application, "/spec/source/repoURL");
        let repos: Vec<&str> =
            project["spec"]["sourceRepos"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(repos.contains(&repo), "{name}: {repo} is not among the project's sourceRepos {repos:?}");
        text(application, "/spec/source/targetRevision");
        let server = text(application, "/spec/destination/server");
        let destinations = project["spec"]["destinations"].as_array().unwrap();
        assert!(destinations.iter().any(|d| d["server"] == server), "{name}: {server} is not a project destination");
        // Every kind the environment holds is admitted by the project, at its scope.
        for object in environment_at(text(application, "/spec/source/path")) {
            let (kind, namespace, object_name) = identity_of(&object);
            let group = text(&object, "/apiVersion").split('/').next().unwrap().to_string();
            let list = if namespace.is_empty() { "clusterResourceWhitelist" } else { "namespaceResourceWhitelist" };
            let admitted = project["spec"][list]
                .as_array()
                .is_some_and(|l| l.iter().any(|e| e["group"] == group.as_str() && e["kind"] == kind.as_str()));
            assert!(admitted, "{name}: project {project_name}'s {list} does not admit {kind} {object_name}");
        }
    }
}

#[test]
fn flux_kustomizations_reference_their_source_paths_and_health_checks_that_exist() {
    let objects = sync_objects();
    let sources = &objects["GitRepository"];
    let kustomizations = &objects["Kustomization"];
    assert_eq!(kustomizations.len(), 2, "one Kustomization per environment");
    let applications = &objects["Application"];
    for kustomization in kustomizations {
        assert_eq!(text(kustomization, "/apiVersion"), "kustomize.toolkit.fluxcd.io/v1");
        let name = text(kustomization, "/metadata/name");
        text(kustomization, "/spec/interval");
        assert_eq!(text(kustomization, "/spec/sourceRef/kind"), "GitRepository", "{name}");
        let source_name = text(kustomization, "/spec/sourceRef/name");
        let namespace = kustomization["spec"]["sourceRef"]["namespace"]
            .as_str()
            .unwrap_or_else(|| text(kustomization, "/metadata/namespace"));
        let source = sources
            .iter()
            .find(|s| text(s, "/metadata/name") == source_name && text(s, "/metadata/namespace") == namespace)
            .unwrap_or_else(|| panic!("{name}: GitRepository {namespace}/{source_name} is not defined"));
        assert_eq!(text(source, "/apiVersion"), "source.toolkit.fluxcd.io/v1");
        text(source, "/spec/interval");
        // The same repository and branch as the Argo CD Applications sync.
        let url = text(source, "/spec/url");
        for application in applications {
            assert_eq!(text(application, "/spec/source/repoURL"), url, "Argo CD and Flux sync one repository");
            assert_eq!(text(application, "/spec/source/targetRevision"), text(source, "/spec/ref/branch"));
        }
        let environment = environment_at(text(kustomization, "/spec/path"));
        for check in kustomization["spec"]["healthChecks"].as_array().cloned().unwrap_or_default() {
            let wanted = (
                text(&check, "/kind").to_string(),
                check["namespace"].as_str().unwrap_or_default().to_string(),
                text(&check, "/name").to_string(),
            );
            let found = environment.iter().find(|o| identity_of(o) == wanted);
            assert!(
                found.is_some_and(|o| o["apiVersion"] == check["apiVersion"]),
                "{name}: health check {wanted:?} names nothing it syncs"
            );
        }
    }
    // Each environment is synced by both tools, at the same path.
    let paths = |kind: &str, pointer: &str| -> std::collections::BTreeSet<String> {
        objects[kind].iter().map(|o| text(o, pointer).trim_start_matches("./").to_string()).collect()
    };
    assert_eq!(paths("Kustomization", "/spec/path"), paths("Application", "/spec/source/path"));
}
