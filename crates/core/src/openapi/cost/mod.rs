//! The apiserver's estimate of what the CEL rules of a CRD schema may cost, and its two
//! budgets: a rule (or message expression) whose estimated cost, times the number of
//! times it may run in one object, exceeds 10,000,000 is refused, and so is a schema
//! whose rules together exceed 100,000,000. The sandbox refuses such CRDs as a cluster
//! does; `driftwarden crds` keeps its own within budget.
//!
//! - [`decl`]: schema nodes as rule types, with their size bounds.
//! - [`expr`]: the cost of one expression.
//!
//! The estimate follows the apiserver's model (cel-go's estimator with Kubernetes' sizes);
//! it has no type checker, so it tells apart overloads by what the schema and literals
//! say, and costs the Kubernetes library functions it knows by their length-linear model.

mod decl;
mod expr;

use kube::core::cel::cel::parser::Parser;
use serde_json::Value;

pub use decl::{Decl, MAX_REQUEST_SIZE_BYTES};

/// The most one expression may cost, times how often it may run (`StaticEstimatedCostLimit`).
pub const RULE_COST_LIMIT: u64 = 10_000_000;
/// The most the expressions of one schema may cost together (`StaticEstimatedCRDCostLimit`).
pub const SCHEMA_COST_LIMIT: u64 = 100_000_000;

/// The estimated cost of one rule or message expression of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpressionCost {
    /// Where it is, from the schema root: `properties[spec].x-kubernetes-validations[0].rule`.
    pub path: String,
    /// `rule` or `messageExpression`.
    pub field: &'static str,
    /// Its cost times the most times it may run in one object.
    pub cost: u64,
}

/// A budget a schema exceeds, as the apiserver reports it: a field path (relative to
/// the schema root; empty for the root itself) and a `Forbidden` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// The path below the schema root.
    pub path: String,
    /// The message.
    pub message: String,
}

/// The estimated cost of every rule and message expression of `schema`, in schema order.
/// Expressions that do not parse are left out (they are refused for that).
pub fn expression_costs(schema: &Value) -> Vec<ExpressionCost> {
    let mut out = Vec::new();
    walk(schema, String::new(), Some(1), true, &mut out);
    out
}

/// What in `schema` exceeds the apiserver's budgets: each expression over the per-rule
/// limit, then, when the total is over the schema limit, the (at most four) costliest
/// expressions that contributed and the root.
pub fn over_budget(schema: &Value) -> Vec<OverBudget> {
    let costs = expression_costs(schema);
    let mut out: Vec<OverBudget> = costs
        .iter()
        .filter(|c| c.cost > RULE_COST_LIMIT)
        .map(|c| OverBudget {
            path: c.path.clone(),
            message: cost_message(&format!("estimated {} cost", c.field), c.cost, RULE_COST_LIMIT),
        })
        .collect();
    let total = costs.iter().fold(0u64, |sum, c| sum.saturating_add(c.cost));
    if total > SCHEMA_COST_LIMIT {
        let mut expensive: Vec<&ExpressionCost> = costs.iter().filter(|c| c.cost >= SCHEMA_COST_LIMIT / 100).collect();
        expensive.sort_by_key(|c| std::cmp::Reverse(c.cost));
        for c in expensive.into_iter().take(4) {
            out.push(OverBudget {
                path: c.path.clone(),
                message: "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"
                    .to_string(),
            });
        }
        out.push(OverBudget {
            path: String::new(),
            message: cost_message(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                total,
                SCHEMA_COST_LIMIT,
            ),
        });
    }
    out
}

/// The apiserver's wording of a cost over its limit.
fn cost_message(what: &str, cost: u64, limit: u64) -> String {
    let exceed = cost as f64 / limit as f64;
    let factor = if exceed > 100.0 {
        "more than 100x".to_string()
    } else if exceed < 1.5 {
        format!("{exceed:.6}x")
    } else {
        format!("{exceed:.1}x")
    };
    format!(
        "{what} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and \
         maxLength where arrays, maps, and strings are declared)"
    )
}

/// Visits `schema` at `path`; `cardinality` is how many times a value there may occur in
/// one object (`None`: unbounded, because a list or map above it has no bound).
fn walk(schema: &Value, path: String, cardinality: Option<u64>, root: bool, out: &mut Vec<ExpressionCost>) {
    let Some(node) = schema.as_object() else { return };
    if let Some(rules) = node.get("x-kubernetes-validations").and_then(Value::as_array) {
        let decl = if root { Decl::root(schema) } else { Decl::of(schema) };
        // how many times the rules may run: the bounds above, else as many values of
        // this node's smallest size as fit in a request
        let times = cardinality.unwrap_or(MAX_REQUEST_SIZE_BYTES / (decl.min_size + 1));
        for (i, rule) in rules.iter().enumerate() {
            for field in ["rule", "messageExpression"] {
                let Some(source) = rule.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty()) else {
                    continue;
                };
                let Ok(parsed) = Parser::new().parse(source) else { continue };
                let cost = expr::estimate(&parsed, &decl);
                let cost = if cost == 0 { 0 } else { cost.saturating_mul(times) };
                let path = join(&path, &format!("x-kubernetes-validations[{i}].{field}"));
                out.push(ExpressionCost {
                    path,
                    field: if field == "rule" { "rule" } else { "messageExpression" },
                    cost,
                });
            }
        }
    }
    let times = |bound: &str| {
        let bound = node.get(bound).and_then(Value::as_i64).map(|n| n.max(0).unsigned_abs());
        cardinality.zip(bound).map(|(c, b)| c.saturating_mul(b))
    };
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            walk(child, join(&path, &format!("properties[{name}]")), cardinality, false, out);
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, join(&path, "items"), times("maxItems"), false, out);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(values, join(&path, "additionalProperties"), times("maxProperties"), false, out);
    }
}

fn join(path: &str, child: &str) -> String {
    if path.is_empty() { child.to_string() } else { format!("{path}.{child}") }
}

#[cfg(test)]
mod tests;
