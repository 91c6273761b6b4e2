//! What happens next to a drift or a Finding, derived only from what the cluster records:
//! the drift's action and reason, the Finding's state, approval and evidence, its
//! campaign's strategy and waves, and the exception that covers it.

use jiff::{SignedDuration, Timestamp};

use super::style::Tone;
use crate::api::campaign::CampaignMode;
use crate::api::finding::{EvidenceAction, FindingState};
use crate::api::policy::DriftStatus;
use crate::api::reasons;
use crate::api::{DriftException, Finding, RemediationCampaign};

/// One thing to say about what happens next, and how urgent it looks.
pub type Step = (Tone, String);

/// What happens next to a drift a policy lists.
pub fn for_drift(drift: &DriftStatus) -> Step {
    let reason = drift.reason.as_deref().filter(|r| !r.is_empty());
    let owner = drift.owner.as_deref().map_or("its owner".to_string(), |o| format!("team {o}"));
    match drift.action.as_str() {
        "Remediate" => (Tone::Warn, "being fixed now: a server-side apply, then a fresh read verifies it".into()),
        "Escalate" => (Tone::Bad, format!("escalated to {owner}: {}", reason.unwrap_or("a person must act"))),
        "Audit" => (
            Tone::Bad,
            format!(
                "reported to {owner} only: the policy is in Audit mode and fixes nothing (a campaign can roll the fix out)"
            ),
        ),
        "Excepted" => (Tone::Good, reason.unwrap_or("covered by a DriftException").to_string()),
        "Defer" => (Tone::Warn, format!("will be fixed, later: {}", reason.unwrap_or("the fix waits"))),
        other => (Tone::Faint, format!("action {other:?}")),
    }
}

/// What a Finding is waiting for, and what happens next.
pub struct FindingContext<'a> {
    pub finding: &'a Finding,
    /// Its campaign, when it could be read.
    pub campaign: Option<&'a RemediationCampaign>,
    /// The DriftException its evidence says covers it, when it could be read.
    pub exception: Option<&'a DriftException>,
    /// The drift its campaign's policy lists for the asset, when there is one.
    pub drift: Option<&'a DriftStatus>,
    /// The Warning Events on the Finding, oldest first, when they could be read.
    pub warnings: &'a [Warning],
    pub now: Timestamp,
}

/// A Warning Event on a Finding: when it was last seen, its reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub time: Option<Timestamp>,
    pub reason: String,
    pub message: String,
}

/// What happens next to a Finding.
pub fn for_finding(context: &FindingContext<'_>) -> Vec<Step> {
    let finding = context.finding;
    let name = finding.metadata.name.as_deref().unwrap_or_default();
    let namespace = finding.metadata.namespace.as_deref().unwrap_or_default();
    let status = finding.status.clone().unwrap_or_default();
    let team = &finding.spec.owner.team;
    let contact = finding.spec.owner.contact.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
    let mut steps = Vec::new();
    match status.state {
        FindingState::Escalated => match &finding.spec.approval {
            Some(approval) => {
                let recorded = status.evidence.iter().rev().find(|e| e.action == EvidenceAction::Approved);
                // The operator says with a Warning Event when it does not act on an approval.
                let given = approval.at.as_ref().map(|t| t.0);
                let not_acted_on = context.warnings.iter().rev().find(|w| {
                    matches!(w.reason.as_str(), reasons::APPROVAL_NOT_AUTHORIZED | reasons::APPROVAL_LAPSED)
                        && match (w.time, given) {
                            (Some(seen), Some(given)) => seen >= given,
                            _ => true,
                        }
                });
                if let Some(warning) = not_acted_on {
                    steps.push((Tone::Bad, format!("the operator did not act on the approval: {}", warning.message)));
                    return steps;
                }
                steps.push(match recorded.filter(|e| e.actor == approval.by) {
                    Some(record) => (
                        Tone::Warn,
                        format!(
                            "approved by {} (recorded at {}): the operator applies the approved fix and verifies it",
                            approval.by, record.time.0
                        ),
                    ),
                    None => (
                        Tone::Warn,
                        format!(
                            "approved by {}: waiting for the operator to record the approval and apply the fix",
                            approval.by
                        ),
                    ),
                });
            }
            None => {
                let why = status
                    .evidence
                    .iter()
                    .rev()
                    .find(|e| e.action == EvidenceAction::Escalated)
                    .and_then(|e| e.message.as_deref())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                steps.push((Tone::Bad, format!("escalated to team {team}{contact}{why}: a person must act")));
                steps.push((
                    Tone::Bad,
                    format!("approve the fix: kubectl driftwarden approve {name} -n {namespace} --reason '…'"),
                ));
                steps.push((
                    Tone::Bad,
                    "or fix the asset by hand: the operator verifies it and closes the finding".into(),
                ));
                steps.push((
                    Tone::Bad,
                    format!(
                        "or ask for an exception: kubectl driftwarden except finding/{name} -n {namespace} --ticket … \
                         --for 14d --justification '…'"
                    ),
                ));
            }
        },
        FindingState::Open | FindingState::Reopened => steps.extend(waiting_for_a_fix(context, team)),
        FindingState::Remediating => {
            steps.push((
                Tone::Warn,
                "a fix is being applied: a dry run, the apply, then a fresh read verifies it".into(),
            ));
        }
        FindingState::Verifying => {
            steps.push((Tone::Warn, "the fix was applied: waiting for verification against a fresh read".into()));
        }
        FindingState::Closed => {
            let verified = status
                .evidence
                .iter()
                .rev()
                .find(|e| e.action == EvidenceAction::Verified)
                .map(|e| format!(" at {}", e.time.0))
                .unwrap_or_default();
            steps.push((
                Tone::Good,
                format!("closed: the fix was verified{verified}; should the asset drift again, the finding reopens"),
            ));
        }
        FindingState::Excepted => steps.push(excepted(context, &status)),
    }
    if let Some(drift) = context.drift
        && drift.action == "Defer"
    {
        steps.push(for_drift(drift));
    }
    steps
}

