//! The Finding state machine: `Open → Remediating → Verifying → Closed`, with `Escalated`,
//! `Excepted` and `Reopened` beside it.
//!
//! [`step`] moves a finding's status by one [`Observation`]: what the live object shows, or
//! how an action of the shell turned out. The rules that matter:
//!
//! - A finding becomes `Closed` only on [`Observation::Verified`] (a fresh read compared
//!   clean) or [`Observation::Gone`] (a fresh read found the asset deleted). An owner's fix
//!   seen in the cache ([`Observation::LooksClean`]) only moves the finding to `Verifying`,
//!   which tells the shell to read the asset again. A `Verified` on a finding that had no fix
//!   under way (an owner fixed it) closes it too: the fresh read is the proof, whoever made
//!   the change.
//! - A `Closed` finding whose asset drifts again becomes `Reopened` and counts a recurrence.
//! - An active exception moves a finding to `Excepted`; when it stops covering, the finding
//!   is `Open` again, or `Reopened` if it had been closed before.
//! - Observations that make no sense in the current state (an `Applied` on an open finding,
//!   an escalation of a closed one) change nothing: [`step`] returns `None`, and so it does
//!   whenever the status would stay the same, so the shell writes nothing.
//! - `lastTransitionTime` moves only when the state does.
//! - Evidence is bounded ([`MAX_EVIDENCE`] records): the first record, the latest approval
//!   and the newest others are kept. A record with hashes names the scheme of the Secret
//!   fingerprints in them ([`FINGERPRINT_SCHEME`]).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sha2::{Digest, Sha256};

use crate::api::RemediationClass;
use crate::api::finding::{
    Attribution, Evidence, EvidenceAction, EvidenceResult, FindingState, FindingStatus, FingerprintScheme, MAX_EVIDENCE,
};
use crate::api::policy::MAX_PATHS;

/// The actor recorded for what the operator itself does (its field manager).
pub const OPERATOR_ACTOR: &str = "driftwarden";
/// The actor recorded for a change made outside driftwarden by an unknown hand.
pub const EXTERNAL_ACTOR: &str = "external";
/// The scheme of the Secret fingerprints in the hashes of the records written now (the
/// operator's keyed fingerprints, [`crate::engine::fingerprint`]).
pub const FINGERPRINT_SCHEME: FingerprintScheme = FingerprintScheme::HmacSha256_128;

/// What the shell observed about a finding's asset, or how one of its actions turned out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The asset, as cached, does not meet the control.
    Drifted {
        /// The offending fields, as JSON pointers.
        paths: Vec<String>,
        /// The riskiest class among the fixes of those fields.
        class: RemediationClass,
        /// The field manager that last wrote an offending field, and when, if known.
        changed_by: Option<(String, Option<Timestamp>)>,
    },
    /// The asset, as cached, meets the control (an owner or another actor fixed it). Only a
    /// fresh read can close the finding: this moves it to `Verifying`.
    LooksClean,
    /// An active DriftException covers all of the asset's drift.
    Covered {
        /// The name of the exception.
        exception: String,
    },
    /// The exception that covered the asset no longer does (expired, deleted, narrowed).
    Uncovered,
    /// The operator starts a fix: the server dry-run passed.
    FixStarted {
        /// The approver, when the fix runs on an owner's approval.
        approved_by: Option<String>,
        /// The campaign's wave the fix is part of (counted from 1), when it is.
        wave: Option<u32>,
    },
    /// The fix was applied with server-side apply.
    Applied {
        /// The resourceVersion the apply returned.
        resource_version: Option<String>,
    },
    /// A fresh read of the asset compared clean.
    Verified {
        /// The resourceVersion read.
        resource_version: Option<String>,
        /// [`hash_fields`] of the governed fields as declared.
        desired_hash: String,
        /// [`hash_fields`] of the governed fields as read.
        live_hash: String,
        /// Who made the asset compliant: `driftwarden`, another field manager, or
        /// `external`.
        actor: String,
    },
    /// A fresh read of the asset still does not meet the control.
    VerifyFailed {
        /// The resourceVersion read.
        resource_version: Option<String>,
        /// [`hash_fields`] of the governed fields as declared.
        desired_hash: String,
        /// [`hash_fields`] of the governed fields as read.
        live_hash: String,
        /// What still differs, for a person. Never a Secret value.
        message: String,
    },
    /// The fix is not allowed automatically (class not in the campaign's classes, Manual
    /// mode, dry run rejected, apply failed, ...): it goes to the owner.
    Escalate {
        /// Why, for a person.
        reason: String,
    },
    /// An owner approved the fix (`spec.approval`).
    Approved {
        /// Who approved.
        by: String,
        /// Why the fix is safe.
        reason: String,
    },
    /// A fresh read found that the asset no longer exists.
    Gone,
}

