//! The JSON shape of the `authentication/v1` messages.

use k8s_pb::api::authentication::v1::*;

use crate::protobuf::json::messages;

messages! {
    BoundObjectReference {
        kind: nonzero "kind",
        api_version: nonzero "apiVersion",
        name: nonzero "name",
        u_id: nonzero "uid",
    }
    TokenRequest {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    TokenRequestSpec {
        audiences: nullable "audiences",
        expiration_seconds: keep "expirationSeconds",
        bound_object_ref: keep "boundObjectRef",
    }
    TokenRequestStatus {
        token: keep "token",
        expiration_timestamp: keep "expirationTimestamp",
    }
}
