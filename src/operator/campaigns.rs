//! Campaigns as the operator holds them: each RemediationCampaign with its findings, one
//! per asset, and what the loop needs to drive them (waves in flight, what was last
//! written). The decisions themselves are the core's ([`crate::engine::campaign`]); this
//! module reads the watched objects, names findings, maps scopes and severities, and builds
//! the bodies the loop writes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::{ObjKey, PolicyKey};
use crate::api::RemediationClass;
use crate::api::campaign::{CampaignScope, CampaignStatus, ControlSource, PolicyKind, RemediationCampaignSpec};
use crate::api::common::{DurationError, Owner};
use crate::api::finding::{Approval, FindingSpec, FindingState, FindingStatus, Severity};
use crate::api::reasons;
use crate::engine::backoff::Backoff;
use crate::engine::campaign::{FindingSummary, WaveOutcome};
use crate::engine::selector::{SelectorError, selector_matches};

/// The label every Finding carries: the campaign it belongs to.
pub const CAMPAIGN_LABEL: &str = "driftwarden.dev/campaign";

/// Owner label keys used when neither the campaign nor its policy names any.
pub const DEFAULT_OWNER_LABELS: &[&str] = &["driftwarden.dev/owner", "team"];

/// One campaign.
#[derive(Debug)]
pub struct CampaignEntry {
    pub name: String,
    pub uid: Option<String>,
    pub generation: Option<i64>,
    /// The spec, or what is wrong with it.
    pub spec: Result<RemediationCampaignSpec, SpecError>,
    /// The findings, by asset.
    pub findings: BTreeMap<ObjKey, FindingEntry>,
    /// Whether the control has been evaluated since the operator started.
    pub evaluated: bool,
    /// When the last wave started, and how it turned out (since the spec last changed).
    pub last_wave: Option<Timestamp>,
    pub last_outcome: Option<WaveOutcome>,
    /// The wave under way: its assets still being fixed, and its tally so far.
    pub wave: Option<Wave>,
    /// The status as the core last accounted it (its conditions' history), as published
    /// (with the loop's own conditions on top), and as last written.
    pub accounted: CampaignStatus,
    pub status: CampaignStatus,
    pub written: Option<CampaignStatus>,
    pub writing: bool,
    pub status_failures: u32,
    pub retry_status_at: Option<Timestamp>,
    /// Why the control cannot run (a check's parameters), when it cannot.
    pub control_problem: Option<String>,
    /// Findings that may differ from what was last written: the only ones a flush looks at.
    pub unwritten: BTreeSet<ObjKey>,
    /// For a check: the assets its last run reported.
    pub reported: BTreeSet<ObjKey>,
    /// How many waves have started (numbered from 1 in the evidence).
    pub waves: u32,
    /// Whether findings may be out of scope or from another control (the spec changed, or
    /// findings were just listed) and must be looked at, to delete those.
    pub prune_due: bool,
    /// Findings being deleted, by namespace and name, with when to stop waiting for the
    /// deletion: a finding of the same name is not written before it is gone.
    pub deleting: BTreeMap<(String, String), Timestamp>,
    /// Why the API server refused the last automatic fix of a check, when it did for lack
    /// of permission: the campaign is not Ready until a fix goes through.
    pub write_denied: Option<String>,
}

/// A wave under way.
#[derive(Debug, Default, Clone)]
pub struct Wave {
    pub pending: BTreeSet<ObjKey>,
    pub tried: u32,
    pub failed: u32,
}

/// One asset's finding.
#[derive(Debug, Clone)]
pub struct FindingEntry {
    pub name: String,
    pub namespace: String,
    pub asset_uid: Option<String>,
    pub severity: Severity,
    pub owner: Owner,
    /// The desired value of every offending path (Secret data as a hash), for evidence.
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
    pub fn summary(&self, asset: &ObjKey) -> FindingSummary {
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

impl CampaignEntry {
    /// A campaign known by name only, until its spec is read.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            uid: None,
            generation: None,
            spec: Err(SpecError::NotRead),
            findings: BTreeMap::new(),
            evaluated: false,
            last_wave: None,
            last_outcome: None,
            wave: None,
            accounted: CampaignStatus::default(),
            status: CampaignStatus::default(),
            written: None,
            writing: false,
            status_failures: 0,
            retry_status_at: None,
            control_problem: None,
            unwritten: BTreeSet::new(),
            reported: BTreeSet::new(),
            waves: 0,
            prune_due: false,
            deleting: BTreeMap::new(),
            write_denied: None,
        }
    }