/// The finding's status after `observation`, or `None` when nothing changes (including an
/// observation that does not apply in the current state).
///
/// | from | observation | to |
/// | --- | --- | --- |
/// | any but `Closed` | `Drifted` | same state; paths, class and attribution updated |
/// | `Closed` | `Drifted`, `VerifyFailed` | `Reopened`, one more recurrence |
/// | `Open`, `Escalated`, `Reopened`, `Remediating`, `Excepted` | `LooksClean` | `Verifying` |
/// | any but `Excepted` | `Covered` | `Excepted` (from `Closed`: one more recurrence) |
/// | `Excepted` | `Uncovered` | `Open`, or `Reopened` after a recurrence |
/// | `Open`, `Escalated`, `Reopened` | `FixStarted` | `Remediating` |
/// | `Remediating` | `Applied` | `Verifying` |
/// | any but `Closed` | `Verified`, `Gone` | `Closed` |
/// | `Verifying`, `Remediating` | `VerifyFailed` | where the finding stood before the fix |
/// | `Open`, `Reopened`, `Remediating`, `Verifying` | `Escalate` | `Escalated` |
/// | `Escalated` | `Approved` | `Escalated`, approval recorded |
pub fn step(status: &FindingStatus, observation: Observation, now: Timestamp) -> Option<FindingStatus> {
    use FindingState::*;
    let mut next = status.clone();
    let state = status.state;
    match observation {
        Observation::Drifted { paths, class, changed_by } => {
            let widened = widens(&status.paths, &paths);
            set_drift(&mut next, paths, class, changed_by);
            if state == Closed {
                next.recurrences += 1;
                let actor = attributed_actor(&next);
                record(&mut next, evidence(now, EvidenceAction::Reopened, &actor));
                transition(&mut next, Reopened, now);
            } else if status.evidence.is_empty() || (widened && approved_paths(status).is_some()) {
                // The first detection, or new drift on an approved finding: the new record
                // comes after the approval, so the approval no longer covers the finding.
                let actor = attributed_actor(&next);
                record(&mut next, evidence(now, EvidenceAction::Detected, &actor));
            }
        }
        Observation::LooksClean => {
            if matches!(state, Open | Escalated | Reopened | Remediating | Excepted) {
                transition(&mut next, Verifying, now);
            }
        }
        Observation::Covered { exception } => {
            if state != Excepted {
                if state == Closed {
                    next.recurrences += 1;
                }
                let mut record_ = evidence(now, EvidenceAction::Excepted, OPERATOR_ACTOR);
                record_.message = Some(format!("covered by DriftException {exception}"));
                record(&mut next, record_);
                transition(&mut next, Excepted, now);
            }
        }
        Observation::Uncovered => {
            if state == Excepted {
                let mut record_ = evidence(now, EvidenceAction::Excepted, OPERATOR_ACTOR);
                record_.result = EvidenceResult::Failed;
                record_.message = Some("no longer covered by an exception".to_string());
                record(&mut next, record_);
                transition(&mut next, unfixed(status), now);
            }
        }
        Observation::FixStarted { approved_by, wave } => {
            if matches!(state, Open | Escalated | Reopened) {
                let mut record_ = evidence(now, EvidenceAction::DryRun, OPERATOR_ACTOR);
                record_.message = match (approved_by, wave) {
                    (Some(by), _) => Some(format!("approved by {by}")),
                    (None, Some(wave)) => Some(format!("wave {wave}")),
                    (None, None) => None,
                };
                record(&mut next, record_);
                transition(&mut next, Remediating, now);
            }
        }
        Observation::Applied { resource_version } => {
            if state == Remediating {
                let mut record_ = evidence(now, EvidenceAction::Applied, OPERATOR_ACTOR);
                record_.resource_version = resource_version;
                record(&mut next, record_);
                transition(&mut next, Verifying, now);
            }
        }
        Observation::Verified { resource_version, desired_hash, live_hash, actor } => {
            if state != Closed {
                let mut record_ = evidence(now, EvidenceAction::Verified, &actor);
                record_.resource_version = resource_version;
                record_.desired_hash = Some(desired_hash);
                record_.live_hash = Some(live_hash);
                record_.fingerprint_scheme = Some(FINGERPRINT_SCHEME);
                record(&mut next, record_);
                transition(&mut next, Closed, now);
            }
        }
        Observation::VerifyFailed { resource_version, desired_hash, live_hash, message } => {
            let target = match state {
                Verifying | Remediating => before_fix(status),
                Closed => {
                    next.recurrences += 1;
                    Reopened
                }
                _ => return None,
            };
            let mut record_ = evidence(now, EvidenceAction::Verified, OPERATOR_ACTOR);
            record_.resource_version = resource_version;
            record_.desired_hash = Some(desired_hash);
            record_.live_hash = Some(live_hash);
            record_.fingerprint_scheme = Some(FINGERPRINT_SCHEME);
            record_.result = EvidenceResult::Failed;
            record_.message = Some(message);
            record(&mut next, record_);
            transition(&mut next, target, now);
        }
        Observation::Escalate { reason } => {
            if matches!(state, Open | Reopened | Remediating | Verifying) {
                let mut record_ = evidence(now, EvidenceAction::Escalated, OPERATOR_ACTOR);
                record_.message = Some(reason);
                record(&mut next, record_);
                transition(&mut next, Escalated, now);
            }
        }
        Observation::Approved { by, reason } => {
            let already = latest(status, EvidenceAction::Approved)
                .is_some_and(|e| e.actor == by && e.message.as_deref() == Some(reason.as_str()));
            if state == Escalated && !already {
                let mut record_ = evidence(now, EvidenceAction::Approved, &by);
                record_.message = Some(reason);
                // Given for the fix as it stands: a fix of another class needs another approval.
                record_.class = status.class;
                record(&mut next, record_);
            }
        }
        Observation::Gone => {
            if state != Closed {
                let mut record_ = evidence(now, EvidenceAction::Verified, EXTERNAL_ACTOR);
                record_.message = Some("the asset no longer exists".to_string());
                record(&mut next, record_);
                transition(&mut next, Closed, now);
            }
        }
    }
    (next != *status).then_some(next)
}

