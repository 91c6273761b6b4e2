//! `spec.admission` of a DriftPolicy or ClusterDriftPolicy: the same policy enforced by the
//! API server before a drifting change is stored, through a ValidatingAdmissionPolicy
//! generated from the policy's templates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{RemediationClass, ServiceAccountRef};

/// The most users, groups or ServiceAccounts an `exempt` list holds.
pub const MAX_EXEMPT: usize = 32;

/// What the API server does with a change that would drift from the policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AdmissionAction {
    /// Refuse it, with a message naming the policy and the path.
    Deny,
    /// Admit it, with a warning the client prints (kubectl does); the operator heals it.
    Warn,
    /// Admit it, with an audit annotation.
    Audit,
}

/// Who keeps the generated ValidatingAdmissionPolicy and binding.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AdmissionManagement {
    /// The operator creates them, keeps them in step with the policy and removes them
    /// with it.
    #[default]
    Operator,
    /// A GitOps repository applies them (from `driftwarden admission render`); the
    /// operator only checks that they exist and match.
    External,
}

/// Requesting identities whose changes admission never guards. The operator's own
/// identity, the policy's ServiceAccount and the GitOps appliers the installation names
/// are always exempt; exemption is by who asks, never by field manager, which any client
/// chooses freely.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionExempt {
    /// User names, as the API server authenticates them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_EXEMPT), inner(length(min = 1, max = 253)))]
    pub users: Vec<String>,
    /// Groups; a request by any member is exempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_EXEMPT), inner(length(min = 1, max = 253)))]
    pub groups: Vec<String>,
    /// ServiceAccounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_EXEMPT))]
    pub service_accounts: Vec<ServiceAccountRef>,
}

impl AdmissionExempt {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.service_accounts.is_empty()
    }
}

/// The policy enforced at admission.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionSpec {
    /// `Deny`, `Warn` or `Audit`.
    pub action: AdmissionAction,
    /// The remediation classes guarded at admission: a change of a governed field whose
    /// fix would be of one of these classes. Default: every class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7))]
    pub classes: Vec<RemediationClass>,
    /// Who may make such changes anyway.
    #[serde(default, skip_serializing_if = "AdmissionExempt::is_empty")]
    pub exempt: AdmissionExempt,
    /// Who keeps the generated objects: `Operator` (default) or `External`.
    #[serde(default)]
    pub managed_by: AdmissionManagement,
}

impl AdmissionSpec {
    /// Whether a change whose fix is of `class` is guarded.
    pub fn guards(&self, class: RemediationClass) -> bool {
        self.classes.is_empty() || self.classes.contains(&class)
    }
}
