//! The quickstart `driftwarden sandbox` runs: the manifests of `examples/quickstart/`
//! (built into the binary), applied to a cluster, and a short live demonstration — a
//! label drift healed, a pod-template drift escalated.

use std::io::Write;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::pinned_kind;
use kube::runtime::wait::await_condition;
use serde::Deserialize;
use serde_json::{Value, json};

/// The quickstart manifests, in the order they are applied.
pub const MANIFESTS: &[(&str, &str)] = &[
    ("00-namespace.yaml", include_str!("../../examples/quickstart/00-namespace.yaml")),
    ("10-workloads.yaml", include_str!("../../examples/quickstart/10-workloads.yaml")),
    ("20-policy.yaml", include_str!("../../examples/quickstart/20-policy.yaml")),
];

/// The field manager of what the quickstart applies.
const MANAGER: &str = "driftwarden-quickstart";

/// Why the quickstart could not run.
#[derive(Debug, thiserror::Error)]
pub enum QuickstartError {
    #[error("{file}: {source}")]
    Yaml {
        file: &'static str,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0} did not happen within {1:?}")]
    Timeout(&'static str, Duration),
}

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> QuickstartError {
    let what = what.into();
    move |source| QuickstartError::Api { what, source }
}

/// Applies the quickstart manifests with server-side apply.
pub async fn apply(client: &Client) -> Result<(), QuickstartError> {
    for (file, text) in MANIFESTS {
        for document in serde_yaml::Deserializer::from_str(text) {
            let object = Value::deserialize(document).map_err(|source| QuickstartError::Yaml { file, source })?;
            if object.is_null() {
                continue;
            }
            let api = api_for(client, &object).await?;
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
            api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object))
                .await
                .map_err(api_error(format!("applying {file} ({name})")))?;
        }
    }
    Ok(())
}

async fn api_for(client: &Client, object: &Value) -> Result<Api<DynamicObject>, QuickstartError> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, capabilities) = pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .map_err(api_error(format!("discovering {kind}")))?;
    Ok(match object["metadata"]["namespace"].as_str() {
        Some(ns) if capabilities.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    })
}

async fn wait<K>(
    api: &Api<K>,
    name: &str,
    what: &'static str,
    condition: impl Fn(&K) -> bool,
) -> Result<(), QuickstartError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    const PATIENCE: Duration = Duration::from_secs(30);
    tokio::time::timeout(PATIENCE, await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&condition)))
        .await
        .map_err(|_| QuickstartError::Timeout(what, PATIENCE))?
        .map_err(|err| QuickstartError::Api { what: what.to_string(), source: kube::Error::Service(Box::new(err)) })?;
    Ok(())
}

/// Shows the operator at work: someone edits a label (healed), then a container image
/// (escalated, because the fix would restart pods). Prints each step to `out`.
pub async fn demo(client: &Client, out: &mut impl Write) -> Result<(), QuickstartError> {
    let edit = PatchParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    let policies: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "shop", &ApiResource::erase::<crate::api::policy::DriftPolicy>(&()));
    let ready = |p: &DynamicObject| {
        p.data.pointer("/status/conditions/0").is_some_and(|c| c["type"] == "Ready" && c["status"] == "True")
    };
    wait(&policies, "shop-baseline", "the policy becoming Ready", ready).await?;
    let _ = writeln!(out, "policy shop/shop-baseline is Ready");

    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "shop");
    let _ = writeln!(out, "demo 1: kubectl-edit sets ConfigMap shop/settings label team=someone-else …");
    config_maps
        .patch("settings", &edit, &Patch::Merge(json!({"metadata": {"labels": {"team": "someone-else"}}})))
        .await
        .map_err(api_error("editing the ConfigMap"))?;
    let healed = |cm: &k8s_openapi::api::core::v1::ConfigMap| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    };
    wait(&config_maps, "settings", "the label fix", healed).await?;
    let _ = writeln!(out, "        healed: driftwarden restored team=shop and verified it (Metadata class)");

    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(client.clone(), "shop");
    let _ = writeln!(out, "demo 2: kubectl-edit changes Deployment shop/web's image to :9.9.9 …");
    let image = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:9.9.9"}]}}}});
    deployments.patch("web", &edit, &Patch::Strategic(image)).await.map_err(api_error("editing the Deployment"))?;
    let escalated = |p: &DynamicObject| {
        p.data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Escalated" && c["status"] == "True"))
    };
    wait(&policies, "shop-baseline", "the escalation", escalated).await?;
    let _ = writeln!(
        out,
        "        escalated: a Rollout fix restarts pods, so it goes to the owner (see `kubectl describe driftpolicy -n shop shop-baseline`)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifests_parse_and_the_policy_compiles() {
        let mut kinds = Vec::new();
        for (file, text) in MANIFESTS {
            for document in serde_yaml::Deserializer::from_str(text) {
                let object = Value::deserialize(document).unwrap_or_else(|err| panic!("{file}: {err}"));
                kinds.push(object["kind"].as_str().unwrap().to_string());
                if object["kind"] == "DriftPolicy" {
                    let spec: crate::api::PolicySpec = serde_json::from_value(object["spec"].clone()).unwrap();
                    crate::engine::evaluate::compile(
                        "shop/shop-baseline",
                        Some("shop"),
                        &spec,
                        &crate::fingerprints::draw(),
                    )
                    .unwrap();
                }
            }
        }
        assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment", "DriftPolicy"]);
    }
}
