use serde_json::{Value, json};

use super::{compare, missing};
use crate::api::RemediationClass;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::fingerprint::test_key;
use crate::engine::pointer::PathPattern;

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

fn rules(paths: &[&str], managers: &[&str]) -> CompareRules {
    CompareRules {
        ignore_paths: paths.iter().map(|path| PathPattern::parse(path).unwrap()).collect(),
        ignore_managers: managers.iter().map(|manager| manager.to_string()).collect(),
        fingerprints: test_key(),
    }
}

fn paths(drifts: &[Drift]) -> Vec<&str> {
    drifts.iter().map(|drift| drift.path.as_str()).collect()
}

fn drift<'d>(drifts: &'d [Drift], path: &str) -> &'d Drift {
    drifts.iter().find(|drift| drift.path == path).unwrap_or_else(|| panic!("no drift at {path}: {:?}", paths(drifts)))
}

const LIVE: &str = include_str!("../../../../../benches/fixtures/deployment-live.yaml");
const BASELINE: &str = include_str!("../../../../../benches/fixtures/deployment-baseline.yaml");

#[test]
fn a_compliant_deployment_has_no_drift() {
    assert_eq!(compare(&yaml(LIVE), &yaml(BASELINE), &CompareRules::new(test_key())), vec![]);
}

#[test]
fn fields_the_template_does_not_set_are_not_governed() {
    let template = yaml("{apiVersion: apps/v1, kind: Deployment, spec: {revisionHistoryLimit: 5}}");
    let mut live = yaml(LIVE);
    live["spec"]["replicas"] = json!(40);
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:latest");
    assert_eq!(compare(&live, &template, &CompareRules::new(test_key())), vec![]);
}

#[test]
fn a_changed_field_is_one_drift_attributed_to_its_writer() {
    let mut live = yaml(LIVE);
    live["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false);
    live["metadata"]["managedFields"].as_array_mut().unwrap().push(yaml(
        r#"
manager: kubectl-edit
operation: Update
time: "2024-05-06T10:42:00Z"
fieldsType: FieldsV1
fieldsV1:
  f:spec:
    f:template:
      f:spec:
        f:containers:
          k:{"name":"app"}:
            f:securityContext:
              f:readOnlyRootFilesystem: {}
"#,
    ));
    let drifts = compare(&live, &yaml(BASELINE), &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/template/spec/containers/name=app/securityContext/readOnlyRootFilesystem"]);
    let found = &drifts[0];
    assert_eq!(found.desired, json!(true));
    assert_eq!(found.live, Some(json!(false)));
    assert_eq!(found.class, RemediationClass::Access);
    let attribution = found.attribution.as_ref().unwrap();
    assert_eq!((attribution.manager.as_str(), attribution.operation.as_str()), ("kubectl-edit", "Update"));
    assert_eq!(attribution.time.as_deref(), Some("2024-05-06T10:42:00Z"));
}

#[test]
fn keyed_items_match_by_key_whatever_their_order() {
    let mut live = yaml(LIVE);
    live["spec"]["template"]["spec"]["containers"].as_array_mut().unwrap().reverse();
    live["spec"]["template"]["spec"]["containers"][2]["env"].as_array_mut().unwrap().reverse();
    assert_eq!(compare(&live, &yaml(BASELINE), &CompareRules::new(test_key())), vec![]);
}

#[test]
fn a_missing_item_is_one_drift_at_its_path() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          env:
            - name: FEATURE_FLAGS
              value: checkout-v2
              valueFrom: null
          ports:
            - containerPort: 8443
              name: https
        - name: istio-proxy
          image: istio/proxyv2:1.23.0
          resources: {limits: {memory: 1Gi}}
"#,
    );
    let drifts = compare(&yaml(LIVE), &template, &CompareRules::new(test_key()));
    assert_eq!(
        paths(&drifts),
        [
            "/spec/template/spec/containers/name=app/env/name=FEATURE_FLAGS",
            "/spec/template/spec/containers/name=app/ports/containerPort=8443,protocol=TCP",
            "/spec/template/spec/containers/name=istio-proxy",
        ]
    );
    assert!(drifts.iter().all(|drift| drift.live.is_none()));
    // Defaulted keys are spelled out in the desired item.
    assert_eq!(drifts[1].desired, json!({"containerPort": 8443, "name": "https", "protocol": "TCP"}));
    assert_eq!(drifts[2].class, RemediationClass::Rollout);
}

