//! `LegacyServiceAccountTokens`: Secrets of type `kubernetes.io/service-account-token`,
//! long-lived credentials that never expire.
//!
//! Every finding goes to the owner: **delete the Secret** once whatever uses it has moved to
//! short-lived tokens (TokenRequest or a projected volume). Never automatic: the token may
//! be held outside the cluster (a CI system, an external controller), and deleting the
//! Secret revokes it for them at once.
//!
//! Severity follows the account's risk; a token used in the last 90 days (the
//! `kubernetes.io/legacy-token-last-used` label) is at least `Medium`.

use jiff::Timestamp;

use super::{ControlFinding, ControlFix, at_least_low};
use crate::api::finding::Severity;
use crate::identity::inventory::Inventory;

/// Days within which a token's last use makes it a live credential.
pub const RECENT_USE_DAYS: i32 = 90;

pub(super) fn run(inventory: &Inventory, now: Timestamp) -> Vec<ControlFinding> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut out = Vec::new();
    for entry in &inventory.accounts {
        for token in &entry.legacy_tokens {
            let recent = token.last_used.is_some_and(|d| (today - d).get_days() <= RECENT_USE_DAYS);
            let mut severity = at_least_low(entry.risk.severity);
            if recent {
                severity = severity.min(Severity::Medium);
            }
            let secret = &token.secret;
            let namespace = secret.namespace.as_deref().unwrap_or_default();
            let age = token.age_days.map_or_else(|| "of unknown age".to_string(), |d| format!("{d} days old"));
            let used = token.last_used.map_or_else(|| "no recorded use".to_string(), |d| format!("last used {d}"));
            out.push(ControlFinding {
                asset: secret.clone(),
                asset_labels: token.labels.clone(),
                severity,
                summary: format!(
                    "Secret {namespace}/{} is a long-lived token of ServiceAccount {} ({age}, {used})",
                    secret.name, entry.account.name
                ),
                fix: ControlFix::Owner {
                    action: format!(
                        "move whatever uses Secret {namespace}/{} to short-lived tokens (TokenRequest or a projected volume), then delete the Secret",
                        secret.name
                    ),
                    why: "the token may be held outside the cluster; deleting the Secret revokes it for every holder at once".to_string(),
                },
            });
        }
    }
    out
}
