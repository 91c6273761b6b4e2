//! The estimated worst-case cost of one CEL expression, following the model of cel-go's
//! cost estimator with the sizes of the schema (Kubernetes' size estimator): reading a
//! variable or field costs 1, a call 1 plus its arguments, a comprehension the cost of
//! its step and condition times the most elements its range can hold, and string work
//! (equality, `contains`, `startsWith`, `matches`, concatenation) a tenth of a unit per
//! character it may traverse. The result is the maximum of the estimate's range.

use kube::core::cel::cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};

use super::decl::{Decl, Shape};

const STRING_TRAVERSAL_FACTOR: f64 = 0.1;
const REGEX_LENGTH_FACTOR: f64 = 0.25;
const LIST_CREATE_COST: u64 = 10;
const MAP_CREATE_COST: u64 = 30;
const STRUCT_CREATE_COST: u64 = 40;
const UNKNOWN: u64 = u64::MAX;

/// The kind of value an expression yields, as far as the estimate needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Scalar,
    String,
    List,
    Map,
    Object,
    Dyn,
}

/// The estimate of one expression: its cost, its kind, the most elements it holds (when
/// known) and the schema node it reads (when it reads one).
#[derive(Debug, Clone)]
struct Est<'a> {
    cost: u64,
    ty: Ty,
    size: Option<u64>,
    decl: Option<&'a Decl>,
}

impl<'a> Est<'a> {
    fn of(cost: u64, ty: Ty) -> Est<'a> {
        Est { cost, ty, size: None, decl: None }
    }

    fn read(cost: u64, decl: Option<&'a Decl>) -> Est<'a> {
        let ty = decl.map_or(Ty::Dyn, |d| match d.shape {
            Shape::Scalar => Ty::Scalar,
            Shape::String => Ty::String,
            Shape::List(_) => Ty::List,
            Shape::Map(_) => Ty::Map,
            Shape::Object(_) => Ty::Object,
            Shape::Dyn => Ty::Dyn,
        });
        Est { cost, ty, size: None, decl }
    }

    /// The most elements (characters, items, entries) the value holds, as cel-go looks it
    /// up: a size computed for it, else its schema node's bound, else 1 for a scalar.
    fn size(&self) -> u64 {
        self.size.or(self.decl.map(|d| d.max_elements)).unwrap_or(if self.ty == Ty::Scalar { 1 } else { UNKNOWN })
    }
}

fn factor(size: u64, factor: f64) -> u64 {
    let scaled = (size as f64 * factor).ceil();
    if scaled >= u64::MAX as f64 { UNKNOWN } else { scaled as u64 }
}

struct Scope<'a> {
    name: String,
    est: Est<'a>,
}

/// Estimates `expr` where `self` (and `oldSelf`) is a value of `decl`.
pub fn estimate(expr: &IdedExpr, decl: &Decl) -> u64 {
    let mut coster = Coster { root: decl, scopes: Vec::new() };
    coster.cost(expr).cost
}

struct Coster<'a> {
    root: &'a Decl,
    scopes: Vec<Scope<'a>>,
}

