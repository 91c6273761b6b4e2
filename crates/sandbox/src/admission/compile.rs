//! A ValidatingAdmissionPolicy compiled once: every expression parsed into a CEL program
//! (or the error that says why it does not parse), and which of the policy's variables
//! each expression reads, so a request evaluates only the variables it needs.

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicySpec};
use kube::core::cel::cel::Program;
use kube::core::cel::cel::common::ast::{EntryExpr, Expr, IdedExpr};

use super::direct::Direct;
use super::paths::{ObjectReads, rewrite};
use crate::error::Reason;

/// One expression and its program.
pub struct Expression {
    /// The source text.
    pub source: String,
    /// The program, or the compile error in the API server's words.
    pub program: Result<Program, String>,
    /// Indexes of the policy's variables the expression reads.
    pub uses: Vec<usize>,
    /// The request variables the expression may read.
    pub reads: Reads,
    /// The parts of the request's objects the expression reads.
    pub objects: ObjectReads,
    /// The expression with its chains of selections from the request's objects read from
    /// variables of their own (see [`super::paths`]), if it has any.
    pub fast: Option<IdedExpr>,
    /// The expression for direct evaluation on the request's JSON, if it is of the subset
    /// [`super::direct`] knows.
    pub direct: Option<Direct>,
}

/// Which of the request's variables other than the objects (see [`ObjectReads`])
/// expressions may read, from their text (a superset: a name inside a string literal
/// counts). Variables nobody reads are not built, and an object's `metadata.managedFields`
/// is left out of `object` and `oldObject` unless some expression names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// `request`.
    pub request: bool,
    /// `authorizer`.
    pub authorizer: bool,
    /// `managedFields`, anywhere.
    pub managed_fields: bool,
}

impl Reads {
    /// What `source` may read.
    pub fn of(source: &str) -> Self {
        Reads {
            request: source.contains("request"),
            authorizer: source.contains("authorizer"),
            managed_fields: source.contains("managedFields"),
        }
    }

    /// What either reads.
    pub fn union(self, other: Reads) -> Self {
        Reads {
            request: self.request || other.request,
            authorizer: self.authorizer || other.authorizer,
            managed_fields: self.managed_fields || other.managed_fields,
        }
    }
}

impl Expression {
    /// Compiles `source` for a policy whose variables are `variables`.
    pub fn compile(source: &str, variables: &[String]) -> Self {
        let program = parse(source);
        let read = variables_read(source);
        let uses = variables.iter().enumerate().filter(|(_, v)| read.contains(v)).map(|(i, _)| i).collect();
        let mut objects = program.as_ref().map(|p| ObjectReads::of(p.expression())).unwrap_or_default();
        let rewritten = program.as_ref().ok().and_then(|p| rewrite(p.expression()));
        let fast = rewritten.map(|(fast, chains)| {
            objects.chains = chains;
            fast
        });
        let direct = program.as_ref().ok().and_then(|p| Direct::compile(p.expression(), variables));
        Expression { source: source.to_string(), program, uses, reads: Reads::of(source), objects, fast, direct }
    }
}

/// The deepest nesting the sandbox compiles and evaluates. The parser and the evaluator
/// recurse once per level on the request's own stack, so the bound keeps a client's
/// expression from exhausting it.
pub const MAX_DEPTH: usize = 32;

/// Longer expressions are refused before they are parsed.
pub const MAX_LENGTH: usize = 16 * 1024;

/// How deep `source` could nest, from its text alone: brackets, plus the operators at each
/// bracket level (a chain of binary operators nests one level per operator). An upper
/// bound of the parsed depth, cheap enough to check before parsing.
fn textual_depth(source: &str) -> usize {
    let mut levels: Vec<usize> = vec![0];
    let mut deepest = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                c if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => levels.push(0),
            ')' | ']' | '}' => {
                levels.pop();
                if levels.is_empty() {
                    levels.push(0);
                }
            }
            '+' | '-' | '*' | '/' | '%' | '!' | '&' | '|' | '=' | '<' | '>' | '?' | ':' | '.' | ',' => {
                if let Some(level) = levels.last_mut() {
                    *level += 1;
                }
            }
            _ => {}
        }
        deepest = deepest.max(levels.len() + levels.iter().sum::<usize>());
    }
    deepest
}

