//! The JSON shape of the `events/v1` messages.

use k8s_pb::api::events::v1::*;

use crate::protobuf::json::messages;

messages! {
    Event {
        metadata: keep "metadata",
        event_time: keep "eventTime",
        series: keep "series",
        reporting_controller: nonzero "reportingController",
        reporting_instance: nonzero "reportingInstance",
        action: nonzero "action",
        reason: nonzero "reason",
        regarding: keep "regarding",
        related: keep "related",
        note: nonzero "note",
        r#type: nonzero "type",
        deprecated_source: keep "deprecatedSource",
        deprecated_first_timestamp: keep "deprecatedFirstTimestamp",
        deprecated_last_timestamp: keep "deprecatedLastTimestamp",
        deprecated_count: nonzero "deprecatedCount",
    }
    EventSeries {
        count: keep "count",
        last_observed_time: keep "lastObservedTime",
    }
}
