//! What the operator remembers about each RemediationCampaign between events
//! ([`CampaignEntry`]): its spec as read and checked ([`read_spec`]), its findings by asset,
//! the wave under way and what was last written. The campaign's decisions (finding states,
//! waves, accounting) are [`crate::engine::campaign`]'s; its Findings are
//! [`super::findings`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::findings::FindingEntry;
use crate::api::campaign::{CampaignStatus, ControlSource, MAX_WAVE_SIZE, PolicyKind, RemediationCampaignSpec};
use crate::api::common::{DateError, DurationError, check_date};
use crate::api::reasons;
use crate::engine::backoff::Backoff;
use crate::engine::campaign::WaveOutcome;
use crate::engine::selector::SelectorError;
use crate::keys::{ObjectKey, PolicyKey};

/// Owner label keys used when neither the campaign nor its policy names any.
pub const DEFAULT_OWNER_LABELS: &[&str] = &["driftwarden.dev/owner", "team"];

/// How long a due wave waits for the Findings of its candidates still being written: a
/// wave fixes only findings the cluster holds, and one left out waits a whole
/// `waveInterval` for the next wave. A Finding whose write keeps failing holds no wave
/// longer than this.
pub const WAVE_HOLD: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);

/// One campaign.
#[derive(Debug)]
pub struct CampaignEntry {
    pub name: String,
    pub uid: Option<String>,
    pub generation: Option<i64>,
    /// The spec, or what is wrong with it.
    pub spec: Result<RemediationCampaignSpec, SpecError>,
    /// The findings, by asset.
    pub findings: BTreeMap<ObjectKey, FindingEntry>,
    /// Whether the control has been evaluated since the operator started.
    pub evaluated: bool,
    /// When the last wave started, and how it turned out (since the spec last changed).
    pub last_wave: Option<Timestamp>,
    pub last_outcome: Option<WaveOutcome>,
    /// Since when a due wave waits for Findings still being written (see
    /// [`WAVE_HOLD`]).
    pub wave_held_since: Option<Timestamp>,
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
    pub unwritten: BTreeSet<ObjectKey>,
    /// For a check: the assets its last run reported.
    pub reported: BTreeSet<ObjectKey>,
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
    /// Findings naming this campaign that the operator did not write, by namespace and
    /// name: ignored, counted in the status.
    pub forged: BTreeSet<(String, String)>,
    /// Why handling the campaign failed inside driftwarden (a caught panic): it is left
    /// alone, `Stalled`, until its spec changes.
    pub internal_error: Option<String>,
}

/// A wave under way.
#[derive(Debug, Default, Clone)]
pub struct Wave {
    pub pending: BTreeSet<ObjectKey>,
    pub tried: u32,
    pub failed: u32,
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
            wave_held_since: None,
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
            forged: BTreeSet::new(),
            internal_error: None,
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
    /// A date out of the bounds the CRD states.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A count or percentage out of the range the CRD states.
    #[error("{field} must be from {min} to {max}, got {value}")]
    OutOfRange { field: String, value: u32, min: u32, max: u32 },
    /// The ServiceAccount to fix as is not named as Kubernetes names one.
    #[error("{0}")]
    ServiceAccount(String),
    /// A label selector of the scope is not valid.
    #[error("spec.scope.{field}{}: {}", .source.field().map(|f| format!(".{f}")).unwrap_or_default(), .source.problem())]
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
    let range = |field: &str, value: u32, min: u32, max: u32| {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(SpecError::OutOfRange { field: field.to_string(), value, min, max })
        }
    };
    range("spec.strategy.waveSize", spec.strategy.wave_size, 1, MAX_WAVE_SIZE)?;
    range("spec.strategy.pauseOnFailurePercent", spec.strategy.pause_on_failure_percent.into(), 0, 100)?;
    range("spec.successCriteria.compliantPercent", spec.success_criteria.compliant_percent.into(), 0, 100)?;
    for (index, checkpoint) in spec.checkpoints.iter().enumerate() {
        let field = format!("spec.checkpoints[{index}].compliantPercent");
        range(&field, checkpoint.compliant_percent.into(), 0, 100)?;
    }
    if let Some(account) = &spec.service_account_ref {
        account.check("spec.serviceAccountRef").map_err(SpecError::ServiceAccount)?;
    }
    check_date("spec.deadline", spec.deadline.0)?;
    for (index, checkpoint) in spec.checkpoints.iter().enumerate() {
        check_date(&format!("spec.checkpoints[{index}].date"), checkpoint.date.0)?;
    }
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

/// How long to wait after failures in a row of a campaign's requests (Finding and status
/// writes, fresh reads of assets, approved fixes), and of exception status writes: 0.5 s
/// doubling up to 5 min.
pub const BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(300));

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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

        let mut far = base.clone();
        far["control"]["policyRef"]["namespace"] = json!("shop");
        far["deadline"] = json!("9000-01-01T00:00:00Z");
        let problem = read_spec(&json!({"spec": far})).unwrap_err().to_string();
        assert_eq!(problem, "spec.deadline: 9000-01-01T00:00:00Z must be a date from 1970 to 2999");

        let mut crowded = base.clone();
        crowded["control"]["policyRef"]["namespace"] = json!("shop");
        crowded["strategy"] = json!({"waveSize": 20000});
        let problem = read_spec(&json!({"spec": crowded})).unwrap_err().to_string();
        assert_eq!(problem, "spec.strategy.waveSize must be from 1 to 10000, got 20000");
        let mut over = base.clone();
        over["control"]["policyRef"]["namespace"] = json!("shop");
        over["successCriteria"] = json!({"compliantPercent": 250});
        let problem = read_spec(&json!({"spec": over})).unwrap_err().to_string();
        assert_eq!(problem, "spec.successCriteria.compliantPercent must be from 0 to 100, got 250");

        let mut bad_selector = base.clone();
        bad_selector["control"]["policyRef"]["namespace"] = json!("shop");
        bad_selector["scope"] = json!({"selector": {"matchLabels": {"tier": "web server"}}});
        let problem = read_spec(&json!({"spec": bad_selector})).unwrap_err().to_string();
        assert!(
            problem.starts_with("spec.scope.selector.matchLabels.tier: \"web server\" is not a valid label value"),
            "{problem}"
        );

        let mut bad_account = base.clone();
        bad_account["control"]["policyRef"]["namespace"] = json!("shop");
        bad_account["serviceAccountRef"] = json!({"namespace": "platform", "name": "-fixer"});
        let problem = read_spec(&json!({"spec": bad_account})).unwrap_err().to_string();
        assert!(problem.starts_with("spec.serviceAccountRef: \"-fixer\" is not a ServiceAccount name"), "{problem}");
    }
}
