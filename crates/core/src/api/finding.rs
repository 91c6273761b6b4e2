//! `Finding` (namespaced): one asset's part in a campaign, the unit an owner acts on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DATE_RULE_MESSAGE, ObjectRef, Owner, RemediationClass, date_rule};
use super::policy::{MAX_PATH_LENGTH, MAX_PATHS};

/// The most evidence records kept on a finding; the oldest are dropped first.
pub const MAX_EVIDENCE: usize = 20;

/// One asset's part in a campaign. It lives in the asset's namespace (findings of
/// cluster-scoped assets live in the operator's namespace) and belongs to its campaign:
/// deleting the campaign deletes its findings.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "driftwarden.dev",
    version = "v1alpha1",
    kind = "Finding",
    doc = "A Finding is one asset's part in a RemediationCampaign: what is wrong, who owns it, and the evidence of what was done. It is closed only after the fix is verified against the live object.",
    namespaced,
    status = "FindingStatus",
    shortname = "fnd",
    category = "driftwarden",
    cel,
    derive = "PartialEq",
    printcolumn = r#"{"name":"Campaign","type":"string","jsonPath":".spec.campaign"}"#,
    printcolumn = r#"{"name":"Kind","type":"string","jsonPath":".spec.asset.kind"}"#,
    printcolumn = r#"{"name":"Asset","type":"string","jsonPath":".spec.asset.name"}"#,
    printcolumn = r#"{"name":"Owner","type":"string","jsonPath":".spec.owner.team"}"#,
    printcolumn = r#"{"name":"Severity","type":"string","jsonPath":".spec.severity"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct FindingSpec {
    /// The name of the RemediationCampaign this finding belongs to. Cannot be changed.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("campaign cannot be changed"))]
    pub campaign: String,
    /// The asset the finding is about. Its apiVersion, kind, namespace and name cannot be
    /// changed; its uid follows the live object.
    #[x_kube(validation = Rule::new(
        "self.apiVersion == oldSelf.apiVersion && self.kind == oldSelf.kind && self.name == oldSelf.name && has(self.__namespace__) == has(oldSelf.__namespace__) && (!has(self.__namespace__) || self.__namespace__ == oldSelf.__namespace__)"
    ).message("the asset cannot be changed; only its uid may be"))]
    pub asset: ObjectRef,
    /// The control that is not met, for example `ServiceAccountTokenAutomount` or the
    /// `namespace/name` of a policy. Cannot be changed.
    #[schemars(length(min = 1, max = 317))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("control cannot be changed"))]
    pub control: String,
    /// How severe the exposure is.
    pub severity: Severity,
    /// The team accountable for the asset, read from its labels, then its namespace's;
    /// `unowned` when neither says.
    pub owner: Owner,
    /// A reference to an external ticket (an issue key or a URL), set by people or
    /// integrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub ticket: Option<String>,
    /// An owner's approval of the fix of an escalated finding. The operator then applies
    /// and verifies the fix, which restores the declared state and never touches more, and
    /// records the approval in the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// How severe a finding is, from `Critical` to `Info`. Sorting puts the most severe first.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum Severity {
    /// Exploitable now with a large blast radius, for example a wildcard ClusterRole bound to
    /// a workload.
    Critical,
    /// Exploitable, with a limited blast radius.
    High,
    /// Weakens a control without being directly exploitable.
    Medium,
    /// Hygiene.
    Low,
    /// For information only.
    Info,
}

/// An owner's approval of the fix of an escalated finding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// Who approves, for example an email address.
    #[schemars(length(min = 1, max = 253))]
    pub by: String,
    /// Why the fix is safe to apply now.
    #[schemars(length(min = 1, max = 1024))]
    pub reason: String,
    /// When it was approved (RFC 3339), from 1970 to 2999.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(date_rule()).message(DATE_RULE_MESSAGE))]
    pub at: Option<Time>,
}

/// Where a finding stands: `Open → Remediating → Verifying → Closed`, or `Escalated`,
/// `Excepted`, `Reopened`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum FindingState {
    /// The asset does not meet the control and nothing is under way.
    #[default]
    Open,
    /// A fix is being applied.
    Remediating,
    /// A fix was applied and waits for verification against a fresh read.
    Verifying,
    /// The fix was verified: the live object meets the control.
    Closed,
    /// The fix needs a person: the owner was notified.
    Escalated,
    /// An active DriftException covers the asset.
    Excepted,
    /// The finding was closed and the asset drifted again.
    Reopened,
}

