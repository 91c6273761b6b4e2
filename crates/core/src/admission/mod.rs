//! Prevention at admission: from a policy with `spec.admission`, the
//! ValidatingAdmissionPolicy and binding that make the API server refuse (or warn about,
//! or audit) a change that would drift from the policy, before it is stored.
//!
//! Each governed leaf field of each template becomes one validation: the field must hold
//! the template's value (compared as the engine compares it: ports by number, defaults the
//! API server fills in as present, keyed list items by their key), unless the change
//! leaves the field as it was, so an object that already drifts can still be edited
//! elsewhere while the operator heals it. What CEL cannot express as the engine compares
//! it (non-integer numbers, lists of objects compared whole, fields ignored by field
//! manager, Secret values) is not checked and is listed in [`Generated::skipped`].
//! Resource quantities are compared by amount with `quantity()`.
//! Exemptions are by the requesting identity, never by field manager.

mod cel;
mod walk;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::admission::{AdmissionAction, AdmissionSpec};
use crate::api::{RemediationClass, TargetMatch};
use crate::engine::evaluate::{CompiledPolicy, Governs, TemplatePart};
use crate::engine::kind::ObjectKind;
use crate::engine::pointer::PathPattern;
use crate::keys::{ObjectKey, PolicyKey};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use walk::{Check, Expect, Skipped};

/// The most validations one generated policy holds: beyond, the rest are skipped and
/// listed, so a policy with a thousand resources cannot make an object the API server
/// refuses to store.
pub const MAX_VALIDATIONS: usize = 512;

/// The plural resource name of a kind and whether it is namespaced, by `apiVersion` and
/// `kind`; `None` for a kind the API server does not serve (or, offline, is not known).
pub type ResourceOf<'a> = dyn Fn(&str, &str) -> Option<(String, bool)> + 'a;

/// What generating the admission objects of one policy needs.
pub struct Source<'a> {
    pub key: &'a PolicyKey,
    /// The policy's uid: a ClusterDriftPolicy owns its generated objects.
    pub uid: Option<&'a str>,
    pub admission: &'a AdmissionSpec,
    pub policy: &'a CompiledPolicy,
    /// The plural resource name and whether the kind is namespaced, by `apiVersion` and
    /// `kind` (from discovery, or the built-in kinds offline).
    pub resource_of: &'a ResourceOf<'a>,
    /// Users always exempt besides the policy's own list: the operator, the policy's
    /// ServiceAccount, the GitOps appliers.
    pub exempt_users: &'a [String],
    /// Groups always exempt besides the policy's own list: the cluster's administrators
    /// (`system:masters`), so no policy a tenant writes can lock them out.
    pub exempt_groups: &'a [String],
    /// The active DriftExceptions that may cover this policy's drift.
    pub exceptions: &'a [Excepted<'a>],
}

/// An active DriftException, as admission honours it: a change it covers is admitted.
/// CEL has no clock, so whoever generates the objects generates them again when an
/// exception starts or expires.
#[derive(Debug, Clone, Copy)]
pub struct Excepted<'a> {
    /// The objects it covers.
    pub target: &'a TargetMatch,
    /// The one namespace it reaches (an exception outside the operator's namespace), or
    /// `None` for any its match selects.
    pub pin: Option<&'a str>,
    /// The fields it covers; empty: every field, and the object's deletion.
    pub paths: &'a [PathPattern],
}

/// The generated objects, and what they leave unchecked.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The name of both objects.
    pub name: String,
    pub policy: Value,
    pub binding: Value,
    /// Governed paths not checked at admission, each with where it is written and why.
    pub skipped: Vec<(String, Skipped)>,
    /// The paths checked: the template (named as its drifts name it, `resource …` or
    /// `baseline …`), the path, and its class.
    pub checked: Vec<(String, String, RemediationClass)>,
}

impl Generated {
    /// Whether there is nothing to check: the API server refuses a policy without
    /// validations, so none is made.
    pub fn is_empty(&self) -> bool {
        self.policy["spec"]["validations"].as_array().is_none_or(Vec::is_empty)
    }

    /// Whether admission refuses (or warns about) a change at `path` of an object the
    /// template written at `field` governs: a checked path is `path`, or one of its
    /// parents or children (a whole object missing drifts at its parent).
    pub fn checks(&self, field: &str, path: &str) -> bool {
        let within = |outer: &str, inner: &str| inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/'));
        self.checked
            .iter()
            .any(|(f, pointer, _)| f == field && (pointer == path || within(pointer, path) || within(path, pointer)))
    }
}

