//! The privileges the inventory reports, and the grants that give them.

use serde::Serialize;

/// A privilege worth reporting. Each is found in the rules of a role, through a binding.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Privilege {
    /// Every verb on every resource of every API group, cluster-wide: bound to
    /// `cluster-admin` or an equivalent `*`/`*`/`*` rule through a ClusterRoleBinding.
    ClusterAdmin,
    /// The same `*`/`*`/`*` rule, granted in one namespace by a RoleBinding.
    NamespaceAdmin,
    /// `bind` on roles or clusterroles: may grant any role it is allowed to bind.
    Bind,
    /// `escalate` on roles or clusterroles: may write roles with more than it holds.
    Escalate,
    /// `impersonate` on users, groups, serviceaccounts or user extras: may act as others.
    Impersonate,
    /// `create` on `serviceaccounts/token`: may mint a token for any ServiceAccount it
    /// reaches, and so act as that account.
    TokenCreate,
    /// `get`, `list` or `watch` on Secrets.
    ReadSecrets,
    /// `create` or `get` on `pods/exec` or `pods/attach`: may run commands in pods.
    PodExec,
    /// `create` on pods or pod-owning workloads: may run a pod as any ServiceAccount of the
    /// namespace, and so hold that account's privileges.
    WorkloadCreate,
    /// `patch` or `update` on pods or pod-owning workloads: may point an existing workload
    /// at another ServiceAccount of the namespace, or change what it runs.
    WorkloadModify,
    /// A rule with `*` in `verbs`.
    WildcardVerbs,
    /// A rule with `*` in `resources`.
    WildcardResources,
    /// A rule with `*` in `apiGroups`.
    WildcardApiGroups,
}

impl Privilege {
    /// Every privilege, most dangerous first.
    pub const ALL: [Privilege; 13] = [
        Self::ClusterAdmin,
        Self::NamespaceAdmin,
        Self::Bind,
        Self::Escalate,
        Self::Impersonate,
        Self::TokenCreate,
        Self::ReadSecrets,
        Self::PodExec,
        Self::WorkloadCreate,
        Self::WorkloadModify,
        Self::WildcardVerbs,
        Self::WildcardResources,
        Self::WildcardApiGroups,
    ];

    /// The name used in output and in `--privilege`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterAdmin => "cluster-admin",
            Self::NamespaceAdmin => "namespace-admin",
            Self::Bind => "bind",
            Self::Escalate => "escalate",
            Self::Impersonate => "impersonate",
            Self::TokenCreate => "token-create",
            Self::ReadSecrets => "read-secrets",
            Self::PodExec => "pod-exec",
            Self::WorkloadCreate => "workload-create",
            Self::WorkloadModify => "workload-modify",
            Self::WildcardVerbs => "wildcard-verbs",
            Self::WildcardResources => "wildcard-resources",
            Self::WildcardApiGroups => "wildcard-api-groups",
        }
    }

    /// Whether this is one of the three wildcard privileges.
    pub fn is_wildcard(self) -> bool {
        matches!(self, Self::WildcardVerbs | Self::WildcardResources | Self::WildcardApiGroups)
    }
}

impl std::fmt::Display for Privilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a grant applies.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase", tag = "scope", content = "namespace")]
pub enum GrantScope {
    /// Every namespace and the cluster-scoped resources (a ClusterRoleBinding).
    Cluster,
    /// One namespace (a RoleBinding, to a Role or a ClusterRole).
    Namespace(String),
}

/// A role as a binding names it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct RoleName {
    /// `Role` or `ClusterRole`.
    pub kind: String,
    /// The namespace of a Role; `None` for a ClusterRole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// A binding, by kind, namespace and name.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct BindingName {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: String,
    /// The namespace of a RoleBinding; `None` for a ClusterRoleBinding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for BindingName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One privilege, and the role, rule and binding that grant it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub privilege: Privilege,
    #[serde(flatten)]
    pub scope: GrantScope,
    pub role: RoleName,
    pub binding: BindingName,
    /// The binding's subject that matched: `ServiceAccount ns/name`, `User name` or
    /// `Group name` (for example `Group system:serviceaccounts:ns`).
    pub via: String,
    /// The rule, as `verbs on resources (apiGroups)`, for people to read.
    pub rule: String,
    /// The rule's `resourceNames`: when not empty, the privilege holds for these objects
    /// only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

impl Grant {
    /// Whether `resourceNames` narrows the grant to named objects.
    pub fn is_narrowed(&self) -> bool {
        !self.resource_names.is_empty()
    }
}
