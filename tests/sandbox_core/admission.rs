//! ValidatingAdmissionPolicy: policies and bindings enforced on writes of built-in and
//! custom kinds, with the API server's messages, codes, warnings and failure policies.
//! Every policy is scoped to the test's own namespace (or labels), named after it, and
//! deleted at the end, so the tests run side by side on a real cluster too.

use std::time::Duration;

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::{TestCluster, install_crds, widgets_crd};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::Status;
use serde_json::{Value, json};

use crate::support::{TestResult, status_of};

/// The policies and bindings a test created, deleted by [`Policies::remove`].
struct Policies {
    client: kube::Client,
    created: Vec<(ApiResource, String)>,
}

fn admission_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind))
}

impl Policies {
    fn new(client: kube::Client) -> Self {
        Policies { client, created: Vec::new() }
    }

    async fn create(&mut self, kind: &str, name: &str, spec: Value) -> Result<(), kube::Error> {
        let resource = admission_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "spec": spec
        }))
        .map_err(kube::Error::SerdeError)?;
        api.create(&PostParams::default(), &object).await?;
        self.created.push((resource, name.to_string()));
        Ok(())
    }

    /// A policy and a binding of it named `name`, with the binding's `actions` and extra
    /// binding spec fields.
    async fn bind(&mut self, name: &str, policy: Value, actions: &[&str], binding: Value) -> Result<(), kube::Error> {
        self.create("ValidatingAdmissionPolicy", name, policy).await?;
        let mut spec = json!({"policyName": name, "validationActions": actions});
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), binding) {
            spec.extend(extra);
        }
        self.create("ValidatingAdmissionPolicyBinding", name, spec).await
    }

    async fn remove(self) -> Result<(), kube::Error> {
        for (resource, name) in self.created.iter().rev() {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), resource);
            api.delete(name, &DeleteParams::default()).await?;
        }
        Ok(())
    }
}

/// Match constraints for `resources` (of `group`) on `operations` in namespace `ns`.
fn in_namespace(ns: &str, group: &str, resources: &[&str], operations: &[&str]) -> Value {
    json!({
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
        "resourceRules": [{"apiGroups": [group], "apiVersions": ["*"], "operations": operations, "resources": resources}]
    })
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data})).expect("a ConfigMap")
}