impl<'a> Coster<'a> {
    fn cost(&mut self, expr: &IdedExpr) -> Est<'a> {
        match &expr.expr {
            Expr::Literal(literal) => {
                let size = match literal {
                    LiteralValue::String(s) => s.inner().chars().count() as u64,
                    LiteralValue::Bytes(b) => b.inner().len() as u64,
                    _ => 1,
                };
                let ty = if matches!(literal, LiteralValue::String(_) | LiteralValue::Bytes(_)) {
                    Ty::String
                } else {
                    Ty::Scalar
                };
                Est { cost: 0, ty, size: Some(size), decl: None }
            }
            Expr::Ident(name) => self.ident(name),
            Expr::Select(select) => {
                let operand = self.cost(&select.operand);
                if select.test {
                    return Est::of(operand.cost.saturating_add(1), Ty::Scalar);
                }
                let extra = u64::from(matches!(operand.ty, Ty::Map | Ty::Object));
                let decl = operand.decl.and_then(|d| field(d, &select.field));
                Est::read(operand.cost.saturating_add(extra), decl)
            }
            Expr::Call(call) => {
                let target = call.target.as_deref().map(|t| self.cost(t));
                let args: Vec<Est<'a>> = call.args.iter().map(|a| self.cost(a)).collect();
                let mut est = function(&call.func_name, target.as_ref(), &args);
                est.cost = est.cost.saturating_add(target.map_or(0, |t| t.cost));
                est
            }
            Expr::List(list) => {
                let cost = list.elements.iter().fold(LIST_CREATE_COST, |sum, e| sum.saturating_add(self.cost(e).cost));
                Est { cost, ty: Ty::List, size: Some(list.elements.len() as u64), decl: None }
            }
            Expr::Map(map) => {
                let mut cost = MAP_CREATE_COST;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        cost = cost
                            .saturating_add(self.cost(&entry.key).cost)
                            .saturating_add(self.cost(&entry.value).cost);
                    }
                }
                Est { cost, ty: Ty::Map, size: Some(map.entries.len() as u64), decl: None }
            }
            Expr::Struct(structure) => {
                let mut cost = STRUCT_CREATE_COST;
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        cost = cost.saturating_add(self.cost(&field.value).cost);
                    }
                }
                Est::of(cost, Ty::Object)
            }
            Expr::Comprehension(comprehension) => {
                let range = self.cost(&comprehension.iter_range);
                let init = self.cost(&comprehension.accu_init);
                let element = range.decl.and_then(|d| match &d.shape {
                    Shape::Map(_) => None,
                    _ => d.element(),
                });
                let mut item = Est::read(0, element);
                if range.decl.is_some_and(|d| matches!(d.shape, Shape::Map(_))) {
                    item = Est { cost: 0, ty: Ty::String, size: Some(0), decl: None };
                }
                let accu = Est { cost: 0, ..init.clone() };
                self.scopes.push(Scope { name: comprehension.accu_var.clone(), est: accu });
                self.scopes.push(Scope { name: comprehension.iter_var.clone(), est: item });
                let per_element =
                    self.cost(&comprehension.loop_cond).cost.saturating_add(self.cost(&comprehension.loop_step).cost);
                self.scopes.pop();
                let result = self.cost(&comprehension.result);
                self.scopes.pop();
                let count = range.size();
                let cost = range
                    .cost
                    .saturating_add(init.cost)
                    .saturating_add(result.cost)
                    .saturating_add(count.saturating_mul(per_element));
                let size =
                    if matches!(comprehension.accu_init.expr, Expr::Literal(_)) { init.size } else { Some(count) };
                Est { cost, ty: result.ty, size, decl: if result.ty == Ty::List { range.decl } else { None } }
            }
            Expr::Unspecified => Est::of(0, Ty::Dyn),
        }
    }

    fn ident(&self, name: &str) -> Est<'a> {
        if let Some(scope) = self.scopes.iter().rev().find(|s| s.name == name) {
            return Est { cost: 1, ..scope.est.clone() };
        }
        match name {
            "self" | "oldSelf" => Est::read(1, Some(self.root)),
            _ => Est::of(1, Ty::Dyn),
        }
    }
}

/// CEL's reserved words, which a rule reads as fields by writing `__word__`.
const RESERVED: [&str; 19] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
];

/// The property a field name in a rule stands for, undoing the apiserver's escaping of
/// reserved words and of `_`, `.`, `-` and `/`.
fn unescape(name: &str) -> String {
    if let Some(word) = name.strip_prefix("__").and_then(|n| n.strip_suffix("__"))
        && RESERVED.contains(&word)
    {
        return word.to_string();
    }
    name.replace("__underscores__", "__").replace("__dot__", ".").replace("__dash__", "-").replace("__slash__", "/")
}

fn field<'a>(decl: &'a Decl, name: &str) -> Option<&'a Decl> {
    match &decl.shape {
        Shape::Object(fields) => fields.get(name).or_else(|| fields.get(&unescape(name))),
        Shape::Map(values) => Some(values),
        _ => None,
    }
}

fn sum(args: &[Est]) -> u64 {
    args.iter().fold(0, |sum, a| sum.saturating_add(a.cost))
}

