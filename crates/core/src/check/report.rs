//! The result of `driftwarden check`, as text for people and JSON for machines.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::load::Origin;
use crate::api::ObjectRef;
use crate::api::finding::FingerprintScheme;
use crate::engine::drift::Drift;
use crate::engine::fingerprint::FingerprintKey;

/// One governed field that does not hold in the manifests.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The policy that governs the field.
    pub policy: String,
    /// The baseline or resource of that policy.
    pub source: String,
    /// The object in the manifests.
    pub object: ObjectRef,
    /// Where the object was read; `None` when it does not exist (or was read from a cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(flatten)]
    pub drift: Drift,
    /// What the API server would do with a change bringing this drift, under the
    /// ValidatingAdmissionPolicy generated from the policy's `spec.admission`: `Deny`
    /// (refused), `Warn` or `Audit`. Absent when admission does not check the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission: Option<crate::api::admission::AdmissionAction>,
    /// What the operator will do about the drift in the live cluster (`driftwarden diff`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<Plan>,
}

/// What the operator will do about one drift, as `driftwarden diff` previews it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// What happens.
    pub action: PlanAction,
    /// Why, for a person.
    pub reason: String,
    /// The team accountable for the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// What the operator does about a drift.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    /// Fixed now, then verified.
    Fix,
    /// Sent to its owner instead of fixed.
    Escalate,
    /// Fixed later: outside every remediation window, or over the rate limit.
    Wait,
    /// Covered by an active DriftException.
    Excepted,
    /// The object opts out with `driftwarden.dev/enforce: disabled`: reported, never fixed.
    OptedOut,
    /// The policy is in `Audit` mode: reported and escalated, never fixed.
    Report,
}

impl Plan {
    /// The plan for a decided action, for an object of `owner`.
    pub fn of(action: &crate::engine::decide::Action, owner: Option<String>) -> Self {
        use crate::engine::decide::{Action, EscalationReason};
        let (action, reason) = match action {
            Action::Remediate => (PlanAction::Fix, "its class is fixed automatically".to_string()),
            Action::Escalate { reason: EscalationReason::OptedOut } => {
                (PlanAction::OptedOut, EscalationReason::OptedOut.to_string())
            }
            Action::Escalate { reason } => (PlanAction::Escalate, reason.to_string()),
            Action::Excepted { exception } => (PlanAction::Excepted, format!("covered by DriftException {exception}")),
            Action::Audit => (PlanAction::Report, "the policy is in Audit mode".to_string()),
            Action::Defer { reason } => (PlanAction::Wait, reason.to_string()),
        };
        Self { action, reason, owner }
    }

    /// The plan in words, as the text report shows it.
    pub fn describe(&self) -> String {
        let to = self.owner.as_ref().map(|owner| format!(" to {owner}")).unwrap_or_default();
        let what = match self.action {
            PlanAction::Fix => "will fix it and verify the fix".to_string(),
            PlanAction::Escalate => format!("will escalate it{to}"),
            PlanAction::Wait => "will fix it later".to_string(),
            PlanAction::Excepted => "will leave it".to_string(),
            PlanAction::OptedOut | PlanAction::Report => format!("will report it{to} and never fix it"),
        };
        format!("{what}: {}", self.reason)
    }
}

/// Everything `check` found.
#[derive(Serialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// How many manifests were read.
    pub objects: usize,
    /// How many policies were evaluated.
    pub policies: usize,
    /// How many (policy, object) pairs were evaluated.
    pub targets: usize,
    pub violations: Vec<Violation>,
    /// How the Secret values in the violations are fingerprinted, when the run says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprints: Option<Fingerprints>,
}

/// How the Secret values of a report are fingerprinted, and with which key.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprints {
    /// The scheme of the fingerprints.
    pub scheme: FingerprintScheme,
    /// Where the key came from.
    pub key: KeySource,
    /// What a reader must know: for a key drawn for the run, that its fingerprints are not
    /// comparable across runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Fingerprints {
    /// The fingerprints of `key`, which came from `source`.
    pub fn new(key: &FingerprintKey, source: KeySource) -> Self {
        Self { scheme: key.scheme(), note: source.note(), key: source }
    }
}

/// Where the key of a run's fingerprints came from.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "source", rename_all = "PascalCase")]
pub enum KeySource {
    /// A key file given on the command line.
    File { path: PathBuf },
    /// The installation's key Secret, in the operator's namespace.
    Installation { namespace: String },
    /// Drawn for this run, because no key was given or the installation's could not be read.
    PerRun {
        /// Why no lasting key was used.
        reason: String,
    },
}

impl KeySource {
    /// What a person must know about fingerprints made with this key: for a key drawn for
    /// the run, that they compare within this run only; `None` otherwise.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::PerRun { reason } => Some(format!(
                "Secret fingerprints use a key drawn for this run ({reason}): they are not comparable across runs"
            )),
            Self::File { .. } | Self::Installation { .. } => None,
        }
    }
}

