//! Findings as the operator keeps and writes them: its memory of each asset's finding
//! ([`FindingEntry`]), the Finding's name and namespace ([`finding_name`],
//! [`finding_namespace`]), the part of it the operator owns ([`finding_body`]) and what it
//! reads back from a watched one ([`read_finding`]). How a finding moves from state to state
//! is [`crate::engine::campaign::step`].

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::campaigns::{CampaignEntry, SpecError};
use crate::api::common::Owner;
use crate::api::finding::{Approval, FindingSpec, FindingState, FindingStatus, Severity};
use crate::engine::campaign::FindingSummary;
use crate::keys::ObjectKey;

/// The label every Finding carries: the campaign it belongs to.
pub const CAMPAIGN_LABEL: &str = "driftwarden.dev/campaign";

/// One asset's finding.
#[derive(Debug, Clone)]
pub struct FindingEntry {
    pub name: String,
    pub namespace: String,
    pub asset_uid: Option<String>,
    pub severity: Severity,
    pub owner: Owner,
    /// The desired value of every offending path (Secret data as a keyed fingerprint), for evidence.
    pub desired: Vec<(String, Value)>,
    /// People's fields of the spec, as last watched.
    pub ticket: Option<String>,
    pub approval: Option<Approval>,
    pub status: FindingStatus,
    /// When the Finding was created (its `creationTimestamp`), or first seen.
    pub opened: Timestamp,
    /// What the operator last wrote, as digests ([`Written::of`]): the spec it owns, and the
    /// status. A copy of each would double what every finding costs.
    pub written_spec: Option<Written>,
    pub written_status: Option<Written>,
    pub writing: bool,
    pub write_failures: u32,
    pub retry_at: Option<Timestamp>,
    /// A fresh read of the asset is under way; failed reads in a row, and when the next
    /// may be tried.
    pub verifying: bool,
    pub read_failures: u32,
    pub verify_retry_at: Option<Timestamp>,
    /// For a check's finding: the fix the check proposes, and what it reported.
    pub control_fix: Option<crate::identity::ControlFix>,
    pub summary: Option<String>,
    /// The control the finding came from (see `FindingSpec::control`).
    pub control: String,
    /// What the API server said when asked whether the approval's approver holds the verb
    /// its fix needs: `(approval, verb, allowed)`, `allowed` being `None` while it is asked.
    /// Asked once per approval: a refused one counts once given again after the grant.
    pub approver_review: Option<(Approval, &'static str, Option<bool>)>,
    /// Whether the approval that lapsed (its fix became another class) was announced.
    pub lapse_announced: bool,
    /// Approved fixes that failed in a row, and when the next may be tried.
    pub fix_failures: u32,
    pub fix_retry_at: Option<Timestamp>,
}

/// The SHA-256 of what was written (its JSON): enough to tell whether it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written([u8; 32]);

impl Written {
    /// The digest of `value` as JSON.
    pub fn of(value: &impl serde::Serialize) -> Self {
        let json = serde_json::to_vec(value).unwrap_or_default();
        Self(Sha256::digest(&json).into())
    }
}

impl FindingEntry {
    pub fn summary(&self, asset: &ObjectKey) -> FindingSummary {
        FindingSummary {
            name: self.name.clone(),
            asset: asset.to_ref(self.asset_uid.clone()),
            severity: self.severity,
            state: self.status.state,
            opened: self.opened,
        }
    }

    /// Whether something the operator owns differs from what it last wrote.
    pub fn needs_write(&self, spec: &Value) -> bool {
        self.written_spec != Some(Written::of(spec)) || self.written_status != Some(Written::of(&self.status))
    }
}

/// The name of the Finding of `campaign` about `asset`: readable, and unique per campaign
/// and asset (a hash suffix keeps long names within 253 characters).
pub fn finding_name(campaign: &str, asset: &ObjectKey) -> String {
    let readable = format!("{campaign}.{}.{}", asset.kind.kind.to_lowercase(), asset.name);
    if readable.len() <= 253 {
        return readable;
    }
    let digest = hex::encode(Sha256::digest(format!("{campaign}/{}/{asset}", asset.kind.api_version)));
    let mut cut = 253 - 11;
    while !readable.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", readable[..cut].trim_end_matches(['.', '-']), &digest[..10])
}

/// The namespace a finding lives in: the asset's, or the operator's for cluster-scoped
/// assets.
pub fn finding_namespace(asset: &ObjectKey, operator_namespace: &str) -> String {
    asset.namespace.clone().unwrap_or_else(|| operator_namespace.to_string())
}

/// The part of a Finding the operator owns (server-side apply with its field manager):
/// people's `ticket` and `approval` are never in it.
pub fn finding_body(campaign: &CampaignEntry, control: &str, asset: &ObjectKey, finding: &FindingEntry) -> Value {
    let spec = FindingSpec {
        campaign: campaign.name.clone(),
        asset: asset.to_ref(finding.asset_uid.clone()),
        control: control.to_string(),
        severity: finding.severity,
        owner: finding.owner.clone(),
        ticket: None,
        approval: None,
    };
    let mut metadata = json!({
        "name": finding.name,
        "namespace": finding.namespace,
        "labels": {CAMPAIGN_LABEL: campaign.name},
    });
    if let Some(uid) = &campaign.uid {
        metadata["ownerReferences"] = json!([{
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
            "name": campaign.name, "uid": uid, "controller": true, "blockOwnerDeletion": false,
        }]);
    }
    json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "metadata": metadata, "spec": spec})
}

