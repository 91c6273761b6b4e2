//! The HTML page of a report: one file, styles and charts inline, no script and nothing
//! loaded from anywhere, so it can be mailed, attached to a ticket or opened offline.
//! Every value read from the cluster is escaped ([`text::html`]).

use std::fmt::Write;

use super::campaign::{CampaignReport, ClosedFinding, SEVERITIES};
use super::policy::PolicyReport;
use super::{ConditionSummary, svg, text};
use crate::api::campaign::CheckpointResult;
use crate::api::finding::Evidence;
use crate::api::{ObjectRef, RemediationClass};

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #212529; margin: 0; background: #f8f9fa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: 16px; margin: 16px 0; }
.meta, .note, footer { color: #495057; font-size: 13px; }
.objective { font-size: 16px; margin: 4px 0 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; background: none; border: none; padding: 0; }
.card { background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 22px; } .card span { color: #495057; font-size: 12px; }
.badge { display: inline-block; border-radius: 10px; padding: 2px 8px; margin: 2px 4px 2px 0; font-size: 12px; background: #e9ecef; }
.badge.good { background: #d3f9d8; color: #2b8a3e; } .badge.bad { background: #ffe3e3; color: #c92a2a; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e9ecef; vertical-align: top; }
th { background: #f1f3f5; } td.n, th.n { text-align: right; }
code { font-size: 12px; word-break: break-all; }
.Met { color: #2b8a3e; } .Missed { color: #c92a2a; } .Pending { color: #868e96; }
.sev { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
details { margin: 8px 0; } summary { cursor: pointer; }
";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <main>\n{body}</main>\n</body>\n</html>\n",
        text::html(title)
    )
}

fn card(out: &mut String, value: &str, label: &str) {
    let _ = write!(out, "<div class=\"card\"><b>{}</b><span>{}</span></div>", text::html(value), text::html(label));
}

fn badges(out: &mut String, conditions: &[ConditionSummary]) {
    out.push_str("<p>");
    for c in conditions {
        // Whether `True` is good news depends on the condition.
        let bad_when_true = matches!(c.type_.as_str(), "AtRisk" | "DeadlineMissed" | "Stalled" | "Escalated");
        let class = match (c.status.as_str(), bad_when_true) {
            ("True", false) | ("False", true) => "good",
            ("True", true) | ("False", false) => "bad",
            _ => "",
        };
        let _ = write!(
            out,
            "<span class=\"badge {class}\" data-condition=\"{}\" title=\"{}: {}\">{} {}</span>",
            text::html(&c.type_),
            text::html(&c.reason),
            text::html(&c.message),
            text::html(&c.type_),
            text::html(&c.status)
        );
    }
    out.push_str("</p>");
}

fn asset(target: &ObjectRef) -> String {
    text::html(&target.to_string())
}

fn class_name(class: Option<RemediationClass>) -> String {
    class.map_or_else(String::new, |c| format!("{c:?}"))
}

fn paths(paths: &[String]) -> String {
    paths.iter().map(|p| format!("<code>{}</code>", text::html(p))).collect::<Vec<_>>().join("<br>")
}

/// `1 finding`, `2 findings`.
fn plural(count: u32, noun: &str) -> String {
    if count == 1 { format!("{count} {noun}") } else { format!("{count} {noun}s") }
}

fn footer(out: &mut String, generated: jiff::Timestamp, extra: &str) {
    let _ = writeln!(
        out,
        "<footer>Made by driftwarden {} at {}. {}</footer>",
        env!("CARGO_PKG_VERSION"),
        text::time(generated),
        text::html(extra)
    );
}

/// The HTML page of a campaign report.
pub fn campaign(report: &CampaignReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<header>\n<h1>Campaign {}</h1>\n<p class=\"objective\">{}</p>\n<p class=\"meta\">Owner <b>{}</b>{} · \
         control {} · mode {:?}{} · deadline {} · target {}% compliant</p>\n",
        text::html(&report.name),
        text::html(&report.objective),
        text::html(&report.owner.team),
        report.owner.contact.as_deref().map(|c| format!(" ({})", text::html(c))).unwrap_or_default(),
        text::html(&report.control),
        report.mode,
        if report.paused { " (paused)" } else { "" },
        text::time(report.deadline),
        report.target_percent
    );
    badges(&mut out, &report.conditions);
    out.push_str("</header>\n<section class=\"cards\">");
    let counts = &report.counts;
    let resolved = counts.closed + counts.excepted;
    card(&mut out, &report.total.to_string(), "findings");
    card(&mut out, &report.total.saturating_sub(resolved).to_string(), "open");
    card(&mut out, &counts.closed.to_string(), "closed (verified)");
    card(&mut out, &counts.excepted.to_string(), "excepted");
    card(&mut out, &counts.escalated.to_string(), "escalated");
    card(&mut out, &report.compliant_percent.map_or_else(|| "–".to_string(), |p| format!("{p}%")), "compliant");
    card(&mut out, &report.projected_completion.map_or_else(|| "–".to_string(), text::date), "projected completion");
    let met = report.checkpoints.iter().filter(|c| c.result == CheckpointResult::Met).count();
    let missed = report.checkpoints.iter().filter(|c| c.result == CheckpointResult::Missed).count();
    card(&mut out, &format!("{met} / {missed}"), "checkpoints met / missed");
    out.push_str("</section>\n");

    out.push_str("<section>\n<h2>Burn-down</h2>\n");
    out.push_str(&svg::burn_down(report));
    let projection = match report.projected_completion {
        Some(at) if at <= report.deadline => {
            format!("At the current pace the target is met on {}, before the deadline.", text::date(at))
        }
        Some(at) => format!("At the current pace the target is met on {}, after the deadline.", text::date(at)),
        None => "No projection yet: it needs progress over at least two points in time.".to_string(),
    };
    let _ = write!(
        out,
        "\n<p class=\"note\">Open (not closed or excepted) and closed findings as the operator counted them, at \
         most a point an hour. The dashed line runs to the projected completion, when the success criteria \
         allow at most {} open; each diamond is a checkpoint, placed at the open count it allows. {}</p>\n</section>\n",
        plural(report.open_allowed(report.target_percent), "finding"),
        text::html(&projection)
    );

    out.push_str("<section>\n<h2>Checkpoints</h2>\n");
    if report.checkpoints.is_empty() {
        out.push_str("<p class=\"note\">The campaign has no checkpoints.</p>");
    } else {
        out.push_str(
            "<table><tr><th>date</th><th class=\"n\">target</th><th class=\"n\">reached</th><th>result</th></tr>",
        );
        for c in &report.checkpoints {
            let result = format!("{:?}", c.result);
            let _ = write!(
                out,
                "<tr data-checkpoint-row=\"{result}\"><td>{}</td><td class=\"n\">{}%</td><td class=\"n\">{}</td><td class=\"{result}\">{result}</td></tr>",
                text::date(c.date.0),
                c.target,
                c.actual.map_or_else(|| "–".to_string(), |a| format!("{a}%"))
            );
        }
        out.push_str("</table>");
    }
    out.push_str("\n</section>\n");

    out.push_str("<section>\n<h2>Findings by owner</h2>\n");
    out.push_str(&svg::owners(report));
    out.push_str("\n<table><tr><th>owner</th><th>contact</th><th class=\"n\">open</th>");
    for s in SEVERITIES {
        let _ = write!(out, "<th class=\"n\">{}</th>", svg::severity_name(s));
    }
    out.push_str("<th class=\"n\">resolved</th></tr>");
    for row in report.by_owner.iter().chain(report.other_owners.as_ref()) {
        let _ = write!(
            out,
            "<tr data-owner=\"{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            text::html(&row.team),
            text::html(&row.team),
            text::html(row.contact.as_deref().unwrap_or_default()),
            row.open
        );
        for s in SEVERITIES {
            let _ = write!(out, "<td class=\"n\">{}</td>", row.open_by_severity.get(s));
        }
        let _ = write!(out, "<td class=\"n\">{}</td></tr>", row.resolved);
    }
    out.push_str("</table>\n</section>\n");

    out.push_str("<section>\n<h2>Findings by severity</h2>\n<table><tr><th>severity</th><th class=\"n\">open</th><th class=\"n\">resolved</th></tr>");
    for row in &report.by_severity {
        let _ = write!(
            out,
            "<tr><td><span class=\"sev\" style=\"background:{}\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            svg::severity_colour(row.severity),
            svg::severity_name(row.severity),
            row.open,
            row.resolved
        );
    }
    out.push_str("</table>\n</section>\n");

    let _ = write!(out, "<section>\n<h2>Oldest open findings</h2>\n");
    if report.oldest_open.is_empty() {
        out.push_str("<p class=\"note\">No open findings.</p>");
    } else {
        out.push_str(
            "<table><tr><th>asset</th><th>owner</th><th>severity</th><th>state</th><th>class</th><th class=\"n\">age</th><th>ticket</th><th>fields</th></tr>",
        );
        for f in &report.oldest_open {
            let _ = write!(
                out,
                "<tr data-finding=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                text::html(&f.finding),
                asset(&f.asset),
                text::html(&f.owner),
                svg::severity_name(f.severity),
                f.state,
                class_name(f.class),
                f.age_seconds.map(text::age).unwrap_or_default(),
                text::html(f.ticket.as_deref().unwrap_or_default()),
                paths(&f.paths)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("\n</section>\n");

    out.push_str("<section>\n<h2>Evidence of closed findings</h2>\n");
    if report.recently_closed.is_empty() {
        out.push_str("<p class=\"note\">No finding is closed yet.</p>");
    } else {
        let _ = write!(
            out,
            "<p class=\"note\">The {} findings closed last. A finding is closed only once a fresh read of the live \
             object matched; hashes are of the governed fields, never their values.</p>",
            report.recently_closed.len()
        );
        for (i, f) in report.recently_closed.iter().enumerate() {
            closed_finding(&mut out, f, i == 0);
        }
    }
    out.push_str("\n</section>\n");
    let ignored = if report.findings_ignored > 0 {
        format!(
            " {} naming this campaign left out: the operator did not write them.",
            plural(report.findings_ignored, "Finding")
        )
    } else {
        String::new()
    };
    footer(&mut out, report.generated_at, &format!("{} read.{ignored}", plural(report.findings_read, "Finding")));
    page(&format!("Campaign {}: driftwarden report", report.name), &out)
}

/// A closed finding and its evidence, folded unless `open`.
fn closed_finding(out: &mut String, f: &ClosedFinding, open: bool) {
    let _ = write!(
        out,
        "<details data-closed=\"{}\"{}><summary>{} · {} · {} · {:?}{}</summary>",
        text::html(&f.finding),
        if open { " open" } else { "" },
        asset(&f.asset),
        text::html(&f.owner),
        svg::severity_name(f.severity),
        f.state,
        f.closed_at.map(|t| format!(" {}", text::time(t))).unwrap_or_default()
    );
    evidence_table(out, f.evidence.iter().map(|e| (None, e)));
    out.push_str("</details>\n");
}

/// A table of evidence records, each optionally with the object it is about.
fn evidence_table<'a>(
    out: &mut String,
    records: impl Iterator<Item = (Option<(&'a ObjectRef, &'a str, &'a [String])>, &'a Evidence)>,
) {
    let mut header = false;
    for (about, e) in records {
        if !header {
            out.push_str("<table><tr>");
            if about.is_some() {
                out.push_str("<th>object</th><th>owner</th><th>fields</th>");
            }
            out.push_str("<th>time</th><th>action</th><th>actor</th><th>resourceVersion</th><th>desired</th><th>live</th><th>result</th><th>message</th></tr>");
            header = true;
        }
        out.push_str("<tr data-evidence>");
        if let Some((target, owner, fields)) = about {
            let _ = write!(out, "<td>{}</td><td>{}</td><td>{}</td>", asset(target), text::html(owner), paths(fields));
        }
        let _ = write!(
            out,
            "<td>{}</td><td>{:?}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{:?}</td><td>{}</td></tr>",
            text::time(e.time.0),
            e.action,
            text::html(&e.actor),
            text::html(e.resource_version.as_deref().unwrap_or_default()),
            text::html(e.desired_hash.as_deref().unwrap_or_default()),
            text::html(e.live_hash.as_deref().unwrap_or_default()),
            e.result,
            text::html(e.message.as_deref().unwrap_or_default())
        );
    }
    if header {
        out.push_str("</table>");
    } else {
        out.push_str("<p class=\"note\">No evidence recorded.</p>");
    }
}

/// The HTML page of a policy report.
pub fn policy(report: &PolicyReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">mode {:?}{}</p>\n",
        text::html(&report.title()),
        report.mode,
        report
            .last_remediation_time
            .as_deref()
            .map(|t| format!(" · last fix verified {}", text::html(t)))
            .unwrap_or_default()
    );
    badges(&mut out, &report.conditions);
    out.push_str("</header>\n<section class=\"cards\">");
    let c = &report.counts;
    for (value, label) in [
        (c.targets, "targets"),
        (c.compliant, "compliant"),
        (c.drifted, "drifted"),
        (c.escalated, "escalated"),
        (c.excepted, "excepted"),
        (c.opted_out, "opted out"),
        (c.remediated, "fixes verified"),
    ] {
        card(&mut out, &value.to_string(), label);
    }
    out.push_str("</section>\n");

    out.push_str("<section>\n<h2>Drift and escalations over time</h2>\n");
    out.push_str(&svg::policy_history(report));
    out.push_str("\n<h2>Fixes over time</h2>\n");
    out.push_str(&svg::policy_fixes(report));
    let _ = write!(
        out,
        "\n<p class=\"note\">From the policy's history: {} points, about one an hour at most, older ones thinned \
         out. Each bar is the number of fixes verified between two points.</p>\n</section>\n",
        report.history.len()
    );

    out.push_str("<section>\n<h2>Current drifts</h2>\n");
    if report.drifts.is_empty() {
        out.push_str("<p class=\"note\">Nothing drifts.</p>");
    } else {
        if report.drifts_cut() {
            let _ = write!(
                out,
                "<p class=\"note\">The status lists {} of the {} drifted targets; the groups below count those.</p>",
                report.drifts.len(),
                report.counts.drifted
            );
        }
        out.push_str("<h2>By owner</h2>");
        out.push_str(&svg::drift_groups("drifts-by-owner", "Current drifts by owner", &report.by_owner));
        out.push_str("<h2>By remediation class</h2>");
        out.push_str(&svg::drift_groups("drifts-by-class", "Current drifts by remediation class", &report.by_class));
        out.push_str("<h2>By age</h2>");
        out.push_str(&svg::drift_groups("drifts-by-age", "Current drifts by age", &report.by_age));
        out.push_str(
            "<table><tr><th>object</th><th>owner</th><th>class</th><th>action</th><th class=\"n\">age</th><th class=\"n\">attempts</th><th>changed by</th><th>fields</th></tr>",
        );
        for d in &report.drifts {
            let _ = write!(
                out,
                "<tr data-drift><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                asset(&d.target),
                text::html(&d.owner),
                class_name(d.class),
                text::html(d.reason.as_deref().unwrap_or_default()),
                text::html(&d.action),
                d.age_seconds.map(text::age).unwrap_or_default(),
                d.attempts,
                text::html(d.changed_by.as_deref().unwrap_or_default()),
                paths(&d.paths)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("\n</section>\n<section>\n<h2>Recent fixes and their evidence</h2>\n");
    evidence_table(
        &mut out,
        report
            .fixes
            .iter()
            .map(|f| (Some((&f.target, f.owner.as_deref().unwrap_or_default(), f.paths.as_slice())), &f.evidence)),
    );
    out.push_str("\n</section>\n");
    footer(&mut out, report.generated_at, "");
    page(&format!("{}: driftwarden report", report.title()), &out)
}
