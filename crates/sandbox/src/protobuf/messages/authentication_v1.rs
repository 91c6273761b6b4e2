//! The JSON shape of the `authentication/v1` messages.

use k8s_pb::api::authentication::v1::*;

use crate::protobuf::json::{MappingError, ToJson, messages};

/// `ExtraValue` is a `[]string` in Go: a plain list in JSON.
impl ToJson for ExtraValue {
    fn to_json(&self) -> Result<serde_json::Value, MappingError> {
        Ok(serde_json::Value::from(self.items.clone()))
    }
}

#[cfg(test)]
impl crate::protobuf::sample::Sample for ExtraValue {
    fn sample() -> Self {
        ExtraValue { items: crate::protobuf::sample::Sample::sample() }
    }
}

messages! {
    BoundObjectReference {
        kind: nonzero "kind",
        api_version: nonzero "apiVersion",
        name: nonzero "name",
        u_id: nonzero "uid",
    }
    SelfSubjectReview {
        metadata: keep "metadata",
        status: keep "status",
    }
    SelfSubjectReviewStatus {
        user_info: keep "userInfo",
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
    UserInfo {
        username: nonzero "username",
        uid: nonzero "uid",
        groups: keep "groups",
        extra: keep "extra",
    }
}
