//! `kubectl driftwarden approve FINDING`: approve an escalated Finding's fix in the
//! caller's own name, as the approvals admission policy requires.

use clap::Args;
use jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::cluster::{Cluster, may, request_error, whoami};
use super::{PluginError, target};
use crate::api::finding::{Approval, FindingState};
use crate::api::{Finding, RemediationClass};

/// The reason recorded when `--reason` is not given.
pub const DEFAULT_REASON: &str = "approved with kubectl driftwarden approve";

/// Arguments of `approve`.
#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The Finding: NAME or finding/NAME, in the current namespace (-n).
    #[arg(value_name = "FINDING")]
    pub finding: String,
    /// Why the fix is safe to apply now; recorded in the approval and the evidence.
    #[arg(long)]
    pub reason: Option<String>,
}

/// The RBAC verb an approval of a fix of `class` needs on the Finding, and the chart's
/// ClusterRole that grants it.
pub fn verb_and_role(class: Option<RemediationClass>) -> (&'static str, &'static str) {
    match class {
        Some(RemediationClass::Access | RemediationClass::SecretData) => {
            ("approve-privileged", "driftwarden-privileged-approver")
        }
        _ => ("approve", "driftwarden-finding-approver"),
    }
}

/// What to do about a request to approve `finding` as `user` with `reason`.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: the same user already approved it (with this reason).
    AlreadyApproved { at: Option<Timestamp> },
    /// Set the approval; `replaces` names another user's approval it overrides.
    Approve { replaces: Option<String> },
}

/// Whether `finding` can be approved by `user`: only an escalated Finding waits for an
/// approval.
pub fn decide(finding: &Finding, user: &str, reason: Option<&str>) -> Result<Decision, PluginError> {
    let name = reference(finding);
    let state = finding.status.as_ref().map(|s| s.state).unwrap_or_default();
    if let Some(approval) = &finding.spec.approval
        && approval.by == user
        && reason.is_none_or(|r| r == approval.reason)
    {
        return Ok(Decision::AlreadyApproved { at: approval.at.as_ref().map(|t| t.0) });
    }
    if state != FindingState::Escalated {
        let what = match state {
            FindingState::Closed => "its fix was verified",
            FindingState::Excepted => "a DriftException covers it",
            FindingState::Remediating | FindingState::Verifying => "its fix is under way",
            _ => "the operator fixes it without a person (or has not escalated it yet)",
        };
        return Err(PluginError::Refused(format!(
            "{name} is {state:?}: {what}; only an escalated finding waits for an approval"
        )));
    }
    Ok(Decision::Approve { replaces: finding.spec.approval.as_ref().map(|a| a.by.clone()) })
}