#[test]
fn ignored_parts_of_a_missing_item_are_left_out_of_its_desired_value() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: istio-proxy
          image: istio/proxyv2:1.23.0
          resources: {limits: {memory: 1Gi}}
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
"#,
    );
    let ignore = rules(&["/spec/template/spec/containers/*/image", "/spec/template/spec/containers/*/env/name=B"], &[]);
    let drifts = compare(&yaml(LIVE), &template, &ignore);
    assert_eq!(drifts.len(), 1);
    assert_eq!(
        drifts[0].desired,
        yaml("{name: istio-proxy, resources: {limits: {memory: 1Gi}}, env: [{name: A, value: '1'}]}")
    );
}

#[test]
fn container_ports_are_keyed_by_port_and_protocol() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          ports:
            - {containerPort: 8080, name: web}
            - {containerPort: 9090, protocol: UDP}
"#,
    );
    let drifts = compare(&yaml(LIVE), &template, &CompareRules::new(test_key()));
    assert_eq!(
        paths(&drifts),
        [
            "/spec/template/spec/containers/name=app/ports/containerPort=8080,protocol=TCP/name",
            "/spec/template/spec/containers/name=app/ports/containerPort=9090,protocol=UDP",
        ]
    );
    assert_eq!(drifts[0].live, Some(json!("http")));
}

#[test]
fn atomic_lists_are_compared_whole() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      tolerations:
        - {key: dedicated, operator: Equal, value: payments, effect: NoSchedule}
      containers:
        - name: app
          args: ["--port=8080", "--metrics-port=9090"]
          securityContext: {capabilities: {drop: [ALL]}}
"#,
    );
    let drifts = compare(&yaml(LIVE), &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/template/spec/containers/name=app/args"]);
    assert_eq!(drifts[0].live, Some(json!(["--port=8080", "--metrics-port=9090", "--log-format=json"])));
}

#[test]
fn atomic_selectors_must_match_whole() {
    let live = yaml(
        "{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web, track: canary}, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}}",
    );
    let template = yaml("{apiVersion: v1, kind: Service, spec: {selector: {app: web}}}");
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/selector"]);
}

#[test]
fn sets_are_compared_member_by_member() {
    let live =
        yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: c, finalizers: [example.com/a, example.com/b]}}");
    let template = yaml("{apiVersion: v1, kind: ConfigMap, metadata: {finalizers: [example.com/b, example.com/c]}}");
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/metadata/finalizers/example.com~1c"]);
    assert_eq!(drifts[0].class, RemediationClass::Spec);
}

#[test]
fn values_compare_after_normalization() {
    let live = yaml(
        r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: ClusterIP
  ports:
    - {name: http, port: 80, targetPort: 8080, protocol: TCP}
    - {name: https, port: 443, targetPort: https, protocol: TCP}
"#,
    );
    let template = yaml(
        r#"
apiVersion: v1
kind: Service
spec:
  type: ClusterIP
  sessionAffinity: None
  ports:
    - {port: 80.0, targetPort: "8080"}
    - {port: 443, targetPort: 8443}
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/ports/port=443,protocol=TCP/targetPort"]);
    assert_eq!(drifts[0].live, Some(json!("https")));
}

#[test]
fn quantities_compare_by_amount() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          resources:
            requests: {cpu: 0.25, memory: 268435456}
            limits: {cpu: 2000m, memory: 0.5Gi}
        - name: envoy
          resources:
            limits: {memory: 512Mi}
"#,
    );
    let drifts = compare(&yaml(LIVE), &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/template/spec/containers/name=envoy/resources/limits/memory"]);
    assert_eq!(drifts[0].class, RemediationClass::Rollout);
}

