//! Custom resources are held to their CRD's structural schema on every write, as the
//! apiserver holds them: unknown fields are pruned, defaults filled in, and every violation
//! of the OpenAPI keywords or the CEL rules is a cause of one 422 `Invalid`.

use driftwarden::api::{DriftException, DriftPolicy};
use driftwarden_sandbox::testing::{TempNamespace, TestCluster, install_crds};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{GroupVersionKind, Status};
use serde_json::{Value, json};

use crate::support::{TestResult, status_of};

/// A sandbox with driftwarden's CRDs installed and established, and a namespace to work in.
async fn with_driftwarden_crds() -> Result<(TestCluster, TempNamespace), Box<dyn std::error::Error + Send + Sync>> {
    let sandbox = TestCluster::start().await?;
    install_crds(&sandbox.client(), &driftwarden::api::crds()).await?;
    let ns = sandbox.temp_namespace().await?;
    Ok((sandbox, ns))
}

fn dynamic(sandbox: &TestCluster, ns: &TempNamespace, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(sandbox.client(), ns.name(), resource)
}

fn object(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("test objects are valid DynamicObjects")
}

fn policy(name: &str, spec: Value) -> DynamicObject {
    object(
        json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy", "metadata": {"name": name}, "spec": spec}),
    )
}

fn exception(name: &str) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": name},
        "spec": {
            "match": {"apiVersion": "apps/v1", "kind": "Deployment", "names": ["checkout"]},
            "paths": ["/spec/template/spec/automountServiceAccountToken"],
            "justification": "checkout calls the API with its token until the migration",
            "approvedBy": "carol@example.com",
            "ticket": "SEC-481",
            "approvedAt": "2026-04-01T00:00:00Z",
            "expiresAt": "2026-05-01T00:00:00Z",
            "maxDuration": "720h",
        },
    })
}

/// The cause of `status` for `field`; panics with every cause when there is none.
fn cause<'a>(status: &'a Status, field: &str) -> &'a kube::core::response::StatusCause {
    let causes = &status.details.as_ref().expect("an Invalid status has details").causes;
    causes.iter().find(|c| c.field == field).unwrap_or_else(|| panic!("no cause for {field}: {causes:#?}"))
}

fn assert_invalid(status: &Status) {
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"), "{status:?}");
}

