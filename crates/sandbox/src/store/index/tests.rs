//! The indexes stay in step with the objects through every kind of write, and the reads
//! built on them (garbage collection, namespace deletion, lists, pages, watches) return
//! what a scan over every object would.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Indexes, Scope};
use crate::store::key::{ObjectKey, ObjectName};
use crate::store::state::State;
use crate::store::{
    DeleteOptions, FieldSelector, LabelSelector, ListOptions, PatchBody, Propagation, ResourceRef, Store, StoreConfig,
    Subresource, WatchEvent, WatchOptions, WriteOptions, meta,
};

fn store() -> Store {
    Store::new(StoreConfig::default()).expect("a store")
}

fn configmaps(namespace: Option<&str>) -> ResourceRef {
    ResourceRef::new("", "v1", "configmaps", namespace)
}

fn namespaces() -> ResourceRef {
    ResourceRef::new("", "v1", "namespaces", None)
}

fn create_namespace(store: &Store, name: &str) {
    store.create(&namespaces(), json!({"metadata": {"name": name}}), WriteOptions::default()).expect("namespace");
}

fn owner_reference(owner: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": meta::name(owner), "uid": meta::uid(owner)})
}

/// Creates ConfigMap `name` in `namespace` with `labels`, owned by `owners`.
fn create(store: &Store, namespace: &str, name: &str, labels: Value, owners: &[&Value]) -> Value {
    let mut body = json!({"metadata": {"name": name, "labels": labels}});
    if !owners.is_empty() {
        body["metadata"]["ownerReferences"] = owners.iter().map(|o| owner_reference(o)).collect();
    }
    store.create(&configmaps(Some(namespace)), body, WriteOptions::default()).expect("created")
}

fn patch(store: &Store, namespace: &str, name: &str, patch: Value) -> Value {
    let patch = PatchBody::Merge(patch);
    store
        .patch(&configmaps(Some(namespace)), name, &patch, Subresource::Main, WriteOptions::default())
        .expect("patched")
}

fn delete(store: &Store, namespace: &str, name: &str, propagation: Propagation) {
    let options = DeleteOptions { propagation, ..DeleteOptions::default() };
    store.delete(&configmaps(Some(namespace)), name, &options).expect("deleted");
}

fn exists(store: &Store, namespace: &str, name: &str) -> bool {
    store.get(&configmaps(Some(namespace)), name).is_ok()
}

/// The indexes made again from nothing but the objects.
fn rebuilt(state: &State) -> Indexes {
    let mut indexes = Indexes::default();
    for (resource, objects) in state.resources() {
        for (name, object) in objects {
            let key = ObjectKey { resource: resource.clone(), name: name.clone() };
            indexes.replace(&key, None, Some(object));
        }
    }
    indexes
}

/// Fails unless the live indexes are the ones the objects make, and owners' dependents
/// and namespaces' contents are what a scan over every object finds.
fn assert_in_step(store: &Store) {
    let state = store.lock();
    assert_eq!(state.indexes(), &rebuilt(&state), "the indexes drifted from the objects");
    let all: Vec<(ObjectKey, &Value)> = state
        .resources()
        .flat_map(|(resource, objects)| {
            objects.iter().map(|(name, o)| (ObjectKey { resource: resource.clone(), name: name.clone() }, &**o))
        })
        .collect();
    let owners: BTreeSet<String> = all.iter().flat_map(|(_, o)| meta::owner_uids(o)).collect();
    for owner in owners {
        let scanned: Vec<ObjectKey> =
            all.iter().filter(|(_, o)| meta::owner_uids(o).contains(&owner)).map(|(k, _)| k.clone()).collect();
        assert_eq!(state.dependents_of(&owner), scanned, "dependents of {owner}");
    }
    let spaces: BTreeSet<String> = all.iter().map(|(k, _)| k.name.namespace.clone()).collect();
    for namespace in spaces.iter().filter(|n| !n.is_empty()) {
        let scanned: Vec<ObjectKey> =
            all.iter().filter(|(k, _)| &k.name.namespace == namespace).map(|(k, _)| k.clone()).collect();
        assert_eq!(state.contents_of_namespace(namespace), scanned, "contents of {namespace}");
    }
}

