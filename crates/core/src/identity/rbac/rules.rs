//! Which privileges one PolicyRule gives, with RBAC's wildcards.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::identity::privileges::Privilege;

const ALL: &str = "*";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item == ALL || item == wanted)
}

fn has_resource(rule: &PolicyRule, resource: &str) -> bool {
    let subresource = resource.split_once('/').map(|(_, sub)| sub);
    rule.resources
        .iter()
        .flatten()
        .any(|r| r == ALL || r == resource || subresource.is_some_and(|sub| r.strip_prefix("*/") == Some(sub)))
}

/// Whether `rule` allows `verb` on `resource` (with its subresource, as `pods/exec`) of
/// `group`, ignoring `resourceNames`.
pub fn allows(rule: &PolicyRule, group: &str, resource: &str, verb: &str) -> bool {
    has(&rule.verbs, verb) && has(rule.api_groups.as_deref().unwrap_or_default(), group) && has_resource(rule, resource)
}

fn allows_any(rule: &PolicyRule, targets: &[(&str, &str)], verbs: &[&str]) -> bool {
    targets.iter().any(|(group, resource)| verbs.iter().any(|verb| allows(rule, group, resource, verb)))
}

/// Whether `rule` is `*` verbs on `*` resources of `*` API groups, for every name.
pub fn is_full_wildcard(rule: &PolicyRule) -> bool {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    rule.verbs.iter().any(|v| v == ALL)
        && groups.iter().any(|g| g == ALL)
        && resources.iter().any(|r| r == ALL)
        && rule.resource_names.as_deref().unwrap_or_default().is_empty()
}

