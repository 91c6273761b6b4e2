//! The markdown of a report, to paste into a ticket: a summary and short tables (at most
//! [`ROWS`] rows each). Every value read from the cluster is escaped ([`text::markdown`]).

use std::fmt::Write;

use super::campaign::{CampaignReport, SEVERITIES};
use super::policy::PolicyReport;
use super::{svg, text};
use crate::api::campaign::CheckpointResult;

/// The most rows of one table.
pub const ROWS: usize = 10;

fn dash_or<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_string(), |v| v.to_string())
}

/// The markdown of a campaign report.
pub fn campaign(report: &CampaignReport) -> String {
    let mut out = String::new();
    let m = text::markdown;
    let counts = &report.counts;
    let resolved = counts.closed + counts.excepted;
    let _ = writeln!(out, "## Campaign {}\n", m(&report.name));
    let _ = writeln!(out, "{}\n", m(&report.objective));
    let _ = writeln!(
        out,
        "- **Owner:** {}{}\n- **Control:** {} ({:?}{})\n- **Deadline:** {} (target {}% compliant)",
        m(&report.owner.team),
        report.owner.contact.as_deref().map(|c| format!(" ({})", m(c))).unwrap_or_default(),
        m(&report.control),
        report.mode,
        if report.paused { ", paused" } else { "" },
        text::time(report.deadline),
        report.target_percent
    );
    let _ = writeln!(
        out,
        "- **Progress:** {} of {} findings resolved ({}% compliant): {} closed, {} excepted, {} open ({} escalated)",
        resolved,
        report.total,
        dash_or(report.compliant_percent),
        counts.closed,
        counts.excepted,
        report.total.saturating_sub(resolved),
        counts.escalated
    );
    let projection = match report.projected_completion {
        Some(at) if at <= report.deadline => format!("{} (before the deadline)", text::date(at)),
        Some(at) => format!("{} (**after the deadline**)", text::date(at)),
        None => "not enough history yet".to_string(),
    };
    let _ = writeln!(out, "- **Projected completion:** {projection}");
    let at_risk: Vec<String> = report
        .conditions
        .iter()
        .filter(|c| {
            c.status == "True" && matches!(c.type_.as_str(), "AtRisk" | "DeadlineMissed" | "Completed" | "OnTrack")
        })
        .map(|c| format!("{} ({})", m(&c.type_), m(&c.message)))
        .collect();
    if !at_risk.is_empty() {
        let _ = writeln!(out, "- **Status:** {}", at_risk.join("; "));
    }

    if !report.checkpoints.is_empty() {
        out.push_str("\n### Checkpoints\n\n| date | target | reached | result |\n| --- | ---: | ---: | --- |\n");
        for c in &report.checkpoints {
            let result = match c.result {
                CheckpointResult::Met => "met",
                CheckpointResult::Missed => "**missed**",
                CheckpointResult::Pending => "pending",
            };
            let _ = writeln!(
                out,
                "| {} | {}% | {} | {result} |",
                text::date(c.date.0),
                c.target,
                dash_or(c.actual.map(|a| format!("{a}%")))
            );
        }
    }

    out.push_str("\n### Open findings by owner\n\n| owner | open |");
    for s in SEVERITIES {
        let _ = write!(out, " {} |", svg::severity_name(s));
    }
    out.push_str(" resolved |\n| --- | ---: |");
    for _ in SEVERITIES {
        out.push_str(" ---: |");
    }
    out.push_str(" ---: |\n");
    let rows: Vec<_> = report.by_owner.iter().collect();
    let shown = rows.len().min(ROWS);
    for row in &rows[..shown] {
        let _ = write!(out, "| {} | {} |", m(&row.team), row.open);
        for s in SEVERITIES {
            let _ = write!(out, " {} |", row.open_by_severity.get(s));
        }
        let _ = writeln!(out, " {} |", row.resolved);
    }
    let hidden_owners = (report.owners as usize).saturating_sub(shown);
    if hidden_owners > 0 {
        let _ = writeln!(out, "\n{hidden_owners} more owners in the full report.");
    }

    if !report.oldest_open.is_empty() {
        out.push_str("\n### Oldest open findings\n\n| asset | owner | severity | state | age | ticket |\n| --- | --- | --- | --- | ---: | --- |\n");
        for f in report.oldest_open.iter().take(ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:?} | {} | {} |",
                m(&f.asset.to_string()),
                m(&f.owner),
                svg::severity_name(f.severity),
                f.state,
                f.age_seconds.map(text::age).unwrap_or_default(),
                m(f.ticket.as_deref().unwrap_or_default())
            );
        }
    }

    if !report.recently_closed.is_empty() {
        out.push_str("\n### Recently closed, with evidence\n\n| asset | owner | closed | verified by | resourceVersion | live hash |\n| --- | --- | --- | --- | --- | --- |\n");
        for f in report.recently_closed.iter().take(ROWS) {
            let proof = f.evidence.iter().rev().find(|e| e.action == crate::api::finding::EvidenceAction::Verified);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                m(&f.asset.to_string()),
                m(&f.owner),
                f.closed_at.map(text::time).unwrap_or_default(),
                proof.map(|e| m(&e.actor)).unwrap_or_else(|| format!("{:?}", f.state)),
                proof.and_then(|e| e.resource_version.as_deref()).map(m).unwrap_or_default(),
                proof.and_then(|e| e.live_hash.as_deref()).map(m).unwrap_or_default()
            );
        }
    }
    let _ =
        writeln!(out, "\n_Made by driftwarden {} at {}._", env!("CARGO_PKG_VERSION"), text::time(report.generated_at));
    out
}

