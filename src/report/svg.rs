//! The charts, as hand-written inline SVG: no script, no font or image loaded from
//! anywhere. Each drawn series carries `data-series` (and its point count in
//! `data-points`) and each marker `data-marker` or `data-checkpoint`, so what a chart shows
//! can be checked from the page itself.

use std::fmt::Write;

use jiff::Timestamp;

use super::campaign::{CampaignReport, SEVERITIES};
use super::policy::{DriftGroup, PolicyReport};
use super::text;
use crate::api::campaign::CheckpointResult;
use crate::api::finding::Severity;

pub const OPEN: &str = "#d9480f";
pub const CLOSED: &str = "#2b8a3e";
pub const PROJECTION: &str = "#1971c2";
pub const DEADLINE: &str = "#c92a2a";
pub const ESCALATED: &str = "#c92a2a";
pub const DRIFTED: &str = "#f08c00";
pub const FIXES: &str = "#2b8a3e";
const GRID: &str = "#dee2e6";
const INK: &str = "#495057";
const PENDING: &str = "#868e96";

/// The colour of a severity.
pub fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#a61e4d",
        Severity::High => "#e03131",
        Severity::Medium => "#f59f00",
        Severity::Low => "#1c7ed6",
        Severity::Info => "#adb5bd",
    }
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 44.0;

/// A chart over time: times map to x, counts to y.
struct Frame {
    start: i64,
    end: i64,
    height: f64,
    max: f64,
}

impl Frame {
    fn new(start: Timestamp, end: Timestamp, height: f64, max: f64) -> Self {
        let (start, end) = (start.as_second(), end.as_second());
        // A single time still needs a width: a day around it.
        let (start, end) = if end > start { (start, end) } else { (start - 43_200, start + 43_200) };
        Frame { start, end, height, max: nice_ceiling(max) }
    }

    fn x(&self, at: Timestamp) -> f64 {
        let span = (self.end - self.start) as f64;
        let at = at.as_second().clamp(self.start, self.end);
        LEFT + (WIDTH - LEFT - RIGHT) * (at - self.start) as f64 / span
    }

    fn y(&self, value: f64) -> f64 {
        let bottom = self.height - BOTTOM;
        bottom - (bottom - TOP) * (value.clamp(0.0, self.max) / self.max)
    }

    fn contains(&self, at: Timestamp) -> bool {
        (self.start..=self.end).contains(&at.as_second())
    }

    fn time(&self, fraction: f64) -> Timestamp {
        let seconds = self.start + ((self.end - self.start) as f64 * fraction) as i64;
        Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// The axes, grid and their labels.
    fn axes(&self, out: &mut String, unit: &str) {
        let bottom = self.height - BOTTOM;
        for i in 0..=4 {
            let value = self.max * f64::from(i) / 4.0;
            let y = self.y(value);
            let _ = write!(
                out,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="{INK}">{}</text>"#,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                format_count(value)
            );
        }
        let _ = write!(
            out,
            r#"<text x="12" y="{:.1}" font-size="11" fill="{INK}" transform="rotate(-90 12 {:.1})" text-anchor="middle">{unit}</text>"#,
            (TOP + bottom) / 2.0,
            (TOP + bottom) / 2.0,
        );
        for i in 0..=4 {
            let fraction = f64::from(i) / 4.0;
            let at = self.time(fraction);
            let x = self.x(at);
            let anchor = match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            };
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="{INK}" stroke-width="1"/><text x="{x:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11" fill="{INK}">{}</text>"#,
                bottom + 4.0,
                bottom + 18.0,
                text::date(at)
            );
        }
        let _ = write!(
            out,
            r#"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="{INK}" stroke-width="1"/>"#,
            WIDTH - RIGHT
        );
    }

    /// A series as a polyline with a dot at each point.
    fn series(&self, out: &mut String, name: &str, colour: &str, points: &[(Timestamp, f64)]) {
        let coordinates: Vec<String> =
            points.iter().map(|&(at, value)| format!("{:.1},{:.1}", self.x(at), self.y(value))).collect();
        let _ = write!(
            out,
            r#"<polyline data-series="{name}" data-points="{}" points="{}" fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round"/>"#,
            points.len(),
            coordinates.join(" ")
        );
        let _ = write!(out, r#"<g data-dots="{name}" fill="{colour}">"#);
        for &(at, value) in points {
            let _ = write!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="2.5"/>"#, self.x(at), self.y(value));
        }
        out.push_str("</g>");
    }

    /// A vertical marker with a label at its top.
    fn marker(&self, out: &mut String, name: &str, at: Timestamp, colour: &str, dashed: bool, label: &str) {
        let x = self.x(at);
        let dash = if dashed { r#" stroke-dasharray="3 3""# } else { "" };
        let anchor = if x > WIDTH - 160.0 { "end" } else { "start" };
        let offset = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            out,
            r#"<g data-marker="{name}"><line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"{dash}/><text x="{:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11" fill="{colour}">{}</text></g>"#,
            self.height - BOTTOM,
            x + offset,
            TOP + 12.0,
            text::html(label)
        );
    }
}

