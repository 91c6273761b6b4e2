//! `driftwarden diff`: read-only. What each policy in the cluster would change now, from
//! one list of each kind the policies name, and what the operator will do about each drift
//! (fix it, escalate it to its owner, wait for a window, leave it to an exception, report
//! an opted-out object), decided by the operator's own rules. Nothing is written.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use crate::api::policy::{ClusterDriftPolicy, ClusterExceptions, DriftPolicy, PolicySpec};
use crate::check::{Plan, Report, Violation};
use crate::engine::FingerprintKey;
use crate::engine::campaign::owner_of_object;
use crate::engine::decide::{Counters, DecisionInput, ExceptionCover, decide, opted_out};
use crate::engine::drift::Drift;
use crate::engine::evaluate::{CompiledPolicy, compile};
use crate::keys::{KindKey, ObjectKey};
use crate::reconcile::exceptions::ExceptionEntry;

/// Why `diff` could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot list {what}: {source}")]
    List {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("no policy named {0}")]
    NoSuchPolicy(String),
}

/// One policy that could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub policy: String,
    pub reason: String,
}

/// Evaluates the cluster's policies (or the one named `only`, as `name` or
/// `namespace/name`) against the live objects, showing Secret values as fingerprints under
/// `fingerprints`.
pub async fn diff(
    client: Client,
    only: Option<&str>,
    fingerprints: &FingerprintKey,
    operator: &OperatorView,
) -> Result<(Report, Vec<Skipped>), DiffError> {
    let mut compiled: Vec<(CompiledPolicy, Governance)> = Vec::new();
    let mut skipped = Vec::new();
    for (name, namespace, spec) in policies(&client).await? {
        if only.is_some_and(|only| only != name && only != name.rsplit('/').next().unwrap_or_default()) {
            continue;
        }
        match spec.map_err(|err| err.to_string()).and_then(|(spec, governance)| {
            compile(&name, namespace.as_deref(), &spec, fingerprints)
                .map(|policy| (policy, governance))
                .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        }) {
            Ok(policy) => compiled.push(policy),
            Err(reason) => skipped.push(Skipped { policy: name, reason }),
        }
    }
    if let Some(only) = only
        && compiled.is_empty()
        && skipped.is_empty()
    {
        return Err(DiffError::NoSuchPolicy(only.to_string()));
    }
    let namespaces = namespace_labels(&client).await?;
    let labels = |ns: &str| namespaces.get(ns).cloned();
    let exceptions = exceptions(&client, operator).await?;
    let now = jiff::Timestamp::now();
    let mut objects_by_kind: BTreeMap<KindKey, Vec<Value>> = BTreeMap::new();
    let mut report = Report { policies: compiled.len(), ..Report::default() };
    for (policy, governance) in &compiled {
        let kinds: Vec<KindKey> = policy.kinds().into_iter().map(|(v, k)| KindKey::new(v, k)).collect();
        for kind in &kinds {
            if !objects_by_kind.contains_key(kind) {
                let objects = match list_kind(&client, kind).await {
                    Ok(objects) => objects,
                    Err(reason) => {
                        skipped.push(Skipped { policy: policy.name.clone(), reason });
                        Vec::new()
                    }
                };
                report.objects += objects.len();
                objects_by_kind.insert(kind.clone(), objects);
            }
        }
        let objects: Vec<Value> = kinds.iter().flat_map(|k| objects_by_kind[k].iter().cloned()).collect();
        let by_key: BTreeMap<ObjectKey, &Value> = objects.iter().map(|o| (ObjectKey::of(o), o)).collect();
        let results = policy.evaluate(&objects, &labels);
        let context = Context { policy, governance, exceptions: &exceptions, operator, labels: &labels, now };
        let mut planned = plan(&context, &results, &by_key);
        for result in results {
            report.targets += 1;
            for sourced in result.findings {
                for drift in sourced.drifts {
                    report.violations.push(Violation {
                        policy: policy.name.clone(),
                        source: sourced.source.clone(),
                        object: result.target.clone(),
                        origin: None,
                        drift,
                        admission: None,
                        operator: planned.next(),
                    });
                }
            }
        }
    }
    Ok((report, skipped))
}

/// What `diff` assumes of the operator whose decisions it previews.
#[derive(Clone, Debug)]
pub struct OperatorView {
    /// The operator's namespace: its DriftExceptions may cover any namespace.
    pub namespace: String,
    /// The field managers whose fields are never fixed (the operator's `--appliers`).
    pub appliers: Vec<String>,
    /// The longest any DriftException may last (the operator's `--max-exception-duration`).
    pub max_exception_duration: std::time::Duration,
}

/// What a policy's spec says about who is accountable and which exceptions apply, besides
/// what [`compile`] reads.
#[derive(Clone, Debug)]
struct Governance {
    owner_labels: Vec<String>,
    owner: Option<crate::api::Owner>,
    /// Whether DriftExceptions outside the operator's namespace may cover its drift.
    namespaced_exceptions: bool,
}

struct Context<'a> {
    policy: &'a CompiledPolicy,
    governance: &'a Governance,
    exceptions: &'a [ExceptionEntry],
    operator: &'a OperatorView,
    labels: &'a dyn Fn(&str) -> Option<BTreeMap<String, String>>,
    now: jiff::Timestamp,
}

