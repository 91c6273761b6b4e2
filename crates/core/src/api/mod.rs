//! The custom resources of driftwarden (`driftwarden.dev/v1alpha1`), their conditions, and
//! the CustomResourceDefinitions generated from them.
//!
//! - [`policy`]: `DriftPolicy` and `ClusterDriftPolicy`, the declared state;
//! - [`campaign`]: `RemediationCampaign`, a control objective tracked across assets;
//! - [`finding`]: `Finding`, one asset's part in a campaign;
//! - [`exception`]: `DriftException`, an approved, time-boxed deviation;
//! - [`conditions`] and [`reasons`]: the one condition setter and the reason constants;
//! - [`duration`]: the durations the resources hold, read without overflow;
//! - [`labels`]: label keys, values and selectors, checked as the API server checks them.

pub mod admission;
pub mod campaign;
pub mod common;
pub mod conditions;
pub mod duration;
pub mod exception;
pub mod finding;
pub mod labels;
pub mod policy;
pub mod reasons;

#[cfg(test)]
mod gitops_examples;
#[cfg(test)]
mod testing;

use std::io;
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use kube::CustomResourceExt;
use serde_json::Value;

pub use campaign::{RemediationCampaign, RemediationCampaignSpec};
pub use common::{ObjectRef, Owner, RemediationClass, ServiceAccountRef, TargetMatch};
pub use conditions::{ConditionSpec, ConditionStatus, check_contract, set_condition};
pub use exception::{DriftException, DriftExceptionSpec};
pub use finding::{Finding, FindingSpec, FindingState, Severity};
pub use policy::{ClusterDriftPolicy, DriftPolicy, PolicySpec};

/// The CustomResourceDefinitions of every driftwarden kind, in a fixed order, as they are
/// installed. Prefer this to `Kind::crd()`, which keeps `format`s the API server does not know.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        DriftPolicy::crd(),
        ClusterDriftPolicy::crd(),
        RemediationCampaign::crd(),
        Finding::crd(),
        DriftException::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
                *schema = without_unrecognized_formats(schema);
            }
        }
    }
    crds
}

/// The `format`s the API server knows. Others, such as the `uint8` and `uint32` that Rust's
/// unsigned integers produce, validate nothing and only earn a warning, so the generated CRDs
/// leave them out; `minimum` and `maximum` still bound the values.
pub const RECOGNIZED_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "date-time",
    "int32",
    "int64",
    "float",
    "double",
];

fn without_unrecognized_formats(schema: &JSONSchemaProps) -> JSONSchemaProps {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(node) => {
                if node.get("format").and_then(Value::as_str).is_some_and(|f| !RECOGNIZED_FORMATS.contains(&f)) {
                    node.remove("format");
                }
                for (key, child) in node.iter_mut() {
                    // Defaults, enums and examples are data, not schemas.
                    if key != "default" && key != "enum" && key != "example" {
                        strip(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(schema).expect("schemas serialize");
    strip(&mut value);
    serde_json::from_value(value).expect("removing formats keeps a valid schema")
}

/// Every CRD as YAML, one document each, separated by `---`. The output is the same on every
/// run, so it can be committed and compared.
pub fn crds_yaml() -> String {
    crd_files().into_iter().map(|(_, yaml)| format!("---\n{yaml}")).collect()
}

/// Every CRD as `(file name, YAML)`, the file named `<plural>.<group>.yaml` after the CRD.
pub fn crd_files() -> Vec<(String, String)> {
    crds()
        .iter()
        .map(|crd| {
            let name = crd.metadata.name.as_deref().expect("derived CRDs are named");
            let yaml = serde_yaml::to_string(crd).expect("CRDs serialize to YAML");
            (format!("{name}.yaml"), yaml)
        })
        .collect()
}

/// The suffix of the files [`write_crds`] writes and owns.
const CRD_FILE_SUFFIX: &str = ".driftwarden.dev.yaml";

/// Writes one file per CRD into `dir` (created if missing), removes CRD files of kinds that
/// no longer exist, and returns the files written.
pub fn write_crds(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let files = crd_files();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(CRD_FILE_SUFFIX) && !files.iter().any(|(file, _)| *file == name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    let mut written = Vec::with_capacity(files.len());
    for (name, yaml) in files {
        let path = dir.join(name);
        std::fs::write(&path, yaml)?;
        written.push(path);
    }
    Ok(written)
}
