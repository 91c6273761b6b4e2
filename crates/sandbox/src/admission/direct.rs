//! Expressions of a common subset evaluated directly on the request's JSON, without the CEL
//! interpreter and without converting the objects into its values.
//!
//! Most admission expressions select fields of `object` or `oldObject` and compare them:
//! `has(object.metadata.labels) && object.metadata.labels['app'] == 'web'`,
//! `object.spec.replicas <= 10`, `variables.payload.size() < 4096`. For those, converting
//! the objects for the interpreter and the interpreter's own copying cost more than the
//! comparison. An expression made only of the constructs below is compiled a second time
//! into a [`Direct`] tree, which reads the JSON by reference:
//!
//! - literals (strings, integers, booleans, null, and lists of them); `object`,
//!   `oldObject`, `namespaceObject`, `request` and the policy's `variables.<name>`;
//! - field selection, `has()`, indexing a map by a string or a list by an integer;
//! - `!`, `&&`, `||`, `? :`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`;
//! - `size()` (either form), and `startsWith`, `endsWith` and `contains` on strings.
//!
//! It never decides what it is not sure of: whenever the interpreter could answer
//! anything but the plain result (an error, a missing field, numbers of different kinds,
//! a comparison of lists or maps, a string that is not ASCII for `size()`), it gives up
//! and the expression is evaluated by the interpreter as before, so results and errors
//! stay the interpreter's own. A test compares both on many objects.

use kube::core::cel::cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};
use serde_json::Value;

/// The deepest tree compiled: expressions nest far less, and evaluation recurses.
const MAX_DEPTH: usize = 64;

/// An expression compiled for direct evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Direct {
    /// A literal string or null (kept as JSON, so that it is read by reference).
    Json(Value),
    Int(i64),
    Bool(bool),
    /// One of the request's objects.
    Root(Root),
    /// The policy's variable of this index.
    Variable(usize),
    Select(Box<Direct>, String),
    Has(Box<Direct>, String),
    Index(Box<Direct>, Box<Direct>),
    Not(Box<Direct>),
    And(Box<Direct>, Box<Direct>),
    Or(Box<Direct>, Box<Direct>),
    Conditional(Box<Direct>, Box<Direct>, Box<Direct>),
    Compare(Comparison, Box<Direct>, Box<Direct>),
    In(Box<Direct>, Box<Direct>),
    Size(Box<Direct>),
    Text(TextTest, Box<Direct>, Box<Direct>),
}

/// The request's objects an expression may read directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Object,
    OldObject,
    NamespaceObject,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTest {
    StartsWith,
    EndsWith,
    Contains,
}

/// The request's objects, as JSON (`None`: the variable is null).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
    pub namespace_object: Option<&'a Value>,
    /// The `request` variable as JSON, when some expression reads it.
    pub request: Option<&'a Value>,
}

/// A value during direct evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found<'a> {
    Json(&'a Value),
    /// The `metadata` of one of the request's objects: the interpreter is shown it without
    /// `managedFields` unless an expression names them, so it is only selected from.
    Metadata(&'a Value),
    Int(i64),
    Bool(bool),
}

static NULL: Value = Value::Null;

/// A scalar, as CEL compares them.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
}

impl<'a> Found<'a> {
    /// The scalar this is; `None` for maps, lists, numbers that are not `int`, and metadata.
    fn scalar(self) -> Option<Scalar<'a>> {
        match self {
            Found::Int(i) => Some(Scalar::Int(i)),
            Found::Bool(b) => Some(Scalar::Bool(b)),
            Found::Metadata(_) => None,
            Found::Json(value) => match value {
                Value::Null => Some(Scalar::Null),
                Value::Bool(b) => Some(Scalar::Bool(*b)),
                Value::Number(n) => n.as_i64().map(Scalar::Int),
                Value::String(s) => Some(Scalar::Str(s)),
                Value::Array(_) | Value::Object(_) => None,
            },
        }
    }

    /// The interpreter's value of this; `None` for an object's metadata, which the
    /// interpreter may be shown without its `managedFields`.
    pub fn to_cel(self) -> Option<kube::core::cel::cel::Value> {
        use kube::core::cel::cel::Value as Cel;
        Some(match self {
            Found::Int(i) => Cel::Int(i),
            Found::Bool(b) => Cel::Bool(b),
            Found::Json(value) => super::values::to_cel(value),
            Found::Metadata(_) => return None,
        })
    }

    /// The map this is, metadata included.
    fn map(self) -> Option<&'a serde_json::Map<String, Value>> {
        match self {
            Found::Json(Value::Object(map)) | Found::Metadata(Value::Object(map)) => Some(map),
            _ => None,
        }
    }
}

