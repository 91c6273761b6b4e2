//! Dropped watches and compacted history, seen through kube's own watcher.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, PostParams, WatchParams};
use kube::runtime::watcher;

use crate::support::{TestResult, configmap};

/// Polls the watcher until its initial list is complete; returns the names it listed.
async fn initial_names<S>(events: &mut S) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>>
where
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    let mut names = Vec::new();
    loop {
        match events.next().await.ok_or("the watcher ended")? {
            Ok(watcher::Event::Init) => names.clear(),
            Ok(watcher::Event::InitApply(cm)) => names.push(cm.name_any()),
            Ok(watcher::Event::InitDone) => return Ok(names),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[tokio::test]
async fn dropped_watches_end_and_kube_watcher_resumes() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());

    let rv = api.list(&Default::default()).await?.metadata.resource_version.unwrap_or_default();
    let mut raw = api.watch(&WatchParams::default().disable_bookmarks(), &rv).await?.boxed();
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    assert!(initial_names(&mut events).await?.is_empty());

    sandbox.drop_watches();
    assert!(raw.try_next().await?.is_none(), "a dropped watch ends");
    api.create(&PostParams::default(), &configmap("after-drop")).await?;
    match events.try_next().await?.ok_or("the watcher ended")? {
        watcher::Event::Apply(cm) => assert_eq!(cm.name_any(), "after-drop"),
        other => panic!("expected the new object, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn after_compaction_kube_watcher_gets_410_and_relists() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    api.create(&PostParams::default(), &configmap("before")).await?;
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    assert_eq!(initial_names(&mut events).await?, vec!["before"]);

    // The watcher is not polled here, so it sees neither change live: its resume point
    // is now older than the retained history.
    sandbox.drop_watches();
    api.create(&PostParams::default(), &configmap("after")).await?;
    sandbox.compact();

    match events.next().await.ok_or("the watcher ended")? {
        Err(watcher::Error::WatchError(status)) => assert_eq!(status.code, 410),
        other => panic!("expected a 410 from the watch, got {other:?}"),
    }
    let mut names = initial_names(&mut events).await?;
    names.sort();
    assert_eq!(names, vec!["after", "before"], "the relist sees everything");
    Ok(())
}
