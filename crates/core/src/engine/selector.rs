//! Which live objects a rule selects: label selectors and [`TargetMatch`].

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde_json::Value;

use crate::api::TargetMatch;
use crate::api::labels::{
    LabelError, MAX_MATCH_EXPRESSIONS, MAX_MATCH_LABELS, MAX_REQUIREMENT_VALUES, check_label_key, check_label_value,
};
use crate::keys::{api_version_of, kind_of, name_of, namespace_of};

/// Why a label selector cannot be evaluated, or would be refused by the API server. The
/// message starts with the field inside the selector where [`validate_selector`] found the
/// problem (`matchLabels`, `matchExpressions[0].values[1]`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("label selector operator {0:?} is not one of In, NotIn, Exists, DoesNotExist")]
    UnknownOperator(String),
    #[error("label selector operator {operator} on key {key:?} needs at least one value")]
    MissingValues { key: String, operator: String },
    #[error("label selector operator {operator} on key {key:?} takes no values")]
    UnexpectedValues { key: String, operator: String },
    /// A key or value the API server refuses in a label selector.
    #[error("{field}: {source}")]
    Label {
        field: String,
        #[source]
        source: LabelError,
    },
    /// More entries than the CRD allows.
    #[error("{field}: {found} entries, more than the {max} allowed")]
    TooMany { field: String, found: usize, max: usize },
    /// A requirement that cannot be evaluated.
    #[error("matchExpressions[{index}]: {source}")]
    Requirement {
        index: usize,
        #[source]
        source: Box<SelectorError>,
    },
}

impl SelectorError {
    /// The field inside the selector the problem is in, when [`validate_selector`] found
    /// it: `matchLabels`, `matchExpressions[0].key`, ...
    pub fn field(&self) -> Option<String> {
        match self {
            Self::Label { field, .. } | Self::TooMany { field, .. } => Some(field.clone()),
            Self::Requirement { index, .. } => Some(format!("matchExpressions[{index}]")),
            _ => None,
        }
    }

    /// What is wrong, without the field.
    pub fn problem(&self) -> String {
        match self {
            Self::Label { source, .. } => source.to_string(),
            Self::Requirement { source, .. } => source.to_string(),
            Self::TooMany { found, max, .. } => format!("{found} entries, more than the {max} allowed"),
            other => other.to_string(),
        }
    }
}

/// The labels of an object, read from `metadata.labels`.
pub fn labels_of(object: &Value) -> BTreeMap<&str, &str> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| labels.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v))).collect())
        .unwrap_or_default()
}

/// Checks a selector without evaluating it, as the API server and the CRD check it: keys,
/// values, operators and how many values each operator takes, so an invalid selector is
/// reported once, where it is written, naming the field and the value.
pub fn validate_selector(selector: &LabelSelector) -> Result<(), SelectorError> {
    let too_many = |field: &str, found: usize, max: usize| {
        if found > max { Err(SelectorError::TooMany { field: field.to_string(), found, max }) } else { Ok(()) }
    };
    let label = |field: String| move |source| SelectorError::Label { field, source };
    let labels = selector.match_labels.as_ref();
    too_many("matchLabels", labels.map_or(0, BTreeMap::len), MAX_MATCH_LABELS)?;
    for (key, value) in labels.into_iter().flatten() {
        check_label_key(key).map_err(label("matchLabels".to_string()))?;
        check_label_value(value).map_err(label(format!("matchLabels.{key}")))?;
    }
    let expressions = selector.match_expressions.as_deref().unwrap_or_default();
    too_many("matchExpressions", expressions.len(), MAX_MATCH_EXPRESSIONS)?;
    for (index, requirement) in expressions.iter().enumerate() {
        check_label_key(&requirement.key).map_err(label(format!("matchExpressions[{index}].key")))?;
        let values = requirement.values.as_deref().unwrap_or_default();
        too_many(&format!("matchExpressions[{index}].values"), values.len(), MAX_REQUIREMENT_VALUES)?;
        for (value_index, value) in values.iter().enumerate() {
            check_label_value(value).map_err(label(format!("matchExpressions[{index}].values[{value_index}]")))?;
        }
        requirement_matches(requirement, &BTreeMap::new())
            .map_err(|source| SelectorError::Requirement { index, source: Box::new(source) })?;
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
        let requirement = |text: &str| match validate_selector(&selector(text)) {
            Err(SelectorError::Requirement { index: 0, source }) => *source,
            other => panic!("{text}: {other:?}"),
        };
        let bad_op = "matchExpressions: [{key: tier, operator: Like, values: [web]}]";
        assert_eq!(requirement(bad_op), SelectorError::UnknownOperator("Like".into()));
        let no_values = "matchExpressions: [{key: tier, operator: In}]";
        assert!(matches!(requirement(no_values), SelectorError::MissingValues { .. }));
        let extra = "matchExpressions: [{key: tier, operator: Exists, values: [x]}]";
        assert!(matches!(requirement(extra), SelectorError::UnexpectedValues { .. }));
        let message = validate_selector(&selector(no_values)).unwrap_err().to_string();
        assert_eq!(message, "matchExpressions[0]: label selector operator In on key \"tier\" needs at least one value");
    }

    #[test]
    fn keys_and_values_are_checked_as_the_api_server_checks_them() {
        let cases = [
            ("matchLabels: {'bad key': web}", "matchLabels: \"bad key\" is not a valid label key"),
            ("matchLabels: {tier: 'web server'}", "matchLabels.tier: \"web server\" is not a valid label value"),
            (
                "matchExpressions: [{key: tier, operator: In, values: [web, -api]}]",
                "matchExpressions[0].values[1]: \"-api\" is not a valid label value",
            ),
            (
                "matchExpressions: [{key: 'Example.com/tier', operator: Exists}]",
                "matchExpressions[0].key: \"Example.com/tier\" is not a valid label key",
            ),
        ];
        for (text, expected) in cases {
            let message = validate_selector(&selector(text)).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{text}: {message}");
        }
        let many: BTreeMap<String, String> = (0..17).map(|i| (format!("k{i}"), "v".to_string())).collect();
        let crowded = LabelSelector { match_labels: Some(many), match_expressions: None };
        assert!(matches!(validate_selector(&crowded), Err(SelectorError::TooMany { max: 16, .. })));
        let fine = "{matchLabels: {app.kubernetes.io/name: web, tier: ''}, matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}";
        assert_eq!(validate_selector(&selector(fine)), Ok(()));
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