/// The paths an approved fix may touch: the finding's paths when an owner's approval is on
/// record and no new drift was detected since. `None` when the finding is not approved.
///
/// An approval covers the finding as it stood when it was given: drift at a path the finding
/// did not list voids it, and the same approval given again does not count (the owner must
/// approve anew, with another reason or by another person), so an approval never widens a fix.
///
/// An approval holds for the class of fix it was given for (recorded with it): when the
/// finding's fix has become another class, it has lapsed ([`lapsed_approval`]) and the owner
/// must approve again. Approvals recorded before classes were recorded hold as they were.
pub fn approved_paths(status: &FindingStatus) -> Option<&[String]> {
    let newest = newest_approval(status)?;
    let same_class = newest.class.is_none() || newest.class == status.class;
    (same_class && status.state == FindingState::Escalated).then_some(status.paths.as_slice())
}

/// The approval on record that lapsed because the finding's fix became another class:
/// `(approver, the class it was given for)`. `None` when there is none, or it holds.
pub fn lapsed_approval(status: &FindingStatus) -> Option<(&str, RemediationClass)> {
    let newest = newest_approval(status)?;
    let given_for = newest.class?;
    (status.state == FindingState::Escalated && Some(given_for) != status.class)
        .then_some((newest.actor.as_str(), given_for))
}

/// The newest approval on record, unless drift detected or a reopening since voided it.
fn newest_approval(status: &FindingStatus) -> Option<&Evidence> {
    let newest =
        status.evidence.iter().rev().find(|e| {
            matches!(e.action, EvidenceAction::Approved | EvidenceAction::Detected | EvidenceAction::Reopened)
        })?;
    (newest.action == EvidenceAction::Approved).then_some(newest)
}