/// What the loop learns from a watched Finding: its campaign, its asset, people's fields and
/// the status as stored (to carry on after a restart).
#[derive(Debug, Clone)]
pub struct WatchedFinding {
    pub name: String,
    pub namespace: String,
    pub spec: FindingSpec,
    pub status: Option<FindingStatus>,
    pub created: Option<Timestamp>,
    /// The uid of its controller owner when that is a RemediationCampaign of the campaign
    /// it names; `None` without such an owner.
    pub campaign_uid: Option<String>,
    /// Its own uid, for the Events that mark a forged Finding.
    pub uid: Option<String>,
}

impl WatchedFinding {
    /// Why this Finding is not one the operator would have written for the campaign (uid
    /// `campaign_uid`, when known): it names the campaign and asset of another finding but
    /// lives elsewhere (for a namespaced asset, not in the asset's namespace), or lacks the
    /// campaign's owner reference. `None` for a genuine one. A forged Finding is ignored:
    /// its approval is never applied to the real finding.
    pub fn forgery(&self, operator_namespace: &str, campaign_uid: Option<&str>) -> Option<String> {
        let asset = ObjectKey::from_ref(&self.spec.asset);
        let namespace = finding_namespace(&asset, operator_namespace);
        let name = finding_name(&self.spec.campaign, &asset);
        if self.namespace != namespace || self.name != name {
            return Some(format!(
                "a Finding of campaign {} about {asset} is {namespace}/{name}, not {}/{}: only the operator writes \
                 Findings, and this one is ignored",
                self.spec.campaign, self.namespace, self.name
            ));
        }
        match (campaign_uid, self.campaign_uid.as_deref()) {
            (Some(expected), Some(owner)) if expected == owner => None,
            (None, _) => None,
            _ => Some(format!(
                "it is not owned by RemediationCampaign {} (no controller reference with its uid): only the \
                 operator writes Findings, and this one is ignored",
                self.spec.campaign
            )),
        }
    }
}

/// Reads a watched Finding.
pub fn read_finding(object: &Value) -> Result<WatchedFinding, SpecError> {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_string);
    let spec: FindingSpec = serde_json::from_value(object.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|source| SpecError::Parse { source })?;
    let status = object.get("status").cloned().and_then(|s| serde_json::from_value::<FindingStatus>(s).ok());
    Ok(WatchedFinding {
        name: text("/metadata/name").unwrap_or_default(),
        namespace: text("/metadata/namespace").unwrap_or_default(),
        status,
        created: text("/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
        campaign_uid: object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|owner| {
                owner.get("controller") == Some(&Value::Bool(true))
                    && owner.get("kind").and_then(Value::as_str) == Some("RemediationCampaign")
                    && owner.get("apiVersion").and_then(Value::as_str) == Some("driftwarden.dev/v1alpha1")
                    && owner.get("name").and_then(Value::as_str) == Some(spec.campaign.as_str())
            })
            .and_then(|owner| owner.get("uid").and_then(Value::as_str).map(str::to_string)),
        uid: text("/metadata/uid"),
        spec,
    })
}

