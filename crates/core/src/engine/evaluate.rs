//! One policy against a set of objects: which objects it governs, and how each drifts from
//! the templates (`resources` and `baselines`) that apply to it.
//!
//! A policy is first [compiled](compile): its ignore patterns, selectors and remediation
//! settings are checked once, and every problem is reported with the field it is in, so an
//! invalid policy is rejected where it is written and never half-applied.

mod conflicts;
mod parts;

pub use parts::{Governs, IgnorePart, TemplatePart};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::api::policy::PolicySpec;
use crate::api::reasons;
use crate::api::{ObjectRef, TargetMatch};
use crate::engine::compare::{compare, missing};
use crate::engine::decide::{RemediationRules, RulesError};
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::fingerprint::FingerprintKey;
use crate::engine::pointer::PathPattern;
use crate::engine::scope::{Scope, builtin};
use crate::engine::selector::{MatchScope, SelectorError, target_matches, validate_selector};
use crate::keys::{ObjectKey, namespace_of};

/// Something wrong in a policy, with the field it is in.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The field, for example `spec.baselines[1].match.kind`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// The condition reason it is reported with ([`reasons::INVALID_SPEC`], or
    /// [`reasons::CONFLICTING_FIELDS`]).
    pub reason: &'static str,
}

impl std::fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A checked policy, ready to evaluate objects.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// `namespace/name` of a DriftPolicy, `name` of a ClusterDriftPolicy.
    pub name: String,
    /// The namespace of a DriftPolicy; `None` for a ClusterDriftPolicy.
    pub namespace: Option<String>,
    /// The checked remediation settings.
    pub rules: RemediationRules,
    resources: Vec<ResourceTemplate>,
    baselines: Vec<BaselineTemplate>,
    ignore: Vec<IgnoreTemplate>,
    fingerprints: FingerprintKey,
    /// `spec.admission`, as written.
    pub admission: Option<crate::api::admission::AdmissionSpec>,
}

#[derive(Debug, Clone)]
struct ResourceTemplate {
    /// Where it is written: `spec.resources[0]`.
    field: String,
    /// The object it declares.
    key: ObjectKey,
    /// The same, as [`CompiledPolicy::resources`] hands it out.
    target: ObjectRef,
    template: Value,
}

impl ResourceTemplate {
    /// How drifts it finds name it ([`SourcedDrifts::source`]).
    fn label(&self) -> String {
        format!("resource {}", self.key)
    }
}

#[derive(Debug, Clone)]
struct BaselineTemplate {
    /// Where its template is written: `spec.baselines[0].template`.
    field: String,
    label: String,
    target: TargetMatch,
    template: Value,
}

#[derive(Debug, Clone)]
struct IgnoreTemplate {
    /// Where it is written: `spec.ignore[0]`.
    field: String,
    paths: Vec<PathPattern>,
    managers: Vec<String>,
    target: Option<TargetMatch>,
}

/// The drifts one template found on one object.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourcedDrifts {
    /// Which part of the policy: `baseline <name>` or `resource <kind> <name>`.
    pub source: String,
    pub drifts: Vec<Drift>,
}

/// How one governed object stands against a policy.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetResult {
    pub target: ObjectRef,
    /// Drifts per template; empty when the object is compliant.
    pub findings: Vec<SourcedDrifts>,
}

impl TargetResult {
    /// Whether the object holds every governed field.
    pub fn is_compliant(&self) -> bool {
        self.findings.iter().all(|f| f.drifts.is_empty())
    }

    /// Every drift, whatever template found it.
    pub fn drifts(&self) -> impl Iterator<Item = &Drift> {
        self.findings.iter().flat_map(|f| f.drifts.iter())
    }
}

