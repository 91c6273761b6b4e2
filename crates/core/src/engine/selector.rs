//! Which live objects a rule selects: label selectors and [`TargetMatch`].

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde_json::Value;

use crate::api::TargetMatch;
use crate::keys::{api_version_of, kind_of, name_of, namespace_of};

/// Why a label selector cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("label selector operator {0:?} is not one of In, NotIn, Exists, DoesNotExist")]
    UnknownOperator(String),
    #[error("label selector operator {operator} on key {key:?} needs at least one value")]
    MissingValues { key: String, operator: String },
    #[error("label selector operator {operator} on key {key:?} takes no values")]
    UnexpectedValues { key: String, operator: String },
}

/// The labels of an object, read from `metadata.labels`.
pub fn labels_of(object: &Value) -> BTreeMap<&str, &str> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| labels.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v))).collect())
        .unwrap_or_default()
}

/// Checks a selector's expressions without evaluating it, so an invalid selector is
/// reported once, where it is written.
pub fn validate_selector(selector: &LabelSelector) -> Result<(), SelectorError> {
    for requirement in selector.match_expressions.iter().flatten() {
        requirement_matches(requirement, &BTreeMap::new())?;
    }
    Ok(())
}

/// Whether `labels` satisfy `selector`. An empty selector selects everything.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<&str, &str>) -> Result<bool, SelectorError> {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key.as_str()).is_some_and(|live| *live == value));
    if !by_labels {
        return Ok(false);
    }
    for requirement in selector.match_expressions.iter().flatten() {
        if !requirement_matches(requirement, labels)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn requirement_matches(
    requirement: &LabelSelectorRequirement,
    labels: &BTreeMap<&str, &str>,
) -> Result<bool, SelectorError> {
    let values = requirement.values.as_deref().unwrap_or_default();
    let live = labels.get(requirement.key.as_str());
    let needs_values = |present: bool| {
        if values.is_empty() == present {
            let err = if present {
                SelectorError::MissingValues { key: requirement.key.clone(), operator: requirement.operator.clone() }
            } else {
                SelectorError::UnexpectedValues { key: requirement.key.clone(), operator: requirement.operator.clone() }
            };
            Err(err)
        } else {
            Ok(())
        }
    };
    match requirement.operator.as_str() {
        "In" => {
            needs_values(true)?;
            Ok(live.is_some_and(|live| values.iter().any(|v| v == live)))
        }
        "NotIn" => {
            needs_values(true)?;
            Ok(!live.is_some_and(|live| values.iter().any(|v| v == live)))
        }
        "Exists" => {
            needs_values(false)?;
            Ok(live.is_some())
        }
        "DoesNotExist" => {
            needs_values(false)?;
            Ok(live.is_none())
        }
        other => Err(SelectorError::UnknownOperator(other.to_string())),
    }
}

/// What a [`TargetMatch`] is evaluated in: the namespace scope of the policy and the
/// labels of namespaces, for `namespaceSelector`.
pub struct MatchScope<'a> {
    /// `Some(ns)` for a namespaced DriftPolicy: nothing outside `ns` is ever selected, and
    /// `namespaces`/`namespaceSelector` are not honoured.
    pub policy_namespace: Option<&'a str>,
    /// Labels of a namespace by name; `None` when the namespace is unknown.
    pub namespace_labels: &'a dyn Fn(&str) -> Option<BTreeMap<String, String>>,
}