/// The GitOps appliers exempt by default (the chart's `admission.exemptUsers`): Argo CD's
/// application controller and Flux's kustomize and helm controllers, as their own
/// installations name them.
pub const DEFAULT_APPLIERS: &[&str] = &[
    "system:serviceaccount:argocd:argocd-application-controller",
    "system:serviceaccount:flux-system:kustomize-controller",
    "system:serviceaccount:flux-system:helm-controller",
];

/// The groups exempt by default (the chart's `admission.exemptGroups`): the cluster's
/// administrators, whom no tenant's policy may lock out.
pub const DEFAULT_EXEMPT_GROUPS: &[&str] = &["system:masters"];

/// The users or groups an installation names (`given`), or `defaults` when it names none.
pub fn listed_or(given: &[String], defaults: &[&str]) -> Vec<String> {
    match given.is_empty() {
        true => defaults.iter().map(|d| d.to_string()).collect(),
        false => given.to_vec(),
    }
}

/// The users exempt from one policy's generated rules besides its own `exempt` list: the
/// installation's (the operator, the GitOps appliers) and the ServiceAccount the
/// policy's fixes are made as.
pub fn exempt_users(installation: &[String], acts_as: Option<&crate::api::ServiceAccountRef>) -> Vec<String> {
    let mut users = installation.to_vec();
    users.extend(acts_as.map(crate::api::ServiceAccountRef::user_name));
    users.sort();
    users.dedup();
    users
}

/// The label every generated object carries.
pub const GENERATED_LABEL: &str = "driftwarden.dev/generated-from";
/// The annotation naming the policy an object was generated from (`kind/namespace/name`).
pub const POLICY_ANNOTATION: &str = "driftwarden.dev/policy";

/// The name of the objects generated for `key`: distinct for every policy (a
/// DriftPolicy's start with `dp.`, a ClusterDriftPolicy's with `cdp.`; namespaces hold no
/// dot), at most 253 characters.
pub fn name_of(key: &PolicyKey) -> String {
    let full = match &key.namespace {
        Some(namespace) => format!("dp.driftwarden.dev.{namespace}.{}", key.name),
        None => format!("cdp.driftwarden.dev.{}", key.name),
    };
    if full.len() <= 253 {
        return full;
    }
    let digest = hex::encode(&Sha256::digest(full.as_bytes())[..8]);
    let mut cut = 253 - digest.len() - 1;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}.{digest}", full[..cut].trim_end_matches(['.', '-']))
}

