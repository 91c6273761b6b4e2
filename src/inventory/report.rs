//! The inventory as the command prints it: filtered, then as a table or JSON.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::identity::inventory::{AccountEntry, Inventory, SubjectEntry};
use crate::identity::privileges::Privilege;
use crate::identity::rbac::{DanglingBinding, SubjectKey};

/// A privilege to filter on, as `--privilege` reads it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivilegeFilter {
    /// Bound to cluster-admin or an equivalent rule, cluster-wide.
    ClusterAdmin,
    /// The same in one namespace.
    NamespaceAdmin,
    /// May read Secrets.
    Secrets,
    /// May bind, escalate or impersonate.
    Escalate,
    /// May mint tokens for ServiceAccounts (`create` on `serviceaccounts/token`).
    TokenCreate,
    /// May exec into or attach to pods.
    Exec,
    /// Holds a rule with a wildcard.
    Wildcard,
    /// May create pods or workloads.
    WorkloadCreate,
    /// May patch or update pods or workloads.
    WorkloadModify,
}

impl PrivilegeFilter {
    /// Whether `privilege` is one this filter asks for. A cluster-admin also matches every
    /// filter but `namespace-admin`, since it holds each of those privileges.
    pub fn matches(self, privilege: Privilege) -> bool {
        match self {
            Self::ClusterAdmin => privilege == Privilege::ClusterAdmin,
            Self::NamespaceAdmin => privilege == Privilege::NamespaceAdmin,
            Self::Secrets => privilege == Privilege::ReadSecrets,
            Self::Escalate => matches!(privilege, Privilege::Bind | Privilege::Escalate | Privilege::Impersonate),
            Self::Exec => privilege == Privilege::PodExec,
            Self::Wildcard => privilege.is_wildcard(),
            Self::WorkloadCreate => privilege == Privilege::WorkloadCreate,
            Self::TokenCreate => privilege == Privilege::TokenCreate,
            Self::WorkloadModify => privilege == Privilege::WorkloadModify,
        }
    }
}

/// What to keep. Every filter given must match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only accounts in this namespace (human subjects are kept when one of their grants
    /// applies there or cluster-wide).
    pub namespace: Option<String>,
    /// Only accounts of this owner team (`unowned` for those without).
    pub owner: Option<String>,
    /// Only identities holding at least one of these privileges.
    pub privileges: Vec<PrivilegeFilter>,
    /// Include human subjects (Users and Groups).
    pub subjects: bool,
}

impl Filter {
    fn has_privilege(&self, privileges: &[Privilege]) -> bool {
        self.privileges.is_empty() || self.privileges.iter().any(|f| privileges.iter().any(|p| f.matches(*p)))
    }

    fn keeps_account(&self, entry: &AccountEntry) -> bool {
        self.namespace.as_ref().is_none_or(|ns| entry.account.namespace.as_ref() == Some(ns))
            && self.owner.as_ref().is_none_or(|owner| &entry.owner.team == owner)
            && self.has_privilege(&entry.privileges)
    }

    fn keeps_subject(&self, entry: &SubjectEntry) -> bool {
        use crate::identity::privileges::GrantScope;
        self.subjects
            && self.owner.is_none()
            && self.namespace.as_ref().is_none_or(|ns| {
                entry.grants.iter().any(|g| match &g.scope {
                    GrantScope::Cluster => true,
                    GrantScope::Namespace(n) => n == ns,
                })
            })
            && self.has_privilege(&entry.privileges)
    }
}

/// The filtered inventory.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub accounts: Vec<AccountEntry>,
    /// Present with `--subjects` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<SubjectEntry>>,
    pub dangling_bindings: Vec<DanglingBinding>,
}

/// The account's `automountServiceAccountToken` (`default` when unset, which mounts), and
/// `(mounted)` when a running workload mounts its token.
fn automount(account: &AccountEntry) -> String {
    let setting = match account.automount {
        None => "default",
        Some(true) => "true",
        Some(false) => "false",
    };
    match account.token_mounted() {
        true => format!("{setting}(mounted)"),
        false => setting.to_string(),
    }
}

fn dash(list: Vec<String>) -> String {
    if list.is_empty() { "-".to_string() } else { list.join(",") }
}

impl Report {
    /// Keeps what `filter` selects, in the inventory's order (highest risk first).
    pub fn new(inventory: Inventory, filter: &Filter) -> Self {
        let dangling = inventory
            .dangling_bindings
            .into_iter()
            .filter(|d| filter.namespace.as_ref().is_none_or(|ns| d.binding.namespace.as_ref() == Some(ns)))
            .collect();
        Self {
            accounts: inventory.accounts.into_iter().filter(|a| filter.keeps_account(a)).collect(),
            subjects: filter
                .subjects
                .then(|| inventory.subjects.into_iter().filter(|s| filter.keeps_subject(s)).collect()),
            dangling_bindings: dangling,
        }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as aligned tables: accounts, then subjects (with `--subjects`), then
    /// bindings to missing roles.
    pub fn to_text(&self) -> String {
        let mut rows = vec![
            ["RISK", "SEVERITY", "NAMESPACE", "ACCOUNT", "OWNER", "PRIVILEGES", "TOKENS", "AUTOMOUNT", "WORKLOADS"]
                .map(String::from)
                .to_vec(),
        ];
        for a in &self.accounts {
            let workloads = a
                .workloads
                .iter()
                .map(|w| {
                    let mut text = format!("{}/{}", w.workload.kind.to_lowercase(), w.workload.name);
                    if w.running {
                        text.push_str("(running)");
                    }
                    if w.internet_facing() {
                        text.push_str("(internet)");
                    }
                    text
                })
                .collect();
            rows.push(vec![
                a.risk.score.to_string(),
                format!("{:?}", a.risk.severity),
                a.account.namespace.clone().unwrap_or_default(),
                a.account.name.clone(),
                a.owner.team.clone(),
                dash(a.privileges.iter().map(|p| p.to_string()).collect()),
                a.legacy_tokens.len().to_string(),
                automount(a),
                dash(workloads),
            ]);
        }
        let mut out = table(&rows);
        if let Some(subjects) = &self.subjects {
            let mut rows =
                vec![["RISK", "SEVERITY", "KIND", "SUBJECT", "PRIVILEGES", "BINDINGS"].map(String::from).to_vec()];
            for s in subjects {
                let (kind, name) = match &s.subject {
                    SubjectKey::User { name } => ("User", name.clone()),
                    SubjectKey::Group { name } => ("Group", name.clone()),
                    SubjectKey::ServiceAccount { namespace, name } => ("ServiceAccount", format!("{namespace}/{name}")),
                };
                let mut bindings: Vec<String> = s.grants.iter().map(|g| g.binding.to_string()).collect();
                bindings.dedup();
                rows.push(vec![
                    s.risk.score.to_string(),
                    format!("{:?}", s.risk.severity),
                    kind.to_string(),
                    name,
                    dash(s.privileges.iter().map(|p| p.to_string()).collect()),
                    dash(bindings),
                ]);
            }
            out.push('\n');
            out.push_str(&table(&rows));
        }
        if !self.dangling_bindings.is_empty() {
            out.push_str("\nBindings to roles that do not exist (they grant nothing until such a role is created):\n");
            for d in &self.dangling_bindings {
                let role = match &d.role.namespace {
                    Some(ns) => format!("{} {ns}/{}", d.role.kind, d.role.name),
                    None => format!("{} {}", d.role.kind, d.role.name),
                };
                let _ = writeln!(out, "  {} -> {role} for {}", d.binding, dash(d.subjects.clone()));
            }
        }
        out
    }
}

fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}
