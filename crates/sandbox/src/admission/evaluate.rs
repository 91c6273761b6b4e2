//! The evaluation of one policy for one request and one parameter: match conditions,
//! then validations and audit annotations, with variables evaluated on first use and at
//! most once. Evaluation errors are kept apart from `false`; the failure policy decides
//! what an error means.

use kube::core::cel::cel::{Context, Program, Value as Cel};
use std::cell::{OnceCell, RefCell};

use super::compile::{CompiledPolicy, Expression, FailurePolicy};
use super::direct::{Found, Inputs};
use super::values::map_of;
use crate::error::Reason;

/// A validation that failed, or an error the failure policy turned into a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What the client is told.
    pub message: String,
    /// The reason, which fixes the HTTP code.
    pub reason: Reason,
    /// The index of the failed validation, if a validation failed.
    pub index: Option<usize>,
}

/// What evaluating a policy found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Failed validations (and errors under `failurePolicy: Fail`).
    pub violations: Vec<Violation>,
    /// Audit annotations: key (without the policy's name) and value.
    pub annotations: Vec<(String, String)>,
}

impl Findings {
    /// An error, as the failure policy has it: a violation under `Fail`, nothing under
    /// `Ignore`.
    pub fn error(&mut self, policy: &CompiledPolicy, message: String) {
        if policy.failure_policy == FailurePolicy::Fail {
            self.violations.push(Violation { message, reason: Reason::Forbidden, index: None });
        }
    }
}

/// The request's variables for the interpreter, built the first time an expression needs
/// the interpreter: an evaluation whose expressions are all evaluated directly on the
/// request's JSON (see [`super::direct`]) never converts the objects.
pub struct RequestScope<'r> {
    scope: OnceCell<Context<'r>>,
    build: Box<dyn Fn() -> Context<'r> + 'r>,
}

impl<'r> RequestScope<'r> {
    pub fn new(build: impl Fn() -> Context<'r> + 'r) -> Self {
        Self { scope: OnceCell::new(), build: Box::new(build) }
    }

    fn get(&self) -> &Context<'r> {
        self.scope.get_or_init(|| (self.build)())
    }
}

/// One evaluation's scope: the request's objects as JSON, its variables for the
/// interpreter and `params`, and the variables evaluated so far (each way).
struct Activation<'a, 'r> {
    policy: &'a CompiledPolicy,
    inputs: Inputs<'a>,
    request: &'a RequestScope<'r>,
    params: Cel,
    scope: OnceCell<Context<'a>>,
    variables: RefCell<Vec<Option<Result<Cel, String>>>>,
    direct: RefCell<Vec<Option<Option<Found<'a>>>>>,
}

