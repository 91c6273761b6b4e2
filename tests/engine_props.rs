//! Property tests of the comparison engine over generated, realistic objects
//! (Deployments, Services, ConfigMaps, Secrets):
//! - an object complies with any projection of itself (a template made of some of its
//!   fields), also once normalized;
//! - normalization is idempotent, and normalizing the live object changes no comparison;
//! - applying the apply body (with a small server-side-apply merge that follows the
//!   engine's merge-key table) leaves no drift, and a body that fixes nothing changes
//!   nothing;
//! - adding ignore rules only ever removes drifts.

use std::collections::BTreeMap;

use driftwarden::engine::merge_keys::{ListType, is_atomic_map, list_type};
use driftwarden::engine::normalize::normalize;
use driftwarden::engine::pointer::PathPattern;
use driftwarden::engine::secret::encode_data;
use driftwarden::engine::{CompareRules, Drift, FingerprintKey, apply_body, compare};
use proptest::collection::btree_map;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Map, Value, json};

/// The key Secret values are fingerprinted with here.
fn key() -> FingerprintKey {
    FingerprintKey::new(b"driftwarden test fingerprint key").expect("32 bytes make a key")
}

// ---------------------------------------------------------------------------------------
// Generators

fn labels(keys: &'static [&'static str]) -> impl Strategy<Value = BTreeMap<&'static str, String>> {
    btree_map(select(keys), "[a-z0-9]{1,6}", 0..=keys.len())
}

fn cpu() -> impl Strategy<Value = Value> {
    select(vec![json!("250m"), json!(0.25), json!("1"), json!(2), json!("1500m"), json!("0.5")])
}

fn memory() -> impl Strategy<Value = Value> {
    select(vec![json!("256Mi"), json!("268435456"), json!("1Gi"), json!("0.5Gi"), json!(134_217_728), json!("1e9")])
}

fn resources() -> impl Strategy<Value = Value> {
    (option::of(cpu()), option::of(memory()), option::of(cpu()), option::of(memory())).prop_map(
        |(request_cpu, request_memory, limit_cpu, limit_memory)| {
            let pick = |cpu: Option<Value>, memory: Option<Value>| {
                let mut map = Map::new();
                if let Some(cpu) = cpu {
                    map.insert("cpu".into(), cpu);
                }
                if let Some(memory) = memory {
                    map.insert("memory".into(), memory);
                }
                Value::Object(map)
            };
            json!({"requests": pick(request_cpu, request_memory), "limits": pick(limit_cpu, limit_memory)})
        },
    )
}

fn container(name: &'static str) -> impl Strategy<Value = Value> {
    let image = select(vec![
        "nginx",
        "nginx:1.27",
        "nginx:latest",
        "registry.example.com/shop/app:2.1",
        "envoyproxy/envoy:v1.31.2",
    ]);
    let ports = btree_map(
        select(vec![80_u16, 443, 8080, 9090]),
        (option::of(select(vec!["TCP", "UDP"])), option::of(select(vec!["http", "metrics", "admin"]))),
        0..3,
    );
    let env = btree_map(select(vec!["LOG_LEVEL", "MODE", "REGION", "TIMEOUT"]), "[a-z0-9]{1,5}", 0..4);
    let security = option::of((any::<bool>(), any::<bool>(), any::<bool>()));
    let probe = option::of((select(vec![json!(8080), json!("http")]), option::of(select(vec![5, 10, 20]))));
    let args = option::of(subsequence(vec!["--verbose", "--port=8080", "--json"], 0..=3));
    (
        image,
        option::of(select(vec!["Always", "IfNotPresent"])),
        args,
        env,
        ports,
        option::of(resources()),
        security,
        probe,
    )
        .prop_map(move |(image, pull, args, env, ports, resources, security, probe)| {
            let mut container = json!({"name": name, "image": image});
            if let Some(pull) = pull {
                container["imagePullPolicy"] = json!(pull);
            }
            if let Some(args) = args {
                container["args"] = json!(args);
            }
            if !env.is_empty() {
                container["env"] = env.into_iter().map(|(name, value)| json!({"name": name, "value": value})).collect();
            }
            if !ports.is_empty() {
                container["ports"] = ports
                    .into_iter()
                    .map(|(port, (protocol, name))| {
                        let mut item = json!({"containerPort": port});
                        if let Some(protocol) = protocol {
                            item["protocol"] = json!(protocol);
                        }
                        if let Some(name) = name {
                            item["name"] = json!(name);
                        }
                        item
                    })
                    .collect();
            }
            if let Some(resources) = resources {
                container["resources"] = resources;
            }
            if let Some((non_root, escalation, drop_all)) = security {
                container["securityContext"] =
                    json!({"runAsNonRoot": non_root, "allowPrivilegeEscalation": escalation});
                if drop_all {
                    container["securityContext"]["capabilities"] = json!({"drop": ["ALL"]});
                }
            }
            if let Some((port, period)) = probe {
                container["readinessProbe"] = json!({"httpGet": {"path": "/healthz", "port": port}});
                if let Some(period) = period {
                    container["readinessProbe"]["periodSeconds"] = json!(period);
                }
            }
            container
        })
}