/// The privileges `rule` gives, before the binding decides their scope. A full wildcard
/// rule is reported as [`Privilege::ClusterAdmin`] here; a RoleBinding turns it into
/// [`Privilege::NamespaceAdmin`]. Rules on `nonResourceURLs` only give none of these.
pub fn privileges_of(rule: &PolicyRule) -> Vec<Privilege> {
    let mut out = Vec::new();
    if rule.resources.as_deref().unwrap_or_default().is_empty() {
        return out;
    }
    if is_full_wildcard(rule) {
        out.push(Privilege::ClusterAdmin);
    }
    let roles = [(RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles")];
    if allows_any(rule, &roles, &["bind"]) {
        out.push(Privilege::Bind);
    }
    if allows_any(rule, &roles, &["escalate"]) {
        out.push(Privilege::Escalate);
    }
    let identities = [("", "users"), ("", "groups"), ("", "serviceaccounts"), ("authentication.k8s.io", "userextras")];
    if allows_any(rule, &identities, &["impersonate"]) {
        out.push(Privilege::Impersonate);
    }
    if allows_any(rule, &[("", "serviceaccounts/token")], &["create"]) {
        out.push(Privilege::TokenCreate);
    }
    if allows_any(rule, &[("", "secrets")], &["get", "list", "watch"]) {
        out.push(Privilege::ReadSecrets);
    }
    if allows_any(rule, &[("", "pods/exec"), ("", "pods/attach")], &["create", "get"]) {
        out.push(Privilege::PodExec);
    }
    let workloads = [
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    ];
    if allows_any(rule, &workloads, &["create"]) {
        out.push(Privilege::WorkloadCreate);
    }
    if allows_any(rule, &workloads, &["patch", "update"]) {
        out.push(Privilege::WorkloadModify);
    }
    if rule.verbs.iter().any(|v| v == ALL) {
        out.push(Privilege::WildcardVerbs);
    }
    if rule.resources.iter().flatten().any(|r| r == ALL) {
        out.push(Privilege::WildcardResources);
    }
    if rule.api_groups.iter().flatten().any(|g| g == ALL) {
        out.push(Privilege::WildcardApiGroups);
    }
    out
}

/// A rule as people read it: `get,list on secrets (core)`.
pub fn describe(rule: &PolicyRule) -> String {
    let groups: Vec<&str> =
        rule.api_groups.iter().flatten().map(|g| if g.is_empty() { "core" } else { g.as_str() }).collect();
    format!(
        "{} on {} ({})",
        rule.verbs.join(","),
        rule.resources.as_deref().unwrap_or_default().join(","),
        groups.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> PolicyRule {
        serde_yaml::from_str(yaml).expect("rule")
    }

    #[test]
    fn a_full_wildcard_gives_everything() {
        let found = privileges_of(&rule("{apiGroups: ['*'], resources: ['*'], verbs: ['*']}"));
        for p in Privilege::ALL {
            assert_eq!(found.contains(&p), p != Privilege::NamespaceAdmin, "{p}");
        }
    }

    #[test]
    fn reading_secrets_needs_the_core_group_and_a_read_verb() {
        assert_eq!(
            privileges_of(&rule("{apiGroups: [''], resources: [secrets], verbs: [list]}")),
            [Privilege::ReadSecrets]
        );
        assert!(privileges_of(&rule("{apiGroups: [apps], resources: [secrets], verbs: [get]}")).is_empty());
        assert!(privileges_of(&rule("{apiGroups: [''], resources: [secrets], verbs: [create, delete]}")).is_empty());
        assert_eq!(
            privileges_of(&rule("{apiGroups: [''], resources: ['*'], verbs: [get]}")),
            [Privilege::ReadSecrets, Privilege::PodExec, Privilege::WildcardResources]
        );
    }

    #[test]
    fn exec_attach_and_subresource_wildcards() {
        assert_eq!(
            privileges_of(&rule("{apiGroups: [''], resources: [pods/exec], verbs: [create]}")),
            [Privilege::PodExec]
        );
        assert_eq!(
            privileges_of(&rule("{apiGroups: [''], resources: ['*/attach'], verbs: [get]}")),
            [Privilege::PodExec]
        );
        assert!(privileges_of(&rule("{apiGroups: [''], resources: [pods/log], verbs: [get]}")).is_empty());
    }

    #[test]
    fn escalation_verbs() {
        let found = privileges_of(&rule(
            "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind, escalate]}",
        ));
        assert_eq!(found, [Privilege::Bind, Privilege::Escalate]);
        let found = privileges_of(&rule("{apiGroups: [''], resources: [users, groups], verbs: [impersonate]}"));
        assert_eq!(found, [Privilege::Impersonate]);
    }

    #[test]
    fn workload_creation_and_modification() {
        let found = privileges_of(&rule("{apiGroups: [batch], resources: [cronjobs], verbs: [create]}"));
        assert_eq!(found, [Privilege::WorkloadCreate]);
        for verb in ["patch", "update"] {
            let found =
                privileges_of(&rule(&format!("{{apiGroups: [apps], resources: [deployments], verbs: [{verb}]}}")));
            assert_eq!(found, [Privilege::WorkloadModify], "{verb}");
        }
        let found = privileges_of(&rule("{apiGroups: [''], resources: [pods], verbs: [create, patch]}"));
        assert_eq!(found, [Privilege::WorkloadCreate, Privilege::WorkloadModify]);
        assert!(privileges_of(&rule("{apiGroups: [apps], resources: [deployments/scale], verbs: [patch]}")).is_empty());
        assert!(privileges_of(&rule("{apiGroups: [''], resources: [configmaps], verbs: [patch, update]}")).is_empty());
        assert!(privileges_of(&rule("{apiGroups: [apps], resources: [deployments], verbs: [get, list]}")).is_empty());
    }

    #[test]
    fn minting_tokens_for_other_accounts() {
        let found = privileges_of(&rule("{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}"));
        assert_eq!(found, [Privilege::TokenCreate]);
        let found = privileges_of(&rule("{apiGroups: [''], resources: ['*/token'], verbs: [create]}"));
        assert_eq!(found, [Privilege::TokenCreate], "a subresource wildcard");
        assert!(privileges_of(&rule("{apiGroups: [''], resources: [serviceaccounts/token], verbs: [get]}")).is_empty());
        assert!(privileges_of(&rule("{apiGroups: [''], resources: [serviceaccounts], verbs: [create]}")).is_empty());
        assert!(
            privileges_of(&rule(
                "{apiGroups: [authentication.k8s.io], resources: [serviceaccounts/token], verbs: [create]}"
            ))
            .is_empty(),
            "the core group only"
        );
    }

    #[test]
    fn non_resource_urls_give_none_of_these() {
        assert!(privileges_of(&rule("{nonResourceURLs: ['*'], verbs: ['*']}")).is_empty());
    }

    #[test]
    fn describe_names_the_core_group() {
        assert_eq!(
            describe(&rule("{apiGroups: [''], resources: [secrets], verbs: [get, list]}")),
            "get,list on secrets (core)"
        );
    }
}
