//! Who a binding's subjects are, and which subjects stand for a ServiceAccount.

use k8s_openapi::api::rbac::v1::Subject;
use serde::Serialize;

/// The group of every ServiceAccount.
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// The group of every authenticated caller, ServiceAccounts included.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";

/// A subject privileges are granted to.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SubjectKey {
    ServiceAccount { namespace: String, name: String },
    User { name: String },
    Group { name: String },
}

impl SubjectKey {
    /// Reads a binding subject; `default_namespace` is the RoleBinding's namespace, which
    /// a ServiceAccount subject without one lives in. A `User` named
    /// `system:serviceaccount:NS:NAME` is that ServiceAccount. `None` for an unknown kind
    /// or a ServiceAccount without a namespace.
    pub fn from_subject(subject: &Subject, default_namespace: Option<&str>) -> Option<Self> {
        match subject.kind.as_str() {
            "ServiceAccount" => {
                let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).or(default_namespace)?;
                Some(Self::ServiceAccount { namespace: namespace.to_string(), name: subject.name.clone() })
            }
            "User" => {
                match subject.name.strip_prefix(SERVICE_ACCOUNT_USER_PREFIX).and_then(|rest| rest.split_once(':')) {
                    Some((namespace, name)) => {
                        Some(Self::ServiceAccount { namespace: namespace.to_string(), name: name.to_string() })
                    }
                    None => Some(Self::User { name: subject.name.clone() }),
                }
            }
            "Group" => Some(Self::Group { name: subject.name.clone() }),
            _ => None,
        }
    }

    /// The groups a ServiceAccount of `namespace` belongs to.
    pub fn service_account_groups(namespace: &str) -> [SubjectKey; 3] {
        [
            Self::Group { name: ALL_SERVICE_ACCOUNTS_GROUP.to_string() },
            Self::Group { name: format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{namespace}") },
            Self::Group { name: AUTHENTICATED_GROUP.to_string() },
        ]
    }

    /// Whether this is a User or a Group (a person, or people).
    pub fn is_human(&self) -> bool {
        !matches!(self, Self::ServiceAccount { .. })
    }
}

impl std::fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServiceAccount { namespace, name } => write!(f, "ServiceAccount {namespace}/{name}"),
            Self::User { name } => write!(f, "User {name}"),
            Self::Group { name } => write!(f, "Group {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(yaml: &str) -> Subject {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn service_account_subjects_default_to_the_binding_namespace() {
        assert_eq!(
            SubjectKey::from_subject(&subject("{kind: ServiceAccount, name: ci}"), Some("build")),
            Some(SubjectKey::ServiceAccount { namespace: "build".into(), name: "ci".into() })
        );
        assert_eq!(SubjectKey::from_subject(&subject("{kind: ServiceAccount, name: ci}"), None), None);
    }

    #[test]
    fn a_service_account_user_name_is_that_account() {
        let key = SubjectKey::from_subject(&subject("{kind: User, name: 'system:serviceaccount:shop:api'}"), None);
        assert_eq!(key, Some(SubjectKey::ServiceAccount { namespace: "shop".into(), name: "api".into() }));
        let key = SubjectKey::from_subject(&subject("{kind: User, name: alice@example.com}"), None).unwrap();
        assert!(key.is_human());
    }
}