/// The legend along the top: (name, colour, dashed).
fn legend(out: &mut String, entries: &[(&str, &str, bool)]) {
    let mut x = LEFT;
    for (name, colour, dashed) in entries {
        let dash = if *dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="16" x2="{:.1}" y2="16" stroke="{colour}" stroke-width="3"{dash}/><text x="{:.1}" y="20" font-size="12" fill="{INK}">{}</text>"#,
            x + 22.0,
            x + 28.0,
            text::html(name)
        );
        x += 28.0 + 6.5 * name.chars().count() as f64 + 16.0;
    }
}

fn open_svg(out: &mut String, chart: &str, height: f64, label: &str) {
    let _ = write!(
        out,
        r#"<svg data-chart="{chart}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}" font-family="sans-serif"><rect width="{WIDTH}" height="{height}" fill="white"/>"#,
        text::html(label)
    );
}

fn empty(chart: &str, message: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, chart, 80.0, message);
    let _ = write!(
        out,
        r#"<text data-empty="true" x="{LEFT}" y="44" font-size="14" fill="{PENDING}">{}</text></svg>"#,
        text::html(message)
    );
    out
}

/// The burn-down: open and closed findings over time, the projection to the projected
/// completion, the deadline, now, and the checkpoints (where the open count must be by
/// then), met, missed or pending.
pub fn burn_down(report: &CampaignReport) -> String {
    let points = &report.burn_down;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return empty("burn-down", "No burn-down yet: the operator adds a point when the counts change.");
    };
    let now = report.generated_at;
    let mut start = first.time.0;
    let mut end = report.deadline.max(last.time.0).max(now);
    for checkpoint in &report.checkpoints {
        start = start.min(checkpoint.date.0);
        end = end.max(checkpoint.date.0);
    }
    // A projection far beyond the deadline would squash the chart: show at most twice the
    // span, and let the dashed line leave it at the edge.
    let reach = text::plus_seconds(start, 2 * text::seconds_between(start, end).max(86_400));
    let projected = report.projected_completion;
    if let Some(at) = projected {
        end = end.max(at.min(reach));
    }
    let highest = points.iter().map(|p| p.open.saturating_add(p.closed)).max().unwrap_or(0).max(report.total).max(1);
    let height = 380.0;
    let frame = Frame::new(start, end, height, f64::from(highest));
    let mut out = String::new();
    open_svg(&mut out, "burn-down", height, "Burn-down: open and closed findings over time");
    frame.axes(&mut out, "findings");
    legend(
        &mut out,
        &[
            ("open", OPEN, false),
            ("closed", CLOSED, false),
            ("projection", PROJECTION, true),
            ("deadline", DEADLINE, false),
        ],
    );
    checkpoint_legend(&mut out, height);
    frame.marker(
        &mut out,
        "deadline",
        report.deadline,
        DEADLINE,
        false,
        &format!("deadline {}", text::date(report.deadline)),
    );
    if frame.contains(now) && text::seconds_between(now, report.deadline).abs() > 3_600 {
        frame.marker(&mut out, "now", now, PENDING, true, "now");
    }
    let closed: Vec<(Timestamp, f64)> = points.iter().map(|p| (p.time.0, f64::from(p.closed))).collect();
    let open: Vec<(Timestamp, f64)> = points.iter().map(|p| (p.time.0, f64::from(p.open))).collect();
    frame.series(&mut out, "closed", CLOSED, &closed);
    frame.series(&mut out, "open", OPEN, &open);
    if let Some(at) = projected {
        let from = (last.time.0.max(now), f64::from(last.open));
        let target = f64::from(report.open_allowed(report.target_percent));
        let to = if at <= end {
            (at, target)
        } else {
            // Where the straight line to the projection crosses the chart's edge.
            let whole = text::seconds_between(from.0, at).max(1) as f64;
            let shown = text::seconds_between(from.0, end) as f64;
            (end, from.1 + (target - from.1) * shown / whole)
        };
        let _ = write!(
            out,
            r#"<polyline data-series="projection" data-points="2" points="{:.1},{:.1} {:.1},{:.1}" fill="none" stroke="{PROJECTION}" stroke-width="2" stroke-dasharray="6 4"/>"#,
            frame.x(from.0),
            frame.y(from.1),
            frame.x(to.0),
            frame.y(to.1)
        );
        let label = if at <= end {
            format!("projected {}", text::date(at))
        } else {
            format!("projected {} (beyond the chart)", text::date(at))
        };
        let anchor = if frame.x(to.0) > WIDTH - 200.0 { "end" } else { "start" };
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11" fill="{PROJECTION}">{}</text>"#,
            frame.x(to.0),
            frame.y(to.1) - 8.0,
            text::html(&label)
        );
    }
    for checkpoint in &report.checkpoints {
        let (result, fill, stroke) = match checkpoint.result {
            CheckpointResult::Met => ("Met", CLOSED, CLOSED),
            CheckpointResult::Missed => ("Missed", DEADLINE, DEADLINE),
            CheckpointResult::Pending => ("Pending", "#ffffff", PENDING),
        };
        let x = frame.x(checkpoint.date.0);
        let y = frame.y(f64::from(report.open_allowed(checkpoint.target)));
        let actual = checkpoint.actual.map_or_else(|| "not known".to_string(), |a| format!("{a}%"));
        let _ = write!(
            out,
            r#"<g data-checkpoint="{result}"><rect x="{:.1}" y="{:.1}" width="12" height="12" transform="rotate(45 {x:.1} {y:.1})" fill="{fill}" stroke="{stroke}" stroke-width="2"/><title>checkpoint {}: {}% compliant, reached {actual}: {result}</title></g>"#,
            x - 6.0,
            y - 6.0,
            text::date(checkpoint.date.0),
            checkpoint.target,
        );
    }
    out.push_str("</svg>");
    out
}

