//! The chart's Grafana dashboard and Prometheus alerts, rendered by the real Helm library
//! with both enabled: the ConfigMap Grafana's sidecar discovers and the PrometheusRule
//! carry their labels, every alert links to its runbook in the README, and every PromQL
//! expression they hold parses (with `promql-parser`) and names only metrics the operator
//! exports, read from the operator's own registry as `/metrics` serves it.

#[allow(dead_code)] // shared with the other chart tests, which use all of it
#[path = "common/chart.rs"]
mod chart;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use driftwarden::api::RemediationClass;
use driftwarden::engine::decide::EscalationReason;
use driftwarden::operator::metrics::{
    ApiErrorReason, InternalErrorKind, LedgerEvent, Metrics, NotificationResult, RemediationResult, Verb,
};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::{Value, json};

use chart::Rendered;

const NAMESPACE: &str = "driftwarden-system";
const RUNBOOKS: &str = "https://git.example.com/platform/driftwarden/blob/main/README.md";

/// The values that turn both on.
fn observability() -> Value {
    json!({"metrics": {
        "dashboard": {"enabled": true, "namespace": "monitoring", "annotations": {"grafana_folder": "Platform"}},
        "prometheusRule": {"enabled": true, "runbookBaseURL": RUNBOOKS, "labels": {"release": "prometheus"},
                           "additionalLabels": {"team": "platform"}}
    }})
}

/// Renders with `values`, and checks `helm lint --strict` has no warning; `None` when the
/// chart tests are skipped.
fn rendered(values: Value) -> Option<Rendered> {
    let rendered =
        chart::render(values.clone(), NAMESPACE)?.unwrap_or_else(|e| panic!("the chart refuses {values}: {e}"));
    let problems: Vec<&Value> = rendered.lint["messages"]
        .as_array()
        .expect("lint messages")
        .iter()
        .filter(|m| m["severity"].as_i64().unwrap_or(0) >= 2)
        .collect();
    assert!(problems.is_empty(), "helm lint --strict with {values}: {problems:?}");
    Some(rendered)
}

// ---- What the operator exports -------------------------------------------------------

/// Counts into every metric of `metrics`, so that each family has samples.
fn exercise(metrics: &Metrics) {
    metrics.drift_detected(RemediationClass::Spec);
    metrics.remediation(RemediationClass::Spec, RemediationResult::Verified);
    metrics.escalated(&EscalationReason::OptedOut);
    metrics.escalated_because("Audit");
    metrics.notification(NotificationResult::Delivered);
    metrics.drift_to_verified(Duration::from_millis(20));
    metrics.reconcile_duration("DriftPolicy", Duration::from_millis(5));
    metrics.reconcile_error("DriftPolicy", "Forbidden");
    metrics.set_watched_objects("ConfigMap", 3);
    metrics.api_request(Verb::Patch);
    metrics.api_error(Verb::Patch, ApiErrorReason::Conflict);
    metrics.internal_error(InternalErrorKind::Object);
    metrics.set_leader(true);
    metrics.ledger(LedgerEvent::Written, 1);
    metrics.set_backlog(2);
}

/// The names of the samples in OpenMetrics `text`, as Prometheus stores them, each with its
/// family. Each sample must belong to a family its `# TYPE` line declares, with a suffix
/// that type has (a counter's `_total` or `_created`; a histogram's `_bucket`, `_sum`,
/// `_count` or `_created`; a gauge's bare name), and each declared family must have
/// samples, so no name is missed.
fn sample_names(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut families: BTreeMap<&str, &str> = BTreeMap::new();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declared.split_once(' ').ok_or_else(|| format!("a TYPE line without a type: {line}"))?;
            families.insert(name, kind);
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            names.insert(name.to_string());
        }
    }
    let suffixes = |kind: &str| -> &'static [&'static str] {
        match kind {
            "counter" => &["_total", "_created"],
            "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count", "_created", "_gcount", "_gsum"],
            "summary" => &["", "_sum", "_count", "_created"],
            "info" => &["_info"],
            _ => &[""],
        }
    };
    let mut sampled = BTreeMap::new();
    for name in names {
        let family = families
            .iter()
            .find(|(family, kind)| suffixes(kind).iter().any(|s| name.strip_suffix(s) == Some(**family)))
            .map(|(family, _)| family.to_string())
            .ok_or_else(|| format!("the sample {name} belongs to no declared family"))?;
        sampled.insert(name, family);
    }
    let silent: Vec<&&str> = families.keys().filter(|f| !sampled.values().any(|s| s == **f)).collect();
    if !silent.is_empty() {
        return Err(format!("families without samples (exercise them): {silent:?}"));
    }
    Ok(sampled)
}

