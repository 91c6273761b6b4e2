//! `kubectl driftwarden explain FINDING|POLICY`: the drift, who changed it and when, the
//! evidence, and what happens next, from what the cluster records.

use clap::Args;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ListParams};

use super::PluginError;
use super::cluster::{Cluster, request_error};
use super::next::{self, FindingContext, Warning};
use super::style::{Cell, Palette, Table, Tone};
use super::target::{OwnKind, Reference};
use crate::api::campaign::PolicyKind;
use crate::api::finding::{Evidence, EvidenceAction, EvidenceResult};
use crate::api::policy::{DriftStatus, PolicySpec, PolicyStatus};
use crate::api::{
    ClusterDriftPolicy, DriftException, DriftPolicy, Finding, ObjectRef, RemediationCampaign, RemediationClass,
};

/// Arguments of `explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// `finding/NAME`, `driftpolicy/NAME`, `clusterdriftpolicy/NAME`, or a NAME, looked up as
    /// a Finding, then a DriftPolicy (in the current namespace), then a ClusterDriftPolicy.
    #[arg(value_name = "FINDING|POLICY")]
    pub target: String,
}

/// Reads what TARGET names and explains it.
pub async fn run(cluster: &Cluster, args: &ExplainArgs, palette: Palette) -> Result<String, PluginError> {
    let reference = Reference::parse(&args.target)?;
    let now = Timestamp::now();
    let kinds = match reference.own_kind()? {
        Some(kind) => vec![kind],
        None => vec![OwnKind::Finding, OwnKind::DriftPolicy, OwnKind::ClusterDriftPolicy],
    };
    for kind in &kinds {
        let found = match kind {
            OwnKind::Finding => explain_finding(cluster, &reference.name, now, palette).await,
            OwnKind::DriftPolicy => {
                let api: Api<DriftPolicy> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
                let what = format!("driftpolicy {}/{}", cluster.namespace, reference.name);
                api.get(&reference.name).await.map_err(|e| request_error(&what, e, "")).map(|policy| {
                    let name = format!("DriftPolicy {}/{}", cluster.namespace, reference.name);
                    render_policy(&name, &policy.spec.policy, policy.status.as_ref(), palette)
                })
            }
            OwnKind::ClusterDriftPolicy => {
                let api: Api<ClusterDriftPolicy> = Api::all(cluster.client.clone());
                let what = format!("clusterdriftpolicy {}", reference.name);
                api.get(&reference.name).await.map_err(|e| request_error(&what, e, "")).map(|policy| {
                    let name = format!("ClusterDriftPolicy {}", reference.name);
                    render_policy(&name, &policy.spec.policy, policy.status.as_ref(), palette)
                })
            }
        };
        match found {
            Err(PluginError::NotFound(_)) if kinds.len() > 1 => continue,
            other => return other,
        }
    }
    Err(PluginError::NotFound(format!(
        "no finding, driftpolicy (in namespace {}) or clusterdriftpolicy is named {:?}",
        cluster.namespace, reference.name
    )))
}

/// Reads a Finding and what its future depends on: its campaign, the policy's view of its
/// asset, and the exception that covers it. Only the Finding must be readable.
async fn explain_finding(
    cluster: &Cluster,
    name: &str,
    now: Timestamp,
    palette: Palette,
) -> Result<String, PluginError> {
    let ns = &cluster.namespace;
    let findings: Api<Finding> = Api::namespaced(cluster.client.clone(), ns);
    let finding = findings.get(name).await.map_err(|e| request_error(&format!("finding {ns}/{name}"), e, ""))?;
    let campaigns: Api<RemediationCampaign> = Api::all(cluster.client.clone());
    let campaign = campaigns.get_opt(&finding.spec.campaign).await.ok().flatten();
    let drift = match campaign.as_ref().and_then(|c| c.spec.control.policy_ref.as_ref()) {
        Some(policy) => {
            let status = match (policy.kind, &policy.namespace) {
                (PolicyKind::DriftPolicy, Some(policy_ns)) => {
                    let api: Api<DriftPolicy> = Api::namespaced(cluster.client.clone(), policy_ns);
                    api.get_opt(&policy.name).await.ok().flatten().and_then(|p| p.status)
                }
                (PolicyKind::ClusterDriftPolicy, _) => {
                    let api: Api<ClusterDriftPolicy> = Api::all(cluster.client.clone());
                    api.get_opt(&policy.name).await.ok().flatten().and_then(|p| p.status)
                }
                _ => None,
            };
            status.and_then(|s| s.drifts.into_iter().find(|d| same_object(&d.target, &finding.spec.asset)))
        }
        None => None,
    };
    let exception = match covering_exception(&finding) {
        Some((exception_ns, exception_name)) => {
            let api: Api<DriftException> = Api::namespaced(cluster.client.clone(), &exception_ns);
            api.get_opt(&exception_name).await.ok().flatten()
        }
        None => None,
    };
    let warnings = warnings(cluster, name).await;
    let context = FindingContext {
        finding: &finding,
        campaign: campaign.as_ref(),
        exception: exception.as_ref(),
        drift: drift.as_ref(),
        warnings: &warnings,
        now,
    };
    Ok(render_finding(&context, palette))
}