impl FindingState {
    /// Whether the finding counts as done: closed, or covered by an exception.
    pub fn is_resolved(self) -> bool {
        matches!(self, Self::Closed | Self::Excepted)
    }
}

/// What a finding observed and what was done about it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The finding's conditions: `Ready`, `Reconciling` and `Stalled`.
    #[serde(default)]
    #[schemars(schema_with = "super::conditions::schema")]
    pub conditions: Vec<Condition>,
    /// Where the finding stands.
    #[serde(default)]
    pub state: FindingState,
    /// When `state` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// How many times the finding was closed and then reopened because the asset drifted
    /// again.
    #[serde(default)]
    pub recurrences: u32,
    /// The remediation class of the fix: what applying it touches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<RemediationClass>,
    /// The fields that do not meet the control, as JSON pointers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PATHS), inner(length(max = MAX_PATH_LENGTH)))]
    pub paths: Vec<String>,
    /// Who last changed the offending fields, and when, as the live object's
    /// `managedFields` tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// What was done and proven, oldest first. At most 20 records; the oldest are dropped
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_EVIDENCE))]
    pub evidence: Vec<Evidence>,
}

/// Who last changed a field, as `managedFields` tell.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attribution {
    /// The field manager that last wrote the field, for example `kubectl-edit`.
    pub changed_by: String,
    /// When it wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<Time>,
}

/// What one evidence record is about.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum EvidenceAction {
    /// The asset was read and found not to meet the control.
    Detected,
    /// The fix was submitted as a server-side dry run.
    DryRun,
    /// The fix was applied with server-side apply.
    Applied,
    /// The asset was read again to verify the fix.
    Verified,
    /// The finding was escalated to its owner.
    Escalated,
    /// An owner's approval was recorded.
    Approved,
    /// A DriftException started or stopped covering the asset.
    Excepted,
    /// A closed finding's asset drifted again.
    Reopened,
}

/// How an action turned out.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum EvidenceResult {
    /// The action did what it set out to do; for `Verified`, the live object matches.
    Succeeded,
    /// The action failed; for `Verified`, the live object still does not match.
    Failed,
}

/// One thing done to the asset, and what it proved.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// When it happened.
    pub time: Time,
    /// What was done.
    pub action: EvidenceAction,
    /// Who did it: a field manager (`driftwarden` for the operator), an approver, or
    /// `external` for a change made outside driftwarden.
    #[schemars(length(min = 1, max = 253))]
    pub actor: String,
    /// The resourceVersion of the asset as read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// The SHA-256 of the governed fields as declared (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_hash: Option<String>,
    /// The SHA-256 of the governed fields as read from the live object (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_hash: Option<String>,
    /// How it turned out.
    pub result: EvidenceResult,
    /// Details for a person. Never a Secret value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub message: Option<String>,
    /// For an approval: the class of the fix it was given for. The approval holds for that
    /// class only: should the finding's fix become another class, it lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<RemediationClass>,
    /// How the Secret values in the hashes were fingerprinted. Set on records with hashes;
    /// a record with hashes and without this field was written before fingerprints were
    /// keyed, with `sha256-48`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint_scheme: Option<FingerprintScheme>,
}

impl Evidence {
    /// The scheme the Secret values in this record's hashes were fingerprinted with:
    /// `None` for a record without hashes; [`FingerprintScheme::Sha256_48`] for one written
    /// before the scheme was recorded.
    pub fn fingerprint_scheme(&self) -> Option<FingerprintScheme> {
        let hashed = self.desired_hash.is_some() || self.live_hash.is_some();
        hashed.then(|| self.fingerprint_scheme.unwrap_or(FingerprintScheme::Sha256_48))
    }
}

/// How the Secret values in an evidence record's hashes were fingerprinted:
/// `hmac-sha256-128` (keyed with the installation's key) or `sha256-48` (unkeyed, before
/// fingerprints were keyed). A record with hashes and no scheme used `sha256-48`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum FingerprintScheme {
    /// `sha256:` and the first 12 hex digits of the value's SHA-256, with no key (before
    /// fingerprints were keyed).
    #[serde(rename = "sha256-48")]
    Sha256_48,
    /// `hmac-sha256:` and the first 32 hex digits of the value's HMAC-SHA-256 under the
    /// installation's key.
    #[serde(rename = "hmac-sha256-128")]
    HmacSha256_128,
}

