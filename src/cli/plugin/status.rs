//! `kubectl driftwarden status`: policies, campaigns and open escalations on one screen.

use clap::Args;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Client;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cluster::Cluster;
use super::style::{Cell, Palette, Table, Tone};
use super::{PluginError, next};
use crate::api::finding::{EvidenceAction, FindingState};
use crate::api::policy::{DriftStatus, PolicyStatus};
use crate::api::reasons::types;
use crate::api::{ClusterDriftPolicy, DriftPolicy, Finding, ObjectRef, RemediationCampaign};
use crate::cli::check::Output;

/// Arguments of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Every namespace, not only the current one.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What `status` shows.
#[derive(Serialize, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The namespace shown; absent with `--all-namespaces`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub policies: Vec<PolicyLine>,
    pub campaigns: Vec<CampaignLine>,
    pub escalations: Vec<EscalationLine>,
    /// What could not be read (a list the caller may not make), each with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// One DriftPolicy or ClusterDriftPolicy.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyLine {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub mode: String,
    pub targets: u32,
    pub drifted: u32,
    pub escalated: u32,
    /// The `Ready` condition's status (`True`, `False`, `Unknown`); absent before the
    /// operator first wrote status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// The `Ready` condition's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One RemediationCampaign.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CampaignLine {
    pub name: String,
    pub owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant_percent: Option<u8>,
    /// Findings not closed or excepted.
    pub open: u32,
    /// Findings closed or excepted.
    pub closed: u32,
    /// `Completed`, `DeadlineMissed`, `AtRisk`, `OnTrack`, `Paused`, or `Pending` before the
    /// operator's first status.
    pub state: String,
    pub deadline: Timestamp,
}

/// One open escalation: a policy's drift escalated to a person, or a Finding waiting for
/// one.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EscalationLine {
    /// The object that drifted.
    pub target: ObjectRef,
    /// Who must act; absent when the operator did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Where it comes from: `driftpolicy/NAME`, `clusterdriftpolicy/NAME` or `finding/NAME`
    /// (the Finding's namespace is the target's, or the operator's).
    pub source: String,
    /// The namespace of the source (a DriftPolicy or a Finding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    /// The drift's action (`Escalate`, `Audit`) or the Finding's state.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub paths: Vec<String>,
    /// Why a person must act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Reads the overview and renders it.
pub async fn run(cluster: &Cluster, args: &StatusArgs, palette: Palette) -> Result<String, PluginError> {
    let namespace = (!args.all_namespaces).then(|| cluster.namespace.clone());
    let overview = read(&cluster.client, namespace).await?;
    for problem in &overview.unreadable {
        eprintln!("warning: {problem}");
    }
    Ok(match args.output {
        Output::Json => serde_json::to_string_pretty(&overview).expect("the overview serializes") + "\n",
        Output::Text => render(&overview, Timestamp::now(), palette),
    })
}

/// Lists what the overview shows. A list the caller may not make is noted in
/// `unreadable` and the rest is still shown; when nothing could be read the caller is
/// refused.
pub async fn read(client: &Client, namespace: Option<String>) -> Result<Overview, PluginError> {
    let ns = namespace.as_deref();
    let mut unreadable = Vec::new();
    let scoped = |resource: &str| match ns {
        Some(ns) => format!("{resource} in namespace {ns}"),
        None => format!("{resource} in any namespace"),
    };
    let policies: Vec<DriftPolicy> =
        list(namespaced(client, ns), &scoped("driftpolicies"), &mut unreadable).await?.unwrap_or_default();
    let cluster_policies: Vec<ClusterDriftPolicy> =
        list(Api::all(client.clone()), "clusterdriftpolicies", &mut unreadable).await?.unwrap_or_default();
    let campaigns: Vec<RemediationCampaign> =
        list(Api::all(client.clone()), "remediationcampaigns", &mut unreadable).await?.unwrap_or_default();
    let findings: Vec<Finding> =
        list(namespaced(client, ns), &scoped("findings"), &mut unreadable).await?.unwrap_or_default();
    if unreadable.len() == 4 {
        return Err(PluginError::Refused(format!("cannot read driftwarden's resources: {}", unreadable.join("; "))));
    }
    Ok(overview(namespace, &policies, &cluster_policies, &campaigns, &findings, unreadable))
}