fn reference(finding: &Finding) -> String {
    format!(
        "finding {}/{}",
        finding.metadata.namespace.as_deref().unwrap_or_default(),
        finding.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Approves the Finding, or says why not.
pub async fn run(cluster: &Cluster, args: &ApproveArgs) -> Result<String, PluginError> {
    let name = target::finding_name(&args.finding)?;
    let ns = &cluster.namespace;
    if let Some(reason) = &args.reason
        && (reason.trim().is_empty() || reason.chars().count() > 1024)
    {
        return Err(PluginError::Invalid("--reason must hold 1 to 1024 characters, not only spaces".into()));
    }
    let user = whoami(&cluster.client).await?;
    let api: Api<Finding> = Api::namespaced(cluster.client.clone(), ns);
    let finding = api.get(&name).await.map_err(|e| match request_error(&format!("finding {ns}/{name}"), e, "") {
        PluginError::NotFound(what) => {
            PluginError::NotFound(format!("{what} (kubectl get findings -n {ns} lists the namespace's findings)"))
        }
        other => other,
    })?;
    let replaces = match decide(&finding, &user, args.reason.as_deref())? {
        Decision::AlreadyApproved { at } => {
            let at = at.map(|t| format!(" at {t}")).unwrap_or_default();
            return Ok(format!("finding {ns}/{name} is already approved by you ({user}){at}: nothing to do\n"));
        }
        Decision::Approve { replaces } => replaces,
    };
    let class = finding.status.as_ref().and_then(|s| s.class);
    let (verb, role) = verb_and_role(class);
    let ask = format!(
        "approving needs the verb {verb} on findings in namespace {ns}: ask your platform team for a RoleBinding to \
         the ClusterRole {role} there"
    );
    if !may(&cluster.client, verb, "findings", ns, Some(&name)).await? {
        return Err(PluginError::Refused(format!("you ({user}) may not {verb} finding {ns}/{name}: {ask}")));
    }
    let approval = Approval {
        by: user.clone(),
        reason: args.reason.clone().unwrap_or_else(|| DEFAULT_REASON.to_string()),
        at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            Timestamp::from_second(Timestamp::now().as_second()).expect("now is a valid timestamp"),
        )),
    };
    let patch = json!({"spec": {"approval": approval}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| request_error(&format!("cannot approve finding {ns}/{name}"), e, &ask))?;
    let replaced = replaces.map(|by| format!(" (replacing the approval by {by})")).unwrap_or_default();
    let class = class.map(|c| format!(" ({c})")).unwrap_or_default();
    Ok(format!(
        "finding {ns}/{name} approved by {user}{replaced}: the operator applies the fix{class} and verifies it, once \
         the API server confirms that {user} holds {verb} on it (granted to the user itself: the operator does not \
         see your groups).\nFollow it with: kubectl driftwarden explain finding/{name} -n {ns}\n"
    ))
}

/// The chart's approvals template, which defines the roles the messages name.
#[cfg(test)]
pub(super) const APPROVALS_TEMPLATE: &str = include_str!("../../../charts/driftwarden/templates/approvals.yaml");

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn finding(state: &str, approval: Option<Value>) -> Finding {
        let mut value = json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"campaign": "images", "control": "shop/images", "severity": "High", "owner": {"team": "storefront"},
                     "asset": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}},
            "status": {"state": state, "class": "Rollout"}
        });
        if let Some(approval) = approval {
            value["spec"]["approval"] = approval;
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_an_escalated_finding_is_approved_and_twice_is_once() {
        assert_eq!(decide(&finding("Escalated", None), "alice", None).unwrap(), Decision::Approve { replaces: None });
        let approved = finding("Escalated", Some(json!({"by": "alice", "reason": "ok", "at": "2026-04-02T09:00:00Z"})));
        assert_eq!(
            decide(&approved, "alice", None).unwrap(),
            Decision::AlreadyApproved { at: Some("2026-04-02T09:00:00Z".parse().unwrap()) }
        );
        assert_eq!(
            decide(&approved, "alice", Some("ok")).unwrap(),
            Decision::AlreadyApproved { at: Some("2026-04-02T09:00:00Z".parse().unwrap()) }
        );
        assert_eq!(
            decide(&approved, "alice", Some("a new reason")).unwrap(),
            Decision::Approve { replaces: Some("alice".into()) }
        );
        assert_eq!(decide(&approved, "bob", None).unwrap(), Decision::Approve { replaces: Some("alice".into()) });
        let closed = decide(&finding("Closed", None), "alice", None).unwrap_err();
        assert_eq!(closed.exit_code(), 1);
        assert_eq!(
            closed.to_string(),
            "finding shop/web-1 is Closed: its fix was verified; only an escalated finding waits for an approval"
        );
        // The same approval again, after the fix: still nothing to do, not an error.
        let done = finding("Closed", Some(json!({"by": "alice", "reason": "ok"})));
        assert_eq!(decide(&done, "alice", None).unwrap(), Decision::AlreadyApproved { at: None });
    }

    #[test]
    fn the_roles_named_are_the_chart_s() {
        for (verb, role) in [verb_and_role(None), verb_and_role(Some(RemediationClass::Access))] {
            let defined = APPROVALS_TEMPLATE.split("\n---\n").find(|doc| doc.contains(&format!("name: {role}\n")));
            let rules = defined.unwrap_or_else(|| panic!("the chart defines no ClusterRole {role}"));
            assert!(rules.contains("resources: [\"findings\"]") && rules.contains(&format!("\"{verb}\"")), "{rules}");
        }
    }

    #[test]
    fn privileged_fixes_need_their_own_verb_and_role() {
        assert_eq!(verb_and_role(Some(RemediationClass::Rollout)), ("approve", "driftwarden-finding-approver"));
        assert_eq!(verb_and_role(None), ("approve", "driftwarden-finding-approver"));
        for class in [RemediationClass::Access, RemediationClass::SecretData] {
            assert_eq!(verb_and_role(Some(class)), ("approve-privileged", "driftwarden-privileged-approver"));
        }
    }
}
