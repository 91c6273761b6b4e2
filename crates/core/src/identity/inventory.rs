//! The identity inventory: for every ServiceAccount its owner, privileges with the grants
//! that give them, legacy tokens, token automount, the workloads that run as it, and its
//! risk; the same privilege analysis for human subjects; and bindings to missing roles.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::owner::{DEFAULT_OWNER_LABELS, resolve_owner};
use super::privileges::{Grant, Privilege};
use super::rbac::{DanglingBinding, RbacIndex, SubjectKey};
use super::risk::{Exposure, Risk, score};
use super::snapshot::{SecretInfo, Snapshot};
use super::workloads::{Workload, workloads};
use crate::api::{ObjectRef, Owner};

/// The label on a legacy token Secret holding the date it was last used.
pub const LEGACY_TOKEN_LAST_USED_LABEL: &str = "kubernetes.io/legacy-token-last-used";

/// How the inventory is computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryOptions {
    /// Label keys naming an owner, read on the ServiceAccount, then on its namespace.
    pub owner_labels: Vec<String>,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        Self { owner_labels: DEFAULT_OWNER_LABELS.iter().map(|k| k.to_string()).collect() }
    }
}

/// A long-lived token Secret of a ServiceAccount.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LegacyToken {
    pub secret: ObjectRef,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    /// Whole days since the Secret was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// The date of [`LEGACY_TOKEN_LAST_USED_LABEL`], when present and readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Date>,
}

/// One ServiceAccount in the inventory.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountEntry {
    pub account: ObjectRef,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    pub owner: Owner,
    /// The account's own `automountServiceAccountToken`; `None` means mounted unless the
    /// pod spec says otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount: Option<bool>,
    /// The distinct privileges of [`Self::grants`], most dangerous first.
    pub privileges: Vec<Privilege>,
    pub grants: Vec<Grant>,
    pub legacy_tokens: Vec<LegacyToken>,
    pub workloads: Vec<Workload>,
    pub risk: Risk,
}

impl AccountEntry {
    /// Whether a running workload uses the account.
    pub fn running(&self) -> bool {
        self.workloads.iter().any(|w| w.running)
    }

    /// Whether a running workload using the account mounts its token.
    pub fn token_mounted(&self) -> bool {
        self.workloads.iter().any(|w| w.running && w.mounts_token(self.automount))
    }

    /// Whether a workload using the account is exposed outside the cluster.
    pub fn internet_facing(&self) -> bool {
        self.workloads.iter().any(Workload::internet_facing)
    }
}

/// A User or Group named in a binding, with its privileges.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubjectEntry {
    pub subject: SubjectKey,
    pub privileges: Vec<Privilege>,
    pub grants: Vec<Grant>,
    pub risk: Risk,
}

/// The whole inventory. Accounts and subjects are sorted by risk, highest first, then by
/// name.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub accounts: Vec<AccountEntry>,
    pub subjects: Vec<SubjectEntry>,
    pub dangling_bindings: Vec<DanglingBinding>,
}

fn distinct(grants: &[Grant]) -> Vec<Privilege> {
    grants.iter().map(|g| g.privilege).collect::<BTreeSet<_>>().into_iter().collect()
}

fn legacy_token(secret: &SecretInfo, now: Timestamp) -> LegacyToken {
    LegacyToken {
        secret: ObjectRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(secret.namespace.clone()),
            name: secret.name.clone(),
            uid: secret.uid.clone(),
        },
        labels: secret.labels.clone(),
        age_days: secret.created.as_ref().map(|t| (now.as_second() - t.0.as_second()).max(0) / 86_400),
        last_used: secret.labels.get(LEGACY_TOKEN_LAST_USED_LABEL).and_then(|d| d.parse().ok()),
    }
}

impl Inventory {
    /// Computes the inventory of `snapshot` at `now`.
    pub fn build(snapshot: &Snapshot, options: &InventoryOptions, now: Timestamp) -> Self {
        let rbac = RbacIndex::build(snapshot);
        Self::build_with(snapshot, &rbac, options, now)
    }