impl Report {
    /// Whether every governed field holds.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes to JSON")
    }

    /// The report as text: one violation per block, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for v in &self.violations {
            let place = match (&v.origin, &v.drift.live) {
                (Some(origin), _) => origin.to_string(),
                (None, None) if v.drift.path.is_empty() => "the object does not exist".to_string(),
                (None, _) => "live object".to_string(),
            };
            let path = if v.drift.path.is_empty() { "(whole object)" } else { v.drift.path.as_str() };
            let _ = writeln!(out, "{}: {} [{}]", v.object, path, v.drift.class);
            let _ = writeln!(out, "    desired: {}", short(&v.drift.desired));
            let _ =
                writeln!(out, "    live:    {}", v.drift.live.as_ref().map_or_else(|| "<absent>".to_string(), short));
            let _ = writeln!(out, "    policy {} ({}), {}", v.policy, v.source, place);
            if let Some(action) = v.admission {
                use crate::api::admission::AdmissionAction;
                let said = match action {
                    AdmissionAction::Deny => "refused at admission",
                    AdmissionAction::Warn => "admitted with a warning",
                    AdmissionAction::Audit => "admitted and audited",
                };
                let _ = writeln!(out, "    admission: {said} (spec.admission.action {action:?})");
            }
            if let Some(plan) = &v.operator {
                let _ = writeln!(out, "    operator: {}", plan.describe());
            }
        }
        let objects_with_violations = {
            let mut objects: Vec<_> = self.violations.iter().map(|v| &v.object).collect();
            objects.sort();
            objects.dedup();
            objects.len()
        };
        let _ = writeln!(
            out,
            "{} violation{} in {} object{}; {} manifest{} checked against {} polic{}",
            self.violations.len(),
            plural(self.violations.len()),
            objects_with_violations,
            plural(objects_with_violations),
            self.objects,
            plural(self.objects),
            self.policies,
            if self.policies == 1 { "y" } else { "ies" },
        );
        let refused = self
            .violations
            .iter()
            .filter(|v| v.admission == Some(crate::api::admission::AdmissionAction::Deny))
            .count();
        if refused > 0 {
            let _ = writeln!(out, "{refused} of them would be refused at admission (the policies' spec.admission)");
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A value on one line, cut to a readable length.
fn short(value: &Value) -> String {
    const MAX: usize = 160;
    let text = value.to_string();
    if text.chars().count() <= MAX { text } else { format!("{}…", text.chars().take(MAX).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RemediationClass;
    use serde_json::json;

    fn violation() -> Violation {
        Violation {
            policy: "shop/hardening".into(),
            source: "baseline no-token".into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web".into(),
                uid: None,
            },
            origin: Some(Origin { file: "out/web.yaml".into(), document: 2 }),
            drift: Drift {
                path: "/spec/template/spec/automountServiceAccountToken".into(),
                desired: json!(false),
                live: None,
                class: RemediationClass::Access,
                attribution: None,
            },
            admission: None,
            operator: None,
        }
    }

    #[test]
    fn a_key_drawn_for_the_run_is_noted_in_the_json() {
        let key = crate::engine::fingerprint::test_key();
        let per_run = Fingerprints::new(&key, KeySource::PerRun { reason: "no key file".into() });
        let mut report = Report { fingerprints: Some(per_run), ..Report::default() };
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["fingerprints"]["scheme"], "hmac-sha256-128");
        assert_eq!(json["fingerprints"]["key"], json!({"source": "PerRun", "reason": "no key file"}));
        assert!(json["fingerprints"]["note"].as_str().unwrap().contains("not comparable across runs"), "{json}");
        report.fingerprints = Some(Fingerprints::new(&key, KeySource::File { path: "k".into() }));
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["fingerprints"], json!({"scheme": "hmac-sha256-128", "key": {"source": "File", "path": "k"}}));
    }

    #[test]
    fn text_names_object_path_values_class_and_place() {
        let report = Report { objects: 3, policies: 1, targets: 1, violations: vec![violation()], fingerprints: None };
        let text = report.to_text();
        assert_eq!(
            text,
            "Deployment shop/web: /spec/template/spec/automountServiceAccountToken [Access]\n    desired: false\n    live:    <absent>\n    policy shop/hardening (baseline no-token), out/web.yaml (document 2)\n1 violation in 1 object; 3 manifests checked against 1 policy\n"
        );
        assert!(!report.is_clean());
    }

    #[test]
    fn json_is_flat_per_violation() {
        let report = Report { objects: 3, policies: 1, targets: 1, violations: vec![violation()], fingerprints: None };
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        let v = &json["violations"][0];
        assert_eq!(v["path"], "/spec/template/spec/automountServiceAccountToken");
        assert_eq!(v["class"], "Access");
        assert_eq!(v["object"]["kind"], "Deployment");
        assert_eq!(v["origin"]["document"], 2);
        assert!(v.get("live").is_some_and(Value::is_null));
    }

    #[test]
    fn long_values_are_cut() {
        let long = json!("x".repeat(500));
        assert!(short(&long).ends_with('…'));
        assert_eq!(short(&long).chars().count(), 161);
    }
}
