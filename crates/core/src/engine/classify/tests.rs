use serde_json::{Value, json};

use super::{classify, classify_drift, riskier, riskiest};
use crate::api::RemediationClass::{self, Access, Create, Metadata, Recreate, Rollout, SecretData, Spec};
use crate::engine::compare;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::fingerprint::test_key;
use crate::engine::kind::ObjectKind;
use crate::engine::pointer;

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

/// The class of changing `pointer` of `live` to `desired`.
fn class_of(live: &Value, pointer: &str, desired: Value) -> RemediationClass {
    let kind = ObjectKind::of(live).unwrap();
    let tokens = pointer::split(pointer);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let current = live.pointer(pointer);
    classify(&kind, Some(live), &tokens, &desired, current)
}

fn object(api_version: &str, kind: &str, rest: &str) -> Value {
    let mut value = yaml(rest);
    value["apiVersion"] = json!(api_version);
    value["kind"] = json!(kind);
    value
}

const POD_SPEC: &str = r#"
containers:
  - name: app
    image: nginx:1.27
    securityContext: {runAsNonRoot: true}
volumes:
  - name: data
    emptyDir: {}
"#;

fn workload(api_version: &str, kind: &str) -> Value {
    let spec = yaml(POD_SPEC);
    let mut value =
        object(api_version, kind, "{metadata: {name: w, labels: {app: w}}, spec: {selector: {matchLabels: {app: w}}}}");
    if kind == "CronJob" {
        value["spec"] = json!({"jobTemplate": {"spec": {"template": {"spec": spec}}}});
    } else {
        value["spec"]["template"] = json!({"metadata": {"labels": {"app": "w"}}, "spec": spec});
    }
    value
}

#[test]
fn labels_and_annotations_are_metadata() {
    let deployment = workload("apps/v1", "Deployment");
    assert_eq!(class_of(&deployment, "/metadata/labels/app", json!("x")), Metadata);
    assert_eq!(class_of(&deployment, "/metadata/annotations/a~1b", json!("x")), Metadata);
    assert_eq!(class_of(&deployment, "/metadata/labels", json!({})), Metadata);
    assert_eq!(class_of(&deployment, "/metadata/finalizers/x", json!("x")), Spec);
}

#[test]
fn pod_templates_of_workloads_roll_out() {
    for (api_version, kind, template) in [
        ("apps/v1", "Deployment", "/spec/template"),
        ("apps/v1", "StatefulSet", "/spec/template"),
        ("apps/v1", "DaemonSet", "/spec/template"),
        ("apps/v1", "ReplicaSet", "/spec/template"),
        ("batch/v1", "CronJob", "/spec/jobTemplate/spec/template"),
    ] {
        let live = workload(api_version, kind);
        let image = format!("{template}/spec/containers/name=app/image");
        assert_eq!(class_of(&live, &image, json!("nginx:1.28")), Rollout, "{kind}");
        let label = format!("{template}/metadata/labels/version");
        assert_eq!(class_of(&live, &label, json!("2")), Rollout, "{kind}");
        let args = format!("{template}/spec/containers/name=app/args");
        assert_eq!(class_of(&live, &args, json!(["--verbose"])), Rollout, "{kind}");
        // Replacing a whole template that holds a securityContext touches privilege.
        assert_eq!(class_of(&live, template, json!({})), Access, "{kind}");
    }
    let deployment = workload("apps/v1", "Deployment");
    assert_eq!(class_of(&deployment, "/spec/replicas", json!(3)), Spec);
    assert_eq!(class_of(&deployment, "/spec/strategy/type", json!("Recreate")), Spec);
    let cron = workload("batch/v1", "CronJob");
    assert_eq!(class_of(&cron, "/spec/jobTemplate/spec/backoffLimit", json!(2)), Spec);
    assert_eq!(class_of(&cron, "/spec/schedule", json!("* * * * *")), Spec);
}

#[test]
fn privilege_outranks_rollout_in_pod_templates() {
    let live = workload("apps/v1", "Deployment");
    for pointer in [
        "/spec/template/spec/securityContext/runAsNonRoot",
        "/spec/template/spec/hostNetwork",
        "/spec/template/spec/hostPID",
        "/spec/template/spec/hostIPC",
        "/spec/template/spec/serviceAccountName",
        "/spec/template/spec/automountServiceAccountToken",
        "/spec/template/spec/containers/name=app/securityContext/privileged",
        "/spec/template/spec/containers/name=app/securityContext/capabilities/add",
        "/spec/template/spec/initContainers/name=init/securityContext",
        "/spec/template/spec/containers/name=app/ports/containerPort=80,protocol=TCP/hostPort",
        "/spec/template/spec/volumes/name=root/hostPath/path",
    ] {
        assert_eq!(class_of(&live, pointer, json!(true)), Access, "{pointer}");
    }
    // A whole item that carries privilege is Access too.
    let sidecar = json!({"name": "debug", "image": "busybox", "securityContext": {"privileged": true}});
    assert_eq!(class_of(&live, "/spec/template/spec/containers/name=debug", sidecar), Access);
    let volume = json!({"name": "root", "hostPath": {"path": "/"}});
    assert_eq!(class_of(&live, "/spec/template/spec/volumes/name=root", volume), Access);
    // ...but label keys and env values that look like field names are not privilege.
    let labels = json!({"hostNetwork": "true"});
    assert_eq!(class_of(&live, "/spec/template/metadata/labels", labels), Rollout);
    let env = json!({"name": "hostPath", "value": "/"});
    assert_eq!(class_of(&live, "/spec/template/spec/containers/name=app/env/name=hostPath", env), Rollout);
}

