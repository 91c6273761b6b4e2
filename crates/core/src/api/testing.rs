//! Test support: admits a manifest the way the API server admits a custom resource, without
//! a server, so schema bounds, patterns, enums and CEL rules are tested on real examples.
//!
//! It runs the sandbox API server's own schema code ([`crate::openapi`]):
//! defaults, the OpenAPI keywords and the CEL rules, with kube's client-side evaluator. Unlike
//! the server, which prunes unknown fields silently, it reports them, so a misspelt field in
//! an example fails its test.

use kube::CustomResourceExt;
use serde_json::Value;

use crate::openapi as schema;

/// The openAPIV3Schema of `K`'s CRD, as JSON.
pub(crate) fn schema_of<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    let validation = crd.spec.versions[0].schema.as_ref().expect("derived CRDs have a schema");
    serde_json::to_value(validation.open_api_v3_schema.as_ref().expect("derived CRDs have an openAPIV3Schema"))
        .expect("schemas serialize")
}

/// Admits a new object given as YAML; the error lists every violation.
pub(crate) fn admit<K: CustomResourceExt>(yaml: &str) -> Result<(), Vec<String>> {
    let object: Value = serde_yaml::from_str(yaml).expect("test manifests are YAML");
    admit_value::<K>(&object, None)
}

/// Admits an update from `old` to `new`, both given as YAML, evaluating transition rules too.
pub(crate) fn admit_update<K: CustomResourceExt>(old: &str, new: &str) -> Result<(), Vec<String>> {
    let old: Value = serde_yaml::from_str(old).expect("test manifests are YAML");
    let new: Value = serde_yaml::from_str(new).expect("test manifests are YAML");
    admit_value::<K>(&new, Some(&old))
}

/// Admits an object given as JSON.
pub(crate) fn admit_value<K: CustomResourceExt>(object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    admit_against(&schema_of::<K>(), object, old)
}

/// Admits `object` (an update from `old`) against a schema given as JSON.
fn admit_against(schema: &Value, object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    let mut object = object.clone();
    let mut errors: Vec<String> =
        schema::normalize(schema, &mut object).iter().map(|path| format!("{path}: unknown field")).collect();
    let old = old.map(|old| {
        let mut old = old.clone();
        schema::normalize(schema, &mut old);
        old
    });
    errors.extend(
        schema::validate(schema, &object, old.as_ref(), None)
            .iter()
            .map(|cause| format!("{}: {}", cause.field, cause.full_message())),
    );
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Asserts that `result` failed, with a violation that contains `expected`.
#[track_caller]
pub(crate) fn assert_rejected(result: Result<(), Vec<String>>, expected: &str) {
    match result {
        Ok(()) => panic!("accepted, expected a violation containing {expected:?}"),
        Err(errors) => assert!(
            errors.iter().any(|e| e.contains(expected)),
            "expected a violation containing {expected:?}, got {errors:#?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_violations_of_every_supported_keyword() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^[a-z]+$"},
                "count": {"type": "integer", "minimum": 1, "maximum": 5},
                "mode": {"type": "string", "enum": ["A", "B"]},
                "when": {"type": "string", "format": "date-time"},
                "list": {"type": "array", "maxItems": 1, "items": {"type": "boolean"}},
                "maybe": {"type": "string", "nullable": true},
            },
        });
        let good = json!({"name": "ok", "count": 3, "mode": "A", "maybe": null});
        assert_eq!(admit_against(&schema, &good, None), Ok(()));
        let bad = json!({
            "count": 9, "mode": "C", "when": "yesterday", "list": [true, 1], "extra": 1,
        });
        let errors = admit_against(&schema, &bad, None).expect_err("invalid");
        assert_eq!(errors.len(), 7, "{errors:#?}");
        let errors = admit_against(&schema, &json!({"name": "ABCD"}), None).expect_err("invalid");
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }
}
