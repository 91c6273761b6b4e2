//! Which writes a policy (and a binding's `matchResources`) applies to: resource rules with
//! their operations, groups, versions, resources, subresources, names and scope; excluded
//! rules; the namespace and object label selectors; and `matchPolicy`.

use k8s_openapi::api::admissionregistration::v1::{MatchResources, NamedRuleWithOperations};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as Selector;
use serde_json::{Map, Value};

use crate::store::{AdmissionRequest, LabelRequirement, LabelSelector, Operator, meta};

/// A label selector as a store selector; `None` when it is malformed (an unknown
/// operator), which matches nothing.
pub fn selector(selector: &Selector) -> Option<LabelSelector> {
    let mut requirements: Vec<LabelRequirement> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| LabelRequirement { key: k.clone(), operator: Operator::In([v.clone()].into()) })
        .collect();
    for expression in selector.match_expressions.iter().flatten() {
        let values = || expression.values.iter().flatten().cloned().collect();
        let operator = match expression.operator.as_str() {
            "In" => Operator::In(values()),
            "NotIn" => Operator::NotIn(values()),
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return None,
        };
        requirements.push(LabelRequirement { key: expression.key.clone(), operator });
    }
    Some(LabelSelector { requirements })
}

fn selects(given: Option<&Selector>, labels: Option<&Map<String, Value>>) -> bool {
    match given {
        None => true,
        Some(given) => selector(given).is_some_and(|s| s.matches(labels)),
    }
}

fn listed(list: Option<&Vec<String>>, value: &str) -> bool {
    list.is_some_and(|items| items.iter().any(|item| item == "*" || item == value))
}

/// Whether a rule's `resources` entry names the resource and subresource written.
fn names_resource(entry: &str, resource: &str, subresource: Option<&str>) -> bool {
    let (want_resource, want_sub) = match entry.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (entry, None),
    };
    let resource_ok = want_resource == "*" || want_resource == resource;
    let sub_ok = match (want_sub, subresource) {
        (None, None) => true,
        (Some("*"), _) => true,
        (Some(w), Some(s)) => w == s,
        _ => false,
    };
    resource_ok && sub_ok
}

/// Whether `rule` covers the request; `exact` is `matchPolicy: Exact` (the version must
/// be listed; with `Equivalent` the sandbox's one served version of a group-resource is
/// the equivalent of any other).
pub fn rule_matches(rule: &NamedRuleWithOperations, request: &AdmissionRequest<'_>, exact: bool) -> bool {
    let kind = request.kind;
    let operation_ok = listed(rule.operations.as_ref(), request.operation.as_str());
    let group_ok = listed(rule.api_groups.as_ref(), &kind.group);
    let version_ok = !exact || listed(rule.api_versions.as_ref(), &kind.version);
    let resource_ok =
        rule.resources.iter().flatten().any(|entry| names_resource(entry, &kind.resource, request.subresource));
    let names_ok = match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => names.iter().any(|n| n == request.name),
    };
    let scope_ok = match rule.scope.as_deref() {
        None | Some("*") => true,
        Some("Cluster") => !kind.namespaced(),
        Some("Namespaced") => kind.namespaced(),
        Some(_) => false,
    };
    operation_ok && group_ok && version_ok && resource_ok && names_ok && scope_ok
}

/// Whether `resources` covers the request. `namespace` is the Namespace object the
/// request is in (for a Namespace, the Namespace itself), if any.
pub fn matches(resources: &MatchResources, request: &AdmissionRequest<'_>, namespace: Option<&Value>) -> bool {
    let exact = resources.match_policy.as_deref() == Some("Exact");
    let included = resources.resource_rules.iter().flatten().any(|r| rule_matches(r, request, exact));
    let excluded = resources.exclude_resource_rules.iter().flatten().any(|r| rule_matches(r, request, exact));
    if !included || excluded {
        return false;
    }
    let namespace_ok = match namespace {
        Some(ns) => selects(resources.namespace_selector.as_ref(), meta::labels(ns)),
        None => true,
    };
    let object_ok = [request.object, request.old_object]
        .into_iter()
        .flatten()
        .any(|o| selects(resources.object_selector.as_ref(), meta::labels(o)));
    namespace_ok && object_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserInfo;
    use crate::resources::builtin_kinds;
    use crate::store::Operation;
    use serde_json::json;

    fn rule(value: Value) -> NamedRuleWithOperations {
        serde_json::from_value(value).expect("a rule")
    }

    #[test]
    fn rules_name_operations_resources_subresources_and_scope() {
        let kinds = builtin_kinds();
        let deployments = kinds.iter().find(|k| k.resource == "deployments").expect("deployments");
        let user = UserInfo::user("u", &[]);
        let object = json!({"metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}}});
        let request = AdmissionRequest {
            operation: Operation::Update,
            kind: deployments,
            subresource: Some("status"),
            namespace: Some("a"),
            name: "web",
            object: Some(&object),
            old_object: Some(&object),
            user: &user,
            dry_run: false,
        };
        let status = json!({"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["deployments/status"]});
        assert!(rule_matches(&rule(status), &request, true));
        let main = json!({"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["deployments"]});
        assert!(!rule_matches(&rule(main), &request, true));
        let any_status =
            json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/status"]});
        assert!(rule_matches(&rule(any_status), &request, true));
        let create_only =
            json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*/*"]});
        assert!(!rule_matches(&rule(create_only), &request, true));
        let cluster = json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"], "scope": "Cluster"});
        assert!(!rule_matches(&rule(cluster), &request, true));
        let other_version =
            json!({"apiGroups": ["apps"], "apiVersions": ["v1beta1"], "operations": ["*"], "resources": ["*/*"]});
        assert!(!rule_matches(&rule(other_version.clone()), &request, true));
        assert!(rule_matches(&rule(other_version), &request, false));

        let resources: MatchResources = serde_json::from_value(json!({
            "resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"]}],
            "objectSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}
        }))
        .expect("match resources");
        assert!(matches(&resources, &request, Some(&json!({"metadata": {"labels": {"team": "a"}}}))));
        assert!(!matches(&resources, &request, Some(&json!({"metadata": {"labels": {"team": "b"}}}))));
    }
}