/// The Warning Events on Finding `name`, oldest first; none when they cannot be read.
async fn warnings(cluster: &Cluster, name: &str) -> Vec<Warning> {
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let selector = format!("involvedObject.kind=Finding,involvedObject.name={name},type=Warning");
    let Ok(events) = api.list(&ListParams::default().fields(&selector)).await else { return Vec::new() };
    let mut warnings: Vec<Warning> = events
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .map(|e| Warning {
            time: e.last_timestamp.map(|t| t.0).or(e.event_time.map(|t| t.0)).or(e.first_timestamp.map(|t| t.0)),
            reason: e.reason.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
        })
        .collect();
    warnings.sort_by_key(|w| w.time);
    warnings
}

fn same_object(a: &ObjectRef, b: &ObjectRef) -> bool {
    a.kind == b.kind && a.name == b.name && a.namespace.as_deref().unwrap_or("") == b.namespace.as_deref().unwrap_or("")
}

/// The DriftException the Finding's latest `Excepted` record names (`covered by
/// DriftException NAMESPACE/NAME`), when it is still excepted.
fn covering_exception(finding: &Finding) -> Option<(String, String)> {
    let status = finding.status.as_ref()?;
    let record = status.evidence.iter().rev().find(|e| e.action == EvidenceAction::Excepted)?;
    let named = record.message.as_deref()?.strip_prefix("covered by DriftException ")?;
    let (ns, name) = named.split_once('/').unwrap_or((finding.metadata.namespace.as_deref()?, named));
    Some((ns.to_string(), name.to_string()))
}

/// What a fix of `class` touches.
fn touches(class: RemediationClass) -> &'static str {
    match class {
        RemediationClass::Metadata => "labels and annotations only",
        RemediationClass::Spec => "spec fields that do not restart workloads",
        RemediationClass::Rollout => "a workload's pod template: the fix restarts pods",
        RemediationClass::Access => "RBAC, ServiceAccounts or privilege-bearing fields",
        RemediationClass::SecretData => "Secret data",
        RemediationClass::Create => "the object is missing and would be created",
        RemediationClass::Recreate => "an immutable field: the fix deletes and creates the object",
    }
}

/// `label: value` lines, their values aligned (past the longest label, at least 12
/// characters in, so the sections of one explanation line up).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn add(&mut self, label: &str, value: impl Into<String>) {
        self.0.push((format!("{label}:"), value.into()));
    }

    fn render(&self) -> String {
        let width = self.0.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).max(12);
        self.0.iter().map(|(label, value)| format!("  {label:<width$}  {value}\n")).collect()
    }
}

fn heading(palette: Palette, text: &str) -> String {
    format!("{}\n", palette.paint(Tone::Heading, text))
}

fn conditions_text(conditions: &[Condition], palette: Palette) -> Vec<String> {
    conditions
        .iter()
        .map(|c| {
            let tone = match (c.type_.as_str(), c.status.as_str()) {
                ("Ready" | "Compliant", "True") | ("Escalated" | "Stalled" | "Reconciling", "False") => Tone::Good,
                ("Escalated" | "Stalled", "True") | ("Ready" | "Compliant", "False") => Tone::Bad,
                _ => Tone::Warn,
            };
            let message = if c.message.is_empty() { String::new() } else { format!(": {}", c.message) };
            format!("{}={} ({}){message}", c.type_, palette.paint(tone, &c.status), c.reason)
        })
        .collect()
}