#[tokio::test]
async fn an_unsupported_enum_value_is_rejected_by_every_write_and_by_dry_runs() -> TestResult {
    let (sandbox, ns) = with_driftwarden_crds().await?;
    let policies = dynamic(&sandbox, &ns, &ApiResource::erase::<DriftPolicy>(&()));
    let bad = policy("sometimes", json!({"remediation": {"mode": "Sometimes"}}));

    let status = status_of(policies.create(&PostParams::default(), &bad).await);
    assert_invalid(&status);
    let mode = cause(&status, "spec.remediation.mode");
    assert_eq!(mode.reason, "FieldValueNotSupported");
    assert_eq!(mode.message, r#"Unsupported value: "Sometimes": supported values: "Enforce", "Audit""#);
    assert_eq!(
        status.message,
        r#"DriftPolicy.driftwarden.dev "sometimes" is invalid: spec.remediation.mode: Unsupported value: "Sometimes": supported values: "Enforce", "Audit""#
    );
    let details = status.details.as_ref().ok_or("details")?;
    assert_eq!((details.kind.as_str(), details.group.as_str()), ("DriftPolicy", "driftwarden.dev"));

    let dry_run = PostParams { dry_run: true, ..PostParams::default() };
    assert_eq!(status_of(policies.create(&dry_run, &bad).await), status, "a dry run fails the same way");

    policies.create(&PostParams::default(), &policy("fine", json!({}))).await?;
    let to_bad_mode = json!({"spec": {"remediation": {"mode": "Sometimes"}}});
    let patches = [
        Patch::Merge(to_bad_mode.clone()),
        Patch::Json(serde_json::from_value(json!([
            {"op": "add", "path": "/spec/remediation/mode", "value": "Sometimes"}
        ]))?),
        Patch::Apply(
            json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy", "spec": to_bad_mode["spec"]}),
        ),
    ];
    for patch in &patches {
        for dry_run in [false, true] {
            let params = PatchParams { dry_run, ..PatchParams::apply("schema-test").force() };
            let params = if matches!(patch, Patch::Apply(_)) { params } else { PatchParams { force: false, ..params } };
            let status = status_of(policies.patch("fine", &params, patch).await);
            assert_invalid(&status);
            assert_eq!(cause(&status, "spec.remediation.mode").reason, "FieldValueNotSupported");
        }
    }
    let mut replaced = policies.get("fine").await?;
    replaced.data["spec"]["remediation"]["mode"] = json!("Sometimes");
    assert_invalid(&status_of(policies.replace("fine", &PostParams::default(), &replaced).await));
    let stored = policies.get("fine").await?;
    assert_eq!(stored.data["spec"]["remediation"]["mode"], json!("Enforce"), "nothing was stored");
    Ok(())
}

#[tokio::test]
async fn a_missing_required_field_is_rejected() -> TestResult {
    let (sandbox, ns) = with_driftwarden_crds().await?;
    let exceptions = dynamic(&sandbox, &ns, &ApiResource::erase::<DriftException>(&()));
    let mut unjustified = exception("unjustified");
    unjustified["spec"].as_object_mut().ok_or("spec")?.remove("justification");
    let status = status_of(exceptions.create(&PostParams::default(), &object(unjustified)).await);
    assert_invalid(&status);
    let justification = cause(&status, "spec.justification");
    assert_eq!(
        (justification.reason.as_str(), justification.message.as_str()),
        ("FieldValueRequired", "Required value")
    );
    Ok(())
}

#[tokio::test]
async fn a_failing_cel_rule_is_rejected_with_its_message() -> TestResult {
    let (sandbox, ns) = with_driftwarden_crds().await?;
    let exceptions = dynamic(&sandbox, &ns, &ApiResource::erase::<DriftException>(&()));
    let mut backwards = exception("backwards");
    backwards["spec"]["expiresAt"] = json!("2026-03-01T00:00:00Z");
    let status = status_of(exceptions.create(&PostParams::default(), &object(backwards.clone())).await);
    assert_invalid(&status);
    let causes = &status.details.as_ref().ok_or("details")?.causes;
    assert!(
        causes
            .iter()
            .any(|c| c.reason == "FieldValueInvalid" && c.message.contains("expiresAt must be after approvedAt")),
        "{causes:#?}"
    );
    assert!(status.message.contains("expiresAt must be after approvedAt"), "{}", status.message);

    exceptions.create(&PostParams::default(), &object(exception("forwards"))).await?;
    let patch = Patch::Merge(json!({"spec": {"expiresAt": "2026-03-01T00:00:00Z"}}));
    let status = status_of(exceptions.patch("forwards", &PatchParams::default(), &patch).await);
    assert!(status.message.contains("expiresAt must be after approvedAt"), "{}", status.message);
    Ok(())
}

#[tokio::test]
async fn unknown_fields_are_pruned_and_defaults_filled_in() -> TestResult {
    let (sandbox, ns) = with_driftwarden_crds().await?;
    let policies = dynamic(&sandbox, &ns, &ApiResource::erase::<DriftPolicy>(&()));
    let spec = json!({"remediation": {"mode": "Audit", "autoRemediates": ["Spec"]}, "surprise": {"a": 1}});
    let created = policies.create(&PostParams::default(), &policy("audit", spec)).await?;
    let expected_remediation = json!({"mode": "Audit", "autoRemediate": ["Metadata", "Spec"]});
    let remediation = &created.data["spec"]["remediation"];
    assert_eq!(remediation["autoRemediate"], expected_remediation["autoRemediate"], "the default is filled in");
    assert!(remediation.get("autoRemediates").is_none() && created.data["spec"].get("surprise").is_none());

    let read = policies.get("audit").await?;
    assert_eq!(read.data["spec"], created.data["spec"], "what is stored is what the create answered");
    assert!(read.data["spec"].get("surprise").is_none(), "{:#}", read.data);

    let defaulted = policies.create(&PostParams::default(), &policy("defaults", json!({}))).await?;
    assert_eq!(
        defaulted.data["spec"]["remediation"],
        json!({"mode": "Enforce", "autoRemediate": ["Metadata", "Spec"]})
    );

    let patched = policies
        .patch(
            "audit",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"surprise": 2, "remediation": {"mode": "Enforce"}}})),
        )
        .await?;
    assert!(patched.data["spec"].get("surprise").is_none());
    assert_eq!(patched.data["spec"]["remediation"]["mode"], json!("Enforce"));

    let applied = json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
                         "spec": {"surprise": 3, "remediation": {"mode": "Audit"}}});
    let applied = policies.patch("applied", &PatchParams::apply("schema-test"), &Patch::Apply(applied)).await?;
    assert!(applied.data["spec"].get("surprise").is_none());
    let fields = serde_json::to_string(&applied.metadata.managed_fields)?;
    assert!(fields.contains("f:mode") && !fields.contains("f:surprise"), "the applier owns no pruned field: {fields}");
    Ok(())
}

#[tokio::test]
async fn status_writes_are_validated_against_the_status_schema() -> TestResult {
    let (sandbox, ns) = with_driftwarden_crds().await?;
    let policies = dynamic(&sandbox, &ns, &ApiResource::erase::<DriftPolicy>(&()));
    policies.create(&PostParams::default(), &policy("watched", json!({}))).await?;
    let incomplete = Patch::Merge(json!({"status": {"conditions": [{"type": "Ready"}]}}));
    let status = status_of(policies.patch_status("watched", &PatchParams::default(), &incomplete).await);
    assert_invalid(&status);
    assert_eq!(cause(&status, "status.conditions[0].status").reason, "FieldValueRequired");

    let condition = json!({
        "type": "Ready", "status": "True", "reason": "Reconciled", "message": "",
        "lastTransitionTime": "2026-04-01T00:00:05Z", "observedGeneration": 1,
    });
    let ready = Patch::Merge(json!({"status": {"conditions": [condition], "unknown": true}}));
    let written = policies.patch_status("watched", &PatchParams::default(), &ready).await?;
    assert_eq!(written.data["status"]["conditions"][0]["reason"], json!("Reconciled"));
    assert!(written.data["status"].get("unknown").is_none(), "unknown status fields are pruned too");
    Ok(())
}

const GADGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sprockets.example.dev}
spec:
  group: example.dev
  scope: Namespaced
  names: {plural: sprockets, singular: sprocket, kind: Sprocket}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size:
                type: integer
                minimum: 1
                maximum: 5
                x-kubernetes-validations:
                - {rule: "self >= oldSelf", message: "size may not shrink"}
              ratio: {type: number, exclusiveMinimum: true, minimum: 0}
              code: {type: string, pattern: "^[A-Z]{3}$"}
              port: {x-kubernetes-int-or-string: true}
              tags: {type: array, maxItems: 3, x-kubernetes-list-type: set, items: {type: string}}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name, protocol]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    protocol: {type: string, default: TCP}
                    number: {type: integer}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

#[tokio::test]
async fn a_hand_written_schema_checks_bounds_patterns_and_list_keys() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    install_crds(&sandbox.client(), &[serde_yaml::from_str(GADGETS)?]).await?;
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.dev", "v1", "Sprocket"), "sprockets");
    let sprockets = dynamic(&sandbox, &ns, &resource);
    let sprocket = |spec: Value| {
        object(json!({"apiVersion": "example.dev/v1", "kind": "Sprocket", "metadata": {"name": "g"}, "spec": spec}))
    };

    let bad = sprocket(json!({
        "size": 9, "ratio": 0, "code": "abc", "port": true, "tags": ["a", "a"],
        "ports": [{"name": "http", "number": 80}, {"name": "http", "protocol": "TCP", "number": 8080}, {"number": 1}],
    }));
    let status = status_of(sprockets.create(&PostParams::default(), &bad).await);
    assert_invalid(&status);
    let expectations = [
        ("spec.size", "FieldValueInvalid", "Invalid value: 9: spec.size in body should be less than or equal to 5"),
        ("spec.ratio", "FieldValueInvalid", "Invalid value: 0: spec.ratio in body should be greater than 0"),
        ("spec.code", "FieldValueInvalid", r#"Invalid value: "abc": spec.code in body should match '^[A-Z]{3}$'"#),
        (
            "spec.port",
            "FieldValueTypeInvalid",
            r#"Invalid value: "boolean": spec.port in body must be of type integer-or-string: "boolean""#,
        ),
        ("spec.tags[1]", "FieldValueDuplicate", r#"Duplicate value: "a""#),
        ("spec.ports[1]", "FieldValueDuplicate", r#"Duplicate value: {"name":"http","protocol":"TCP"}"#),
        ("spec.ports[2].name", "FieldValueRequired", "Required value"),
    ];
    for (field, reason, message) in expectations {
        let found = cause(&status, field);
        assert_eq!((found.reason.as_str(), found.message.as_str()), (reason, message), "{field}");
    }
    assert_eq!(status.details.as_ref().ok_or("details")?.causes.len(), expectations.len(), "{status:#?}");
    assert!(status.message.starts_with(r#"Sprocket.example.dev "g" is invalid: ["#), "{}", status.message);
    assert!(status.message.contains("spec.size: Invalid value: 9: spec.size in body should be"), "{}", status.message);

    let good = sprocket(json!({"size": 2, "ratio": 0.5, "code": "ABC", "port": "http", "tags": ["a", "b"],
                             "ports": [{"name": "http"}, {"name": "http", "protocol": "UDP"}], "extra": {"any": [1]}}));
    let created = sprockets.create(&PostParams::default(), &good).await?;
    assert_eq!(created.data["spec"]["ports"][0]["protocol"], json!("TCP"), "list items are defaulted");
    assert_eq!(created.data["spec"]["extra"], json!({"any": [1]}), "preserved fields stay");

    let fractional = Patch::Merge(json!({"spec": {"size": 2.5}}));
    let status = status_of(sprockets.patch("g", &PatchParams::default(), &fractional).await);
    assert_eq!(cause(&status, "spec.size").reason, "FieldValueTypeInvalid");

    let shrink = Patch::Merge(json!({"spec": {"size": 1}}));
    let status = status_of(sprockets.patch("g", &PatchParams::default(), &shrink).await);
    assert_eq!(cause(&status, "spec.size").message, r#"Invalid value: "integer": size may not shrink"#);
    let grown = sprockets.patch("g", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 3}}))).await?;
    assert_eq!(grown.data["spec"]["size"], json!(3));
    Ok(())
}