    /// The policy the campaign follows, when its control is a policy.
    pub fn policy(&self) -> Option<PolicyKey> {
        let spec = self.spec.as_ref().ok()?;
        match spec.control.source()? {
            ControlSource::Policy(policy) => Some(PolicyKey {
                namespace: match policy.kind {
                    PolicyKind::DriftPolicy => Some(policy.namespace.clone().unwrap_or_default()),
                    PolicyKind::ClusterDriftPolicy => None,
                },
                name: policy.name.clone(),
            }),
            ControlSource::Check(_) => None,
        }
    }
}

/// What is wrong with a watched RemediationCampaign or Finding: the field, and why.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The campaign is known by name only (a Finding names it), its spec not read yet.
    #[error("not read yet")]
    NotRead,
    /// The spec does not parse.
    #[error("spec: {source}")]
    Parse {
        #[source]
        source: serde_json::Error,
    },
    /// The wave interval is not a duration.
    #[error("spec.strategy.waveInterval: {source}")]
    WaveInterval {
        #[source]
        source: DurationError,
    },
    /// Neither or both of `policyRef` and `check`.
    #[error("spec.control: set exactly one of policyRef and check")]
    Control,
    /// A DriftPolicy named without its namespace.
    #[error("spec.control.policyRef.namespace: a DriftPolicy needs its namespace")]
    PolicyNamespace,
    /// A label selector of the scope cannot be evaluated.
    #[error("spec.scope.{field}: {source}")]
    Selector {
        field: &'static str,
        #[source]
        source: SelectorError,
    },
}

impl SpecError {
    /// The condition reason it is shown with: the spec cannot be acted on.
    pub fn category(&self) -> &'static str {
        reasons::INVALID_SPEC
    }
}

/// Reads a watched campaign's spec and checks what the schema cannot.
pub fn read_spec(object: &Value) -> Result<RemediationCampaignSpec, SpecError> {
    let spec: RemediationCampaignSpec = serde_json::from_value(object.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|source| SpecError::Parse { source })?;
    spec.strategy.wave_interval().map_err(|source| SpecError::WaveInterval { source })?;
    match spec.control.source() {
        None => return Err(SpecError::Control),
        Some(ControlSource::Policy(policy)) => {
            if policy.kind == PolicyKind::DriftPolicy && policy.namespace.is_none() {
                return Err(SpecError::PolicyNamespace);
            }
        }
        Some(ControlSource::Check(_)) => {}
    }
    for (field, selector) in [("namespaceSelector", &spec.scope.namespace_selector), ("selector", &spec.scope.selector)]
    {
        if let Some(selector) = selector {
            crate::engine::selector::validate_selector(selector)
                .map_err(|source| SpecError::Selector { field, source })?;
        }
    }
    Ok(spec)
}

