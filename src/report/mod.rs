//! `driftwarden report`: a campaign's or a policy's progress as a self-contained HTML page
//! (inline SVG charts, no script, nothing loaded from anywhere), as markdown to paste into a
//! ticket, or as JSON.
//!
//! The shape is the usual one: [`read`] is the only part that talks to the cluster (a GET
//! and a list); [`campaign`] and [`policy`] gather what a report shows from the objects
//! into plain data ([`CampaignReport`], [`PolicyReport`], which the JSON format is); and
//! [`html`], [`svg`] and [`markdown`] render that data, as pure functions.

pub mod campaign;
pub mod html;
pub mod markdown;
pub mod policy;
pub mod read;
pub mod svg;
pub mod text;

use std::cmp::Ordering;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::Serialize;

pub use campaign::CampaignReport;
pub use policy::PolicyReport;

/// The format of a report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A self-contained HTML page with charts.
    Html,
    /// Markdown, to paste into a ticket.
    Markdown,
    /// The report's data as JSON.
    Json,
}

/// One condition of the reported object.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConditionSummary {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// The conditions as the report lists them.
fn conditions(conditions: &[Condition]) -> Vec<ConditionSummary> {
    conditions
        .iter()
        .take(16)
        .map(|c| ConditionSummary {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
        .collect()
}

/// Leaves the first `n` items of `items` by `order` in `items`, sorted, and returns the
/// others, in no particular order. Linear in the number of items, plus `n log n`.
fn top_n<T>(items: &mut Vec<T>, n: usize, order: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    let rest = if items.len() > n {
        if n > 0 {
            items.select_nth_unstable_by(n, &order);
        }
        items.split_off(n)
    } else {
        Vec::new()
    };
    items.sort_by(&order);
    rest
}

impl CampaignReport {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Html => html::campaign(self),
            Format::Markdown => markdown::campaign(self),
            Format::Json => json(self),
        }
    }
}

impl PolicyReport {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Html => html::policy(self),
            Format::Markdown => markdown::policy(self),
            Format::Json => json(self),
        }
    }
}

fn json(report: &impl Serialize) -> String {
    // Plain data with string keys: serializing it cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests;