/// Waits until a dry-run create of `object` is refused and answers why: a real API
/// server loads a new policy a moment after it is created.
async fn refused_create(
    api: &Api<ConfigMap>,
    object: &ConfigMap,
) -> Result<Status, Box<dyn std::error::Error + Send + Sync>> {
    for _ in 0..150 {
        if let Err(kube::Error::Api(status)) = api.create(&dry(), object).await {
            return Ok(*status);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("the policy was never enforced".into())
}

fn dry() -> PostParams {
    PostParams { dry_run: true, ..Default::default() }
}

#[tokio::test]
async fn deny_refuses_with_the_validations_message_and_reason_even_for_dry_runs() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let name = format!("{}-deny", ns.name());
    let mut policies = Policies::new(cluster.client());
    let policy = json!({
        "matchConstraints": in_namespace(ns.name(), "", &["configmaps"], &["CREATE", "UPDATE"]),
        "validations": [
            {"expression": "!has(object.data) || !('forbidden' in object.data)", "message": "no forbidden key", "reason": "Invalid"},
            {"expression": "object.metadata.name != 'bad-name'", "messageExpression": "'name ' + object.metadata.name + ' is not allowed'"},
            {"expression": "object.metadata.name != 'plain'"}
        ]
    });
    policies.bind(&name, policy, &["Deny"], json!({})).await?;

    let refused = refused_create(&api, &cm("x", json!({}), json!({"forbidden": "1"}))).await?;
    assert_eq!(refused.code, 422);
    assert_eq!(refused.reason, "Invalid");
    assert_eq!(
        refused.message,
        format!("ValidatingAdmissionPolicy '{name}' with binding '{name}' denied request: no forbidden key")
    );
    assert_eq!(status_of(api.get("x").await).code, 404, "a dry run stores nothing");

    let computed = status_of(api.create(&PostParams::default(), &cm("bad-name", json!({}), json!({}))).await);
    assert_eq!((computed.code, computed.reason.as_str()), (403, "Forbidden"));
    assert!(computed.message.ends_with("denied request: name bad-name is not allowed"), "{}", computed.message);
    let default = status_of(api.create(&PostParams::default(), &cm("plain", json!({}), json!({}))).await);
    assert!(default.message.ends_with("denied request: failed expression: object.metadata.name != 'plain'"));

    api.create(&PostParams::default(), &cm("good", json!({}), json!({"a": "b"}))).await?;
    let patched = api.patch("good", &PatchParams::default(), &Patch::Merge(json!({"data": {"forbidden": "x"}}))).await;
    assert_eq!(status_of(patched).code, 422, "a patch is admitted as the object it produces");
    let applied = api
        .patch(
            "good",
            &PatchParams::apply("tests").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"forbidden": "x"}})),
        )
        .await;
    assert_eq!(status_of(applied).code, 422, "so is a server-side apply");
    assert_eq!(api.get("good").await?.data.unwrap_or_default().get("forbidden"), None);
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn warn_answers_warning_headers_and_audit_records_the_failure() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let name = format!("{}-warn", ns.name());
    let mut policies = Policies::new(cluster.client());
    let policy = json!({
        "matchConstraints": in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]),
        "validations": [{"expression": "object.data.key != \"warn-me\"", "message": "key is \"warn-me\""}],
        "auditAnnotations": [{"key": "size", "valueExpression": "string(size(object.data))"}]
    });
    policies.bind(&name, policy, &["Warn", "Audit"], json!({})).await?;

    let expected = format!(
        "299 - \"Validation failed for ValidatingAdmissionPolicy '{name}' with binding '{name}': key is \\\"warn-me\\\"\""
    );
    let mut warnings = Vec::new();
    for attempt in 0..150 {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("w{attempt}")}, "data": {"key": "warn-me"}});
        let request = http::Request::post(format!("/api/v1/namespaces/{}/configmaps", ns.name()))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body)?.into())?;
        let response = cluster.client().send(request).await?;
        assert_eq!(response.status(), 201, "Warn does not refuse");
        warnings =
            response.headers().get_all("warning").iter().filter_map(|v| v.to_str().ok().map(String::from)).collect();
        if !warnings.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(warnings, vec![expected]);

    policies.remove().await?;
    ns.delete().await?;

    let sandbox = require_sandbox!(cluster.sandbox());
    let record = sandbox.requests().into_iter().rev().find(|r| r.verb == "create" && r.resource == "configmaps");
    let annotations = record.ok_or("the create is logged")?.audit_annotations;
    assert!(annotations.contains(&(format!("{name}/size"), "1".to_string())), "{annotations:?}");
    let failure = annotations
        .iter()
        .find(|(k, _)| k == "validation.policy.admission.k8s.io/validation_failure")
        .ok_or("the failure is audited")?;
    let failure: Value = serde_json::from_str(&failure.1)?;
    assert_eq!(failure[0]["message"], json!("key is \"warn-me\""));
    assert_eq!(failure[0]["validationActions"], json!(["Warn", "Audit"]));
    Ok(())
}

#[tokio::test]
async fn match_conditions_variables_and_selectors_narrow_what_is_validated() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let other = cluster.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let name = format!("{}-teams", ns.name());
    let mut constraints = in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]);
    constraints["objectSelector"] = json!({"matchLabels": {"example.dev/guarded": "yes"}});
    constraints["excludeResourceRules"] = json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"], "resourceNames": ["exempt"]}]);
    let policy = json!({
        "matchConstraints": constraints,
        "matchConditions": [{"name": "not-skipped", "expression": "!object.metadata.name.startsWith('skip-')"}],
        "variables": [
            {"name": "team", "expression": "object.metadata.labels['app.kubernetes.io/team']"},
            {"name": "loud", "expression": "variables.team.upperAscii()"}
        ],
        "validations": [{"expression": "variables.team == 'blue'", "messageExpression": "'team ' + variables.loud + ' is not blue'"}]
    });
    let mut policies = Policies::new(cluster.client());
    policies.bind(&name, policy, &["Deny"], json!({})).await?;
    let red = json!({"example.dev/guarded": "yes", "app.kubernetes.io/team": "red"});
    let refused = refused_create(&api, &cm("a", red.clone(), json!({}))).await?;
    assert!(refused.message.ends_with("denied request: team RED is not blue"), "{}", refused.message);
    let blue = json!({"example.dev/guarded": "yes", "app.kubernetes.io/team": "blue"});
    api.create(&PostParams::default(), &cm("b", blue, json!({}))).await?;
    let unguarded = json!({"app.kubernetes.io/team": "red"});
    api.create(&PostParams::default(), &cm("c", unguarded, json!({}))).await?;
    api.create(&PostParams::default(), &cm("skip-d", red.clone(), json!({}))).await?;
    api.create(&PostParams::default(), &cm("exempt", red.clone(), json!({}))).await?;
    let elsewhere: Api<ConfigMap> = Api::namespaced(cluster.client(), other.name());
    elsewhere.create(&PostParams::default(), &cm("a", red, json!({}))).await?;
    policies.remove().await?;
    ns.delete().await?;
    other.delete().await?;
    Ok(())
}