#[test]
fn an_update_that_changes_owners_moves_the_object_in_the_owner_index() {
    let store = store();
    let first = create(&store, "default", "first", json!({}), &[]);
    let second = create(&store, "default", "second", json!({}), &[]);
    create(&store, "default", "dependent", json!({}), &[&first]);
    patch(&store, "default", "dependent", json!({"metadata": {"ownerReferences": [owner_reference(&second)]}}));
    assert_in_step(&store);

    delete(&store, "default", "first", Propagation::Background);
    assert!(exists(&store, "default", "dependent"), "the old owner's deletion must not collect it");
    delete(&store, "default", "second", Propagation::Background);
    assert!(!exists(&store, "default", "dependent"), "the new owner's deletion collects it");
    assert_in_step(&store);
}

#[test]
fn a_dependent_with_another_live_owner_is_stripped_not_deleted() {
    let store = store();
    let first = create(&store, "default", "first", json!({}), &[]);
    let second = create(&store, "default", "second", json!({}), &[]);
    create(&store, "default", "shared", json!({}), &[&first, &second]);

    delete(&store, "default", "first", Propagation::Background);
    let shared = store.get(&configmaps(Some("default")), "shared").expect("kept while second lives");
    assert_eq!(meta::owner_uids(&shared), vec![meta::uid(&second).to_string()]);
    assert!(!store.lock().has_dependents(meta::uid(&first)));
    assert_in_step(&store);

    delete(&store, "default", "second", Propagation::Background);
    assert!(!exists(&store, "default", "shared"));
    assert_in_step(&store);
}

#[test]
fn orphan_deletion_keeps_dependents_without_the_owner() {
    let store = store();
    let owner = create(&store, "default", "owner", json!({}), &[]);
    for name in ["a", "b"] {
        create(&store, "default", name, json!({}), &[&owner]);
    }
    delete(&store, "default", "owner", Propagation::Orphan);
    assert!(!exists(&store, "default", "owner"));
    for name in ["a", "b"] {
        let kept = store.get(&configmaps(Some("default")), name).expect("orphaned, not deleted");
        assert!(meta::owner_uids(&kept).is_empty(), "{name} still names its owner");
    }
    assert!(!store.lock().has_dependents(meta::uid(&owner)));
    assert_in_step(&store);
}

#[test]
fn foreground_deletion_waits_until_every_dependent_is_gone() {
    let store = store();
    let owner = create(&store, "default", "owner", json!({}), &[]);
    create(&store, "default", "quick", json!({}), &[&owner]);
    let held = create(&store, "default", "held", json!({}), &[&owner]);
    patch(&store, "default", meta::name(&held), json!({"metadata": {"finalizers": ["example.com/hold"]}}));

    delete(&store, "default", "owner", Propagation::Foreground);
    assert!(!exists(&store, "default", "quick"));
    let waiting = store.get(&configmaps(Some("default")), "owner").expect("waits for held");
    assert!(meta::finalizers(&waiting).contains(&"foregroundDeletion"));
    assert_in_step(&store);

    patch(&store, "default", "held", json!({"metadata": {"finalizers": null}}));
    assert!(!exists(&store, "default", "held"));
    assert!(!exists(&store, "default", "owner"), "the owner goes once its last dependent went");
    assert_in_step(&store);
}

#[test]
fn namespace_deletion_removes_every_content_and_only_that_namespace() {
    let store = store();
    for namespace in ["team", "team-b", "teal"] {
        create_namespace(&store, namespace);
        for i in 0..5 {
            create(&store, namespace, &format!("cm-{i}"), json!({"app": "x"}), &[]);
        }
        let secret = json!({"metadata": {"name": "token"}, "stringData": {"k": "v"}});
        let secrets = ResourceRef::new("", "v1", "secrets", Some(namespace));
        store.create(&secrets, secret, WriteOptions::default()).expect("secret");
    }
    store.delete(&namespaces(), "team", &DeleteOptions::default()).expect("deleted");
    assert!(store.get(&namespaces(), "team").is_err(), "the namespace goes once it is empty");
    assert!(store.list(&configmaps(Some("team")), &ListOptions::default()).expect("list").items.is_empty());
    assert!(!store.lock().namespace_holds_any("team"));
    for namespace in ["team-b", "teal"] {
        assert_eq!(store.list(&configmaps(Some(namespace)), &ListOptions::default()).expect("list").items.len(), 5);
    }
    assert_in_step(&store);
}