/// Checks a policy. `namespace` is `Some` for a DriftPolicy, which governs its own
/// namespace only. The drifts it finds show Secret values as fingerprints under
/// `fingerprints`.
pub fn compile(
    name: &str,
    namespace: Option<&str>,
    spec: &PolicySpec,
    fingerprints: &FingerprintKey,
) -> Result<CompiledPolicy, Vec<PolicyProblem>> {
    let mut problems = Vec::new();
    let mut problem =
        |field: String, message: String| problems.push(PolicyProblem { field, message, reason: reasons::INVALID_SPEC });

    let rules = RemediationRules::from_spec(&spec.remediation)
        .map_err(|err| {
            let field = match &err {
                RulesError::FlappingWindow(_) => "spec.remediation.flapping.window".to_string(),
                RulesError::Percent(_) => "spec.remediation.circuitBreaker.maxDriftedPercent".to_string(),
                RulesError::Window { index, .. } => format!("spec.remediation.windows[{index}]"),
                RulesError::Count { field, .. } => format!("spec.remediation.{field}"),
            };
            problem(field, err.to_string());
        })
        .ok();

    let mut resources = Vec::new();
    for (index, template) in spec.resources.iter().enumerate() {
        let field = format!("spec.resources[{index}]");
        if let Err(message) = check_metadata(template) {
            problem(field, message);
            continue;
        }
        match resource_target(template, namespace) {
            Ok(key) => {
                let target = key.to_ref(None);
                resources.push(ResourceTemplate { field, key, target, template: template.clone() });
            }
            Err(message) => problem(field, message),
        }
    }

    let mut baselines = Vec::new();
    for (index, baseline) in spec.baselines.iter().enumerate() {
        let field = format!("spec.baselines[{index}]");
        if let Err((at, message)) = check_match(&baseline.target, namespace) {
            problem(format!("{field}.match{at}"), message);
            continue;
        }
        if !baseline.template.is_object() {
            problem(format!("{field}.template"), "must be an object: the fields every matched object must hold".into());
            continue;
        }
        if let Err(message) = check_metadata(&baseline.template) {
            problem(format!("{field}.template"), message);
            continue;
        }
        let label =
            baseline.name.clone().map_or_else(|| format!("baselines[{index}]"), |name| format!("baseline {name}"));
        let mut template = baseline.template.clone();
        if let Some(object) = template.as_object_mut() {
            object.insert("apiVersion".into(), Value::String(baseline.target.api_version.clone()));
            object.insert("kind".into(), Value::String(baseline.target.kind.clone()));
        }
        let field = format!("{field}.template");
        baselines.push(BaselineTemplate { field, label, target: baseline.target.clone(), template });
    }

    let mut ignore = Vec::new();
    for (index, rule) in spec.ignore.iter().enumerate() {
        let field = format!("spec.ignore[{index}]");
        if rule.paths.is_empty() && rule.managers.is_empty() {
            problem(field.clone(), "needs paths or managers".into());
        }
        if let Some(target) = &rule.target
            && let Err((at, message)) = check_match(target, namespace)
        {
            problem(format!("{field}.match{at}"), message);
        }
        let mut paths = Vec::new();
        for (path_index, path) in rule.paths.iter().enumerate() {
            match PathPattern::parse(path) {
                Ok(pattern) => paths.push(pattern),
                Err(err) => problem(format!("{field}.paths[{path_index}]"), err.to_string()),
            }
        }
        ignore.push(IgnoreTemplate { field, paths, managers: rule.managers.clone(), target: rule.target.clone() });
    }

    problems.extend(conflicting_fields(&resources, &baselines, namespace));

    match rules {
        Some(rules) if problems.is_empty() => Ok(CompiledPolicy {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            rules,
            resources,
            baselines,
            ignore,
            fingerprints: fingerprints.clone(),
            admission: spec.admission.clone(),
        }),
        _ => Err(problems),
    }
}

/// Checks what every object's metadata must be: labels and annotations are maps of strings.
fn check_metadata(template: &Value) -> Result<(), String> {
    for field in ["labels", "annotations"] {
        let Some(value) = template.get("metadata").and_then(|m| m.get(field)) else { continue };
        let strings = value.as_object().is_some_and(|map| map.values().all(Value::is_string));
        if !strings {
            return Err(format!("metadata.{field} must be a map of strings"));
        }
    }
    Ok(())
}

