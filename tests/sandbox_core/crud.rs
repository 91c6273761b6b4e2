//! create, get, update, delete; resourceVersion, uid, generateName, and the errors of each.

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};

use crate::support::{TestResult, configmap, rv, status_of};

#[tokio::test]
async fn create_get_replace_delete_round_trip() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());

    let created = api.create(&PostParams::default(), &configmap("settings", &[("app", "web")])).await?;
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.namespace.as_deref(), Some(ns.name()));
    assert_eq!(created.metadata.generation, None, "ConfigMaps do not track generation");

    let fetched = api.get("settings").await?;
    assert_eq!(fetched, created);

    let mut changed = fetched.clone();
    changed.data = Some([("key".to_string(), "other".to_string())].into());
    let replaced = api.replace("settings", &PostParams::default(), &changed).await?;
    assert!(rv(&replaced) > rv(&created));
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    assert_eq!(replaced.data, changed.data);

    let deleted = api.delete("settings", &DeleteParams::default()).await?;
    assert!(deleted.is_right(), "a ConfigMap delete answers with a Status");
    let gone = status_of(api.get("settings").await);
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "configmaps \"settings\" not found");
    assert_eq!(gone.details.as_ref().map(|d| d.kind.as_str()), Some("configmaps"));
    Ok(())
}

#[tokio::test]
async fn resource_versions_increase_across_every_write() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let mut last = 0;
    for name in ["a", "b", "c"] {
        let created = api.create(&PostParams::default(), &configmap(name, &[])).await?;
        assert!(rv(&created) > last);
        last = rv(&created);
    }
    let mut a = api.get("a").await?;
    a.data = Some([("k".to_string(), "1".to_string())].into());
    let updated = api.replace("a", &PostParams::default(), &a).await?;
    assert!(rv(&updated) > last);
    let list = api.list(&Default::default()).await?;
    let list_rv: u64 = list.metadata.resource_version.as_deref().unwrap_or_default().parse()?;
    assert!(list_rv >= rv(&updated));
    Ok(())
}

#[tokio::test]
async fn a_stale_update_conflicts_and_a_duplicate_create_already_exists() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let original = api.create(&PostParams::default(), &configmap("shared", &[])).await?;

    let duplicate = status_of(api.create(&PostParams::default(), &configmap("shared", &[])).await);
    assert_eq!((duplicate.code, duplicate.reason.as_str()), (409, "AlreadyExists"));

    let mut first = original.clone();
    first.data = Some([("writer".to_string(), "first".to_string())].into());
    api.replace("shared", &PostParams::default(), &first).await?;

    let mut second = original.clone();
    second.data = Some([("writer".to_string(), "second".to_string())].into());
    let conflict = status_of(api.replace("shared", &PostParams::default(), &second).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(api.get("shared").await?.data, first.data, "the losing write left no trace");
    Ok(())
}

#[tokio::test]
async fn generate_name_invalid_names_and_missing_namespaces() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());

    let mut generated = configmap("", &[]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".to_string());
    let created = api.create(&PostParams::default(), &generated).await?;
    let name = created.metadata.name.unwrap_or_default();
    assert!(name.starts_with("gen-") && name.len() == "gen-".len() + 5, "{name}");

    let invalid = status_of(api.create(&PostParams::default(), &configmap("Not_Valid", &[])).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    let causes = invalid.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(causes.first().map(|c| c.field.as_str()), Some("metadata.name"));

    let elsewhere: Api<ConfigMap> = Api::namespaced(sandbox.client(), "no-such-namespace");
    let missing = status_of(elsewhere.create(&PostParams::default(), &configmap("x", &[])).await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "namespaces \"no-such-namespace\" not found");
    Ok(())
}

/// A body over the API server's 3 MiB limit is refused with 413 before it is decoded.
#[tokio::test]
async fn a_body_over_three_mebibytes_is_too_large() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let mut big = configmap("big", &[]);
    big.data = Some([("blob".to_string(), "x".repeat(4 * 1024 * 1024))].into());
    let status = status_of(api.create(&PostParams::default(), &big).await);
    assert_eq!((status.code, status.reason.as_str()), (413, "RequestEntityTooLarge"), "{status:?}");
    assert!(status_of(api.get("big").await).code == 404, "nothing was stored");
    Ok(())
}