#[test]
fn a_restored_store_collects_garbage_and_selects_by_label() {
    let store = store();
    let owner = create(&store, "default", "owner", json!({"role": "owner"}), &[]);
    for i in 0..3 {
        create(&store, "default", &format!("dependent-{i}"), json!({"role": "dependent"}), &[&owner]);
    }
    let restored = Store::restore(StoreConfig::default(), store.snapshot()).expect("restored");
    assert_in_step(&restored);

    let options =
        ListOptions { label_selector: LabelSelector::parse("role=dependent").expect("selector"), ..Default::default() };
    assert_eq!(restored.list(&configmaps(Some("default")), &options).expect("list").items.len(), 3);
    delete(&restored, "default", "owner", Propagation::Background);
    assert!(restored.list(&configmaps(None), &ListOptions::default()).expect("list").items.is_empty());
    assert_in_step(&restored);
}

#[test]
fn a_label_change_moves_the_object_in_the_label_index() {
    let store = store();
    create(&store, "default", "cm", json!({"tier": "web"}), &[]);
    patch(&store, "default", "cm", json!({"metadata": {"labels": {"tier": "db"}}}));
    let selected = |selector: &str| {
        let options =
            ListOptions { label_selector: LabelSelector::parse(selector).expect("selector"), ..Default::default() };
        store.list(&configmaps(None), &options).expect("list").items.len()
    };
    assert_eq!((selected("tier=web"), selected("tier=db"), selected("tier=db,tier=web")), (0, 1, 0));
    patch(&store, "default", "cm", json!({"metadata": {"labels": null}}));
    assert_eq!(selected("tier=db"), 0);
    assert_in_step(&store);
}

/// Fills namespaces `a`, `b` and `c` with 7 ConfigMaps each, labelled `batch` 0, 1 or 2
/// in turn, so that every selector and page boundary falls somewhere different.
fn filled() -> Store {
    let store = store();
    for namespace in ["a", "b", "c"] {
        create_namespace(&store, namespace);
        for i in 0..7 {
            create(&store, namespace, &format!("cm-{i}"), json!({"batch": (i % 3).to_string()}), &[]);
        }
    }
    store
}

/// Every page of a list of `target` with `options` and page size `limit`: the
/// `namespace/name`s listed and each page's remainingItemCount.
fn pages(
    store: &Store,
    target: &ResourceRef,
    options: &ListOptions,
    limit: usize,
) -> (Vec<String>, Vec<Option<usize>>) {
    let (mut seen, mut remaining) = (Vec::new(), Vec::new());
    let mut token = None;
    loop {
        let page_options = ListOptions { limit: Some(limit), continue_token: token, ..options.clone() };
        let page = store.list(target, &page_options).expect("a page");
        seen.extend(page.items.iter().map(|o| format!("{}/{}", meta::namespace(o), meta::name(o))));
        remaining.push(page.remaining_item_count);
        assert_eq!(page.to_json()["metadata"].get("remainingItemCount").is_some(), page.remaining_item_count.is_some());
        token = page.continue_token;
        if token.is_none() {
            return (seen, remaining);
        }
    }
}

/// What an unpaged list returns.
fn unpaged(store: &Store, target: &ResourceRef, options: &ListOptions) -> Vec<String> {
    pages(store, target, options, usize::MAX).0
}

#[test]
fn paging_without_selectors_returns_each_object_once_and_counts_the_rest() {
    let store = filled();
    for (target, total) in [(configmaps(None), 21), (configmaps(Some("b")), 7)] {
        for limit in [1, 2, 5, 7, 20] {
            let (seen, remaining) = pages(&store, &target, &ListOptions::default(), limit);
            assert_eq!(seen, unpaged(&store, &target, &ListOptions::default()));
            assert_eq!(seen.len(), total);
            let expected: Vec<Option<usize>> = (1..=remaining.len())
                .map(|page| Some(total - (page * limit).min(total)).filter(|left| *left > 0))
                .collect();
            assert_eq!(remaining, expected, "limit {limit}");
        }
    }
}