#[test]
fn absent_live_fields_hold_their_server_defaults() {
    // A manifest as written (not yet defaulted by an API server), as `check` sees it.
    let live = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          ports: [{containerPort: 80}]
          readinessProbe: {httpGet: {port: 80}}
        - name: tools
          image: busybox
"#,
    );
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  replicas: 1
  revisionHistoryLimit: 10
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%}}
  template:
    spec:
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      containers:
        - name: app
          imagePullPolicy: IfNotPresent
          terminationMessagePath: /dev/termination-log
          ports: [{containerPort: 80, protocol: TCP}]
          readinessProbe: {periodSeconds: 10, httpGet: {path: /, scheme: HTTP}}
        - name: tools
          imagePullPolicy: IfNotPresent
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/template/spec/containers/name=tools/imagePullPolicy"]);
    assert_eq!(drifts[0].live, None);
}

#[test]
fn defaults_hold_only_inside_structures_the_server_creates() {
    let live = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy: {type: Recreate}
  template:
    spec:
      containers: [{name: app, image: nginx:1.27}]
"#,
    );
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  strategy: {rollingUpdate: {maxSurge: 25%}}
  template:
    spec:
      containers:
        - name: app
          readinessProbe: {periodSeconds: 10}
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(
        paths(&drifts),
        [
            "/spec/strategy/rollingUpdate/maxSurge",
            "/spec/template/spec/containers/name=app/readinessProbe/periodSeconds"
        ]
    );
    // Without a strategy at all, the server creates a rolling one with its defaults.
    let mut defaulted = live.clone();
    defaulted["spec"].as_object_mut().unwrap().remove("strategy");
    assert_eq!(paths(&compare(&defaulted, &template, &CompareRules::new(test_key()))).len(), 1);
}

#[test]
fn null_means_absent() {
    let live = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {legacy: "yes", empty: null}}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: app, image: nginx}]
"#,
    );
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {annotations: {legacy: null, empty: null, other: null}}
spec:
  template:
    metadata: {creationTimestamp: null}
    spec: {hostNetwork: null, hostPID: null}
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/metadata/annotations/legacy", "/spec/template/spec/hostNetwork"]);
    assert_eq!(drifts[0].desired, Value::Null);
    assert_eq!(drifts[1].class, RemediationClass::Access);
}

#[test]
fn identity_and_server_fields_are_not_compared() {
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: other-name
  namespace: other
  uid: x
  resourceVersion: "1"
  creationTimestamp: null
  generation: 3
status: {replicas: 99}
"#,
    );
    assert_eq!(compare(&yaml(LIVE), &template, &CompareRules::new(test_key())), vec![]);
}

#[test]
fn a_value_of_another_type_is_one_drift() {
    let live = yaml("{apiVersion: example.com/v1, kind: Widget, spec: {size: large}}");
    let template = yaml("{apiVersion: example.com/v1, kind: Widget, spec: {size: {cpu: 2}}}");
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/size"]);
    assert_eq!(drifts[0].desired, json!({"cpu": 2}));
}

#[test]
fn custom_resources_merge_maps_and_compare_lists_whole() {
    let live = yaml("{apiVersion: example.com/v1, kind: Widget, spec: {tags: [a, b], limits: {x: 1, y: 2}}}");
    let template = yaml("{apiVersion: example.com/v1, kind: Widget, spec: {tags: [a], limits: {x: 1.0}}}");
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/tags"]);
}

