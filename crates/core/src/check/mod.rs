//! `driftwarden check`: offline evaluation of policies against manifest files, for
//! pre-merge CI on rendered Helm or Kustomize output. No cluster is contacted.

pub mod load;
pub mod report;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::engine::evaluate::{CompiledPolicy, PolicyProblem, TargetResult, UnknownKinds, compile};
use crate::engine::fingerprint::FingerprintKey;
use crate::engine::scope::Scopes;
use crate::engine::selector::labels_of;
use crate::keys::ObjectKey;
use load::{LoadError, LoadedPolicy, Manifest, Origin, PolicyDocument};
pub use report::{Fingerprints, KeySource, Plan, PlanAction, Report, Violation};

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
    let held = load::manifests_with(&input.manifests, &input.namespace, &input.scopes, &Held::new)?;
    let objects: Vec<(&Origin, &Held)> = held.iter().map(|(origin, held)| (origin, held)).collect();
    let mut report = evaluate_objects(&compiled, &objects);
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
    let objects: Vec<(&Origin, &Value)> = manifests.iter().map(|m| (&m.origin, &m.object)).collect();
    evaluate_objects(policies, &objects)
}

/// A manifest as `check` holds it while it evaluates a long stream: its identity and its
/// compact JSON text. A parsed object costs several times its text (each map of the tree
/// is a B-tree node), so 100,000 manifests are held as text, and each object is read back
/// once, while every policy evaluates it.
pub struct Held {
    key: ObjectKey,
    json: Box<[u8]>,
}

impl Held {
    /// Holds `object` as its text.
    pub fn new(object: Value) -> Self {
        // A Value always serializes: its map keys are strings.
        let json = serde_json::to_vec(&object).unwrap_or_default().into_boxed_slice();
        Held { key: ObjectKey::of(&object), json }
    }
}

/// What `check` evaluates: an object, or a manifest held as text.
pub trait Evaluated: Sync {
    /// The object's identity.
    fn key(&self) -> ObjectKey;
    /// The object itself.
    fn object(&self) -> Cow<'_, Value>;
}

impl Evaluated for Value {
    fn key(&self) -> ObjectKey {
        ObjectKey::of(self)
    }

    fn object(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
}

impl Evaluated for Held {
    fn key(&self) -> ObjectKey {
        self.key.clone()
    }

    fn object(&self) -> Cow<'_, Value> {
        // The text was written from a Value, so it always reads back.
        Cow::Owned(serde_json::from_slice(&self.json).unwrap_or(Value::Null))
    }
}

/// Below this many objects per thread, evaluation stays on one thread.
const OBJECTS_PER_THREAD: usize = 2_000;
/// At most this many threads evaluate.
const MAX_EVALUATION_THREADS: usize = 8;

