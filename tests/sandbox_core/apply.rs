//! Server-side apply: creation, field ownership in `metadata.managedFields` (FieldsV1,
//! list items keyed by their merge keys), shared ownership, conflicts and `force`,
//! removal of fields a manager stops applying, `/status`, dry runs and no-op applies;
//! `before-first-apply`, resetting managed fields with `[{}]`, and the field sets of
//! free-form (`x-kubernetes-preserve-unknown-fields`) custom resources.

use driftwarden_sandbox::testing::{TestCluster, install_crds};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::{TestResult, rv, status_of};

/// A Deployment configuration with the given replicas and containers.
fn deployment(replicas: Option<i32>, containers: Value) -> Value {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}
    });
    if let Some(replicas) = replicas {
        spec["replicas"] = json!(replicas);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
}

/// A Deployment configuration that sets only some containers (no selector or replicas).
fn containers_only(containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"template": {"spec": {"containers": containers}}}})
}

fn configmap(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data})
}

/// The entry of `manager` with `operation`.
fn entry<'a, K: ResourceExt>(object: &'a K, manager: &str, operation: &str) -> Option<&'a ManagedFieldsEntry> {
    object
        .managed_fields()
        .iter()
        .find(|e| e.manager.as_deref() == Some(manager) && e.operation.as_deref() == Some(operation))
}

/// The FieldsV1 of `manager`'s Apply entry.
fn applied<K: ResourceExt>(object: &K, manager: &str) -> Value {
    entry(object, manager, "Apply").and_then(|e| e.fields_v1.clone()).map(|f| f.0).unwrap_or(Value::Null)
}

fn apply(manager: &str) -> PatchParams {
    PatchParams::apply(manager)
}

#[tokio::test]
async fn apply_creates_and_records_fields_v1_with_keyed_containers() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let config = deployment(Some(2), json!([{"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]}]));
    let created = api.patch("web", &apply("ops"), &Patch::Apply(&config)).await?;
    assert_eq!(created.spec.replicas, Some(2));
    assert_eq!(created.metadata.generation, Some(1));

    let entry = entry(&created, "ops", "Apply").expect("an Apply entry for ops");
    assert_eq!(entry.api_version.as_deref(), Some("apps/v1"));
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    assert!(entry.time.is_some());
    assert_eq!(entry.subresource, None);
    assert_eq!(
        applied(&created, "ops"),
        json!({"f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                }}}
            }
        }})
    );
    assert_eq!(api.get("web").await?.managed_fields(), created.managed_fields());
    Ok(())
}

#[tokio::test]
async fn apply_without_a_field_manager_is_invalid() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let status = status_of(api.patch("cfg", &PatchParams::default(), &Patch::Apply(configmap(json!({})))).await);
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(status.message.contains("fieldManager"), "{}", status.message);
    Ok(())
}

#[tokio::test]
async fn same_values_are_shared_and_different_values_conflict_until_forced() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let containers = json!([{"name": "app", "image": "nginx:1"}]);
    api.patch("web", &apply("first"), &Patch::Apply(deployment(Some(2), containers.clone()))).await?;

    let shared = api.patch("web", &apply("second"), &Patch::Apply(deployment(Some(2), containers.clone()))).await?;
    assert_eq!(applied(&shared, "first")["f:spec"]["f:replicas"], json!({}));
    assert_eq!(applied(&shared, "second")["f:spec"]["f:replicas"], json!({}), "the same value makes co-owners");

    let status =
        status_of(api.patch("web", &apply("second"), &Patch::Apply(deployment(Some(5), containers.clone()))).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    let causes = status.details.expect("details").causes;
    assert_eq!(causes.len(), 1, "{causes:?}");
    assert_eq!(causes[0].reason, "FieldManagerConflict");
    assert_eq!(causes[0].field, ".spec.replicas");
    assert_eq!(causes[0].message, "conflict with \"first\"");
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"first\": .spec.replicas");
    assert_eq!(api.get("web").await?.spec.replicas, Some(2), "a conflict changes nothing");

    let forced =
        api.patch("web", &apply("second").force(), &Patch::Apply(deployment(Some(5), containers.clone()))).await?;
    assert_eq!(forced.spec.replicas, Some(5));
    assert_eq!(applied(&forced, "second")["f:spec"]["f:replicas"], json!({}));
    assert!(applied(&forced, "first")["f:spec"].get("f:replicas").is_none(), "force moves ownership");
    assert!(applied(&forced, "first")["f:spec"].get("f:selector").is_some(), "the rest stays shared");
    Ok(())
}