#[tokio::test]
async fn deletes_and_status_writes_of_a_custom_resource_are_admitted() -> TestResult {
    let cluster = TestCluster::start().await?;
    install_crds(&cluster.client(), &[widgets_crd()]).await?;
    let ns = cluster.temp_namespace().await?;
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("example.dev", "v1", "Widget"));
    let widgets: Api<DynamicObject> = Api::namespaced_with(cluster.client(), ns.name(), &resource);
    let widget = |name: &str, protected: bool| -> Result<DynamicObject, serde_json::Error> {
        serde_json::from_value(json!({
            "apiVersion": "example.dev/v1", "kind": "Widget",
            "metadata": {"name": name, "labels": {"example.dev/protected": protected.to_string()}},
            "spec": {"size": 1}
        }))
    };
    widgets.create(&PostParams::default(), &widget("kept", true)?).await?;
    widgets.create(&PostParams::default(), &widget("free", false)?).await?;
    let name = format!("{}-widgets", ns.name());
    let mut policies = Policies::new(cluster.client());
    let policy = json!({
        "matchConstraints": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns.name()}},
            "resourceRules": [
                {"apiGroups": ["example.dev"], "apiVersions": ["v1"], "operations": ["DELETE"], "resources": ["widgets"]},
                {"apiGroups": ["example.dev"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["widgets/status"]}
            ]
        },
        "validations": [
            {"expression": "request.operation != 'DELETE' || (object == null && oldObject.metadata.labels['example.dev/protected'] != 'true')", "message": "the widget is protected"},
            {"expression": "request.subResource != 'status' || object.status.phase != 'Broken'", "message": "a widget cannot break"}
        ]
    });
    policies.bind(&name, policy, &["Deny"], json!({})).await?;

    let dry_delete = DeleteParams::default().dry_run();
    let mut refused = None;
    for _ in 0..150 {
        if let Err(kube::Error::Api(status)) = widgets.delete("kept", &dry_delete).await {
            refused = Some(*status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = refused.ok_or("the policy was never enforced")?;
    assert!(refused.message.ends_with("denied request: the widget is protected"), "{}", refused.message);
    assert_eq!(refused.code, 403);
    widgets.delete("free", &DeleteParams::default()).await?;
    let swept = widgets.delete_collection(&DeleteParams::default(), &ListParams::default()).await;
    assert_eq!(status_of(swept).code, 403, "a collection delete admits each object");
    widgets.get("kept").await?;

    let broken = widgets
        .patch_status("kept", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Broken"}})))
        .await;
    assert!(status_of(broken).message.ends_with("denied request: a widget cannot break"));
    widgets.patch_status("kept", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Fine"}}))).await?;
    widgets.patch("kept", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 2}}))).await?;
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn params_are_configmaps_found_by_name_or_selector() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let mut policies = Policies::new(cluster.client());
    let sized = |how: &str| {
        let mut constraints = in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]);
        constraints["objectSelector"] = json!({"matchLabels": {"example.dev/sized": how}});
        json!({
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": constraints,
            "validations": [{"expression": "int(object.data.size) <= int(params.data.max)", "messageExpression": "'size ' + object.data.size + ' is over ' + params.data.max"}]
        })
    };
    let by_name = format!("{}-by-name", ns.name());
    let param_ref = json!({"name": "limits", "namespace": ns.name(), "parameterNotFoundAction": "Deny"});
    policies.bind(&by_name, sized("by-name"), &["Deny"], json!({"paramRef": param_ref})).await?;
    let by_selector = format!("{}-by-selector", ns.name());
    let param_ref =
        json!({"selector": {"matchLabels": {"example.dev/limit": "yes"}}, "parameterNotFoundAction": "Allow"});
    policies.bind(&by_selector, sized("by-selector"), &["Deny"], json!({"paramRef": param_ref})).await?;

    let one = |name: &str, how: &str, size: u32| {
        cm(name, json!({"example.dev/sized": how}), json!({"size": size.to_string()}))
    };
    let missing = refused_create(&api, &one("a", "by-name", 1)).await?;
    assert!(
        missing
            .message
            .ends_with("denied request: no params found for policy binding with `Deny` parameterNotFoundAction"),
        "{}",
        missing.message
    );
    api.create(&PostParams::default(), &one("b", "by-selector", 100)).await?;

    api.create(&PostParams::default(), &cm("limits", json!({}), json!({"max": "5"}))).await?;
    api.create(&PostParams::default(), &cm("limit-5", json!({"example.dev/limit": "yes"}), json!({"max": "5"})))
        .await?;
    api.create(&PostParams::default(), &cm("limit-8", json!({"example.dev/limit": "yes"}), json!({"max": "8"})))
        .await?;
    let over = refused_create(&api, &one("c", "by-name", 9)).await?;
    assert!(over.message.ends_with("denied request: size 9 is over 5"), "{}", over.message);
    api.create(&PostParams::default(), &one("d", "by-name", 3)).await?;
    let over_one = refused_create(&api, &one("e", "by-selector", 7)).await?;
    assert!(over_one.message.ends_with("denied request: size 7 is over 5"), "every param is evaluated");
    api.create(&PostParams::default(), &one("f", "by-selector", 4)).await?;
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn failure_policy_decides_what_an_evaluation_error_means() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let mut policies = Policies::new(cluster.client());
    for failure in ["Fail", "Ignore"] {
        let mut constraints = in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]);
        constraints["objectSelector"] = json!({"matchLabels": {"example.dev/failure": failure}});
        let policy = json!({
            "failurePolicy": failure,
            "matchConstraints": constraints,
            "validations": [{"expression": "object.data.missing == 'x'"}]
        });
        policies.bind(&format!("{}-{}", ns.name(), failure.to_lowercase()), policy, &["Deny"], json!({})).await?;
    }
    let failing = cm("a", json!({"example.dev/failure": "Fail"}), json!({"present": "1"}));
    let refused = refused_create(&api, &failing).await?;
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("expression 'object.data.missing == 'x'' resulted in error"),
        "{}",
        refused.message
    );
    api.create(&PostParams::default(), &cm("b", json!({"example.dev/failure": "Ignore"}), json!({"present": "1"})))
        .await?;
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn request_user_info_and_the_authorizer_see_the_requesting_user() -> TestResult {
    let cluster = TestCluster::start().await?;
    let alice = require_sandbox!(cluster.add_user("alice", &["devs"]));
    let ns = cluster.temp_namespace().await?;
    let roles: Api<DynamicObject> = Api::namespaced_with(
        cluster.client(),
        ns.name(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "Role")),
    );
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-writer"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]
            }))?,
        )
        .await?;
    let bindings: Api<DynamicObject> = Api::namespaced_with(
        cluster.client(),
        ns.name(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "RoleBinding")),
    );
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "alice"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-writer"},
                "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]
            }))?,
        )
        .await?;
    let name = format!("{}-users", ns.name());
    let mut policies = Policies::new(cluster.client());
    let policy = json!({
        "matchConstraints": in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]),
        "validations": [
            {"expression": "request.userInfo.username != 'alice' || object.metadata.name.startsWith('alice-')",
             "messageExpression": "'user ' + request.userInfo.username + ' in ' + request.userInfo.groups.join(',') + ' may only create alice- configmaps'"},
            {"expression": "authorizer.requestResource.check('create').allowed()", "message": "not allowed to create"},
            {"expression": "authorizer.group('').resource('secrets').namespace(request.namespace).check('get').allowed() || object.data.key != 'secret-ref'",
             "message": "secret-ref needs read access to secrets"},
            {"expression": "!authorizer.serviceAccount(request.namespace, 'nobody').group('').resource('configmaps').namespace(request.namespace).check('create').allowed()",
             "message": "a ServiceAccount without bindings may not create configmaps"}
        ]
    });
    policies.bind(&name, policy, &["Deny"], json!({})).await?;
    let as_alice: Api<ConfigMap> = Api::namespaced(require_sandbox!(cluster.client_as(&alice))?, ns.name());
    let refused = status_of(as_alice.create(&PostParams::default(), &cm("bob-1", json!({}), json!({}))).await);
    assert!(
        refused
            .message
            .ends_with("denied request: user alice in devs,system:authenticated may only create alice- configmaps"),
        "{}",
        refused.message
    );
    let secret_ref = cm("alice-1", json!({}), json!({"key": "secret-ref"}));
    let refused = status_of(as_alice.create(&PostParams::default(), &secret_ref).await);
    assert!(
        refused.message.ends_with("denied request: secret-ref needs read access to secrets"),
        "{}",
        refused.message
    );
    as_alice.create(&PostParams::default(), &cm("alice-2", json!({}), json!({"key": "plain"}))).await?;
    let admin: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    admin.create(&PostParams::default(), &cm("bob-2", json!({}), json!({"key": "secret-ref"}))).await?;
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn invalid_policies_and_bindings_are_refused_naming_the_field() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let mut policies = Policies::new(cluster.client());
    let name = format!("{}-invalid", ns.name());
    let unparsable = json!({
        "matchConstraints": in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]),
        "validations": [{"expression": "object.data.("}]
    });
    let refused = status_of(policies.create("ValidatingAdmissionPolicy", &name, unparsable).await);
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(refused.message.contains("spec.validations[0].expression: Invalid value"), "{}", refused.message);
    let bad_actions = json!({"policyName": name, "validationActions": ["Deny", "Shout"]});
    let refused = status_of(policies.create("ValidatingAdmissionPolicyBinding", &name, bad_actions).await);
    assert_eq!(refused.code, 422);
    assert!(refused.message.contains("spec.validationActions[1]: Unsupported value: \"Shout\""), "{}", refused.message);
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn a_namespace_is_selected_by_its_own_labels() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client());
    let frozen = format!("example.dev/frozen-{}", ns.name());
    namespaces
        .patch(ns.name(), &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {&frozen: "true"}}})))
        .await?;
    let name = format!("{}-frozen", ns.name());
    let mut policies = Policies::new(cluster.client());
    let policy = json!({
        "matchConstraints": {
            "namespaceSelector": {"matchLabels": {&frozen: "true"}},
            "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["namespaces"]}]
        },
        "validations": [{"expression": "namespaceObject.metadata.name != object.metadata.name", "messageExpression": "'namespace ' + namespaceObject.metadata.name + ' is frozen'"}]
    });
    policies.bind(&name, policy, &["Deny"], json!({})).await?;
    let touch = Patch::Merge(json!({"metadata": {"labels": {"example.dev/touched": "yes"}}}));
    let mut refused = None;
    for _ in 0..150 {
        if let Err(kube::Error::Api(status)) =
            namespaces.patch(ns.name(), &PatchParams::default().dry_run(), &touch).await
        {
            refused = Some(*status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = refused.ok_or("the policy was never enforced")?;
    assert!(
        refused.message.ends_with(&format!("denied request: namespace {} is frozen", ns.name())),
        "{}",
        refused.message
    );
    let thaw = Patch::Merge(json!({"metadata": {"labels": {&frozen: null}}}));
    namespaces.patch(ns.name(), &PatchParams::default(), &thaw).await?;
    namespaces.patch(ns.name(), &PatchParams::default(), &touch).await?;
    policies.remove().await?;
    ns.delete().await?;
    Ok(())
}

/// Polls until `check` holds (a real API server sees policy changes a moment later).
async fn eventually<F, Fut>(what: &str, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("never: {what}").into())
}

#[tokio::test]
async fn a_changed_policy_and_a_deleted_binding_apply_to_the_next_write() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let name = format!("{}-changes", ns.name());
    let mut policies = Policies::new(cluster.client());
    let constraints = in_namespace(ns.name(), "", &["configmaps"], &["CREATE"]);
    let refusing = |bad: &str| json!({"matchConstraints": constraints, "validations": [{"expression": format!("object.metadata.name != '{bad}'")}]});
    policies.bind(&name, refusing("first"), &["Deny"], json!({})).await?;
    refused_create(&api, &cm("first", json!({}), json!({}))).await?;
    api.create(&dry(), &cm("second", json!({}), json!({}))).await?;

    let resource = admission_resource("ValidatingAdmissionPolicy");
    let vaps: Api<DynamicObject> = Api::all_with(cluster.client(), &resource);
    vaps.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": refusing("second")}))).await?;
    let api = &api;
    eventually("the changed policy refuses 'second' and allows 'first'", move || async move {
        api.create(&dry(), &cm("second", json!({}), json!({}))).await.is_err()
            && api.create(&dry(), &cm("first", json!({}), json!({}))).await.is_ok()
    })
    .await?;

    let bindings: Api<DynamicObject> =
        Api::all_with(cluster.client(), &admission_resource("ValidatingAdmissionPolicyBinding"));
    bindings.delete(&name, &DeleteParams::default()).await?;
    eventually("without its binding the policy refuses nothing", move || async move {
        api.create(&dry(), &cm("second", json!({}), json!({}))).await.is_ok()
    })
    .await?;
    vaps.delete(&name, &DeleteParams::default()).await?;
    Ok(())
}
