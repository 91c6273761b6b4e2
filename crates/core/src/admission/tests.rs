use serde_json::{Value, json};

use super::*;
use crate::api::admission::AdmissionSpec;
use crate::api::policy::PolicySpec;
use crate::engine::evaluate::compile;
use crate::engine::fingerprint::test_key;
use crate::engine::scope::Scopes;

fn policy(namespace: Option<&str>, spec: Value) -> (PolicyKey, CompiledPolicy, AdmissionSpec) {
    let spec: PolicySpec = serde_json::from_value(spec).unwrap();
    let admission = spec.admission.clone().expect("the spec says admission");
    let key = PolicyKey { namespace: namespace.map(str::to_string), name: "web".into() };
    let compiled = compile("web", namespace, &spec, &test_key()).unwrap();
    (key, compiled, admission)
}

fn generate_with(
    key: &PolicyKey,
    compiled: &CompiledPolicy,
    admission: &AdmissionSpec,
    exceptions: &[Excepted<'_>],
) -> Generated {
    let scopes = Scopes::default();
    let resource_of = |api_version: &str, kind: &str| {
        Some((
            scopes.plural(api_version, kind)?,
            scopes.scope(api_version, kind)? == crate::engine::scope::Scope::Namespaced,
        ))
    };
    let exempt = vec!["system:serviceaccount:driftwarden-system:driftwarden".to_string()];
    let groups: Vec<String> = DEFAULT_EXEMPT_GROUPS.iter().map(|g| g.to_string()).collect();
    generate(&Source {
        key,
        uid: Some("0b7c-uid"),
        admission,
        policy: compiled,
        resource_of: &resource_of,
        exempt_users: &exempt,
        exempt_groups: &groups,
        exceptions,
    })
}

fn web_deployment(admission: Value) -> Value {
    json!({
        "resources": [{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"team": "shop"}},
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [{
                    "name": "app", "image": "shop/web:1.4",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"memory": "256Mi"}}
                }]}}
            }
        }],
        "admission": admission
    })
}

fn messages(generated: &Generated) -> Vec<String> {
    generated.policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn names_say_which_kind_of_policy_and_stay_within_253_characters() {
    let namespaced = PolicyKey { namespace: Some("shop".into()), name: "web".into() };
    let cluster = PolicyKey { namespace: None, name: "web".into() };
    assert_eq!(name_of(&namespaced), "dp.driftwarden.dev.shop.web");
    assert_eq!(name_of(&cluster), "cdp.driftwarden.dev.web");
    let long =
        |suffix: &str| PolicyKey { namespace: Some("shop".into()), name: format!("{}{suffix}", "a".repeat(250)) };
    let (one, two) = (name_of(&long("x")), name_of(&long("y")));
    assert!(one.len() <= 253 && two.len() <= 253, "{one}");
    assert_ne!(one, two, "names cut to fit stay distinct");
}

#[test]
fn a_deny_policy_holds_each_governed_field_and_pins_its_namespace() {
    let (key, compiled, admission) = policy(Some("shop"), web_deployment(json!({"action": "Deny"})));
    let generated = generate_with(&key, &compiled, &admission, &[]);
    let spec = &generated.policy["spec"];
    assert_eq!(spec["failurePolicy"], "Fail");
    assert_eq!(
        spec["matchConstraints"],
        json!({
            "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                               "operations": ["CREATE", "UPDATE", "DELETE"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}
        })
    );
    let messages = messages(&generated);
    for path in [
        "/metadata/labels/team must be 'shop'",
        "/spec/replicas must be 3",
        "/spec/template/spec/containers/name=app/image must be 'shop/web:1.4'",
        "/spec/template/spec/containers/name=app/ports/containerPort=8080,protocol=TCP must be present",
    ] {
        assert!(messages.iter().any(|m| m.contains(path) && m.contains("shop/web")), "{path} in {messages:#?}");
    }
    assert!(messages.iter().any(|m| m.contains("may not be deleted")), "Create is guarded: deletion too");
    let guard = generated.policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["message"].as_str().unwrap().contains("may not be deleted"))
        .unwrap()["expression"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(guard.contains("has(namespaceObject.metadata.deletionTimestamp)"), "a namespace being deleted: {guard}");
    // The quantity is compared by amount.
    let memory = generated.policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["message"].as_str().unwrap().contains("/limits/memory must be the quantity '256Mi'"))
        .expect("the quantity is checked");
    assert!(memory["expression"].as_str().unwrap().contains(".compareTo(quantity('256Mi')) == 0"), "{memory}");
    assert!(generated.skipped.is_empty(), "{:?}", generated.skipped);
    // The operator is exempt by who it is, and nothing by field manager.
    let conditions = spec["matchConditions"].to_string();
    assert!(conditions.contains("system:serviceaccount:driftwarden-system:driftwarden"), "{conditions}");
    assert!(!generated.policy.to_string().contains("managedFields"));
    assert_eq!(generated.binding["spec"], json!({"policyName": generated.name, "validationActions": ["Deny"]}));
    // A DriftPolicy cannot own a cluster-scoped object: labels say where it comes from.
    assert!(generated.policy["metadata"].get("ownerReferences").is_none());
    assert_eq!(generated.policy["metadata"]["labels"][GENERATED_LABEL], "DriftPolicy");
    assert_eq!(generated.policy["metadata"]["annotations"][POLICY_ANNOTATION], "DriftPolicy/shop/web");
}

