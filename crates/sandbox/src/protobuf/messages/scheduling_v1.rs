//! The JSON shape of the `scheduling/v1` messages.

use k8s_pb::api::scheduling::v1::*;

use crate::protobuf::json::messages;

messages! {
    PriorityClass {
        metadata: keep "metadata",
        value: keep "value",
        global_default: nonzero "globalDefault",
        description: nonzero "description",
        preemption_policy: keep "preemptionPolicy",
    }
}