/// Two parts of the policy that would hold one field of one object at different values.
fn conflicting_fields(
    resources: &[ResourceTemplate],
    baselines: &[BaselineTemplate],
    namespace: Option<&str>,
) -> Vec<PolicyProblem> {
    use conflicts::{Part, PartTarget};
    let parts: Vec<Part<'_>> = resources
        .iter()
        .map(|r| Part {
            field: r.field.clone(),
            template: &r.template,
            target: PartTarget::Resource { namespace: r.key.namespace.as_deref() },
        })
        .chain(baselines.iter().map(|b| Part {
            field: b.field.clone(),
            template: &b.template,
            target: PartTarget::Baseline(&b.target),
        }))
        .collect();
    conflicts::conflicts(&parts, namespace)
        .into_iter()
        .map(|conflict| PolicyProblem {
            message: format!(
                "conflicts with {}: both set {} on the same object, to different values",
                conflict.first, conflict.path
            ),
            field: conflict.second,
            reason: reasons::CONFLICTING_FIELDS,
        })
        .collect()
}

/// Checks a `match`; the error is the field inside it (`""` for the match itself, or
/// `.selector.matchLabels`, ...) and what is wrong there.
fn check_match(target: &TargetMatch, namespace: Option<&str>) -> Result<(), (String, String)> {
    let whole = |message: String| Err((String::new(), message));
    if target.api_version.is_empty() || target.kind.is_empty() {
        return whole("needs apiVersion and kind".into());
    }
    if let Some(scope) = builtin(&target.api_version, &target.kind)
        && let Some(message) = scope_problem(namespace.is_some(), &target.kind, scope, None)
    {
        return whole(message);
    }
    if namespace.is_some() && (!target.namespaces.is_empty() || target.namespace_selector.is_some()) {
        return whole(
            "a DriftPolicy governs its own namespace only: namespaces and namespaceSelector need a ClusterDriftPolicy"
                .into(),
        );
    }
    for (name, selector) in [("selector", &target.selector), ("namespaceSelector", &target.namespace_selector)] {
        if let Some(selector) = selector {
            validate_selector(selector).map_err(|err| split_field(name, &err))?;
        }
    }
    Ok(())
}

/// A selector problem as (the field below the match, the message).
fn split_field(selector: &str, err: &SelectorError) -> (String, String) {
    match err.field() {
        Some(field) => (format!(".{selector}.{field}"), err.problem()),
        None => (format!(".{selector}"), err.problem()),
    }
}

/// The object a resource template declares, its namespace settled: a DriftPolicy's own,
/// none for a cluster-scoped kind.
fn resource_target(template: &Value, policy_namespace: Option<&str>) -> Result<ObjectKey, String> {
    if !template.is_object() {
        return Err("must be a full manifest (an object with apiVersion, kind and metadata.name)".into());
    }
    let key = ObjectKey::of(template);
    let (api_version, kind) = (key.kind.api_version.as_str(), key.kind.kind.as_str());
    for (field, value) in [("apiVersion", api_version), ("kind", kind), ("metadata.name", key.name.as_str())] {
        if value.is_empty() {
            return Err(format!("{field} is required"));
        }
    }
    // A kind that is not built in is checked once its scope is known (from discovery, or
    // from `check --api-resources`): see [`CompiledPolicy::scope_problems`].
    if let Some(scope) = builtin(api_version, kind)
        && let Some(message) = scope_problem(policy_namespace.is_some(), kind, scope, Some(key.namespace.is_some()))
    {
        return Err(message);
    }
    let namespace = match (policy_namespace, key.namespace.as_deref()) {
        (Some(own), Some(other)) if own != other => {
            return Err(format!("metadata.namespace {other:?}: a DriftPolicy governs its own namespace ({own}) only"));
        }
        (Some(own), _) => Some(own.to_string()),
        (None, namespace) => namespace.map(str::to_string),
    };
    Ok(ObjectKey { namespace, ..key })
}

