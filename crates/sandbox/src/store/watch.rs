//! watch: replay from a resourceVersion (or the current state as synthetic ADDED events),
//! then live changes, filtered by namespace and selectors, with BOOKMARKs and a timeout.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::{Instant, sleep_until};

use super::history::{Change, ChangeKind};
use super::index::Scope;
use super::meta;
use super::options::{ResourceRef, WatchOptions};
use super::selector::{FieldSelector, LabelSelector};
use super::{Store, resolve_kind, stored_selector, view};
use crate::error::ApiError;
use crate::resources::{GroupResource, ResourceKind};

/// The longest a watch stays open, whatever `timeoutSeconds` asks: a deadline further out
/// would overflow the clock (a client may send up to 2^64-1 seconds).
pub const MAX_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);

/// The annotation on the BOOKMARK that ends the initial events of a streaming list.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// One event of a watch stream.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The object started to exist (or to match the watch's selectors).
    Added(Value),
    /// The object changed.
    Modified(Value),
    /// The object was deleted (or stopped matching the watch's selectors).
    Deleted(Value),
    /// Every change up to this object's resourceVersion has been sent.
    Bookmark(Value),
    /// The watch failed; the stream ends after this.
    Error(Box<Status>),
}

impl WatchEvent {
    /// The event as one line of a watch stream: `{"type": ..., "object": ...}`.
    pub fn to_json(&self) -> Value {
        let (kind, object) = match self {
            WatchEvent::Added(o) => ("ADDED", o.clone()),
            WatchEvent::Modified(o) => ("MODIFIED", o.clone()),
            WatchEvent::Deleted(o) => ("DELETED", o.clone()),
            WatchEvent::Bookmark(o) => ("BOOKMARK", o.clone()),
            WatchEvent::Error(status) => ("ERROR", serde_json::to_value(&**status).unwrap_or(Value::Null)),
        };
        json!({"type": kind, "object": object})
    }

    /// The event as one line of a watch stream, encoded without copying the object.
    pub fn encode(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Line<'a, T: serde::Serialize> {
            #[serde(rename = "type")]
            kind: &'static str,
            object: &'a T,
        }
        let encoded = match self {
            WatchEvent::Added(o) => serde_json::to_vec(&Line { kind: "ADDED", object: o }),
            WatchEvent::Modified(o) => serde_json::to_vec(&Line { kind: "MODIFIED", object: o }),
            WatchEvent::Deleted(o) => serde_json::to_vec(&Line { kind: "DELETED", object: o }),
            WatchEvent::Bookmark(o) => serde_json::to_vec(&Line { kind: "BOOKMARK", object: o }),
            WatchEvent::Error(status) => serde_json::to_vec(&Line { kind: "ERROR", object: &**status }),
        };
        // Serializing JSON values and a Status cannot fail.
        encoded.unwrap_or_default()
    }
}

/// Which changes a watch sees.
#[derive(Debug, Clone)]
struct Filter {
    resource: GroupResource,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn selects(&self, object: &Value) -> bool {
        self.namespace.as_deref().is_none_or(|ns| meta::namespace(object) == ns)
            && self.labels.matches(meta::labels(object))
            && self.fields.matches(object)
    }

    /// The event a change means to this watch: an object that starts matching is ADDED,
    /// one that stops matching is DELETED (as it was, at the new resourceVersion).
    fn translate(&self, change: &Change, kind: &ResourceKind) -> Option<WatchEvent> {
        if change.key.resource != self.resource {
            return None;
        }
        let now = change.kind != ChangeKind::Deleted && self.selects(&change.object);
        let before = change.previous.as_deref().is_some_and(|p| self.selects(p));
        match change.kind {
            ChangeKind::Added if now => Some(WatchEvent::Added(view(&change.object, kind))),
            ChangeKind::Modified if now && before => Some(WatchEvent::Modified(view(&change.object, kind))),
            ChangeKind::Modified if now => Some(WatchEvent::Added(view(&change.object, kind))),
            ChangeKind::Modified if before => {
                let mut last = view(change.previous.as_deref().unwrap_or(&Value::Null), kind);
                meta::set_resource_version(&mut last, change.rv);
                Some(WatchEvent::Deleted(last))
            }
            ChangeKind::Deleted if self.selects(&change.object) => {
                Some(WatchEvent::Deleted(view(&change.object, kind)))
            }
            _ => None,
        }
    }
}

/// An open watch.
pub struct WatchSession {
    kind: ResourceKind,
    filter: Filter,
    pending: VecDeque<WatchEvent>,
    receiver: Option<broadcast::Receiver<Arc<Change>>>,
    last_rv: u64,
    bookmark_interval: Option<Duration>,
    next_bookmark: Instant,
    deadline: Instant,
}

impl WatchSession {
    fn bookmark(&self, initial_events_end: bool) -> WatchEvent {
        let mut metadata = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        WatchEvent::Bookmark(
            json!({"kind": self.kind.kind, "apiVersion": self.kind.api_version(), "metadata": metadata}),
        )
    }