/// Every metric name the operator's `/metrics` shows, with its family.
fn exported() -> BTreeMap<String, String> {
    let metrics = Metrics::new();
    exercise(&metrics);
    let names = sample_names(&metrics.encode()).unwrap_or_else(|e| panic!("{e}"));
    assert!(names.len() > 20, "{names:?}");
    names
}

// ---- What a query names --------------------------------------------------------------

/// Collects the metric names of every selector in an expression.
#[derive(Default)]
struct MetricNames {
    names: BTreeSet<String>,
    problems: Vec<String>,
}

impl MetricNames {
    fn selector(&mut self, selector: &VectorSelector) {
        let mut named = false;
        if let Some(name) = &selector.name {
            self.names.insert(name.clone());
            named = true;
        }
        let matchers = &selector.matchers;
        for matcher in matchers.matchers.iter().chain(matchers.or_matchers.iter().flatten()) {
            if matcher.name != "__name__" {
                continue;
            }
            match matcher.op {
                MatchOp::Equal => {
                    self.names.insert(matcher.value.clone());
                    named = true;
                }
                _ => self.problems.push(format!("__name__{}{:?} does not name one metric", matcher.op, matcher.value)),
            }
        }
        if !named {
            self.problems.push(format!("{selector} names no metric"));
        }
    }
}

impl ExprVisitor for MetricNames {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        match expr {
            Expr::VectorSelector(selector) => self.selector(selector),
            Expr::MatrixSelector(matrix) => self.selector(&matrix.vs),
            _ => {}
        }
        Ok(true)
    }
}

/// Grafana's interval variables, which PromQL has no syntax for, as a duration. Other
/// variables (`$namespace`) stand inside label values, where PromQL takes any text.
fn without_grafana_intervals(query: &str) -> String {
    ["${__rate_interval}", "$__rate_interval", "${__interval}", "$__interval", "${__range}", "$__range"]
        .iter()
        .fold(query.to_string(), |query, variable| query.replace(variable, "5m"))
}

/// The metric names PromQL `query` reads; an error when it does not parse or when a
/// selector does not name exactly one metric.
fn metric_names(query: &str) -> Result<BTreeSet<String>, String> {
    let expr = promql_parser::parser::parse(&without_grafana_intervals(query)).map_err(|e| format!("{query}: {e}"))?;
    let mut names = MetricNames::default();
    let Ok(_) = walk_expr(&mut names, &expr);
    if !names.problems.is_empty() {
        return Err(format!("{query}: {}", names.problems.join("; ")));
    }
    if names.names.is_empty() {
        return Err(format!("{query}: reads no metric"));
    }
    Ok(names.names)
}

/// The names `query` reads that `exported` does not hold; an error when it cannot tell.
fn unknown_names(query: &str, exported: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    Ok(metric_names(query)?.into_iter().filter(|name| !exported.contains_key(name)).collect())
}

/// The PromQL of a Grafana query variable: `label_values(selector, label)` reads the
/// selector, `query_result(expr)` the expression.
fn variable_promql(query: &str) -> Result<String, String> {
    let query = query.trim();
    if let Some(inner) = query.strip_prefix("label_values(").and_then(|q| q.strip_suffix(')')) {
        return match inner.rsplit_once(',') {
            Some((selector, _label)) => Ok(selector.trim().to_string()),
            None => Err(format!("{query}: label_values of every metric")),
        };
    }
    if let Some(inner) = query.strip_prefix("query_result(").and_then(|q| q.strip_suffix(')')) {
        return Ok(inner.to_string());
    }
    Err(format!("{query}: not a query of metrics driftwarden exports"))
}

// ---- The rendered objects --------------------------------------------------------------

/// The dashboard the ConfigMap holds.
fn dashboard_of(rendered: &Rendered) -> Value {
    let configmap = rendered.one("ConfigMap");
    let text = configmap["data"]["driftwarden.json"].as_str().expect("the ConfigMap holds driftwarden.json");
    serde_json::from_str(text).expect("the dashboard is JSON")
}