#[test]
fn a_cluster_policy_owns_what_it_generates_and_warn_fails_open() {
    let (key, compiled, admission) = policy(
        None,
        json!({
            "baselines": [{
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "namespaceSelector": {"matchLabels": {"tier": "prod"}}},
                "template": {"data": {"mode": "strict"}}
            }],
            "admission": {"action": "Warn", "exempt": {"groups": ["sre"], "users": ["alice@example.com"]}}
        }),
    );
    let generated = generate_with(&key, &compiled, &admission, &[]);
    assert_eq!(generated.policy["spec"]["failurePolicy"], "Ignore");
    assert_eq!(generated.binding["spec"]["validationActions"], json!(["Warn"]));
    let owner = &generated.policy["metadata"]["ownerReferences"][0];
    assert_eq!((owner["kind"].as_str(), owner["uid"].as_str()), (Some("ClusterDriftPolicy"), Some("0b7c-uid")));
    assert_eq!(
        generated.policy["spec"]["matchConstraints"]["namespaceSelector"],
        json!({"matchLabels": {"tier": "prod"}}),
        "the one baseline's namespace selector narrows what is evaluated"
    );
    let rule = &generated.policy["spec"]["matchConstraints"]["resourceRules"][0];
    assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]), "a baseline declares no object: deletion is free");
    let validation = generated.policy["spec"]["validations"][0]["expression"].as_str().unwrap();
    assert!(validation.contains("namespaceObject.metadata.labels['tier'] == 'prod'"), "{validation}");
    let conditions = generated.policy["spec"]["matchConditions"][0]["expression"].as_str().unwrap();
    assert!(conditions.contains("'alice@example.com'"), "{conditions}");
    assert!(conditions.contains("!('sre' in request.userInfo.groups)"), "{conditions}");
    assert!(conditions.contains("!('system:masters' in request.userInfo.groups)"), "administrators: {conditions}");
}

#[test]
fn classes_choose_what_is_guarded() {
    let (key, compiled, admission) =
        policy(Some("shop"), web_deployment(json!({"action": "Deny", "classes": ["Metadata"]})));
    let generated = generate_with(&key, &compiled, &admission, &[]);
    let messages = messages(&generated);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].contains("/metadata/labels/team"));
    let rule = &generated.policy["spec"]["matchConstraints"]["resourceRules"][0];
    assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]), "Create is not guarded: deletion is free");
    assert!(generated.checks("resource Deployment shop/web", "/metadata/labels/team"));
    assert!(generated.checks("resource Deployment shop/web", "/metadata/labels"), "a parent missing");
    assert!(!generated.checks("resource Deployment shop/web", "/spec/replicas"));
    assert!(!generated.checks("baseline other", "/metadata/labels/team"));
}