impl Direct {
    /// `expression` compiled for direct evaluation, when every part of it is of the subset;
    /// `variables` are the policy's variables, by name, that it may read.
    pub fn compile(expression: &IdedExpr, variables: &[String]) -> Option<Direct> {
        compile(expression, variables, 0)
    }

    /// The value of the expression; `None` when the interpreter must decide.
    /// `variable` gives the value of a variable of the policy, evaluated directly.
    pub fn evaluate<'a>(
        &'a self,
        inputs: &Inputs<'a>,
        variable: &dyn Fn(usize) -> Option<Found<'a>>,
    ) -> Option<Found<'a>> {
        let eval = |node: &'a Direct| node.evaluate(inputs, variable);
        let boolean = |node: &'a Direct| match eval(node)? {
            Found::Bool(b) => Some(b),
            Found::Json(Value::Bool(b)) => Some(*b),
            _ => None,
        };
        Some(match self {
            Direct::Json(value) => Found::Json(value),
            Direct::Int(i) => Found::Int(*i),
            Direct::Bool(b) => Found::Bool(*b),
            Direct::Root(root) => {
                let value = match root {
                    Root::Object => inputs.object,
                    Root::OldObject => inputs.old_object,
                    Root::NamespaceObject => inputs.namespace_object,
                    // Never null: without it, the interpreter decides.
                    Root::Request => Some(inputs.request?),
                };
                Found::Json(value.unwrap_or(&NULL))
            }
            Direct::Variable(index) => variable(*index)?,
            Direct::Select(operand, field) => {
                let parent = eval(operand)?;
                let value = parent.map()?.get(field)?;
                match (parent, operand.as_ref(), field.as_str()) {
                    (Found::Json(_), Direct::Root(_), "metadata") => Found::Metadata(value),
                    _ => Found::Json(value),
                }
            }
            Direct::Has(operand, field) => Found::Bool(eval(operand)?.map()?.contains_key(field)),
            Direct::Index(operand, key) => match (eval(operand)?, eval(key)?.scalar()?) {
                (Found::Json(Value::Array(items)), Scalar::Int(i)) => Found::Json(items.get(usize::try_from(i).ok()?)?),
                (parent, Scalar::Str(key)) => Found::Json(parent.map()?.get(key)?),
                _ => return None,
            },
            Direct::Not(operand) => Found::Bool(!boolean(operand)?),
            Direct::And(left, right) => match boolean(left)? {
                false => Found::Bool(false),
                true => Found::Bool(boolean(right)?),
            },
            Direct::Or(left, right) => match boolean(left)? {
                true => Found::Bool(true),
                false => Found::Bool(boolean(right)?),
            },
            Direct::Conditional(condition, then, otherwise) => match boolean(condition)? {
                true => eval(then)?,
                false => eval(otherwise)?,
            },
            Direct::Compare(comparison, left, right) => {
                Found::Bool(compare(*comparison, eval(left)?.scalar()?, eval(right)?.scalar()?)?)
            }
            Direct::In(element, container) => {
                let element = eval(element)?.scalar()?;
                match eval(container)? {
                    Found::Json(Value::Object(map)) => match element {
                        Scalar::Str(key) => Found::Bool(map.contains_key(key)),
                        _ => return None,
                    },
                    Found::Json(Value::Array(items)) => {
                        let mut found = false;
                        for item in items {
                            found |= compare(Comparison::Equal, element, Found::Json(item).scalar()?)?;
                        }
                        Found::Bool(found)
                    }
                    _ => return None,
                }
            }
            Direct::Size(operand) => {
                let size = match eval(operand)? {
                    Found::Json(Value::String(s)) if s.is_ascii() => s.len(),
                    Found::Json(Value::Array(items)) => items.len(),
                    Found::Json(Value::Object(map)) => map.len(),
                    _ => return None,
                };
                Found::Int(i64::try_from(size).ok()?)
            }
            Direct::Text(test, text, part) => match (eval(text)?.scalar()?, eval(part)?.scalar()?) {
                (Scalar::Str(text), Scalar::Str(part)) => Found::Bool(match test {
                    TextTest::StartsWith => text.starts_with(part),
                    TextTest::EndsWith => text.ends_with(part),
                    TextTest::Contains => text.contains(part),
                }),
                _ => return None,
            },
        })
    }
}

