//! The reports from objects as the operator writes them, without a cluster.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use super::campaign::{MAX_CLOSED, MAX_OLDEST_OPEN, MAX_OWNER_ROWS};
use super::*;
use crate::api::campaign::RemediationCampaign;
use crate::api::finding::{Finding, FindingState, Severity};
use crate::api::policy::{Mode, PolicyStatus};

const NOW: &str = "2026-04-20T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn campaign() -> RemediationCampaign {
    serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": "no-token-automount", "uid": "c-1"},
        "spec": {
            "objective": "No workload mounts a token it does not use",
            "owner": {"team": "platform-security", "contact": "security@example.com"},
            "control": {"policyRef": {"kind": "DriftPolicy", "namespace": "shop", "name": "web-hardening"}},
            "deadline": "2026-05-15T00:00:00Z",
            "successCriteria": {"compliantPercent": 90},
            "checkpoints": [
                {"date": "2026-04-05T00:00:00Z", "compliantPercent": 30},
                {"date": "2026-04-12T00:00:00Z", "compliantPercent": 50},
                {"date": "2026-05-01T00:00:00Z", "compliantPercent": 70}
            ],
        },
        "status": {
            "total": 10,
            "findings": {"open": 3, "escalated": 2, "closed": 4, "excepted": 1},
            "compliantPercent": 50,
            "checkpoints": [
                {"date": "2026-04-05T00:00:00Z", "target": 30, "actual": 30, "result": "Met"},
                {"date": "2026-04-12T00:00:00Z", "target": 50, "actual": 40, "result": "Missed"},
                {"date": "2026-05-01T00:00:00Z", "target": 70, "actual": 50, "result": "Pending"}
            ],
            "burnDown": [
                {"time": "2026-04-01T00:00:00Z", "open": 10, "closed": 0},
                {"time": "2026-04-06T00:00:00Z", "open": 7, "closed": 3},
                {"time": "2026-04-12T00:00:00Z", "open": 6, "closed": 4},
                {"time": "2026-04-19T00:00:00Z", "open": 5, "closed": 5}
            ],
            "projectedCompletion": "2026-05-08T00:00:00Z",
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "5 of 10 findings resolved", "lastTransitionTime": "2026-04-01T00:00:00Z"},
                {"type": "AtRisk", "status": "True", "reason": "CheckpointMissed", "message": "a checkpoint was missed", "lastTransitionTime": "2026-04-12T00:00:00Z"}
            ]
        }
    }))
    .unwrap()
}

fn evidence(time: &str, action: &str, hash: &str) -> Value {
    json!({"time": time, "action": action, "actor": "driftwarden", "resourceVersion": "901",
        "desiredHash": "9f2c0e", "liveHash": hash, "result": "Succeeded"})
}

/// A Finding of the campaign, as the operator writes it.
fn finding(asset: &str, team: &str, severity: &str, state: &str, created: &str) -> Finding {
    let mut status = json!({"state": state, "lastTransitionTime": created, "class": "Rollout",
        "paths": ["/spec/template/spec/automountServiceAccountToken"]});
    if state == "Closed" {
        let closed = created.replace("T00", "T06");
        status["lastTransitionTime"] = json!(closed);
        status["evidence"] = json!([evidence(created, "Detected", "41aa07"), evidence(&closed, "Verified", "9f2c0e")]);
    }
    serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": format!("no-token-automount.deployment.{asset}"), "namespace": "shop",
            "creationTimestamp": created},
        "spec": {"campaign": "no-token-automount", "control": "shop/web-hardening", "severity": severity,
            "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": asset},
            "owner": {"team": team}},
        "status": status
    }))
    .unwrap()
}

fn findings() -> Vec<Finding> {
    vec![
        finding("cart", "shop", "High", "Open", "2026-04-03T00:00:00Z"),
        finding("checkout", "payments", "Critical", "Escalated", "2026-04-01T00:00:00Z"),
        finding("search", "search", "Medium", "Closed", "2026-04-02T00:00:00Z"),
        finding("web", "shop", "Low", "Closed", "2026-04-04T00:00:00Z"),
        finding("api", "shop", "High", "Escalated", "2026-04-02T00:00:00Z"),
    ]
}

fn report() -> CampaignReport {
    CampaignReport::build(&campaign(), &findings(), 1, now())
}

