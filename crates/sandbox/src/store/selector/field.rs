//! Field selectors: `metadata.name=x`, `metadata.namespace!=y`, joined by commas.

use serde_json::Value;

use crate::error::ApiError;
use crate::store::meta;

/// The fields every kind can be selected by.
const SUPPORTED: &[&str] = &["metadata.name", "metadata.namespace"];

/// The kind-specific field labels the apiserver supports that clients rely on (Events,
/// which `kubectl describe` selects by `involvedObject.*`; Pods; Secrets), each with the
/// path of the field it reads. The sandbox accepts them on every kind; on a kind without
/// the field the value is empty.
const KIND_FIELDS: &[(&str, &[&str])] = &[
    ("involvedObject.kind", &["involvedObject", "kind"]),
    ("involvedObject.namespace", &["involvedObject", "namespace"]),
    ("involvedObject.name", &["involvedObject", "name"]),
    ("involvedObject.uid", &["involvedObject", "uid"]),
    ("involvedObject.apiVersion", &["involvedObject", "apiVersion"]),
    ("involvedObject.resourceVersion", &["involvedObject", "resourceVersion"]),
    ("involvedObject.fieldPath", &["involvedObject", "fieldPath"]),
    ("regarding.kind", &["regarding", "kind"]),
    ("regarding.namespace", &["regarding", "namespace"]),
    ("regarding.name", &["regarding", "name"]),
    ("regarding.uid", &["regarding", "uid"]),
    ("regarding.apiVersion", &["regarding", "apiVersion"]),
    ("regarding.resourceVersion", &["regarding", "resourceVersion"]),
    ("regarding.fieldPath", &["regarding", "fieldPath"]),
    ("reportingController", &["reportingController"]),
    ("reason", &["reason"]),
    ("reportingComponent", &["reportingComponent"]),
    ("source", &["source", "component"]),
    ("type", &["type"]),
    ("spec.nodeName", &["spec", "nodeName"]),
    ("spec.serviceAccountName", &["spec", "serviceAccountName"]),
    ("status.phase", &["status", "phase"]),
];

fn kind_field(field: &str) -> Option<&'static [&'static str]> {
    KIND_FIELDS.iter().find(|(label, _)| *label == field).map(|(_, path)| *path)
}

/// One requirement on one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path (`metadata.name`).
    pub field: String,
    /// The value compared with.
    pub value: String,
    /// Whether the field must differ from the value rather than equal it.
    pub negated: bool,
}

impl FieldRequirement {
    fn matches(&self, object: &Value) -> bool {
        let actual = match self.field.as_str() {
            "metadata.name" => meta::name(object),
            "metadata.namespace" => meta::namespace(object),
            other => kind_field(other)
                .and_then(|path| path.iter().try_fold(object, |v, key| v.get(key)))
                .and_then(Value::as_str)
                .unwrap_or_default(),
        };
        (actual == self.value) != self.negated
    }
}

/// A conjunction of field requirements; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The requirements, all of which must hold.
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a field selector; unsupported fields are a bad request, as on a real server.
    pub fn parse(input: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for term in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, value, negated) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: {term:?}; can't understand {term:?}")));
            };
            let field = field.trim();
            if !SUPPORTED.contains(&field) && kind_field(field).is_none() {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            requirements.push(FieldRequirement { field: field.to_string(), value: value.trim().to_string(), negated });
        }
        Ok(FieldSelector { requirements })
    }

    /// The name this selector pins, if it requires `metadata.name=X`.
    pub fn required_name(&self) -> Option<&str> {
        self.requirements.iter().find(|r| r.field == "metadata.name" && !r.negated).map(|r| r.value.as_str())
    }

    /// Whether the object is selected.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| r.matches(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_by_name_and_namespace() {
        let obj = json!({"metadata": {"name": "a", "namespace": "ns1"}});
        assert!(FieldSelector::parse("metadata.name=a").expect("valid").matches(&obj));
        assert!(FieldSelector::parse("metadata.name==a,metadata.namespace!=ns2").expect("valid").matches(&obj));
        assert!(!FieldSelector::parse("metadata.namespace=ns2").expect("valid").matches(&obj));
        assert_eq!(FieldSelector::parse("metadata.name=a").expect("valid").required_name(), Some("a"));
    }

    #[test]
    fn selects_events_by_involved_object() {
        let event =
            json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "ConfigMap", "name": "a"}, "type": "Normal"});
        let selector = FieldSelector::parse("involvedObject.kind=ConfigMap,involvedObject.name=a,type=Normal");
        assert!(selector.expect("valid").matches(&event));
        assert!(!FieldSelector::parse("involvedObject.name=b").expect("valid").matches(&event));
    }

    #[test]
    fn unsupported_fields_are_rejected() {
        assert_eq!(FieldSelector::parse("spec.x=1").expect_err("unsupported").code(), 400);
    }
}