/// An open Finding: its campaign's waves fix it, or its owner does.
fn waiting_for_a_fix(context: &FindingContext<'_>, team: &str) -> Vec<Step> {
    let Some(campaign) = context.campaign else {
        return vec![(Tone::Warn, "waiting for a fix (its campaign could not be read)".into())];
    };
    let name = campaign.metadata.name.as_deref().unwrap_or_default();
    let status = campaign.status.clone().unwrap_or_default();
    let ready = status.conditions.iter().find(|c| c.type_ == reasons::types::READY);
    if campaign.spec.paused {
        return vec![(Tone::Warn, format!("campaign {name} is paused: no wave fixes it until it resumes"))];
    }
    if let Some(ready) = ready.filter(|c| c.reason == reasons::WAVE_FAILURE_THRESHOLD_EXCEEDED) {
        return vec![(Tone::Bad, format!("campaign {name}'s waves stopped: {}", ready.message))];
    }
    match campaign.spec.strategy.mode {
        CampaignMode::Manual => vec![(
            Tone::Warn,
            format!(
                "waiting for team {team} to fix it (campaign {name} is Manual): the operator then verifies the fix"
            ),
        )],
        CampaignMode::Auto => {
            let size = campaign.spec.strategy.wave_size;
            let next = status.last_wave_time.as_ref().and_then(|last| {
                let interval = campaign.spec.strategy.wave_interval().ok()?;
                last.0.checked_add(SignedDuration::try_from(interval).ok()?).ok()
            });
            let when = match next {
                Some(next) if next > context.now => format!("at {next}"),
                _ => "due now".to_string(),
            };
            vec![(
                Tone::Warn,
                format!(
                    "will be fixed in a wave of campaign {name}: the next is {when} (at most {size} findings a wave)"
                ),
            )]
        }
    }
}

