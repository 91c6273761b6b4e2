//! `RemediationCampaign` (cluster-scoped): one control objective tracked across many assets,
//! with an owner, success criteria, a deadline with checkpoints, and a rollout strategy.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DATE_RULE_MESSAGE, DURATION_PATTERN, DurationError, ObjectRef, Owner, RemediationClass, ServiceAccountRef,
    at_most_rule, date_rule, parse_duration_at_most,
};
use super::finding::{FindingState, Severity};
use super::labels::{LABEL_KEY_PATTERN, MAX_LABEL_KEY_LENGTH};
use super::policy::NotifySpec;

/// The most checkpoints in one campaign.
pub const MAX_CHECKPOINTS: usize = 24;
/// The most points kept in `status.burnDown`; older points are thinned out first.
pub const MAX_BURN_DOWN_POINTS: usize = 100;
/// The most findings listed in `status.residualExposure`.
pub const MAX_RESIDUAL_EXPOSURE: usize = 10;
/// The most exclusions in a campaign's scope.
pub const MAX_EXCLUSIONS: usize = 100;
/// The highest `strategy.waveSize`.
pub const MAX_WAVE_SIZE: u32 = 10_000;
/// The longest `strategy.waveInterval`: 30 days.
pub const MAX_WAVE_INTERVAL: &str = "720h";
/// The longest `maxAge` parameter of the `SecretRotation` check: ten years.
pub const MAX_SECRET_AGE: &str = "87600h";

/// A control objective tracked across many assets: where its findings come from, which assets
/// are in scope, what success means and by when, and how fixes are rolled out.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "driftwarden.dev",
    version = "v1alpha1",
    kind = "RemediationCampaign",
    doc = "A RemediationCampaign tracks one control objective across many assets: an owner, success criteria, a deadline with checkpoints, one Finding per asset, and fixes rolled out in waves.",
    status = "CampaignStatus",
    shortname = "rc",
    shortname = "campaign",
    category = "driftwarden",
    cel,
    derive = "PartialEq",
    printcolumn = r#"{"name":"Objective","type":"string","jsonPath":".spec.objective","priority":1}"#,
    printcolumn = r#"{"name":"Owner","type":"string","jsonPath":".spec.owner.team"}"#,
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.strategy.mode"}"#,
    printcolumn = r#"{"name":"Compliant %","type":"integer","jsonPath":".status.compliantPercent"}"#,
    printcolumn = r#"{"name":"Deadline","type":"string","format":"date-time","jsonPath":".spec.deadline"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"OnTrack","type":"string","jsonPath":".status.conditions[?(@.type==\"OnTrack\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(
    validation = Rule::new("!has(self.checkpoints) || self.checkpoints.all(c, c.date < self.deadline)")
        .message("every checkpoint date must be before the deadline"),
    validation = Rule::new(
        "!has(self.checkpoints) || self.checkpoints.all(c, c.compliantPercent <= self.successCriteria.compliantPercent)"
    )
    .message("a checkpoint may not require more than successCriteria.compliantPercent"),
    validation = Rule::new(
        "!has(self.checkpoints) || self.checkpoints.all(a, self.checkpoints.all(b, !(a.date < b.date) || a.compliantPercent <= b.compliantPercent))"
    )
    .message("a later checkpoint may not require less than an earlier one")
)]
#[serde(rename_all = "camelCase")]
pub struct RemediationCampaignSpec {
    /// The control objective in plain words, for example `No workload mounts a
    /// ServiceAccount token it does not use`.
    #[schemars(length(min = 1, max = 1024))]
    pub objective: String,
    /// The team accountable for the campaign as a whole. Each finding also has the owner of
    /// its own asset.
    pub owner: Owner,
    /// Where the campaign's findings come from: the drifts of a policy, or a built-in check.
    pub control: CampaignControl,
    /// Which assets are in the campaign. Without a scope, every asset the control reports is.
    #[serde(default, skip_serializing_if = "CampaignScope::is_empty")]
    pub scope: CampaignScope,
    /// What counts as done.
    #[serde(default)]
    pub success_criteria: SuccessCriteria,
    /// When the success criteria must be met (RFC 3339, for example `2026-06-30T00:00:00Z`),
    /// from 1970 to 2999.
    #[x_kube(validation = Rule::new(date_rule()).message(DATE_RULE_MESSAGE))]
    pub deadline: Time,
    /// Intermediate targets before the deadline, each no lower than the one before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_CHECKPOINTS))]
    pub checkpoints: Vec<Checkpoint>,
    /// Label keys read on each asset, then on its namespace, to find the team accountable
    /// for it. Defaults to the policy's `escalation.ownerLabels`, else `driftwarden.dev/owner`
    /// and `team`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(min = 1, max = MAX_LABEL_KEY_LENGTH), regex(pattern = LABEL_KEY_PATTERN)))]
    pub owner_labels: Vec<String>,
    /// The team a finding goes to when neither its asset nor its namespace names one. Without
    /// it, such findings are recorded as `unowned` (and still fixed or escalated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_owner: Option<Owner>,
    /// How fixes are rolled out.
    #[serde(default)]
    pub strategy: Strategy,
    /// Stops new waves and new escalations while true. Findings are still evaluated, so the
    /// status stays current.
    #[serde(default)]
    pub paused: bool,
    /// Where CloudEvents about the campaign (checkpoint met or missed, at risk, completed) are
    /// sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
    /// The ServiceAccount the campaign's fixes are made as (impersonated for every request
    /// of a fix): a check's fixes, and the fixes of a ClusterDriftPolicy's drift (before the
    /// policy's own `serviceAccountRef`). Without it, the operator makes them as itself. The
    /// fixes of a DriftPolicy's drift are always made as that policy's ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountRef>,
}

