//! Whether a binding's subject names the requesting user.

use k8s_openapi::api::rbac::v1::Subject;

use crate::auth::identity::UserInfo;

/// Whether `subject` of a binding in `binding_namespace` (empty for a
/// ClusterRoleBinding) is `user`.
pub fn matches(subject: &Subject, user: &UserInfo, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == user.name,
        "Group" => user.in_group(&subject.name),
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(binding_namespace);
            user.as_service_account() == Some((namespace, subject.name.as_str()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Subject {
        Subject { kind: kind.into(), name: name.into(), namespace: namespace.map(Into::into), api_group: None }
    }

    #[test]
    fn users_groups_and_service_accounts() {
        let alice = UserInfo::user("alice", &["dev"]);
        assert!(matches(&subject("User", "alice", None), &alice, ""));
        assert!(matches(&subject("Group", "dev", None), &alice, ""));
        assert!(matches(&subject("Group", "system:authenticated", None), &alice, ""));
        assert!(!matches(&subject("User", "bob", None), &alice, ""));
        let sa = UserInfo::service_account("a", "builder");
        assert!(matches(&subject("ServiceAccount", "builder", Some("a")), &sa, "b"));
        assert!(matches(&subject("ServiceAccount", "builder", None), &sa, "a"), "defaults to the binding's namespace");
        assert!(!matches(&subject("ServiceAccount", "builder", Some("b")), &sa, "b"));
        assert!(matches(&subject("Group", "system:serviceaccounts:a", None), &sa, ""));
    }
}