/// Every panel of `dashboard`, rows' own panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every PromQL query of `dashboard`, with where it is: the panels' targets, and the
/// query variables.
fn dashboard_queries(dashboard: &Value) -> Result<Vec<(String, String)>, String> {
    let mut queries = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr =
                target["expr"].as_str().ok_or_else(|| format!("panel {} has a target without expr", panel["title"]))?;
            queries.push((format!("panel {}", panel["title"]), expr.to_string()));
        }
    }
    for variable in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        if variable["type"] != "query" {
            continue;
        }
        let query = match &variable["query"] {
            Value::String(query) => query.clone(),
            object => object["query"].as_str().unwrap_or_default().to_string(),
        };
        queries.push((format!("variable {}", variable["name"]), variable_promql(&query)?));
    }
    Ok(queries)
}

/// Every alert of the PrometheusRule: name and rule.
fn alerts(rendered: &Rendered) -> Vec<(String, Value)> {
    let rule = rendered.one("PrometheusRule");
    rule["spec"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().expect("rules").clone())
        .map(|rule| (rule["alert"].as_str().expect("every rule is an alert").to_string(), rule))
        .collect()
}

// ---- Tests -----------------------------------------------------------------------------

#[test]
fn every_query_and_alert_names_only_metrics_the_operator_exports() {
    let Some(rendered) = rendered(observability()) else { return };
    let exported = exported();
    let dashboard = dashboard_of(&rendered);
    let mut queries = dashboard_queries(&dashboard).unwrap_or_else(|e| panic!("{e}"));
    assert!(queries.len() >= 20, "the dashboard queries every area: {queries:?}");
    let alerts = alerts(&rendered);
    assert_eq!(alerts.len(), 6, "{alerts:?}");
    for (name, rule) in &alerts {
        queries.push((format!("alert {name}"), rule["expr"].as_str().expect("an alert has an expr").to_string()));
    }
    let mut problems = Vec::new();
    for (place, query) in &queries {
        match unknown_names(query, &exported) {
            Ok(unknown) if unknown.is_empty() => {}
            Ok(unknown) => problems.push(format!("{place} names {unknown:?}, which the operator does not export")),
            Err(error) => problems.push(format!("{place}: {error}")),
        }
    }
    assert!(problems.is_empty(), "{}\nexported: {:?}", problems.join("\n"), exported.keys());
}