/// The SHA-256 (hex) of a set of governed fields: each JSON pointer with its value, or with
/// nothing when the field is absent.
///
/// The encoding is canonical: fields are sorted by path, object keys are sorted, and every
/// part is length-prefixed, so the same fields always give the same hash whatever their order.
/// Secret data is hashed with the rest and never stored: the hash is of the whole set of
/// fields, so it does not reveal a short value on its own.
pub fn hash_fields(fields: &[(String, Option<serde_json::Value>)]) -> String {
    let mut sorted: Vec<&(String, Option<serde_json::Value>)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = Sha256::new();
    let mut buffer = String::new();
    for (path, value) in sorted {
        buffer.clear();
        match value {
            Some(value) => canonical(value, &mut buffer),
            None => buffer.push('-'),
        }
        hasher.update(format!("{}:", path.len()).as_bytes());
        hasher.update(path.as_bytes());
        hasher.update(format!("{}:", buffer.len()).as_bytes());
        hasher.update(buffer.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The state of a finding that has drift and no fix under way: `Reopened` once it has been
/// closed and drifted again, `Open` before.
fn unfixed(status: &FindingStatus) -> FindingState {
    if status.recurrences > 0 { FindingState::Reopened } else { FindingState::Open }
}

/// Where a finding goes back to when a fix (the operator's or an owner's) did not hold:
/// `Escalated` when the finding was with its owner, else [`unfixed`].
fn before_fix(status: &FindingStatus) -> FindingState {
    let newest = status.evidence.iter().rev().find(|e| {
        matches!(
            e.action,
            EvidenceAction::Escalated | EvidenceAction::DryRun | EvidenceAction::Reopened | EvidenceAction::Excepted
        )
    });
    match newest {
        Some(e) if e.action == EvidenceAction::Escalated => FindingState::Escalated,
        _ => unfixed(status),
    }
}

fn widens(old: &[String], new: &[String]) -> bool {
    new.iter().any(|path| !old.contains(path))
}

fn set_drift(
    status: &mut FindingStatus,
    mut paths: Vec<String>,
    class: RemediationClass,
    changed_by: Option<(String, Option<Timestamp>)>,
) {
    paths.sort();
    paths.dedup();
    paths.truncate(MAX_PATHS);
    status.paths = paths;
    status.class = Some(class);
    if let Some((changed_by, at)) = changed_by {
        status.attribution = Some(Attribution { changed_by, changed_at: at.map(Time) });
    }
}

fn attributed_actor(status: &FindingStatus) -> String {
    status
        .attribution
        .as_ref()
        .map(|a| a.changed_by.clone())
        .filter(|manager| !manager.is_empty())
        .unwrap_or_else(|| EXTERNAL_ACTOR.to_string())
}

fn transition(status: &mut FindingStatus, to: FindingState, now: Timestamp) {
    if status.state != to {
        status.state = to;
        status.last_transition_time = Some(Time(now));
    }
}

fn latest(status: &FindingStatus, action: EvidenceAction) -> Option<&Evidence> {
    status.evidence.iter().rev().find(|e| e.action == action)
}

fn evidence(now: Timestamp, action: EvidenceAction, actor: &str) -> Evidence {
    Evidence {
        time: Time(now),
        action,
        actor: actor.to_string(),
        resource_version: None,
        desired_hash: None,
        live_hash: None,
        result: EvidenceResult::Succeeded,
        message: None,
        class: None,
        fingerprint_scheme: None,
    }
}

/// Appends a record, then drops the oldest records but the first one and the latest approval
/// until at most [`MAX_EVIDENCE`] remain.
fn record(status: &mut FindingStatus, new: Evidence) {
    status.evidence.push(new);
    while status.evidence.len() > MAX_EVIDENCE {
        let approval = status.evidence.iter().rposition(|e| e.action == EvidenceAction::Approved);
        let drop = (1..status.evidence.len()).find(|i| Some(*i) != approval).unwrap_or(1);
        status.evidence.remove(drop);
    }
}

#[cfg(test)]
mod tests;