/// Generates the ValidatingAdmissionPolicy and binding of `source`.
pub fn generate(source: &Source<'_>) -> Generated {
    let (templates, ignore) = source.policy.parts();
    let mut validations: Vec<Value> = Vec::new();
    let mut variables: Vec<Value> = Vec::new();
    let mut skipped: Vec<(String, Skipped)> = Vec::new();
    let mut checked = Vec::new();
    let mut rules: Vec<(String, String, String, bool)> = Vec::new();
    for part in &templates {
        let (api_version, kind) = target_kind(part);
        let Some((plural, namespaced)) = (source.resource_of)(api_version, kind) else {
            let why = format!("{kind} ({api_version}) is not known to the API server's discovery");
            skipped.push((part.field.to_string(), Skipped { pointer: String::new(), why }));
            continue;
        };
        // Ignore rules by field manager cannot be honoured at admission (a client names its
        // field manager freely): the fields of a template they apply to are not checked.
        let applies_to =
            |target: Option<&TargetMatch>| target.is_none_or(|t| t.api_version == api_version && t.kind == kind);
        let checks = if ignore.iter().any(|rule| !rule.managers.is_empty() && applies_to(rule.target)) {
            let why = "ignore rules by field manager apply to it, which admission cannot honour".to_string();
            skipped.push((part.field.to_string(), Skipped { pointer: String::new(), why }));
            Vec::new()
        } else {
            let patterns: Vec<_> =
                ignore.iter().filter(|rule| applies_to(rule.target)).flat_map(|rule| rule.paths.iter()).collect();
            let compare_rules = source.policy.plain_rules();
            let walked = walk::Walk::of(ObjectKind::new(api_version, kind), part.template, &patterns, &compare_rules);
            skipped.extend(walked.skipped.into_iter().map(|s| (part.field.to_string(), s)));
            walked.checks
        };
        let applies = applies(source.key, part, namespaced);
        for check in checks.into_iter().filter(|c| source.admission.guards(c.class)) {
            let skip = |why: String| (part.field.to_string(), Skipped { pointer: check.pointer.clone(), why });
            if check.class == RemediationClass::SecretData {
                // A literal in an expression would show the value to whoever reads
                // admission policies.
                skipped.push(skip("a Secret value, which an admission policy would show to whoever reads it".into()));
                continue;
            }
            if validations.len() >= MAX_VALIDATIONS {
                skipped.push(skip(format!("the generated policy holds at most {MAX_VALIDATIONS} validations")));
                continue;
            }
            let excepted = excepted_test(source.exceptions, &check.pointer);
            let Some(validation) = validation(source.key, part, &applies, &excepted, &check, variables.len()) else {
                skipped.push(skip("its path cannot be written in CEL".into()));
                continue;
            };
            variables.extend(validation.0);
            validations.push(validation.1);
            checked.push((part.source.clone(), check.pointer, check.class));
        }
        let guards_delete =
            matches!(part.governs, Governs::Resource(_)) && source.admission.guards(RemediationClass::Create);
        if guards_delete && let Governs::Resource(key) = part.governs {
            if validations.len() < MAX_VALIDATIONS {
                validations.push(delete_guard(source.key, key));
            } else {
                let why = format!("its deletion: the generated policy holds at most {MAX_VALIDATIONS} validations");
                skipped.push((part.field.to_string(), Skipped { pointer: String::new(), why }));
            }
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let rule = (group.to_string(), version.to_string(), plural, guards_delete);
        match rules.iter_mut().find(|r| r.0 == rule.0 && r.1 == rule.1 && r.2 == rule.2) {
            Some(existing) => existing.3 |= guards_delete,
            None => rules.push(rule),
        }
    }
    let name = name_of(source.key);
    let resource_rules: Vec<Value> = rules
        .iter()
        .map(|(group, version, plural, delete)| {
            let mut operations = vec!["CREATE", "UPDATE"];
            if *delete {
                operations.push("DELETE");
            }
            json!({"apiGroups": [group], "apiVersions": [version], "resources": [plural], "operations": operations})
        })
        .collect();
    let mut match_constraints = json!({"resourceRules": resource_rules});
    // A selector every template shares goes to the match constraints too, so the API
    // server skips the expressions of objects it does not select (each validation still
    // tests its own template's selector).
    let baselines: Vec<&TargetMatch> = templates
        .iter()
        .filter_map(|part| if let Governs::Baseline(target) = part.governs { Some(target) } else { None })
        .collect();
    let shared = |selector: fn(&TargetMatch) -> Option<&LabelSelector>| {
        let first = selector(baselines.first()?)?;
        (baselines.len() == templates.len() && baselines.iter().all(|b| selector(b) == Some(first)))
            .then(|| serde_json::to_value(first).ok())
            .flatten()
    };
    if let Some(selector) = shared(|target| target.selector.as_ref()) {
        match_constraints["objectSelector"] = selector;
    }
    match &source.key.namespace {
        Some(namespace) => {
            match_constraints["namespaceSelector"] = json!({"matchLabels": {"kubernetes.io/metadata.name": namespace}});
        }
        None => {
            if let Some(selector) = shared(|target| target.namespace_selector.as_ref()) {
                match_constraints["namespaceSelector"] = selector;
            }
        }
    }
    let mut spec = json!({
        "failurePolicy": if source.admission.action == AdmissionAction::Deny { "Fail" } else { "Ignore" },
        "matchConstraints": match_constraints,
        "variables": variables,
        "validations": validations,
    });
    let mut conditions = Vec::new();
    if let Some(condition) = exemption(source) {
        conditions.push(json!({"name": "not-exempt", "expression": condition}));
    }
    let whole: Vec<String> = source
        .exceptions
        .iter()
        .filter(|e| e.paths.is_empty())
        .map(|e| format!("({})", target_test("(object != null ? object : oldObject)", e.target, e.pin)))
        .collect();
    if !whole.is_empty() {
        conditions.push(json!({"name": "not-excepted", "expression": format!("!({})", whole.join(" || "))}));
    }
    if !conditions.is_empty() {
        spec["matchConditions"] = Value::Array(conditions);
    }
    let metadata = metadata(source, &name);
    let action = match source.admission.action {
        AdmissionAction::Deny => "Deny",
        AdmissionAction::Warn => "Warn",
        AdmissionAction::Audit => "Audit",
    };
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": metadata, "spec": spec,
    });
    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": metadata, "spec": {"policyName": name, "validationActions": [action]},
    });
    Generated { name, policy, binding, skipped, checked }
}