#[test]
fn access_kinds_are_access() {
    let rbac = "rbac.authorization.k8s.io/v1";
    let role = object(rbac, "Role", "{metadata: {name: r}, rules: []}");
    assert_eq!(class_of(&role, "/rules", json!([{"verbs": ["*"]}])), Access);
    assert_eq!(class_of(&role, "/metadata/labels/team", json!("x")), Metadata);
    let cluster_role = object(rbac, "ClusterRole", "{metadata: {name: r}}");
    assert_eq!(class_of(&cluster_role, "/metadata/labels/rbac.example.com~1aggregate-to-admin", json!("true")), Access);
    let binding = object(rbac, "ClusterRoleBinding", "{metadata: {name: b}, roleRef: {kind: ClusterRole, name: view}}");
    assert_eq!(class_of(&binding, "/subjects", json!([])), Access);
    assert_eq!(class_of(&binding, "/roleRef/name", json!("admin")), Recreate);
    let account = object("v1", "ServiceAccount", "{metadata: {name: a}}");
    assert_eq!(class_of(&account, "/automountServiceAccountToken", json!(false)), Access);
    assert_eq!(class_of(&account, "/metadata/annotations/eks.amazonaws.com~1role-arn", json!("arn")), Access);
    assert_eq!(class_of(&account, "/metadata/labels/team", json!("x")), Metadata);
    let namespace = object("v1", "Namespace", "{metadata: {name: shop}}");
    assert_eq!(
        class_of(&namespace, "/metadata/labels/pod-security.kubernetes.io~1enforce", json!("restricted")),
        Access
    );
    assert_eq!(class_of(&namespace, "/metadata/labels/team", json!("x")), Metadata);
}

#[test]
fn secrets() {
    let secret = object("v1", "Secret", "{metadata: {name: s}, type: Opaque, data: {a: YQ==}}");
    assert_eq!(class_of(&secret, "/data/a", json!("sha256:0")), SecretData);
    assert_eq!(class_of(&secret, "/type", json!("kubernetes.io/tls")), Recreate);
    assert_eq!(
        class_of(&secret, "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration", json!("x")),
        SecretData
    );
    let sealed = object("v1", "Secret", "{metadata: {name: s}, immutable: true, data: {a: YQ==}}");
    assert_eq!(class_of(&sealed, "/data/a", json!("sha256:0")), Recreate);
    let config = object("v1", "ConfigMap", "{metadata: {name: c}, immutable: true, data: {a: b}}");
    assert_eq!(class_of(&config, "/data/a", json!("c")), Recreate);
    assert_eq!(class_of(&config, "/metadata/labels/x", json!("c")), Metadata);
    let open = object("v1", "ConfigMap", "{metadata: {name: c}, data: {a: b}}");
    assert_eq!(class_of(&open, "/data/a", json!("c")), Spec);
}

#[test]
fn immutable_fields_need_recreate() {
    for kind in ["Deployment", "ReplicaSet", "DaemonSet"] {
        let live = workload("apps/v1", kind);
        assert_eq!(class_of(&live, "/spec/selector", json!({"matchLabels": {"app": "x"}})), Recreate, "{kind}");
    }
    let sts = workload("apps/v1", "StatefulSet");
    for pointer in ["/spec/serviceName", "/spec/volumeClaimTemplates", "/spec/podManagementPolicy", "/spec/selector"] {
        assert_eq!(class_of(&sts, pointer, json!("x")), Recreate, "{pointer}");
    }
    assert_eq!(class_of(&sts, "/spec/replicas", json!(3)), Spec);
    assert_eq!(class_of(&sts, "/spec/updateStrategy/type", json!("OnDelete")), Spec);

    let service = object("v1", "Service", "{metadata: {name: s}, spec: {clusterIP: 10.0.0.1, ipFamilies: [IPv4]}}");
    assert_eq!(class_of(&service, "/spec/clusterIP", json!("None")), Recreate);
    assert_eq!(class_of(&service, "/spec/ipFamilies", json!(["IPv6"])), Recreate);
    assert_eq!(class_of(&service, "/spec/ipFamilies", json!(["IPv4", "IPv6"])), Spec);
    assert_eq!(class_of(&service, "/spec/type", json!("NodePort")), Spec);

    let claim = object(
        "v1",
        "PersistentVolumeClaim",
        "{metadata: {name: c}, spec: {storageClassName: fast, resources: {requests: {storage: 10Gi}}}}",
    );
    assert_eq!(class_of(&claim, "/spec/resources/requests/storage", json!("20Gi")), Spec);
    assert_eq!(class_of(&claim, "/spec/resources/requests/storage", json!("5Gi")), Recreate);
    assert_eq!(class_of(&claim, "/spec/storageClassName", json!("slow")), Recreate);
    let class = object("storage.k8s.io/v1", "StorageClass", "{metadata: {name: s}, provisioner: a}");
    assert_eq!(class_of(&class, "/provisioner", json!("b")), Recreate);
    assert_eq!(class_of(&class, "/allowVolumeExpansion", json!(true)), Spec);
}

