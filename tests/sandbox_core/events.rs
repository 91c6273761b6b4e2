//! Events: one store seen through two APIs. An `events.k8s.io/v1` Event is read, listed,
//! selected, patched, watched and deleted through core `v1` and the other way round, with
//! kube-apiserver's field mapping (note/message, regarding/involvedObject,
//! reportingController/reportingComponent, deprecated*/firstTimestamp, count, source).

use std::time::Duration;

use driftwarden_sandbox::testing::TestCluster;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::events::{Event as Published, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::support::{TestResult, configmap, status_of};

fn new_event(namespace: &str, regarding: &ConfigMap) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": "settings.changed"},
        "eventTime": "2026-01-01T10:00:00.000000Z",
        "regarding": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": namespace,
                      "name": regarding.name_any(), "uid": regarding.uid()},
        "note": "the settings changed",
        "reason": "Changed",
        "type": "Normal",
        "action": "Update",
        "reportingController": "example.dev/watcher",
        "reportingInstance": "watcher-0",
    }))
    .expect("an events.k8s.io Event")
}

#[tokio::test]
async fn an_events_k8s_io_event_is_read_selected_and_patched_as_a_core_event() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let client = cluster.client();
    let settings = Api::<ConfigMap>::namespaced(client.clone(), ns.name())
        .create(&PostParams::default(), &configmap("settings", &[]))
        .await?;
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), ns.name());
    let created = events.create(&PostParams::default(), &new_event(ns.name(), &settings)).await?;

    let seen = core.get("settings.changed").await?;
    assert_eq!(seen.resource_version(), created.resource_version(), "one object, one resourceVersion");
    assert_eq!(seen.message.as_deref(), Some("the settings changed"));
    assert_eq!(seen.involved_object.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(seen.involved_object.uid, settings.uid());
    assert_eq!(seen.reporting_component.as_deref(), Some("example.dev/watcher"));
    assert_eq!(seen.reporting_instance.as_deref(), Some("watcher-0"));
    assert_eq!((seen.action.as_deref(), seen.reason.as_deref()), (Some("Update"), Some("Changed")));
    assert!(seen.event_time.is_some());

    let selector = format!(
        "involvedObject.kind=ConfigMap,involvedObject.name=settings,involvedObject.namespace={},involvedObject.uid={},reason=Changed,type=Normal",
        ns.name(),
        settings.uid().unwrap_or_default()
    );
    let selected = core.list(&ListParams::default().fields(&selector)).await?;
    assert_eq!(selected.items.iter().map(ResourceExt::name_any).collect::<Vec<_>>(), ["settings.changed"]);
    assert!(core.list(&ListParams::default().fields("type=Warning")).await?.items.is_empty());

    let by_regarding = "regarding.kind=ConfigMap,regarding.name=settings,reportingController=example.dev/watcher";
    let selected = events.list(&ListParams::default().fields(by_regarding)).await?;
    assert_eq!(selected.items.len(), 1, "events.k8s.io selects by its own field labels");
    let unsupported = status_of(events.list(&ListParams::default().fields("involvedObject.name=settings")).await);
    assert_eq!(
        (unsupported.code, unsupported.message.as_str()),
        (400, "field label not supported: involvedObject.name")
    );

    let patched = core
        .patch("settings.changed", &PatchParams::default(), &Patch::Merge(json!({"message": "changed again"})))
        .await?;
    let reread = events.get("settings.changed").await?;
    assert_eq!(reread.note.as_deref(), Some("changed again"));
    assert_eq!(reread.resource_version(), patched.resource_version());
    assert_eq!(reread.regarding.and_then(|r| r.name).as_deref(), Some("settings"));

    let listed = events.list(&ListParams::default()).await?;
    assert_eq!(listed.items.len(), 1);
    core.delete("settings.changed", &DeleteParams::default()).await?;
    assert_eq!(status_of(events.get("settings.changed").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn a_core_event_is_watched_through_events_k8s_io() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let client = cluster.client();
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let start = events.list(&ListParams::default()).await?.metadata.resource_version.unwrap_or_default();
    let mut stream = events.watch(&WatchParams::default().timeout(10), &start).await?.boxed();

    let core_event: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "pod.started"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": ns.name(), "name": "worker"},
        "message": "container started",
        "reason": "Started",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-01-01T10:00:00Z",
        "lastTimestamp": "2026-01-01T10:05:00Z",
        "count": 4,
    }))?;
    let created = Api::<CoreEvent>::namespaced(client, ns.name()).create(&PostParams::default(), &core_event).await?;
    let added = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await??.ok_or("the watch ended")?;
    let WatchEvent::Added(seen) = added else { return Err(format!("expected ADDED, got {added:?}").into()) };
    assert_eq!(seen.resource_version(), created.resource_version());
    assert_eq!(seen.note.as_deref(), Some("container started"));
    assert_eq!(seen.regarding.as_ref().and_then(|r| r.name.as_deref()), Some("worker"));
    let source = seen.deprecated_source.as_ref().ok_or("deprecatedSource")?;
    assert_eq!((source.component.as_deref(), source.host.as_deref()), (Some("kubelet"), Some("node-1")));
    assert_eq!(seen.deprecated_count, Some(4));
    assert!(seen.deprecated_first_timestamp.is_some() && seen.deprecated_last_timestamp.is_some());
    Ok(())
}

#[tokio::test]
async fn events_published_by_kube_s_recorder_show_up_as_core_events() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let client = cluster.client();
    let settings = Api::<ConfigMap>::namespaced(client.clone(), ns.name())
        .create(&PostParams::default(), &configmap("settings", &[]))
        .await?;
    let reporter = Reporter { controller: "dw-test-recorder".into(), instance: Some("recorder-0".into()) };
    let recorder = Recorder::new(client.clone(), reporter);
    let published = Published {
        type_: EventType::Warning,
        reason: "Drifted".into(),
        note: Some("data.key differs from the policy".into()),
        action: "Compare".into(),
        secondary: None,
    };
    let reference = settings.object_ref(&());
    recorder.publish(&published, &reference).await?;
    recorder.publish(&published, &reference).await?;

    let core: Api<CoreEvent> = Api::namespaced(client, ns.name());
    let selector = format!("involvedObject.name=settings,involvedObject.uid={}", settings.uid().unwrap_or_default());
    let found = core.list(&ListParams::default().fields(&selector)).await?.items;
    assert_eq!(found.len(), 1, "the second publish patches the first Event's series");
    let event = &found[0];
    assert_eq!(event.message.as_deref(), Some("data.key differs from the policy"));
    assert_eq!((event.type_.as_deref(), event.reason.as_deref()), (Some("Warning"), Some("Drifted")));
    assert_eq!(event.reporting_component.as_deref(), Some("dw-test-recorder"));
    assert_eq!(event.series.as_ref().and_then(|s| s.count), Some(2));
    Ok(())
}
