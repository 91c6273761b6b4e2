//! `driftwarden check`: offline evaluation of policies against manifest files, for
//! pre-merge CI on rendered Helm or Kustomize output. No cluster is contacted.

pub mod load;
pub mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::engine::evaluate::{CompiledPolicy, PolicyProblem, UnknownKinds, compile};
use crate::engine::fingerprint::FingerprintKey;
use crate::engine::scope::Scopes;
use crate::engine::selector::labels_of;
use crate::keys::ObjectKey;
use load::{LoadError, LoadedPolicy, Manifest, Origin, PolicyDocument};
pub use report::{Fingerprints, KeySource, Report, Violation};

/// What `check` reads.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// Policy files or directories.
    pub policies: Vec<PathBuf>,
    /// Manifest files or directories; `-` is standard input.
    pub manifests: Vec<PathBuf>,
    /// The namespace of namespaced manifests and DriftPolicies that do not name one.
    pub namespace: String,
    /// The scopes of the kinds that are not built in (from `--api-resources`).
    pub scopes: Scopes,
    /// The key Secret values are fingerprinted with in the report.
    pub fingerprints: FingerprintKey,
}

/// Why `check` could not evaluate: the input is invalid. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{origin}: invalid policy {name}:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Policy { origin: Origin, name: String, problems: Vec<PolicyProblem> },
    #[error("no policies found in {0}")]
    NoPolicies(String),
}

/// Loads the input and evaluates every policy against every manifest.
pub fn run(input: &CheckInput) -> Result<Report, CheckError> {
    let policies = load::policies(&input.policies, &input.namespace)?;
    if policies.is_empty() {
        let paths = input.policies.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(CheckError::NoPolicies(paths));
    }
    let compiled = policies
        .iter()
        .map(|p| compile_loaded(p, &input.scopes, &input.fingerprints))
        .collect::<Result<Vec<_>, _>>()?;
    let manifests = load::manifests(&input.manifests, &input.namespace, &input.scopes)?;
    let mut report = evaluate(&compiled, &manifests);
    mark_admission(&mut report, &compiled, &input.scopes);
    Ok(report)
}

/// Marks each violation a policy's `spec.admission` would act on when the change is
/// written: the field is checked by the ValidatingAdmissionPolicy generated from the
/// policy (as `driftwarden admission render` prints it).
pub fn mark_admission(report: &mut Report, policies: &[CompiledPolicy], scopes: &Scopes) {
    let resource_of = |api_version: &str, kind: &str| {
        let namespaced = scopes.scope(api_version, kind)? == crate::engine::scope::Scope::Namespaced;
        Some((scopes.plural(api_version, kind)?, namespaced))
    };
    let generated: BTreeMap<&str, (crate::api::admission::AdmissionAction, crate::admission::Generated)> = policies
        .iter()
        .filter_map(|policy| {
            let admission = policy.admission.as_ref()?;
            let key =
                crate::keys::PolicyKey { namespace: policy.namespace.clone(), name: policy.short_name().to_string() };
            let source = crate::admission::Source {
                key: &key,
                uid: None,
                admission,
                policy,
                resource_of: &resource_of,
                exempt_users: &[],
                exempt_groups: &[],
                exceptions: &[],
            };
            Some((policy.name.as_str(), (admission.action, crate::admission::generate(&source))))
        })
        .collect();
    // A declared object missing from the manifests (an empty path) is nothing admission
    // sees: only what is written is.
    for violation in &mut report.violations {
        if let Some((action, generated)) = generated.get(violation.policy.as_str())
            && !violation.drift.path.is_empty()
            && generated.checks(&violation.source, &violation.drift.path)
        {
            violation.admission = Some(*action);
        }
    }
}

/// Compiles one loaded policy, naming it as `check` reports it, and checks the scope of
/// each kind it names against `scopes`: a DriftPolicy naming a kind whose scope is not
/// known is invalid, as its reach would be a guess.
pub fn compile_loaded(
    loaded: &LoadedPolicy,
    scopes: &Scopes,
    fingerprints: &FingerprintKey,
) -> Result<CompiledPolicy, CheckError> {
    let (name, namespace, spec) = match &loaded.policy {
        PolicyDocument::Namespaced(p) => {
            let namespace = p.metadata.namespace.clone().unwrap_or_default();
            let name = format!("{namespace}/{}", p.metadata.name.clone().unwrap_or_default());
            (name, Some(namespace), &p.spec.policy)
        }
        PolicyDocument::Cluster(p) => (p.metadata.name.clone().unwrap_or_default(), None, &p.spec.policy),
    };
    let invalid = |problems| CheckError::Policy { origin: loaded.origin.clone(), name: name.clone(), problems };
    let compiled = compile(&name, namespace.as_deref(), spec, fingerprints).map_err(invalid)?;
    let problems =
        compiled.scope_problems(&|api_version, kind| scopes.scope(api_version, kind), UnknownKinds::Reported);
    match problems.is_empty() {
        true => Ok(compiled),
        false => Err(invalid(problems)),
    }
}

/// Evaluates compiled policies against loaded manifests.
pub fn evaluate(policies: &[CompiledPolicy], manifests: &[Manifest]) -> Report {
    let namespaces: BTreeMap<String, BTreeMap<String, String>> = manifests
        .iter()
        .filter(|m| {
            m.object.get("apiVersion") == Some(&Value::from("v1"))
                && m.object.get("kind") == Some(&Value::from("Namespace"))
        })
        .filter_map(|m| {
            let name = m.object.pointer("/metadata/name")?.as_str()?.to_string();
            let labels = labels_of(&m.object).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Some((name, labels))
        })
        .collect();
    let namespace_labels = |name: &str| namespaces.get(name).cloned();
    let objects: Vec<Value> = manifests.iter().map(|m| m.object.clone()).collect();
    // Where each object is written; the first manifest of an object wins.
    let mut origins: BTreeMap<ObjectKey, &Origin> = BTreeMap::new();
    for manifest in manifests {
        origins.entry(ObjectKey::of(&manifest.object)).or_insert(&manifest.origin);
    }

    let mut report = Report { objects: manifests.len(), policies: policies.len(), ..Report::default() };
    for policy in policies {
        for result in policy.evaluate(&objects, &namespace_labels) {
            report.targets += 1;
            let origin = origins.get(&ObjectKey::from_ref(&result.target)).map(|origin| (*origin).clone());
            for sourced in &result.findings {
                for drift in &sourced.drifts {
                    report.violations.push(Violation {
                        policy: policy.name.clone(),
                        source: sourced.source.clone(),
                        object: result.target.clone(),
                        origin: origin.clone(),
                        drift: drift.clone(),
                        admission: None,
                    });
                }
            }
        }
    }
    report
}