fn namespaced<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The items of a list; `None`, noted in `unreadable`, when the caller may not list them
/// (403) or the kind is not installed (404).
async fn list<K>(api: Api<K>, what: &str, unreadable: &mut Vec<String>) -> Result<Option<Vec<K>>, PluginError>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(Some(list.items)),
        Err(kube::Error::Api(status)) if status.code == 403 => {
            unreadable.push(format!("cannot list {what}: {}", status.message));
            Ok(None)
        }
        Err(kube::Error::Api(status)) if status.code == 404 => {
            unreadable.push(format!(
                "cannot list {what}: the API server does not serve them (are driftwarden's CRDs installed?)"
            ));
            Ok(None)
        }
        Err(source) => Err(PluginError::Cluster { what: format!("cannot list {what}"), source }),
    }
}

fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn is_true(conditions: &[Condition], type_: &str) -> bool {
    condition(conditions, type_).is_some_and(|c| c.status == "True")
}

/// The overview of what was read: policies and campaigns sorted by name, escalations by
/// owner and target. In a namespace, a ClusterDriftPolicy's escalations are those of its
/// targets there; a target escalated both by a policy and as a Finding is listed once, as
/// the Finding (what an owner approves).
pub fn overview(
    namespace: Option<String>,
    policies: &[DriftPolicy],
    cluster_policies: &[ClusterDriftPolicy],
    campaigns: &[RemediationCampaign],
    findings: &[Finding],
    unreadable: Vec<String>,
) -> Overview {
    let mut overview = Overview { namespace: namespace.clone(), unreadable, ..Default::default() };
    let in_scope = |target: &ObjectRef| namespace.is_none() || target.namespace == namespace;
    let mut drift_lines = Vec::new();
    let policy_sources = policies
        .iter()
        .map(|p| {
            ("DriftPolicy", p.metadata.namespace.clone(), p.metadata.name.clone(), &p.spec.policy, p.status.as_ref())
        })
        .chain(
            cluster_policies
                .iter()
                .map(|p| ("ClusterDriftPolicy", None, p.metadata.name.clone(), &p.spec.policy, p.status.as_ref())),
        );
    for (kind, policy_namespace, name, spec, status) in policy_sources {
        let name = name.unwrap_or_default();
        let empty = PolicyStatus::default();
        let status = status.unwrap_or(&empty);
        let ready = condition(&status.conditions, types::READY);
        overview.policies.push(PolicyLine {
            kind,
            namespace: policy_namespace.clone(),
            name: name.clone(),
            mode: format!("{:?}", spec.remediation.mode),
            targets: status.targets,
            drifted: status.drifted,
            escalated: status.escalated,
            ready: ready.map(|c| c.status.clone()),
            reason: ready.map(|c| c.reason.clone()),
        });
        let source = format!("{}/{name}", kind.to_ascii_lowercase());
        for drift in status.drifts.iter().filter(|d| is_escalation(d) && in_scope(&d.target)) {
            drift_lines.push(EscalationLine {
                target: drift.target.clone(),
                owner: drift.owner.clone(),
                source: source.clone(),
                source_namespace: policy_namespace.clone(),
                state: drift.action.clone(),
                class: drift.class.map(|c| c.to_string()),
                paths: drift.paths.clone(),
                reason: drift.reason.clone().or_else(|| Some(next::for_drift(drift).1)),
            });
        }
    }
    overview.policies.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));

    for campaign in campaigns {
        let status = campaign.status.clone().unwrap_or_default();
        let counts = &status.findings;
        overview.campaigns.push(CampaignLine {
            name: campaign.metadata.name.clone().unwrap_or_default(),
            owner: campaign.spec.owner.team.clone(),
            compliant_percent: status.compliant_percent,
            open: counts.total() - counts.closed - counts.excepted,
            closed: counts.closed + counts.excepted,
            state: campaign_state(campaign),
            deadline: campaign.spec.deadline.0,
        });
    }
    overview.campaigns.sort_by(|a, b| a.name.cmp(&b.name));

    for finding in findings {
        let status = finding.status.clone().unwrap_or_default();
        if !matches!(status.state, FindingState::Escalated | FindingState::Open | FindingState::Reopened) {
            continue;
        }
        let reason = status
            .evidence
            .iter()
            .rev()
            .find(|e| e.action == EvidenceAction::Escalated)
            .and_then(|e| e.message.clone())
            .or_else(|| condition(&status.conditions, types::READY).map(|c| c.message.clone()))
            .filter(|m| !m.is_empty());
        overview.escalations.push(EscalationLine {
            target: finding.spec.asset.clone(),
            owner: Some(finding.spec.owner.team.clone()),
            source: format!("finding/{}", finding.metadata.name.as_deref().unwrap_or_default()),
            source_namespace: finding.metadata.namespace.clone(),
            state: format!("{:?}", status.state),
            class: status.class.map(|c| c.to_string()),
            paths: status.paths.clone(),
            reason,
        });
    }
    let same_target = |a: &ObjectRef, b: &ObjectRef| a.kind == b.kind && a.namespace == b.namespace && a.name == b.name;
    for line in drift_lines {
        if !overview.escalations.iter().any(|f| same_target(&f.target, &line.target)) {
            overview.escalations.push(line);
        }
    }
    let key = |e: &EscalationLine| {
        (e.owner.clone(), e.target.namespace.clone(), e.target.kind.clone(), e.target.name.clone(), e.source.clone())
    };
    overview.escalations.sort_by_key(key);
    overview
}

