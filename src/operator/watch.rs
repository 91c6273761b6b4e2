//! The watches that feed the operator: policies, exceptions, namespaces, and one shared
//! watch per target kind however many policies name it. Every watch only forwards what
//! it sees to the operator's loop; it never decides anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::keys::KindKey;
use crate::api::campaign::RemediationCampaign;
use crate::api::exception::DriftException;
use crate::api::finding::Finding;
use crate::api::policy::{ClusterDriftPolicy, DriftPolicy};
use crate::engine::prune::FieldMask;
use crate::engine::secret::LAST_APPLIED_ANNOTATION as LAST_APPLIED;

/// What a watch saw.
#[derive(Debug)]
pub enum Change {
    /// A (re)list starts: the objects that follow replace the cache once it is done.
    Init,
    InitApply(Value),
    /// The (re)list is complete.
    InitDone,
    Apply(Value),
    Delete(Value),
    /// The watch failed; it is retried with backoff. The text says why.
    Failed {
        forbidden: bool,
        message: String,
    },
}

/// Which watch a change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Policies,
    ClusterPolicies,
    Exceptions,
    Campaigns,
    Findings,
    Namespaces,
    Kind(KindKey),
}

/// One message from a watch.
#[derive(Debug)]
pub struct Watched {
    pub source: Source,
    pub change: Change,
}

/// Looks up how a kind is served. `Err` says why it is not (yet).
pub async fn resolve(client: &Client, kind: &KindKey) -> Result<(ApiResource, bool), String> {
    let (group, version) = kind.group_version();
    let gvk = GroupVersionKind::gvk(group, version, &kind.kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((resource, capabilities)) => Ok((resource, capabilities.scope == kube::discovery::Scope::Namespaced)),
        Err(err) => Err(format!("{kind} is not served by the API server: {err}")),
    }
}

/// Strips what comparison never needs from a watched object.
pub fn strip(mut object: Value) -> Value {
    if let Some(annotations) = object.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        annotations.remove(LAST_APPLIED);
    }
    object
}

fn forward<K: serde::Serialize>(
    source: Source,
    tx: UnboundedSender<Watched>,
    stream: impl futures::Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
    keep: impl Fn(Value) -> Value + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream.default_backoff());
        while let Some(event) = stream.next().await {
            let change = match event {
                Ok(Event::Init) => Change::Init,
                Ok(Event::InitApply(object)) => Change::InitApply(keep(to_value(&object))),
                Ok(Event::InitDone) => Change::InitDone,
                Ok(Event::Apply(object)) => Change::Apply(keep(to_value(&object))),
                Ok(Event::Delete(object)) => Change::Delete(to_value(&object)),
                Err(err) => {
                    let forbidden = matches!(&err, watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e)
                        if is_forbidden(e));
                    Change::Failed { forbidden, message: err.to_string() }
                }
            };
            if tx.send(Watched { source: source.clone(), change }).is_err() {
                return;
            }
        }
    })
}

/// Whether the API server refused a request for lack of permission.
pub(crate) fn is_forbidden(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 403)
}

fn to_value<K: serde::Serialize>(object: &K) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Watches every object of one kind, cluster-wide, keeping of each what `mask` says.
pub fn watch_kind(
    client: Client,
    kind: KindKey,
    resource: ApiResource,
    mask: Arc<FieldMask>,
    tx: UnboundedSender<Watched>,
) -> JoinHandle<()> {
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let config = watcher::Config::default();
    let stream = watcher::watcher(api, config).map(move |event| {
        // Dynamic objects carry their type only when the server sends it; make sure it is
        // there, as policies match on it.
        event.map(|event| event.modify(|object: &mut DynamicObject| fill_type(object, &resource)))
    });
    forward(Source::Kind(kind), tx, stream, move |object| mask.prune(object))
}

fn fill_type(object: &mut DynamicObject, resource: &ApiResource) {
    if object.types.is_none() {
        object.types =
            Some(kube::core::TypeMeta { api_version: resource.api_version.clone(), kind: resource.kind.clone() });
    }
}

/// Watches the driftwarden resources the operator reads, as dynamic objects: one that does
/// not parse is reported on its own status instead of stopping the watch for all others.
pub fn watch_own(client: Client, tx: UnboundedSender<Watched>) -> Vec<JoinHandle<()>> {
    let dynamic = |resource: ApiResource| -> Api<DynamicObject> { Api::all_with(client.clone(), &resource) };
    let typed = [
        (Source::Policies, ApiResource::erase::<DriftPolicy>(&())),
        (Source::ClusterPolicies, ApiResource::erase::<ClusterDriftPolicy>(&())),
        (Source::Exceptions, ApiResource::erase::<DriftException>(&())),
        (Source::Campaigns, ApiResource::erase::<RemediationCampaign>(&())),
        (Source::Findings, ApiResource::erase::<Finding>(&())),
    ];
    let mut tasks: Vec<JoinHandle<()>> = typed
        .into_iter()
        .map(|(source, resource)| {
            let api = dynamic(resource.clone());
            let stream = watcher::watcher(api, watcher::Config::default())
                .map(move |event| event.map(|event| event.modify(|object| fill_type(object, &resource))));
            forward(source, tx.clone(), stream, strip)
        })
        .collect();
    let namespaces: Api<PartialObjectMeta<k8s_openapi::api::core::v1::Namespace>> = Api::all(client);
    tasks.push(forward(Source::Namespaces, tx, watcher::watcher(namespaces, watcher::Config::default()), strip));
    tasks
}

/// The labels of a watched object.
pub fn labels(object: &Value) -> BTreeMap<String, String> {
    crate::engine::selector::labels_of(object).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