#[test]
fn ignored_paths_are_left_out_and_manager_ignores_leave_the_template_unchecked() {
    let mut spec = web_deployment(json!({"action": "Deny"}));
    spec["ignore"] = json!([{"paths": ["/spec/replicas"]}]);
    let (key, compiled, admission) = policy(Some("shop"), spec.clone());
    let written = messages(&generate_with(&key, &compiled, &admission, &[]));
    assert!(!written.iter().any(|m| m.contains("/spec/replicas")), "{written:#?}");
    assert!(written.iter().any(|m| m.contains("/metadata/labels/team")));

    spec["ignore"] = json!([{"managers": ["hpa-controller"]}]);
    let (key, compiled, admission) = policy(Some("shop"), spec);
    let generated = generate_with(&key, &compiled, &admission, &[]);
    assert_eq!(messages(&generated).len(), 1, "only the deletion guard is left");
    assert!(generated.skipped.iter().any(|(_, s)| s.why.contains("field manager")), "{:?}", generated.skipped);
}

#[test]
fn secret_values_never_reach_the_admission_policy() {
    let (key, compiled, admission) = policy(
        Some("shop"),
        json!({
            "resources": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                           "stringData": {"password": "hunter2-very-secret"}, "data": {"user": "YWRtaW4="}}],
            "admission": {"action": "Deny"}
        }),
    );
    let generated = generate_with(&key, &compiled, &admission, &[]);
    let text = format!("{}{}", generated.policy, generated.binding);
    assert!(!text.contains("hunter2") && !text.contains("YWRtaW4="), "{text}");
    assert!(generated.skipped.iter().any(|(_, s)| s.why.contains("Secret value")), "{:?}", generated.skipped);
}

#[test]
fn exceptions_admit_what_they_cover_by_path_or_whole() {
    let (key, compiled, admission) = policy(Some("shop"), web_deployment(json!({"action": "Deny"})));
    let target: crate::api::TargetMatch =
        serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment", "names": ["web"]})).unwrap();
    let paths = [PathPattern::parse("/spec/template/spec/containers/*/image").unwrap()];
    let by_path = Excepted { target: &target, pin: Some("shop"), paths: &paths };
    let generated = generate_with(&key, &compiled, &admission, &[by_path]);
    let validations = generated.policy["spec"]["validations"].as_array().unwrap();
    for validation in validations {
        let (message, expression) =
            (validation["message"].as_str().unwrap(), validation["expression"].as_str().unwrap());
        let excepted = expression.contains("object.metadata.name in ['web']");
        assert_eq!(excepted, message.contains("/image"), "{message}: {expression}");
    }
    let whole = Excepted { target: &target, pin: Some("shop"), paths: &[] };
    let generated = generate_with(&key, &compiled, &admission, &[whole]);
    let conditions = generated.policy["spec"]["matchConditions"].as_array().unwrap();
    let excepted = conditions.iter().find(|c| c["name"] == "not-excepted").expect("a whole-object exception");
    let expression = excepted["expression"].as_str().unwrap();
    assert!(
        expression.starts_with("!(") && expression.contains("(object != null ? object : oldObject)"),
        "{expression}"
    );
    assert!(expression.contains("request.namespace == 'shop'"), "pinned to the exception's namespace: {expression}");
}

#[test]
fn a_policy_with_very_many_fields_is_capped_and_says_what_it_left_out() {
    let labels: serde_json::Map<String, Value> = (0..600).map(|i| (format!("l{i}"), json!("x"))).collect();
    let (key, compiled, admission) = policy(
        Some("shop"),
        json!({
            "resources": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "labels": labels}}],
            "admission": {"action": "Deny", "classes": ["Metadata"]}
        }),
    );
    let generated = generate_with(&key, &compiled, &admission, &[]);
    assert_eq!(messages(&generated).len(), MAX_VALIDATIONS);
    assert_eq!(generated.skipped.len(), 600 - MAX_VALIDATIONS);
    assert!(generated.skipped.iter().all(|(_, s)| s.why.contains("at most")));
}

#[test]
fn kinds_unknown_to_discovery_are_listed_not_guessed() {
    let (key, compiled, admission) = policy(
        None,
        json!({
            "baselines": [{"match": {"apiVersion": "example.com/v1", "kind": "Gateway"}, "template": {"spec": {"tls": true}}}],
            "admission": {"action": "Deny"}
        }),
    );
    let generated = generate_with(&key, &compiled, &admission, &[]);
    assert!(messages(&generated).is_empty());
    assert!(generated.skipped[0].1.why.contains("not known"), "{:?}", generated.skipped);
    assert_eq!(generated.policy["spec"]["matchConstraints"]["resourceRules"], json!([]));
}