/// What is wrong with a policy (namespaced or not) naming a kind of `scope`: in a match
/// (`resource_namespace` is `None`), or in a resource template that names a namespace or
/// not (a DriftPolicy's always does: its own).
fn scope_problem(
    policy_namespaced: bool,
    kind: &str,
    scope: Scope,
    resource_namespace: Option<bool>,
) -> Option<String> {
    match (policy_namespaced, scope, resource_namespace) {
        (true, Scope::Cluster, _) => Some(format!("{kind} is cluster-scoped: only a ClusterDriftPolicy can govern it")),
        (false, Scope::Cluster, Some(true)) => Some(format!("{kind} is cluster-scoped: remove metadata.namespace")),
        (false, Scope::Namespaced, Some(false)) => {
            Some(format!("metadata.namespace is required for a namespaced {kind}"))
        }
        _ => None,
    }
}

/// What to make of a kind whose scope is not known, in [`CompiledPolicy::scope_problems`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownKinds {
    /// Nothing: its scope is settled later (the operator learns it from discovery before it
    /// touches an object of the kind).
    Later,
    /// A problem in a DriftPolicy, whose reach depends on it (offline, `check`).
    Reported,
}

/// The reference of a live object, with its uid.
fn object_ref(object: &Value) -> ObjectRef {
    ObjectKey::of(object).to_ref(object.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string))
}

impl CompiledPolicy {
    /// What is wrong with the kinds the policy names, now that `scope_of` tells where the
    /// objects of each kind live: a DriftPolicy naming a cluster-scoped kind, a resource
    /// template naming a namespace for a cluster-scoped kind or none for a namespaced one.
    /// A kind `scope_of` does not know is left to `unknown`.
    pub fn scope_problems(
        &self,
        scope_of: &dyn Fn(&str, &str) -> Option<Scope>,
        unknown: UnknownKinds,
    ) -> Vec<PolicyProblem> {
        let namespaced = self.namespace.is_some();
        let matches = self
            .baselines
            .iter()
            .map(|b| {
                (format!("{}.match", b.field.trim_end_matches(".template")), &b.target.api_version, &b.target.kind)
            })
            .chain(self.ignore.iter().filter_map(|i| {
                let target = i.target.as_ref()?;
                Some((format!("{}.match", i.field), &target.api_version, &target.kind))
            }))
            .map(|(field, api_version, kind)| (field, api_version.as_str(), kind.as_str(), None));
        let resources = self.resources.iter().map(|r| {
            let kind = &r.key.kind;
            (r.field.clone(), kind.api_version.as_str(), kind.kind.as_str(), Some(r.key.namespace.is_some()))
        });
        let mut problems = Vec::new();
        for (field, api_version, kind, resource_namespace) in matches.chain(resources) {
            let message = match scope_of(api_version, kind) {
                Some(scope) => scope_problem(namespaced, kind, scope, resource_namespace),
                None if namespaced && unknown == UnknownKinds::Reported => Some(format!(
                    "{kind} of {api_version} is not a built-in kind, and whether it is namespaced is not known: \
                     pass --api-resources FILE (the output of `kubectl api-resources -o json`)"
                )),
                None => None,
            };
            if let Some(message) = message {
                problems.push(PolicyProblem { field, message, reason: reasons::INVALID_SPEC });
            }
        }
        problems
    }

    fn scope<'a>(&'a self, namespace_labels: &'a dyn Fn(&str) -> Option<BTreeMap<String, String>>) -> MatchScope<'a> {
        MatchScope { policy_namespace: self.namespace.as_deref(), namespace_labels }
    }

    fn matches(&self, target: &TargetMatch, object: &Value, scope: &MatchScope<'_>) -> bool {
        // Selectors were validated by `compile`, so an error cannot arise here; should one
        // arise anyway, selecting nothing is the safe reading.
        target_matches(target, object, scope).unwrap_or(false)
    }

    /// The ignore rules that apply to `object`, with the policy's fingerprint key.
    pub fn compare_rules(&self, object: &Value, scope: &MatchScope<'_>) -> CompareRules {
        let mut rules = CompareRules::new(self.fingerprints.clone());
        for rule in &self.ignore {
            if rule.target.as_ref().is_none_or(|t| self.matches(t, object, scope)) {
                rules.ignore_paths.extend(rule.paths.iter().cloned());
                rules.ignore_managers.extend(rule.managers.iter().cloned());
            }
        }
        rules
    }

