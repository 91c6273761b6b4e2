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

/// Every document of every YAML file under `examples/<folder>`, with where it is.
fn documents(folder: &str) -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(folder);
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
/// `maxDuration` of its creation), active, and lasts long enough to be worth copying.
fn exception_dates_problem(exception: &DriftException) -> Option<String> {
    let approved = exception.spec.approved_at.0;
    if let Some(problem) = exception.spec.expiry_problem(approved) {
        return Some(problem);
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