/// The `points` attribute of the polyline of `series`, as (x, y) pairs.
fn series(svg: &str, series: &str) -> Vec<(f64, f64)> {
    let start = svg.find(&format!("data-series=\"{series}\"")).unwrap_or_else(|| panic!("no series {series}"));
    let rest = &svg[start..];
    let points = &rest[rest.find(" points=\"").unwrap() + 9..];
    let points = &points[..points.find('"').unwrap()];
    points
        .split(' ')
        .map(|pair| {
            let (x, y) = pair.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// What a self-contained page must not hold: anything loaded from elsewhere, any script.
fn assert_self_contained(page: &str) {
    for forbidden in ["http://", "https://", "<script", "<link", "@import", "url(", "<img", "<iframe"] {
        assert!(!page.contains(forbidden), "the page holds {forbidden}");
    }
}

#[test]
fn a_campaign_report_groups_findings_by_owner_and_severity() {
    let report = report();
    assert_eq!(report.control, "DriftPolicy shop/web-hardening");
    assert_eq!((report.total, report.compliant_percent, report.target_percent), (10, Some(50), 90));
    assert_eq!((report.findings_read, report.findings_ignored, report.owners), (5, 1, 3));
    let owners: Vec<(&str, u32, u32)> = report.by_owner.iter().map(|r| (r.team.as_str(), r.open, r.resolved)).collect();
    assert_eq!(owners, [("shop", 2, 1), ("payments", 1, 0), ("search", 0, 1)]);
    assert_eq!(report.by_owner[0].open_by_severity.high, 2);
    assert!(report.other_owners.is_none());
    let severities: Vec<(Severity, u32, u32)> =
        report.by_severity.iter().map(|r| (r.severity, r.open, r.resolved)).collect();
    assert_eq!(
        severities,
        [(Severity::Critical, 1, 0), (Severity::High, 2, 0), (Severity::Medium, 0, 1), (Severity::Low, 0, 1)]
    );
}

#[test]
fn the_oldest_open_findings_come_first_with_their_age_and_closed_ones_with_their_evidence() {
    let report = report();
    let oldest: Vec<&str> = report.oldest_open.iter().map(|f| f.asset.name.as_str()).collect();
    assert_eq!(oldest, ["checkout", "api", "cart"]);
    assert_eq!(report.oldest_open[0].age_seconds, Some(19 * 86_400 + 12 * 3_600));
    assert_eq!(report.oldest_open[0].state, FindingState::Escalated);
    let closed: Vec<&str> = report.recently_closed.iter().map(|f| f.asset.name.as_str()).collect();
    assert_eq!(closed, ["web", "search"], "latest closed first");
    assert_eq!(report.recently_closed[0].evidence.len(), 2);
    assert_eq!(report.recently_closed[0].evidence[1].live_hash.as_deref(), Some("9f2c0e"));
    // 90% of 10 findings leaves one open; 50% five.
    assert_eq!((report.open_allowed(90), report.open_allowed(50), report.open_allowed(100)), (1, 5, 0));
}

#[test]
fn the_burn_down_draws_both_series_the_projection_the_deadline_and_every_checkpoint() {
    let report = report();
    let svg = svg::burn_down(&report);
    let open = series(&svg, "open");
    let closed = series(&svg, "closed");
    assert_eq!((open.len(), closed.len()), (4, 4));
    assert!(svg.contains(r#"data-series="open" data-points="4""#));
    // Open goes down (y grows downwards), closed goes up, both left to right.
    assert!(open.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{open:?}");
    assert!(closed.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1), "{closed:?}");
    let projection = series(&svg, "projection");
    assert_eq!(projection.len(), 2);
    assert!(projection[1].0 > projection[0].0 && projection[1].1 > projection[0].1, "towards one open finding");
    assert!(svg.contains("stroke-dasharray=\"6 4\""));
    assert!(svg.contains("data-marker=\"deadline\"") && svg.contains("deadline 2026-05-15"));
    for result in ["Met", "Missed", "Pending"] {
        assert_eq!(svg.matches(&format!("data-checkpoint=\"{result}\"")).count(), 1, "{result}");
    }
}

#[test]
fn a_projection_far_past_the_deadline_leaves_the_chart_at_its_edge() {
    let mut campaign = campaign();
    campaign.status.as_mut().unwrap().projected_completion = Some(Time("2031-01-01T00:00:00Z".parse().unwrap()));
    let report = CampaignReport::build(&campaign, &findings(), 0, now());
    let svg = svg::burn_down(&report);
    let projection = series(&svg, "projection");
    assert!((projection[1].0 - (960.0 - 24.0)).abs() < 0.2, "{projection:?}");
    assert!(svg.contains("projected 2031-01-01 (beyond the chart)"));
}

#[test]
fn a_campaign_without_history_says_so_instead_of_drawing() {
    let mut campaign = campaign();
    campaign.status = None;
    let report = CampaignReport::build(&campaign, &[], 0, now());
    let page = report.render(Format::Html);
    assert!(page.contains("data-empty=\"true\"") && page.contains("No burn-down yet"));
    assert!(!page.contains("data-series=\"open\""));
    assert_self_contained(&page);
}

#[test]
fn the_html_page_is_self_contained_and_holds_every_section() {
    let page = report().render(Format::Html);
    assert_self_contained(&page);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for section in [
        "Burn-down",
        "Checkpoints",
        "Findings by owner",
        "Findings by severity",
        "Oldest open findings",
        "Evidence of closed findings",
    ] {
        assert!(page.contains(&format!("<h2>{section}</h2>")), "{section}");
    }
    assert!(page.contains("data-condition=\"AtRisk\""));
    assert_eq!(page.matches("<tr data-evidence>").count(), 4);
    assert!(page.contains("1 Finding naming this campaign left out"));
}

#[test]
fn markup_from_tenants_is_inert_in_every_format() {
    let evil = "<script>alert('owned')</script>";
    let mut findings = findings();
    findings[0].spec.owner.team = evil.to_string();
    findings[0].spec.ticket = Some("\"><img src=x onerror=alert(1)>".to_string());
    findings[0].status.as_mut().unwrap().paths = vec!["/metadata/labels/a|b".to_string()];
    let mut campaign = campaign();
    campaign.spec.objective = format!("Objective {evil}");
    campaign.spec.owner.contact = Some("| --- |\n# heading".to_string());
    let report = CampaignReport::build(&campaign, &findings, 0, now());
    let page = report.render(Format::Html);
    assert!(!page.contains("<script") && !page.contains("<img"), "markup escaped");
    assert!(page.contains("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"));
    assert_self_contained(&page);
    let markdown = report.render(Format::Markdown);
    assert!(!markdown.contains("<script") && !markdown.contains("<img"));
    assert!(markdown.contains("&lt;script&gt;"));
    assert!(!markdown.contains("\n# heading"), "a value never starts a line of its own");
    // Every row of a table has as many cells as its header.
    let cells = |line: &str| line.match_indices('|').filter(|(at, _)| !line[..*at].ends_with('\\')).count();
    let mut header = None;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let expected = *header.get_or_insert(cells(line));
        assert_eq!(cells(line), expected, "{line}");
    }
    let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(json["oldestOpen"].as_array().unwrap().iter().filter(|f| f["owner"] == evil).count(), 1);
}

#[test]
fn the_json_format_is_the_report_itself() {
    let report = report();
    let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(json["name"], "no-token-automount");
    assert_eq!(json["burnDown"].as_array().unwrap().len(), 4);
    assert_eq!(json["checkpoints"][1]["result"], "Missed");
    assert_eq!(json["projectedCompletion"], "2026-05-08T00:00:00Z");
    assert_eq!(json["byOwner"][0]["team"], "shop");
    assert_eq!(json["recentlyClosed"][0]["evidence"][1]["action"], "Verified");
    assert_eq!(json["findingsIgnored"], 1);
}

#[test]
fn markdown_is_a_summary_with_short_tables() {
    let markdown = report().render(Format::Markdown);
    assert!(markdown.starts_with("## Campaign no-token-automount\n"));
    assert!(markdown.contains("- **Progress:** 5 of 10 findings resolved (50% compliant)"));
    assert!(markdown.contains("- **Projected completion:** 2026-05-08 (before the deadline)"));
    assert!(markdown.contains("| 2026-04-12 | 50% | 40% | **missed** |"));
    assert!(markdown.contains("| shop | 2 | 0 | 2 | 0 | 0 | 0 | 1 |"));
    assert!(markdown.contains("| Deployment shop/checkout | payments | Critical | Escalated | 19d 12h |  |"));
    assert!(markdown.contains("| Deployment shop/web | shop | 2026-04-04 06:00 UTC | driftwarden | 901 | 9f2c0e |"));
}

/// 10,000 findings of 500 owners: the report keeps its tables short and its size bounded.
#[test]
fn a_report_over_ten_thousand_findings_stays_small() {
    let states = ["Open", "Escalated", "Closed", "Excepted", "Remediating"];
    let severities = ["Critical", "High", "Medium", "Low", "Info"];
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let findings: Vec<Finding> = (0..10_000)
        .map(|i| {
            let created = text::plus_seconds(start, i64::from(i) * 600).to_string();
            finding(
                &format!("asset-{i:05}"),
                &format!("team-{:03}", i % 500),
                severities[i as usize % 5],
                states[(i as usize / 7) % 5],
                &created,
            )
        })
        .collect();
    let mut campaign = campaign();
    let status = campaign.status.as_mut().unwrap();
    status.total = 10_000;
    status.burn_down = (0..100)
        .map(|i| crate::api::campaign::BurnDownPoint {
            time: Time(text::plus_seconds(start, i64::from(i) * 3_600 * 24)),
            open: 10_000 - i * 40,
            closed: i * 40,
        })
        .collect();
    let report = CampaignReport::build(&campaign, &findings, 0, now());
    assert_eq!(report.by_owner.len(), MAX_OWNER_ROWS);
    let others = report.other_owners.as_ref().unwrap();
    assert_eq!(others.team, "480 other owners");
    let summed: u32 = report.by_owner.iter().chain([others]).map(|r| r.open + r.resolved).sum();
    assert_eq!(summed, 10_000, "every finding counted once");
    assert_eq!(report.oldest_open.len(), MAX_OLDEST_OPEN);
    assert_eq!(report.oldest_open[0].asset.name, "asset-00000");
    assert_eq!(report.recently_closed.len(), MAX_CLOSED);
    let html = report.render(Format::Html);
    let markdown = report.render(Format::Markdown);
    let json = report.render(Format::Json);
    assert!(html.len() < 200_000, "HTML {} bytes", html.len());
    assert!(markdown.len() < 12_000, "markdown {} bytes", markdown.len());
    assert!(json.len() < 150_000, "JSON {} bytes", json.len());
    assert_eq!(series(&svg::burn_down(&report), "open").len(), 100);
}

fn policy_status() -> PolicyStatus {
    serde_json::from_value(json!({
        "targets": 40, "compliant": 36, "drifted": 4, "remediated": 17, "escalated": 2, "excepted": 1,
        "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "message": "", "lastTransitionTime": NOW}],
        "drifts": [
            {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
             "paths": ["/spec/template/spec/containers/0/image"], "class": "Rollout", "action": "Escalate",
             "firstSeen": "2026-04-20T11:30:00Z", "attempts": 0, "owner": "shop", "changedBy": "kubectl-edit"},
            {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "settings"},
             "paths": ["/metadata/labels/team"], "class": "Metadata", "action": "Remediate",
             "firstSeen": "2026-04-20T11:59:00Z", "attempts": 1, "owner": "shop"},
            {"target": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "namespace": "shop", "name": "ci"},
             "paths": ["/rules"], "class": "Access", "action": "Escalate",
             "firstSeen": "2026-04-02T00:00:00Z", "attempts": 0, "owner": "platform"},
            {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "old"},
             "paths": ["/data/x"], "class": "Spec", "action": "Excepted"}
        ],
        "fixes": [
            {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "settings"},
             "paths": ["/metadata/labels/team"], "owner": "shop",
             "time": "2026-04-19T10:00:00Z", "action": "Verified", "actor": "driftwarden", "resourceVersion": "77",
             "desiredHash": "aa", "liveHash": "aa", "result": "Succeeded"},
            {"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "flags"},
             "paths": ["/data/mode"], "owner": "<b>shop</b>",
             "time": "2026-04-20T10:00:00Z", "action": "Verified", "actor": "driftwarden", "resourceVersion": "81",
             "desiredHash": "bb", "liveHash": "cc", "result": "Failed", "message": "still differs"}
        ],
        "history": [
            {"time": "2026-04-20T08:00:00Z", "targets": 40, "drifted": 6, "escalated": 1, "remediated": 10},
            {"time": "2026-04-20T09:00:00Z", "targets": 40, "drifted": 5, "escalated": 2, "remediated": 14},
            {"time": "2026-04-20T10:00:00Z", "targets": 40, "drifted": 4, "escalated": 2, "remediated": 3},
            {"time": "2026-04-20T11:00:00Z", "targets": 40, "drifted": 4, "escalated": 2, "remediated": 17}
        ]
    }))
    .unwrap()
}