fn target_kind<'p>(part: &TemplatePart<'p>) -> (&'p str, &'p str) {
    match part.governs {
        Governs::Resource(key) => (key.kind.api_version.as_str(), key.kind.kind.as_str()),
        Governs::Baseline(target) => (target.api_version.as_str(), target.kind.as_str()),
    }
}

/// The labels, annotation and owner of the generated objects.
fn metadata(source: &Source<'_>, name: &str) -> Value {
    let kind = if source.key.namespace.is_some() { "DriftPolicy" } else { "ClusterDriftPolicy" };
    let named = format!("{kind}/{}/{}", source.key.namespace.as_deref().unwrap_or_default(), source.key.name);
    let mut metadata = json!({
        "name": name,
        "labels": {GENERATED_LABEL: if source.key.namespace.is_some() { "DriftPolicy" } else { "ClusterDriftPolicy" },
                   "app.kubernetes.io/managed-by": "driftwarden"},
        "annotations": {POLICY_ANNOTATION: named},
    });
    if let (None, Some(uid)) = (&source.key.namespace, source.uid) {
        metadata["ownerReferences"] = json!([{
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
            "name": source.key.name, "uid": uid, "controller": true, "blockOwnerDeletion": false,
        }]);
    }
    metadata
}

/// The match condition leaving out exempt requesters; `None` when nobody is exempt.
fn exemption(source: &Source<'_>) -> Option<String> {
    let exempt = &source.admission.exempt;
    let mut users: Vec<String> = source.exempt_users.to_vec();
    users.extend(exempt.users.iter().cloned());
    users.extend(exempt.service_accounts.iter().map(|a| a.user_name()));
    users.sort();
    users.dedup();
    let mut tests = Vec::new();
    if !users.is_empty() {
        tests.push(format!("!(request.userInfo.username in [{}])", cel::strings(&users)));
    }
    let mut groups: Vec<&String> = source.exempt_groups.iter().chain(&exempt.groups).collect();
    groups.sort();
    groups.dedup();
    // `'g' in request.userInfo.groups` for each, rather than a comprehension: the API
    // server evaluates it at less cost.
    tests.extend(groups.into_iter().map(|group| format!("!({} in request.userInfo.groups)", cel::string(group))));
    (!tests.is_empty()).then(|| tests.join(" && "))
}

/// The test that the object of the request is one `part` governs.
fn applies(policy: &PolicyKey, part: &TemplatePart<'_>, namespaced: bool) -> String {
    match part.governs {
        Governs::Resource(key) => {
            let (api_version, kind) = target_kind(part);
            let mut tests = vec![
                format!("object.apiVersion == {} && object.kind == {}", cel::string(api_version), cel::string(kind)),
                format!("object.metadata.name == {}", cel::string(&key.name)),
            ];
            if let Some(namespace) = &policy.namespace {
                tests.push(format!("request.namespace == {}", cel::string(namespace)));
            }
            if let (Some(namespace), true, None) = (&key.namespace, namespaced, &policy.namespace) {
                tests.push(format!("request.namespace == {}", cel::string(namespace)));
            }
            tests.join(" && ")
        }
        Governs::Baseline(target) => target_test("object", target, policy.namespace.as_deref()),
    }
}