impl FingerprintScheme {
    /// The scheme of a fingerprint, from how it starts; `None` for another value.
    pub fn of(fingerprint: &str) -> Option<Self> {
        if fingerprint.starts_with("hmac-sha256:") {
            Some(Self::HmacSha256_128)
        } else if fingerprint.starts_with("sha256:") {
            Some(Self::Sha256_48)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::api::testing::{admit, admit_update, admit_value, assert_rejected};

    const FINDING: &str = r##"
apiVersion: driftwarden.dev/v1alpha1
kind: Finding
metadata:
  name: checkout-deployment-5f2c
  namespace: shop
spec:
  campaign: no-token-automount
  asset:
    apiVersion: apps/v1
    kind: Deployment
    namespace: shop
    name: checkout
    uid: 6b1f0c52-2f0e-4a55-9d1b-7b0e5f0e8c11
  control: shop/web-hardening
  severity: High
  owner:
    team: shop-platform
    contact: "#shop-oncall"
  ticket: SHOP-1234
  approval:
    by: alice@example.com
    reason: Rollout during the Tuesday window is fine
    at: "2026-04-02T09:00:00Z"
status:
  observedGeneration: 3
  conditions:
    - type: Ready
      status: "True"
      reason: Verified
      message: the live object matches the declared state
      observedGeneration: 3
      lastTransitionTime: "2026-04-02T09:01:10Z"
  state: Closed
  lastTransitionTime: "2026-04-02T09:01:10Z"
  recurrences: 1
  class: Rollout
  paths: ["/spec/template/spec/automountServiceAccountToken"]
  attribution:
    changedBy: kubectl-edit
    changedAt: "2026-03-30T16:42:00Z"
  evidence:
    - time: "2026-04-01T08:00:00Z"
      action: Detected
      actor: kubectl-edit
      resourceVersion: "88121"
      desiredHash: 9f2c0e
      liveHash: 41aa07
      result: Succeeded
    - time: "2026-04-02T09:01:00Z"
      action: Applied
      actor: driftwarden
      resourceVersion: "90210"
      result: Succeeded
      message: approved by alice@example.com
    - time: "2026-04-02T09:01:10Z"
      action: Verified
      actor: driftwarden
      resourceVersion: "90210"
      desiredHash: 9f2c0e
      liveHash: 9f2c0e
      result: Succeeded
"##;

    fn finding() -> Value {
        serde_yaml::from_str(FINDING).unwrap()
    }

    #[test]
    fn example_round_trips_unchanged_and_is_admitted() {
        let parsed: Finding = serde_yaml::from_str(FINDING).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), finding());
        assert_eq!(parsed.spec.severity, Severity::High);
        let status = parsed.status.as_ref().unwrap();
        assert_eq!(status.state, FindingState::Closed);
        assert_eq!(status.evidence[2].action, EvidenceAction::Verified);
        assert_eq!(status.attribution.as_ref().unwrap().changed_by, "kubectl-edit");
        assert_eq!(admit::<Finding>(FINDING), Ok(()));
        parsed.validate_cel().unwrap();
    }

    #[test]
    fn evidence_written_before_fingerprints_were_keyed_still_reads() {
        // A record as the operator wrote it before the scheme was recorded: hashes over
        // `sha256:` fingerprints, no `fingerprintScheme`.
        let old: Evidence = serde_json::from_value(json!({
            "time": "2026-04-02T09:01:10Z", "action": "Verified", "actor": "driftwarden",
            "resourceVersion": "90210", "desiredHash": "9f2c0e", "liveHash": "9f2c0e", "result": "Succeeded",
            "message": "desired sha256:f52fbd32b2b3"
        }))
        .unwrap();
        assert_eq!(old.fingerprint_scheme, None);
        assert_eq!(old.fingerprint_scheme(), Some(FingerprintScheme::Sha256_48));
        assert!(!serde_json::to_value(&old).unwrap().as_object().unwrap().contains_key("fingerprintScheme"));

        let mut new = old.clone();
        new.fingerprint_scheme = Some(FingerprintScheme::HmacSha256_128);
        let written = serde_json::to_value(&new).unwrap();
        assert_eq!(written["fingerprintScheme"], "hmac-sha256-128");
        assert_eq!(serde_json::from_value::<Evidence>(written).unwrap(), new);
        let mut value = finding();
        value["status"]["evidence"][2]["fingerprintScheme"] = json!("hmac-sha256-128");
        assert_eq!(admit_value::<Finding>(&value, None), Ok(()));
        value["status"]["evidence"][2]["fingerprintScheme"] = json!("md5");
        assert_rejected(admit_value::<Finding>(&value, None), "Unsupported value");

        let unhashed = Evidence { desired_hash: None, live_hash: None, ..old };
        assert_eq!(unhashed.fingerprint_scheme(), None);
        assert_eq!(FingerprintScheme::of("sha256:f52fbd32b2b3"), Some(FingerprintScheme::Sha256_48));
        assert_eq!(
            FingerprintScheme::of("hmac-sha256:95ae1e21176bbddf0f7df3c28e132061"),
            Some(FingerprintScheme::HmacSha256_128)
        );
        assert_eq!(FingerprintScheme::of("plain"), None);
    }

