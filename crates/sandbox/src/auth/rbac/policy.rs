//! The RBAC decision over a snapshot of the Roles, ClusterRoles and bindings.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef};

use super::aggregation::effective_rules;
use super::{rules, subjects};
use crate::auth::attributes::RequestAttributes;
use crate::auth::identity::UserInfo;

/// Every RBAC object in the cluster, typed.
#[derive(Debug, Clone, Default)]
pub struct RbacPolicy {
    /// Roles, in every namespace.
    pub roles: Vec<Role>,
    /// ClusterRoles.
    pub cluster_roles: Vec<ClusterRole>,
    /// RoleBindings, in every namespace.
    pub role_bindings: Vec<RoleBinding>,
    /// ClusterRoleBindings.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

impl RbacPolicy {
    fn cluster_role_rules(&self, name: &str) -> Vec<&PolicyRule> {
        self.cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
            .map(|r| effective_rules(r, &self.cluster_roles))
            .unwrap_or_default()
    }

    /// The rules a RoleBinding's roleRef grants; a Role is looked up in the binding's
    /// namespace.
    fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Vec<&PolicyRule> {
        match role_ref.kind.as_str() {
            "ClusterRole" => self.cluster_role_rules(&role_ref.name),
            "Role" => self
                .roles
                .iter()
                .find(|r| {
                    r.metadata.name.as_deref() == Some(role_ref.name.as_str())
                        && r.metadata.namespace.as_deref() == Some(namespace)
                })
                .map(|r| r.rules.iter().flatten().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Whether some binding of `user` grants a rule that allows the request. RoleBindings
    /// only count for requests in their own namespace; non-resource paths only through
    /// ClusterRoleBindings.
    pub fn allows(&self, user: &UserInfo, attrs: &RequestAttributes) -> bool {
        let cluster_wide = self.cluster_role_bindings.iter().any(|binding| {
            binding.subjects.iter().flatten().any(|s| subjects::matches(s, user, ""))
                && binding.role_ref.kind == "ClusterRole"
                && self.cluster_role_rules(&binding.role_ref.name).into_iter().any(|r| rules::allows(r, attrs))
        });
        if cluster_wide || !attrs.resource_request || attrs.namespace.is_empty() {
            return cluster_wide;
        }
        self.role_bindings.iter().any(|binding| {
            let namespace = binding.metadata.namespace.as_deref().unwrap_or_default();
            namespace == attrs.namespace
                && binding.subjects.iter().flatten().any(|s| subjects::matches(s, user, namespace))
                && self.role_ref_rules(&binding.role_ref, namespace).into_iter().any(|r| rules::allows(r, attrs))
        })
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn policy() -> RbacPolicy {
        RbacPolicy {
            roles: vec![
                serde_yaml::from_str(
                    "{metadata: {name: cm-reader, namespace: a}, rules: [{apiGroups: [''], resources: [configmaps], verbs: [get, list]}]}",
                )
                .expect("role"),
            ],
            cluster_roles: vec![
                serde_yaml::from_str(
                    "{metadata: {name: deploy-editor}, rules: [{apiGroups: [apps], resources: [deployments], verbs: ['*']}]}",
                )
                .expect("cluster role"),
            ],
            role_bindings: vec![
                serde_yaml::from_str(
                    "{metadata: {name: r, namespace: a}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}, subjects: [{kind: User, name: alice}]}",
                )
                .expect("binding"),
                serde_yaml::from_str(
                    "{metadata: {name: d, namespace: b}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deploy-editor}, subjects: [{kind: User, name: alice}]}",
                )
                .expect("binding"),
            ],
            cluster_role_bindings: Vec::new(),
        }
    }

    fn can(method: Method, path: &str) -> bool {
        policy().allows(&UserInfo::user("alice", &[]), &RequestAttributes::new(&method, path, false))
    }

    #[test]
    fn role_bindings_grant_only_in_their_namespace() {
        assert!(can(Method::GET, "/api/v1/namespaces/a/configmaps"));
        assert!(!can(Method::GET, "/api/v1/namespaces/b/configmaps"));
        assert!(!can(Method::GET, "/api/v1/configmaps"), "not across all namespaces");
        assert!(can(Method::DELETE, "/apis/apps/v1/namespaces/b/deployments/web"));
        assert!(!can(Method::DELETE, "/apis/apps/v1/namespaces/a/deployments/web"));
    }
}