/// Where a campaign's findings come from. Set exactly one of `policyRef` and `check`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.policyRef) != has(self.check)")
        .message("set exactly one of policyRef and check")
)]
#[serde(rename_all = "camelCase")]
pub struct CampaignControl {
    /// The drifts of a DriftPolicy or ClusterDriftPolicy become the campaign's findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_ref: Option<PolicyRef>,
    /// A built-in control over the cluster's non-human identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckControl>,
}

/// The source of a campaign's findings, once `control` is known to name exactly one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ControlSource<'a> {
    /// The drifts of a policy.
    Policy(&'a PolicyRef),
    /// A built-in check.
    Check(&'a CheckControl),
}

impl CampaignControl {
    /// The one source this control names; `None` when it names none or both.
    pub fn source(&self) -> Option<ControlSource<'_>> {
        match (&self.policy_ref, &self.check) {
            (Some(policy), None) => Some(ControlSource::Policy(policy)),
            (None, Some(check)) => Some(ControlSource::Check(check)),
            _ => None,
        }
    }
}

/// The kind of a policy a campaign follows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum PolicyKind {
    /// A namespaced DriftPolicy; `namespace` is required.
    DriftPolicy,
    /// A cluster-scoped ClusterDriftPolicy; `namespace` must be left out.
    ClusterDriftPolicy,
}

/// A reference to a DriftPolicy or ClusterDriftPolicy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(
    validation = Rule::new("self.kind == 'DriftPolicy' ? has(self.__namespace__) : !has(self.__namespace__)")
        .message("namespace is required for a DriftPolicy and not allowed for a ClusterDriftPolicy")
)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// `DriftPolicy` or `ClusterDriftPolicy`.
    pub kind: PolicyKind,
    /// The name of the policy.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The namespace of a DriftPolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// A built-in control over the cluster's non-human identities.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum CheckName {
    /// Workloads and ServiceAccounts that mount an API token they do not need
    /// (`automountServiceAccountToken` not false).
    ServiceAccountTokenAutomount,
    /// Long-lived ServiceAccount token Secrets (`kubernetes.io/service-account-token`).
    LegacyServiceAccountTokens,
    /// Secrets older than the `maxAge` parameter (a duration, default `2160h`).
    SecretRotation,
    /// Bindings to the `cluster-admin` ClusterRole.
    ClusterAdminBindings,
    /// Roles and ClusterRoles that grant wildcard verbs, resources or API groups.
    WildcardRbac,
    /// ServiceAccounts that no workload runs as.
    UnusedServiceAccounts,
}

