//! The watches that feed the operator: policies, exceptions, namespaces, and one shared
//! watch per target kind however many policies name it. Every watch only forwards what
//! it sees to the operator's loop; it never decides anything.
//!
//! By default every watch is cluster-wide. Confined to some namespaces
//! ([`OperatorSettings::watch_namespaces`]), a namespaced kind is watched in each of them
//! and the watches are merged into one stream that looks like a single cluster-wide watch;
//! cluster-scoped kinds (ClusterDriftPolicies, RemediationCampaigns, cluster-scoped targets)
//! are not watched at all, and each watched Namespace is read by name instead of listed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use super::settings::OperatorSettings;
use crate::api::campaign::RemediationCampaign;
use crate::api::exception::DriftException;
use crate::api::finding::Finding;
use crate::api::policy::{ClusterDriftPolicy, DriftPolicy};
use crate::api::reasons;
use crate::engine::prune::FieldMask;
use crate::engine::secret::LAST_APPLIED_ANNOTATION as LAST_APPLIED;
use crate::keys::KindKey;

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
    /// The watch failed; it is retried with backoff.
    Failed(WatchError),
}

/// Why a kind cannot be watched, or why a watch failed. A message carries its cause's text
/// too, as kube's own errors do, so that a status condition or a log line reads whole; the
/// cause itself stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Discovery does not find the kind: not installed (yet), or discovery failed.
    #[error("{kind} is not served by the API server: {source}")]
    NotServed {
        kind: KindKey,
        #[source]
        source: kube::Error,
    },
    /// A list or watch request failed.
    #[error("{source}")]
    Watch {
        #[source]
        source: watcher::Error,
    },
    /// Reading a watched Namespace by name failed.
    #[error("namespace {name}: {source}")]
    Namespace {
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Confined to some namespaces, the operator does not watch a cluster-scoped kind: what
    /// a cluster-wide watch would get from RBAC confined to those namespaces, said without
    /// making the request.
    #[error(
        "{kind} is cluster-scoped and is not watched: the operator watches only the namespaces {}",
        .namespaces.join(", ")
    )]
    ClusterScoped { kind: KindKey, namespaces: Vec<String> },
    /// The task looking the kind up panicked (a bug, caught); the lookup is tried again.
    #[error("looking the kind up failed inside driftwarden: {0}")]
    Internal(String),
}

impl WatchError {
    /// Whether the operator may not read what it wants to watch: a request refused for
    /// lack of permission, or a cluster-scoped kind outside the namespaces it watches.
    pub fn is_forbidden(&self) -> bool {
        match self {
            Self::NotServed { .. } | Self::Internal(_) => false,
            Self::Watch { source } => matches!(
                source,
                watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) if is_forbidden(e)
            ),
            Self::Namespace { source, .. } => is_forbidden(source),
            Self::ClusterScoped { .. } => true,
        }
    }

    /// A stable PascalCase label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::NotServed { .. } => "NotServed",
            Self::Internal(_) => "InternalError",
            _ if self.is_forbidden() => reasons::FORBIDDEN,
            _ => "WatchFailed",
        }
    }
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
pub async fn resolve(client: &Client, kind: &KindKey) -> Result<(ApiResource, bool), WatchError> {
    let (group, version) = kind.group_version();
    let gvk = GroupVersionKind::gvk(group, version, &kind.kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((resource, capabilities)) => Ok((resource, capabilities.scope == kube::discovery::Scope::Namespaced)),
        Err(source) => Err(WatchError::NotServed { kind: kind.clone(), source }),
    }
}

/// Strips what comparison never needs from a watched object.
pub fn strip(mut object: Value) -> Value {
    if let Some(annotations) = object.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        annotations.remove(LAST_APPLIED);
    }
    object
}