/// Evaluates compiled policies against objects and where each was read. Long inputs are
/// evaluated on several threads, each object by every policy in turn; the report lists the
/// violations in the same order either way: by policy, then in the order of the input,
/// then the declared resources that are missing.
pub fn evaluate_objects<T: Evaluated + ?Sized>(policies: &[CompiledPolicy], objects: &[(&Origin, &T)]) -> Report {
    let keys: Vec<ObjectKey> = objects.iter().map(|(_, object)| object.key()).collect();
    let is_namespace = |key: &ObjectKey| key.kind.api_version == "v1" && key.kind.kind == "Namespace";
    let namespaces: BTreeMap<String, BTreeMap<String, String>> = keys
        .iter()
        .zip(objects)
        .filter(|(key, _)| is_namespace(key))
        .map(|(key, (_, object))| {
            let labels = labels_of(&object.object()).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            (key.name.clone(), labels)
        })
        .collect();
    let namespace_labels = |name: &str| namespaces.get(name).cloned();
    // Where each object is written; the first manifest of an object wins.
    let mut origins: BTreeMap<&ObjectKey, &Origin> = BTreeMap::new();
    for (key, (origin, _)) in keys.iter().zip(objects) {
        origins.entry(key).or_insert(origin);
    }

    let threads = (objects.len() / OBJECTS_PER_THREAD)
        .clamp(1, std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_EVALUATION_THREADS));
    let chunk = objects.len().div_ceil(threads).max(1);
    let evaluate_chunk = |chunk: &[(&Origin, &T)]| {
        let mut found: Vec<Vec<TargetResult>> = policies.iter().map(|_| Vec::new()).collect();
        for (_, object) in chunk {
            let object = object.object();
            for (policy, found) in policies.iter().zip(found.iter_mut()) {
                found.extend(policy.evaluate_object(&object, &namespace_labels));
            }
        }
        found
    };
    let chunks: Vec<Vec<Vec<TargetResult>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = objects.chunks(chunk).map(|c| scope.spawn(|| evaluate_chunk(c))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });

    let mut report = Report { objects: objects.len(), policies: policies.len(), ..Report::default() };
    for (index, policy) in policies.iter().enumerate() {
        let mut results: Vec<TargetResult> = chunks.iter().flat_map(|found| found[index].iter().cloned()).collect();
        let evaluated: BTreeSet<ObjectKey> = results.iter().map(|r| ObjectKey::from_ref(&r.target)).collect();
        for (target, _) in policy.resources() {
            if !evaluated.contains(&ObjectKey::from_ref(target)) {
                results.extend(policy.missing_resource(target, &namespace_labels));
            }
        }
        for result in results {
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
                        operator: None,
                    });
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::policy::PolicySpec;

    fn policy(name: &str, spec: Value) -> CompiledPolicy {
        let spec: PolicySpec = serde_json::from_value(spec).unwrap();
        compile(name, None, &spec, &crate::engine::fingerprint::test_key()).unwrap()
    }

    /// What each violation is about, to compare reports.
    fn seen(report: &Report) -> Vec<(String, String, String, Option<usize>)> {
        report
            .violations
            .iter()
            .map(|v| {
                (v.policy.clone(), v.object.name.clone(), v.drift.path.clone(), v.origin.as_ref().map(|o| o.document))
            })
            .collect()
    }

    #[test]
    fn a_long_input_evaluated_on_several_threads_reports_as_each_policy_in_order() {
        let policies = vec![
            policy(
                "modes",
                json!({"baselines": [{"name": "mode", "match": {"apiVersion": "v1", "kind": "ConfigMap"},
                "template": {"data": {"mode": "strict"}}}]}),
            ),
            policy(
                "declared",
                json!({"resources": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-7", "namespace": "shop"}, "data": {"owner": "shop"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "absent", "namespace": "shop"}, "data": {"a": "b"}}]}),
            ),
        ];
        // Enough for two threads.
        let count = OBJECTS_PER_THREAD * 2 + 1;
        let objects: Vec<Value> = (0..count)
            .map(|i| {
                let mode = if i % 3 == 0 { "lenient" } else { "strict" };
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("cm-{i}"), "namespace": "shop"}, "data": {"mode": mode}})
            })
            .collect();
        let origins: Vec<Origin> = (0..count).map(|document| Origin { file: "f.yaml".into(), document }).collect();
        let held: Vec<Held> = objects.iter().cloned().map(Held::new).collect();
        let as_held: Vec<(&Origin, &Held)> = origins.iter().zip(&held).collect();
        let report = evaluate_objects(&policies, &as_held);

        // Each policy over every object in order, as one thread would.
        let documents: BTreeMap<ObjectKey, usize> =
            objects.iter().enumerate().map(|(i, o)| (ObjectKey::of(o), i)).collect();
        let mut expected = Vec::new();
        for policy in &policies {
            for result in policy.evaluate(&objects, &|_| None) {
                let document = documents.get(&ObjectKey::from_ref(&result.target)).copied();
                for sourced in &result.findings {
                    for drift in &sourced.drifts {
                        expected.push((policy.name.clone(), result.target.name.clone(), drift.path.clone(), document));
                    }
                }
            }
        }
        assert_eq!(seen(&report), expected);
        assert_eq!(report.objects, count);
        assert!(
            expected.iter().any(|(_, name, _, origin)| name == "absent" && origin.is_none()),
            "missing resources last"
        );
        let as_values: Vec<(&Origin, &Value)> = origins.iter().zip(&objects).collect();
        assert_eq!(seen(&evaluate_objects(&policies, &as_values)), expected, "objects and held text alike");
    }
}
