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