#[test]
fn jobs_are_immutable_except_for_suspended_scheduling() {
    let job = workload("batch/v1", "Job");
    assert_eq!(class_of(&job, "/spec/template/spec/containers/name=app/image", json!("x")), Recreate);
    assert_eq!(class_of(&job, "/spec/completions", json!(3)), Recreate);
    assert_eq!(class_of(&job, "/spec/parallelism", json!(3)), Spec);
    assert_eq!(class_of(&job, "/spec/activeDeadlineSeconds", json!(30)), Spec);
    let mut suspended = job.clone();
    suspended["spec"]["suspend"] = json!(true);
    assert_eq!(class_of(&suspended, "/spec/template/spec/nodeSelector", json!({"zone": "a"})), Rollout);
    assert_eq!(class_of(&suspended, "/spec/template/spec/containers/name=app/image", json!("x")), Recreate);
    suspended["status"] = json!({"startTime": "2024-05-01T00:00:00Z"});
    assert_eq!(class_of(&suspended, "/spec/template/spec/nodeSelector", json!({"zone": "a"})), Recreate);
}

#[test]
fn pods_are_mostly_immutable() {
    let pod = object("v1", "Pod", "{metadata: {name: p}}");
    let mut pod = pod;
    pod["spec"] = yaml(POD_SPEC);
    pod["spec"]["tolerations"] = json!([{"key": "a", "operator": "Exists"}]);
    assert_eq!(class_of(&pod, "/spec/containers/name=app/image", json!("nginx:1.28")), Rollout);
    assert_eq!(class_of(&pod, "/spec/activeDeadlineSeconds", json!(60)), Spec);
    assert_eq!(class_of(&pod, "/metadata/labels/a", json!("b")), Metadata);
    let more = json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
    assert_eq!(class_of(&pod, "/spec/tolerations", more), Spec);
    assert_eq!(class_of(&pod, "/spec/tolerations", json!([{"key": "b", "operator": "Exists"}])), Recreate);
    assert_eq!(class_of(&pod, "/spec/containers/name=app/resources/limits/cpu", json!("2")), Recreate);
    // Immutable outranks privilege.
    assert_eq!(class_of(&pod, "/spec/containers/name=app/securityContext/runAsNonRoot", json!(false)), Recreate);
    assert_eq!(class_of(&pod, "/spec/hostNetwork", json!(true)), Recreate);
}

#[test]
fn nothing_is_immutable_on_an_object_that_does_not_exist() {
    let template = workload("apps/v1", "Deployment");
    let kind = ObjectKind::of(&template).unwrap();
    assert_eq!(classify(&kind, None, &["spec", "selector"], &json!({}), None), Spec);
}

#[test]
fn drifts_are_reclassified_from_their_pointer() {
    let live = workload("apps/v1", "Deployment");
    let template = yaml(
        "{apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: [{name: app, image: x}]}}}}",
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    let kind = ObjectKind::of(&live).unwrap();
    assert_eq!(drifts.len(), 1);
    assert_eq!(classify_drift(&kind, Some(&live), &drifts[0]), drifts[0].class);
}

#[test]
fn the_riskiest_class_wins() {
    let drift = |class| Drift { path: String::new(), desired: Value::Null, live: None, class, attribution: None };
    assert_eq!(riskiest(&[]), None);
    assert_eq!(riskiest(&[drift(Metadata), drift(Rollout), drift(Spec)]), Some(Rollout));
    assert_eq!(riskiest(&[drift(Access), drift(Rollout)]), Some(Access));
    assert_eq!(riskiest(&[drift(SecretData), drift(Recreate), drift(Create)]), Some(Recreate));
    assert_eq!(riskier(Create, SecretData), Create);
}
