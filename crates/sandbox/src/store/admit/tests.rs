//! Admission without the store lock, raced: an admission whose evaluation writes through
//! the store (which only works once the lock is released) and records what it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use serde_json::{Value, json};

use super::optimistic::ATTEMPTS;
use super::{Admission, Admitted, Evaluation, ObjectView, Operation, PendingWrite, Prepared, Requester, Verdict};
use crate::auth::UserInfo;
use crate::error::{ApiError, Reason};
use crate::store::{DeleteOptions, ListOptions, PatchBody, ResourceRef, Store, StoreConfig, Subresource, WriteOptions};

/// A write the admission makes through the store while it evaluates.
type Interleaved = Box<dyn FnOnce(&Store) -> Result<(), ApiError> + Send>;

/// What the racing admission shares with its evaluations.
#[derive(Default)]
struct Shared {
    store: OnceLock<Weak<Store>>,
    /// One write per evaluation, taken in order; none when empty.
    interleaved: Mutex<VecDeque<Interleaved>>,
    /// The writes evaluated, in order.
    seen: Mutex<Vec<PendingWrite>>,
    /// How many writes were prepared.
    prepared: Mutex<usize>,
}

/// Admits every ConfigMap write after making the next interleaved write; warns with the
/// number of the evaluation, and denies objects labelled `deny: "yes"`.
struct Racer(Arc<Shared>);

struct RacerEvaluation {
    shared: Arc<Shared>,
    write: Arc<PendingWrite>,
}

impl Admission for Racer {
    fn prepare(&self, _objects: ObjectView<'_>, write: &Arc<PendingWrite>, _user: &UserInfo) -> Prepared {
        *self.0.prepared.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        if write.kind.resource != "configmaps" {
            return Prepared::Admitted;
        }
        Prepared::Evaluate(Box::new(RacerEvaluation { shared: self.0.clone(), write: write.clone() }))
    }
}

impl Evaluation for RacerEvaluation {
    fn evaluate(self: Box<Self>) -> Verdict {
        let next = self.shared.interleaved.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        if let (Some(write), Some(store)) = (next, self.shared.store.get().and_then(Weak::upgrade)) {
            write(&store).expect("the interleaved write succeeds");
        }
        let mut seen = self.shared.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.push((*self.write).clone());
        let notes = Admitted { warnings: vec![format!("evaluation {}", seen.len())], audit_annotations: Vec::new() };
        let labelled = self.write.object.as_ref().and_then(|o| o.pointer("/metadata/labels/deny")).is_some();
        let denial = labelled.then(|| ApiError::new(Reason::Forbidden, "labelled deny"));
        Verdict { notes, denial }
    }
}

struct Fixture {
    store: Arc<Store>,
    shared: Arc<Shared>,
    requester: Requester,
}

fn configmaps() -> ResourceRef {
    ResourceRef::new("", "v1", "configmaps", Some("default"))
}

fn fixture() -> Fixture {
    let store = Arc::new(Store::new(StoreConfig::default()).expect("a store"));
    let shared = Arc::new(Shared::default());
    shared.store.set(Arc::downgrade(&store)).expect("set once");
    assert!(store.set_admission(Arc::new(Racer(shared.clone()))));
    let requester = Requester::new(UserInfo::user("alice", &[]));
    Fixture { store, shared, requester }
}

impl Fixture {
    /// Creates a ConfigMap as the system (not admitted).
    fn seed(&self, name: &str, data: Value) -> Value {
        let body = json!({"metadata": {"name": name}, "data": data});
        self.store.create(&configmaps(), body, WriteOptions::default()).expect("created")
    }

    fn during_evaluation(&self, write: impl FnOnce(&Store) -> Result<(), ApiError> + Send + 'static) {
        self.shared.interleaved.lock().unwrap_or_else(PoisonError::into_inner).push_back(Box::new(write));
    }

    fn as_client(&self) -> WriteOptions {
        WriteOptions { requester: Some(self.requester.clone()), ..WriteOptions::default() }
    }

    /// Merge-patches `data.c: "3"` into ConfigMap `cm` with `options`.
    fn patch_c(&self, options: WriteOptions) -> Result<Value, ApiError> {
        let patch = PatchBody::Merge(json!({"data": {"c": "3"}}));
        self.store.patch(&configmaps(), "cm", &patch, Subresource::Main, options)
    }