fn containers() -> impl Strategy<Value = Vec<Value>> {
    subsequence(vec!["app", "envoy", "log-shipper", "metrics"], 1..=3)
        .prop_flat_map(|names| names.into_iter().map(container).collect::<Vec<_>>())
}

fn pod_spec() -> impl Strategy<Value = Value> {
    let tolerations = option::of(select(vec![
        json!([{"key": "dedicated", "operator": "Equal", "value": "payments", "effect": "NoSchedule"}]),
        json!([{"key": "spot", "operator": "Exists"}]),
    ]));
    let volumes = subsequence(
        vec![
            json!({"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}),
            json!({"name": "config", "configMap": {"name": "settings"}}),
            json!({"name": "certs", "secret": {"secretName": "tls", "defaultMode": 420}}),
        ],
        0..=3,
    );
    (
        containers(),
        tolerations,
        option::of(labels(&["zone", "pool"])),
        option::of(any::<bool>()),
        option::of(select(vec!["default", "checkout"])),
        volumes,
        option::of((any::<bool>(), select(vec![1000, 2000]))),
    )
        .prop_map(|(containers, tolerations, node_selector, automount, account, volumes, security)| {
            let mut spec = json!({"containers": containers});
            if let Some(tolerations) = tolerations {
                spec["tolerations"] = tolerations;
            }
            if let Some(selector) = node_selector.filter(|selector| !selector.is_empty()) {
                spec["nodeSelector"] = json!(selector);
            }
            if let Some(automount) = automount {
                spec["automountServiceAccountToken"] = json!(automount);
            }
            if let Some(account) = account {
                spec["serviceAccountName"] = json!(account);
            }
            if !volumes.is_empty() {
                spec["volumes"] = json!(volumes);
            }
            if let Some((non_root, group)) = security {
                spec["securityContext"] = json!({"runAsNonRoot": non_root, "fsGroup": group});
            }
            spec
        })
}

const MANAGED_FIELDS: &str = r#"[
  {"manager": "helm", "operation": "Update", "time": "2024-05-01T09:00:00Z", "fieldsType": "FieldsV1",
   "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}},
  {"manager": "hpa", "operation": "Update", "time": "2024-05-02T09:00:00Z", "fieldsType": "FieldsV1",
   "fieldsV1": {"f:spec": {"f:replicas": {}}}},
  {"manager": "sidecar-injector", "operation": "Apply", "time": "2024-05-03T09:00:00Z", "fieldsType": "FieldsV1",
   "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"envoy\"}": {".": {}, "f:image": {}}}}}}}}
]"#;

