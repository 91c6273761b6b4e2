//! Aggregated ClusterRoles: a ClusterRole with an `aggregationRule` holds the rules of
//! every ClusterRole whose labels match one of its selectors.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaSelector;
use serde_json::{Map, Value};

use crate::store::LabelSelector;

/// The selector in the text form the store parses (`a=b,c in (d),!e`); `None` when it
/// does not parse, which selects nothing.
fn to_selector(selector: &MetaSelector) -> Option<LabelSelector> {
    let mut parts: Vec<String> =
        selector.match_labels.iter().flatten().map(|(key, value)| format!("{key}={value}")).collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.clone().unwrap_or_default().join(",");
        parts.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            _ => return None,
        });
    }
    LabelSelector::parse(&parts.join(",")).ok()
}

fn labels_of(role: &ClusterRole) -> Map<String, Value> {
    role.metadata.labels.iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
}

/// The rules `role` grants: its own, plus, when it aggregates, those of every other
/// ClusterRole in `all` that one of its selectors matches, themselves aggregated (`admin`
/// gathers `edit`, which gathers `view`), as kube-controller-manager's aggregation
/// controller fills them in. An empty selector matches nothing, as there.
pub fn effective_rules<'a>(role: &'a ClusterRole, all: &'a [ClusterRole]) -> Vec<&'a PolicyRule> {
    let mut rules = Vec::new();
    let mut visited: Vec<&str> = Vec::new();
    gather(role, all, &mut visited, &mut rules);
    rules
}

fn gather<'a>(
    role: &'a ClusterRole,
    all: &'a [ClusterRole],
    visited: &mut Vec<&'a str>,
    rules: &mut Vec<&'a PolicyRule>,
) {
    let name = role.metadata.name.as_deref().unwrap_or_default();
    if visited.contains(&name) {
        return;
    }
    visited.push(name);
    rules.extend(role.rules.iter().flatten());
    let Some(aggregation) = &role.aggregation_rule else { return };
    let selectors: Vec<LabelSelector> = aggregation
        .cluster_role_selectors
        .iter()
        .flatten()
        .filter(|s| s.match_labels.as_ref().is_some_and(|m| !m.is_empty()) || s.match_expressions.is_some())
        .filter_map(to_selector)
        .collect();
    for other in all.iter().filter(|o| o.metadata.name != role.metadata.name) {
        let labels = labels_of(other);
        if selectors.iter().any(|s| s.matches(Some(&labels))) {
            gather(other, all, visited, rules);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(yaml: &str) -> ClusterRole {
        serde_yaml::from_str(yaml).expect("cluster role")
    }

    #[test]
    fn an_aggregated_role_gathers_the_rules_of_matching_roles() {
        let all = vec![
            role(
                "{metadata: {name: monitoring}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.example.dev/aggregate-to-monitoring: 'true'}}]}}",
            ),
            role(
                "{metadata: {name: pods, labels: {rbac.example.dev/aggregate-to-monitoring: 'true'}}, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}",
            ),
            role("{metadata: {name: secrets}, rules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]}"),
        ];
        let rules = effective_rules(&all[0], &all);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].resources.as_deref(), Some(&["pods".to_string()][..]));
    }

    #[test]
    fn aggregation_is_transitive_and_survives_cycles() {
        let all = vec![
            role(
                "{metadata: {name: admin}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-admin: 'true'}}]}}",
            ),
            role(
                "{metadata: {name: edit, labels: {to-admin: 'true'}}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-edit: 'true'}}]}}",
            ),
            role(
                "{metadata: {name: view, labels: {to-edit: 'true'}}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-view: 'true'}}]}}",
            ),
            role(
                "{metadata: {name: read, labels: {to-view: 'true', to-admin: 'true'}}, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}",
            ),
            role(
                "{metadata: {name: loop, labels: {to-edit: 'true'}}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-admin: 'true'}}]}}",
            ),
        ];
        assert_eq!(effective_rules(&all[0], &all).len(), 1, "read is reached twice but counted once");
        assert_eq!(effective_rules(&all[2], &all).len(), 1);
        assert_eq!(effective_rules(&all[4], &all).len(), 1);
    }
}
