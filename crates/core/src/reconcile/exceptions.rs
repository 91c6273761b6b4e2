//! DriftExceptions as the operator applies them ([`ExceptionEntry`]): read from the watched
//! object and checked once ([`read`]), then asked which objects they select and which
//! paths of those they cover, and until when.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use crate::api::TargetMatch;
use crate::api::common::{DateError, check_date};
use crate::api::exception::{DriftExceptionSpec, ExpiryProblem};
use crate::engine::decide::ExceptionCover;
use crate::engine::pointer::{PathPattern, PatternError};
use crate::engine::selector::{MatchScope, SelectorError, target_matches, validate_selector};

/// One exception, checked.
#[derive(Clone, Debug)]
pub struct ExceptionEntry {
    pub namespace: String,
    pub name: String,
    target: TargetMatch,
    pub cover: ExceptionCover,
}

/// Why an exception is not honoured: it covers nothing, and its status says this.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionProblem {
    /// The spec does not read as a DriftException's (the reader's message).
    #[error("spec: {0}")]
    Spec(String),
    /// Its dates are out of bounds.
    #[error("{0}")]
    Expiry(#[from] ExpiryProblem),
    /// One of its paths is not a path pattern.
    #[error("spec.paths[{index}]: {source}")]
    Path {
        index: usize,
        #[source]
        source: PatternError,
    },
    /// A date out of the bounds the CRD states.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A label selector of its match is not valid.
    #[error("spec.match.{field}{}: {}", .source.field().map(|f| format!(".{f}")).unwrap_or_default(), .source.problem())]
    Selector {
        field: &'static str,
        #[source]
        source: SelectorError,
    },
    /// Outside the operator's namespace, it reaches other namespaces; see
    /// [`ExceptionEntry::reach_problem`].
    #[error("{0}")]
    Reach(String),
}

impl ExceptionProblem {
    /// Whether the exception lasts longer than it may (or its `maxDuration` is wrong): it
    /// then counts as expired, not merely invalid.
    pub fn exceeds_max_duration(&self) -> bool {
        matches!(self, Self::Expiry(problem) if problem.exceeds_max_duration())
    }
}

/// Reads a watched DriftException, held to the installation's `cap` on how long any
/// exception may last. `Err` says what is wrong with it; a wrong exception covers nothing.
pub fn read(object: &Value, cap: std::time::Duration) -> Result<ExceptionEntry, ExceptionProblem> {
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let spec: DriftExceptionSpec = serde_json::from_value(object.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|err| ExceptionProblem::Spec(err.to_string()))?;
    check_date("spec.approvedAt", spec.approved_at.0)?;
    check_date("spec.expiresAt", spec.expires_at.0)?;
    // Without a creation time (never so from an API server), the approval is the earliest
    // the exception can have started: its length is still held to the limits from then.
    let created = object
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|created| created.parse::<Timestamp>().ok())
        .unwrap_or(spec.approved_at.0);
    if let Some(problem) = spec.expiry_problem(created, cap) {
        return Err(problem.into());
    }
    let paths = spec
        .paths
        .iter()
        .enumerate()
        .map(|(index, p)| PathPattern::parse(p).map_err(|source| ExceptionProblem::Path { index, source }))
        .collect::<Result<Vec<_>, _>>()?;
    for (field, selector) in
        [("selector", &spec.target.selector), ("namespaceSelector", &spec.target.namespace_selector)]
    {
        if let Some(selector) = selector {
            validate_selector(selector).map_err(|source| ExceptionProblem::Selector { field, source })?;
        }
    }
    let cover = ExceptionCover { name: format!("{namespace}/{name}"), paths, expires_at: spec.expires_at.0 };
    Ok(ExceptionEntry { namespace, name, target: spec.target, cover })
}

impl ExceptionEntry {
    /// The objects the exception covers (within [`Self::selects`]' reach).
    pub fn target(&self) -> &TargetMatch {
        &self.target
    }