/// Whether a drift waits for a person: escalated, or reported by a policy in Audit mode.
fn is_escalation(drift: &DriftStatus) -> bool {
    matches!(drift.action.as_str(), "Escalate" | "Audit")
}

/// A campaign's state in a word, from its conditions: `Completed`, `Paused`,
/// `DeadlineMissed`, `AtRisk`, `OnTrack`; `Unknown (REASON)` when the operator cannot
/// project yet (`NoProgress`, `NotEnoughHistory`); `Pending` before its first status.
fn campaign_state(campaign: &RemediationCampaign) -> String {
    let conditions = campaign.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let state = if is_true(conditions, types::COMPLETED) {
        "Completed"
    } else if campaign.spec.paused {
        "Paused"
    } else if is_true(conditions, types::DEADLINE_MISSED) {
        "DeadlineMissed"
    } else if is_true(conditions, types::AT_RISK) {
        "AtRisk"
    } else if is_true(conditions, types::ON_TRACK) {
        "OnTrack"
    } else if let Some(on_track) = condition(conditions, types::ON_TRACK) {
        return format!("Unknown ({})", on_track.reason);
    } else {
        "Pending"
    };
    state.to_string()
}

/// The overview as text: three tables.
pub fn render(overview: &Overview, now: Timestamp, palette: Palette) -> String {
    let all = overview.namespace.is_none();
    let mut out = String::new();
    let heading = |out: &mut String, title: &str, count: usize| {
        out.push_str(&palette.paint(Tone::Heading, &format!("{title} ({count})")));
        out.push('\n');
    };

    heading(&mut out, "POLICIES", overview.policies.len());
    let mut table = Table::new(&["NAMESPACE", "NAME", "MODE", "TARGETS", "DRIFTED", "ESCALATED", "READY"]);
    for policy in &overview.policies {
        let ready = match policy.ready.as_deref() {
            Some("True") => Cell::toned("True", Tone::Good),
            Some(other) => Cell::toned(format!("{other} ({})", policy.reason.as_deref().unwrap_or("")), Tone::Bad),
            None => Cell::toned("(no status yet)", Tone::Faint),
        };
        table.row(vec![
            policy.namespace.clone().unwrap_or_default().into(),
            format!("{}/{}", policy.kind.to_ascii_lowercase(), policy.name).into(),
            policy.mode.clone().into(),
            policy.targets.to_string().into(),
            count(policy.drifted, Tone::Warn),
            count(policy.escalated, Tone::Bad),
            ready,
        ]);
    }
    out.push_str(&section(&table, palette, "no policies"));

    out.push('\n');
    heading(&mut out, "CAMPAIGNS", overview.campaigns.len());
    let mut table = Table::new(&["NAME", "OWNER", "COMPLIANT", "OPEN", "CLOSED", "STATE", "DEADLINE"]);
    for campaign in &overview.campaigns {
        let tone = match campaign.state.as_str() {
            "Completed" | "OnTrack" => Tone::Good,
            "DeadlineMissed" => Tone::Bad,
            "AtRisk" | "Paused" => Tone::Warn,
            _ => Tone::Faint,
        };
        table.row(vec![
            campaign.name.clone().into(),
            campaign.owner.clone().into(),
            campaign.compliant_percent.map(|p| format!("{p}%")).unwrap_or_default().into(),
            campaign.open.to_string().into(),
            campaign.closed.to_string().into(),
            Cell::toned(campaign.state.clone(), tone),
            deadline(campaign.deadline, now).into(),
        ]);
    }
    out.push_str(&section(&table, palette, "no campaigns"));

    out.push('\n');
    heading(&mut out, "OPEN ESCALATIONS", overview.escalations.len());
    let mut headings = vec!["OWNER", "TARGET", "SOURCE", "STATE", "CLASS", "WHY"];
    if all {
        headings.insert(1, "NAMESPACE");
    }
    let mut table = Table::new(&headings);
    for line in &overview.escalations {
        let mut cells: Vec<Cell> = vec![
            line.owner.clone().unwrap_or_default().into(),
            format!("{}/{}", line.target.kind.to_ascii_lowercase(), line.target.name).into(),
            line.source.clone().into(),
            Cell::toned(line.state.clone(), if line.state == "Open" { Tone::Warn } else { Tone::Bad }),
            line.class.clone().unwrap_or_default().into(),
            line.reason.clone().unwrap_or_default().into(),
        ];
        if all {
            cells.insert(1, line.target.namespace.clone().unwrap_or_default().into());
        }
        table.row(cells);
    }
    out.push_str(&section(&table, palette, "nothing waits for a person"));
    if !overview.escalations.is_empty() {
        out.push_str(&palette.paint(
            Tone::Faint,
            "\nkubectl driftwarden explain SOURCE shows the evidence; approve FINDING approves a finding's fix.\n",
        ));
    }
    out
}