impl<'a, 'r> Activation<'a, 'r> {
    /// The interpreter's scope: the request's variables and `params`.
    fn scope(&self) -> &Context<'a> {
        self.scope.get_or_init(|| {
            let mut scope = self.request.get().new_inner_scope();
            scope.add_variable_from_value("params", self.params.clone());
            scope
        })
    }

    fn variable(&self, index: usize) -> Result<Cel, String> {
        if let Some(done) = self.variables.borrow().get(index).cloned().flatten() {
            return done;
        }
        let Some((name, expression)) = self.policy.variables.get(index) else {
            return Err(format!("no variable {index}"));
        };
        // A variable reads only the variables declared before it.
        let result =
            self.run(expression, index).map_err(|e| format!("composited variable \"{name}\" fails to evaluate: {e}"));
        if let Some(slot) = self.variables.borrow_mut().get_mut(index) {
            *slot = Some(result.clone());
        }
        result
    }

    /// The variable `index` evaluated directly, for an expression that may read the
    /// variables before `limit`; `None` when the interpreter must evaluate it.
    fn direct_variable(&self, index: usize, limit: usize) -> Option<Found<'a>> {
        if index >= limit {
            return None;
        }
        if let Some(done) = self.direct.borrow().get(index).copied().flatten() {
            return done;
        }
        let direct = self.policy.variables.get(index)?.1.direct.as_ref()?;
        let found = direct.evaluate(&self.inputs, &|i| self.direct_variable(i, index));
        if let Some(slot) = self.direct.borrow_mut().get_mut(index) {
            *slot = Some(found);
        }
        found
    }

    /// Evaluates `expression`, which may read the variables before `limit`: directly on
    /// the request's JSON when it can, else with the interpreter.
    fn run(&self, expression: &'a Expression, limit: usize) -> Result<Cel, String> {
        if let Some(direct) = &expression.direct
            && let Some(found) = direct.evaluate(&self.inputs, &|i| self.direct_variable(i, limit))
            && let Some(value) = found.to_cel()
        {
            return Ok(value);
        }
        let program = expression.program.as_ref().map_err(Clone::clone)?;
        if expression.uses.iter().all(|&i| i >= limit) {
            return execute(expression, program, self.scope());
        }
        let mut values = Vec::with_capacity(expression.uses.len());
        for &index in expression.uses.iter().filter(|&&i| i < limit) {
            let value = self.variable(index)?;
            values.push((self.policy.variables[index].0.as_str(), value));
        }
        let mut scope = self.scope().new_inner_scope();
        scope.add_variable_from_value("variables", map_of(values));
        execute(expression, program, &scope)
    }

    fn eval(&self, expression: &'a Expression) -> Result<Cel, String> {
        self.run(expression, usize::MAX)
            .map_err(|e| format!("expression '{}' resulted in error: {e}", expression.source))
    }

    fn eval_bool(&self, expression: &'a Expression) -> Result<bool, String> {
        match self.eval(expression)? {
            Cel::Bool(b) => Ok(b),
            other => Err(format!(
                "expression '{}' resulted in error: must evaluate to bool, got {}",
                expression.source,
                other.type_of()
            )),
        }
    }
}

/// Evaluates `expression` in `scope`: its rewritten form first, and the original if that
/// fails, so an error is always the original's own.
fn execute(expression: &Expression, program: &Program, scope: &Context<'_>) -> Result<Cel, String> {
    if let Some(fast) = &expression.fast
        && let Ok(value) = Cel::resolve(fast, scope)
    {
        return Ok(value);
    }
    program.execute(scope).map_err(|e| e.to_string())
}

/// Evaluates `policy` on the request's objects (`inputs`, and `request` for the
/// interpreter) with `params`.
pub fn evaluate<'a>(
    policy: &'a CompiledPolicy,
    inputs: Inputs<'a>,
    request: &'a RequestScope<'_>,
    params: Cel,
) -> Findings {
    let activation = Activation {
        policy,
        inputs,
        request,
        params,
        scope: OnceCell::new(),
        variables: RefCell::new(vec![None; policy.variables.len()]),
        direct: RefCell::new(vec![None; policy.variables.len()]),
    };
    let mut findings = Findings::default();
    for (name, condition) in &policy.match_conditions {
        match activation.eval_bool(condition) {
            Ok(true) => {}
            Ok(false) => return findings,
            Err(e) => {
                findings.error(policy, format!("failed to evaluate matchCondition '{name}': {e}"));
                return findings;
            }
        }
    }
    for (index, validation) in policy.validations.iter().enumerate() {
        match activation.eval_bool(&validation.expression) {
            Ok(true) => {}
            Ok(false) => {
                let computed = validation.message_expression.as_ref().and_then(|e| match activation.eval(e) {
                    Ok(Cel::String(s)) if !s.trim().is_empty() && !s.contains('\n') => Some(s.to_string()),
                    _ => None,
                });
                let message = computed
                    .or_else(|| validation.message.clone())
                    .unwrap_or_else(|| format!("failed expression: {}", validation.expression.source));
                findings.violations.push(Violation { message, reason: validation.reason, index: Some(index) });
            }
            Err(e) => findings.error(policy, e),
        }
    }
    for (key, expression) in &policy.audit_annotations {
        match activation.eval(expression) {
            Ok(Cel::String(value)) => findings.annotations.push((key.clone(), value.to_string())),
            Ok(Cel::Null) => {}
            Ok(other) => findings.error(
                policy,
                format!(
                    "valueExpression '{}' resulted in error: must evaluate to string or null, got {}",
                    expression.source,
                    other.type_of()
                ),
            ),
            Err(e) => findings.error(policy, e),
        }
    }
    findings
}