/// The test that `root` (the request's `object` or `oldObject`, not null) is one `target`
/// selects, as the engine selects it: with `pin`, in that namespace only, and `namespaces`
/// and `namespaceSelector` left aside, as a DriftPolicy (or an exception outside the
/// operator's namespace) reads them.
fn target_test(root: &str, target: &TargetMatch, pin: Option<&str>) -> String {
    let mut tests = vec![format!(
        "{root}.apiVersion == {} && {root}.kind == {}",
        cel::string(&target.api_version),
        cel::string(&target.kind)
    )];
    if !target.names.is_empty() {
        tests.push(format!("{root}.metadata.name in [{}]", cel::strings(&target.names)));
    }
    match pin {
        Some(namespace) => tests.push(format!("request.namespace == {}", cel::string(namespace))),
        None => {
            if !target.namespaces.is_empty() {
                tests.push(format!("request.namespace in [{}]", cel::strings(&target.namespaces)));
            }
            let (labels, present) = (
                "namespaceObject.metadata.labels",
                "has(namespaceObject.metadata) && has(namespaceObject.metadata.labels)",
            );
            let selector = target.namespace_selector.as_ref();
            if let Some(test) = selector.and_then(|s| cel::selector_matches(labels, present, s)) {
                tests.push(format!("request.namespace != '' && namespaceObject != null && {test}"));
            }
        }
    }
    let (labels, present) = (format!("{root}.metadata.labels"), format!("has({root}.metadata.labels)"));
    if let Some(test) = target.selector.as_ref().and_then(|s| cel::selector_matches(&labels, &present, s)) {
        tests.push(test);
    }
    tests.join(" && ")
}

/// The variables and the validation of one check; `None` when its path has no CEL form.
fn validation(
    policy: &PolicyKey,
    part: &TemplatePart<'_>,
    applies: &str,
    excepted: &str,
    check: &Check,
    first: usize,
) -> Option<(Vec<Value>, Value)> {
    let (new, old) = (format!("v{first}"), format!("v{}", first + 1));
    let variables = vec![
        json!({"name": new, "expression": cel::value_at("object", &check.steps)?}),
        json!({"name": old, "expression": cel::value_at("oldObject", &check.steps)?}),
    ];
    let value = format!("variables.{new}");
    let (holds, wanted) = match &check.expect {
        Expect::Equals(literal) => (format!("{value} == {literal}"), literal.clone()),
        Expect::Port(port) => (format!("{value} == {port} || {value} == '{port}'"), port.to_string()),
        Expect::Absent => (format!("{value} == null"), "absent".to_string()),
        Expect::Holds(literal) => {
            (format!("{value} != null && {literal} in {value}"), format!("a list holding {literal}"))
        }
        Expect::Present => (format!("{value} != null"), "present".to_string()),
        Expect::Quantity(amount) => {
            let amount = cel::string(amount);
            (
                format!(
                    "{value} != null && isQuantity(string({value})) && \
                     quantity(string({value})).compareTo(quantity({amount})) == 0"
                ),
                format!("the quantity {amount}"),
            )
        }
    };
    let holds = if check.absent_ok { format!("{value} == null || {holds}") } else { holds };
    let expression = format!(
        "object == null || !({applies}) || {holds} || (oldObject != null && variables.{old} == {value}){excepted}"
    );
    let mut message = format!("driftwarden policy {policy} ({}): {} must be {wanted}", part.field, check.pointer);
    message.retain(|c| !c.is_control());
    if message.len() > 1024 {
        let mut cut = 1020;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" ...");
    }
    Some((variables, json!({"expression": expression, "message": message, "reason": "Invalid"})))
}

/// ` || (…)` admitting the object of the request when an exception covering `pointer` by its
/// paths selects it; empty when none does.
fn excepted_test(exceptions: &[Excepted<'_>], pointer: &str) -> String {
    exceptions
        .iter()
        .filter(|e| e.paths.iter().any(|p| p.matches(pointer)))
        .map(|e| format!(" || ({})", target_test("object", e.target, e.pin)))
        .collect()
}

/// The validation refusing the deletion of an object a policy declares in full.
fn delete_guard(policy: &PolicyKey, key: &ObjectKey) -> Value {
    let mut identity = vec![
        format!("oldObject.apiVersion == {}", cel::string(&key.kind.api_version)),
        format!("oldObject.kind == {}", cel::string(&key.kind.kind)),
        format!("oldObject.metadata.name == {}", cel::string(&key.name)),
    ];
    if let Some(namespace) = &key.namespace {
        identity.push(format!("request.namespace == {}", cel::string(namespace)));
    }
    json!({
        // A namespace being deleted takes its objects with it: that deletion is never refused.
        "expression": format!(
            "request.operation != 'DELETE' || oldObject == null || \
             (namespaceObject != null && has(namespaceObject.metadata.deletionTimestamp)) || !({})",
            identity.join(" && ")
        ),
        "message": format!("driftwarden policy {policy} declares {key}: it may not be deleted"),
        "reason": "Forbidden",
    })
}

#[cfg(test)]
mod tests;