/// A built-in check and its parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(
    validation = Rule::new(format!(
        "!has(self.parameters) || !('maxAge' in self.parameters) || (self.parameters.maxAge.matches('{}') && duration(self.parameters.maxAge) <= duration('{MAX_SECRET_AGE}'))",
        DURATION_PATTERN.replace('\\', "\\\\")
    ))
    .message("parameters.maxAge must be a duration such as 2160h, at most 87600h (ten years)")
)]
#[serde(rename_all = "camelCase")]
pub struct CheckControl {
    /// The check to run.
    pub name: CheckName,
    /// Parameters of the check, for example `maxAge: 2160h` for `SecretRotation` (a duration
    /// of at most `87600h`, ten years).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "parameters_schema")]
    pub parameters: BTreeMap<String, String>,
}

/// The most parameters of one check.
pub const MAX_PARAMETERS: usize = 32;

/// The schema of a check's `parameters`: a bounded map of bounded strings.
fn parameters_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let schema = serde_json::json!({
        "type": "object",
        "maxProperties": MAX_PARAMETERS,
        "additionalProperties": {"type": "string", "maxLength": 256},
    });
    schemars::Schema::try_from(schema).expect("a JSON object is a schema")
}

/// Which assets are in a campaign. Every field given must match.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignScope {
    /// Only assets in these namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    pub namespaces: Vec<String>,
    /// Only assets in namespaces whose labels match this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::labels::selector_schema")]
    pub namespace_selector: Option<LabelSelector>,
    /// Only assets whose labels match this selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::labels::selector_schema")]
    pub selector: Option<LabelSelector>,
    /// Assets left out of the campaign, even when the rest of the scope selects them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_EXCLUSIONS))]
    pub exclude: Vec<Exclusion>,
}

impl CampaignScope {
    /// Whether the scope selects everything.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Assets left out of a campaign: every field given must match, and at least one must be
/// given.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.__namespace__) || has(self.name) || has(self.kind)")
        .message("an exclusion needs at least one of namespace, name and kind")
)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    /// Assets in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// Assets with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// Assets of this kind, for example `ServiceAccount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub kind: Option<String>,
}

/// What counts as done.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuccessCriteria {
    /// The share of in-scope assets that must be compliant (closed or excepted findings),
    /// from 0 to 100. Defaults to 100.
    #[serde(default = "default_compliant_percent")]
    #[schemars(range(max = 100))]
    pub compliant_percent: u8,
}

impl Default for SuccessCriteria {
    fn default() -> Self {
        Self { compliant_percent: default_compliant_percent() }
    }
}

fn default_compliant_percent() -> u8 {
    100
}

/// An intermediate target.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// When the target must be met (RFC 3339). Must be before the deadline.
    #[x_kube(validation = Rule::new(date_rule()).message(DATE_RULE_MESSAGE))]
    pub date: Time,
    /// The share of in-scope assets that must be compliant by then, from 0 to 100.
    #[schemars(range(max = 100))]
    pub compliant_percent: u8,
}

/// Who fixes: the operator in waves, or the owners.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CampaignMode {
    /// The operator fixes findings in waves, for the classes in `autoRemediate`, whatever the
    /// policy's own mode, and escalates the rest to their owners.
    Auto,
    /// Owners fix their findings; the operator verifies each fix and records the evidence.
    #[default]
    Manual,
}

/// How fixes are rolled out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// `Auto`: the operator fixes in waves; `Manual`: owners fix and the operator verifies.
    /// Defaults to `Manual`.
    #[serde(default)]
    pub mode: CampaignMode,
    /// In `Auto` mode, the remediation classes the operator fixes. Defaults to the policy's
    /// own `autoRemediate`, or for a check to the fixes that check marks safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 7))]
    pub auto_remediate: Option<Vec<RemediationClass>>,
    /// The most findings fixed in one wave, from 1 to 10000. Defaults to 10.
    #[serde(default = "default_wave_size")]
    #[schemars(range(min = 1, max = MAX_WAVE_SIZE))]
    pub wave_size: u32,
    /// The pause between two waves, as a duration such as `10m` or `1h` (units `ms`, `s`,
    /// `m`, `h`), at most `720h` (30 days). Defaults to `10m`.
    #[serde(default = "default_wave_interval")]
    #[schemars(length(min = 1, max = 32), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new(at_most_rule(MAX_WAVE_INTERVAL))
        .message("waveInterval may not exceed 720h (30 days)"))]
    pub wave_interval: String,
    /// When more than this share (0 to 100) of a wave's fixes fail, no further wave starts
    /// until the campaign's spec changes; the `Ready` condition says so. Defaults to 10.
    #[serde(default = "default_pause_on_failure_percent")]
    #[schemars(range(max = 100))]
    pub pause_on_failure_percent: u8,
}

