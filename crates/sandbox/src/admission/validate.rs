//! The API server's validation of ValidatingAdmissionPolicies and their bindings on
//! create and update, for the mistakes it refuses outright: missing required fields,
//! unknown enum values, duplicate or conflicting validation actions, and expressions
//! that do not parse (each a 422 cause naming its field path).

use k8s_openapi::api::admissionregistration::v1::{MatchResources, ParamRef, ValidatingAdmissionPolicy};
use serde_json::Value;

use super::compile::parse;
use crate::error::{ApiError, CauseType, FieldCause};

const GROUP: &str = "admissionregistration.k8s.io";

fn required(causes: &mut Vec<FieldCause>, field: &str) {
    causes.push(FieldCause::new(CauseType::FieldValueRequired, field, ""));
}

fn unsupported(causes: &mut Vec<FieldCause>, field: &str, value: &str, allowed: &[&str]) {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    causes.push(FieldCause::new(
        CauseType::FieldValueNotSupported,
        field,
        format!("\"{value}\": supported values: {}", quoted.join(", ")),
    ));
}

fn expression(causes: &mut Vec<FieldCause>, field: &str, source: &str) {
    if source.trim().is_empty() {
        required(causes, field);
    } else if let Err(e) = parse(source) {
        causes.push(FieldCause::new(CauseType::FieldValueInvalid, field, format!("{source:?}: {e}")));
    }
}

fn match_resources(causes: &mut Vec<FieldCause>, field: &str, resources: &MatchResources, rules_required: bool) {
    if let Some(policy) = resources.match_policy.as_deref()
        && !["Exact", "Equivalent"].contains(&policy)
    {
        unsupported(causes, &format!("{field}.matchPolicy"), policy, &["Equivalent", "Exact"]);
    }
    if rules_required && resources.resource_rules.as_ref().is_none_or(Vec::is_empty) {
        required(causes, &format!("{field}.resourceRules"));
    }
    for (list, rules) in
        [("resourceRules", &resources.resource_rules), ("excludeResourceRules", &resources.exclude_resource_rules)]
    {
        for (i, rule) in rules.iter().flatten().enumerate() {
            let at = format!("{field}.{list}[{i}]");
            for op in rule.operations.iter().flatten() {
                if !["*", "CREATE", "UPDATE", "DELETE", "CONNECT"].contains(&op.as_str()) {
                    unsupported(
                        causes,
                        &format!("{at}.operations"),
                        op,
                        &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"],
                    );
                }
            }
            if let Some(scope) = rule.scope.as_deref()
                && !["*", "Cluster", "Namespaced"].contains(&scope)
            {
                unsupported(causes, &format!("{at}.scope"), scope, &["*", "Cluster", "Namespaced"]);
            }
            for (name, values) in [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("resources", &rule.resources),
                ("operations", &rule.operations),
            ] {
                if values.as_ref().is_none_or(Vec::is_empty) {
                    required(causes, &format!("{at}.{name}"));
                }
            }
        }
    }
}

/// `part` of `object` (at `field`), typed; a 422 naming the field when it has the wrong
/// shape.
fn decode<T: serde::de::DeserializeOwned>(
    part: &Value,
    object: &Value,
    kind: &str,
    field: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(part.clone()).map_err(|e| {
        let name = crate::store::meta::name(object);
        ApiError::invalid(
            GROUP,
            kind,
            name,
            vec![FieldCause::new(CauseType::FieldValueTypeInvalid, field, e.to_string())],
        )
    })
}

/// Checks a ValidatingAdmissionPolicy.
pub fn policy(object: &Value) -> Result<(), ApiError> {
    let policy: ValidatingAdmissionPolicy = decode(object, object, "ValidatingAdmissionPolicy", "spec")?;
    let spec = policy.spec.unwrap_or_default();
    let mut causes = Vec::new();
    if let Some(failure) = spec.failure_policy.as_deref()
        && !["Fail", "Ignore"].contains(&failure)
    {
        unsupported(&mut causes, "spec.failurePolicy", failure, &["Fail", "Ignore"]);
    }
    match &spec.match_constraints {
        None => required(&mut causes, "spec.matchConstraints"),
        Some(m) => match_resources(&mut causes, "spec.matchConstraints", m, true),
    }
    if spec.validations.as_ref().is_none_or(Vec::is_empty) && spec.audit_annotations.as_ref().is_none_or(Vec::is_empty)
    {
        causes.push(FieldCause::new(
            CauseType::FieldValueRequired,
            "spec.validations",
            "validations or auditAnnotations must contain at least one item",
        ));
    }
    for (i, v) in spec.validations.iter().flatten().enumerate() {
        expression(&mut causes, &format!("spec.validations[{i}].expression"), &v.expression);
        if let Some(m) = v.message_expression.as_deref().filter(|m| !m.is_empty()) {
            expression(&mut causes, &format!("spec.validations[{i}].messageExpression"), m);
        }
        if let Some(reason) = v.reason.as_deref()
            && !["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"].contains(&reason)
        {
            let allowed = ["Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"];
            unsupported(&mut causes, &format!("spec.validations[{i}].reason"), reason, &allowed);
        }
    }
    for (i, c) in spec.match_conditions.iter().flatten().enumerate() {
        if c.name.is_empty() {
            required(&mut causes, &format!("spec.matchConditions[{i}].name"));
        }
        expression(&mut causes, &format!("spec.matchConditions[{i}].expression"), &c.expression);
    }
    for (i, v) in spec.variables.iter().flatten().enumerate() {
        if v.name.is_empty() {
            required(&mut causes, &format!("spec.variables[{i}].name"));
        }
        expression(&mut causes, &format!("spec.variables[{i}].expression"), &v.expression);
    }
    for (i, a) in spec.audit_annotations.iter().flatten().enumerate() {
        if a.key.is_empty() {
            required(&mut causes, &format!("spec.auditAnnotations[{i}].key"));
        }
        expression(&mut causes, &format!("spec.auditAnnotations[{i}].valueExpression"), &a.value_expression);
    }
    if let Some(kind) = &spec.param_kind {
        if kind.api_version.as_deref().unwrap_or_default().is_empty() {
            required(&mut causes, "spec.paramKind.apiVersion");
        }
        if kind.kind.as_deref().unwrap_or_default().is_empty() {
            required(&mut causes, "spec.paramKind.kind");
        }
    }
    finish("ValidatingAdmissionPolicy", object, causes)
}