    /// The policy's own name, without its namespace.
    pub fn short_name(&self) -> &str {
        match &self.namespace {
            Some(_) => self.name.rsplit_once('/').map_or(self.name.as_str(), |(_, name)| name),
            None => &self.name,
        }
    }

    /// Compare rules without any ignore rule, with the policy's fingerprint key.
    pub fn plain_rules(&self) -> CompareRules {
        CompareRules::new(self.fingerprints.clone())
    }

    /// The `(apiVersion, kind)` of everything this policy governs.
    pub fn kinds(&self) -> BTreeSet<(String, String)> {
        let resources = self.resources.iter().map(|r| (r.key.kind.api_version.clone(), r.key.kind.kind.clone()));
        let baselines = self.baselines.iter().map(|b| (b.target.api_version.clone(), b.target.kind.clone()));
        resources.chain(baselines).collect()
    }

    /// Every template this policy has for objects of `api_version`/`kind`.
    pub fn templates_of_kind<'p>(
        &'p self,
        api_version: &'p str,
        kind: &'p str,
    ) -> impl Iterator<Item = &'p Value> + 'p {
        let resources = self
            .resources
            .iter()
            .filter(move |r| r.key.kind.api_version == api_version && r.key.kind.kind == kind)
            .map(|r| &r.template);
        let baselines = self
            .baselines
            .iter()
            .filter(move |b| b.target.api_version == api_version && b.target.kind == kind)
            .map(|b| &b.template);
        resources.chain(baselines)
    }

    /// The objects this policy declares in full (`spec.resources`), with their templates.
    pub fn resources(&self) -> impl Iterator<Item = (&ObjectRef, &Value)> {
        self.resources.iter().map(|r| (&r.target, &r.template))
    }

    /// The templates of this policy that govern `object`, each with the name of the part
    /// of the policy it comes from, and the ignore rules for the object. `None` when the
    /// policy does not govern the object.
    pub fn templates_for<'p>(
        &'p self,
        object: &Value,
        namespace_labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    ) -> Option<(Vec<(String, &'p Value)>, CompareRules)> {
        let scope = self.scope(namespace_labels);
        if self.namespace.is_some() && namespace_of(object) != self.namespace.as_deref() {
            return None;
        }
        let templates = self
            .resources
            .iter()
            .filter(|r| r.key.is(object))
            .map(|r| (r.label(), &r.template))
            .chain(
                self.baselines
                    .iter()
                    .filter(|b| self.matches(&b.target, object, &scope))
                    .map(|b| (b.label.clone(), &b.template)),
            )
            .collect::<Vec<_>>();
        if templates.is_empty() {
            return None;
        }
        Some((templates, self.compare_rules(object, &scope)))
    }

    /// Compares `object` with every template of this policy that governs it. `None` when
    /// the policy does not govern the object.
    pub fn evaluate_object(
        &self,
        object: &Value,
        namespace_labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    ) -> Option<TargetResult> {
        let (templates, rules) = self.templates_for(object, namespace_labels)?;
        let findings = templates
            .into_iter()
            .map(|(source, template)| SourcedDrifts { source, drifts: compare(object, template, &rules) })
            .collect();
        Some(TargetResult { target: object_ref(object), findings })
    }

    /// The drift of a declared resource that does not exist: `Create`, with the policy's
    /// ignore rules applied to what would be created.
    pub fn missing_resource(
        &self,
        target: &ObjectRef,
        namespace_labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    ) -> Option<TargetResult> {
        let key = ObjectKey::from_ref(target);
        let resource = self.resources.iter().find(|r| r.key == key)?;
        let scope = self.scope(namespace_labels);
        Some(TargetResult {
            target: resource.target.clone(),
            findings: vec![SourcedDrifts {
                source: resource.label(),
                drifts: vec![missing(&resource.template, &self.compare_rules(&resource.template, &scope))],
            }],
        })
    }

    /// Evaluates every object and reports each declared resource that is missing as a
    /// `Create` drift.
    pub fn evaluate<'a>(
        &self,
        objects: impl IntoIterator<Item = &'a Value>,
        namespace_labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    ) -> Vec<TargetResult> {
        let mut results: Vec<TargetResult> =
            objects.into_iter().filter_map(|object| self.evaluate_object(object, namespace_labels)).collect();
        if self.resources.is_empty() {
            return results;
        }
        let found: BTreeSet<ObjectKey> = results.iter().map(|r| ObjectKey::from_ref(&r.target)).collect();
        for resource in &self.resources {
            if !found.contains(&resource.key)
                && let Some(missing) = self.missing_resource(&resource.target, namespace_labels)
            {
                results.push(missing);
            }
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RemediationClass;

    fn spec(yaml: &str) -> PolicySpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn compile(name: &str, namespace: Option<&str>, spec: &PolicySpec) -> Result<CompiledPolicy, Vec<PolicyProblem>> {
        super::compile(name, namespace, spec, &crate::engine::fingerprint::test_key())
    }

    fn objects(yaml: &str) -> Vec<Value> {
        serde_yaml::Deserializer::from_str(yaml).map(|doc| Value::deserialize(doc).unwrap()).collect()
    }

    use serde::Deserialize;

    fn no_labels(_: &str) -> Option<BTreeMap<String, String>> {
        None
    }

    const LIVE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {tier: web}}
spec:
  template:
    spec:
      automountServiceAccountToken: true
      containers: [{name: app, image: "shop/web:1.4.2"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: shop, labels: {tier: batch}}
spec:
  template:
    spec:
      containers: [{name: app, image: "shop/batch:2.0.0"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
"#;

    #[test]
    fn baselines_govern_what_they_match_and_report_drift() {
        let policy = compile(
            "shop/web-hardening",
            Some("shop"),
            &spec(
                r#"
baselines:
- name: no-token
  match: {apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {tier: web}}}
  template: {spec: {template: {spec: {automountServiceAccountToken: false}}}}
"#,
            ),
        )
        .unwrap();
        let results = policy.evaluate(&objects(LIVE), &no_labels);
        assert_eq!(results.len(), 1, "only the web Deployment is selected");
        let result = &results[0];
        assert_eq!(result.target.name, "web");
        assert!(!result.is_compliant());
        let drift = result.drifts().next().unwrap();
        assert_eq!(drift.path, "/spec/template/spec/automountServiceAccountToken");
        assert_eq!(result.findings[0].source, "baseline no-token");
    }

    #[test]
    fn missing_resources_are_create_drift_and_present_ones_are_compared() {
        let policy = compile(
            "platform",
            None,
            &spec(
                r#"
resources:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop}, data: {mode: safe}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: flags, namespace: shop}, data: {beta: "false"}}
"#,
            ),
        )
        .unwrap();
        let results = policy.evaluate(&objects(LIVE), &no_labels);
        let settings = results.iter().find(|r| r.target.name == "settings").unwrap();
        assert_eq!(settings.drifts().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["/data/mode"]);
        let flags = results.iter().find(|r| r.target.name == "flags").unwrap();
        let create = flags.drifts().next().unwrap();
        assert_eq!((create.class, create.path.as_str(), &create.live), (RemediationClass::Create, "", &None));
    }

    #[test]
    fn a_drift_policy_cannot_reach_outside_its_namespace() {
        let problems = compile(
            "shop/p",
            Some("shop"),
            &spec(
                r#"
resources:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: kube-system}}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: admin}}
baselines:
- match: {apiVersion: apps/v1, kind: Deployment, namespaces: [kube-system]}
  template: {metadata: {labels: {team: x}}}