fn deployment() -> impl Strategy<Value = Value> {
    let strategy = option::of(prop_oneof![
        Just(json!({"type": "Recreate"})),
        (select(vec![json!("25%"), json!(1)]), select(vec![json!("25%"), json!(0)]))
            .prop_map(|(surge, unavailable)| json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})),
    ]);
    (
        "[a-z]{3,8}",
        labels(&["team", "tier", "app.kubernetes.io/part-of"]),
        labels(&["example.com/owner", "driftwarden.dev/enforce"]),
        option::of(0_i64..10),
        option::of(select(vec![5_i64, 10])),
        strategy,
        pod_spec(),
        subsequence(vec!["example.com/cleanup", "example.com/audit"], 0..=2),
    )
        .prop_map(|(name, labels, annotations, replicas, history, strategy, pod, finalizers)| {
            let mut object = json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "shop", "labels": labels, "annotations": annotations,
                             "managedFields": serde_json::from_str::<Value>(MANAGED_FIELDS).unwrap()},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
                },
            });
            if !finalizers.is_empty() {
                object["metadata"]["finalizers"] = json!(finalizers);
            }
            if let Some(replicas) = replicas {
                object["spec"]["replicas"] = json!(replicas);
            }
            if let Some(history) = history {
                object["spec"]["revisionHistoryLimit"] = json!(history);
            }
            if let Some(strategy) = strategy {
                object["spec"]["strategy"] = strategy;
            }
            object
        })
}

fn service() -> impl Strategy<Value = Value> {
    let target = option::of(select(vec![json!(8080), json!(8443), json!("http")]));
    let ports = btree_map(
        select(vec![80_u16, 443, 8080]),
        (option::of(select(vec!["TCP", "UDP"])), target, option::of(select(vec!["http", "https"]))),
        1..3,
    );
    (
        "[a-z]{3,8}",
        labels(&["team", "tier"]),
        labels(&["app", "track"]),
        ports,
        option::of(select(vec!["ClusterIP", "NodePort"])),
        option::of(select(vec!["None", "ClientIP"])),
    )
        .prop_map(|(name, labels, selector, ports, kind, affinity)| {
            let ports: Vec<Value> = ports
                .into_iter()
                .map(|(port, (protocol, target, name))| {
                    let mut item = json!({"port": port});
                    if let Some(protocol) = protocol {
                        item["protocol"] = json!(protocol);
                    }
                    if let Some(target) = target {
                        item["targetPort"] = target;
                    }
                    if let Some(name) = name {
                        item["name"] = json!(name);
                    }
                    item
                })
                .collect();
            let mut object = json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "shop", "labels": labels},
                "spec": {"selector": selector, "ports": ports},
            });
            if let Some(kind) = kind {
                object["spec"]["type"] = json!(kind);
            }
            if let Some(affinity) = affinity {
                object["spec"]["sessionAffinity"] = json!(affinity);
            }
            object
        })
}

fn config_map() -> impl Strategy<Value = Value> {
    ("[a-z]{3,8}", labels(&["team", "tier"]), btree_map(select(vec!["mode", "level", "region"]), "[a-z ]{0,8}", 0..3))
        .prop_map(|(name, labels, data)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": data})
        })
}

fn secret() -> impl Strategy<Value = Value> {
    ("[a-z]{3,8}", btree_map(select(vec!["user", "password", "token"]), "[ -~]{0,12}", 0..3)).prop_map(
        |(name, data)| {
            let data: Map<String, Value> =
                data.into_iter().map(|(key, value)| (key.to_string(), json!(encode_data(value.as_bytes())))).collect();
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": data})
        },
    )
}

fn any_object() -> impl Strategy<Value = Value> {
    prop_oneof![deployment(), service(), config_map(), secret()]
}

/// A live object and another of the same kind, whose fields become a drifted template.
fn live_and_desired() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        (deployment(), deployment()),
        (service(), service()),
        (config_map(), config_map()),
        (secret(), secret())
    ]
}