/// The markdown of a policy report.
pub fn policy(report: &PolicyReport) -> String {
    let mut out = String::new();
    let m = text::markdown;
    let c = &report.counts;
    let _ = writeln!(out, "## {}\n", m(&report.title()));
    let _ = writeln!(
        out,
        "- **Mode:** {:?}\n- **Targets:** {} ({} compliant, {} drifted, {} escalated, {} excepted, {} opted out)\n- **Fixes verified:** {}{}",
        report.mode,
        c.targets,
        c.compliant,
        c.drifted,
        c.escalated,
        c.excepted,
        c.opted_out,
        c.remediated,
        report.last_remediation_time.as_deref().map(|t| format!(" (last {})", m(t))).unwrap_or_default()
    );
    if let (Some(first), Some(last)) = (report.history.first(), report.history.last()) {
        let fixes: u32 = report.fixes_per_interval.iter().map(|i| i.fixes).sum();
        let _ = writeln!(
            out,
            "- **History:** from {} to {}: drifted {} → {}, escalated {} → {}, {} fixes verified",
            text::time(first.time.0),
            text::time(last.time.0),
            first.drifted,
            last.drifted,
            first.escalated,
            last.escalated,
            fixes
        );
    }
    for (title, groups) in [("owner", &report.by_owner), ("class", &report.by_class), ("age", &report.by_age)] {
        if groups.is_empty() {
            continue;
        }
        let _ = write!(out, "\n### Drifts by {title}\n\n| {title} | drifts | escalated |\n| --- | ---: | ---: |\n");
        for g in groups.iter().take(ROWS) {
            let _ = writeln!(out, "| {} | {} | {} |", m(&g.key), g.drifts, g.escalated);
        }
    }
    if report.drifts_cut() {
        let _ = writeln!(out, "\nThe status lists {} of the {} drifted targets.", report.drifts.len(), c.drifted);
    }
    if !report.drifts.is_empty() {
        out.push_str(
            "\n### Oldest drifts\n\n| object | owner | class | action | age |\n| --- | --- | --- | --- | ---: |\n",
        );
        for d in report.drifts.iter().take(ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                m(&d.target.to_string()),
                m(&d.owner),
                d.class.map(|c| format!("{c:?}")).unwrap_or_default(),
                m(&d.action),
                d.age_seconds.map(text::age).unwrap_or_default()
            );
        }
    }
    if !report.fixes.is_empty() {
        out.push_str("\n### Recent fixes\n\n| time | object | action | actor | result | resourceVersion |\n| --- | --- | --- | --- | --- | --- |\n");
        for f in report.fixes.iter().take(ROWS) {
            let e = &f.evidence;
            let _ = writeln!(
                out,
                "| {} | {} | {:?} | {} | {:?} | {} |",
                text::time(e.time.0),
                m(&f.target.to_string()),
                e.action,
                m(&e.actor),
                e.result,
                m(e.resource_version.as_deref().unwrap_or_default())
            );
        }
    }
    let _ =
        writeln!(out, "\n_Made by driftwarden {} at {}._", env!("CARGO_PKG_VERSION"), text::time(report.generated_at));
    out
}
