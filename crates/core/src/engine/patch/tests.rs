use std::cell::RefCell;

use serde_json::{Value, json};

use super::apply_body;
use crate::api::RemediationClass;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::fingerprint::test_key;
use crate::engine::pointer::PathPattern;

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

const LIVE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {team: other, app: web}
  managedFields:
    - manager: hpa
      operation: Update
      time: "2024-05-04T00:00:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:replicas: {}
spec:
  replicas: 7
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          imagePullPolicy: IfNotPresent
          ports: [{containerPort: 80, protocol: TCP, name: http}]
          securityContext: {allowPrivilegeEscalation: true}
          resources: {limits: {cpu: 500m}}
"#;

const TEMPLATE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  labels: {team: web}
spec:
  replicas: 3
  revisionHistoryLimit: 10
  template:
    spec:
      automountServiceAccountToken: false
      containers:
        - name: app
          ports: [{containerPort: 80, name: http}]
          securityContext: {allowPrivilegeEscalation: false}
          resources: {limits: {cpu: 0.5}}
        - name: sidecar
          image: envoyproxy/envoy:v1.31.2
"#;

fn rules(paths: &[&str], managers: &[&str]) -> CompareRules {
    CompareRules {
        ignore_paths: paths.iter().map(|path| PathPattern::parse(path).unwrap()).collect(),
        ignore_managers: managers.iter().map(|manager| manager.to_string()).collect(),
        fingerprints: test_key(),
    }
}

#[test]
fn fixed_drifts_take_desired_values_and_the_rest_keep_live_ones() {
    let live = yaml(LIVE);
    let only_metadata = |drift: &Drift| drift.class == RemediationClass::Metadata;
    let body = apply_body(Some(&live), &yaml(TEMPLATE), &CompareRules::new(test_key()), &only_metadata);
    let expected = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {team: web}
spec:
  replicas: 7
  revisionHistoryLimit: 10
  template:
    spec:
      containers:
        - name: app
          ports: [{containerPort: 80, name: http, protocol: TCP}]
          securityContext: {allowPrivilegeEscalation: true}
          resources: {limits: {cpu: 500m}}
"#,
    );
    assert_eq!(body.as_value(), &expected);
}

#[test]
fn fixing_everything_restores_every_governed_field() {
    let live = yaml(LIVE);
    let body = apply_body(Some(&live), &yaml(TEMPLATE), &CompareRules::new(test_key()), &|_| true);
    let expected = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {team: web}
spec:
  replicas: 3
  revisionHistoryLimit: 10
  template:
    spec:
      automountServiceAccountToken: false
      containers:
        - name: app
          ports: [{containerPort: 80, name: http, protocol: TCP}]
          securityContext: {allowPrivilegeEscalation: false}
          resources: {limits: {cpu: 500m}}
        - name: sidecar
          image: envoyproxy/envoy:v1.31.2
"#,
    );
    assert_eq!(body.as_value(), &expected);
}

#[test]
fn ignored_paths_and_fields_of_ignored_managers_stay_out() {
    let live = yaml(LIVE);
    let ignore = rules(&["/metadata/labels", "/spec/template/spec/containers/*/resources"], &["hpa"]);
    let body = apply_body(Some(&live), &yaml(TEMPLATE), &ignore, &|_| true);
    let value = body.as_value();
    assert!(value["metadata"].get("labels").is_none());
    assert!(value["spec"].get("replicas").is_none(), "owned by hpa");
    assert!(value["spec"]["template"]["spec"]["containers"][0].get("resources").is_none());
    assert_eq!(value["spec"]["revisionHistoryLimit"], 10);
}