const IGNORE_PATTERNS: &[&str] = &[
    "/spec/replicas",
    "/metadata/labels",
    "/metadata/annotations/example.com~1owner",
    "/metadata/finalizers",
    "/spec/selector",
    "/spec/template/spec/containers/*/image",
    "/spec/template/spec/containers/name=app",
    "/spec/template/spec/containers/*/env/*/value",
    "/spec/template/spec/containers/*/resources/limits",
    "/spec/template/spec/containers/*/ports/*/name",
    "/spec/template/spec/securityContext",
    "/spec/ports/*/targetPort",
    "/data/password",
    "/data/mode",
];

fn rules() -> impl Strategy<Value = CompareRules> {
    (subsequence(IGNORE_PATTERNS.to_vec(), 0..=4), subsequence(vec!["helm", "hpa", "sidecar-injector"], 0..=2))
        .prop_map(|(paths, managers)| CompareRules {
            ignore_paths: paths.into_iter().map(|path| PathPattern::parse(path).unwrap()).collect(),
            ignore_managers: managers.into_iter().map(str::to_string).collect(),
            fingerprints: key(),
        })
}

// ---------------------------------------------------------------------------------------
// Projections and a test-side server-side apply

fn group_kind(object: &Value) -> (String, String) {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    (group.to_string(), object["kind"].as_str().unwrap_or_default().to_string())
}

/// Deterministic choices from a seed (SplitMix64).
struct Dice(u64);

impl Dice {
    fn chance(&mut self, percent: u64) -> bool {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % 100 < percent
    }
}

struct Projection {
    group: String,
    kind: String,
    dice: Dice,
    /// Whether some scalar leaves become `null` ("must be absent").
    nulls: bool,
}

/// A template made of some of `object`'s fields: keyed items keep their keys, atomic
/// values stay whole, a Secret's data sometimes moves to `stringData`.
fn project(object: &Value, seed: u64, nulls: bool) -> Value {
    let (group, kind) = group_kind(object);
    let mut projection = Projection { group, kind, dice: Dice(seed), nulls };
    let mut template = projection.value(object, &mut Vec::new()).unwrap_or_else(|| json!({}));
    template["apiVersion"] = object["apiVersion"].clone();
    template["kind"] = object["kind"].clone();
    if projection.kind == "Secret"
        && let Some(data) = template.get_mut("data").and_then(Value::as_object_mut)
    {
        let moved: Vec<String> = data.keys().filter(|_| projection.dice.chance(50)).cloned().collect();
        let mut strings = Map::new();
        for key in moved {
            if let Some(Value::String(encoded)) = data.remove(&key) {
                let bytes = driftwarden::engine::secret::decode_data(&encoded).unwrap();
                strings.insert(key, json!(String::from_utf8(bytes).unwrap()));
            }
        }
        template["stringData"] = Value::Object(strings);
    }
    template
}

