//! Installing CustomResourceDefinitions into the store: created when missing, replaced
//! when they exist (so a restored sandbox serves the current schemas).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use crate::error::{ApiError, Reason};
use crate::store::{ResourceRef, Store, Subresource, WriteOptions, meta};

/// Creates or replaces each CRD.
pub fn install(store: &Store, crds: &[CustomResourceDefinition]) -> Result<(), ApiError> {
    let target = ResourceRef::new("apiextensions.k8s.io", "v1", "customresourcedefinitions", None);
    for crd in crds {
        let body = serde_json::to_value(crd)
            .map_err(|e| ApiError::internal(format!("cannot encode a CRD: {e}")).with_source(e))?;
        let name = meta::name(&body).to_string();
        match store.create(&target, body.clone(), WriteOptions::default()) {
            Ok(_) => {}
            Err(e) if e.reason == Reason::AlreadyExists => {
                let existing = store.get(&target, &name)?;
                let mut replacement = body;
                replacement["metadata"]["resourceVersion"] = Value::String(meta::resource_version(&existing).into());
                store.update(&target, &name, replacement, Subresource::Main, WriteOptions::default())?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
