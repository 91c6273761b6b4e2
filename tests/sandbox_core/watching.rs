//! watch: order, resume from a resourceVersion, 410 after compaction, bookmarks,
//! timeouts, selectors, and the kube-runtime watcher.

use std::time::Duration;

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::store::StoreConfig;
use driftwarden_sandbox::testing::{Sandbox, SandboxOptions, TestCluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;

use crate::support::{TestResult, configmap, rv};

fn describe(event: &WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(cm) => format!("ADDED {}", cm.name_any()),
        WatchEvent::Modified(cm) => format!("MODIFIED {}", cm.name_any()),
        WatchEvent::Deleted(cm) => format!("DELETED {}", cm.name_any()),
        WatchEvent::Bookmark(_) => "BOOKMARK".to_string(),
        WatchEvent::Error(status) => format!("ERROR {}", status.code),
    }
}

fn event_rv(event: &WatchEvent<ConfigMap>) -> u64 {
    match event {
        WatchEvent::Added(cm) | WatchEvent::Modified(cm) | WatchEvent::Deleted(cm) => rv(cm),
        WatchEvent::Bookmark(b) => b.metadata.resource_version.parse().unwrap_or_default(),
        WatchEvent::Error(_) => 0,
    }
}

#[tokio::test]
async fn events_arrive_in_order_and_resume_from_a_resource_version() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let start = api.list(&Default::default()).await?.metadata.resource_version.unwrap_or_default();
    let mut live = api.watch(&WatchParams::default().disable_bookmarks(), &start).await?.boxed();

    api.create(&PostParams::default(), &configmap("a", &[])).await?;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": "2"}}))).await?;
    api.create(&PostParams::default(), &configmap("b", &[])).await?;
    api.delete("a", &DeleteParams::default()).await?;

    let mut seen = Vec::new();
    let mut last = 0;
    while seen.len() < 4 {
        let event = live.try_next().await?.ok_or("the watch ended early")?;
        assert!(event_rv(&event) > last, "resourceVersions increase along the stream");
        last = event_rv(&event);
        seen.push(describe(&event));
    }
    assert_eq!(seen, vec!["ADDED a", "MODIFIED a", "ADDED b", "DELETED a"]);

    // A second watch from the same version replays the same history.
    let replay: Vec<String> = api
        .watch(&WatchParams::default().disable_bookmarks(), &start)
        .await?
        .take(4)
        .map_ok(|e| describe(&e))
        .try_collect()
        .await?;
    assert_eq!(replay, seen);
    Ok(())
}

#[tokio::test]
async fn a_compacted_resource_version_is_expired() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let created = api.create(&PostParams::default(), &configmap("a", &[])).await?;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": "2"}}))).await?;
    require_sandbox!(sandbox.sandbox()).store().compact();
    let mut stream = api.watch(&WatchParams::default(), &rv(&created).to_string()).await?.boxed();
    match stream.try_next().await? {
        Some(WatchEvent::Error(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {:?}", other.map(|e| describe(&e))),
    }
    assert!(stream.try_next().await?.is_none(), "the watch ends after the error");
    Ok(())
}

#[tokio::test]
async fn idle_watches_get_bookmarks_and_end_at_their_timeout() -> TestResult {
    let options = SandboxOptions {
        store: StoreConfig { bookmark_interval: Duration::from_millis(50), ..Default::default() },
        ..Default::default()
    };
    let sandbox = Sandbox::start_with(options).await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let created = api.create(&PostParams::default(), &configmap("a", &[])).await?;
    let mut stream = api.watch(&WatchParams::default().timeout(1), &rv(&created).to_string()).await?.boxed();
    match stream.try_next().await? {
        Some(WatchEvent::Bookmark(bookmark)) => {
            assert!(bookmark.metadata.resource_version.parse::<u64>()? >= rv(&created));
        }
        other => panic!("expected a BOOKMARK, got {:?}", other.map(|e| describe(&e))),
    }
    // Only bookmarks follow until the server closes the watch at its timeout.
    while let Some(event) = stream.try_next().await? {
        assert_eq!(describe(&event), "BOOKMARK");
    }
    Ok(())
}

#[tokio::test]
async fn a_selector_watch_sees_objects_enter_and_leave() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let start = require_sandbox!(sandbox.sandbox()).store().resource_version().to_string();
    let params = WatchParams::default().labels("tier=web").disable_bookmarks();
    let mut stream = api.watch(&params, &start).await?.boxed();
    api.create(&PostParams::default(), &configmap("a", &[("tier", "api")])).await?;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}}))).await?;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}}))).await?;
    let first = stream.try_next().await?.ok_or("ended")?;
    let second = stream.try_next().await?.ok_or("ended")?;
    assert_eq!(vec![describe(&first), describe(&second)], vec!["ADDED a", "DELETED a"]);
    Ok(())
}

#[tokio::test]
async fn the_kube_runtime_watcher_lists_then_follows() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    api.create(&PostParams::default(), &configmap("before", &[])).await?;
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let mut initial = Vec::new();
    loop {
        match events.try_next().await?.ok_or("watcher ended")? {
            watcher::Event::Init => {}
            watcher::Event::InitApply(cm) => initial.push(cm.name_any()),
            watcher::Event::InitDone => break,
            watcher::Event::Apply(cm) | watcher::Event::Delete(cm) => {
                panic!("unexpected live event for {}", cm.name_any())
            }
        }
    }
    assert_eq!(initial, vec!["before"]);
    api.create(&PostParams::default(), &configmap("after", &[])).await?;
    api.delete("before", &DeleteParams::default()).await?;
    let mut live = Vec::new();
    while live.len() < 2 {
        match events.try_next().await?.ok_or("watcher ended")? {
            watcher::Event::Apply(cm) => live.push(format!("apply {}", cm.name_any())),
            watcher::Event::Delete(cm) => live.push(format!("delete {}", cm.name_any())),
            _ => {}
        }
    }
    assert_eq!(live, vec!["apply after", "delete before"]);
    Ok(())
}
