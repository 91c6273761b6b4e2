//! Resources served through a second API: objects stored once, under one kind, and seen
//! through another group's shape, as kube-apiserver serves `events.k8s.io/v1` Events from
//! the core Events' storage.
//!
//! A view names the resource it serves, the resource whose objects it shows, and the two
//! conversions between their shapes. Reads convert the stored object on the way out;
//! writes convert the body on the way in. Objects, resourceVersions and watches are the
//! stored kind's: one object, one resourceVersion, whichever API wrote or reads it.

use serde_json::{Map, Value};

use super::events;
use super::kind::{GroupResource, ResourceKind};

/// A resource served as another's objects.
#[derive(Debug)]
pub struct View {
    /// The group of the resource served through the view.
    pub group: &'static str,
    /// The resource served through the view.
    pub resource: &'static str,
    /// The group of the resource whose objects it shows.
    pub stored_group: &'static str,
    /// The resource whose objects it shows.
    pub stored_resource: &'static str,
    /// The `apiVersion` of stored objects.
    pub stored_api_version: &'static str,
    /// Field renames, as (field in the view, field in storage); fields not listed keep
    /// their names.
    pub renames: &'static [(&'static str, &'static str)],
    /// The field labels the view is selected by, as (label in the view, label in storage).
    pub field_labels: &'static [(&'static str, &'static str)],
}

/// Every view the sandbox serves.
const VIEWS: [View; 1] = [View {
    group: "events.k8s.io",
    resource: "events",
    stored_group: "",
    stored_resource: "events",
    stored_api_version: "v1",
    renames: events::RENAMES,
    field_labels: events::FIELD_LABELS,
}];

/// The view `kind` is served through, if it is one (built-in kinds only).
pub fn view_of(kind: &ResourceKind) -> Option<&'static View> {
    if kind.crd.is_some() {
        return None;
    }
    VIEWS.iter().find(|v| v.group == kind.group && v.resource == kind.resource)
}

/// Moves each field `from` of `object` to `to`, dropping a field already named `to` (a
/// field the other shape does not have).
fn rename(object: &mut Map<String, Value>, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    let pairs: Vec<_> = pairs.collect();
    for (_, to) in &pairs {
        if !pairs.iter().any(|(from, _)| from == to) {
            object.remove(*to);
        }
    }
    let moved: Vec<(&str, Option<Value>)> = pairs.iter().map(|(from, to)| (*to, object.remove(*from))).collect();
    for (to, value) in moved {
        if let Some(value) = value {
            object.insert(to.to_string(), value);
        }
    }
}

impl View {
    /// The storage's field label for `label`; `None` when the view is not selected by it.
    pub fn stored_field_label(&self, label: &str) -> Option<&'static str> {
        self.field_labels.iter().find(|(view, _)| *view == label).map(|(_, stored)| *stored)
    }

    /// `body`, written through the view, in the stored shape.
    pub fn to_storage(&self, mut body: Value) -> Value {
        if let Some(map) = body.as_object_mut() {
            rename(map, self.renames.iter().copied());
            map.insert("apiVersion".to_string(), Value::from(self.stored_api_version));
        }
        body
    }

    /// The stored `object` in the view's shape (its `apiVersion` is left to the caller).
    pub fn from_storage(&self, mut object: Value) -> Value {
        if let Some(map) = object.as_object_mut() {
            rename(map, self.renames.iter().map(|(view, stored)| (*stored, *view)));
        }
        object
    }
}

impl ResourceKind {
    /// The group and resource its objects are stored under: its own, or for a view the
    /// resource it shows.
    pub fn storage_resource(&self) -> GroupResource {
        match view_of(self) {
            Some(view) => GroupResource::new(view.stored_group, view.stored_resource),
            None => self.group_resource(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::builtin_kinds;

    fn kind(group: &str, resource: &str) -> ResourceKind {
        builtin_kinds().into_iter().find(|k| k.group == group && k.resource == resource).expect("builtin")
    }

    #[test]
    fn events_k8s_io_events_are_stored_as_core_events() {
        let view = view_of(&kind("events.k8s.io", "events")).expect("a view");
        assert_eq!(kind("events.k8s.io", "events").storage_resource(), GroupResource::new("", "events"));
        assert!(view_of(&kind("", "events")).is_none());
        assert_eq!(kind("apps", "deployments").storage_resource(), GroupResource::new("apps", "deployments"));

        let written = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Deployment", "name": "web"}, "note": "scaled", "reason": "Scaled",
            "reportingController": "driftwarden", "reportingInstance": "pod-1", "action": "Scale",
            "eventTime": "2026-01-01T00:00:00.000000Z", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
            "deprecatedCount": 3, "message": "not a field of events.k8s.io",
        });
        let stored = view.to_storage(written.clone());
        assert_eq!(
            stored,
            json!({
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
                "involvedObject": {"kind": "Deployment", "name": "web"}, "message": "scaled", "reason": "Scaled",
                "reportingComponent": "driftwarden", "reportingInstance": "pod-1", "action": "Scale",
                "eventTime": "2026-01-01T00:00:00.000000Z", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
                "count": 3,
            })
        );
        let mut read = view.from_storage(stored);
        read["apiVersion"] = json!("events.k8s.io/v1");
        let mut expected = written;
        expected.as_object_mut().expect("object").remove("message");
        assert_eq!(read, expected, "the round trip keeps every field of the view");
    }
}