fn policy_report() -> PolicyReport {
    PolicyReport::build("DriftPolicy", Some("shop"), "web-hardening", Mode::Enforce, &policy_status(), now())
}

#[test]
fn a_policy_report_groups_drifts_by_owner_class_and_age() {
    let report = policy_report();
    assert_eq!(report.title(), "DriftPolicy shop/web-hardening");
    let groups =
        |g: &[policy::DriftGroup]| g.iter().map(|g| (g.key.clone(), g.drifts, g.escalated)).collect::<Vec<_>>();
    assert_eq!(
        groups(&report.by_owner),
        [("shop".to_string(), 2, 1), ("platform".to_string(), 1, 1), ("unowned".to_string(), 1, 0)]
    );
    assert_eq!(
        groups(&report.by_class),
        [("Access".into(), 1, 1), ("Rollout".into(), 1, 1), ("Spec".into(), 1, 0), ("Metadata".into(), 1, 0)]
    );
    assert_eq!(
        groups(&report.by_age),
        [("under 1 hour".into(), 2, 1), ("7 to 30 days".into(), 1, 1), ("unknown".into(), 1, 0)]
    );
    let oldest: Vec<&str> = report.drifts.iter().map(|d| d.target.name.as_str()).collect();
    assert_eq!(oldest, ["ci", "web", "settings", "old"]);
}