fn count(value: u32, tone: Tone) -> Cell {
    match value {
        0 => "0".into(),
        n => Cell::toned(n.to_string(), tone),
    }
}

fn section(table: &Table, palette: Palette, empty: &str) -> String {
    match table.is_empty() {
        true => format!("{}\n", palette.paint(Tone::Faint, &format!("({empty})"))),
        false => table.render(palette),
    }
}

/// A deadline as a date, with how far away it is.
fn deadline(deadline: Timestamp, now: Timestamp) -> String {
    let date = deadline.strftime("%Y-%m-%d");
    let days = (deadline.as_second() - now.as_second()) / 86_400;
    match days {
        0 if deadline >= now => format!("{date} (today)"),
        d if deadline >= now => format!("{date} (in {d}d)"),
        d => format!("{date} ({}d ago)", -d.min(-1)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn ready(status: &str, reason: &str) -> Value {
        json!({"type": "Ready", "status": status, "reason": reason, "message": "", "lastTransitionTime": "2026-04-01T00:00:00Z"})
    }

    fn scene() -> (Vec<DriftPolicy>, Vec<ClusterDriftPolicy>, Vec<RemediationCampaign>, Vec<Finding>) {
        let policy = parse(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy", "metadata": {"name": "owners", "namespace": "shop"},
            "spec": {},
            "status": {"targets": 3, "drifted": 2, "escalated": 1, "conditions": [ready("True", "Reconciled")],
                       "drifts": [
                           {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
                            "paths": ["/spec/template/spec/containers/name=app/image"], "class": "Rollout", "action": "Escalate",
                            "reason": "Rollout fixes are not in autoRemediate", "owner": "storefront"},
                           {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "settings"},
                            "paths": ["/metadata/labels/team"], "class": "Metadata", "action": "Remediate"},
                           {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "flags"},
                            "paths": ["/data/beta"], "class": "Spec", "action": "Escalate", "reason": "circuit open", "owner": "shop"}
                       ]}
        }));
        let cluster_policy = parse(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy", "metadata": {"name": "labels"},
            "spec": {"remediation": {"mode": "Audit"}},
            "status": {"targets": 10, "drifted": 1, "escalated": 1, "conditions": [ready("False", "InvalidSpec")],
                       "drifts": [{"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "payments", "name": "x"},
                                   "paths": ["/metadata/labels/team"], "class": "Metadata", "action": "Audit"}]}
        }));
        let campaign = parse(json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": "images"},
            "spec": {"objective": "pinned images", "owner": {"team": "platform"}, "deadline": "2026-06-30T00:00:00Z",
                     "control": {"policyRef": {"kind": "DriftPolicy", "namespace": "shop", "name": "owners"}}},
            "status": {"compliantPercent": 40, "findings": {"open": 1, "escalated": 2, "closed": 1, "excepted": 1},
                       "conditions": [ready("True", "Reconciled"),
                                      {"type": "AtRisk", "status": "True", "reason": "ProjectionMissesDeadline", "message": "",
                                       "lastTransitionTime": "2026-04-01T00:00:00Z"}]}
        }));
        let finding = |name: &str, state: &str, asset: &str| -> Finding {
            parse(json!({
                "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "metadata": {"name": name, "namespace": "shop"},
                "spec": {"campaign": "images", "control": "shop/owners", "severity": "High", "owner": {"team": "storefront"},
                         "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": asset}},
                "status": {"state": state, "class": "Rollout",
                           "evidence": [{"time": "2026-04-01T08:00:00Z", "action": "Escalated", "actor": "driftwarden",
                                         "result": "Succeeded", "message": "waiting for approval"}]}
            }))
        };
        let findings = vec![finding("web-1", "Escalated", "web"), finding("api-1", "Closed", "api")];
        (vec![policy], vec![cluster_policy], vec![campaign], findings)
    }

    #[test]
    fn the_overview_lists_policies_campaigns_and_what_waits_for_a_person() {
        let (policies, cluster, campaigns, findings) = scene();
        let shop = overview(Some("shop".into()), &policies, &cluster, &campaigns, &findings, vec![]);
        assert_eq!(shop.policies.len(), 2);
        assert_eq!(shop.campaigns[0].state, "AtRisk");
        assert_eq!((shop.campaigns[0].open, shop.campaigns[0].closed), (3, 2));
        let escalations: Vec<(&str, &str, &str)> =
            shop.escalations.iter().map(|e| (e.target.name.as_str(), e.source.as_str(), e.state.as_str())).collect();
        // web is listed once, as its Finding; the remediated drift and the closed finding are
        // not escalations; payments' drift is another namespace's.
        assert_eq!(escalations, [("flags", "driftpolicy/owners", "Escalate"), ("web", "finding/web-1", "Escalated")]);
        assert_eq!(shop.escalations[1].reason.as_deref(), Some("waiting for approval"));

        let all = overview(None, &policies, &cluster, &campaigns, &findings, vec![]);
        assert!(all.escalations.iter().any(|e| e.source == "clusterdriftpolicy/labels" && e.state == "Audit"));
        let json = serde_json::to_value(&all).unwrap();
        assert!(json.get("namespace").is_none());
        assert_eq!(json["campaigns"][0]["compliantPercent"], 40);
        assert_eq!(json["policies"][0]["kind"], "ClusterDriftPolicy");
        let audit = json["escalations"].as_array().unwrap().iter().find(|e| e["source"] == "clusterdriftpolicy/labels");
        assert_eq!(audit.unwrap()["target"]["namespace"], "payments", "{json:#}");
    }

    #[test]
    fn the_text_is_three_tables() {
        let (policies, cluster, campaigns, findings) = scene();
        let shop = overview(Some("shop".into()), &policies, &cluster, &campaigns, &findings, vec![]);
        let text = render(&shop, "2026-04-02T00:00:00Z".parse().unwrap(), Palette::plain());
        assert!(text.starts_with("POLICIES (2)\nNAMESPACE   NAME"), "{text}");
        assert!(
            text.contains("shop        driftpolicy/owners          Enforce   3         2         1           True\n"),
            "{text}"
        );
        assert!(text.contains("False (InvalidSpec)"), "{text}");
        assert!(
            text.contains("images   platform   40%         3      2        AtRisk   2026-06-30 (in 89d)"),
            "{text}"
        );
        assert!(text.contains("OPEN ESCALATIONS (2)\nOWNER        TARGET"), "{text}");
        assert!(
            text.contains("shop         configmap/flags   driftpolicy/owners   Escalate    Spec      circuit open\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "storefront   deployment/web    finding/web-1        Escalated   Rollout   waiting for approval\n"
            ),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        let empty = render(&Overview::default(), Timestamp::UNIX_EPOCH, Palette::plain());
        assert!(empty.contains("(no policies)") && empty.contains("(nothing waits for a person)"), "{empty}");
    }

    #[test]
    fn a_campaign_s_state_is_one_word_or_why_it_cannot_be_projected() {
        let (_, _, campaigns, _) = scene();
        let mut campaign = campaigns[0].clone();
        assert_eq!(campaign_state(&campaign), "AtRisk");
        campaign.spec.paused = true;
        assert_eq!(campaign_state(&campaign), "Paused");
        let status = campaign.status.as_mut().unwrap();
        status.conditions = vec![parse(json!({"type": "OnTrack", "status": "Unknown", "reason": "NoProgress",
                                              "message": "", "lastTransitionTime": "2026-04-01T00:00:00Z"}))];
        campaign.spec.paused = false;
        assert_eq!(campaign_state(&campaign), "Unknown (NoProgress)");
        campaign.status = None;
        assert_eq!(campaign_state(&campaign), "Pending");
    }

    #[test]
    fn deadlines_say_how_far_away_they_are() {
        let now: Timestamp = "2026-04-02T12:00:00Z".parse().unwrap();
        assert_eq!(deadline("2026-04-12T12:00:00Z".parse().unwrap(), now), "2026-04-12 (in 10d)");
        assert_eq!(deadline("2026-04-02T18:00:00Z".parse().unwrap(), now), "2026-04-02 (today)");
        assert_eq!(deadline("2026-04-01T00:00:00Z".parse().unwrap(), now), "2026-04-01 (1d ago)");
        assert_eq!(deadline("2026-03-01T00:00:00Z".parse().unwrap(), now), "2026-03-01 (32d ago)");
    }
}
