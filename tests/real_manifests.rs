//! The engine and `check` on rendered manifests of two widely deployed projects
//! (kube-prometheus and ingress-nginx), kept beside the repository in
//! `../shared/real-manifests`. When that folder is absent the tests say so and pass.

use std::path::{Path, PathBuf};

use driftwarden::check::load::{Manifest, manifests};
use driftwarden::engine::{CompareRules, FingerprintKey, compare};
use serde_json::Value;

/// The key Secret values are fingerprinted with here.
fn key() -> FingerprintKey {
    FingerprintKey::new(b"driftwarden test fingerprint key").expect("32 bytes make a key")
}

fn real_manifests() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-manifests");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is not present", dir.display());
        None
    }
}

fn load(dir: &Path) -> Vec<Manifest> {
    manifests(&[dir.join("kube-prometheus"), dir.join("ingress-nginx")], "default", &Default::default())
        .expect("real manifests load")
}

#[test]
fn every_real_object_holds_against_itself() {
    let Some(dir) = real_manifests() else { return };
    let objects = load(&dir);
    assert!(objects.len() > 80, "expected the whole set, read {}", objects.len());
    for manifest in &objects {
        let drifts = compare(&manifest.object, &manifest.object, &CompareRules::new(key()));
        assert!(drifts.is_empty(), "{}: {drifts:#?}", manifest.origin);
    }
}

#[test]
fn a_changed_real_deployment_drifts_exactly_where_it_was_changed() {
    let Some(dir) = real_manifests() else { return };
    let objects = load(&dir);
    let template = &objects
        .iter()
        .find(|m| m.object["kind"] == "Deployment" && m.object["metadata"]["name"] == "grafana")
        .expect("kube-prometheus has a grafana Deployment")
        .object;
    let mut live = template.clone();
    let containers = live.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut).unwrap();
    containers.reverse();
    let grafana = containers.iter_mut().find(|c| c["name"] == "grafana").unwrap();
    grafana["image"] = Value::from("grafana/grafana:0.0.1");
    grafana["resources"]["limits"]["memory"] = Value::from("209715200"); // 200Mi spelled in bytes
    let drifts = compare(&live, template, &CompareRules::new(key()));
    let paths: Vec<_> = drifts.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["/spec/template/spec/containers/name=grafana/image"], "{drifts:#?}");
}

#[test]
fn secrets_in_real_manifests_never_reach_check_output() {
    let Some(dir) = real_manifests() else { return };
    let objects = load(&dir);
    let secrets: Vec<&Value> = objects.iter().map(|m| &m.object).filter(|o| o["kind"] == "Secret").collect();
    assert!(!secrets.is_empty());
    for secret in secrets {
        let mut template = secret.clone();
        let mut values = Vec::new();
        for field in ["data", "stringData"] {
            if let Some(map) = template.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    values.push(value.as_str().unwrap_or_default().to_string());
                    *value = Value::from(format!("{}-changed", value.as_str().unwrap_or_default()));
                }
            }
        }
        let drifts = compare(secret, &template, &CompareRules::new(key()));
        assert!(!drifts.is_empty(), "a changed Secret drifts");
        let rendered = format!("{drifts:?} {}", serde_json::to_string(&drifts).unwrap());
        for value in values.iter().filter(|v| v.len() >= 4) {
            assert!(!rendered.contains(value.as_str()), "a Secret value leaked: {rendered}");
        }
    }
}