/// `left <comparison> right` as the interpreter answers it, when it answers a boolean:
/// equality of scalars of different kinds is false; only two integers or two strings are
/// ordered here.
fn compare(comparison: Comparison, left: Scalar<'_>, right: Scalar<'_>) -> Option<bool> {
    let same_kind = std::mem::discriminant(&left) == std::mem::discriminant(&right);
    let ordered = matches!((left, right), (Scalar::Int(_), Scalar::Int(_)) | (Scalar::Str(_), Scalar::Str(_)));
    Some(match comparison {
        Comparison::Equal => same_kind && left == right,
        Comparison::NotEqual => !(same_kind && left == right),
        _ if !ordered => return None,
        Comparison::Less => left < right,
        Comparison::LessOrEqual => left <= right,
        Comparison::Greater => left > right,
        Comparison::GreaterOrEqual => left >= right,
    })
}

fn compile(node: &IdedExpr, variables: &[String], depth: usize) -> Option<Direct> {
    if depth > MAX_DEPTH {
        return None;
    }
    let sub = |node: &IdedExpr| compile(node, variables, depth + 1).map(Box::new);
    Some(match &node.expr {
        Expr::Literal(literal) => match literal {
            LiteralValue::String(s) => Direct::Json(Value::String(s.inner().to_string())),
            LiteralValue::Int(i) => Direct::Int(*i.inner()),
            LiteralValue::Boolean(b) => Direct::Bool(*b.inner()),
            LiteralValue::Null => Direct::Json(Value::Null),
            LiteralValue::Bytes(_) | LiteralValue::Double(_) | LiteralValue::UInt(_) => return None,
        },
        Expr::Ident(name) => Direct::Root(match name.as_str() {
            "object" => Root::Object,
            "oldObject" => Root::OldObject,
            "namespaceObject" => Root::NamespaceObject,
            "request" => Root::Request,
            _ => return None,
        }),
        // A list of literals, kept as JSON (`x in ['a', 'b']`).
        Expr::List(list) => {
            let items = list
                .elements
                .iter()
                .map(|item| match compile(item, variables, depth + 1)? {
                    Direct::Json(value) => Some(value),
                    Direct::Int(i) => Some(Value::from(i)),
                    Direct::Bool(b) => Some(Value::Bool(b)),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            if !list.optional_indices.is_empty() {
                return None;
            }
            Direct::Json(Value::Array(items))
        }
        Expr::Select(select) => {
            if let Expr::Ident(name) = &select.operand.expr
                && name == "variables"
            {
                let index = variables.iter().position(|v| *v == select.field)?;
                return (!select.test).then_some(Direct::Variable(index));
            }
            let operand = sub(&select.operand)?;
            match select.test {
                true => Direct::Has(operand, select.field.clone()),
                false => Direct::Select(operand, select.field.clone()),
            }
        }
        Expr::Call(call) => {
            let args: Vec<&IdedExpr> = call.target.iter().map(|t| t.as_ref()).chain(call.args.iter()).collect();
            let one = |i: usize| sub(args[i]);
            match (call.func_name.as_str(), args.len()) {
                (operators::LOGICAL_NOT, 1) => Direct::Not(one(0)?),
                (operators::LOGICAL_AND, 2) => Direct::And(one(0)?, one(1)?),
                (operators::LOGICAL_OR, 2) => Direct::Or(one(0)?, one(1)?),
                (operators::CONDITIONAL, 3) => Direct::Conditional(one(0)?, one(1)?, one(2)?),
                (operators::INDEX, 2) => Direct::Index(one(0)?, one(1)?),
                (operators::IN, 2) => Direct::In(one(0)?, one(1)?),
                ("size", 1) => Direct::Size(one(0)?),
                (operators::EQUALS, 2) => Direct::Compare(Comparison::Equal, one(0)?, one(1)?),
                (operators::NOT_EQUALS, 2) => Direct::Compare(Comparison::NotEqual, one(0)?, one(1)?),
                (operators::LESS, 2) => Direct::Compare(Comparison::Less, one(0)?, one(1)?),
                (operators::LESS_EQUALS, 2) => Direct::Compare(Comparison::LessOrEqual, one(0)?, one(1)?),
                (operators::GREATER, 2) => Direct::Compare(Comparison::Greater, one(0)?, one(1)?),
                (operators::GREATER_EQUALS, 2) => Direct::Compare(Comparison::GreaterOrEqual, one(0)?, one(1)?),
                ("startsWith", 2) if call.target.is_some() => Direct::Text(TextTest::StartsWith, one(0)?, one(1)?),
                ("endsWith", 2) if call.target.is_some() => Direct::Text(TextTest::EndsWith, one(0)?, one(1)?),
                ("contains", 2) if call.target.is_some() => Direct::Text(TextTest::Contains, one(0)?, one(1)?),
                _ => return None,
            }
        }
        Expr::Unspecified | Expr::Comprehension(_) | Expr::Map(_) | Expr::Struct(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use kube::core::cel::KubeCelExt;
    use kube::core::cel::cel::{Context, Program, Value as Cel};
    use serde_json::json;

    use super::*;
    use crate::admission::values::to_cel;

    /// Objects with the shapes expressions meet: labels, data, numbers of each kind,
    /// lists, strings that are not ASCII, nulls, and missing parts.
    fn objects() -> Vec<Value> {
        vec![
            json!({"metadata": {"name": "web", "labels": {"app": "bench", "tier": "web"}, "managedFields": [{"manager": "m"}]},
                   "data": {"payload": "xxxx", "n": "1"}, "spec": {"replicas": 3, "ratio": 0.5, "big": 18446744073709551615u64,
                   "ports": [80, 443], "names": ["a", "b"], "flag": true, "nothing": null, "mixed": [1, "1", 1.5]}}),
            json!({"metadata": {"name": "é-web", "labels": {"app": "other"}}, "data": {"payload": "ünïcode"},
                   "spec": {"replicas": -1, "ports": [], "names": [], "flag": false}}),
            json!({"metadata": {"name": ""}, "spec": {"replicas": "3", "ports": "80"}}),
            json!({"metadata": {"name": "x", "labels": {}}, "data": {}, "spec": null}),
            json!({}),
            json!({"metadata": {"name": "n", "labels": {"app": "bench"}}, "data": {"payload": 7}, "spec": {"replicas": 0}}),
        ]
    }

    const VARIABLES: &[(&str, &str)] = &[
        ("payload", "has(object.data) && 'payload' in object.data ? object.data.payload : ''"),
        ("labels", "object.metadata.labels"),
        ("later", "variables.payload.size()"),
    ];

    const EXPRESSIONS: &[&str] = &[
        "has(object.metadata.labels)",
        "object.metadata.name.size() <= 253",
        "size(object.metadata.name) < 3",
        "variables.payload.size() < 4096",
        "variables.later > 3",
        "object.metadata.labels['app'] == 'bench'",
        "object.metadata.labels.app != 'bench'",
        "'tier' in object.metadata.labels",
        "'app' in variables.labels",
        "object.spec.replicas <= 10",
        "object.spec.replicas == 3",
        "object.spec.replicas == '3'",
        "object.spec.ratio < 1",
        "object.spec.big > 0",
        "object.spec.ports[1] == 443",
        "object.spec.ports[5] == 443",
        "object.spec.ports[-1] == 443",
        "443 in object.spec.ports",
        "'a' in object.spec.names",
        "1 in object.spec.mixed",
        "object.spec.flag",
        "!object.spec.flag",
        "object.spec.flag == true",
        "object.spec.nothing == null",
        "has(object.spec.nothing)",
        "object.spec == null",
        "oldObject == null",
        "oldObject.metadata.name == 'web'",
        "has(oldObject.metadata)",
        "object.metadata.name.startsWith('w') && object.metadata.name.endsWith('b')",
        "object.metadata.name.contains('e')",
        "object.spec.names.contains('a')",
        "object.spec.replicas > 1 ? object.spec.replicas < 5 : false",
        "object.missing == 1 || true",
        "true || object.missing == 1",
        "false && object.missing == 1",
        "object.missing == 1 && false",
        "object.metadata.name.foo == 1",
        "object.metadata.size() > 2",
        "object.metadata.managedFields.size() == 1",
        "'managedFields' in object.metadata",
        "object.metadata.labels == object.metadata.labels",
        "object.data.payload < 'zz'",
        "object.data.payload == 7",
        "null <= null",
        "true < false",
        "object.spec.replicas",
        "object.data",
        "request.namespace == 'shop'",
        "request.userInfo.username in ['alice', 'system:serviceaccount:ci:deployer']",
        "!(request.userInfo.username in ['bob'])",
        "object.metadata.name in ['web', 'x']",
        "object.spec.replicas in [3, 4]",
        "request.operation != 'DELETE' || oldObject == null",
        "request.dryRun",
        "request.userInfo.groups == ['a']",
        "[1, 'a', true, null][1] == 'a'",
    ];

    /// The `request` variable of the differential test, as the engine builds it.
    fn request() -> Value {
        json!({"namespace": "shop", "operation": "UPDATE", "dryRun": false, "name": "web",
               "userInfo": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:authenticated"]}})
    }

    /// Every expression, on every object, evaluated directly and by the interpreter: when
    /// the direct evaluation answers, it answers what the interpreter does.
    #[test]
    fn direct_evaluation_answers_only_what_the_interpreter_answers() {
        let names: Vec<String> = VARIABLES.iter().map(|(n, _)| n.to_string()).collect();
        let compiled_variables: Vec<Option<Direct>> = VARIABLES
            .iter()
            .enumerate()
            .map(|(i, (_, source))| {
                let program = Program::compile(source).expect("compiles");
                Direct::compile(program.expression(), &names[..i])
            })
            .collect();
        let mut answered = 0;
        for source in EXPRESSIONS {
            let program = Program::compile(source).expect("compiles");
            let direct = Direct::compile(program.expression(), &names);
            for object in objects() {
                let mut root = Context::default().with_all();
                root.add_variable_from_value("object", to_cel(&object));
                root.add_variable_from_value("oldObject", Cel::Null);
                root.add_variable_from_value("namespaceObject", Cel::Null);
                root.add_variable_from_value("request", to_cel(&request()));
                // Each variable reads those before it, as the admission engine has them.
                let mut variables: Vec<(String, Result<Cel, String>)> = Vec::new();
                for (name, source) in VARIABLES {
                    let mut scope = root.new_inner_scope();
                    let known = variables.iter().filter_map(|(n, v)| Some((n.as_str(), v.clone().ok()?)));
                    scope.add_variable_from_value("variables", super::super::values::map_of(known));
                    let value = Program::compile(source).expect("compiles").execute(&scope).map_err(|e| e.to_string());
                    variables.push((name.to_string(), value));
                }
                let mut scope = root.new_inner_scope();
                let known = variables.iter().filter_map(|(n, v)| Some((n.as_str(), v.clone().ok()?)));
                scope.add_variable_from_value("variables", super::super::values::map_of(known));
                let interpreted = program.execute(&scope).map_err(|e| e.to_string());
                let request = request();
                let inputs =
                    Inputs { object: Some(&object), old_object: None, namespace_object: None, request: Some(&request) };
                let variable = |index: usize| -> Option<Found<'_>> {
                    fn value<'a>(
                        index: usize,
                        compiled: &'a [Option<Direct>],
                        inputs: &Inputs<'a>,
                    ) -> Option<Found<'a>> {
                        let direct = compiled.get(index)?.as_ref()?;
                        direct.evaluate(inputs, &|i| if i < index { value(i, compiled, inputs) } else { None })
                    }
                    value(index, &compiled_variables, &inputs)
                };
                let Some(direct) = &direct else { continue };
                if let Some(found) = direct.evaluate(&inputs, &variable) {
                    answered += 1;
                    let found = found.to_cel();
                    assert!(
                        found.is_some() && interpreted.as_ref().ok() == found.as_ref(),
                        "{source} on {object}: direct {found:?}, interpreter {interpreted:?}"
                    );
                }
            }
        }
        assert!(answered > 100, "most evaluations are answered directly: {answered}");
    }

    #[test]
    fn the_subset_is_compiled_and_the_rest_left_to_the_interpreter() {
        let names = vec!["payload".to_string()];
        let compiles = |source: &str| Direct::compile(Program::compile(source).unwrap().expression(), &names).is_some();
        for source in [
            "has(object.metadata.labels)",
            "has(object.data) && 'payload' in object.data ? object.data.payload : ''",
            "variables.payload.size() < 4096",
            "object.metadata.labels['app'] == 'bench'",
            "request.userInfo.username in ['a', 'b']",
            "[1, 2].size() == 2",
        ] {
            assert!(compiles(source), "{source}");
        }
        for source in [
            "object.metadata.labels.all(k, k != '')",
            "params.limit > 1",
            "request.userInfo.groups.exists(g, g == 'x')",
            "variables.unknown == 1",
            "object.spec.ratio < 0.5",
            "[object.metadata.name].size() == 1",
            "object.metadata.name + 'x' == 'webx'",
            "string(object.spec.replicas) == '3'",
            "authorizer.group('').resource('pods').check('get').allowed()",
        ] {
            assert!(!compiles(source), "{source}");
        }
    }
}
