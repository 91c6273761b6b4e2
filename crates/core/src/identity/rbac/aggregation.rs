//! The effective rules of ClusterRoles, with aggregation: a ClusterRole with an
//! `aggregationRule` holds the rules of every other ClusterRole its label selectors match,
//! transitively, as the API server's aggregation controller keeps it. An empty selector
//! selects every ClusterRole, as Kubernetes reads it.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};

use crate::engine::selector::selector_matches;

/// The effective rules of every ClusterRole, by name: its own rules plus, when it
/// aggregates, the rules of the ClusterRoles its selectors match (an invalid selector
/// matches nothing). Cycles are cut: a role is never added to itself.
pub fn effective_cluster_roles(roles: &[ClusterRole]) -> HashMap<String, Vec<PolicyRule>> {
    let by_name: BTreeMap<&str, &ClusterRole> =
        roles.iter().filter_map(|role| role.metadata.name.as_deref().map(|name| (name, role))).collect();
    let mut out = HashMap::with_capacity(by_name.len());
    for name in by_name.keys() {
        let mut rules = Vec::new();
        let mut seen = vec![*name];
        collect(name, &by_name, &mut seen, &mut rules);
        out.insert((*name).to_string(), rules);
    }
    out
}

fn collect<'a>(
    name: &'a str,
    by_name: &BTreeMap<&'a str, &'a ClusterRole>,
    seen: &mut Vec<&'a str>,
    rules: &mut Vec<PolicyRule>,
) {
    let role = by_name[name];
    for rule in role.rules.iter().flatten() {
        if !rules.contains(rule) {
            rules.push(rule.clone());
        }
    }
    let Some(selectors) = role.aggregation_rule.as_ref().and_then(|a| a.cluster_role_selectors.as_ref()) else {
        return;
    };
    for (other, candidate) in by_name {
        if seen.contains(other) {
            continue;
        }
        let labels: BTreeMap<&str, &str> =
            candidate.metadata.labels.iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let selected = selectors.iter().any(|selector| selector_matches(selector, &labels).unwrap_or(false));
        if selected {
            seen.push(other);
            collect(other, by_name, seen, rules);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(yaml: &str) -> Vec<ClusterRole> {
        serde_yaml::Deserializer::from_str(yaml).map(|doc| ClusterRole::deserialize(doc).unwrap()).collect()
    }

    use serde::Deserialize;

    const FIXTURE: &str = r#"
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
rules: []
---
metadata: {name: read-secrets, labels: {rbac.example.com/aggregate-to-monitoring: "true"}}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
metadata: {name: nested, labels: {rbac.example.com/aggregate-to-monitoring: "true"}}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-nested: "true"}
---
metadata: {name: exec, labels: {rbac.example.com/aggregate-to-nested: "true"}}
rules:
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
metadata: {name: unrelated, labels: {team: x}}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get]}
---
metadata: {name: everything-empty-selector}
aggregationRule:
  clusterRoleSelectors: [{}]
"#;

    #[test]
    fn aggregation_is_transitive_and_selective() {
        let effective = effective_cluster_roles(&roles(FIXTURE));
        let monitoring: Vec<String> =
            effective["monitoring"].iter().flat_map(|r| r.resources.clone().unwrap_or_default()).collect();
        assert_eq!(monitoring, ["pods/exec", "secrets"]);
        assert_eq!(effective["exec"].len(), 1);
        assert_eq!(effective["everything-empty-selector"].len(), 3, "an empty selector, as in Kubernetes, selects all");
    }

    #[test]
    fn cycles_terminate() {
        let effective = effective_cluster_roles(&roles(
            r#"
metadata: {name: a, labels: {x: "1"}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {y: "1"}}]}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
metadata: {name: b, labels: {y: "1"}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: "1"}}]}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
"#,
        ));
        assert_eq!(effective["a"].len(), 2);
        assert_eq!(effective["b"].len(), 2);
    }
}