#[test]
fn a_policy_report_turns_the_running_total_into_fixes_per_interval() {
    let report = policy_report();
    let fixes: Vec<u32> = report.fixes_per_interval.iter().map(|i| i.fixes).collect();
    // 10 -> 14: 4; 14 -> 3: counted again from zero, 3; 3 -> 17: 14.
    assert_eq!(fixes, [4, 3, 14]);
    let latest: Vec<&str> = report.fixes.iter().map(|f| f.target.name.as_str()).collect();
    assert_eq!(latest, ["flags", "settings"], "latest fix first");
    let svg = svg::policy_history(&report);
    assert_eq!(series(&svg, "drifted").len(), 4);
    assert_eq!(series(&svg, "escalated").len(), 4);
    let bars = svg::policy_fixes(&report);
    assert!(bars.contains(r#"data-series="fixes" data-points="3""#));
    assert_eq!(bars.matches("data-fixes=").count(), 3);
}

#[test]
fn the_policy_page_is_self_contained_and_escapes_what_it_shows() {
    let report = policy_report();
    let page = report.render(Format::Html);
    assert_self_contained(&page);
    assert!(!page.contains("<b>shop</b>") && page.contains("&lt;b&gt;shop&lt;/b&gt;"));
    for chart in ["policy-history", "policy-fixes", "drifts-by-owner", "drifts-by-class", "drifts-by-age"] {
        assert!(page.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    assert_eq!(page.matches("<tr data-evidence>").count(), 2);
    assert_eq!(page.matches("<tr data-drift>").count(), 4);
    let markdown = report.render(Format::Markdown);
    assert!(markdown.starts_with("## DriftPolicy shop/web-hardening\n"));
    assert!(markdown.contains("- **History:** from 2026-04-20 08:00 UTC to 2026-04-20 11:00 UTC: drifted 6 → 4, escalated 1 → 2, 21 fixes verified"));
    assert!(markdown.contains("| shop | 2 | 1 |"));
    let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(json["fixesPerInterval"].as_array().unwrap().len(), 3);
    assert_eq!(json["fixes"][0]["liveHash"], "cc");
}

#[test]
fn a_policy_without_status_reports_nothing_yet() {
    let report =
        PolicyReport::build("ClusterDriftPolicy", None, "baseline", Mode::Audit, &PolicyStatus::default(), now());
    assert_eq!(report.title(), "ClusterDriftPolicy baseline");
    let page = report.render(Format::Html);
    assert_self_contained(&page);
    assert_eq!(page.matches("data-empty=\"true\"").count(), 2);
    assert!(page.contains("Nothing drifts."));
}

#[test]
fn thinning_keeps_both_ends_and_an_even_spread() {
    let mut points: Vec<u32> = (0..250).collect();
    campaign::thin(&mut points, 100);
    assert_eq!(points.len(), 100);
    assert_eq!((points[0], points[99]), (0, 249));
    let mut few = vec![1, 2, 3];
    campaign::thin(&mut few, 100);
    assert_eq!(few, [1, 2, 3]);
}

#[test]
fn top_n_keeps_the_first_sorted_and_returns_the_rest() {
    let mut items: Vec<u32> = (0..50).rev().collect();
    let rest = top_n(&mut items, 5, |a, b| a.cmp(b));
    assert_eq!(items, [0, 1, 2, 3, 4]);
    assert_eq!(rest.len(), 45);
    let mut short = vec![3, 1, 2];
    assert!(top_n(&mut short, 5, |a, b| a.cmp(b)).is_empty());
    assert_eq!(short, [1, 2, 3]);
}