/// A hash as a person compares it: its first 12 characters.
fn short_hash(hash: Option<&str>) -> String {
    match hash {
        Some(hash) if hash.chars().count() > 12 => format!("{}…", hash.chars().take(12).collect::<String>()),
        Some(hash) => hash.to_string(),
        None => String::new(),
    }
}

fn evidence_cells(record: &Evidence) -> Vec<Cell> {
    let result = match record.result {
        EvidenceResult::Succeeded => Cell::toned("Succeeded", Tone::Good),
        EvidenceResult::Failed => Cell::toned("Failed", Tone::Bad),
    };
    vec![
        record.time.0.to_string().into(),
        format!("{:?}", record.action).into(),
        record.actor.clone().into(),
        result,
        record.resource_version.clone().unwrap_or_default().into(),
        Cell::toned(short_hash(record.desired_hash.as_deref()), Tone::Faint),
        Cell::toned(short_hash(record.live_hash.as_deref()), Tone::Faint),
        record.message.clone().unwrap_or_default().into(),
    ]
}

fn steps_text(steps: &[next::Step], palette: Palette) -> String {
    steps
        .iter()
        .map(|(tone, text)| format!("  {} {}\n", palette.paint(*tone, "•"), palette.paint(*tone, text)))
        .collect()
}

/// A Finding: what it is about, its drift and attribution, the evidence, what happens next.
pub fn render_finding(context: &FindingContext<'_>, palette: Palette) -> String {
    let finding = context.finding;
    let spec = &finding.spec;
    let status = finding.status.clone().unwrap_or_default();
    let ns = finding.metadata.namespace.as_deref().unwrap_or_default();
    let name = finding.metadata.name.as_deref().unwrap_or_default();
    let mut out = heading(palette, &format!("Finding {ns}/{name}"));
    let mut fields = Fields::new();
    fields.add("Campaign", format!("{} (control {})", spec.campaign, spec.control));
    fields.add("Asset", format!("{} ({})", spec.asset, spec.asset.api_version));
    let contact = spec.owner.contact.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
    fields.add("Owner", format!("{}{contact}", spec.owner.team));
    fields.add("Severity", format!("{:?}", spec.severity));
    if let Some(ticket) = &spec.ticket {
        fields.add("Ticket", ticket.clone());
    }
    let since = status.last_transition_time.as_ref().map(|t| format!(" since {}", t.0)).unwrap_or_default();
    let recurrences = match status.recurrences {
        0 => String::new(),
        1 => ", reopened once".to_string(),
        n => format!(", reopened {n} times"),
    };
    let tone = match status.state {
        crate::api::FindingState::Closed | crate::api::FindingState::Excepted => Tone::Good,
        crate::api::FindingState::Escalated | crate::api::FindingState::Reopened => Tone::Bad,
        _ => Tone::Warn,
    };
    fields.add("State", format!("{}{since}{recurrences}", palette.paint(tone, &format!("{:?}", status.state))));
    for condition in conditions_text(&status.conditions, palette) {
        fields.add("Condition", condition);
    }
    out.push_str(&fields.render());

    out.push('\n');
    out.push_str(&heading(palette, "Drift"));
    let mut fields = Fields::new();
    match status.class {
        Some(class) => fields.add("Class", format!("{class} ({})", touches(class))),
        None => fields.add("Class", "not recorded"),
    }
    match status.paths.as_slice() {
        [] => fields.add("Paths", "none recorded"),
        paths => {
            for path in paths {
                fields.add("Path", path.clone());
            }
        }
    }
    match &status.attribution {
        Some(attribution) => {
            let at = attribution.changed_at.as_ref().map(|t| format!(" at {}", t.0)).unwrap_or_default();
            fields.add("Changed by", format!("{}{at}", attribution.changed_by));
        }
        None => fields.add("Changed by", "not known (managedFields did not say)"),
    }
    if let Some(approval) = &spec.approval {
        let at = approval.at.as_ref().map(|t| format!(" at {}", t.0)).unwrap_or_default();
        fields.add("Approval", format!("{}{at}: {}", approval.by, approval.reason));
    }
    if let Some(drift) = context.drift {
        fields.add(
            "Policy says",
            format!("{} {}", drift.action, drift.reason.as_deref().unwrap_or("")).trim_end().to_string(),
        );
    }
    out.push_str(&fields.render());

    out.push('\n');
    out.push_str(&heading(palette, &format!("Evidence ({} records, oldest first)", status.evidence.len())));
    let mut table = Table::new(&["TIME", "ACTION", "ACTOR", "RESULT", "RESOURCEVERSION", "DESIRED", "LIVE", "MESSAGE"]);
    for record in &status.evidence {
        table.row(evidence_cells(record));
    }
    match table.is_empty() {
        true => out.push_str("  (none yet)\n"),
        false => out.push_str(&table.render(palette)),
    }

    if !context.warnings.is_empty() {
        out.push('\n');
        out.push_str(&heading(palette, &format!("Warnings ({}, oldest first)", context.warnings.len())));
        let mut table = Table::new(&["TIME", "REASON", "MESSAGE"]);
        for warning in context.warnings {
            table.row(vec![
                warning.time.map(|t| t.to_string()).unwrap_or_default().into(),
                Cell::toned(warning.reason.clone(), Tone::Bad),
                warning.message.clone().into(),
            ]);
        }
        out.push_str(&table.render(palette));
    }

    out.push('\n');
    out.push_str(&heading(palette, "What happens next"));
    out.push_str(&steps_text(&next::for_finding(context), palette));
    out
}

