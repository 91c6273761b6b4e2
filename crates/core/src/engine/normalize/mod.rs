//! Normalization: the rules under which two spellings of a Kubernetes value are the same.
//!
//! - resource quantities compare by exact amount (`500m` == `0.5`, `1Gi` ==
//!   `1073741824`, `1e3` == `1k`) — [`quantity`];
//! - port int-or-strings compare by port number (`"80"` == `80`) for `targetPort`, probe
//!   and lifecycle `httpGet`/`tcpSocket` ports and NetworkPolicy ports — [`scalar`];
//! - numbers compare by value (`1` == `1.0`) — [`scalar`];
//! - defaults the API server fills in count as present — [`defaults`];
//! - a live `null` (and an empty list or map) equals absent; a template `null` means
//!   "must be absent".
//!
//! The comparison applies these rules lazily, field by field, without copying objects;
//! [`normalize`] applies them to a whole object, for caches, tests and callers that want
//! to see what the engine sees. Normalization is idempotent.

pub mod defaults;
pub(crate) mod equal;
pub mod quantity;
pub mod scalar;

use serde_json::{Map, Value};

use crate::engine::kind::ObjectKind;
use crate::engine::schema::{self, Field, Node, Scalar};

pub use quantity::{Format, Quantity, QuantityError};
pub use scalar::{numbers_eq, scalar_eq};

/// A normalized copy of `object` (see [`normalize_in_place`]).
pub fn normalize(object: &Value) -> Value {
    let mut copy = object.clone();
    normalize_in_place(&mut copy);
    copy
}

/// Normalizes a stored object in place, using the schema of its `apiVersion` and `kind`:
/// drops null fields, fills the defaults the API server would fill, writes quantities in
/// canonical form, port int-or-strings of digits as numbers and whole floats as integers.
/// Meant for live objects: a template's `null` ("must be absent") is dropped too.
pub fn normalize_in_place(object: &mut Value) {
    let known = ObjectKind::of(object).map(|kind| kind.known).unwrap_or_default();
    match object {
        Value::Object(map) => normalize_struct(Some(schema::root(known)), map),
        other => normalize_value(None, other),
    }
}

fn normalize_value(field: Option<&'static Field>, value: &mut Value) {
    match value {
        Value::Object(map) => match field {
            Some(Field::Struct(node)) => normalize_struct(Some(node), map),
            Some(Field::Map { values, .. }) => {
                map.retain(|_, value| !value.is_null());
                for value in map.values_mut() {
                    normalize_scalar(*values, value);
                }
            }
            _ => normalize_struct(None, map),
        },
        Value::Array(items) => {
            let items_node = match field {
                Some(Field::List { items: Some(node), .. }) => Some(node),
                _ => None,
            };
            for item in items {
                match (items_node, item) {
                    (Some(node), Value::Object(map)) => normalize_struct(Some(node), map),
                    (_, item) => normalize_value(None, item),
                }
            }
        }
        _ => normalize_scalar(schema::scalar_of(field), value),
    }
}

fn normalize_struct(node: Option<&'static Node>, map: &mut Map<String, Value>) {
    map.retain(|_, value| !value.is_null());
    if let Some(node) = node {
        defaults::fill(node.id, map);
    }
    for (key, value) in map.iter_mut() {
        normalize_value(schema::child(node, key), value);
    }
}

fn normalize_scalar(scalar: Scalar, value: &mut Value) {
    if let Some(canonical) = scalar::canonical_scalar(scalar, value) {
        *value = canonical;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    note: null
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      creationTimestamp: null
    spec:
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 0.5, memory: 1073741824}
            limits: {cpu: "1", memory: 1.5Gi}
          readinessProbe:
            httpGet: {port: "8080"}
        - name: proxy
          image: envoyproxy/envoy
      volumes:
        - name: config
          configMap: {name: web-config}
"#;

    #[test]
    fn fills_defaults_and_canonical_forms() {
        let normalized = normalize(&yaml(DEPLOYMENT));
        let spec = &normalized["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        assert_eq!(
            spec["strategy"],
            yaml("{type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}")
        );
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["schedulerName"], "default-scheduler");
        let app = &pod["containers"][0];
        assert_eq!(app["imagePullPolicy"], "IfNotPresent");
        assert_eq!(app["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(app["ports"][0]["protocol"], "TCP");
        assert_eq!(app["resources"]["requests"], yaml("{cpu: 500m, memory: '1073741824'}"));
        assert_eq!(app["resources"]["limits"], yaml("{cpu: '1', memory: 1536Mi}"));
        assert_eq!(app["readinessProbe"]["httpGet"], yaml("{port: 8080, path: /, scheme: HTTP}"));
        assert_eq!(app["readinessProbe"]["periodSeconds"], 10);
        assert_eq!(pod["containers"][1]["imagePullPolicy"], "Always");
        assert_eq!(pod["volumes"][0]["configMap"]["defaultMode"], 420);
        assert!(normalized["metadata"]["annotations"].get("note").is_none());
        assert!(spec["template"]["metadata"].get("creationTimestamp").is_none());
    }

    #[test]
    fn job_pod_templates_get_no_restart_policy() {
        let job = yaml(
            "{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec: {containers: [{name: a, image: busybox}]}}}}",
        );
        let normalized = normalize(&job);
        assert!(normalized["spec"]["template"]["spec"].get("restartPolicy").is_none());
        assert_eq!(normalized["spec"]["backoffLimit"], 6);
        let cron = yaml("{apiVersion: batch/v1, kind: CronJob, spec: {jobTemplate: {spec: {template: {spec: {}}}}}}");
        let normalized = normalize(&cron);
        assert_eq!(normalized["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(normalized["spec"]["jobTemplate"]["spec"]["backoffLimit"], 6);
        assert!(normalized["spec"]["jobTemplate"]["spec"]["template"]["spec"].get("restartPolicy").is_none());
    }

    #[test]
    fn services_default_ports_and_type() {
        let service = yaml(
            "{apiVersion: v1, kind: Service, spec: {selector: {app: web}, ports: [{port: 80, targetPort: '8080'}, {port: 443}]}}",
        );
        let normalized = normalize(&service);
        let spec = &normalized["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ports"][0], yaml("{port: 80, targetPort: 8080, protocol: TCP}"));
        assert_eq!(spec["ports"][1], yaml("{port: 443, targetPort: 443, protocol: TCP}"));
    }

    #[test]
    fn normalization_is_idempotent() {
        for text in [DEPLOYMENT, "{apiVersion: v1, kind: Secret, data: {a: YQ==}}", "{a: [1.0, {b: null}]}"] {
            let once = normalize(&yaml(text));
            assert_eq!(normalize(&once), once, "{text}");
        }
    }

    #[test]
    fn whole_floats_become_integers() {
        let normalized = normalize(&yaml("{apiVersion: example.com/v1, kind: W, spec: {a: 3.0, b: 2.5, c: [1.0]}}"));
        assert_eq!(normalized["spec"], yaml("{a: 3, b: 2.5, c: [1]}"));
    }
}
