//! patch: JSON merge patch (RFC 7386), JSON patch (RFC 6902, `test` included) and strategic
//! merge patch, applied to the stored object and then written like an update, so
//! optimistic concurrency, `/status` and generation rules hold for patches too; and
//! server-side apply, which has its own path (see [`super::apply`]).

use serde_json::Value;

use super::apply::{self, Ownership, Schema};
use super::key::ObjectKey;
use super::meta;
use super::options::{ResourceRef, Subresource, WriteOptions};
use super::strategic;
use super::update::{WriteRequest, check_subresource, update_owned};
use super::{Store, resolve_kind, view};
use crate::error::{ApiError, CauseType, FieldCause, Reason};

/// A decoded patch document.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// `application/merge-patch+json`.
    Merge(Value),
    /// `application/json-patch+json`.
    Json(json_patch::Patch),
    /// `application/strategic-merge-patch+json`.
    Strategic(Value),
    /// `application/apply-patch+yaml`: an applied configuration (YAML or JSON).
    Apply(Value),
}

impl PatchBody {
    /// Decodes a JSON merge patch.
    pub fn merge_from_slice(bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding merge patch: {e}")).with_source(e))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("a merge patch must be a JSON object"));
        }
        Ok(PatchBody::Merge(value))
    }

    /// Decodes a JSON patch.
    pub fn json_from_slice(bytes: &[u8]) -> Result<Self, ApiError> {
        serde_json::from_slice(bytes)
            .map(PatchBody::Json)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")).with_source(e))
    }

    /// Decodes a strategic merge patch.
    pub fn strategic_from_slice(bytes: &[u8]) -> Result<Self, ApiError> {
        match PatchBody::merge_from_slice(bytes)? {
            PatchBody::Merge(value) => Ok(PatchBody::Strategic(value)),
            other => Ok(other),
        }
    }

    /// Decodes an applied configuration, YAML or JSON.
    pub fn apply_from_slice(bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_yaml::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")).with_source(e))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("an applied configuration must be an object"));
        }
        Ok(PatchBody::Apply(value))
    }

    /// Applies the patch to `document`, whose lists merge as `schema` says; a failed
    /// operation (including a failed `test`) is a 422. An applied configuration is merged
    /// without field ownership: [`Store::apply`] is the real thing.
    pub fn apply(&self, document: &mut Value, schema: &Schema) -> Result<(), ApiError> {
        match self {
            PatchBody::Merge(patch) => {
                json_patch::merge(document, patch);
                Ok(())
            }
            PatchBody::Json(patch) => json_patch::patch(document, &patch.0).map_err(|e| {
                ApiError::new(Reason::Invalid, format!("the JSON patch could not be applied: {e}")).with_source(e)
            }),
            PatchBody::Strategic(patch) => strategic::patch(document, patch, schema),
            PatchBody::Apply(config) => {
                *document = apply::merge(document, config, schema);
                Ok(())
            }
        }
    }
}

impl Store {
    /// Patches an object (or its status).
    pub fn patch(
        &self,
        target: &ResourceRef,
        name: &str,
        patch: &PatchBody,
        subresource: Subresource,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        if let PatchBody::Apply(config) = patch {
            return self.apply(target, name, config.clone(), subresource, options);
        }
        if options.force {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                vec![FieldCause::new(
                    CauseType::FieldValueForbidden,
                    "force",
                    "may not be specified for non-apply patch",
                )],
            ));
        }
        let now = meta::now();
        self.admitted_write(options.requester.as_ref(), |state| {
            let kind = resolve_kind(state, target)?;
            if matches!(patch, PatchBody::Strategic(_)) && kind.crd.is_some() {
                return Err(strategic::unsupported_for_custom_resources());
            }
            check_subresource(&kind, subresource)?;
            let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
            let key = ObjectKey::new(kind.storage_resource(), namespace, name);
            let existing = state.get(&key).ok_or_else(|| ApiError::not_found(&kind.group_resource(), name))?;
            let mut document = view(existing, &kind);
            patch.apply(&mut document, &Schema::for_kind(state, &kind))?;
            if !document.is_object() {
                return Err(ApiError::new(Reason::Invalid, "the patched object is not a JSON object"));
            }
            let request = WriteRequest { options: &options, ownership: Ownership::Track(now.clone()) };
            update_owned(state, &kind, namespace, name, document, subresource, request)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_removes_nulls_and_merges_maps() {
        let patch = PatchBody::merge_from_slice(br#"{"data": {"a": null, "b": "2"}}"#).expect("valid");
        let mut doc = json!({"data": {"a": "1", "c": "3"}});
        patch.apply(&mut doc, &Schema::builtin("", "ConfigMap")).expect("applies");
        assert_eq!(doc, json!({"data": {"b": "2", "c": "3"}}));
    }

    #[test]
    fn failed_json_patch_test_is_invalid_and_leaves_the_document() {
        let patch = PatchBody::json_from_slice(
            br#"[{"op": "replace", "path": "/data/a", "value": "x"}, {"op": "test", "path": "/data/a", "value": "y"}]"#,
        )
        .expect("valid");
        let mut doc = json!({"data": {"a": "1"}});
        let err = patch.apply(&mut doc, &Schema::builtin("", "ConfigMap")).expect_err("test fails");
        assert_eq!(err.code(), 422);
        assert_eq!(doc, json!({"data": {"a": "1"}}));
    }

    #[test]
    fn undecodable_patches_are_bad_requests() {
        assert_eq!(PatchBody::json_from_slice(b"{}").expect_err("not a list").code(), 400);
        assert_eq!(PatchBody::merge_from_slice(b"[1]").expect_err("not an object").code(), 400);
    }
}
