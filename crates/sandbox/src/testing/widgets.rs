//! The custom kind tests install, `Widget` (`widgets.example.dev`), written once here. A
//! test that needs another shape derives it from [`widgets_crd`] in code.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// The Widget CRD as YAML, as `kubectl apply -f -` takes it: namespaced `example.dev/v1`,
/// short name `wd`, a status subresource, `spec.size` an integer, any status, and printer
/// columns for size, readiness and age.
pub const WIDGETS_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.dev}
spec:
  group: example.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// [`WIDGETS_CRD`], parsed.
pub fn widgets_crd() -> CustomResourceDefinition {
    serde_yaml::from_str(WIDGETS_CRD).expect("WIDGETS_CRD is a CustomResourceDefinition")
}
