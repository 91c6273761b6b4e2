//! The JSON shape of the `coordination/v1` messages.

use k8s_pb::api::coordination::v1::*;

use crate::protobuf::json::messages;

messages! {
    Lease {
        metadata: keep "metadata",
        spec: keep "spec",
    }
    LeaseSpec {
        holder_identity: keep "holderIdentity",
        lease_duration_seconds: keep "leaseDurationSeconds",
        acquire_time: keep "acquireTime",
        renew_time: keep "renewTime",
        lease_transitions: keep "leaseTransitions",
        strategy: keep "strategy",
        preferred_holder: keep "preferredHolder",
    }
}
