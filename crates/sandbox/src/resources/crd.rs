//! The kinds a CustomResourceDefinition makes servable, and the checks that refuse a CRD
//! a real cluster refuses (names, scope, storage version, the cost of its CEL rules).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::kind::{NameRule, ResourceKind, Scope};
use crate::error::{CauseType, FieldCause};
use driftwarden_core::openapi::cost::over_budget;

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

/// Checks a CustomResourceDefinition a client writes as the apiserver does: everything
/// [`kinds_from_crd`] checks, and the estimated cost of its CEL rules. Answers its kinds.
pub fn accept_crd(crd: &CustomResourceDefinition) -> Result<Vec<ResourceKind>, Vec<FieldCause>> {
    let costs = cost_causes(crd);
    match kinds_from_crd(crd) {
        Ok(kinds) if costs.is_empty() => Ok(kinds),
        Ok(_) => Err(costs),
        Err(mut causes) => {
            causes.extend(costs);
            Err(causes)
        }
    }
}

/// The CEL rules over the apiserver's cost budgets, named where the apiserver names them:
/// under `spec.validation.openAPIV3Schema` when every version has the same schema (the
/// apiserver validates it once), else under each version's.
fn cost_causes(crd: &CustomResourceDefinition) -> Vec<FieldCause> {
    let schemas: Vec<serde_json::Value> = crd
        .spec
        .versions
        .iter()
        .map(|v| {
            let schema = v.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref());
            serde_json::to_value(schema).unwrap_or_default()
        })
        .collect();
    let shared = schemas.windows(2).all(|pair| pair[0] == pair[1]);
    let roots: Vec<(String, &serde_json::Value)> = if shared {
        schemas.first().map(|s| ("spec.validation.openAPIV3Schema".to_string(), s)).into_iter().collect()
    } else {
        schemas.iter().enumerate().map(|(i, s)| (format!("spec.versions[{i}].schema.openAPIV3Schema"), s)).collect()
    };
    let mut causes = Vec::new();
    for (root, schema) in roots {
        for problem in over_budget(schema) {
            let field = if problem.path.is_empty() { root.clone() } else { format!("{root}.{}", problem.path) };
            causes.push(FieldCause::new(CauseType::FieldValueForbidden, &field, problem.message));
        }
    }
    causes
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

    #[test]
    fn rules_over_the_cost_budget_are_forbidden() {
        let mut crd = widgets_crd();
        let tags = serde_json::json!({"type": "array", "items": {"type": "string"},
            "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x == y))"}]});
        let schema = crd.spec.versions[0].schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()).expect("schema");
        let mut value = serde_json::to_value(&*schema).expect("serializes");
        value["properties"]["spec"]["properties"]["tags"] = tags;
        *schema = serde_json::from_value(value).expect("a schema");
        assert!(kinds_from_crd(&crd).is_ok(), "a stored CRD always serves its kinds");
        let causes = accept_crd(&crd).expect_err("over budget");
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        let rule = "spec.validation.openAPIV3Schema.properties[spec].properties[tags].x-kubernetes-validations[0].rule";
        assert_eq!(fields, [rule, rule, "spec.validation.openAPIV3Schema"]);
        assert!(causes.iter().all(|c| c.kind == CauseType::FieldValueForbidden), "{causes:?}");
    }
}