/// Checks a ValidatingAdmissionPolicyBinding.
pub fn binding(object: &Value) -> Result<(), ApiError> {
    const KIND: &str = "ValidatingAdmissionPolicyBinding";
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    let mut causes = Vec::new();
    if spec.get("policyName").and_then(Value::as_str).unwrap_or_default().is_empty() {
        required(&mut causes, "spec.policyName");
    }
    let actions: Vec<String> = match spec.get("validationActions") {
        None | Some(Value::Null) => Vec::new(),
        Some(given) => decode(given, object, KIND, "spec.validationActions")?,
    };
    if actions.is_empty() {
        required(&mut causes, "spec.validationActions");
    }
    for (i, action) in actions.iter().enumerate() {
        if !["Deny", "Warn", "Audit"].contains(&action.as_str()) {
            unsupported(&mut causes, &format!("spec.validationActions[{i}]"), action, &["Audit", "Deny", "Warn"]);
        } else if actions[..i].contains(action) {
            causes.push(FieldCause::new(
                CauseType::FieldValueDuplicate,
                format!("spec.validationActions[{i}]"),
                format!("\"{action}\""),
            ));
        }
    }
    if actions.iter().any(|a| a == "Deny") && actions.iter().any(|a| a == "Warn") {
        causes.push(FieldCause::new(
            CauseType::FieldValueInvalid,
            "spec.validationActions",
            format!("{actions:?}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"),
        ));
    }
    let param_ref: Option<ParamRef> = match spec.get("paramRef") {
        None | Some(Value::Null) => None,
        Some(given) => Some(decode(given, object, KIND, "spec.paramRef")?),
    };
    let resources: Option<MatchResources> = match spec.get("matchResources") {
        None | Some(Value::Null) => None,
        Some(given) => Some(decode(given, object, KIND, "spec.matchResources")?),
    };
    if let Some(param_ref) = &param_ref {
        let has_name = param_ref.name.as_deref().is_some_and(|n| !n.is_empty());
        if has_name == param_ref.selector.is_some() {
            causes.push(FieldCause::new(
                CauseType::FieldValueRequired,
                "spec.paramRef",
                "one of name or selector must be set",
            ));
        }
        match param_ref.parameter_not_found_action.as_deref() {
            None => required(&mut causes, "spec.paramRef.parameterNotFoundAction"),
            Some("Allow" | "Deny") => {}
            Some(other) => unsupported(&mut causes, "spec.paramRef.parameterNotFoundAction", other, &["Allow", "Deny"]),
        }
    }
    if let Some(m) = &resources {
        match_resources(&mut causes, "spec.matchResources", m, false);
    }
    finish(KIND, object, causes)
}

fn finish(kind: &str, object: &Value, causes: Vec<FieldCause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(GROUP, kind, crate::store::meta::name(object), causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_with_an_unparsable_expression_names_its_field() {
        let err = policy(&json!({
            "metadata": {"name": "p"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]},
                "validations": [{"expression": "object.("}]
            }
        }))
        .expect_err("invalid");
        assert_eq!(err.code(), 422);
        assert!(err.message.contains("spec.validations[0].expression"), "{}", err.message);
    }

    #[test]
    fn a_binding_needs_a_policy_and_known_actions() {
        let err =
            binding(&json!({"metadata": {"name": "b"}, "spec": {"validationActions": ["Deny", "Warn", "Block"]}}))
                .expect_err("invalid");
        assert!(err.message.contains("spec.policyName: Required value"), "{}", err.message);
        assert!(err.message.contains("spec.validationActions[2]: Unsupported value: \"Block\""), "{}", err.message);
        assert!(err.message.contains("must not contain both Deny and Warn"), "{}", err.message);
        binding(
            &json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Warn", "Audit"]}}),
        )
        .expect("valid");
    }
}