/// The cost of calling `name` on the already estimated target and arguments (their own
/// costs included, the target's added by the caller), with its result.
fn function<'a>(name: &str, target: Option<&Est<'a>>, args: &[Est<'a>]) -> Est<'a> {
    let args_cost = sum(args);
    let plus = |cost: u64| cost.saturating_add(args_cost);
    let bool_of = |cost: u64| Est::of(plus(cost), Ty::Scalar);
    match (name, target, args) {
        ("_&&_" | "_||_", None, _) => Est::of(args_cost, Ty::Scalar),
        ("_?_:_", None, [condition, yes, no]) => Est {
            cost: condition.cost.saturating_add(yes.cost.max(no.cost)),
            ty: yes.ty,
            size: Some(yes.size().max(no.size())),
            decl: yes.decl.or(no.decl),
        },
        ("_==_" | "_!=_", None, [a, b]) => bool_of(factor(a.size().min(b.size()), STRING_TRAVERSAL_FACTOR)),
        ("_<_" | "_<=_" | "_>_" | "_>=_", None, [a, b]) if a.ty == Ty::String || b.ty == Ty::String => {
            bool_of(factor(a.size().min(b.size()), STRING_TRAVERSAL_FACTOR))
        }
        ("_+_", None, [a, b]) if a.ty == Ty::String || b.ty == Ty::String => {
            let size = a.size().saturating_add(b.size());
            Est { cost: plus(factor(size, STRING_TRAVERSAL_FACTOR)), ty: Ty::String, size: Some(size), decl: None }
        }
        ("_+_", None, [a, b]) if a.ty == Ty::List || b.ty == Ty::List => {
            let size = a.size().saturating_add(b.size());
            Est { cost: plus(1), ty: Ty::List, size: Some(size), decl: a.decl.or(b.decl) }
        }
        ("@in", None, [_, map]) if map.ty == Ty::Map || map.ty == Ty::Object => bool_of(1),
        ("@in", None, [_, list]) => bool_of(list.size()),
        ("dyn", None, [value]) => Est { cost: plus(1), ..value.clone() },
        ("_[_]", None, [container, _]) => Est::read(plus(1), container.decl.and_then(Decl::element)),
        ("matches", Some(text), [regex]) => bool_of(matches_cost(text, regex)),
        ("matches", None, [text, regex]) => bool_of(matches_cost(text, regex)),
        ("contains", Some(text), [part]) => bool_of(
            factor(text.size(), STRING_TRAVERSAL_FACTOR).saturating_mul(factor(part.size(), STRING_TRAVERSAL_FACTOR)),
        ),
        ("startsWith" | "endsWith", Some(_), [part]) => bool_of(factor(part.size(), STRING_TRAVERSAL_FACTOR)),
        ("lowerAscii" | "upperAscii" | "trim" | "substring" | "replace" | "reverse", Some(text), _) => Est {
            cost: plus(factor(text.size(), STRING_TRAVERSAL_FACTOR)),
            ty: Ty::String,
            size: Some(text.size()),
            decl: None,
        },
        ("split", Some(text), _) => Est {
            cost: plus(factor(text.size(), STRING_TRAVERSAL_FACTOR)),
            ty: Ty::List,
            size: Some(text.size()),
            decl: None,
        },
        ("indexOf" | "lastIndexOf", Some(text), [part, ..]) => Est::of(
            plus(
                factor(text.size(), STRING_TRAVERSAL_FACTOR)
                    .saturating_mul(factor(part.size(), STRING_TRAVERSAL_FACTOR)),
            ),
            Ty::Scalar,
        ),
        ("join", Some(list), _) => {
            let element = list.decl.and_then(Decl::element).map_or(UNKNOWN, |d| d.max_elements);
            let size = list.size().saturating_mul(element);
            Est { cost: plus(factor(size, STRING_TRAVERSAL_FACTOR)), ty: Ty::String, size: Some(size), decl: None }
        }
        ("isSorted" | "sum" | "min" | "max" | "indexOf" | "lastIndexOf", Some(list), _) if list.ty == Ty::List => {
            Est::of(plus(list.size()), Ty::Scalar)
        }
        ("string", None, _) => Est::of(plus(1), Ty::String),
        (
            "size"
            | "int"
            | "uint"
            | "double"
            | "bool"
            | "duration"
            | "timestamp"
            | "!_"
            | "-_"
            | "@not_strictly_false",
            _,
            _,
        ) => bool_of(1),
        _ => {
            let ty = args.first().map_or(Ty::Dyn, |a| a.ty);
            Est::of(plus(1), if matches!(ty, Ty::Scalar) { Ty::Scalar } else { Ty::Dyn })
        }
    }
}

fn matches_cost(text: &Est, regex: &Est) -> u64 {
    let text = factor(text.size().saturating_add(1), STRING_TRAVERSAL_FACTOR);
    text.saturating_mul(factor(regex.size(), REGEX_LENGTH_FACTOR))
}
