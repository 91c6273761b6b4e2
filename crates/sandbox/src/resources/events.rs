//! The two shapes of an Event: `events.k8s.io/v1` and core `v1`, converted field for field
//! as kube-apiserver converts them (`pkg/apis/events/v1` conversion): `eventTime`,
//! `series`, `action`, `reason`, `type`, `related` and `reportingInstance` keep their
//! names in both.

/// `events.k8s.io/v1` field names and the core `v1` names they are stored under.
pub const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// The field labels `events.k8s.io/v1` Events are selected by, and the core labels they
/// stand for (kube-apiserver's field label conversion for the kind).
pub const FIELD_LABELS: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    ("regarding.resourceVersion", "involvedObject.resourceVersion"),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
];
