//! Comparison throughput: one realistic Deployment (sidecars, env, probes, resources,
//! securityContext) against a ~30-field baseline, and a batch of 10,000 Deployments; and
//! the admission objects generated from a policy holding that baseline.
//!
//! Run with `cargo bench --bench compare`; record the figures and the machine in
//! `BENCHMARKS.md`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use driftwarden::engine::pointer::PathPattern;
use driftwarden::engine::{CompareRules, FingerprintKey, apply_body, compare, normalize};
use serde_json::{Value, json};

const LIVE: &str = include_str!("fixtures/deployment-live.yaml");
const BASELINE: &str = include_str!("fixtures/deployment-baseline.yaml");

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("fixture is valid YAML")
}

fn rules() -> CompareRules {
    CompareRules {
        ignore_paths: vec![
            PathPattern::parse("/spec/replicas").expect("valid pattern"),
            PathPattern::parse("/metadata/annotations/deployment.kubernetes.io~1revision").expect("valid pattern"),
        ],
        ignore_managers: vec!["keda-operator".to_string()],
        fingerprints: FingerprintKey::new(b"driftwarden bench fingerprint key").expect("32 bytes make a key"),
    }
}

/// 10,000 Deployments like the fixture, with their own names, images and sizes; one in
/// ten has drifted somewhere the baseline governs.
fn fleet(live: &Value) -> Vec<Value> {
    (0..10_000)
        .map(|index| {
            let mut object = live.clone();
            object["metadata"]["name"] = json!(format!("service-{index}"));
            object["spec"]["replicas"] = json!(index % 7 + 1);
            let containers = &mut object["spec"]["template"]["spec"]["containers"];
            containers[0]["image"] = json!(format!("registry.example.com/shop/service-{index}:1.{}.0", index % 50));
            match index % 10 {
                3 => containers[0]["env"][0]["value"] = json!("text"),
                7 => containers[1]["securityContext"]["allowPrivilegeEscalation"] = json!(true),
                9 => object["metadata"]["labels"]["team"] = json!("unknown"),
                _ => {}
            }
            object
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let live = yaml(LIVE);
    let baseline = yaml(BASELINE);
    let rules = rules();
    assert!(compare(&live, &baseline, &rules).is_empty(), "the fixture complies with the baseline");

    let mut single = c.benchmark_group("compare");
    single.throughput(Throughput::Elements(1));
    single.bench_function("deployment vs 30-field baseline, in sync", |b| {
        b.iter(|| compare(black_box(&live), black_box(&baseline), black_box(&rules)))
    });
    let mut drifted = live.clone();
    drifted["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false);
    drifted["metadata"]["labels"]["team"] = json!("unknown");
    single.bench_function("deployment vs 30-field baseline, 2 drifts", |b| {
        b.iter(|| compare(black_box(&drifted), black_box(&baseline), black_box(&rules)))
    });
    single.bench_function("apply body for a drifted deployment", |b| {
        b.iter(|| apply_body(Some(black_box(&drifted)), black_box(&baseline), black_box(&rules), &|_| true))
    });
    single.bench_function("normalize a whole deployment", |b| {
        b.iter_batched(
            || live.clone(),
            |mut object| {
                normalize::normalize_in_place(&mut object);
                object
            },
            BatchSize::SmallInput,
        )
    });
    single.finish();

    let fleet = fleet(&live);
    let mut batch = c.benchmark_group("compare batch");
    batch.throughput(Throughput::Elements(fleet.len() as u64));
    batch.sample_size(20);
    batch.bench_function("10,000 deployments vs baseline", |b| {
        b.iter(|| fleet.iter().map(|object| compare(object, black_box(&baseline), &rules).len()).sum::<usize>())
    });
    batch.finish();
}

/// The admission objects generated from a policy holding the 30-field baseline, with 10
/// and then 100 active exceptions that each cover one path (every exception is tested in
/// each validation whose path it covers): what the operator does for each policy when an
/// exception starts or expires.
fn admission(c: &mut Criterion) {
    use driftwarden::admission::{Excepted, Source, generate};
    use driftwarden::api::TargetMatch;
    use driftwarden::api::policy::PolicySpec;
    let mut template = yaml(BASELINE);
    if let Some(object) = template.as_object_mut() {
        object.remove("apiVersion");
        object.remove("kind");
    }
    let spec: PolicySpec = serde_json::from_value(json!({
        "owner": {"team": "payments"},
        "baselines": [{"match": {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "selector": {"matchLabels": {"app.kubernetes.io/part-of": "shop"}}},
                       "template": template}],
        "admission": {"action": "Deny"}
    }))
    .expect("a policy spec");
    let key = FingerprintKey::new(b"driftwarden bench fingerprint key").expect("32 bytes make a key");
    let compiled = driftwarden::engine::evaluate::compile("web", None, &spec, &key).expect("compiles");
    let policy_key = driftwarden::keys::PolicyKey { namespace: None, name: "web".into() };
    let resource_of = |_: &str, _: &str| Some(("deployments".to_string(), true));
    let exempt = vec!["system:serviceaccount:driftwarden-system:driftwarden".to_string()];
    let targets: Vec<TargetMatch> = (0..100)
        .map(|i| {
            serde_json::from_value(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "names": [format!("web-{i}")]}),
            )
            .expect("a target")
        })
        .collect();
    let paths = [PathPattern::parse("/spec/template/spec/containers/*/image").expect("valid pattern")];
    let mut group = c.benchmark_group("admission generate");
    for count in [0, 10, 100] {
        let exceptions: Vec<Excepted<'_>> =
            targets.iter().take(count).map(|target| Excepted { target, pin: None, paths: &paths }).collect();
        group.bench_function(format!("30-field baseline, {count} exceptions"), |b| {
            b.iter(|| {
                generate(black_box(&Source {
                    key: &policy_key,
                    uid: None,
                    admission: spec.admission.as_ref().expect("admission"),
                    policy: &compiled,
                    resource_of: &resource_of,
                    exempt_users: &exempt,
                    exempt_groups: &[],
                    exceptions: &exceptions,
                }))
            })
        });
    }
    group.finish();
}

criterion_group!(compare_benches, benches, admission);
criterion_main!(compare_benches);