fn checkpoint_legend(out: &mut String, height: f64) {
    let y = height - 8.0;
    let mut x = LEFT;
    for (name, fill, stroke) in
        [("checkpoint met", CLOSED, CLOSED), ("missed", DEADLINE, DEADLINE), ("pending", "#ffffff", PENDING)]
    {
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="9" height="9" transform="rotate(45 {:.1} {:.1})" fill="{fill}" stroke="{stroke}" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{INK}">{name}</text>"#,
            x,
            y - 9.0,
            x + 4.5,
            y - 4.5,
            x + 14.0,
            y,
        );
        x += 34.0 + 6.5 * name.len() as f64;
    }
}

/// A policy's drifted and escalated targets over time.
pub fn policy_history(report: &PolicyReport) -> String {
    let history = &report.history;
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return empty("policy-history", "No history yet: the operator records the counts about once an hour.");
    };
    let highest = history.iter().map(|p| p.drifted.max(p.escalated)).max().unwrap_or(0).max(1);
    let height = 320.0;
    let frame = Frame::new(first.time.0, last.time.0.max(report.generated_at), height, f64::from(highest));
    let mut out = String::new();
    open_svg(&mut out, "policy-history", height, "Drifted and escalated targets over time");
    frame.axes(&mut out, "targets");
    legend(&mut out, &[("drifted", DRIFTED, false), ("escalated", ESCALATED, false)]);
    let drifted: Vec<(Timestamp, f64)> = history.iter().map(|p| (p.time.0, f64::from(p.drifted))).collect();
    let escalated: Vec<(Timestamp, f64)> = history.iter().map(|p| (p.time.0, f64::from(p.escalated))).collect();
    frame.series(&mut out, "drifted", DRIFTED, &drifted);
    frame.series(&mut out, "escalated", ESCALATED, &escalated);
    out.push_str("</svg>");
    out
}

/// The fixes verified between two points of a policy's history, one bar per interval.
pub fn policy_fixes(report: &PolicyReport) -> String {
    let intervals = &report.fixes_per_interval;
    let (Some(first), Some(last)) = (intervals.first(), intervals.last()) else {
        return empty("policy-fixes", "No fixes over time yet: that needs two points of history.");
    };
    let highest = intervals.iter().map(|i| i.fixes).max().unwrap_or(0).max(1);
    let height = 260.0;
    let frame = Frame::new(first.from, last.to, height, f64::from(highest));
    let mut out = String::new();
    open_svg(&mut out, "policy-fixes", height, "Fixes verified per interval");
    frame.axes(&mut out, "fixes");
    legend(&mut out, &[("fixes verified", FIXES, false)]);
    let _ = write!(out, r#"<g data-series="fixes" data-points="{}" fill="{FIXES}">"#, intervals.len());
    for interval in intervals {
        let (x0, x1) = (frame.x(interval.from), frame.x(interval.to));
        let y = frame.y(f64::from(interval.fixes));
        let width = (x1 - x0 - 1.0).max(1.0);
        let _ = write!(
            out,
            r#"<rect data-fixes="{}" x="{:.1}" y="{y:.1}" width="{width:.1}" height="{:.1}"><title>{} to {}: {} fixes</title></rect>"#,
            interval.fixes,
            x0 + 0.5,
            (height - BOTTOM - y).max(0.0),
            text::time(interval.from),
            text::time(interval.to),
            interval.fixes
        );
    }
    out.push_str("</g></svg>");
    out
}

/// A bar of a horizontal bar chart: its label and its coloured parts (count, colour, name).
pub struct Bar<'a> {
    pub label: String,
    pub parts: Vec<(u32, &'a str, &'a str)>,
}

