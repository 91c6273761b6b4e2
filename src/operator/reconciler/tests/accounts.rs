//! Who each fix is made as: a DriftPolicy's ServiceAccount (or the default), a cluster
//! policy's own, a campaign's before a cluster policy's, and one identity per fix.

use serde_json::{Value, json};

use super::harness::{Harness, Own, audit_policy, campaign, configmap, fixes, namespace, policy};
use crate::api::ServiceAccountRef;
use crate::operator::OperatorSettings;

fn as_account(namespace: &str, name: &str) -> Option<ServiceAccountRef> {
    Some(ServiceAccountRef::new(namespace, name))
}

/// [`policy`] fixing Metadata, named `name`, fixing as `account` when given.
fn policy_as(name: &str, account: Option<&str>) -> Value {
    let mut policy = policy(json!({"autoRemediate": ["Metadata"]}));
    policy["metadata"]["name"] = json!(name);
    if let Some(account) = account {
        policy["spec"]["serviceAccountName"] = json!(account);
    }
    policy
}

#[test]
fn a_policy_fixes_as_its_service_account_else_the_default_else_the_operator() {
    let with_default =
        OperatorSettings { default_service_account: Some("fallback".into()), ..OperatorSettings::default() };
    for (settings, account, expected) in [
        (OperatorSettings::default(), Some("fixer"), as_account("shop", "fixer")),
        (with_default.clone(), Some("fixer"), as_account("shop", "fixer")),
        (with_default, None, as_account("shop", "fallback")),
        (OperatorSettings::default(), None, None),
    ] {
        let mut h = Harness::with_settings(settings);
        let effects = h.start(Own::policy(policy_as("labels", account)), vec![configmap("web", None)]);
        let asked = fixes(effects);
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].fix.acting_as, expected, "{account:?}");
    }
}

#[test]
fn a_policy_naming_no_service_account_fixes_nothing_when_one_is_required() {
    let settings = OperatorSettings { require_service_account: true, ..OperatorSettings::default() };
    let mut h = Harness::with_settings(settings);
    let own = Own {
        namespaces: vec![namespace("shop")],
        policies: vec![policy_as("unnamed", None), policy_as("named", Some("fixer"))],
        ..Own::default()
    };
    let effects = h.start(own, vec![configmap("web", None)]);
    let asked = fixes(effects);
    assert_eq!(asked.len(), 1, "only the policy naming a ServiceAccount fixes");
    assert_eq!(asked[0].fix.acting_as, as_account("shop", "fixer"));
    let policies: Vec<String> = asked[0].parts.iter().map(|p| p.policy.name.clone()).collect();
    assert_eq!(policies, ["named"]);
}

#[test]
fn parts_made_as_different_accounts_are_fixed_one_after_the_other() {
    let mut h = Harness::new();
    let mut other = policy_as("tier", Some("tier-fixer"));
    other["spec"]["baselines"][0]["template"] = json!({"metadata": {"labels": {"tier": "web"}}});
    let own = Own {
        namespaces: vec![namespace("shop")],
        policies: vec![policy_as("labels", Some("fixer")), other],
        ..Own::default()
    };
    let mut asked = fixes(h.start(own, vec![configmap("web", None)]));
    assert_eq!(asked.len(), 1, "one fix at a time per object");
    let first = asked.remove(0);
    assert_eq!(first.fix.acting_as, as_account("shop", "fixer"));
    assert_eq!(first.parts.iter().map(|p| p.policy.name.as_str()).collect::<Vec<_>>(), ["labels"]);
    let mut asked = fixes(h.verified(first, configmap("web", Some("shop"))));
    assert_eq!(asked.len(), 1, "the other policy's part follows at once");
    let second = asked.remove(0);
    assert_eq!(second.fix.acting_as, as_account("shop", "tier-fixer"));
    assert_eq!(second.parts.iter().map(|p| p.policy.name.as_str()).collect::<Vec<_>>(), ["tier"]);
    assert_eq!(second.fix.body["metadata"]["labels"], json!({"team": "shop", "tier": "web"}));
}

#[test]
fn a_campaign_over_a_cluster_policy_fixes_as_its_own_account_before_the_policy() {
    for (policy_account, campaign_account, expected) in [
        (Some("policy-fixer"), Some("campaign-fixer"), as_account("platform", "campaign-fixer")),
        (Some("policy-fixer"), None, as_account("platform", "policy-fixer")),
        (None, None, None),
    ] {
        let mut cluster_policy = audit_policy();
        if let Some(name) = policy_account {
            cluster_policy["spec"]["serviceAccountRef"] = json!({"namespace": "platform", "name": name});
        }
        let mut auto = campaign(json!({"mode": "Auto", "autoRemediate": ["Metadata"], "waveSize": 1}));
        if let Some(name) = campaign_account {
            auto["spec"]["serviceAccountRef"] = json!({"namespace": "platform", "name": name});
        }
        let own = Own {
            namespaces: vec![namespace("shop")],
            cluster_policies: vec![cluster_policy],
            campaigns: vec![auto],
            ..Own::default()
        };
        let mut h = Harness::new();
        let mut asked = fixes(h.start(own, vec![configmap("web", None)]));
        for _ in 0..3 {
            asked.extend(fixes(h.settled_tick()));
        }
        assert_eq!(asked.len(), 1, "the wave fixes the asset");
        assert_eq!(asked[0].fix.acting_as, expected, "{policy_account:?} {campaign_account:?}");
    }
}