impl Default for Strategy {
    fn default() -> Self {
        Self {
            mode: CampaignMode::default(),
            auto_remediate: None,
            wave_size: default_wave_size(),
            wave_interval: default_wave_interval(),
            pause_on_failure_percent: default_pause_on_failure_percent(),
        }
    }
}

impl Strategy {
    /// The pause between two waves.
    pub fn wave_interval(&self) -> Result<std::time::Duration, DurationError> {
        parse_duration_at_most(&self.wave_interval, MAX_WAVE_INTERVAL)
    }
}

fn default_wave_size() -> u32 {
    10
}

fn default_wave_interval() -> String {
    "10m".to_string()
}

fn default_pause_on_failure_percent() -> u8 {
    10
}

/// What a campaign observed: its findings, progress against the checkpoints and the deadline,
/// and what is still exposed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The campaign's conditions: `Ready`, `Reconciling`, `Stalled`, `OnTrack`, `AtRisk`,
    /// `Completed`, `DeadlineMissed`, and `ApprovalsRecorded` (whether the admission policy that
    /// records approvals by the requesting user is installed).
    #[serde(default)]
    #[schemars(schema_with = "super::conditions::schema")]
    pub conditions: Vec<Condition>,
    /// How many findings the campaign has: one per in-scope asset.
    #[serde(default)]
    pub total: u32,
    /// How many findings are in each state.
    #[serde(default)]
    pub findings: FindingCounts,
    /// The share of findings that are closed or excepted, from 0 to 100, rounded down: 100
    /// only when every finding is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub compliant_percent: Option<u8>,
    /// Each checkpoint of the spec, with its target, the compliance reached and whether it was
    /// met.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_CHECKPOINTS))]
    pub checkpoints: Vec<CheckpointStatus>,
    /// Open and closed findings over time, oldest first. At most 100 points: when full, older
    /// points are thinned out so the whole campaign stays visible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_BURN_DOWN_POINTS))]
    pub burn_down: Vec<BurnDownPoint>,
    /// When the success criteria will be met at the current pace; absent until there is
    /// enough history to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_completion: Option<Time>,
    /// The most severe open findings (at most 10), most severe first: what is still exposed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_RESIDUAL_EXPOSURE))]
    pub residual_exposure: Vec<ExposedFinding>,
    /// When the last wave of fixes started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_wave_time: Option<Time>,
    /// How many waves of fixes have started. Each fix's evidence names its wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waves: Option<u32>,
    /// How many Findings name this campaign but are not ones the operator wrote (another
    /// name or namespace, or no owner reference to the campaign): each is ignored and
    /// marked by a Warning Event (`ForgedFinding`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub forged_findings: u32,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// How many of a campaign's findings are in each state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingCounts {
    /// Findings waiting for a fix.
    #[serde(default)]
    pub open: u32,
    /// Findings whose fix is being applied.
    #[serde(default)]
    pub remediating: u32,
    /// Findings whose fix is applied and waits for verification.
    #[serde(default)]
    pub verifying: u32,
    /// Findings whose fix was verified.
    #[serde(default)]
    pub closed: u32,
    /// Findings escalated to their owner.
    #[serde(default)]
    pub escalated: u32,
    /// Findings covered by an active DriftException.
    #[serde(default)]
    pub excepted: u32,
    /// Findings that were closed and drifted again.
    #[serde(default)]
    pub reopened: u32,
}

impl FindingCounts {
    /// Counts one more finding in `state`.
    pub fn add(&mut self, state: FindingState) {
        let count = match state {
            FindingState::Open => &mut self.open,
            FindingState::Remediating => &mut self.remediating,
            FindingState::Verifying => &mut self.verifying,
            FindingState::Closed => &mut self.closed,
            FindingState::Escalated => &mut self.escalated,
            FindingState::Excepted => &mut self.excepted,
            FindingState::Reopened => &mut self.reopened,
        };
        *count += 1;
    }