#[test]
fn the_checker_refuses_unknown_names_patterns_and_what_does_not_parse() {
    let exported = exported();
    let unknown = |query: &str| unknown_names(query, &exported);
    assert_eq!(unknown("sum(rate(driftwarden_remediations_total[5m]))"), Ok(vec![]));
    assert_eq!(
        unknown(
            r#"histogram_quantile(0.99, sum by (le) (rate(driftwarden_drift_to_verified_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))"#
        ),
        Ok(vec![])
    );
    assert_eq!(
        unknown("driftwarden_remediations_total / driftwarden_fixes_total"),
        Ok(vec!["driftwarden_fixes_total".to_string()])
    );
    assert_eq!(
        unknown("rate(driftwarden_drifts_detected[5m])"),
        Ok(vec!["driftwarden_drifts_detected".to_string()]),
        "a counter's family name is not a series: it is exported as _total"
    );
    assert_eq!(unknown("up == 0"), Ok(vec!["up".to_string()]), "a metric of Prometheus itself is not the operator's");
    assert_eq!(unknown(r#"{__name__="driftwarden_leaderz"}"#), Ok(vec!["driftwarden_leaderz".to_string()]));
    assert!(unknown(r#"{__name__=~"driftwarden_.*"}"#).unwrap_err().contains("does not name one metric"));
    assert!(unknown(r#"{namespace="driftwarden-system"}"#).unwrap_err().contains("names no metric"));
    assert!(unknown("sum(rate(driftwarden_remediations_total[5m])").is_err(), "unbalanced parentheses");
    assert!(unknown("vector(1)").unwrap_err().contains("reads no metric"));
    assert_eq!(variable_promql("label_values(driftwarden_leader, namespace)").as_deref(), Ok("driftwarden_leader"));
    assert!(variable_promql("metrics(driftwarden_.*)").is_err());

    // The names are read from the exposition, suffixes and all, and a family without
    // samples is refused rather than silently missing.
    let text = "# HELP a_fixes Fixes\n# TYPE a_fixes counter\na_fixes_total{class=\"Spec\"} 1\n# HELP a_wait Wait\n# TYPE a_wait histogram\na_wait_bucket{le=\"+Inf\"} 1\na_wait_sum 0.5\na_wait_count 1\n# TYPE a_up gauge\na_up 1\n# EOF\n";
    let names = sample_names(text).unwrap();
    let expected: BTreeMap<String, String> = [
        ("a_fixes_total", "a_fixes"),
        ("a_wait_bucket", "a_wait"),
        ("a_wait_sum", "a_wait"),
        ("a_wait_count", "a_wait"),
        ("a_up", "a_up"),
    ]
    .iter()
    .map(|(name, family)| (name.to_string(), family.to_string()))
    .collect();
    assert_eq!(names, expected);
    assert!(sample_names("# TYPE a_up gauge\n# TYPE a_down gauge\na_up 1\n").unwrap_err().contains("a_down"));
    assert!(sample_names("# TYPE a_up gauge\na_upper 1\n").unwrap_err().contains("no declared family"));
}

#[test]
fn the_dashboard_shows_every_metric_the_operator_exports() {
    let Some(rendered) = rendered(observability()) else { return };
    let dashboard = dashboard_of(&rendered);
    let mut read = BTreeSet::new();
    for (_, query) in dashboard_queries(&dashboard).unwrap() {
        read.extend(metric_names(&query).unwrap());
    }
    let exported = exported();
    let shown: BTreeSet<&String> = read.iter().filter_map(|name| exported.get(name)).collect();
    let missing: BTreeSet<&String> = exported.values().filter(|family| !shown.contains(family)).collect();
    assert!(missing.is_empty(), "no panel shows {missing:?}");
}

#[test]
fn the_dashboard_is_a_configmap_the_grafana_sidecar_discovers_with_a_datasource_variable() {
    let Some(observed) = rendered(observability()) else { return };
    let configmap = observed.one("ConfigMap");
    assert_eq!(configmap["metadata"]["namespace"], "monitoring");
    assert_eq!(configmap["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(configmap["metadata"]["labels"]["app.kubernetes.io/part-of"], "driftwarden");
    assert_eq!(configmap["metadata"]["annotations"]["grafana_folder"], "Platform");

    let dashboard = dashboard_of(&observed);
    assert_eq!(dashboard["uid"], "driftwarden");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let datasource = variables.iter().find(|v| v["name"] == "datasource").expect("a datasource variable");
    assert_eq!((datasource["type"].as_str(), datasource["query"].as_str()), (Some("datasource"), Some("prometheus")));
    let mut rows = Vec::new();
    for panel in panels(&dashboard) {
        if panel["type"] == "row" {
            rows.push(panel["title"].as_str().unwrap().to_string());
            continue;
        }
        assert_eq!(panel["datasource"], json!({"type": "prometheus", "uid": "${datasource}"}), "{}", panel["title"]);
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{}", panel["title"]);
        }
    }
    for area in [
        "Overview",
        "Drift and fixes",
        "Latency",
        "Campaigns",
        "Notifications and the ledger",
        "Kubernetes API and errors",
    ] {
        assert!(rows.iter().any(|r| r == area), "a row for {area}: {rows:?}");
    }

    let other = rendered(json!({"metrics": {"dashboard": {"enabled": true, "label": "grafana.example.com/dashboard", "labelValue": "platform"}}})).unwrap();
    let configmap = other.one("ConfigMap");
    assert_eq!(configmap["metadata"]["namespace"], NAMESPACE, "the release namespace by default");
    assert_eq!(configmap["metadata"]["labels"]["grafana.example.com/dashboard"], "platform");
    assert!(configmap["metadata"]["labels"].get("grafana_dashboard").is_none());
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_runbook_the_readme_holds() {
    let Some(rendered) = rendered(observability()) else { return };
    let rule = rendered.one("PrometheusRule");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Alerts and runbooks"))
        .expect("the README has an Alerts and runbooks section");
    for (name, alert) in alerts(&rendered) {
        assert!(alert["labels"]["severity"].as_str().is_some_and(|s| !s.is_empty()), "{name}: a severity");
        assert_eq!(alert["labels"]["team"], "platform", "{name}: additionalLabels");
        for annotation in ["summary", "description"] {
            assert!(alert["annotations"][annotation].as_str().is_some_and(|s| s.len() > 10), "{name}: {annotation}");
        }
        assert!(alert["for"].as_str().is_some(), "{name}: a for duration");
        // GitHub's anchor of a heading `### DriftwardenDown` is `#driftwardendown`.
        let runbook = format!("{RUNBOOKS}#{}", name.to_lowercase());
        assert_eq!(alert["annotations"]["runbook_url"], runbook.as_str(), "{name}");
        assert!(section.contains(&format!("\n### {name}\n")), "the README has a runbook for {name}");
    }
}

#[test]
fn thresholds_and_the_selector_come_from_the_values() {
    let values = json!({"metrics": {"prometheusRule": {
        "enabled": true, "runbookBaseURL": RUNBOOKS, "selector": r#"job="driftwarden-metrics""#,
        "alerts": {
            "fixesFailing": {"ratio": 0.5, "window": "1h", "minFailures": 10, "for": "30m", "severity": "page"},
            "campaignAtRisk": {"enabled": false}
        }
    }}});
    let Some(tuned) = rendered(values) else { return };
    let by_name: BTreeMap<String, Value> = alerts(&tuned).into_iter().collect();
    assert!(!by_name.contains_key("DriftwardenCampaignAtRisk"), "a disabled alert is left out");
    let fixes = &by_name["DriftwardenFixesFailing"];
    let expr = fixes["expr"].as_str().unwrap();
    assert!(expr.contains("[1h]") && expr.contains("> 0.5") && expr.contains(">= 10"), "{expr}");
    assert_eq!((fixes["for"].as_str(), fixes["labels"]["severity"].as_str()), (Some("30m"), Some("page")));
    // Every selector of every alert selects by the values' matchers, not the namespace.
    for (name, alert) in &by_name {
        let expr = promql_parser::parser::parse(alert["expr"].as_str().unwrap()).unwrap();
        let mut selectors = Selectors::default();
        let Ok(_) = walk_expr(&mut selectors, &expr);
        assert!(!selectors.0.is_empty(), "{name}");
        for matchers in selectors.0 {
            assert!(matchers.contains(&"job=driftwarden-metrics".to_string()), "{name}: {matchers:?}");
            assert!(!matchers.iter().any(|m| m.starts_with("namespace")), "{name}: {matchers:?}");
        }
    }

    let Some(default) = rendered(observability()) else { return };
    for (name, alert) in alerts(&default) {
        let expr = promql_parser::parser::parse(alert["expr"].as_str().unwrap()).unwrap();
        let mut selectors = Selectors::default();
        let Ok(_) = walk_expr(&mut selectors, &expr);
        for matchers in selectors.0 {
            assert!(
                matchers.contains(&format!("namespace={NAMESPACE}")),
                "{name}: the release namespace: {matchers:?}"
            );
        }
    }
}

/// The equality matchers of each selector, as `label=value`.
#[derive(Default)]
struct Selectors(Vec<Vec<String>>);

impl ExprVisitor for Selectors {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        let selector = match expr {
            Expr::VectorSelector(selector) => selector,
            Expr::MatrixSelector(matrix) => &matrix.vs,
            _ => return Ok(true),
        };
        let equal = selector.matchers.matchers.iter().filter(|m| matches!(m.op, MatchOp::Equal));
        self.0.push(equal.map(|m| format!("{}={}", m.name, m.value)).collect());
        Ok(true)
    }
}

#[test]
fn both_are_off_by_default_and_alerts_need_the_runbooks_url() {
    let Some(default) = rendered(json!({})) else { return };
    assert!(default.of_kind("PrometheusRule").is_empty());
    assert!(default.of_kind("ConfigMap").is_empty());
    let refused = chart::render(json!({"metrics": {"prometheusRule": {"enabled": true}}}), NAMESPACE)
        .expect("the chart tests run")
        .expect_err("alerts without a runbook URL are refused");
    assert!(refused.contains("metrics.prometheusRule.runbookBaseURL is required"), "{refused}");
}
