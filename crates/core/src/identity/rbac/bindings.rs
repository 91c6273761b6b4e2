//! Bindings resolved into grants: for each subject, every reported privilege with the role,
//! rule and binding that give it; and the bindings whose role does not exist.

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use serde::Serialize;

use super::aggregation::effective_cluster_roles;
use super::rules::{describe, privileges_of};
use super::subjects::SubjectKey;
use crate::identity::privileges::{BindingName, Grant, GrantScope, Privilege, RoleName};
use crate::identity::snapshot::Snapshot;

/// A binding whose role does not exist. It grants nothing now, and grants whatever the role
/// holds as soon as someone creates a role of that name.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct DanglingBinding {
    pub binding: BindingName,
    pub role: RoleName,
    /// The binding's subjects, as `Kind name`.
    pub subjects: Vec<String>,
}

/// The privileges one rule gives, before a binding scopes them.
#[derive(Clone, Debug)]
struct RuleGrant {
    privilege: Privilege,
    rule: String,
    resource_names: Vec<String>,
}

/// The RBAC objects of a snapshot, resolved.
#[derive(Debug, Default)]
pub struct RbacIndex {
    /// The effective rules of each ClusterRole (aggregation resolved).
    pub cluster_roles: HashMap<String, Vec<PolicyRule>>,
    /// The rules of each Role, by namespace and name.
    pub roles: HashMap<(String, String), Vec<PolicyRule>>,
    /// The grants of each subject named in a binding, sorted.
    pub grants: HashMap<SubjectKey, Vec<Grant>>,
    /// Bindings to roles that do not exist, sorted.
    pub dangling: Vec<DanglingBinding>,
}

impl RbacIndex {
    /// Resolves the roles and bindings of `snapshot`.
    pub fn build(snapshot: &Snapshot) -> Self {
        let mut index = Self {
            cluster_roles: effective_cluster_roles(&snapshot.cluster_roles),
            roles: snapshot
                .roles
                .iter()
                .map(|role| {
                    let meta = &role.metadata;
                    (
                        (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default()),
                        role.rules.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            ..Self::default()
        };
        let mut cache: HashMap<RoleName, Option<Vec<RuleGrant>>> = HashMap::new();
        for binding in &snapshot.cluster_role_bindings {
            let name = BindingName {
                kind: "ClusterRoleBinding".into(),
                namespace: None,
                name: binding.metadata.name.clone().unwrap_or_default(),
            };
            index.add_binding(
                &mut cache,
                name,
                None,
                &binding.role_ref,
                binding.subjects.as_deref().unwrap_or_default(),
            );
        }
        for binding in &snapshot.role_bindings {
            let namespace = binding.metadata.namespace.clone().unwrap_or_default();
            let name = BindingName {
                kind: "RoleBinding".into(),
                namespace: Some(namespace.clone()),
                name: binding.metadata.name.clone().unwrap_or_default(),
            };
            index.add_binding(
                &mut cache,
                name,
                Some(&namespace),
                &binding.role_ref,
                binding.subjects.as_deref().unwrap_or_default(),
            );
        }
        for grants in index.grants.values_mut() {
            grants.sort();
            grants.dedup();
        }
        index.dangling.sort();
        index
    }

    /// The rules of the role a binding in `namespace` (`None` for a ClusterRoleBinding)
    /// refers to, or `None` when it does not exist.
    pub fn role_rules(&self, role: &RoleName) -> Option<&[PolicyRule]> {
        match &role.namespace {
            Some(ns) => self.roles.get(&(ns.clone(), role.name.clone())).map(Vec::as_slice),
            None => self.cluster_roles.get(&role.name).map(Vec::as_slice),
        }
    }

    /// Every grant that reaches the ServiceAccount `namespace/name`: bound to it by name,
    /// or to one of its groups (`system:serviceaccounts`, `system:serviceaccounts:NS`,
    /// `system:authenticated`). Sorted.
    pub fn service_account_grants(&self, namespace: &str, name: &str) -> Vec<Grant> {
        let own = SubjectKey::ServiceAccount { namespace: namespace.to_string(), name: name.to_string() };
        let mut out: Vec<Grant> = std::iter::once(own)
            .chain(SubjectKey::service_account_groups(namespace))
            .filter_map(|key| self.grants.get(&key))
            .flatten()
            .cloned()
            .collect();
        out.sort();
        out
    }

    fn add_binding(
        &mut self,
        cache: &mut HashMap<RoleName, Option<Vec<RuleGrant>>>,
        binding: BindingName,
        namespace: Option<&str>,
        role_ref: &RoleRef,
        subjects: &[Subject],
    ) {
        let role = RoleName {
            kind: role_ref.kind.clone(),
            namespace: (role_ref.kind == "Role").then(|| namespace.unwrap_or_default().to_string()),
            name: role_ref.name.clone(),
        };
        let rule_grants = cache.entry(role.clone()).or_insert_with(|| {
            self.role_rules(&role).map(|rules| {
                rules
                    .iter()
                    .flat_map(|rule| {
                        let text = describe(rule);
                        let names = rule.resource_names.clone().unwrap_or_default();
                        privileges_of(rule).into_iter().map(move |privilege| RuleGrant {
                            privilege,
                            rule: text.clone(),
                            resource_names: names.clone(),
                        })
                    })
                    .collect()
            })
        });
        let keys: Vec<(SubjectKey, String)> = subjects
            .iter()
            .filter_map(|s| SubjectKey::from_subject(s, namespace))
            .map(|key| {
                let via = key.to_string();
                (key, via)
            })
            .collect();
        let Some(rule_grants) = rule_grants else {
            self.dangling.push(DanglingBinding {
                binding,
                role,
                subjects: keys.into_iter().map(|(_, via)| via).collect(),
            });
            return;
        };
        let scope = match namespace {
            Some(ns) => GrantScope::Namespace(ns.to_string()),
            None => GrantScope::Cluster,
        };
        for (key, via) in keys {
            let grants = self.grants.entry(key).or_default();
            for rule_grant in rule_grants.iter() {
                let privilege = match (rule_grant.privilege, &scope) {
                    (Privilege::ClusterAdmin, GrantScope::Namespace(_)) => Privilege::NamespaceAdmin,
                    (privilege, _) => privilege,
                };
                grants.push(Grant {
                    privilege,
                    scope: scope.clone(),
                    role: role.clone(),
                    binding: binding.clone(),
                    via: via.clone(),
                    rule: rule_grant.rule.clone(),
                    resource_names: rule_grant.resource_names.clone(),
                });
            }
        }
    }
}
