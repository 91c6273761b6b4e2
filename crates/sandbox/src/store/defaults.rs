//! What particular kinds add on every write: the defaults and the status the real
//! control plane would fill in (Namespace phase, Service defaults, a CRD's accepted
//! names and conditions) and the validation that goes with them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value, json};

use super::meta;
use crate::error::{ApiError, CauseType, FieldCause};
use crate::resources::{ResourceKind, accept_crd};

/// The label every Namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The finalizer (in `spec.finalizers`) that keeps a Namespace until its content is gone.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

/// Whether this is a write to the object itself (true) or to its `/status` (false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A create.
    Create,
    /// An update or patch of the object.
    Update,
}

fn object_mut<'a>(value: &'a mut Value, field: &str) -> Option<&'a mut Map<String, Value>> {
    let map = value.as_object_mut()?;
    let entry = map.entry(field.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut()
}

/// Applies the defaults and derived fields of `kind` to `object`.
pub fn apply(kind: &ResourceKind, write: Write, object: &mut Value) -> Result<(), ApiError> {
    match (kind.group.as_str(), kind.resource.as_str()) {
        ("", "namespaces") => namespace(write, object),
        ("", "services") => service(object),
        ("", "secrets") => secret(object),
        ("", "pods") if write == Write::Create => {
            if let Some(status) = object_mut(object, "status") {
                status.entry("phase").or_insert_with(|| json!("Pending"));
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => return crd(kind, object),
        _ => {}
    }
    Ok(())
}

fn namespace(write: Write, object: &mut Value) {
    let name = meta::name(object).to_string();
    if let Some(labels) = object.get_mut("metadata").and_then(|m| object_mut(m, "labels")) {
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), json!(name));
    }
    if write == Write::Create {
        if let Some(spec) = object_mut(object, "spec") {
            spec.entry("finalizers").or_insert_with(|| json!([NAMESPACE_FINALIZER]));
        }
        if let Some(status) = object_mut(object, "status") {
            status.insert("phase".to_string(), json!("Active"));
        }
    }
}

/// `stringData` is write-only: the API server folds it into `data` (where it wins) and
/// never stores it. A Secret without a type is `Opaque`.
fn secret(object: &mut Value) {
    if let Some(folded) = driftwarden_core::engine::secret::fold_live(object) {
        *object = folded;
    }
    if let Some(map) = object.as_object_mut() {
        map.entry("type").or_insert_with(|| json!("Opaque"));
    }
}

fn service(object: &mut Value) {
    let Some(spec) = object_mut(object, "spec") else { return };
    spec.entry("type").or_insert_with(|| json!("ClusterIP"));
    spec.entry("sessionAffinity").or_insert_with(|| json!("None"));
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            port.entry("protocol").or_insert_with(|| json!("TCP"));
            if let Some(number) = port.get("port").cloned() {
                port.entry("targetPort").or_insert(number);
            }
        }
    }
}

fn crd(kind: &ResourceKind, object: &mut Value) -> Result<(), ApiError> {
    let name = meta::name(object).to_string();
    let typed: CustomResourceDefinition = serde_json::from_value(object.clone()).map_err(|e| {
        ApiError::invalid(
            &kind.group,
            &kind.kind,
            &name,
            vec![FieldCause::new(CauseType::FieldValueInvalid, "spec", e.to_string())],
        )
    })?;
    accept_crd(&typed).map_err(|causes| ApiError::invalid(&kind.group, &kind.kind, &name, causes))?;
    let now = serde_json::to_value(meta::now()).unwrap_or(Value::Null);
    let names = serde_json::to_value(&typed.spec.names).unwrap_or_else(|_| json!({}));
    let storage: Vec<&str> = typed.spec.versions.iter().filter(|v| v.storage).map(|v| v.name.as_str()).collect();
    let Some(status) = object_mut(object, "status") else { return Ok(()) };
    status.insert("acceptedNames".to_string(), names);
    let stored = status.entry("storedVersions").or_insert_with(|| json!([]));
    if let Some(list) = stored.as_array_mut() {
        for version in storage {
            if !list.iter().any(|v| v == version) {
                list.push(json!(version));
            }
        }
    }
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if let Some(list) = conditions.as_array_mut() {
        for (type_, reason, message) in [
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ] {
            if !list.iter().any(|c| c.get("type").and_then(Value::as_str) == Some(type_)) {
                list.push(json!({
                    "type": type_, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now,
                }));
            }
        }
    }
    Ok(())
}

/// Marks a Namespace as terminating.
pub fn namespace_terminating(object: &mut Value) {
    if let Some(status) = object_mut(object, "status") {
        status.insert("phase".to_string(), json!("Terminating"));
    }
}

/// Whether a Namespace still has finalizers in `spec.finalizers`.
pub fn namespace_has_spec_finalizers(object: &Value) -> bool {
    object.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
}

/// Empties a Namespace's `spec.finalizers`.
pub fn clear_namespace_spec_finalizers(object: &mut Value) {
    if let Some(spec) = object_mut(object, "spec") {
        spec.insert("finalizers".to_string(), json!([]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin_kinds;

    fn kind(resource: &str) -> ResourceKind {
        builtin_kinds().into_iter().find(|k| k.resource == resource).expect("builtin")
    }

    #[test]
    fn secret_string_data_is_folded_into_data_and_never_stored() {
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "b2xk"}, "stringData": {"a": "new"}});
        apply(&kind("secrets"), Write::Create, &mut secret).unwrap();
        assert_eq!(secret["data"], json!({"a": "bmV3"}));
        assert!(secret.get("stringData").is_none());
        assert_eq!(secret["type"], "Opaque");
    }

    #[test]
    fn service_ports_default_to_tcp() {
        let mut svc = json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
        apply(&kind("services"), Write::Create, &mut svc).expect("valid");
        assert_eq!(svc.pointer("/spec/ports/0/protocol"), Some(&json!("TCP")));
        assert_eq!(svc.pointer("/spec/ports/0/targetPort"), Some(&json!(80)));
        assert_eq!(svc.pointer("/spec/type"), Some(&json!("ClusterIP")));
    }

    #[test]
    fn namespaces_are_labelled_and_active() {
        let mut ns = json!({"metadata": {"name": "team-a"}});
        apply(&kind("namespaces"), Write::Create, &mut ns).expect("valid");
        assert_eq!(ns.pointer("/metadata/labels/kubernetes.io~1metadata.name"), Some(&json!("team-a")));
        assert_eq!(ns.pointer("/status/phase"), Some(&json!("Active")));
        assert!(namespace_has_spec_finalizers(&ns));
    }
}