#[test]
fn ignore_paths_take_fields_out_of_governance() {
    let mut live = yaml(LIVE);
    live["spec"]["revisionHistoryLimit"] = json!(2);
    live["metadata"]["labels"]["team"] = json!("other");
    live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = json!("text");
    let baseline = yaml(BASELINE);
    let all = compare(&live, &baseline, &CompareRules::new(test_key()));
    assert_eq!(
        paths(&all),
        [
            "/metadata/labels/team",
            "/spec/revisionHistoryLimit",
            "/spec/template/spec/containers/name=app/env/name=LOG_FORMAT/value",
        ]
    );
    let ignore = rules(
        &["/spec/revisionHistoryLimit", "/metadata/labels", "/spec/template/spec/containers/*/env/name=LOG_FORMAT"],
        &[],
    );
    assert_eq!(compare(&live, &baseline, &ignore), vec![]);
    let wildcard = rules(&["/spec/template/spec/containers/*/env/*/value"], &[]);
    assert_eq!(paths(&compare(&live, &baseline, &wildcard)), ["/metadata/labels/team", "/spec/revisionHistoryLimit"]);
}

#[test]
fn fields_owned_by_ignored_managers_are_not_governed() {
    let template = yaml("{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3, revisionHistoryLimit: 4}}");
    let live = yaml(LIVE);
    assert_eq!(
        paths(&compare(&live, &template, &CompareRules::new(test_key()))),
        ["/spec/replicas", "/spec/revisionHistoryLimit"]
    );
    let drifts = compare(&live, &template, &rules(&[], &["keda-operator"]));
    assert_eq!(paths(&drifts), ["/spec/revisionHistoryLimit"]);
    assert_eq!(drifts[0].attribution.as_ref().map(|a| a.manager.as_str()), Some("helm"));
}

#[test]
fn cron_job_pod_templates_are_walked_with_their_merge_keys() {
    let live = yaml(
        r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/report:2.0
              env: [{name: MODE, value: full}, {name: REGION, value: eu}]
"#,
    );
    let template = yaml(
        r#"
apiVersion: batch/v1
kind: CronJob
spec:
  concurrencyPolicy: Allow
  jobTemplate:
    spec:
      backoffLimit: 6
      template:
        spec:
          containers:
            - name: report
              env: [{name: REGION, value: us}]
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/jobTemplate/spec/template/spec/containers/name=report/env/name=REGION/value"]);
    assert_eq!(drifts[0].class, RemediationClass::Rollout);
}

#[test]
fn annotation_keys_are_escaped_in_paths() {
    let mut live = yaml(LIVE);
    live["metadata"]["annotations"]["driftwarden.dev/owner"] = json!("nobody");
    let drifts = compare(&live, &yaml(BASELINE), &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/metadata/annotations/driftwarden.dev~1owner"]);
    assert_eq!(drifts[0].class, RemediationClass::Metadata);
}

const SECRET_LIVE: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"s3cr3t-Live"}}'
type: Opaque
data:
  username: YWRtaW4=
  password: czNjcjN0LUxpdmU=
  token: dG9rLWxpdmUtOTk=
"#;

const SECRET_TEMPLATE: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"c0rrect-Horse"}}'
type: Opaque
data:
  username: YWRtaW4=
  token: dG9rLWRlc2lyZWQtMQ==
stringData:
  password: c0rrect-Horse
  apiKey: ak-Desired-42
"#;

#[test]
fn secret_data_is_compared_by_content_with_string_data_folded_in() {
    let drifts = compare(&yaml(SECRET_LIVE), &yaml(SECRET_TEMPLATE), &CompareRules::new(test_key()));
    assert_eq!(
        paths(&drifts),
        [
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
            "/data/token",
            "/data/apiKey",
            "/data/password",
        ]
    );
    assert!(drifts.iter().all(|drift| drift.class == RemediationClass::SecretData));
    let password = drift(&drifts, "/data/password");
    assert_eq!(password.desired, json!(test_key().fingerprint(b"c0rrect-Horse")));
    assert_eq!(password.live, Some(json!(test_key().fingerprint(b"s3cr3t-Live"))));
    assert_eq!(drift(&drifts, "/data/apiKey").live, None);

    // The same value in `stringData` and in live `data` holds.
    let same = yaml("{apiVersion: v1, kind: Secret, stringData: {username: admin}}");
    assert_eq!(compare(&yaml(SECRET_LIVE), &same, &CompareRules::new(test_key())), vec![]);
}