/// Whether `scope` selects the asset `key` with `labels`, in a namespace with
/// `namespace_labels`.
pub fn in_scope(
    scope: &CampaignScope,
    key: &ObjKey,
    labels: &BTreeMap<String, String>,
    namespace_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let namespace = key.namespace.as_deref();
    if !scope.namespaces.is_empty() && !namespace.is_some_and(|ns| scope.namespaces.iter().any(|n| n == ns)) {
        return false;
    }
    fn as_refs(map: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
        map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    if let Some(selector) = &scope.namespace_selector {
        let Some(namespace_labels) = namespace_labels else { return false };
        if !selector_matches(selector, &as_refs(namespace_labels)).unwrap_or(false) {
            return false;
        }
    }
    if let Some(selector) = &scope.selector
        && !selector_matches(selector, &as_refs(labels)).unwrap_or(false)
    {
        return false;
    }
    !scope.exclude.iter().any(|exclusion| {
        exclusion.namespace.as_deref().is_none_or(|ns| namespace == Some(ns))
            && exclusion.name.as_deref().is_none_or(|name| name == key.name)
            && exclusion.kind.as_deref().is_none_or(|kind| kind == key.kind.kind)
    })
}

/// The name of the Finding of `campaign` about `asset`: readable, and unique per campaign
/// and asset (a hash suffix keeps long names within 253 characters).
pub fn finding_name(campaign: &str, asset: &ObjKey) -> String {
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
pub fn finding_namespace(asset: &ObjKey, operator_namespace: &str) -> String {
    asset.namespace.clone().unwrap_or_else(|| operator_namespace.to_string())
}

/// How severe a policy drift is, by what fixing it touches: privilege-bearing fields are
/// critical (the ticket path), Secret data high, workload restarts and recreations medium,
/// spec and metadata low.
pub fn drift_severity(class: RemediationClass) -> Severity {
    match class {
        RemediationClass::Access => Severity::Critical,
        RemediationClass::SecretData => Severity::High,
        RemediationClass::Rollout | RemediationClass::Recreate | RemediationClass::Create => Severity::Medium,
        RemediationClass::Spec | RemediationClass::Metadata => Severity::Low,
    }
}

/// A finding's severity after a drift of `class` is seen: it only rises while the finding
/// is open (`Severity` sorts the most severe first).
pub fn raised(current: Severity, class: RemediationClass) -> Severity {
    current.min(drift_severity(class))
}

/// The part of a Finding the operator owns (server-side apply with its field manager):
/// people's `ticket` and `approval` are never in it.
pub fn finding_body(campaign: &CampaignEntry, control: &str, asset: &ObjKey, finding: &FindingEntry) -> Value {
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
        spec,
        status,
        created: text("/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
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
        fix_failures: 0,
        fix_retry_at: None,
    }
}

/// How long to wait after failures in a row of a campaign's requests (Finding and status
/// writes, fresh reads of assets, approved fixes), and of exception status writes: 0.5 s
/// doubling up to 5 min.
pub const BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(300));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::campaign::Exclusion;
    use crate::operator::keys::KindKey;

    fn key(ns: Option<&str>, kind: &str, name: &str) -> ObjKey {
        ObjKey { kind: KindKey::new("v1", kind), namespace: ns.map(str::to_string), name: name.to_string() }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn scope_selects_by_namespace_labels_and_exclusions() {
        let scope: CampaignScope = serde_json::from_value(json!({
            "namespaces": ["shop", "pay"],
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "selector": {"matchLabels": {"tier": "web"}},
            "exclude": [{"namespace": "pay", "name": "legacy"}]
        }))
        .unwrap();
        let web = labels(&[("tier", "web")]);
        let prod = labels(&[("env", "prod")]);
        assert!(in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &web, Some(&prod)));
        assert!(!in_scope(&scope, &key(Some("other"), "ConfigMap", "a"), &web, Some(&prod)), "namespace list");
        assert!(!in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &web, Some(&labels(&[]))), "namespace labels");
        assert!(!in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &labels(&[]), Some(&prod)), "asset labels");
        assert!(!in_scope(&scope, &key(Some("pay"), "ConfigMap", "legacy"), &web, Some(&prod)), "excluded");
        assert!(in_scope(&scope, &key(Some("pay"), "ConfigMap", "new"), &web, Some(&prod)));
        let by_kind = CampaignScope {
            exclude: vec![Exclusion { kind: Some("Secret".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(!in_scope(&by_kind, &key(None, "Secret", "x"), &labels(&[]), None));
        assert!(in_scope(&CampaignScope::default(), &key(None, "Namespace", "x"), &labels(&[]), None));
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
    fn severity_follows_what_the_fix_touches() {
        assert_eq!(drift_severity(RemediationClass::Access), Severity::Critical);
        assert_eq!(drift_severity(RemediationClass::SecretData), Severity::High);
        assert_eq!(drift_severity(RemediationClass::Rollout), Severity::Medium);
        assert_eq!(drift_severity(RemediationClass::Metadata), Severity::Low);
        assert_eq!(raised(Severity::Low, RemediationClass::Access), Severity::Critical, "a riskier drift raises it");
        assert_eq!(raised(Severity::High, RemediationClass::Metadata), Severity::High, "never lowered");
    }

    #[test]
    fn invalid_campaign_specs_say_where() {
        let base = json!({"objective": "o", "owner": {"team": "t"}, "deadline": "2027-01-01T00:00:00Z",
                          "control": {"policyRef": {"kind": "DriftPolicy", "name": "p"}}});
        let problem = read_spec(&json!({"spec": base})).unwrap_err().to_string();
        assert!(problem.contains("policyRef.namespace"), "{problem}");
        let mut bad_interval = base.clone();
        bad_interval["control"]["policyRef"]["namespace"] = json!("shop");
        bad_interval["strategy"] = json!({"waveInterval": "soon"});
        let problem = read_spec(&json!({"spec": bad_interval})).unwrap_err();
        assert!(matches!(problem, SpecError::WaveInterval { .. }), "{problem:?}");
        assert!(problem.to_string().contains("waveInterval"), "{problem}");
        assert_eq!(problem.category(), crate::api::reasons::INVALID_SPEC);
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