#[tokio::test]
async fn conflicts_name_update_managers_with_their_api_version() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let object: Deployment = serde_json::from_value(deployment(Some(1), json!([{"name": "app", "image": "nginx:1"}])))?;
    let params = PostParams { field_manager: Some("creator".to_string()), ..PostParams::default() };
    let created = api.create(&params, &object).await?;
    let update = entry(&created, "creator", "Update").expect("an Update entry for the creator");
    assert_eq!(update.api_version.as_deref(), Some("apps/v1"));
    let fields = update.fields_v1.clone().expect("fields").0;
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    assert_eq!(fields["f:spec"]["f:template"]["f:metadata"]["f:labels"]["."], json!({}));

    let status = status_of(api.patch("web", &apply("ops"), &Patch::Apply(deployment(Some(3), json!([])))).await);
    assert_eq!(status.code, 409);
    let causes = status.details.expect("details").causes;
    assert!(
        causes.iter().any(|c| c.field == ".spec.replicas" && c.message == "conflict with \"creator\" using apps/v1"),
        "{causes:?}"
    );
    Ok(())
}

#[tokio::test]
async fn updates_take_fields_from_appliers() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1", "b": "2"})))).await?;
    let params = PatchParams { field_manager: Some("kubectl-edit".to_string()), ..PatchParams::default() };
    let edited = api.patch("cfg", &params, &Patch::Merge(json!({"data": {"a": "changed"}}))).await?;
    let edit = entry(&edited, "kubectl-edit", "Update").expect("an Update entry");
    assert_eq!(edit.fields_v1.clone().expect("fields").0, json!({"f:data": {"f:a": {}}}));
    assert_eq!(applied(&edited, "ops"), json!({"f:data": {"f:b": {}}}), "the applier lost the edited field");
    Ok(())
}

#[tokio::test]
async fn dropping_a_field_removes_it_unless_someone_else_owns_it() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    api.patch("cfg", &apply("one"), &Patch::Apply(configmap(json!({"solo": "1", "shared": "2"})))).await?;
    api.patch("cfg", &apply("two"), &Patch::Apply(configmap(json!({"shared": "2"})))).await?;

    let dropped = api.patch("cfg", &apply("one"), &Patch::Apply(configmap(json!({"kept": "3"})))).await?;
    let data = dropped.data.clone().unwrap_or_default();
    assert!(!data.contains_key("solo"), "a field only its applier owned is removed: {data:?}");
    assert_eq!(data.get("shared").map(String::as_str), Some("2"), "a co-owned field stays");
    assert_eq!(data.get("kept").map(String::as_str), Some("3"));
    assert_eq!(applied(&dropped, "one"), json!({"f:data": {"f:kept": {}}}));
    assert_eq!(applied(&dropped, "two"), json!({"f:data": {"f:shared": {}}}));
    Ok(())
}

#[tokio::test]
async fn list_items_are_owned_by_their_merge_keys() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let app = json!({"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]});
    api.patch("web", &apply("base"), &Patch::Apply(deployment(Some(1), json!([app])))).await?;
    let sidecar = json!({"name": "sidecar", "image": "envoy:1"});
    let udp = json!({"name": "app", "ports": [{"containerPort": 53, "protocol": "UDP"}]});
    let both = api.patch("web", &apply("mesh"), &Patch::Apply(containers_only(json!([udp, sidecar])))).await?;

    let containers = both.spec.template.spec.as_ref().map(|p| p.containers.clone());
    let containers = containers.unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "sidecar"]);
    let ports: Vec<i32> = containers[0].ports.iter().flatten().map(|p| p.container_port).collect();
    assert_eq!(ports, [80, 53], "ports merge by containerPort and protocol");

    let mesh = &applied(&both, "mesh")["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert!(mesh.get("k:{\"name\":\"sidecar\"}").is_some());
    assert!(mesh["k:{\"name\":\"app\"}"]["f:ports"].get("k:{\"containerPort\":53,\"protocol\":\"UDP\"}").is_some());
    assert!(mesh["k:{\"name\":\"app\"}"]["f:ports"].get("k:{\"containerPort\":80,\"protocol\":\"TCP\"}").is_none());
    let base = &applied(&both, "base")["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert!(base.get("k:{\"name\":\"sidecar\"}").is_none());

    let without_port = json!({"name": "app", "image": "nginx:1"});
    let after = api.patch("web", &apply("base"), &Patch::Apply(deployment(Some(1), json!([without_port])))).await?;
    let containers = after.spec.template.spec.map(|p| p.containers).unwrap_or_default();
    let ports: Vec<i32> = containers[0].ports.iter().flatten().map(|p| p.container_port).collect();
    assert_eq!(ports, [53], "the base's port is removed, the mesh's port stays");
    assert_eq!(containers.len(), 2, "the mesh's container stays");
    Ok(())
}