#[test]
fn no_secret_value_appears_in_drifts_their_debug_or_serde_output() {
    let mut drifts = compare(&yaml(SECRET_LIVE), &yaml(SECRET_TEMPLATE), &CompareRules::new(test_key()));
    drifts.push(missing(&yaml(SECRET_TEMPLATE), &CompareRules::new(test_key())));
    let mut wrong_type = yaml(SECRET_LIVE);
    wrong_type["data"] = json!("czNjcjN0LUxpdmU=");
    drifts.extend(compare(&wrong_type, &yaml(SECRET_TEMPLATE), &CompareRules::new(test_key())));
    let output = format!("{drifts:?}\n{drifts:#?}\n{}", serde_json::to_string(&drifts).unwrap());
    for value in ["s3cr3t-Live", "c0rrect-Horse", "ak-Desired-42", "tok-live-99", "tok-desired-1", "admin"] {
        assert!(!output.contains(value), "plaintext {value} leaked");
        let encoded = crate::engine::secret::encode_data(value.as_bytes());
        assert!(!output.contains(&encoded), "base64 of {value} leaked");
        assert!(!output.contains(encoded.trim_end_matches('=')), "base64 of {value} leaked");
    }
    assert!(output.contains("hmac-sha256:"));
}

#[test]
fn a_missing_object_is_one_create_drift() {
    let template = yaml(
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop, labels: {a: b}}, data: {mode: fast, debug: 'false'}}",
    );
    let found = missing(&template, &rules(&["/data/debug"], &[]));
    assert_eq!(found.path, "");
    assert_eq!(found.class, RemediationClass::Create);
    assert_eq!(found.live, None);
    assert_eq!(
        found.desired,
        yaml(
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop, labels: {a: b}}, data: {mode: fast}}"
        )
    );
    let secret = missing(&yaml(SECRET_TEMPLATE), &CompareRules::new(test_key()));
    assert_eq!(secret.desired["data"]["apiKey"], json!(test_key().fingerprint(b"ak-Desired-42")));
}

#[test]
fn an_empty_member_of_a_one_of_must_be_present() {
    let live = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: app, image: nginx:1.27, livenessProbe: {exec: {command: [true]}}}]
      volumes: [{name: cache, hostPath: {path: /var/cache}}, {name: scratch, emptyDir: {}}]
"#,
    );
    let template = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers: [{name: app, livenessProbe: {tcpSocket: {}}}]
      volumes: [{name: cache, emptyDir: {}}, {name: scratch, emptyDir: {}}]
"#,
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(
        paths(&drifts),
        [
            "/spec/template/spec/containers/name=app/livenessProbe/tcpSocket",
            "/spec/template/spec/volumes/name=cache/emptyDir"
        ]
    );
    // Elsewhere an empty map governs nothing.
    let labels = yaml(
        "{apiVersion: apps/v1, kind: Deployment, metadata: {labels: {}}, spec: {template: {spec: {nodeSelector: {}}}}}",
    );
    assert_eq!(compare(&live, &labels, &CompareRules::new(test_key())), vec![]);
}

#[test]
fn must_be_absent_fails_for_fields_the_server_defaults() {
    let live = yaml(
        "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: []}}}}",
    );
    let template = yaml(
        "{apiVersion: apps/v1, kind: Deployment, spec: {strategy: {type: null}, progressDeadlineSeconds: null, paused: null}}",
    );
    let drifts = compare(&live, &template, &CompareRules::new(test_key()));
    assert_eq!(paths(&drifts), ["/spec/progressDeadlineSeconds", "/spec/strategy/type"]);
}
