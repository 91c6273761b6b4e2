//! Every driftwarden resource under `examples/gitops` and `examples/campaigns` is one the API server admits (schema,
//! unknown fields, CEL rules) and, for policies, one `driftwarden check` compiles: the
//! layout a platform team copies stays valid as the kinds evolve.

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
            compile(name, policy.metadata.namespace.as_deref(), &policy.spec.policy).map_err(problems)?;
        }
        "ClusterDriftPolicy" => {
            let policy = valid::<ClusterDriftPolicy>(object)?;
            compile(name, None, &policy.spec.policy).map_err(problems)?;
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/campaigns");
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
