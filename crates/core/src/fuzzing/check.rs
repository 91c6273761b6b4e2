//! Target `check_manifests`: a YAML stream loaded, compiled and evaluated as `driftwarden
//! check` does with its policy and manifest files.

use crate::check::load::{self, LoadError};
use crate::check::{CheckError, compile_loaded, evaluate};

/// The file name the input is read as, which every error must name.
const FILE: &str = "fuzz.yaml";

/// The namespace given to namespaced documents that name none (`check --namespace`).
const NAMESPACE: &str = "default";

/// Fuzz entry point: `data` is a YAML (or JSON) stream of documents, read the way `check`
/// reads a file. Every document is offered both as a policy (policy files) and as a
/// manifest (manifest files); the policies that load are compiled, and those that compile
/// are evaluated against the manifests that load. Invariants, besides not panicking: every
/// load error names the file and document at fault; the report counts what it was given,
/// and renders as text and as JSON that parses. Bytes that are not UTF-8 are ignored, as
/// `check` refuses them before parsing.
pub fn check_manifests(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let documents = match load::parse_documents(FILE, text) {
        Ok(documents) => documents,
        Err(error) => return assert_names_the_place(&error),
    };
    let mut manifests = Vec::new();
    let mut compiled = Vec::new();
    for document in documents {
        match load::policy(document.clone(), NAMESPACE) {
            Ok(policy) => match compile_loaded(&policy, &Default::default(), &super::fingerprint_key()) {
                Ok(policy) => compiled.push(policy),
                Err(error @ CheckError::Policy { .. }) => {
                    assert!(error.to_string().contains(FILE), "{error} does not name {FILE}");
                }
                Err(error) => panic!("compiling a loaded policy failed otherwise than as invalid: {error}"),
            },
            Err(error) => assert_names_the_place(&error),
        }
        match load::manifest_in(document, NAMESPACE, &Default::default()) {
            Ok(manifest) => manifests.push(manifest),
            Err(error) => assert_names_the_place(&error),
        }
    }
    let report = evaluate(&compiled, &manifests);
    assert_eq!((report.objects, report.policies), (manifests.len(), compiled.len()), "the report counts its input");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the JSON report parses");
    assert_eq!(
        json["violations"].as_array().map(Vec::len),
        Some(report.violations.len()),
        "the JSON report lists every violation"
    );
    assert!(!report.to_text().is_empty(), "the text report has a summary");
}

fn assert_names_the_place(error: &LoadError) {
    let message = error.to_string();
    assert!(message.starts_with(&format!("{FILE} (document ")), "{message:?} does not say where");
}