/// An excepted Finding: which exception covers it, and until when.
fn excepted(context: &FindingContext<'_>, status: &crate::api::finding::FindingStatus) -> Step {
    let Some(exception) = context.exception else {
        let said = status
            .evidence
            .iter()
            .rev()
            .find(|e| e.action == EvidenceAction::Excepted)
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| "covered by a DriftException".into());
        return (Tone::Good, format!("{said}; when it expires, the drift is enforced or escalated again"));
    };
    let name = format!(
        "{}/{}",
        exception.metadata.namespace.as_deref().unwrap_or_default(),
        exception.metadata.name.as_deref().unwrap_or_default()
    );
    let spec = &exception.spec;
    let expires = spec.expires_at.0;
    match expires > context.now {
        true => (
            Tone::Good,
            format!(
                "covered by DriftException {name} until {expires} (approved by {}, ticket {}); then it is enforced or \
                 escalated again",
                spec.approved_by, spec.ticket
            ),
        ),
        false => (Tone::Warn, format!("DriftException {name} expired at {expires}: enforcement resumes")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn finding(state: &str, extra: serde_json::Value) -> Finding {
        let mut value = json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"campaign": "images", "control": "shop/images", "severity": "High",
                     "owner": {"team": "storefront", "contact": "#storefront"},
                     "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}},
            "status": {"state": state, "class": "Rollout", "paths": ["/spec/template/spec/containers/name=app/image"]}
        });
        json_patch::merge(&mut value, &extra);
        serde_json::from_value(value).unwrap()
    }

    fn campaign(strategy: serde_json::Value, status: serde_json::Value) -> RemediationCampaign {
        serde_json::from_value(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": "images"},
            "spec": {"objective": "pinned images", "owner": {"team": "platform"}, "deadline": "2026-06-30T00:00:00Z",
                     "control": {"policyRef": {"kind": "DriftPolicy", "namespace": "shop", "name": "images"}},
                     "strategy": strategy},
            "status": status
        }))
        .unwrap()
    }

    fn said(steps: &[Step]) -> String {
        steps.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n")
    }

    fn context<'a>(finding: &'a Finding, campaign: Option<&'a RemediationCampaign>) -> FindingContext<'a> {
        FindingContext {
            finding,
            campaign,
            exception: None,
            drift: None,
            warnings: &[],
            now: at("2026-04-02T10:00:00Z"),
        }
    }

    #[test]
    fn an_escalated_finding_says_who_must_act_and_how() {
        let escalated = finding(
            "Escalated",
            json!({"status": {"evidence": [{"time": "2026-04-01T08:00:00Z", "action": "Escalated", "actor": "driftwarden",
                                            "result": "Succeeded", "message": "Rollout fixes are not in autoRemediate"}]}}),
        );
        let steps = for_finding(&context(&escalated, None));
        let text = said(&steps);
        assert!(
            text.contains("escalated to team storefront (#storefront) (Rollout fixes are not in autoRemediate)"),
            "{text}"
        );
        assert!(text.contains("kubectl driftwarden approve web-1 -n shop"), "{text}");
        assert!(text.contains("kubectl driftwarden except finding/web-1 -n shop"), "{text}");
        assert_eq!(steps[0].0, Tone::Bad);

        let approved = finding("Escalated", json!({"spec": {"approval": {"by": "alice", "reason": "ok"}}}));
        assert!(said(&for_finding(&context(&approved, None))).contains("approved by alice: waiting for the operator"));
        let recorded = finding(
            "Escalated",
            json!({"spec": {"approval": {"by": "alice", "reason": "ok"}},
                   "status": {"evidence": [{"time": "2026-04-02T09:00:00Z", "action": "Approved", "actor": "alice", "result": "Succeeded"}]}}),
        );
        assert!(
            said(&for_finding(&context(&recorded, None)))
                .contains("approved by alice (recorded at 2026-04-02T09:00:00Z): the operator applies")
        );

        // The operator's refusal, after the approval, says why nothing happens.
        let refused = finding(
            "Escalated",
            json!({"spec": {"approval": {"by": "alice", "reason": "ok", "at": "2026-04-02T09:00:00Z"}}}),
        );
        let warning = |time: &str| Warning {
            time: Some(at(time)),
            reason: "ApprovalNotAuthorized".into(),
            message: "alice may not approve findings in namespace shop (the API server says so)".into(),
        };
        let earlier = [warning("2026-04-02T08:00:00Z")];
        let mut with_old = context(&refused, None);
        with_old.warnings = &earlier;
        assert!(
            said(&for_finding(&with_old)).contains("waiting for the operator"),
            "an older refusal is of another approval"
        );
        let later = [warning("2026-04-02T09:00:05Z")];
        let mut with_new = context(&refused, None);
        with_new.warnings = &later;
        let steps = for_finding(&with_new);
        assert_eq!(
            steps,
            [(Tone::Bad, "the operator did not act on the approval: alice may not approve findings in namespace shop (the API server says so)".to_string())]
        );
    }

    #[test]
    fn an_open_finding_waits_for_its_campaign_s_next_wave_or_its_owner() {
        let open = finding("Open", json!({}));
        let auto = campaign(
            json!({"mode": "Auto", "waveSize": 5, "waveInterval": "1h"}),
            json!({"lastWaveTime": "2026-04-02T09:30:00Z"}),
        );
        assert_eq!(
            said(&for_finding(&context(&open, Some(&auto)))),
            "will be fixed in a wave of campaign images: the next is at 2026-04-02T10:30:00Z (at most 5 findings a wave)"
        );
        let overdue = campaign(json!({"mode": "Auto"}), json!({"lastWaveTime": "2026-04-02T09:00:00Z"}));
        assert!(said(&for_finding(&context(&open, Some(&overdue)))).contains("the next is due now"));
        let manual = campaign(json!({"mode": "Manual"}), json!({}));
        assert!(
            said(&for_finding(&context(&open, Some(&manual)))).starts_with("waiting for team storefront to fix it")
        );
        let mut paused = auto.clone();
        paused.spec.paused = true;
        assert!(said(&for_finding(&context(&open, Some(&paused)))).contains("is paused"));
        let stopped = campaign(
            json!({"mode": "Auto"}),
            json!({"conditions": [{"type": "Ready", "status": "False", "reason": "WaveFailureThresholdExceeded",
                                   "message": "3 of 5 fixes failed", "lastTransitionTime": "2026-04-02T09:00:00Z"}]}),
        );
        assert!(said(&for_finding(&context(&open, Some(&stopped)))).contains("waves stopped: 3 of 5 fixes failed"));
        assert!(said(&for_finding(&context(&open, None))).contains("could not be read"));

        // The policy's own view adds why the fix waits.
        let drift: DriftStatus = serde_json::from_value(json!({
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
            "paths": [], "class": "Rollout", "action": "Defer",
            "reason": "waiting for the remediation window opening at 2026-04-03T09:00:00Z"
        }))
        .unwrap();
        let mut waiting = context(&open, Some(&auto));
        waiting.drift = Some(&drift);
        assert!(
            said(&for_finding(&waiting)).contains("waiting for the remediation window opening at 2026-04-03T09:00:00Z")
        );
    }

    #[test]
    fn an_excepted_finding_names_its_exception_and_its_expiry() {
        let excepted = finding(
            "Excepted",
            json!({"status": {"evidence": [{"time": "2026-04-01T08:00:00Z", "action": "Excepted", "actor": "driftwarden",
                                            "result": "Succeeded", "message": "covered by DriftException shop/legacy"}]}}),
        );
        assert!(
            said(&for_finding(&context(&excepted, None)))
                .starts_with("covered by DriftException shop/legacy; when it expires")
        );
        let exception: DriftException = serde_json::from_value(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
            "metadata": {"name": "legacy", "namespace": "shop"},
            "spec": {"match": {"apiVersion": "apps/v1", "kind": "Deployment", "names": ["web"]}, "justification": "migrating",
                     "approvedBy": "carol", "ticket": "SEC-1", "approvedAt": "2026-04-01T00:00:00Z", "expiresAt": "2026-04-15T00:00:00Z"}
        }))
        .unwrap();
        let mut covered = context(&excepted, None);
        covered.exception = Some(&exception);
        assert_eq!(
            said(&for_finding(&covered)),
            "covered by DriftException shop/legacy until 2026-04-15T00:00:00Z (approved by carol, ticket SEC-1); then it is \
             enforced or escalated again"
        );
        covered.now = at("2026-05-01T00:00:00Z");
        assert!(said(&for_finding(&covered)).contains("expired at 2026-04-15T00:00:00Z: enforcement resumes"));
    }

    #[test]
    fn closed_and_in_flight_findings_say_where_they_stand() {
        let closed = finding(
            "Closed",
            json!({"status": {"evidence": [{"time": "2026-04-02T09:01:10Z", "action": "Verified", "actor": "driftwarden", "result": "Succeeded"}]}}),
        );
        assert!(said(&for_finding(&context(&closed, None))).contains("verified at 2026-04-02T09:01:10Z"));
        assert!(
            said(&for_finding(&context(&finding("Verifying", json!({})), None))).contains("waiting for verification")
        );
        assert!(said(&for_finding(&context(&finding("Remediating", json!({})), None))).contains("being applied"));
    }

    #[test]
    fn drifts_say_what_the_operator_does() {
        let drift = |action: &str, reason: Option<&str>, owner: Option<&str>| DriftStatus {
            action: action.into(),
            reason: reason.map(Into::into),
            owner: owner.map(Into::into),
            ..Default::default()
        };
        assert_eq!(
            for_drift(&drift("Escalate", Some("Rollout fixes are not in autoRemediate"), Some("shop"))),
            (Tone::Bad, "escalated to team shop: Rollout fixes are not in autoRemediate".to_string())
        );
        assert_eq!(for_drift(&drift("Escalate", None, None)).1, "escalated to its owner: a person must act");
        assert_eq!(for_drift(&drift("Remediate", None, None)).0, Tone::Warn);
        assert!(for_drift(&drift("Audit", None, Some("shop"))).1.contains("Audit mode"));
        assert_eq!(
            for_drift(&drift("Excepted", Some("covered by DriftException shop/x"), None)),
            (Tone::Good, "covered by DriftException shop/x".to_string())
        );
        assert!(for_drift(&drift("Defer", Some("rate limited to 5 fixes per minute"), None)).1.ends_with("per minute"));
    }
}