/// The plan for every drift of `results`, in their order: each object's drifts decided as
/// the operator decides them, with the policy's counts for its circuit breaker. What only
/// the running operator knows is taken as at rest: no fix in the last minute (rate limit)
/// and no field fixed before (flapping).
fn plan(
    context: &Context<'_>,
    results: &[crate::engine::evaluate::TargetResult],
    objects: &BTreeMap<ObjectKey, &Value>,
) -> std::vec::IntoIter<Plan> {
    let Context { policy, governance, operator, labels, now, .. } = *context;
    let covers_of = |object: Option<&Value>| -> Vec<ExceptionCover> {
        let Some(object) = object else { return Vec::new() };
        context
            .exceptions
            .iter()
            .filter(|e| e.applies_to(governance.namespaced_exceptions, &operator.namespace))
            .filter(|e| e.selects(object, &operator.namespace, labels))
            .map(|e| e.cover.clone())
            .collect()
    };
    let live =
        |result: &crate::engine::evaluate::TargetResult| objects.get(&ObjectKey::from_ref(&result.target)).copied();
    let targets = results.len() as u32;
    let drifted = results
        .iter()
        .filter(|result| {
            let covers = covers_of(live(result));
            result.drifts().any(|d| !covers.iter().any(|c| c.covers(d, now)))
        })
        .count() as u32;
    let no_fixes = |_: &str| 0;
    let mut plans = Vec::new();
    for result in results {
        let object = live(result);
        let covers = covers_of(object);
        let drifts: Vec<Drift> = result.drifts().cloned().collect();
        let input = DecisionInput {
            rules: &policy.rules,
            opted_out: object.is_some_and(opted_out),
            exceptions: &covers,
            counters: Counters { targets, drifted, remediations_last_minute: 0, fixes_of: &no_fixes },
            appliers: policy.rules.appliers.as_deref().unwrap_or(&operator.appliers),
            own_manager: "driftwarden",
            now,
        };
        let namespace = result.target.namespace.as_deref().and_then(labels);
        let owner =
            owner_of_object(&governance.owner_labels, object, namespace.as_ref(), governance.owner.as_ref()).team;
        plans.extend(decide(&input, &drifts).iter().map(|action| Plan::of(action, Some(owner.clone()))));
    }
    plans.into_iter()
}

async fn exceptions(client: &Client, operator: &OperatorView) -> Result<Vec<ExceptionEntry>, DiffError> {
    let resource = ApiResource::erase::<crate::api::DriftException>(&());
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|source| DiffError::List { what: resource.plural.clone(), source })?;
    Ok(list
        .into_iter()
        .filter_map(|object| serde_json::to_value(object).ok())
        .filter_map(|object| crate::reconcile::exceptions::read(&object, operator.max_exception_duration).ok())
        .collect())
}

type PolicyRow = (String, Option<String>, Result<(PolicySpec, Governance), serde_json::Error>);

async fn policies(client: &Client) -> Result<Vec<PolicyRow>, DiffError> {
    let mut out = Vec::new();
    for (resource, cluster) in
        [(ApiResource::erase::<DriftPolicy>(&()), false), (ApiResource::erase::<ClusterDriftPolicy>(&()), true)]
    {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|source| DiffError::List { what: resource.plural.clone(), source })?;
        for object in list {
            let name = object.metadata.name.clone().unwrap_or_default();
            let namespace = if cluster { None } else { object.metadata.namespace.clone() };
            let full = namespace.as_ref().map_or_else(|| name.clone(), |ns| format!("{ns}/{name}"));
            let raw = object.data.get("spec").cloned().unwrap_or(Value::Null);
            let spec = serde_json::from_value::<PolicySpec>(raw.clone()).and_then(|spec| {
                let namespaced_exceptions = match cluster {
                    false => true,
                    true => match raw.get("exceptions") {
                        Some(value) => serde_json::from_value::<ClusterExceptions>(value.clone())?.allow_namespaced,
                        None => false,
                    },
                };
                let governance = Governance {
                    owner_labels: spec.escalation.owner_labels.clone(),
                    owner: spec.escalation.owner.clone(),
                    namespaced_exceptions,
                };
                Ok((spec, governance))
            });
            out.push((full, namespace, spec));
        }
    }
    Ok(out)
}

async fn namespace_labels(client: &Client) -> Result<BTreeMap<String, BTreeMap<String, String>>, DiffError> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(|source| DiffError::List { what: "namespaces".into(), source })?;
    Ok(list
        .into_iter()
        .map(|ns| {
            (
                ns.metadata.name.clone().unwrap_or_default(),
                ns.metadata.labels.clone().unwrap_or_default().into_iter().collect(),
            )
        })
        .collect())
}

async fn list_kind(client: &Client, kind: &KindKey) -> Result<Vec<Value>, String> {
    let (group, version) = kind.group_version();
    let gvk = GroupVersionKind::gvk(group, version, &kind.kind);
    let (resource, _) =
        kube::discovery::pinned_kind(client, &gvk).await.map_err(|err| format!("{kind} is not served: {err}"))?;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let list =
        api.list(&ListParams::default()).await.map_err(|err| format!("cannot list {}: {err}", resource.plural))?;
    Ok(list
        .into_iter()
        .map(|mut object| {
            object.types.get_or_insert_with(|| kube::core::TypeMeta {
                api_version: kind.api_version.clone(),
                kind: kind.kind.clone(),
            });
            serde_json::to_value(object).unwrap_or(Value::Null)
        })
        .collect())
}