/// The depth of a parsed expression, walked without recursion.
fn parsed_depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 1)];
    while let Some((node, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        stack.extend(children(node).into_iter().map(|child| (child, depth + 1)));
    }
    deepest
}

/// The sub-expressions of `node`.
pub fn children(node: &IdedExpr) -> Vec<&IdedExpr> {
    match &node.expr {
        Expr::Call(call) => call.target.iter().map(|t| t.as_ref()).chain(&call.args).collect(),
        Expr::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(|e| entry(&e.expr)).collect(),
        Expr::Struct(s) => s.entries.iter().flat_map(|e| entry(&e.expr)).collect(),
        Expr::Select(select) => vec![&select.operand],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn entry(entry: &EntryExpr) -> Vec<&IdedExpr> {
    match entry {
        EntryExpr::StructField(field) => vec![&field.value],
        EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
    }
}

/// Parses `source` into a program, or says why not in the API server's words. Parsing
/// runs on a thread of its own with a large stack, so no expression can overflow the
/// caller's; expressions nested deeper than [`MAX_DEPTH`] are refused.
pub fn parse(source: &str) -> Result<Program, String> {
    let too_deep = || format!("compilation failed: the expression nests deeper than {MAX_DEPTH} levels");
    if source.len() > MAX_LENGTH {
        return Err(format!("compilation failed: the expression is longer than {MAX_LENGTH} bytes"));
    }
    if textual_depth(source) > 4 * MAX_DEPTH {
        return Err(too_deep());
    }
    let owned = source.to_string();
    let parsed = std::thread::Builder::new()
        .name("cel-parse".to_string())
        .stack_size(256 << 20)
        .spawn(move || match Program::compile(&owned) {
            // A program too deep to evaluate is dropped here, on the large stack.
            Ok(program) if parsed_depth(program.expression()) > MAX_DEPTH => Err(None),
            Ok(program) => Ok(program),
            Err(e) => Err(Some(format!("compilation failed: {e}"))),
        })
        .map_err(|e| format!("compilation failed: {e}"))?
        .join();
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(Some(message))) => Err(message),
        Ok(Err(None)) => Err(too_deep()),
        Err(_) => Err("compilation failed: the expression could not be parsed".to_string()),
    }
}

/// The names `variables.<name>` refers to in `source` (a superset when the text appears
/// inside a string literal, which only costs an evaluation).
pub fn variables_read(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("variables.") {
        let before_ok = rest[..at].chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        let after = &rest[at + "variables.".len()..];
        let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if before_ok && !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
        rest = after;
    }
    names
}

/// What happens when a policy cannot be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request is refused.
    Fail,
    /// The policy is skipped.
    Ignore,
}

/// A validation.
pub struct Validation {
    /// Must be true.
    pub expression: Expression,
    /// The message when it is false.
    pub message: Option<String>,
    /// The message, computed.
    pub message_expression: Option<Expression>,
    /// The reason (and so the HTTP code) of a denial.
    pub reason: Reason,
}

/// A compiled policy.
pub struct CompiledPolicy {
    /// The policy's name.
    pub name: String,
    /// The policy's spec.
    pub spec: ValidatingAdmissionPolicySpec,
    /// `failurePolicy`, `Fail` when unset.
    pub failure_policy: FailurePolicy,
    /// `matchConditions`: name and expression.
    pub match_conditions: Vec<(String, Expression)>,
    /// `variables`: name and expression, in order.
    pub variables: Vec<(String, Expression)>,
    /// `validations`.
    pub validations: Vec<Validation>,
    /// `auditAnnotations`: key and value expression.
    pub audit_annotations: Vec<(String, Expression)>,
    /// The request variables some expression may read.
    pub reads: Reads,
    /// The parts of the request's objects some expression reads.
    pub objects: ObjectReads,
}

/// The reason a validation names, `Forbidden` when unset or unknown.
pub fn reason(name: Option<&str>) -> Reason {
    match name {
        Some("Invalid") => Reason::Invalid,
        Some("RequestEntityTooLarge") => Reason::RequestEntityTooLarge,
        Some("Unauthorized") => Reason::Unauthorized,
        _ => Reason::Forbidden,
    }
}