#[test]
fn the_fix_decision_sees_each_drift_once_with_its_class() {
    let live = yaml(LIVE);
    let seen = RefCell::new(Vec::new());
    let record = |drift: &Drift| {
        seen.borrow_mut().push((drift.path.clone(), drift.class));
        false
    };
    let body = apply_body(Some(&live), &yaml(TEMPLATE), &CompareRules::new(test_key()), &record);
    assert_eq!(
        seen.into_inner(),
        vec![
            ("/metadata/labels/team".to_string(), RemediationClass::Metadata),
            ("/spec/replicas".to_string(), RemediationClass::Spec),
            ("/spec/template/spec/automountServiceAccountToken".to_string(), RemediationClass::Access),
            (
                "/spec/template/spec/containers/name=app/securityContext/allowPrivilegeEscalation".to_string(),
                RemediationClass::Access
            ),
            ("/spec/template/spec/containers/name=sidecar".to_string(), RemediationClass::Rollout),
        ]
    );
    // Nothing fixed: unfixed fields absent on the live object stay out.
    let value = body.into_value();
    assert!(value["spec"]["template"]["spec"].get("automountServiceAccountToken").is_none());
    assert_eq!(value["spec"]["template"]["spec"]["containers"].as_array().map(Vec::len), Some(1));
}

#[test]
fn must_be_absent_is_applied_as_null() {
    let live =
        yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: c, annotations: {legacy: 'yes'}}, data: {a: b}}");
    let template = yaml("{apiVersion: v1, kind: ConfigMap, metadata: {annotations: {legacy: null, gone: null}}}");
    let body = apply_body(Some(&live), &template, &CompareRules::new(test_key()), &|_| true);
    assert_eq!(
        body.as_value(),
        &yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: c, annotations: {legacy: null}}}")
    );
}

#[test]
fn a_missing_object_gets_its_whole_governed_template() {
    let template = yaml(
        "{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{port: 80}]}}",
    );
    let classes = RefCell::new(Vec::new());
    let record = |drift: &Drift| {
        classes.borrow_mut().push(drift.class);
        true
    };
    let body = apply_body(None, &template, &CompareRules::new(test_key()), &record);
    assert_eq!(
        body.as_value(),
        &yaml(
            "{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{port: 80, protocol: TCP}]}}"
        )
    );
    assert!(classes.into_inner().iter().all(|class| *class == RemediationClass::Create));
}

#[test]
fn secret_string_data_is_applied_as_data_and_never_debug_printed() {
    let live = yaml(
        "{apiVersion: v1, kind: Secret, metadata: {name: db}, type: Opaque, data: {user: YWRtaW4=, password: b2xkLXBhc3M=}}",
    );
    let template =
        yaml("{apiVersion: v1, kind: Secret, metadata: {name: db}, stringData: {password: n3w-Pass, user: admin}}");
    let body = apply_body(Some(&live), &template, &CompareRules::new(test_key()), &|_| true);
    assert_eq!(
        body.as_value(),
        &yaml("{apiVersion: v1, kind: Secret, metadata: {name: db}, data: {user: YWRtaW4=, password: bjN3LVBhc3M=}}")
    );
    let debug = format!("{body:?} {body:#?}");
    for leaked in ["n3w-Pass", "bjN3LVBhc3M", "admin", "YWRtaW4"] {
        assert!(!debug.contains(leaked), "{leaked} in {debug}");
    }
    let unfixed = apply_body(Some(&live), &template, &CompareRules::new(test_key()), &|_| false);
    assert_eq!(unfixed.as_value()["data"], json!({"user": "YWRtaW4=", "password": "b2xkLXBhc3M="}));
}

#[test]
fn identity_only_bodies_are_recognised() {
    let live = yaml(LIVE);
    let template = yaml("{apiVersion: apps/v1, kind: Deployment, metadata: {labels: {team: web}}}");
    let body = apply_body(Some(&live), &template, &rules(&["/metadata/labels"], &[]), &|_| true);
    assert!(body.is_identity_only());
    assert!(!apply_body(Some(&live), &template, &CompareRules::new(test_key()), &|_| true).is_identity_only());
}