    #[test]
    fn a_new_finding_is_open() {
        let status: FindingStatus = serde_json::from_value(json!({})).unwrap();
        assert_eq!(status.state, FindingState::Open);
        assert!(status.conditions.is_empty() && status.evidence.is_empty());
    }

    #[test]
    fn what_a_finding_is_about_cannot_change() {
        let cases = [
            ("/spec/campaign", json!("another-campaign"), "campaign cannot be changed"),
            ("/spec/control", json!("ClusterAdminBindings"), "control cannot be changed"),
            ("/spec/asset/name", json!("cart"), "the asset cannot be changed"),
            ("/spec/asset/kind", json!("StatefulSet"), "the asset cannot be changed"),
            ("/spec/asset/namespace", json!("payments"), "the asset cannot be changed"),
        ];
        for (pointer, changed, expected) in cases {
            let mut value = finding();
            *value.pointer_mut(pointer).unwrap() = changed;
            let new = serde_json::to_string(&value).unwrap();
            assert_rejected(admit_update::<Finding>(FINDING, &new), expected);
        }
        let mut value = finding();
        value["spec"]["asset"].as_object_mut().unwrap().remove("namespace");
        assert_rejected(
            admit_update::<Finding>(FINDING, &serde_json::to_string(&value).unwrap()),
            "the asset cannot be changed",
        );
    }

    #[test]
    fn owners_may_update_ticket_approval_and_the_asset_uid() {
        let mut value = finding();
        value["spec"]["asset"]["uid"] = json!("0d6f3a2e-0000-4000-8000-000000000001");
        value["spec"]["ticket"] = json!("https://tickets.example.com/SHOP-1299");
        value["spec"]["approval"] = json!({"by": "bob@example.com", "reason": "approved in the change board"});
        value["spec"]["severity"] = json!("Critical");
        value["spec"]["owner"] = json!({"team": "unowned"});
        assert_eq!(admit_update::<Finding>(FINDING, &serde_json::to_string(&value).unwrap()), Ok(()));

        let old: Finding = serde_yaml::from_str(FINDING).unwrap();
        let new: Finding = serde_json::from_value(value).unwrap();
        new.validate_cel_update(&old).unwrap();
        assert!(new.spec.owner.is_unowned());
    }

    #[test]
    fn closed_sets_and_bounds() {
        let cases = [
            ("/spec/severity", json!("Severe"), "Unsupported value"),
            ("/status/state", json!("Done"), "Unsupported value"),
            ("/status/evidence/0/action", json!("Fixed"), "Unsupported value"),
            ("/status/evidence/0/result", json!("Maybe"), "Unsupported value"),
            ("/spec/approval/by", json!(""), "should be at least 1 chars long"),
            ("/spec/approval/reason", json!(""), "should be at least 1 chars long"),
            ("/spec/owner/team", json!(""), "should be at least 1 chars long"),
        ];
        for (pointer, bad, expected) in cases {
            let mut value = finding();
            *value.pointer_mut(pointer).unwrap() = bad;
            assert_rejected(admit_value::<Finding>(&value, None), expected);
        }
        let mut value = finding();
        let record = value["status"]["evidence"][0].clone();
        value["status"]["evidence"] = Value::Array(vec![record; MAX_EVIDENCE + 1]);
        assert_rejected(admit_value::<Finding>(&value, None), "must have at most 20 items");
    }

    #[test]
    fn severities_sort_most_severe_first_and_states_say_when_done() {
        let mut severities = vec![Severity::Low, Severity::Critical, Severity::Info, Severity::High, Severity::Medium];
        severities.sort();
        assert_eq!(severities, [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info]);
        let resolved: Vec<FindingState> = [
            FindingState::Open,
            FindingState::Remediating,
            FindingState::Verifying,
            FindingState::Closed,
            FindingState::Escalated,
            FindingState::Excepted,
            FindingState::Reopened,
        ]
        .into_iter()
        .filter(|s| s.is_resolved())
        .collect();
        assert_eq!(resolved, [FindingState::Closed, FindingState::Excepted]);
    }
}
