//! The kinds a CustomResourceDefinition makes servable.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::kind::{NameRule, ResourceKind, Scope};
use crate::error::{CauseType, FieldCause};

/// The finalizer that keeps a deleted CustomResourceDefinition until its objects are gone.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn invalid(field: &str, message: impl Into<String>) -> FieldCause {
    FieldCause::new(CauseType::FieldValueInvalid, field, message)
}

fn required(field: &str) -> FieldCause {
    FieldCause::new(CauseType::FieldValueRequired, field, "")
}

/// Reads a CustomResourceDefinition and returns one kind per served version, or the
/// fields that make it invalid.
pub fn kinds_from_crd(crd: &CustomResourceDefinition) -> Result<Vec<ResourceKind>, Vec<FieldCause>> {
    let spec = &crd.spec;
    let names = &spec.names;
    let mut causes = Vec::new();
    if spec.group.is_empty() {
        causes.push(required("spec.group"));
    } else if !spec.group.contains('.') {
        causes.push(invalid("spec.group", format!("{:?}: should be a domain with at least one dot", spec.group)));
    }
    if names.plural.is_empty() {
        causes.push(required("spec.names.plural"));
    }
    if names.kind.is_empty() {
        causes.push(required("spec.names.kind"));
    }
    let expected_name = format!("{}.{}", names.plural, spec.group);
    let name = crd.metadata.name.clone().unwrap_or_default();
    if name != expected_name {
        causes.push(invalid("metadata.name", format!("{name:?}: must be spec.names.plural+\".\"+spec.group")));
    }
    let scope = match spec.scope.as_str() {
        "Namespaced" => Scope::Namespaced,
        "Cluster" => Scope::Cluster,
        other => {
            causes.push(FieldCause::new(
                CauseType::FieldValueNotSupported,
                "spec.scope",
                format!("{other:?}: supported values: \"Cluster\", \"Namespaced\""),
            ));
            Scope::Namespaced
        }
    };
    if spec.versions.iter().filter(|v| v.storage).count() != 1 {
        causes.push(invalid("spec.versions", "must have exactly one version marked as storage version"));
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let singular = names.singular.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| names.kind.to_lowercase());
    Ok(spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| ResourceKind {
            group: spec.group.clone(),
            version: v.name.clone(),
            resource: names.plural.clone(),
            singular: singular.clone(),
            kind: names.kind.clone(),
            scope,
            short_names: names.short_names.clone().unwrap_or_default(),
            categories: names.categories.clone().unwrap_or_default(),
            status_subresource: v.subresources.as_ref().is_some_and(|s| s.status.is_some()),
            tracks_generation: true,
            name_rule: NameRule::Subdomain,
            delete_returns_object: true,
            crd: Some(name.clone()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion;

    use super::*;
    use crate::testing::widgets_crd;

    #[test]
    fn served_versions_become_kinds() {
        let mut crd = widgets_crd();
        let retired = CustomResourceDefinitionVersion { name: "v1beta1".into(), served: false, ..Default::default() };
        crd.spec.versions.push(retired);
        let kinds = kinds_from_crd(&crd).expect("valid");
        assert_eq!(kinds.len(), 1);
        let k = &kinds[0];
        assert_eq!((k.group.as_str(), k.version.as_str(), k.resource.as_str()), ("example.dev", "v1", "widgets"));
        assert!(k.status_subresource && k.tracks_generation && k.namespaced());
        assert_eq!(k.short_names, vec!["wd".to_string()]);
    }

    #[test]
    fn name_must_be_plural_dot_group() {
        let mut bad = widgets_crd();
        bad.metadata.name = Some("gadgets.example.dev".into());
        let causes = kinds_from_crd(&bad).expect_err("invalid");
        assert_eq!(causes[0].field, "metadata.name");
    }
}
