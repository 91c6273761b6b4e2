//! Users and ServiceAccounts as the authorizer sees them: a name, groups, and the uid and
//! extra attributes an authenticator or an impersonating request may add.

use std::collections::BTreeMap;

/// The group every authenticated identity belongs to.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group of every ServiceAccount.
pub const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// The group whose members bypass authorization, as in kube-apiserver.
pub const MASTERS_GROUP: &str = "system:masters";

/// The user a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`alice`, `system:serviceaccount:ns:name`).
    pub name: String,
    /// The groups, `system:authenticated` included.
    pub groups: Vec<String>,
    /// The uid, when the authenticator (or `Impersonate-Uid`) gives one.
    pub uid: Option<String>,
    /// Extra attributes (`Impersonate-Extra-*`), by key.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with the given groups, plus `system:authenticated`.
    pub fn user(name: impl Into<String>, groups: &[&str]) -> Self {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_string());
        }
        UserInfo { name: name.into(), groups, uid: None, extra: BTreeMap::new() }
    }

    /// The user of ServiceAccount `name` in `namespace`:
    /// `system:serviceaccount:<ns>:<name>`, in groups `system:serviceaccounts`,
    /// `system:serviceaccounts:<ns>` and `system:authenticated`.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                SERVICE_ACCOUNTS_GROUP.to_string(),
                format!("{SERVICE_ACCOUNTS_GROUP}:{namespace}"),
                AUTHENTICATED_GROUP.to_string(),
            ],
            uid: None,
            extra: BTreeMap::new(),
        }
    }

    /// The namespace and name, when this is a ServiceAccount's user.
    pub fn as_service_account(&self) -> Option<(&str, &str)> {
        let rest = self.name.strip_prefix("system:serviceaccount:")?;
        rest.split_once(':')
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// A registered identity: who it is and the bearer token that proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user requests with the token run as.
    pub user: UserInfo,
    /// The bearer token.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_users_follow_the_kubernetes_naming() {
        let sa = UserInfo::service_account("team-a", "builder");
        assert_eq!(sa.name, "system:serviceaccount:team-a:builder");
        assert_eq!(sa.groups, vec!["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"]);
        assert_eq!(sa.as_service_account(), Some(("team-a", "builder")));
        assert_eq!(UserInfo::user("alice", &["dev"]).groups, vec!["dev", "system:authenticated"]);
    }
}