/// A policy: its counts and conditions, each drift with its owner, attribution and what
/// happens next, and its recent fixes with their evidence.
pub fn render_policy(title: &str, spec: &PolicySpec, status: Option<&PolicyStatus>, palette: Palette) -> String {
    let empty = PolicyStatus::default();
    let status = status.unwrap_or(&empty);
    let mut out = heading(palette, title);
    let mut fields = Fields::new();
    let automatic: Vec<String> = spec.remediation.auto_remediate.iter().map(|c| c.to_string()).collect();
    fields.add(
        "Mode",
        match spec.remediation.mode {
            crate::api::policy::Mode::Audit => "Audit: nothing is fixed, every drift is reported".to_string(),
            crate::api::policy::Mode::Enforce => format!("Enforce: fixed without a person: {}", automatic.join(", ")),
        },
    );
    fields.add(
        "Targets",
        format!(
            "{} ({} compliant, {} drifted, {} escalated, {} excepted, {} opted out)",
            status.targets, status.compliant, status.drifted, status.escalated, status.excepted, status.opted_out
        ),
    );
    let last = status.last_remediation_time.as_deref().map(|t| format!(", the last at {t}")).unwrap_or_default();
    fields.add("Fixed", format!("{} verified{last}", status.remediated));
    match status.conditions.as_slice() {
        [] => fields.add("Condition", "none yet: the operator has not written its status"),
        conditions => {
            for condition in conditions_text(conditions, palette) {
                fields.add("Condition", condition);
            }
        }
    }
    out.push_str(&fields.render());

    out.push('\n');
    let listed = status.drifts.len();
    let count = match status.drifted as usize > listed {
        true => format!("{}, {listed} listed", status.drifted),
        false => listed.to_string(),
    };
    out.push_str(&heading(palette, &format!("Drifts ({count})")));
    if status.drifts.is_empty() {
        out.push_str("  (none)\n");
    }
    for drift in &status.drifts {
        out.push_str(&render_drift(drift, palette));
    }

    out.push('\n');
    out.push_str(&heading(palette, &format!("Recent fixes ({}, newest first)", status.fixes.len())));
    let mut table = Table::new(&[
        "TIME",
        "TARGET",
        "PATHS",
        "OWNER",
        "ACTION",
        "ACTOR",
        "RESULT",
        "RESOURCEVERSION",
        "DESIRED",
        "LIVE",
        "MESSAGE",
    ]);
    for fix in status.fixes.iter().rev() {
        let mut cells = evidence_cells(&fix.evidence);
        let target = fix.target.to_string();
        cells.insert(1, target.into());
        cells.insert(2, fix.paths.join(",").into());
        cells.insert(3, fix.owner.clone().unwrap_or_default().into());
        table.row(cells);
    }
    match table.is_empty() {
        true => out.push_str("  (none recorded)\n"),
        false => out.push_str(&table.render(palette)),
    }
    out
}