    /// The next event, or `None` when the watch ends (timeout, history overrun, or after
    /// an ERROR event).
    pub async fn next(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let receiver = self.receiver.as_mut()?;
            let bookmark_at = self.bookmark_interval.map(|_| self.next_bookmark);
            tokio::select! {
                _ = sleep_until(self.deadline) => {
                    self.receiver = None;
                    return None;
                }
                _ = sleep_until(bookmark_at.unwrap_or(self.deadline)), if bookmark_at.is_some() => {
                    self.next_bookmark = Instant::now() + self.bookmark_interval.unwrap_or_default();
                    return Some(self.bookmark(false));
                }
                received = receiver.recv() => match received {
                    Ok(change) => {
                        self.last_rv = change.rv;
                        if let Some(event) = self.filter.translate(&change, &self.kind) {
                            return Some(event);
                        }
                    }
                    // A watcher that fell behind the live channel, or a store that is gone,
                    // ends the watch; the client resumes from its last resourceVersion.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => {
                        self.receiver = None;
                        return None;
                    }
                },
            }
        }
    }
}

fn parse_rv(rv: &str) -> Result<u64, ApiError> {
    rv.parse().map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))
}

impl Store {
    /// Opens a watch on a collection.
    pub fn watch(&self, target: &ResourceRef, options: &WatchOptions) -> Result<WatchSession, ApiError> {
        let state = self.lock();
        let kind = resolve_kind(&state, target)?;
        let filter = Filter {
            resource: kind.storage_resource(),
            namespace: target.namespace.clone().filter(|_| kind.namespaced()),
            labels: options.label_selector.clone(),
            fields: stored_selector(&options.field_selector, &kind)?,
        };
        let start = match options.resource_version.as_deref() {
            None | Some("") | Some("0") => None,
            Some(rv) => Some(parse_rv(rv)?),
        };
        let now = Instant::now();
        let timeout = options
            .timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(self.config.default_watch_timeout)
            .min(MAX_WATCH_TIMEOUT);
        let bookmark_interval = options.allow_bookmarks.then_some(self.config.bookmark_interval);
        let mut session = WatchSession {
            kind: kind.clone(),
            filter,
            pending: VecDeque::new(),
            receiver: Some(state.changes.subscribe()),
            last_rv: state.rv,
            bookmark_interval,
            next_bookmark: now + bookmark_interval.unwrap_or_default(),
            deadline: now + timeout,
        };
        let initial_events = match (options.send_initial_events, start) {
            (Some(explicit), _) => explicit,
            (None, start) => start.is_none(),
        };
        if initial_events {
            let scope = Scope { namespace: session.filter.namespace.as_deref(), after: None };
            let objects = state.candidates(&session.filter.resource, scope, &session.filter.labels);
            for (_, object) in objects.filter(|(_, o)| session.filter.selects(o)) {
                session.pending.push_back(WatchEvent::Added(view(object, &kind)));
            }
            if options.send_initial_events == Some(true) && options.allow_bookmarks {
                let end = session.bookmark(true);
                session.pending.push_back(end);
            }
        } else if let Some(from) = start {
            match state.history.since(from) {
                Some(changes) => {
                    for change in changes {
                        if let Some(event) = session.filter.translate(&change, &kind) {
                            session.pending.push_back(event);
                        }
                    }
                }
                None => {
                    let expired = ApiError::expired(format!(
                        "too old resource version: {from} ({})",
                        state.history.compacted_through() + 1
                    ));
                    session.pending.push_back(WatchEvent::Error(Box::new(expired.to_status())));
                    session.receiver = None;
                }
            }
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;

    #[tokio::test]
    async fn the_largest_timeout_a_client_can_send_opens_a_watch_capped_at_thirty_days() {
        let store = Store::new(StoreConfig::default()).expect("store");
        let target = ResourceRef::new("", "v1", "configmaps", Some("a"));
        let options = WatchOptions { timeout_seconds: Some(u64::MAX), ..WatchOptions::default() };
        let session = store.watch(&target, &options).expect("the watch opens");
        let left = session.deadline - Instant::now();
        assert!(left <= MAX_WATCH_TIMEOUT && left > MAX_WATCH_TIMEOUT - Duration::from_secs(60), "{left:?}");
    }

    #[test]
    fn encoding_writes_the_same_line_as_the_json_form() {
        let event = WatchEvent::Modified(json!({"kind": "ConfigMap", "metadata": {"name": "a"}}));
        let decoded: Value = serde_json::from_slice(&event.encode()).expect("json");
        assert_eq!(decoded, event.to_json());
        let error = WatchEvent::Error(Box::new(ApiError::expired("too old").to_status()));
        let decoded: Value = serde_json::from_slice(&error.encode()).expect("json");
        assert_eq!(decoded["object"]["code"], 410);
    }
}
