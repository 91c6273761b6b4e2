//! list: label selectors (equality and set-based), field selectors, limit and continue.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};

use crate::support::{TestResult, configmap, status_of};

async fn names(api: &Api<ConfigMap>, params: &ListParams) -> Result<Vec<String>, kube::Error> {
    Ok(api.list(params).await?.items.iter().map(|cm| cm.name_any()).collect())
}

#[tokio::test]
async fn label_and_field_selectors() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    for (name, labels) in [
        ("web", &[("tier", "web"), ("env", "prod")][..]),
        ("api", &[("tier", "api"), ("env", "dev")][..]),
        ("old", &[("tier", "web"), ("legacy", "true")][..]),
        ("bare", &[][..]),
    ] {
        api.create(&PostParams::default(), &configmap(name, labels)).await?;
    }
    let by = |selector: &str| ListParams::default().labels(selector);
    assert_eq!(names(&api, &by("tier=web")).await?, vec!["old", "web"]);
    assert_eq!(names(&api, &by("tier in (web, api),!legacy")).await?, vec!["api", "web"]);
    assert_eq!(names(&api, &by("env notin (prod)")).await?, vec!["api", "bare", "old"]);
    assert_eq!(names(&api, &by("legacy")).await?, vec!["old"]);
    assert_eq!(names(&api, &by("tier!=web")).await?, vec!["api", "bare"]);
    assert_eq!(names(&api, &ListParams::default().fields("metadata.name=api")).await?, vec!["api"]);
    assert_eq!(
        names(&api, &ListParams::default().fields(&format!("metadata.namespace={},metadata.name!=web", ns.name())))
            .await?,
        vec!["api", "bare", "old"]
    );

    let bad = status_of(api.list(&by("tier in web")).await);
    assert_eq!((bad.code, bad.reason.as_str()), (400, "BadRequest"));
    let unsupported = status_of(api.list(&ListParams::default().fields("spec.foo=bar")).await);
    assert_eq!(unsupported.code, 400);

    // Cluster-wide: other namespaces (other tests, on a shared cluster) may match too.
    let everywhere: Api<ConfigMap> = Api::all(sandbox.client());
    let found = everywhere.list(&by("tier=api")).await?;
    assert!(found.iter().any(|cm| cm.metadata.namespace.as_deref() == Some(ns.name()) && cm.name_any() == "api"));
    assert!(found.iter().all(|cm| cm.labels().get("tier").is_some_and(|t| t == "api")));
    Ok(())
}

#[tokio::test]
async fn limit_and_continue_page_through_one_consistent_version() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    for name in ["a", "b", "c", "d", "e"] {
        api.create(&PostParams::default(), &configmap(name, &[])).await?;
    }
    let first = api.list(&ListParams::default().limit(2)).await?;
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let list_rv = first.metadata.resource_version.clone();
    let mut seen: Vec<String> = first.items.iter().map(|cm| cm.name_any()).collect();
    let mut token = first.metadata.continue_.clone();
    let mut pages = 1;
    // A write between pages must not change the list's resourceVersion.
    api.create(&PostParams::default(), &configmap("zz-late", &[])).await?;
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = api.list(&ListParams::default().limit(2).continue_token(&t)).await?;
        assert_eq!(page.metadata.resource_version, list_rv);
        seen.extend(page.items.iter().map(|cm| cm.name_any()));
        token = page.metadata.continue_;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["a", "b", "c", "d", "e", "zz-late"]);

    require_sandbox!(sandbox.sandbox()).store().compact();
    let expired = status_of(
        api.list(
            &ListParams::default().limit(2).continue_token(first.metadata.continue_.as_deref().unwrap_or_default()),
        )
        .await,
    );
    assert_eq!((expired.code, expired.reason.as_str()), (410, "Expired"));
    Ok(())
}