#[tokio::test]
async fn status_is_applied_through_its_subresource() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let mut config = deployment(Some(1), json!([{"name": "app", "image": "nginx:1"}]));
    config["status"] = json!({"replicas": 9});
    let created = api.patch("web", &apply("ops"), &Patch::Apply(&config)).await?;
    assert_eq!(created.status.and_then(|s| s.replicas), None, "the main resource ignores status");

    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "status": {"replicas": 1, "readyReplicas": 1}});
    let reported = api.patch_status("web", &apply("controller"), &Patch::Apply(&status)).await?;
    assert_eq!(reported.status.as_ref().and_then(|s| s.ready_replicas), Some(1));
    assert_eq!(reported.metadata.generation, created.metadata.generation, "status does not move generation");
    let entry = entry(&reported, "controller", "Apply").expect("a status Apply entry");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(
        entry.fields_v1.clone().expect("fields").0,
        json!({"f:status": {"f:readyReplicas": {}, "f:replicas": {}}})
    );
    Ok(())
}

#[tokio::test]
async fn dry_run_apply_answers_the_result_and_stores_nothing() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let would = api.patch("cfg", &apply("ops").dry_run(), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    assert_eq!(would.data.and_then(|d| d.get("a").cloned()).as_deref(), Some("1"));
    assert_eq!(status_of(api.get("cfg").await).code, 404, "a dry-run create stores nothing");

    let stored = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    let would = api.patch("cfg", &apply("ops").dry_run(), &Patch::Apply(configmap(json!({"a": "2"})))).await?;
    assert_eq!(would.data.and_then(|d| d.get("a").cloned()).as_deref(), Some("2"));
    let after = api.get("cfg").await?;
    assert_eq!((rv(&after), after.data), (rv(&stored), stored.data), "a dry-run apply leaves no trace");
    Ok(())
}

#[tokio::test]
async fn an_apply_that_changes_nothing_keeps_the_resource_version() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let first = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    let again = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    assert_eq!(rv(&again), rv(&first));
    assert_eq!(again.managed_fields(), first.managed_fields(), "managedFields time unchanged");
    Ok(())
}

/// Resets the managed fields of ConfigMap `name` the way the documentation says: a list of
/// one empty entry.
async fn reset_managed_fields(api: &Api<ConfigMap>, name: &str) -> Result<ConfigMap, kube::Error> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"managedFields": [{}]}}))).await
}

#[tokio::test]
async fn the_first_apply_hands_untracked_fields_to_before_first_apply() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let object: ConfigMap = serde_json::from_value(configmap(json!({"a": "1", "b": "2"})))?;
    api.create(&PostParams::default(), &object).await?;
    let reset = reset_managed_fields(&api, "cfg").await?;
    assert!(reset.managed_fields().is_empty(), "{:?}", reset.managed_fields());
    let edit = PatchParams { field_manager: Some("editor".to_string()), ..PatchParams::default() };
    let edited = api.patch("cfg", &edit, &Patch::Merge(json!({"data": {"c": "3"}}))).await?;
    assert!(edited.managed_fields().is_empty(), "an update of an untracked object records nothing");

    let status = status_of(api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "changed"})))).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.a");

    let shared = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    let before = entry(&shared, "before-first-apply", "Update").expect("a before-first-apply entry");
    assert_eq!(before.api_version.as_deref(), Some("v1"));
    assert_eq!(
        before.fields_v1.clone().expect("fields").0,
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}, "f:c": {}}})
    );
    assert_eq!(applied(&shared, "ops"), json!({"f:data": {"f:a": {}}}));

    let status = status_of(api.patch("cfg", &apply("other"), &Patch::Apply(configmap(json!({"b": "9"})))).await);
    assert_eq!(status.code, 409, "before-first-apply keeps what nobody applied");
    Ok(())
}