fn forward<K: serde::Serialize + Send>(
    source: Source,
    tx: Sender<Watched>,
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
                Err(source) => Change::Failed(WatchError::Watch { source }),
            };
            if tx.send(Watched { source: source.clone(), change }).await.is_err() {
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

/// How many objects each page of a governed kind's list holds. A page is held whole, as
/// full objects, until each is pruned for the cache: with every kind listed at once at
/// start, smaller pages keep the start's peak near what the cache holds, for a few more
/// list requests (1,000 for 100,000 objects).
const LIST_PAGE_SIZE: u32 = 100;

/// How one kind is watched.
#[derive(Clone, Debug)]
pub struct KindWatch {
    /// The kind's resource, from discovery.
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// What the cache keeps of each object.
    pub mask: Arc<FieldMask>,
    /// A field selector that narrows the watch (`type=kubernetes.io/service-account-token`),
    /// or `None` for every object.
    pub fields: Option<String>,
}

/// Watches every object of one kind that `spec.fields` selects, keeping of each what
/// `spec.mask` says: cluster-wide, or in each of `namespaces` when that is not empty.
/// Confined to namespaces, a cluster-scoped kind is not watched; the watch reports that
/// once, as a forbidden watch that is not retried.
pub fn watch_kind(
    client: Client,
    kind: KindKey,
    spec: &KindWatch,
    namespaces: &[String],
    tx: Sender<Watched>,
) -> JoinHandle<()> {
    let source = Source::Kind(kind.clone());
    let config = watcher::Config::default().page_size(LIST_PAGE_SIZE);
    let config = match &spec.fields {
        Some(fields) => config.fields(fields),
        None => config,
    };
    let (resource, namespaced, mask) = (spec.resource.clone(), spec.namespaced, spec.mask.clone());
    let keep = move |object| mask.prune(object);
    if namespaces.is_empty() {
        let api: Api<DynamicObject> = Api::all_with(client, &resource);
        return forward(source, tx, typed_watch(api, resource, config), keep);
    }
    if !namespaced {
        // The policies naming the kind report it as Forbidden.
        let error = WatchError::ClusterScoped { kind: kind.clone(), namespaces: namespaces.to_vec() };
        tracing::warn!(kind = %kind, "{error}");
        return tokio::spawn(async move {
            let _ = tx.send(Watched { source, change: Change::Failed(error) }).await;
        });
    }
    let streams = namespaces
        .iter()
        .map(|namespace| {
            typed_watch(Api::namespaced_with(client.clone(), namespace, &resource), resource.clone(), config.clone())
        })
        .collect();
    forward_merged(source, tx, streams, keep)
}

/// A watch of `api` with `config` whose objects carry their type.
fn typed_watch(
    api: Api<DynamicObject>,
    resource: ApiResource,
    config: watcher::Config,
) -> BoxStream<'static, Result<Event<DynamicObject>, watcher::Error>> {
    // Dynamic objects carry their type only when the server sends it; make sure it is
    // there, as policies match on it.
    watcher::watcher(api, config)
        .map(move |event| event.map(|event| event.modify(|object: &mut DynamicObject| fill_type(object, &resource))))
        .boxed()
}