impl CompiledPolicy {
    /// Compiles every expression of `policy`.
    pub fn compile(policy: &ValidatingAdmissionPolicy) -> Self {
        let spec = policy.spec.clone().unwrap_or_default();
        let names: Vec<String> = spec.variables.iter().flatten().map(|v| v.name.clone()).collect();
        let compile = |source: &str| Expression::compile(source, &names);
        let variables: Vec<(String, Expression)> =
            spec.variables.iter().flatten().map(|v| (v.name.clone(), compile(&v.expression))).collect();
        let match_conditions =
            spec.match_conditions.iter().flatten().map(|c| (c.name.clone(), compile(&c.expression))).collect();
        let validations = spec
            .validations
            .iter()
            .flatten()
            .map(|v| Validation {
                expression: compile(&v.expression),
                message: v.message.clone().filter(|m| !m.trim().is_empty()),
                message_expression: v.message_expression.as_deref().filter(|m| !m.is_empty()).map(compile),
                reason: reason(v.reason.as_deref()),
            })
            .collect();
        let audit_annotations =
            spec.audit_annotations.iter().flatten().map(|a| (a.key.clone(), compile(&a.value_expression))).collect();
        let failure_policy = match spec.failure_policy.as_deref() {
            Some("Ignore") => FailurePolicy::Ignore,
            _ => FailurePolicy::Fail,
        };
        let mut compiled = CompiledPolicy {
            name: policy.metadata.name.clone().unwrap_or_default(),
            spec,
            failure_policy,
            match_conditions,
            variables,
            validations,
            audit_annotations,
            reads: Reads::default(),
            objects: ObjectReads::default(),
        };
        let reads = compiled.expressions().fold(Reads::default(), |all, e| all.union(e.reads));
        let mut objects = ObjectReads::default();
        compiled.expressions().for_each(|e| objects.union(&e.objects));
        compiled.reads = reads;
        compiled.objects = objects;
        compiled
    }

    /// Every expression of the policy.
    pub fn expressions(&self) -> impl Iterator<Item = &Expression> {
        let validations =
            self.validations.iter().flat_map(|v| std::iter::once(&v.expression).chain(&v.message_expression));
        self.variables
            .iter()
            .map(|(_, e)| e)
            .chain(self.match_conditions.iter().map(|(_, e)| e))
            .chain(validations)
            .chain(self.audit_annotations.iter().map(|(_, e)| e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_expressions_are_refused_before_they_reach_the_stack() {
        assert!(parse(&format!("{}1{}", "(".repeat(5000), ")".repeat(5000))).is_err());
        assert!(parse(&vec!["1"; 200].join(" + ")).expect_err("too deep").contains("deeper than 32 levels"));
        assert!(parse(&format!("{}true", "!".repeat(200))).is_err());
        assert!(parse(&format!("{}1", "true ? 1 : ".repeat(100))).is_err());
        assert!(parse("'((((((((((((((((((((((((((((((((((((((((' == object.x").is_ok(), "strings do not nest");
        let long = ["object.a.b.c == 1"; 8].join(" && ");
        assert!(parse(&long).is_ok(), "{long}");
    }

    #[test]
    fn variables_read_finds_each_name_once_and_not_other_fields() {
        assert_eq!(
            variables_read("variables.a > 1 && variables.b_2 == variables.a && object.variables.c"),
            vec!["a".to_string(), "b_2".to_string()]
        );
    }

    #[test]
    fn a_policy_keeps_compile_errors_per_expression() {
        let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "failurePolicy": "Ignore",
                "variables": [{"name": "n", "expression": "object.metadata.name"}],
                "validations": [
                    {"expression": "variables.n != 'x'", "reason": "Invalid"},
                    {"expression": "object.spec.(", "message": "  "}
                ]
            }
        }))
        .expect("policy");
        let compiled = CompiledPolicy::compile(&policy);
        assert_eq!(compiled.failure_policy, FailurePolicy::Ignore);
        assert!(compiled.validations[0].expression.program.is_ok());
        assert_eq!(compiled.validations[0].expression.uses, vec![0]);
        assert_eq!(compiled.validations[0].reason, Reason::Invalid);
        let Err(error) = &compiled.validations[1].expression.program else { panic!("does not parse") };
        assert!(error.starts_with("compilation failed: "), "{error}");
        assert_eq!(compiled.validations[1].message, None);
        let reads = compiled.reads;
        assert!(!reads.authorizer && !reads.managed_fields && !reads.request);
        assert!(compiled.objects.object.is_some() && compiled.objects.old_object.is_none());
    }
}