/// A finding entry for a newly seen asset.
pub fn new_finding(name: String, namespace: String, severity: Severity, owner: Owner, now: Timestamp) -> FindingEntry {
    FindingEntry {
        name,
        namespace,
        asset_uid: None,
        severity,
        owner,
        desired: Vec::new(),
        ticket: None,
        approval: None,
        status: FindingStatus {
            state: FindingState::Open,
            last_transition_time: Some(Time(now)),
            ..Default::default()
        },
        opened: now,
        written_spec: None,
        written_status: None,
        writing: false,
        write_failures: 0,
        retry_at: None,
        verifying: false,
        read_failures: 0,
        verify_retry_at: None,
        control_fix: None,
        summary: None,
        control: String::new(),
        approver_review: None,
        lapse_announced: false,
        fix_failures: 0,
        fix_retry_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KindKey;

    fn key(ns: Option<&str>, kind: &str, name: &str) -> ObjectKey {
        ObjectKey { kind: KindKey::new("v1", kind), namespace: ns.map(str::to_string), name: name.to_string() }
    }

    #[test]
    fn finding_names_are_readable_unique_and_short_enough() {
        let name = finding_name("tokens", &key(Some("shop"), "ServiceAccount", "web"));
        assert_eq!(name, "tokens.serviceaccount.web");
        let long = "x".repeat(250);
        let a = finding_name("tokens", &key(Some("shop"), "ConfigMap", &format!("{long}a")));
        let b = finding_name("tokens", &key(Some("shop"), "ConfigMap", &format!("{long}b")));
        assert!(a.len() <= 253 && b.len() <= 253);
        assert_ne!(a, b);
        assert_eq!(finding_namespace(&key(None, "Namespace", "x"), "driftwarden-system"), "driftwarden-system");
    }

    #[test]
    fn the_finding_body_holds_only_what_the_operator_owns() {
        let campaign = CampaignEntry { uid: Some("u1".into()), ..CampaignEntry::new("tokens") };
        let asset = key(Some("shop"), "ConfigMap", "a");
        let mut finding =
            new_finding("n".into(), "shop".into(), Severity::Low, Owner::unowned(), Timestamp::UNIX_EPOCH);
        finding.ticket = Some("OPS-1".into());
        let body = finding_body(&campaign, "shop/p", &asset, &finding);
        assert!(body["spec"].get("ticket").is_none() && body["spec"].get("approval").is_none());
        assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(body["metadata"]["labels"][CAMPAIGN_LABEL], "tokens");
        assert_eq!(body["spec"]["owner"]["team"], "unowned");
    }

    #[test]
    fn only_a_finding_the_operator_would_have_written_is_genuine() {
        let campaign = CampaignEntry { uid: Some("u1".into()), ..CampaignEntry::new("tokens") };
        let asset = key(Some("shop"), "ConfigMap", "a");
        let name = finding_name("tokens", &asset);
        let finding = new_finding(name.clone(), "shop".into(), Severity::Low, Owner::unowned(), Timestamp::UNIX_EPOCH);
        let genuine = read_finding(&finding_body(&campaign, "shop/p", &asset, &finding)).unwrap();
        assert_eq!(genuine.campaign_uid.as_deref(), Some("u1"));
        assert_eq!(genuine.forgery("driftwarden-system", Some("u1")), None);
        // Another campaign of the same name (deleted and created again) does not own it.
        assert!(genuine.forgery("driftwarden-system", Some("u2")).unwrap().contains("not owned by"));
        // In the tenant's namespace, about an asset of another.
        let mut elsewhere = genuine.clone();
        elsewhere.namespace = "tenant".into();
        let forgery = elsewhere.forgery("driftwarden-system", Some("u1")).unwrap();
        assert!(forgery.contains(&format!("is shop/{name}, not tenant/{name}")), "{forgery}");
        let mut renamed = genuine.clone();
        renamed.name = "approve-me".into();
        assert!(renamed.forgery("driftwarden-system", Some("u1")).is_some());
        // Without the owner reference.
        let mut body = finding_body(&campaign, "shop/p", &asset, &finding);
        body["metadata"].as_object_mut().unwrap().remove("ownerReferences");
        let unowned = read_finding(&body).unwrap();
        assert!(unowned.forgery("driftwarden-system", Some("u1")).is_some());
        assert_eq!(unowned.forgery("driftwarden-system", None), None, "a campaign whose uid is not known yet");
    }

    #[test]
    fn a_finding_needs_a_write_until_what_it_holds_was_written() {
        let campaign = CampaignEntry::new("tokens");
        let asset = key(Some("shop"), "ConfigMap", "a");
        let mut finding =
            new_finding("n".into(), "shop".into(), Severity::Low, Owner::unowned(), Timestamp::UNIX_EPOCH);
        let body = finding_body(&campaign, "shop/p", &asset, &finding);
        assert!(finding.needs_write(&body), "never written");
        finding.written_spec = Some(Written::of(&body));
        finding.written_status = Some(Written::of(&finding.status));
        assert!(!finding.needs_write(&body));
        finding.status.state = FindingState::Escalated;
        assert!(finding.needs_write(&body), "the status moved");
        finding.written_status = Some(Written::of(&finding.status));
        finding.severity = Severity::High;
        assert!(finding.needs_write(&finding_body(&campaign, "shop/p", &asset, &finding)), "the spec moved");
    }
}