#[tokio::test]
async fn objects_tracked_from_their_creation_get_no_before_first_apply() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let object: ConfigMap = serde_json::from_value(configmap(json!({"a": "1"})))?;
    let params = PostParams { field_manager: Some("creator".to_string()), ..PostParams::default() };
    api.create(&params, &object).await?;
    let applied_to = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"b": "2"})))).await?;
    let managers: Vec<&str> = applied_to.managed_fields().iter().filter_map(|e| e.manager.as_deref()).collect();
    assert_eq!(managers, ["ops", "creator"]);
    let status = status_of(api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "9"})))).await);
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"creator\" using v1: .data.a");
    Ok(())
}

#[tokio::test]
async fn one_empty_entry_resets_managed_fields_on_update_and_patch_but_not_apply() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let created = api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "1"})))).await?;
    assert!(!created.managed_fields().is_empty());

    let mut replacement = created.clone();
    replacement.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
    replacement.data = Some([("a".to_string(), "2".to_string())].into());
    let params = PostParams { field_manager: Some("editor".to_string()), ..PostParams::default() };
    let replaced = api.replace("cfg", &params, &replacement).await?;
    assert!(replaced.managed_fields().is_empty(), "{:?}", replaced.managed_fields());
    assert_eq!(replaced.data.and_then(|d| d.get("a").cloned()).as_deref(), Some("2"), "the update still applies");

    api.patch("cfg", &apply("ops"), &Patch::Apply(configmap(json!({"a": "2"})))).await?;
    let strategic = PatchParams::default();
    let patch = Patch::Strategic(json!({"metadata": {"managedFields": [{}], "labels": {"x": "y"}}}));
    let patched = api.patch("cfg", &strategic, &patch).await?;
    assert!(patched.managed_fields().is_empty(), "{:?}", patched.managed_fields());
    assert_eq!(patched.labels().get("x").map(String::as_str), Some("y"));

    let mut config = configmap(json!({"a": "2"}));
    config["metadata"]["managedFields"] = json!([{}]);
    let status = status_of(api.patch("cfg", &apply("ops"), &Patch::Apply(&config)).await);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    assert_eq!(status.message, "metadata.managedFields must be nil");
    Ok(())
}

const FREEFORM: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: freeforms.ssa.example.dev}
spec:
  group: ssa.example.dev
  scope: Namespaced
  names: {plural: freeforms, singular: freeform, kind: Freeform}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              size: {type: integer}
"#;

#[tokio::test]
async fn free_form_fields_are_recorded_as_deduced_types() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    install_crds(&sandbox.client(), &[serde_yaml::from_str(FREEFORM)?]).await?;
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("ssa.example.dev", "v1", "Freeform"), "freeforms");
    let api: Api<DynamicObject> = Api::namespaced_with(sandbox.client(), ns.name(), &resource);
    let config = |spec: Value| json!({"apiVersion": "ssa.example.dev/v1", "kind": "Freeform", "metadata": {"name": "f"}, "spec": spec});

    let spec = json!({"size": 1, "a": {"b": 1, "c": {"d": "x"}}, "l": [1, 2], "e": {}});
    let created = api.patch("f", &apply("ops"), &Patch::Apply(config(spec))).await?;
    assert_eq!(
        applied(&created, "ops"),
        json!({"f:spec": {
            "f:size": {},
            "f:a": {".": {}, "f:b": {}, "f:c": {".": {}, "f:d": {}}},
            "f:l": {},
            "f:e": {}
        }})
    );

    let other = api.patch("f", &apply("other"), &Patch::Apply(config(json!({"a": {"z": 2}, "l": [3]})))).await;
    let causes = status_of(other).details.expect("details").causes;
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, [".spec.l"], "lists are atomic, maps merge key by key");

    let merged = api.patch("f", &apply("other"), &Patch::Apply(config(json!({"a": {"z": 2}})))).await?;
    assert_eq!(merged.data["spec"]["a"], json!({"b": 1, "c": {"d": "x"}, "z": 2}));
    assert_eq!(applied(&merged, "other"), json!({"f:spec": {"f:a": {".": {}, "f:z": {}}}}));
    Ok(())
}
