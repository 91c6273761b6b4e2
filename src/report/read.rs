//! What a report reads from the cluster, with the caller's credentials: the campaign and
//! its Findings (`get` on the RemediationCampaign, `list` on Findings in every namespace),
//! or the policy (`get`). Nothing is written.
//!
//! Only Findings the operator wrote for the campaign count: the name and namespace it gives
//! the Finding of that asset, and a controller reference to the campaign (as the operator
//! itself adopts them; see
//! [`WatchedFinding::forgery`](crate::reconcile::findings::WatchedFinding::forgery)). Others naming the campaign are left
//! out and counted.

use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::api::campaign::RemediationCampaign;
use crate::api::finding::Finding;
use crate::api::policy::{ClusterDriftPolicy, DriftPolicy, Mode, PolicyStatus};
use crate::reconcile::findings::{CAMPAIGN_LABEL, read_finding};

/// Findings are listed this many at a time.
const PAGE: u32 = 500;

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("cannot {verb} {what}: {source}")]
    Api {
        verb: &'static str,
        what: String,
        #[source]
        source: kube::Error,
    },
}

fn api_error(verb: &'static str, what: String, kind: &'static str, name: &str, source: kube::Error) -> ReadError {
    match &source {
        kube::Error::Api(status) if status.code == 404 && verb == "get" => {
            ReadError::NotFound { kind, name: name.to_string() }
        }
        _ => ReadError::Api { verb, what, source },
    }
}

/// A campaign and its genuine Findings.
pub struct CampaignObjects {
    pub campaign: RemediationCampaign,
    pub findings: Vec<Finding>,
    /// Findings naming the campaign that the operator did not write for it.
    pub ignored: u32,
}

/// Reads the RemediationCampaign `name` and its Findings. `operator_namespace` is where the
/// Findings of cluster-scoped assets live.
pub async fn campaign(client: &Client, name: &str, operator_namespace: &str) -> Result<CampaignObjects, ReadError> {
    let campaigns: Api<RemediationCampaign> = Api::all(client.clone());
    let campaign = campaigns
        .get(name)
        .await
        .map_err(|e| api_error("get", format!("remediationcampaigns/{name}"), "RemediationCampaign", name, e))?;
    let uid = campaign.uid();
    let findings: Api<Finding> = Api::all(client.clone());
    // The operator labels every Finding with its campaign; a name too long for a label
    // value means listing them all.
    let mut params = ListParams::default().limit(PAGE);
    if is_label_value(name) {
        params = params.labels(&format!("{CAMPAIGN_LABEL}={name}"));
    }
    let mut genuine = Vec::new();
    let mut ignored = 0u32;
    loop {
        let page = findings
            .list(&params)
            .await
            .map_err(|e| api_error("list", "findings (all namespaces)".to_string(), "Finding", name, e))?;
        for finding in page.items {
            if finding.spec.campaign != name {
                continue;
            }
            if is_genuine(&finding, operator_namespace, uid.as_deref()) {
                genuine.push(finding);
            } else {
                ignored += 1;
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(CampaignObjects { campaign, findings: genuine, ignored })
}

fn is_genuine(finding: &Finding, operator_namespace: &str, campaign_uid: Option<&str>) -> bool {
    let Ok(value) = serde_json::to_value(finding) else { return false };
    let Ok(watched) = read_finding(&value) else { return false };
    watched.forgery(operator_namespace, campaign_uid).is_none()
}

/// Whether `text` may be a label value (what the operator's campaign label holds).
fn is_label_value(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A policy as a report needs it.
pub struct PolicyObject {
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    pub mode: Mode,
    pub status: PolicyStatus,
}

/// Reads the DriftPolicy `namespace/name`, or the ClusterDriftPolicy `name` when
/// `namespace` is `None`.
pub async fn policy(client: &Client, namespace: Option<&str>, name: &str) -> Result<PolicyObject, ReadError> {
    match namespace {
        Some(ns) => {
            let api: Api<DriftPolicy> = Api::namespaced(client.clone(), ns);
            let policy = api.get(name).await.map_err(|e| {
                api_error(
                    "get",
                    format!("driftpolicies/{name} in namespace {ns}"),
                    "DriftPolicy",
                    &format!("{ns}/{name}"),
                    e,
                )
            })?;
            Ok(PolicyObject {
                kind: "DriftPolicy",
                namespace: Some(ns.to_string()),
                name: name.to_string(),
                mode: policy.spec.policy.remediation.mode,
                status: policy.status.unwrap_or_default(),
            })
        }
        None => {
            let api: Api<ClusterDriftPolicy> = Api::all(client.clone());
            let policy = api
                .get(name)
                .await
                .map_err(|e| api_error("get", format!("clusterdriftpolicies/{name}"), "ClusterDriftPolicy", name, e))?;
            Ok(PolicyObject {
                kind: "ClusterDriftPolicy",
                namespace: None,
                name: name.to_string(),
                mode: policy.spec.policy.remediation.mode,
                status: policy.status.unwrap_or_default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_names_that_fit_a_label_are_listed_by_label() {
        assert!(is_label_value("no-token-automount"));
        assert!(!is_label_value(&"a".repeat(64)));
        assert!(!is_label_value("-x"));
        assert!(!is_label_value(""));
    }
}