fn render_drift(drift: &DriftStatus, palette: Palette) -> String {
    let mut out = format!("  {}\n", palette.paint(Tone::Heading, &drift.target.to_string()));
    let mut fields = Fields::new();
    fields.add("Paths", drift.paths.join(", "));
    if let Some(class) = drift.class {
        fields.add("Class", format!("{class} ({})", touches(class)));
    }
    fields.add("Owner", drift.owner.clone().unwrap_or_else(|| "not recorded".into()));
    let action = palette.paint(next::for_drift(drift).0, &drift.action);
    fields.add("Action", action);
    match &drift.changed_by {
        Some(by) => {
            let at = drift.changed_at.as_deref().map(|t| format!(" at {t}")).unwrap_or_default();
            fields.add("Changed by", format!("{by}{at}"));
        }
        None => fields.add("Changed by", "not known (managedFields did not say)"),
    }
    let seen = drift.first_seen.as_deref().map(|t| format!("first seen {t}, ")).unwrap_or_default();
    fields.add("Attempts", format!("{seen}{} fixes attempted", drift.attempts));
    let (tone, next) = next::for_drift(drift);
    fields.add("Next", palette.paint(tone, &next));
    // Indent the drift's fields under its title.
    out.extend(fields.render().lines().map(|line| format!("  {line}\n")));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A line of [`Fields`], as rendered.
    fn field(label: &str, value: &str) -> String {
        format!("  {:<12}  {value}\n", format!("{label}:"))
    }

    fn finding() -> Finding {
        serde_json::from_value(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"campaign": "images", "control": "shop/owners", "severity": "High",
                     "owner": {"team": "storefront", "contact": "#storefront"}, "ticket": "SHOP-7",
                     "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}},
            "status": {"state": "Escalated", "class": "Rollout", "lastTransitionTime": "2026-04-01T08:00:00Z",
                       "paths": ["/spec/template/spec/containers/name=app/image"],
                       "attribution": {"changedBy": "kubectl-edit", "changedAt": "2026-03-31T16:42:00Z"},
                       "conditions": [{"type": "Ready", "status": "False", "reason": "AwaitingOwner",
                                       "message": "waiting for the owner to fix or approve", "lastTransitionTime": "2026-04-01T08:00:00Z"}],
                       "evidence": [
                           {"time": "2026-04-01T07:59:00Z", "action": "Detected", "actor": "kubectl-edit", "resourceVersion": "881",
                            "desiredHash": "9f2c0e11aa22bb33cc44", "liveHash": "41aa07", "result": "Succeeded"},
                           {"time": "2026-04-01T08:00:00Z", "action": "Escalated", "actor": "driftwarden", "result": "Succeeded",
                            "message": "Rollout fixes are not in autoRemediate"}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_finding_is_explained_with_its_attribution_evidence_and_next_steps() {
        let finding = finding();
        let context = FindingContext {
            finding: &finding,
            campaign: None,
            exception: None,
            drift: None,
            warnings: &[],
            now: "2026-04-02T00:00:00Z".parse().unwrap(),
        };
        let text = render_finding(&context, Palette::plain());
        for expected in [
            "Finding shop/web-1\n".to_string(),
            field("Asset", "Deployment shop/web (apps/v1)"),
            field("Owner", "storefront (#storefront)"),
            field("State", "Escalated since 2026-04-01T08:00:00Z"),
            field("Condition", "Ready=False (AwaitingOwner): waiting for the owner to fix or approve"),
            field("Class", "Rollout (a workload's pod template: the fix restarts pods)"),
            field("Path", "/spec/template/spec/containers/name=app/image"),
            field("Changed by", "kubectl-edit at 2026-03-31T16:42:00Z"),
            "Evidence (2 records, oldest first)\nTIME".to_string(),
            "2026-04-01T07:59:00Z   Detected    kubectl-edit   Succeeded   881               9f2c0e11aa22…   41aa07   -\n"
                .to_string(),
            "Rollout fixes are not in autoRemediate\n".to_string(),
            "What happens next\n  • escalated to team storefront (#storefront)".to_string(),
            "kubectl driftwarden approve web-1 -n shop".to_string(),
        ] {
            assert!(text.contains(&expected), "{expected:?} not in\n{text}");
        }
    }

    #[test]
    fn the_exception_a_finding_names_is_found() {
        let mut finding = finding();
        assert_eq!(covering_exception(&finding), None);
        let status_evidence = |message: &str| -> Evidence {
            serde_json::from_value(json!({"time": "2026-04-01T09:00:00Z", "action": "Excepted", "actor": "driftwarden",
                                          "result": "Succeeded", "message": message}))
            .unwrap()
        };
        finding.status.as_mut().unwrap().evidence.push(status_evidence("covered by DriftException shop/legacy"));
        assert_eq!(covering_exception(&finding), Some(("shop".into(), "legacy".into())));
        finding.status.as_mut().unwrap().evidence.push(status_evidence("covered by DriftException legacy"));
        assert_eq!(covering_exception(&finding), Some(("shop".into(), "legacy".into())), "its own namespace");
    }

    #[test]
    fn a_policy_is_explained_with_its_drifts_and_recent_fixes() {
        let policy: DriftPolicy = serde_json::from_value(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy", "metadata": {"name": "owners", "namespace": "shop"},
            "spec": {},
            "status": {"targets": 3, "compliant": 1, "drifted": 2, "escalated": 1, "remediated": 4,
                       "lastRemediationTime": "2026-04-01T10:00:00Z",
                       "drifts": [{"target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
                                   "paths": ["/spec/template/spec/containers/name=app/image"], "class": "Rollout",
                                   "action": "Escalate", "reason": "Rollout fixes are not in autoRemediate",
                                   "changedBy": "kubectl-set", "changedAt": "2026-04-01T09:00:00Z", "owner": "storefront",
                                   "firstSeen": "2026-04-01T09:00:01Z"}],
                       "fixes": [
                           {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "old"},
                            "paths": ["/metadata/labels/team"], "time": "2026-03-31T10:00:00Z", "action": "Verified",
                            "actor": "driftwarden", "result": "Succeeded", "resourceVersion": "10"},
                           {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "settings"},
                            "paths": ["/metadata/labels/team"], "owner": "shop", "time": "2026-04-01T10:00:00Z",
                            "action": "Verified", "actor": "driftwarden", "result": "Succeeded", "resourceVersion": "42",
                            "desiredHash": "aaaa", "liveHash": "aaaa"}]}
        }))
        .unwrap();
        let text =
            render_policy("DriftPolicy shop/owners", &policy.spec.policy, policy.status.as_ref(), Palette::plain());
        for expected in [
            field("Mode", "Enforce: fixed without a person: Metadata, Spec"),
            field("Targets", "3 (1 compliant, 2 drifted, 1 escalated, 0 excepted, 0 opted out)"),
            field("Fixed", "4 verified, the last at 2026-04-01T10:00:00Z"),
            "Drifts (2, 1 listed)\n  Deployment shop/web\n".to_string(),
            format!("  {}", field("Changed by", "kubectl-set at 2026-04-01T09:00:00Z")),
            format!("  {}", field("Next", "escalated to team storefront: Rollout fixes are not in autoRemediate")),
            "Recent fixes (2, newest first)\n".to_string(),
        ] {
            assert!(text.contains(&expected), "{expected:?} not in\n{text}");
        }
        let newest = text.find("ConfigMap shop/settings").unwrap();
        let oldest = text.find("ConfigMap shop/old").unwrap();
        assert!(newest < oldest, "newest first:\n{text}");
        let bare = render_policy("ClusterDriftPolicy x", &PolicySpec::default(), None, Palette::plain());
        assert!(bare.contains("none yet: the operator has not written its status"), "{bare}");
        assert!(bare.contains("Recent fixes (0, newest first)\n  (none recorded)"), "{bare}");
    }
}