#[test]
fn paging_with_selectors_returns_each_match_once_and_no_count() {
    let store = filled();
    let by_label =
        |s: &str| ListOptions { label_selector: LabelSelector::parse(s).expect("label"), ..Default::default() };
    let by_field =
        |s: &str| ListOptions { field_selector: FieldSelector::parse(s).expect("field"), ..Default::default() };
    let cases = [
        (configmaps(None), by_label("batch=1"), 6),
        (configmaps(Some("c")), by_label("batch in (0)"), 3),
        (configmaps(None), by_label("batch!=1"), 15),
        (configmaps(None), by_label("batch=9"), 0),
        (configmaps(None), by_field("metadata.name=cm-3"), 3),
    ];
    for (target, options, matches) in cases {
        let everything = unpaged(&store, &target, &ListOptions::default());
        for limit in [1, 2, 4] {
            let (seen, remaining) = pages(&store, &target, &options, limit);
            assert_eq!(seen.len(), matches, "{options:?}");
            assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), matches, "{options:?}: a match came twice");
            assert!(seen.iter().all(|s| everything.contains(s)));
            assert!(remaining.iter().all(Option::is_none), "{options:?}: {remaining:?}");
        }
    }
}

#[test]
fn a_token_without_a_count_continues_without_remaining_and_a_bad_one_is_a_bad_request() {
    let store = filled();
    let first = store.list(&configmaps(None), &ListOptions { limit: Some(5), ..Default::default() }).expect("first");
    let rv = first.resource_version;
    let older = hex::encode(json!({"rv": rv, "after": {"namespace": "a", "name": "cm-4"}}).to_string());
    let next = ListOptions { limit: Some(5), continue_token: Some(older), ..Default::default() };
    let page = store.list(&configmaps(None), &next).expect("an older token still decodes");
    let names: Vec<&str> = page.items.iter().map(meta::name).collect();
    assert_eq!(names, ["cm-5", "cm-6", "cm-0", "cm-1", "cm-2"]);
    assert_eq!(page.remaining_item_count, None);

    let bad = ListOptions { continue_token: Some("not-hex".to_string()), ..Default::default() };
    let refused = store.list(&configmaps(None), &bad).expect_err("a bad token");
    assert_eq!(refused.code(), 400);
    assert!(refused.to_string().contains("invalid continue token"), "{refused}");
}

#[test]
fn a_scope_stops_at_its_namespace_whatever_the_cursor() {
    let names: BTreeSet<ObjectName> = [("a", "x"), ("a", "y"), ("a-b", "x"), ("b", "x"), ("b", "y")]
        .into_iter()
        .map(|(ns, name)| ObjectName::new(Some(ns), name))
        .collect();
    let listed = |namespace: Option<&str>, after: Option<(&str, &str)>| {
        let after = after.map(|(ns, name)| ObjectName::new(Some(ns), name));
        let scope = Scope { namespace, after: after.as_ref() };
        scope.names(&names).map(|n| format!("{}/{}", n.namespace, n.name)).collect::<Vec<_>>()
    };
    assert_eq!(listed(Some("a"), None), ["a/x", "a/y"]);
    assert_eq!(listed(Some("a"), Some(("a", "x"))), ["a/y"]);
    assert_eq!(listed(Some("b"), Some(("a", "y"))), ["b/x", "b/y"]);
    assert_eq!(listed(Some("a"), Some(("b", "x"))), Vec::<String>::new());
    assert_eq!(listed(None, Some(("a", "y"))), ["a-b/x", "b/x", "b/y"]);
}

#[test]
fn deletecollection_with_a_selector_deletes_the_matches_of_its_namespace_only() {
    let store = filled();
    let list = ListOptions { label_selector: LabelSelector::parse("batch=2").expect("selector"), ..Default::default() };
    let deleted = store.delete_collection(&configmaps(Some("b")), &list, &DeleteOptions::default()).expect("deleted");
    assert_eq!(deleted.len(), 2);
    assert_eq!(unpaged(&store, &configmaps(Some("b")), &ListOptions::default()).len(), 5);
    assert_eq!(unpaged(&store, &configmaps(None), &list).len(), 4);
    assert_in_step(&store);
}

#[tokio::test]
async fn a_watch_starts_with_the_selected_objects_of_its_namespace() {
    let store = filled();
    let options =
        WatchOptions { label_selector: LabelSelector::parse("batch=0").expect("selector"), ..Default::default() };
    let mut session = store.watch(&configmaps(Some("c")), &options).expect("a watch");
    // A later create ends the initial events: everything before it is what the watch started with.
    create(&store, "c", "zz-last", json!({"batch": "0"}), &[]);
    let mut added = Vec::new();
    while let Some(WatchEvent::Added(object)) = session.next().await {
        added.push(format!("{}/{}", meta::namespace(&object), meta::name(&object)));
        if meta::name(&object) == "zz-last" {
            break;
        }
    }
    assert_eq!(added, ["c/cm-0", "c/cm-3", "c/cm-6", "c/zz-last"]);
}
