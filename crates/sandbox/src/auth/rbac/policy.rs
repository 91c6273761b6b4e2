//! The RBAC decision over a snapshot of the Roles, ClusterRoles and bindings.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};

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
        self.allowed_by(user, attrs).is_some()
    }

    /// Why the request is allowed, worded as kube-apiserver's RBAC authorizer words it
    /// (`RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "alice"`), or
    /// `None` when no binding allows it. ClusterRoleBindings are looked at first, then the
    /// RoleBindings of the request's namespace, as there.
    pub fn allowed_by(&self, user: &UserInfo, attrs: &RequestAttributes) -> Option<String> {
        for binding in &self.cluster_role_bindings {
            let Some(subject) = binding.subjects.iter().flatten().find(|s| subjects::matches(s, user, "")) else {
                continue;
            };
            if binding.role_ref.kind == "ClusterRole"
                && self.cluster_role_rules(&binding.role_ref.name).into_iter().any(|r| rules::allows(r, attrs))
            {
                let name = binding.metadata.name.as_deref().unwrap_or_default();
                return Some(format!(
                    "RBAC: allowed by ClusterRoleBinding \"{name}\" of ClusterRole \"{}\" to {}",
                    binding.role_ref.name,
                    describe_subject(subject, "")
                ));
            }
        }
        if !attrs.resource_request || attrs.namespace.is_empty() {
            return None;
        }
        for binding in self.role_bindings_in(&attrs.namespace) {
            let namespace = attrs.namespace.as_str();
            let Some(subject) = binding.subjects.iter().flatten().find(|s| subjects::matches(s, user, namespace))
            else {
                continue;
            };
            if self.role_ref_rules(&binding.role_ref, namespace).into_iter().any(|r| rules::allows(r, attrs)) {
                let name = binding.metadata.name.as_deref().unwrap_or_default();
                return Some(format!(
                    "RBAC: allowed by RoleBinding \"{name}/{namespace}\" of {} \"{}\" to {}",
                    binding.role_ref.kind,
                    binding.role_ref.name,
                    describe_subject(subject, namespace)
                ));
            }
        }
        None
    }

    fn role_bindings_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a RoleBinding> + 'a {
        self.role_bindings.iter().filter(move |b| b.metadata.namespace.as_deref() == Some(namespace))
    }

    /// Every rule `user` holds in `namespace` (cluster-wide ones included; only those when
    /// `namespace` is empty), as a SelfSubjectRulesReview lists them.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        let mut out: Vec<PolicyRule> = Vec::new();
        for binding in &self.cluster_role_bindings {
            if binding.role_ref.kind == "ClusterRole"
                && binding.subjects.iter().flatten().any(|s| subjects::matches(s, user, ""))
            {
                out.extend(self.cluster_role_rules(&binding.role_ref.name).into_iter().cloned());
            }
        }
        if !namespace.is_empty() {
            for binding in self.role_bindings_in(namespace) {
                if binding.subjects.iter().flatten().any(|s| subjects::matches(s, user, namespace)) {
                    out.extend(self.role_ref_rules(&binding.role_ref, namespace).into_iter().cloned());
                }
            }
        }
        out
    }
}

/// A binding's subject as RBAC's reasons name it: `User "alice"`, `Group "dev"`,
/// `ServiceAccount "name/namespace"`.
fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(binding_namespace);
            format!("ServiceAccount \"{}/{namespace}\"", subject.name)
        }
        kind => format!("{kind} \"{}\"", subject.name),
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

    #[test]
    fn reasons_name_the_binding_the_role_and_the_subject() {
        let alice = UserInfo::user("alice", &[]);
        let get = RequestAttributes::new(&Method::GET, "/api/v1/namespaces/a/configmaps/x", false);
        assert_eq!(
            policy().allowed_by(&alice, &get).as_deref(),
            Some("RBAC: allowed by RoleBinding \"r/a\" of Role \"cm-reader\" to User \"alice\"")
        );
        let mut with_cluster = policy();
        with_cluster.cluster_role_bindings.push(
            serde_yaml::from_str(
                "{metadata: {name: everyone}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deploy-editor}, subjects: [{kind: Group, name: 'system:authenticated'}]}",
            )
            .expect("binding"),
        );
        let patch = RequestAttributes::new(&Method::PATCH, "/apis/apps/v1/namespaces/z/deployments/web", false);
        assert_eq!(
            with_cluster.allowed_by(&alice, &patch).as_deref(),
            Some(
                "RBAC: allowed by ClusterRoleBinding \"everyone\" of ClusterRole \"deploy-editor\" to Group \"system:authenticated\""
            )
        );
        assert_eq!(policy().allowed_by(&alice, &patch), None);
    }

    #[test]
    fn rules_for_a_namespace_include_cluster_wide_ones() {
        let alice = UserInfo::user("alice", &[]);
        assert_eq!(policy().rules_for(&alice, "a").len(), 1);
        assert_eq!(policy().rules_for(&alice, "b").len(), 1);
        assert!(policy().rules_for(&alice, "c").is_empty());
        assert!(policy().rules_for(&UserInfo::user("bob", &[]), "a").is_empty());
    }
}