    /// How many findings are counted, in every state.
    pub fn total(&self) -> u32 {
        self.open + self.remediating + self.verifying + self.closed + self.escalated + self.excepted + self.reopened
    }
}

/// Whether a checkpoint was met.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CheckpointResult {
    /// The checkpoint date has not come yet.
    #[default]
    Pending,
    /// The target was reached by the checkpoint date.
    Met,
    /// The checkpoint date passed with less compliance than the target.
    Missed,
}

/// A checkpoint and how the campaign did against it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointStatus {
    /// The checkpoint date.
    pub date: Time,
    /// The share of compliant assets the checkpoint requires, from 0 to 100.
    #[schemars(range(max = 100))]
    pub target: u8,
    /// The share reached: at the checkpoint date once it passed, the current share before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub actual: Option<u8>,
    /// `Pending`, `Met` or `Missed`.
    #[serde(default)]
    pub result: CheckpointResult,
}

/// Open and closed findings at one time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BurnDownPoint {
    /// When the findings were counted.
    pub time: Time,
    /// Findings not closed or excepted.
    pub open: u32,
    /// Findings closed or excepted.
    pub closed: u32,
}

/// An open finding, as listed in the residual exposure.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposedFinding {
    /// The name of the Finding.
    pub finding: String,
    /// The asset it is about.
    pub asset: ObjectRef,
    /// How severe it is.
    pub severity: Severity,
}

#[cfg(test)]
mod tests {
    use kube::core::cel::apply_defaults;
    use serde_json::{Value, json};

    use super::*;
    use crate::api::testing::{admit, admit_value, assert_rejected, schema_of};

    const CAMPAIGN: &str = r##"
apiVersion: driftwarden.dev/v1alpha1
kind: RemediationCampaign
metadata:
  name: no-token-automount
spec:
  objective: No workload mounts a ServiceAccount token it does not use
  owner:
    team: platform-security
    contact: security@example.com
  control:
    policyRef:
      kind: DriftPolicy
      name: web-hardening
      namespace: shop
  scope:
    namespaceSelector:
      matchLabels:
        env: prod
    exclude:
      - namespace: kube-system
      - kind: Deployment
        name: legacy-batch
  successCriteria:
    compliantPercent: 95
  deadline: "2026-06-30T00:00:00Z"
  checkpoints:
    - date: "2026-03-31T00:00:00Z"
      compliantPercent: 50
    - date: "2026-05-31T00:00:00Z"
      compliantPercent: 80
  strategy:
    mode: Auto
    autoRemediate: [Metadata, Spec, Rollout]
    waveSize: 20
    waveInterval: 30m
    pauseOnFailurePercent: 5
  paused: false
  notify:
    urlSecretRef:
      name: security-sink
      key: url
    mode: Binary
status:
  observedGeneration: 2
  conditions:
    - type: Ready
      status: "True"
      reason: Reconciled
      message: ""
      observedGeneration: 2
      lastTransitionTime: "2026-04-01T08:00:00Z"
    - type: OnTrack
      status: "False"
      reason: CheckpointMissed
      message: 42% compliant on 2026-03-31, the checkpoint required 50%
      observedGeneration: 2
      lastTransitionTime: "2026-04-01T08:00:00Z"
  total: 120
  findings:
    open: 40
    remediating: 5
    verifying: 3
    closed: 60
    escalated: 8
    excepted: 2
    reopened: 2
  compliantPercent: 51
  checkpoints:
    - date: "2026-03-31T00:00:00Z"
      target: 50
      actual: 42
      result: Missed
    - date: "2026-05-31T00:00:00Z"
      target: 80
      actual: 51
      result: Pending
  burnDown:
    - time: "2026-03-01T00:00:00Z"
      open: 120
      closed: 0
    - time: "2026-04-01T00:00:00Z"
      open: 58
      closed: 62
  projectedCompletion: "2026-07-15T00:00:00Z"
  residualExposure:
    - finding: checkout-deployment-5f2c
      asset:
        apiVersion: apps/v1
        kind: Deployment
        namespace: shop
        name: checkout
        uid: 6b1f0c52-2f0e-4a55-9d1b-7b0e5f0e8c11
      severity: High
  lastWaveTime: "2026-04-01T07:30:00Z"
"##;