"#,
            ),
        )
        .unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["spec.resources[0]", "spec.resources[1]", "spec.baselines[0].match"]);
        assert!(problems[0].message.contains("own namespace (shop)"));

        let policy = compile(
            "shop/p",
            Some("shop"),
            &spec("baselines: [{match: {apiVersion: v1, kind: ConfigMap}, template: {data: {mode: safe}}}]"),
        )
        .unwrap();
        let elsewhere = objects(
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: other}, data: {mode: fast}}",
        );
        assert!(policy.evaluate(&elsewhere, &no_labels).is_empty());
    }

    #[test]
    fn problems_name_the_field() {
        let problems = compile(
            "p",
            None,
            &spec(
                r#"
baselines:
- match: {apiVersion: apps/v1, kind: ""}
  template: {}
- match: {apiVersion: apps/v1, kind: Deployment, selector: {matchExpressions: [{key: a, operator: Like}]}}
  template: {}
- match: {apiVersion: apps/v1, kind: Deployment}
  template: "not an object"
ignore:
- paths: [spec/replicas]
- {}
remediation:
  flapping: {maxFixes: 2, window: often}
"#,
            ),
        )
        .unwrap_err();
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(rendered.len(), 6, "{rendered:#?}");
        assert!(rendered[0].starts_with("spec.remediation.flapping.window:"));
        assert!(rendered[1].starts_with("spec.baselines[0].match: needs apiVersion and kind"));
        assert!(rendered[2].starts_with("spec.baselines[1].match.selector.matchExpressions[0]:"), "{}", rendered[2]);
        assert!(rendered[2].contains("Like"));
        assert!(rendered[3].starts_with("spec.baselines[2].template: must be an object"));
        assert!(rendered[4].starts_with("spec.ignore[0].paths[0]:"));
        assert!(rendered[5].starts_with("spec.ignore[1]: needs paths or managers"));
    }

    #[test]
    fn scoped_ignore_rules_apply_only_to_their_match() {
        let policy = compile(
            "p",
            None,
            &spec(
                r#"
baselines:
- match: {apiVersion: apps/v1, kind: Deployment}
  template: {metadata: {labels: {owner: shop}}}
ignore:
- paths: [/metadata/labels/owner]
  match: {apiVersion: apps/v1, kind: Deployment, names: [batch]}
"#,
            ),
        )
        .unwrap();
        let results = policy.evaluate(&objects(LIVE), &no_labels);
        let drifted: Vec<_> = results.iter().filter(|r| !r.is_compliant()).map(|r| r.target.name.as_str()).collect();
        assert_eq!(drifted, ["web"]);
    }

    #[test]
    fn conflicting_fields_name_both_places_and_the_field() {
        let problems = compile(
            "p",
            Some("shop"),
            &spec(
                r#"
resources:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, labels: {tier: web}}
  spec: {replicas: 3, template: {spec: {containers: [{name: app, image: "web:1"}]}}}
- apiVersion: v1
  kind: Secret
  metadata: {name: token}
  stringData: {token: first-value}
- apiVersion: v1
  kind: Secret
  metadata: {name: token}
  stringData: {token: second-value}
baselines:
- match: {apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {tier: web}}}
  template: {spec: {replicas: 2}}
- match: {apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {team: shop}}}
  template: {spec: {replicas: 4, template: {spec: {containers: [{name: app, image: "web:2"}]}}}}
