//! `driftwarden diff`: read-only. What each policy in the cluster would change now, from
//! one list of each kind the policies name. Nothing is written.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use crate::api::policy::{ClusterDriftPolicy, DriftPolicy, PolicySpec};
use crate::check::{Report, Violation};
use crate::engine::FingerprintKey;
use crate::engine::evaluate::{CompiledPolicy, compile};
use crate::keys::KindKey;

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
) -> Result<(Report, Vec<Skipped>), DiffError> {
    let mut compiled: Vec<CompiledPolicy> = Vec::new();
    let mut skipped = Vec::new();
    for (name, namespace, spec) in policies(&client).await? {
        if only.is_some_and(|only| only != name && only != name.rsplit('/').next().unwrap_or_default()) {
            continue;
        }
        match spec.map_err(|err| err.to_string()).and_then(|spec| {
            compile(&name, namespace.as_deref(), &spec, fingerprints)
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
    let mut objects_by_kind: BTreeMap<KindKey, Vec<Value>> = BTreeMap::new();
    let mut report = Report { policies: compiled.len(), ..Report::default() };
    for policy in &compiled {
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
        for result in policy.evaluate(&objects, &labels) {
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
                    });
                }
            }
        }
    }
    Ok((report, skipped))
}

type PolicyRow = (String, Option<String>, Result<PolicySpec, serde_json::Error>);

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
            let spec = serde_json::from_value(object.data.get("spec").cloned().unwrap_or(Value::Null));
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