    fn seen(&self) -> Vec<PendingWrite> {
        self.shared.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn stored(&self, name: &str) -> Option<Value> {
        self.store
            .list(&configmaps(), &ListOptions::default())
            .ok()
            .and_then(|list| list.items.into_iter().find(|o| o.pointer("/metadata/name") == Some(&json!(name))))
    }
}

/// A merge patch of `data` by the system (not admitted).
fn system_patch(name: &'static str, data: Value) -> impl FnOnce(&Store) -> Result<(), ApiError> + Send + 'static {
    move |store: &Store| {
        let patch = PatchBody::Merge(json!({"data": data}));
        store.patch(&configmaps(), name, &patch, Subresource::Main, WriteOptions::default()).map(drop)
    }
}

#[test]
fn an_update_naming_the_version_it_read_gets_409_when_the_object_changed_during_admission() {
    let f = fixture();
    let read = f.seed("cm", json!({"a": "1"}));
    f.during_evaluation(system_patch("cm", json!({"b": "2"})));
    let mut body = read.clone();
    body["data"]["a"] = json!("changed");
    let err = f.store.update(&configmaps(), "cm", body, Subresource::Main, f.as_client()).expect_err("stale");
    assert_eq!((err.code(), err.reason), (409, Reason::Conflict), "{err:?}");
    assert_eq!(f.stored("cm").expect("kept")["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(f.seen().len(), 1);
}

#[test]
fn a_patch_is_applied_again_to_the_changed_object_and_admitted_again() {
    let f = fixture();
    f.seed("cm", json!({"a": "1"}));
    f.during_evaluation(system_patch("cm", json!({"b": "2"})));
    f.patch_c(f.as_client()).expect("patched");
    assert_eq!(f.stored("cm").expect("stored")["data"], json!({"a": "1", "b": "2", "c": "3"}));
    let seen = f.seen();
    assert_eq!(seen.len(), 2, "admitted once more after the object changed");
    let second = seen[1].object.as_ref().expect("an object");
    assert_eq!(second["data"], json!({"a": "1", "b": "2", "c": "3"}));
    assert_eq!(seen[1].old_object.as_ref().expect("old")["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(f.requester.notes().warnings, vec!["evaluation 2".to_string()], "only the final verdict's warnings");
}

#[test]
fn a_write_to_another_object_during_admission_does_not_admit_again() {
    let f = fixture();
    f.seed("cm", json!({"a": "1"}));
    f.seed("other", json!({}));
    f.during_evaluation(system_patch("other", json!({"x": "1"})));
    let written = f.patch_c(f.as_client()).expect("patched");
    assert_eq!(f.seen().len(), 1);
    assert_eq!(written["data"], json!({"a": "1", "c": "3"}));
    assert_eq!(Some(written), f.stored("cm"), "the admitted object is the one stored");
    assert_eq!(f.requester.notes().warnings, vec!["evaluation 1".to_string()]);
}

#[test]
fn a_create_raced_by_another_create_gets_already_exists() {
    let f = fixture();
    f.during_evaluation(|store: &Store| {
        let body = json!({"metadata": {"name": "cm"}, "data": {"by": "system"}});
        store.create(&configmaps(), body, WriteOptions::default()).map(drop)
    });
    let body = json!({"metadata": {"name": "cm"}, "data": {"by": "client"}});
    let err = f.store.create(&configmaps(), body, f.as_client()).expect_err("raced");
    assert_eq!((err.code(), err.reason), (409, Reason::AlreadyExists), "{err:?}");
    assert_eq!(f.stored("cm").expect("the first create")["data"], json!({"by": "system"}));
}

#[test]
fn a_create_whose_namespace_changed_during_admission_stores_the_object_admitted() {
    let f = fixture();
    f.during_evaluation(|store: &Store| {
        let namespaces = ResourceRef::new("", "v1", "namespaces", None);
        let patch = PatchBody::Merge(json!({"metadata": {"labels": {"team": "a"}}}));
        store.patch(&namespaces, "default", &patch, Subresource::Main, WriteOptions::default()).map(drop)
    });
    let body = json!({"metadata": {"generateName": "cm-"}, "data": {"a": "1"}});
    let created = f.store.create(&configmaps(), body, f.as_client()).expect("created");
    let seen = f.seen();
    assert_eq!(seen.len(), 1, "computed again, the same object: not admitted again");
    let admitted = seen[0].object.as_ref().expect("an object");
    for field in ["/metadata/name", "/metadata/uid", "/metadata/creationTimestamp"] {
        assert_eq!(created.pointer(field), admitted.pointer(field), "{field}");
    }
}

#[test]
fn a_denial_refuses_the_write_and_its_warnings_reach_the_client() {
    let f = fixture();
    let body = json!({"metadata": {"name": "cm", "labels": {"deny": "yes"}}});
    let err = f.store.create(&configmaps(), body, f.as_client()).expect_err("denied");
    assert_eq!(err.reason, Reason::Forbidden);
    assert_eq!(f.stored("cm"), None);
    assert_eq!(f.requester.notes().warnings, vec!["evaluation 1".to_string()]);
}

#[test]
fn a_write_changed_under_every_evaluation_gives_up_with_a_conflict() {
    let f = fixture();
    f.seed("cm", json!({"n": "0"}));
    for n in 0..ATTEMPTS {
        let data = json!({"n": (n + 1).to_string()});
        f.during_evaluation(move |store: &Store| system_patch("cm", data)(store));
    }
    let err = f.patch_c(f.as_client()).expect_err("gives up");
    assert_eq!((err.code(), err.reason), (409, Reason::Conflict), "{err:?}");
    assert!(err.message.contains("changed while admission evaluated"), "{}", err.message);
    assert_eq!(f.seen().len(), ATTEMPTS);
    assert_eq!(f.stored("cm").expect("kept")["data"].get("c"), None);
}

#[test]
fn an_apply_that_would_create_is_admitted_again_as_an_update_once_the_object_exists() {
    let f = fixture();
    f.during_evaluation(|store: &Store| {
        let body = json!({"metadata": {"name": "cm"}, "data": {"by": "system"}});
        store.create(&configmaps(), body, WriteOptions::default()).map(drop)
    });
    let options = WriteOptions { field_manager: Some("alice".to_string()), ..f.as_client() };
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"mine": "1"}});
    f.store.apply(&configmaps(), "cm", config, Subresource::Main, options).expect("applied");
    let operations: Vec<Operation> = f.seen().iter().map(|w| w.operation).collect();
    assert_eq!(operations, vec![Operation::Create, Operation::Update]);
    assert_eq!(f.stored("cm").expect("stored")["data"], json!({"by": "system", "mine": "1"}));
}

#[test]
fn a_delete_is_admitted_again_when_the_object_changed_and_refused_when_its_precondition_fails() {
    let f = fixture();
    let read = f.seed("cm", json!({"a": "1"}));
    f.during_evaluation(system_patch("cm", json!({"b": "2"})));
    let stale = DeleteOptions {
        precondition_resource_version: read
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(Into::into),
        requester: Some(f.requester.clone()),
        ..DeleteOptions::default()
    };
    let err = f.store.delete(&configmaps(), "cm", &stale).expect_err("precondition");
    assert_eq!(err.reason, Reason::Conflict);
    f.during_evaluation(system_patch("cm", json!({"c": "3"})));
    let options = DeleteOptions { requester: Some(f.requester.clone()), ..DeleteOptions::default() };
    f.store.delete(&configmaps(), "cm", &options).expect("deleted");
    assert_eq!(f.stored("cm"), None);
    let seen = f.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].old_object.as_ref().expect("old")["data"], json!({"a": "1", "b": "2", "c": "3"}));
}

#[test]
fn a_delete_collection_admits_an_object_created_during_admission_before_deleting_it() {
    let f = fixture();
    f.seed("one", json!({}));
    f.during_evaluation(|store: &Store| {
        store.create(&configmaps(), json!({"metadata": {"name": "two"}}), WriteOptions::default()).map(drop)
    });
    let options = DeleteOptions { requester: Some(f.requester.clone()), ..DeleteOptions::default() };
    let deleted = f.store.delete_collection(&configmaps(), &ListOptions::default(), &options).expect("deleted");
    assert_eq!(deleted.len(), 2);
    let names: Vec<String> = f.seen().iter().map(|w| w.name.clone()).collect();
    assert_eq!(names, vec!["one", "one", "two"], "the first round, then both once the collection changed");
    assert_eq!((f.stored("one"), f.stored("two")), (None, None));
}

#[test]
fn a_dry_run_raced_by_a_write_answers_the_recomputed_object_and_stores_nothing() {
    let f = fixture();
    f.seed("cm", json!({"a": "1"}));
    f.during_evaluation(system_patch("cm", json!({"b": "2"})));
    let answer = f.patch_c(WriteOptions { dry_run: true, ..f.as_client() }).expect("dry run");
    assert_eq!(answer["data"], json!({"a": "1", "b": "2", "c": "3"}));
    assert_eq!(f.stored("cm").expect("kept")["data"], json!({"a": "1", "b": "2"}));
    assert!(f.seen().iter().all(|w| w.dry_run));
}

#[test]
fn the_systems_own_writes_are_not_admitted() {
    let f = fixture();
    f.seed("cm", json!({"a": "1"}));
    let patch = PatchBody::Merge(json!({"data": {"b": "2"}}));
    f.store.patch(&configmaps(), "cm", &patch, Subresource::Main, WriteOptions::default()).expect("patched");
    assert_eq!(*f.shared.prepared.lock().unwrap_or_else(PoisonError::into_inner), 0);
}