/// Whether `target` selects `object` within `scope`.
pub fn target_matches(target: &TargetMatch, object: &Value, scope: &MatchScope<'_>) -> Result<bool, SelectorError> {
    if api_version_of(object) != target.api_version || kind_of(object) != target.kind {
        return Ok(false);
    }
    if !target.names.is_empty() && !target.names.iter().any(|n| n == name_of(object)) {
        return Ok(false);
    }
    let namespace = namespace_of(object);
    if let Some(policy_namespace) = scope.policy_namespace {
        if namespace != Some(policy_namespace) {
            return Ok(false);
        }
    } else {
        if !target.namespaces.is_empty() && !namespace.is_some_and(|ns| target.namespaces.iter().any(|n| n == ns)) {
            return Ok(false);
        }
        if let Some(selector) = &target.namespace_selector {
            let Some(ns) = namespace else { return Ok(false) };
            let labels = (scope.namespace_labels)(ns).unwrap_or_default();
            let labels = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if !selector_matches(selector, &labels)? {
                return Ok(false);
            }
        }
    }
    match &target.selector {
        Some(selector) => selector_matches(selector, &labels_of(object)),
        None => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn selector(text: &str) -> LabelSelector {
        serde_yaml::from_str(text).unwrap()
    }

    const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {tier: web, app.kubernetes.io/name: web}
"#;

    fn no_namespaces(_: &str) -> Option<BTreeMap<String, String>> {
        None
    }

    fn shop_is_prod(ns: &str) -> Option<BTreeMap<String, String>> {
        (ns == "shop").then(|| BTreeMap::from([("env".to_string(), "prod".to_string())]))
    }

    #[test]
    fn set_based_selectors() {
        let web = yaml(WEB);
        let labels = labels_of(&web);
        let cases = [
            ("matchLabels: {tier: web}", true),
            ("matchLabels: {tier: db}", false),
            ("matchExpressions: [{key: tier, operator: In, values: [web, api]}]", true),
            ("matchExpressions: [{key: tier, operator: NotIn, values: [web]}]", false),
            ("matchExpressions: [{key: missing, operator: NotIn, values: [x]}]", true),
            ("matchExpressions: [{key: tier, operator: Exists}]", true),
            ("matchExpressions: [{key: tier, operator: DoesNotExist}]", false),
            ("{}", true),
        ];
        for (text, expected) in cases {
            assert_eq!(selector_matches(&selector(text), &labels), Ok(expected), "{text}");
        }
    }

    #[test]
    fn invalid_selectors_are_errors() {
        let bad_op = selector("matchExpressions: [{key: tier, operator: Like, values: [web]}]");
        assert_eq!(validate_selector(&bad_op), Err(SelectorError::UnknownOperator("Like".into())));
        let no_values = selector("matchExpressions: [{key: tier, operator: In}]");
        assert!(matches!(validate_selector(&no_values), Err(SelectorError::MissingValues { .. })));
        let extra = selector("matchExpressions: [{key: tier, operator: Exists, values: [x]}]");
        assert!(matches!(validate_selector(&extra), Err(SelectorError::UnexpectedValues { .. })));
    }

    #[test]
    fn target_match_by_kind_name_namespace_and_labels() {
        let web = yaml(WEB);
        let cluster = MatchScope { policy_namespace: None, namespace_labels: &shop_is_prod };
        let target = |text: &str| -> TargetMatch { serde_yaml::from_str(text).unwrap() };

        assert_eq!(target_matches(&target("{apiVersion: apps/v1, kind: Deployment}"), &web, &cluster), Ok(true));
        assert_eq!(target_matches(&target("{apiVersion: apps/v1, kind: StatefulSet}"), &web, &cluster), Ok(false));
        assert_eq!(
            target_matches(&target("{apiVersion: apps/v1, kind: Deployment, names: [api]}"), &web, &cluster),
            Ok(false)
        );
        assert_eq!(
            target_matches(&target("{apiVersion: apps/v1, kind: Deployment, namespaces: [other]}"), &web, &cluster),
            Ok(false)
        );
        let prod = "{apiVersion: apps/v1, kind: Deployment, namespaceSelector: {matchLabels: {env: prod}}}";
        assert_eq!(target_matches(&target(prod), &web, &cluster), Ok(true));
        let unknown = MatchScope { policy_namespace: None, namespace_labels: &no_namespaces };
        assert_eq!(target_matches(&target(prod), &web, &unknown), Ok(false));
        let labelled = "{apiVersion: apps/v1, kind: Deployment, selector: {matchLabels: {tier: web}}}";
        assert_eq!(target_matches(&target(labelled), &web, &cluster), Ok(true));
    }

    #[test]
    fn a_namespaced_policy_never_reaches_outside_its_namespace() {
        let web = yaml(WEB);
        let other = MatchScope { policy_namespace: Some("other"), namespace_labels: &no_namespaces };
        let asks_for_shop: TargetMatch =
            serde_yaml::from_str("{apiVersion: apps/v1, kind: Deployment, namespaces: [shop]}").unwrap();
        assert_eq!(target_matches(&asks_for_shop, &web, &other), Ok(false));
        let own = MatchScope { policy_namespace: Some("shop"), namespace_labels: &no_namespaces };
        assert_eq!(target_matches(&asks_for_shop, &web, &own), Ok(true));
    }
}