- match: {apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {tier: db, team: other}}}
  template: {spec: {replicas: 1}}
"#,
            ),
        )
        .unwrap_err();
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.iter().all(|p| p.reason == reasons::CONFLICTING_FIELDS), "{rendered:#?}");
        let both = |second: &str, first: &str, path: &str| {
            format!("{second}: conflicts with {first}: both set {path} on the same object, to different values")
        };
        assert_eq!(
            rendered,
            [
                both("spec.baselines[0].template", "spec.resources[0]", "/spec/replicas"),
                both("spec.resources[2]", "spec.resources[1]", "/stringData/token"),
                both("spec.baselines[1].template", "spec.baselines[0].template", "/spec/replicas"),
            ]
        );
        assert!(!rendered.iter().any(|line| line.contains("-value")), "a value is never quoted: {rendered:#?}");
    }

    #[test]
    fn labels_and_annotations_must_be_maps_of_strings() {
        let problems = compile(
            "p",
            None,
            &spec(
                r#"
resources:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: "team=shop"}}
baselines:
- match: {apiVersion: v1, kind: ConfigMap}
  template: {metadata: {annotations: {replicas: 3}}}
- match: {apiVersion: v1, kind: ConfigMap}
  template: {metadata: {labels: {team: shop}}}
"#,
            ),
        )
        .unwrap_err();
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                "spec.resources[0]: metadata.labels must be a map of strings",
                "spec.baselines[0].template: metadata.annotations must be a map of strings",
            ]
        );
        assert!(problems.iter().all(|p| p.reason == reasons::INVALID_SPEC));
    }

    #[test]
    fn templates_that_agree_or_touch_other_fields_do_not_conflict() {
        compile(
            "p",
            Some("shop"),
            &spec(
                r#"
resources:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, labels: {tier: web}}
  spec: {replicas: 3, template: {spec: {containers: [{name: app, image: "web:1"}]}}}
baselines:
- match: {apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {tier: web}}}
  template: {spec: {replicas: 3, template: {spec: {containers: [{name: app, securityContext: {runAsNonRoot: true}}]}}}}
- match: {apiVersion: apps/v1, kind: Deployment}
  template: {metadata: {labels: {owner: shop}}}
"#,
            ),
        )
        .expect("no conflict");
    }

    #[test]
    fn the_scope_of_a_kind_that_is_not_built_in_is_checked_once_it_is_known() {
        let widgets = r#"
baselines:
- match: {apiVersion: example.com/v1, kind: Widget}
  template: {spec: {size: 1}}
ignore:
- match: {apiVersion: example.com/v1, kind: Gadget}
  paths: [/spec/size]
resources:
- {apiVersion: example.com/v1, kind: Gadget, metadata: {name: one}}
"#;
        let namespaced = compile("shop/widgets", Some("shop"), &spec(widgets)).expect("unknown kinds compile");
        let cluster = compile("widgets", None, &spec(widgets)).expect("unknown kinds compile");
        let fields = |problems: Vec<PolicyProblem>| problems.into_iter().map(|p| p.to_string()).collect::<Vec<_>>();
        // Discovery: Widget and Gadget are cluster-scoped.
        let cluster_scoped = |_: &str, _: &str| Some(Scope::Cluster);
        assert_eq!(
            fields(namespaced.scope_problems(&cluster_scoped, UnknownKinds::Later)),
            [
                "spec.baselines[0].match: Widget is cluster-scoped: only a ClusterDriftPolicy can govern it",
                "spec.ignore[0].match: Gadget is cluster-scoped: only a ClusterDriftPolicy can govern it",
                "spec.resources[0]: Gadget is cluster-scoped: only a ClusterDriftPolicy can govern it",
            ]
        );
        assert!(cluster.scope_problems(&cluster_scoped, UnknownKinds::Later).is_empty());
        // Discovery: both are namespaced; the cluster policy's resource names no namespace.
        let namespaced_kinds = |_: &str, _: &str| Some(Scope::Namespaced);
        assert!(namespaced.scope_problems(&namespaced_kinds, UnknownKinds::Later).is_empty());
        assert_eq!(
            fields(cluster.scope_problems(&namespaced_kinds, UnknownKinds::Later)),
            ["spec.resources[0]: metadata.namespace is required for a namespaced Gadget"]
        );
        // Unknown: left for later, or reported for a DriftPolicy.
        let unknown = |_: &str, _: &str| None;
        assert!(namespaced.scope_problems(&unknown, UnknownKinds::Later).is_empty());
        let reported = fields(namespaced.scope_problems(&unknown, UnknownKinds::Reported));
        assert_eq!(reported.len(), 3);
        assert!(reported[0].contains("Widget of example.com/v1 is not a built-in kind"), "{reported:?}");
        assert!(cluster.scope_problems(&unknown, UnknownKinds::Reported).is_empty(), "a cluster policy reaches both");
    }

    #[test]
    fn built_in_kinds_the_old_list_missed_are_cluster_scoped_at_compile_time() {
        let problems = compile(
            "shop/classes",
            Some("shop"),
            &spec(
                r#"
baselines:
- match: {apiVersion: storage.k8s.io/v1, kind: VolumeAttributesClass}
  template: {metadata: {labels: {team: shop}}}
"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "spec.baselines[0].match: VolumeAttributesClass is cluster-scoped: only a ClusterDriftPolicy can govern it"
        );
    }
}