/// Forwards the watches of one source in several namespaces as if they were one watch:
/// one initial list, complete once every namespace is listed; after that, a namespace's
/// relist (a watch restarted after an error) arrives as the changes it implies — an
/// apply for each object listed, a deletion for each object that is gone.
fn forward_merged(
    source: Source,
    tx: Sender<Watched>,
    streams: Vec<BoxStream<'static, Result<Event<DynamicObject>, watcher::Error>>>,
    keep: impl Fn(Value) -> Value + Send + 'static,
) -> JoinHandle<()> {
    let count = streams.len();
    let tagged = streams
        .into_iter()
        .enumerate()
        .map(|(index, stream)| stream.default_backoff().map(move |e| (index, e)).boxed());
    let mut merged = futures::stream::select_all(tagged);
    tokio::spawn(async move {
        let mut merger = Merger::new(count);
        if tx.send(Watched { source: source.clone(), change: Change::Init }).await.is_err() {
            return;
        }
        while let Some((index, event)) = merged.next().await {
            for change in merger.on_event(index, event, &keep) {
                if tx.send(Watched { source: source.clone(), change }).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// The state that makes several namespaces' watches look like one.
struct Merger {
    /// Until every namespace is listed once: each namespace's objects, by name.
    initial: Option<Vec<BTreeMap<String, Value>>>,
    listed: Vec<bool>,
    /// After that: what is known in each namespace, by name, as the identity a deletion
    /// needs (apiVersion, kind, namespace, name, uid).
    known: Vec<BTreeMap<String, Value>>,
    /// Names seen while a namespace relists.
    relisting: Vec<Option<std::collections::BTreeSet<String>>>,
}

fn name(object: &Value) -> String {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn identity(object: &Value) -> Value {
    serde_json::json!({
        "apiVersion": object["apiVersion"],
        "kind": object["kind"],
        "metadata": {
            "namespace": object["metadata"]["namespace"],
            "name": object["metadata"]["name"],
            "uid": object["metadata"]["uid"],
        }
    })
}

impl Merger {
    fn new(count: usize) -> Self {
        Self {
            initial: Some(vec![BTreeMap::new(); count]),
            listed: vec![false; count],
            known: vec![BTreeMap::new(); count],
            relisting: vec![None; count],
        }
    }

    fn on_event(
        &mut self,
        index: usize,
        event: Result<Event<DynamicObject>, watcher::Error>,
        keep: &impl Fn(Value) -> Value,
    ) -> Vec<Change> {
        let event = match event {
            Ok(event) => event,
            Err(source) => return vec![Change::Failed(WatchError::Watch { source })],
        };
        if let Some(initial) = &mut self.initial {
            let objects = &mut initial[index];
            match event {
                Event::Init => objects.clear(),
                Event::InitApply(object) | Event::Apply(object) => {
                    let object = keep(to_value(&object));
                    objects.insert(name(&object), object);
                }
                Event::Delete(object) => {
                    objects.remove(&name(&to_value(&object)));
                }
                Event::InitDone => self.listed[index] = true,
            }
            if !self.listed.iter().all(|listed| *listed) {
                return Vec::new();
            }
            let initial = self.initial.take().unwrap_or_default();
            let mut changes = Vec::new();
            for (index, objects) in initial.into_iter().enumerate() {
                for (name, object) in objects {
                    self.known[index].insert(name, identity(&object));
                    changes.push(Change::InitApply(object));
                }
            }
            changes.push(Change::InitDone);
            return changes;
        }
        match event {
            Event::Init => {
                self.relisting[index] = Some(Default::default());
                Vec::new()
            }
            Event::InitApply(object) | Event::Apply(object) => {
                let object = keep(to_value(&object));
                let name = name(&object);
                if let Some(seen) = &mut self.relisting[index] {
                    seen.insert(name.clone());
                }
                self.known[index].insert(name, identity(&object));
                vec![Change::Apply(object)]
            }
            Event::Delete(object) => {
                let object = to_value(&object);
                self.known[index].remove(&name(&object));
                vec![Change::Delete(object)]
            }
            Event::InitDone => {
                let seen = self.relisting[index].take().unwrap_or_default();
                let gone: Vec<String> = self.known[index].keys().filter(|n| !seen.contains(*n)).cloned().collect();
                gone.into_iter().filter_map(|n| self.known[index].remove(&n)).map(Change::Delete).collect()
            }
        }
    }
}

fn fill_type(object: &mut DynamicObject, resource: &ApiResource) {
    if object.types.is_none() {
        object.types =
            Some(kube::core::TypeMeta { api_version: resource.api_version.clone(), kind: resource.kind.clone() });
    }
}

/// Watches the driftwarden resources the operator reads, as dynamic objects: one that does
/// not parse is reported on its own status instead of stopping the watch for all others.
/// Confined to namespaces, the cluster-scoped kinds (ClusterDriftPolicies and
/// RemediationCampaigns) are not watched: they are reported listed, and empty.
pub fn watch_own(client: Client, settings: &OperatorSettings, tx: Sender<Watched>) -> Vec<JoinHandle<()>> {
    let namespaces = &settings.watch_namespaces;
    let typed = [
        (Source::Policies, ApiResource::erase::<DriftPolicy>(&()), true),
        (Source::ClusterPolicies, ApiResource::erase::<ClusterDriftPolicy>(&()), false),
        (Source::Exceptions, ApiResource::erase::<DriftException>(&()), true),
        (Source::Campaigns, ApiResource::erase::<RemediationCampaign>(&()), false),
        (Source::Findings, ApiResource::erase::<Finding>(&()), true),
    ];
    let mut tasks = Vec::new();
    for (source, resource, namespaced) in typed {
        if namespaces.is_empty() {
            let api = Api::all_with(client.clone(), &resource);
            tasks.push(forward(source, tx.clone(), typed_watch(api, resource, watcher::Config::default()), strip));
        } else if namespaced {
            let streams = namespaces
                .iter()
                .map(|ns| {
                    typed_watch(
                        Api::namespaced_with(client.clone(), ns, &resource),
                        resource.clone(),
                        watcher::Config::default(),
                    )
                })
                .collect();
            tasks.push(forward_merged(source, tx.clone(), streams, strip));
        } else {
            tracing::info!(
                kind = %resource.kind,
                namespaces = %namespaces.join(","),
                "not watched: the operator watches only some namespaces, and this kind is cluster-scoped"
            );
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                for change in [Change::Init, Change::InitDone] {
                    let _ = tx.send(Watched { source: source.clone(), change }).await;
                }
            }));
        }
    }
    if namespaces.is_empty() {
        let namespaces: Api<PartialObjectMeta<k8s_openapi::api::core::v1::Namespace>> = Api::all(client);
        tasks.push(forward(Source::Namespaces, tx, watcher::watcher(namespaces, watcher::Config::default()), strip));
    } else {
        tasks.push(read_namespaces(client, namespaces.clone(), settings.resync_interval, tx));
    }
    tasks
}

/// Reads the watched Namespaces by name (listing Namespaces is a cluster-wide read), at
/// start and again every `every`, for their labels.
fn read_namespaces(client: Client, names: Vec<String>, every: Duration, tx: Sender<Watched>) -> JoinHandle<()> {
    let api: Api<PartialObjectMeta<k8s_openapi::api::core::v1::Namespace>> = Api::all(client);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            for name in &names {
                let change = match api.get_metadata_opt(name).await {
                    Ok(Some(namespace)) => Change::Apply(strip(to_value(&namespace))),
                    Ok(None) => continue,
                    Err(source) => Change::Failed(WatchError::Namespace { name: name.clone(), source }),
                };
                if tx.send(Watched { source: Source::Namespaces, change }).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// The labels of a watched object.
pub fn labels(object: &Value) -> BTreeMap<String, String> {
    crate::engine::selector::labels_of(object).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(namespace: &str, name: &str, uid: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"namespace": namespace, "name": name, "uid": uid}
        }))
        .unwrap()
    }

    fn names(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|change| match change {
                Change::Init => "init".to_string(),
                Change::InitApply(o) => format!("list {}/{}", o["metadata"]["namespace"].as_str().unwrap(), name(o)),
                Change::InitDone => "listed".to_string(),
                Change::Apply(o) => format!("apply {}", name(o)),
                Change::Delete(o) => format!("delete {} {}", name(o), o["metadata"]["uid"].as_str().unwrap_or("")),
                Change::Failed(error) => format!("failed {error}"),
            })
            .collect()
    }

    #[test]
    fn merged_namespaces_list_once_when_all_are_listed_then_relists_become_changes() {
        let keep = |v: Value| v;
        let mut merger = Merger::new(2);
        let mut out = Vec::new();
        for (index, event) in [
            (0, Event::Init),
            (0, Event::InitApply(object("a", "one", "u1"))),
            (0, Event::InitApply(object("a", "two", "u2"))),
            (0, Event::InitDone),
            (0, Event::Delete(object("a", "two", "u2"))),
            (1, Event::Init),
            (1, Event::InitApply(object("b", "three", "u3"))),
        ] {
            out.extend(merger.on_event(index, Ok(event), &keep));
        }
        assert!(out.is_empty(), "nothing is forwarded before every namespace is listed: {:?}", names(&out));
        let listed = merger.on_event(1, Ok(Event::InitDone), &keep);
        assert_eq!(names(&listed), ["list a/one", "list b/three", "listed"]);

        // Namespace a's watch restarts: its relist no longer holds "one".
        let mut relist = Vec::new();
        for event in [Event::Init, Event::InitApply(object("a", "four", "u4")), Event::InitDone] {
            relist.extend(merger.on_event(0, Ok(event), &keep));
        }
        assert_eq!(names(&relist), ["apply four", "delete one u1"], "b's objects are untouched");
        let later = merger.on_event(1, Ok(Event::Delete(object("b", "three", "u3"))), &keep);
        assert_eq!(names(&later), ["delete three u3"]);
    }
}