    /// The same, from RBAC already resolved.
    pub fn build_with(snapshot: &Snapshot, rbac: &RbacIndex, options: &InventoryOptions, now: Timestamp) -> Self {
        let namespace_labels: HashMap<&str, &BTreeMap<String, String>> = snapshot
            .namespaces
            .iter()
            .filter_map(|ns| Some((ns.metadata.name.as_deref()?, ns.metadata.labels.as_ref()?)))
            .collect();
        let mut by_account: HashMap<(String, String), Vec<Workload>> = HashMap::new();
        for workload in workloads(snapshot) {
            let ns = workload.workload.namespace.clone().unwrap_or_default();
            by_account.entry((ns, workload.service_account.clone())).or_default().push(workload);
        }
        let mut tokens: HashMap<(String, String), Vec<LegacyToken>> = HashMap::new();
        for secret in &snapshot.secrets {
            if let Some(account) = secret.token_of() {
                tokens
                    .entry((secret.namespace.clone(), account.to_string()))
                    .or_default()
                    .push(legacy_token(secret, now));
            }
        }
        let mut accounts: Vec<AccountEntry> = snapshot
            .service_accounts
            .iter()
            .map(|sa| {
                let namespace = sa.metadata.namespace.clone().unwrap_or_default();
                let name = sa.metadata.name.clone().unwrap_or_default();
                let labels = sa.metadata.labels.clone().unwrap_or_default();
                let grants = rbac.service_account_grants(&namespace, &name);
                let key = (namespace, name);
                let mut legacy_tokens = tokens.remove(&key).unwrap_or_default();
                let (namespace, name) = key;
                legacy_tokens.sort_by(|a, b| a.secret.cmp(&b.secret));
                let mut entry = AccountEntry {
                    account: ObjectRef {
                        api_version: "v1".into(),
                        kind: "ServiceAccount".into(),
                        namespace: Some(namespace.clone()),
                        name: name.clone(),
                        uid: sa.metadata.uid.clone(),
                    },
                    owner: resolve_owner(
                        &options.owner_labels,
                        &labels,
                        namespace_labels.get(namespace.as_str()).copied(),
                    ),
                    labels,
                    automount: sa.automount_service_account_token,
                    privileges: distinct(&grants),
                    grants,
                    legacy_tokens,
                    workloads: by_account.remove(&(namespace, name)).unwrap_or_default(),
                    risk: score(&[], None),
                };
                let exposure = Exposure {
                    running: entry.running(),
                    internet_facing: entry.internet_facing(),
                    token_mounted: entry.token_mounted(),
                    legacy_token: !entry.legacy_tokens.is_empty(),
                    used: !entry.workloads.is_empty(),
                };
                entry.risk = score(&entry.grants, Some(exposure));
                entry
            })
            .collect();
        accounts.sort_by(|a, b| b.risk.score.cmp(&a.risk.score).then_with(|| a.account.cmp(&b.account)));
        let mut subjects: Vec<SubjectEntry> = rbac
            .grants
            .iter()
            .filter(|(key, _)| key.is_human())
            .map(|(key, grants)| SubjectEntry {
                subject: key.clone(),
                privileges: distinct(grants),
                grants: grants.clone(),
                risk: score(grants, None),
            })
            .collect();
        subjects.sort_by(|a, b| b.risk.score.cmp(&a.risk.score).then_with(|| a.subject.cmp(&b.subject)));
        Self { accounts, subjects, dangling_bindings: rbac.dangling.clone() }
    }

    /// The entry of the ServiceAccount `namespace/name`.
    pub fn account(&self, namespace: &str, name: &str) -> Option<&AccountEntry> {
        self.accounts.iter().find(|a| a.account.namespace.as_deref() == Some(namespace) && a.account.name == name)
    }
}