/// Horizontal stacked bars, one per row, scaled to the longest.
pub fn bars(chart: &str, title: &str, rows: &[Bar<'_>], legend_entries: &[(&str, &str)]) -> String {
    if rows.is_empty() {
        return empty(chart, "Nothing to show.");
    }
    let row_height = 22.0;
    let label_width = 220.0;
    let height = TOP + row_height * rows.len() as f64 + 12.0;
    let longest = rows.iter().map(|r| r.parts.iter().map(|p| p.0).sum::<u32>()).max().unwrap_or(0).max(1);
    let span = WIDTH - label_width - RIGHT - 60.0;
    let mut out = String::new();
    open_svg(&mut out, chart, height, title);
    let mut x = LEFT;
    for (name, colour) in legend_entries {
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="8" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="19" font-size="12" fill="{INK}">{}</text>"#,
            x + 16.0,
            text::html(name)
        );
        x += 16.0 + 7.5 * name.chars().count() as f64 + 18.0;
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + row_height * i as f64;
        let label: String = row.label.chars().take(32).collect();
        let label = if label.len() < row.label.len() { format!("{label}…") } else { label };
        let total: u32 = row.parts.iter().map(|p| p.0).sum();
        let _ = write!(
            out,
            r#"<g data-bar="{}"><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="{INK}">{}</text>"#,
            text::html(&row.label),
            label_width - 8.0,
            y + 15.0,
            text::html(&label)
        );
        let mut left = label_width;
        for &(count, colour, name) in &row.parts {
            if count == 0 {
                continue;
            }
            let width = span * f64::from(count) / f64::from(longest);
            let _ = write!(
                out,
                r#"<rect data-part="{}" x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{colour}"><title>{}: {count} {}</title></rect>"#,
                text::html(name),
                y + 3.0,
                row_height - 6.0,
                text::html(&row.label),
                text::html(name)
            );
            left += width;
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{INK}">{total}</text></g>"#,
            left + 6.0,
            y + 15.0
        );
    }
    out.push_str("</svg>");
    out
}

/// Open findings per owner, by severity, and the resolved ones.
pub fn owners(report: &CampaignReport) -> String {
    let rows: Vec<Bar<'_>> = report
        .by_owner
        .iter()
        .chain(report.other_owners.as_ref())
        .map(|row| {
            let mut parts: Vec<(u32, &str, &str)> = SEVERITIES
                .iter()
                .map(|&s| (row.open_by_severity.get(s), severity_colour(s), severity_name(s)))
                .collect();
            parts.push((row.resolved, "#b2f2bb", "resolved"));
            Bar { label: row.team.clone(), parts }
        })
        .collect();
    let mut legend: Vec<(&str, &str)> = SEVERITIES.iter().map(|&s| (severity_name(s), severity_colour(s))).collect();
    legend.push(("resolved", "#b2f2bb"));
    bars("owners", "Findings by owner: open by severity, and resolved", &rows, &legend)
}

/// A policy's current drifts grouped one way, escalated apart.
pub fn drift_groups(chart: &str, title: &str, groups: &[DriftGroup]) -> String {
    let rows: Vec<Bar<'_>> = groups
        .iter()
        .map(|g| Bar {
            label: g.key.clone(),
            parts: vec![
                (g.escalated, ESCALATED, "escalated"),
                (g.drifts - g.escalated.min(g.drifts), DRIFTED, "not escalated"),
            ],
        })
        .collect();
    bars(chart, title, &rows, &[("escalated", ESCALATED), ("not escalated", DRIFTED)])
}

pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 4, so the
/// grid's quarters are whole numbers more often).
fn nice_ceiling(value: f64) -> f64 {
    let value = value.max(4.0);
    let mut step = 1.0;
    while step * 10.0 <= value {
        step *= 10.0;
    }
    for factor in [1.0, 2.0, 4.0, 5.0, 8.0, 10.0] {
        if step * factor >= value {
            return step * factor;
        }
    }
    step * 10.0
}

fn format_count(value: f64) -> String {
    if (value - value.round()).abs() < 0.05 { format!("{}", value.round() as i64) } else { format!("{value:.1}") }
}
