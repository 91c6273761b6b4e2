//! What a binding's `validationActions` make of a policy's findings, in the API server's
//! words: `Deny` refuses the request (`ValidatingAdmissionPolicy 'p' with binding 'b'
//! denied request: …`, with the validation's reason and code), `Warn` adds a warning
//! (`Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': …`), `Audit`
//! records the failure under the `validation.policy.admission.k8s.io/validation_failure`
//! audit annotation. A policy's own audit annotations are keyed `<policy>/<key>`.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
};
use serde_json::{Value, json};

use super::compile::CompiledPolicy;
use super::evaluate::{Findings, Violation};
use crate::error::ApiError;
use crate::store::{AdmissionRequest, Admitted, Verdict};

/// The audit annotation key of validation failures.
pub const VALIDATION_FAILURE_KEY: &str = "validation.policy.admission.k8s.io/validation_failure";

/// A decoded binding.
pub struct Binding {
    /// The binding's name.
    pub name: String,
    /// The policy it binds.
    pub policy: String,
    /// Its spec.
    pub spec: ValidatingAdmissionPolicyBindingSpec,
    /// `validationActions`.
    pub actions: Vec<String>,
}

impl Binding {
    /// The binding's parts.
    pub fn new(binding: ValidatingAdmissionPolicyBinding) -> Self {
        let spec = binding.spec;
        Binding {
            name: binding.metadata.name.unwrap_or_default(),
            policy: spec.policy_name.clone(),
            actions: spec.validation_actions.clone(),
            spec,
        }
    }

    fn acts(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }
}

/// The findings of every matching binding, as they add up.
#[derive(Debug, Default)]
pub struct Outcome {
    denial: Option<(String, Violation)>,
    warnings: Vec<String>,
    audit_failures: Vec<Value>,
    annotations: Vec<(String, String)>,
}

impl Outcome {
    /// Adds what `policy` found through `binding`.
    pub fn add(&mut self, policy: &CompiledPolicy, binding: &Binding, findings: Findings) {
        for violation in findings.violations {
            if binding.acts("Warn") {
                self.warnings.push(format!(
                    "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {}",
                    policy.name, binding.name, violation.message
                ));
            }
            if binding.acts("Audit") {
                let mut failure = json!({
                    "message": violation.message,
                    "policy": policy.name,
                    "binding": binding.name,
                    "validationActions": binding.actions,
                });
                if let Some(index) = violation.index {
                    failure["expressionIndex"] = json!(index);
                }
                self.audit_failures.push(failure);
            }
            if binding.acts("Deny") && self.denial.is_none() {
                let message = format!(
                    "ValidatingAdmissionPolicy '{}' with binding '{}' denied request: {}",
                    policy.name, binding.name, violation.message
                );
                self.denial = Some((message, violation));
            }
        }
        for (key, value) in findings.annotations {
            self.annotations.push((format!("{}/{key}", policy.name), value));
        }
    }

    /// The verdict on `request`.
    pub fn into_verdict(self, request: &AdmissionRequest<'_>) -> Verdict {
        let mut audit_annotations = self.annotations;
        if !self.audit_failures.is_empty() {
            audit_annotations.push((VALIDATION_FAILURE_KEY.to_string(), Value::Array(self.audit_failures).to_string()));
        }
        let denial = self.denial.map(|(message, violation)| {
            let mut error = ApiError::forbidden(&request.kind.group_resource(), request.name, "");
            error.reason = violation.reason;
            // The API server names the denial as a cause with no field as well: kubectl
            // prints an Invalid status by its causes (`… is invalid: : ValidatingAdmission…`).
            if let Some(details) = error.details.as_mut() {
                details.causes.push(crate::error::FieldCause::new(
                    crate::error::CauseType::Unstated,
                    "",
                    message.clone(),
                ));
            }
            error.message = message;
            error
        });
        Verdict { notes: Admitted { warnings: self.warnings, audit_annotations }, denial }
    }
}