impl Projection {
    fn value(&mut self, value: &Value, path: &mut Vec<String>) -> Option<Value> {
        match value {
            Value::Object(map) => {
                if !path.is_empty() && is_atomic_map(&self.group, &self.kind, path) {
                    return self.dice.chance(70).then(|| value.clone());
                }
                let mut out = Map::new();
                for (key, child) in map {
                    let skipped = (path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "status"))
                        || (path.len() == 1 && key == "managedFields");
                    if skipped || !self.dice.chance(65) {
                        continue;
                    }
                    path.push(key.clone());
                    if let Some(projected) = self.value(child, path) {
                        out.insert(key.clone(), projected);
                    }
                    path.pop();
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => match list_type(&self.group, &self.kind, path) {
                ListType::Map(keys) => {
                    let mut out = Vec::new();
                    path.push("*".to_string());
                    for item in items {
                        if !self.dice.chance(70) {
                            continue;
                        }
                        let mut projected =
                            self.value(item, path).and_then(|v| v.as_object().cloned()).unwrap_or_default();
                        for key in keys {
                            if let Some(value) = item.get(*key) {
                                projected.insert((*key).to_string(), value.clone());
                            }
                        }
                        out.push(Value::Object(projected));
                    }
                    path.pop();
                    Some(Value::Array(out))
                }
                ListType::Set => Some(Value::Array(items.iter().filter(|_| self.dice.chance(70)).cloned().collect())),
                ListType::Atomic => self.dice.chance(70).then(|| value.clone()),
            },
            _ if self.nulls && self.dice.chance(8) => Some(Value::Null),
            scalar => Some(scalar.clone()),
        }
    }
}

/// A small server-side apply: maps merge, keyed lists merge by the engine's merge keys
/// (a missing `protocol` key is `TCP`, as the API server defaults it before merging), sets
/// unite, atomic values are replaced, `null` removes.
fn server_side_apply(live: &Value, body: &Value) -> Value {
    let (group, kind) = group_kind(body);
    merge(Some(live), body, &mut Vec::new(), &group, &kind).unwrap_or(Value::Null)
}

fn merge(live: Option<&Value>, applied: &Value, path: &mut Vec<String>, group: &str, kind: &str) -> Option<Value> {
    match applied {
        Value::Null => None,
        Value::Object(fields) if path.is_empty() || !is_atomic_map(group, kind, path) => {
            let mut out = live.and_then(Value::as_object).cloned().unwrap_or_default();
            for (key, value) in fields {
                path.push(key.clone());
                match merge(out.get(key), value, path, group, kind) {
                    Some(merged) => out.insert(key.clone(), merged),
                    None => out.remove(key),
                };
                path.pop();
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => match list_type(group, kind, path) {
            ListType::Map(keys) => {
                let mut out = live.and_then(Value::as_array).cloned().unwrap_or_default();
                path.push("*".to_string());
                for item in items {
                    let key_of = |value: &Value, key: &str| {
                        value
                            .get(key)
                            .cloned()
                            .unwrap_or_else(|| if key == "protocol" { json!("TCP") } else { Value::Null })
                    };
                    let position = out
                        .iter()
                        .position(|existing| keys.iter().all(|key| key_of(existing, key) == key_of(item, key)));
                    let merged =
                        merge(position.map(|index| &out[index]), item, path, group, kind).unwrap_or(Value::Null);
                    match position {
                        Some(index) => out[index] = merged,
                        None => out.push(merged),
                    }
                }
                path.pop();
                Some(Value::Array(out))
            }
            ListType::Set => {
                let mut out = live.and_then(Value::as_array).cloned().unwrap_or_default();
                for item in items {
                    if !out.contains(item) {
                        out.push(item.clone());
                    }
                }
                Some(Value::Array(out))
            }
            ListType::Atomic => Some(applied.clone()),
        },
        other => Some(other.clone()),
    }
}

fn paths_and_classes(drifts: &[Drift]) -> Vec<(String, String)> {
    drifts.iter().map(|drift| (drift.path.clone(), drift.class.to_string())).collect()
}

/// The template for `desired` over `live`: the same object name, so that a body does not
/// rename anything.
fn template_over(live: &Value, desired: &Value, seed: u64, nulls: bool) -> Value {
    let mut template = project(desired, seed, nulls);
    if template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"]["name"] = live["metadata"]["name"].clone();
        if let Some(namespace) = live["metadata"].get("namespace") {
            template["metadata"]["namespace"] = namespace.clone();
        }
    }
    template
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #[test]
    fn an_object_complies_with_any_projection_of_itself(object in any_object(), seed in any::<u64>()) {
        let template = project(&object, seed, false);
        prop_assert_eq!(compare(&object, &template, &CompareRules::new(key())), vec![]);
        prop_assert_eq!(compare(&normalize(&object), &template, &CompareRules::new(key())), vec![]);
    }

    #[test]
    fn normalization_is_idempotent(object in any_object(), seed in any::<u64>()) {
        let once = normalize(&object);
        prop_assert_eq!(normalize(&once), once.clone());
        // Templates too, nulls and all.
        let template = normalize(&project(&object, seed, true));
        prop_assert_eq!(normalize(&template), template);
    }

    #[test]
    fn normalizing_the_live_object_changes_no_comparison((live, desired) in live_and_desired(), seed in any::<u64>()) {
        let template = template_over(&live, &desired, seed, true);
        let rules = CompareRules::new(key());
        prop_assert_eq!(
            paths_and_classes(&compare(&live, &template, &rules)),
            paths_and_classes(&compare(&normalize(&live), &template, &rules))
        );
    }

    #[test]
    fn applying_the_body_leaves_no_drift(
        (live, desired) in live_and_desired(),
        seed in any::<u64>(),
        rules in rules(),
    ) {
        let template = template_over(&live, &desired, seed, true);
        let body = apply_body(Some(&live), &template, &rules, &|_| true);
        let fixed = server_side_apply(&live, body.as_value());
        // The only drift a fix cannot remove: a template demanding the absence of a field
        // the API server always defaults (desired null, live absent).
        let left: Vec<Drift> = compare(&fixed, &template, &rules)
            .into_iter()
            .filter(|drift| !(drift.desired.is_null() && drift.live.is_none()))
            .collect();
        prop_assert_eq!(left, vec![]);
    }

    #[test]
    fn a_body_that_fixes_nothing_changes_nothing(
        (live, desired) in live_and_desired(),
        seed in any::<u64>(),
        rules in rules(),
    ) {
        let template = template_over(&live, &desired, seed, true);
        let body = apply_body(Some(&live), &template, &rules, &|_| false);
        prop_assert_eq!(normalize(&server_side_apply(&live, body.as_value())), normalize(&live));
    }

    #[test]
    fn ignore_rules_only_remove_drifts(
        (live, desired) in live_and_desired(),
        seed in any::<u64>(),
        rules in rules(),
    ) {
        let template = template_over(&live, &desired, seed, true);
        let all = paths_and_classes(&compare(&live, &template, &CompareRules::new(key())));
        for drift in paths_and_classes(&compare(&live, &template, &rules)) {
            prop_assert!(all.contains(&drift), "{:?} is not among {:?}", drift, all);
        }
    }
}

/// The generated pairs are not trivially in sync: most drift, in every way the properties
/// above are meant to exercise.
#[test]
fn generated_templates_drift_in_every_way() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = (live_and_desired(), any::<u64>());
    let (mut drifted, mut missing_items, mut must_be_absent, mut secret_data, mut fixed_by_body) = (0, 0, 0, 0, 0);
    for _ in 0..300 {
        let ((live, desired), seed) = strategy.new_tree(&mut runner).unwrap().current();
        let template = template_over(&live, &desired, seed, true);
        let drifts = compare(&live, &template, &CompareRules::new(key()));
        drifted += usize::from(!drifts.is_empty());
        missing_items += drifts.iter().filter(|drift| drift.live.is_none() && drift.path.contains('=')).count();
        must_be_absent += drifts.iter().filter(|drift| drift.desired.is_null()).count();
        secret_data +=
            drifts.iter().filter(|drift| drift.path.starts_with("/data/") && live["kind"] == "Secret").count();
        let body = apply_body(Some(&live), &template, &CompareRules::new(key()), &|_| true);
        fixed_by_body += usize::from(!drifts.is_empty() && server_side_apply(&live, body.as_value()) != live);
    }
    assert!(drifted > 150, "only {drifted} of 300 pairs drift");
    assert!(
        missing_items > 30 && must_be_absent > 5 && secret_data > 20,
        "{missing_items} {must_be_absent} {secret_data}"
    );
    assert_eq!(fixed_by_body, drifted);
}