    /// The one namespace the exception reaches, or `None` when it lives in the operator's
    /// namespace and reaches any its match selects.
    pub fn pin<'a>(&'a self, operator_namespace: &str) -> Option<&'a str> {
        (self.namespace != operator_namespace).then_some(self.namespace.as_str())
    }

    /// What is wrong with an exception outside the operator's namespace whose match reaches
    /// other namespaces: it covers its own namespace only, so it is refused (it covers
    /// nothing) rather than silently narrowed.
    pub fn reach_problem(&self, operator_namespace: &str) -> Option<String> {
        if self.namespace == operator_namespace {
            return None;
        }
        let others: Vec<&str> =
            self.target.namespaces.iter().map(String::as_str).filter(|ns| *ns != self.namespace).collect();
        if !others.is_empty() {
            return Some(format!(
                "spec.match.namespaces names {}: a DriftException covers its own namespace ({}) only; only one in \
                 the operator's namespace ({operator_namespace}) may cover others",
                others.join(", "),
                self.namespace
            ));
        }
        if self.target.namespace_selector.is_some() {
            return Some(format!(
                "spec.match.namespaceSelector: a DriftException covers its own namespace ({}) only; only one in \
                 the operator's namespace ({operator_namespace}) may select namespaces",
                self.namespace
            ));
        }
        None
    }

    /// Whether this exception may cover drift found by a policy: one in the operator's
    /// namespace covers any policy's; one elsewhere covers a DriftPolicy's (of its own
    /// namespace, as [`Self::selects`] checks), and a ClusterDriftPolicy's only when that
    /// policy sets `spec.exceptions.allowNamespaced` — `namespaced_allowed` says which.
    pub fn applies_to(&self, namespaced_allowed: bool, operator_namespace: &str) -> bool {
        namespaced_allowed || self.namespace == operator_namespace
    }

    /// Whether this exception may and does select `object`: an exception covers its own
    /// namespace, or any namespace when it lives in the operator's namespace.
    pub fn selects(
        &self,
        object: &Value,
        operator_namespace: &str,
        namespace_labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    ) -> bool {
        if self.reach_problem(operator_namespace).is_some() {
            return false;
        }
        let everywhere = self.namespace == operator_namespace;
        let scope = MatchScope {
            policy_namespace: if everywhere { None } else { Some(self.namespace.as_str()) },
            namespace_labels,
        };
        target_matches(&self.target, object, &scope).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exception(namespace: &str) -> Value {
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
            "metadata": {"name": "legacy", "namespace": namespace, "creationTimestamp": "2026-11-20T00:00:00Z"},
            "spec": {
                "match": {"apiVersion": "apps/v1", "kind": "Deployment", "names": ["web"]},
                "paths": ["/spec/template/spec/containers/*/image"],
                "justification": "vendor image pinned until the migration", "approvedBy": "ciso@example.com",
                "ticket": "SEC-1234", "approvedAt": "2026-11-20T00:00:00Z", "expiresAt": "2026-12-01T00:00:00Z"
            }
        })
    }

    fn none(_: &str) -> Option<BTreeMap<String, String>> {
        None
    }

    /// Reads `object` held to the default cap.
    fn read(object: &Value) -> Result<ExceptionEntry, ExceptionProblem> {
        super::read(object, crate::api::exception::DEFAULT_INSTALLATION_CAP)
    }

    #[test]
    fn only_exceptions_in_the_operator_namespace_cover_a_cluster_policy_that_does_not_allow_others() {
        let local = read(&exception("shop")).unwrap();
        let central = read(&exception("driftwarden-system")).unwrap();
        assert!(!local.applies_to(false, "driftwarden-system"));
        assert!(local.applies_to(true, "driftwarden-system"));
        assert!(central.applies_to(false, "driftwarden-system"));
    }

    #[test]
    fn the_installation_cap_refuses_an_exception_its_max_duration_allows() {
        // Eleven days from creation and approval, with the default maxDuration of 90 days.
        let exception = exception("shop");
        assert!(read(&exception).is_ok());
        let week = std::time::Duration::from_secs(7 * 24 * 3600);
        let problem = super::read(&exception, week).unwrap_err();
        assert!(problem.exceeds_max_duration());
        assert!(problem.to_string().contains("168h, the longest this installation allows"), "{problem}");
    }

    #[test]
    fn exceptions_cover_their_namespace_or_all_from_the_operator_namespace() {
        let web =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let local = read(&exception("shop")).unwrap();
        assert!(local.selects(&web, "driftwarden-system", &none));
        let elsewhere = read(&exception("other")).unwrap();
        assert!(!elsewhere.selects(&web, "driftwarden-system", &none));
        let central = read(&exception("driftwarden-system")).unwrap();
        assert!(central.selects(&web, "driftwarden-system", &none));
        assert_eq!(local.cover.expires_at, "2026-12-01T00:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn a_namespaced_exception_reaching_other_namespaces_is_refused_and_covers_nothing() {
        let web =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let mut reaching = exception("shop");
        reaching["spec"]["match"]["namespaces"] = json!(["shop", "pay"]);
        let entry = read(&reaching).unwrap();
        let problem = entry.reach_problem("driftwarden-system").expect("refused");
        assert!(problem.contains("spec.match.namespaces names pay"), "{problem}");
        assert!(!entry.selects(&web, "driftwarden-system", &none), "a refused exception covers nothing");
        let mut selecting = exception("shop");
        selecting["spec"]["match"]["namespaceSelector"] = json!({"matchLabels": {"env": "prod"}});
        assert!(read(&selecting).unwrap().reach_problem("driftwarden-system").unwrap().contains("namespaceSelector"));
        let mut own = exception("shop");
        own["spec"]["match"]["namespaces"] = json!(["shop"]);
        assert_eq!(read(&own).unwrap().reach_problem("driftwarden-system"), None, "its own namespace is fine");
        let mut central = exception("driftwarden-system");
        central["spec"]["match"]["namespaces"] = json!(["shop"]);
        let central = read(&central).unwrap();
        assert_eq!(central.reach_problem("driftwarden-system"), None);
        assert!(central.selects(&web, "driftwarden-system", &none));
    }

    #[test]
    fn an_exception_longer_than_its_maximum_is_rejected() {
        let mut long = exception("shop");
        long["spec"]["expiresAt"] = json!("2027-06-01T00:00:00Z");
        assert!(read(&long).is_err());
    }

    #[test]
    fn values_the_crd_now_refuses_make_an_exception_invalid_naming_the_field() {
        let cases = [
            (
                "/spec/paths",
                json!(["/metadata/annotations/a~2b"]),
                "spec.paths[0]: path \"/metadata/annotations/a~2b\" has a '~'",
            ),
            (
                "/spec/match/selector",
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web server"]}]}),
                "spec.match.selector.matchExpressions[0].values[0]: \"web server\" is not a valid label value",
            ),
            ("/spec/approvedAt", json!("1969-01-01T00:00:00Z"), "spec.approvedAt: 1969-01-01T00:00:00Z must be a date"),
        ];
        for (pointer, bad, expected) in cases {
            let mut value = exception("shop");
            match value.pointer_mut(pointer) {
                Some(slot) => *slot = bad,
                None => value["spec"]["match"]["selector"] = bad,
            }
            let problem = read(&value).unwrap_err().to_string();
            assert!(problem.starts_with(expected), "{pointer}: {problem}");
        }
    }
}