    fn campaign() -> Value {
        serde_yaml::from_str(CAMPAIGN).unwrap()
    }

    #[test]
    fn example_round_trips_unchanged_and_is_admitted() {
        let parsed: RemediationCampaign = serde_yaml::from_str(CAMPAIGN).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), campaign());
        assert_eq!(parsed.spec.strategy.mode, CampaignMode::Auto);
        assert_eq!(parsed.spec.strategy.wave_interval().unwrap(), std::time::Duration::from_secs(1800));
        assert!(matches!(parsed.spec.control.source(), Some(ControlSource::Policy(p)) if p.name == "web-hardening"));
        let status = parsed.status.as_ref().unwrap();
        assert_eq!(status.findings.total(), status.total);
        assert_eq!(status.checkpoints[0].result, CheckpointResult::Missed);
        assert_eq!(admit::<RemediationCampaign>(CAMPAIGN), Ok(()));
        parsed.validate_cel().unwrap();
    }

    #[test]
    fn check_controls_carry_parameters() {
        let mut value = campaign();
        value["spec"]["control"] = json!({"check": {"name": "SecretRotation", "parameters": {"maxAge": "2160h"}}});
        assert_eq!(admit_value::<RemediationCampaign>(&value, None), Ok(()));
        let parsed: RemediationCampaign = serde_json::from_value(value.clone()).unwrap();
        let Some(ControlSource::Check(check)) = parsed.spec.control.source() else { panic!("a check control") };
        assert_eq!(check.name, CheckName::SecretRotation);
        assert_eq!(check.parameters["maxAge"], "2160h");

        for bad in ["87600h1s", "99999999999999999999h", "90 days", "1d"] {
            value["spec"]["control"]["check"]["parameters"]["maxAge"] = json!(bad);
            assert_rejected(admit_value::<RemediationCampaign>(&value, None), "parameters.maxAge must be a duration");
        }
        value["spec"]["control"]["check"]["parameters"]["maxAge"] = json!("87600h");
        assert_eq!(admit_value::<RemediationCampaign>(&value, None), Ok(()));

        value["spec"]["control"]["check"]["name"] = json!("RotateEverything");
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "Unsupported value");
    }

    #[test]
    fn defaults_in_code_and_in_schema_agree() {
        let minimal = json!({
            "apiVersion": "driftwarden.dev/v1alpha1",
            "kind": "RemediationCampaign",
            "metadata": {"name": "minimal"},
            "spec": {
                "objective": "No cluster-admin bindings for workloads",
                "owner": {"team": "platform-security"},
                "control": {"check": {"name": "ClusterAdminBindings"}},
                "deadline": "2026-12-31T00:00:00Z",
                "strategy": {"mode": "Auto"},
            },
        });
        assert_eq!(admit_value::<RemediationCampaign>(&minimal, None), Ok(()));
        let from_code: RemediationCampaign = serde_json::from_value(minimal.clone()).unwrap();
        assert_eq!(from_code.spec.success_criteria.compliant_percent, 100);
        let strategy = &from_code.spec.strategy;
        assert_eq!((strategy.wave_size, strategy.wave_interval.as_str()), (10, "10m"));
        assert_eq!((strategy.pause_on_failure_percent, strategy.auto_remediate.as_ref()), (10, None));
        assert!(!from_code.spec.paused);
        assert_eq!(Strategy::default().mode, CampaignMode::Manual);

        let defaulted = apply_defaults(&schema_of::<RemediationCampaign>(), &minimal);
        assert_eq!(defaulted["spec"]["successCriteria"]["compliantPercent"], 100);
        assert_eq!(defaulted["spec"]["strategy"]["waveInterval"], "10m");
        let from_server: RemediationCampaign = serde_json::from_value(defaulted).unwrap();
        assert_eq!(from_server, from_code);
    }

    #[test]
    fn control_names_exactly_one_source() {
        let mut both = campaign();
        both["spec"]["control"]["check"] = json!({"name": "WildcardRbac"});
        assert_rejected(admit_value::<RemediationCampaign>(&both, None), "set exactly one of policyRef and check");
        let parsed: RemediationCampaign = serde_json::from_value(both).unwrap();
        assert_eq!(parsed.spec.control.source(), None);

        let mut neither = campaign();
        neither["spec"]["control"] = json!({});
        assert_rejected(admit_value::<RemediationCampaign>(&neither, None), "set exactly one of policyRef and check");
    }

    #[test]
    fn policy_ref_namespace_follows_the_kind() {
        let mut value = campaign();
        value["spec"]["control"]["policyRef"].as_object_mut().unwrap().remove("namespace");
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "namespace is required for a DriftPolicy");

        value["spec"]["control"]["policyRef"]["kind"] = json!("ClusterDriftPolicy");
        assert_eq!(admit_value::<RemediationCampaign>(&value, None), Ok(()));

        value["spec"]["control"]["policyRef"]["namespace"] = json!("shop");
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "not allowed for a ClusterDriftPolicy");
    }

    #[test]
    fn checkpoints_come_before_the_deadline_and_never_decrease() {
        let mut value = campaign();
        value["spec"]["checkpoints"][1]["date"] = json!("2026-07-01T00:00:00Z");
        assert_rejected(
            admit_value::<RemediationCampaign>(&value, None),
            "every checkpoint date must be before the deadline",
        );

        let mut value = campaign();
        value["spec"]["checkpoints"][1]["date"] = value["spec"]["deadline"].clone();
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "before the deadline");

        let mut value = campaign();
        value["spec"]["checkpoints"][1]["compliantPercent"] = json!(96);
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "more than successCriteria.compliantPercent");

        let mut value = campaign();
        value["spec"]["checkpoints"][1]["compliantPercent"] = json!(40);
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "a later checkpoint may not require less");

        let mut value = campaign();
        value["spec"]["checkpoints"] = json!([
            {"date": "2026-05-31T00:00:00Z", "compliantPercent": 80},
            {"date": "2026-03-31T00:00:00Z", "compliantPercent": 50},
        ]);
        assert_eq!(admit_value::<RemediationCampaign>(&value, None), Ok(()), "order in the list does not matter");
    }

    #[test]
    fn exclusions_name_something() {
        let mut value = campaign();
        value["spec"]["scope"]["exclude"][1] = json!({});
        assert_rejected(admit_value::<RemediationCampaign>(&value, None), "an exclusion needs at least one of");
    }

    #[test]
    fn percentages_and_strategy_bounds() {
        let cases = [
            ("/spec/successCriteria/compliantPercent", json!(101), "should be less than or equal to 100"),
            ("/spec/checkpoints/0/compliantPercent", json!(101), "should be less than or equal to 100"),
            ("/spec/strategy/pauseOnFailurePercent", json!(101), "should be less than or equal to 100"),
            ("/spec/strategy/waveSize", json!(0), "should be greater than or equal to 1"),
            ("/spec/strategy/waveSize", json!(10_001), "should be less than or equal to 10000"),
            ("/spec/strategy/waveInterval", json!("ten minutes"), "should match"),
            ("/spec/strategy/waveInterval", json!("720h0.5s"), "waveInterval may not exceed 720h"),
            ("/spec/strategy/mode", json!("Automatic"), "Unsupported value"),
            ("/spec/deadline", json!("end of June"), "must be of type date-time"),
            ("/spec/deadline", json!("3000-01-01T00:00:00Z"), "must be a date from 1970 to 2999"),
            ("/spec/checkpoints/0/date", json!("1969-12-31T00:00:00Z"), "must be a date from 1970 to 2999"),
            ("/spec/objective", json!(""), "should be at least 1 chars long"),
            (
                "/spec/scope/namespaceSelector/matchLabels",
                json!({"env": "prod!"}),
                "matchLabels[env] in body should match",
            ),
            ("/spec/scope/namespaceSelector/matchLabels", json!({"-env": "prod"}), "every key must be a label key"),
        ];
        for (pointer, bad, expected) in cases {
            let mut value = campaign();
            *value.pointer_mut(pointer).unwrap() = bad;
            assert_rejected(admit_value::<RemediationCampaign>(&value, None), expected);
        }
    }

    #[test]
    fn counts_add_up() {
        let mut counts = FindingCounts::default();
        for state in [FindingState::Open, FindingState::Open, FindingState::Closed, FindingState::Reopened] {
            counts.add(state);
        }
        assert_eq!((counts.open, counts.closed, counts.reopened, counts.total()), (2, 1, 1, 4));
    }
}
