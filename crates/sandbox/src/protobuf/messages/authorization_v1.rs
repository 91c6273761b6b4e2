//! The JSON shape of the `authorization/v1` messages: the access reviews.

use k8s_pb::api::authorization::v1::*;

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
    FieldSelectorAttributes {
        raw_selector: nonzero "rawSelector",
        requirements: keep "requirements",
    }
    LabelSelectorAttributes {
        raw_selector: nonzero "rawSelector",
        requirements: keep "requirements",
    }
    LocalSubjectAccessReview {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    NonResourceAttributes {
        path: nonzero "path",
        verb: nonzero "verb",
    }
    NonResourceRule {
        verbs: nullable "verbs",
        non_resource_ur_ls: keep "nonResourceURLs",
    }
    ResourceAttributes {
        namespace: nonzero "namespace",
        verb: nonzero "verb",
        group: nonzero "group",
        version: nonzero "version",
        resource: nonzero "resource",
        subresource: nonzero "subresource",
        name: nonzero "name",
        field_selector: keep "fieldSelector",
        label_selector: keep "labelSelector",
    }
    ResourceRule {
        verbs: nullable "verbs",
        api_groups: keep "apiGroups",
        resources: keep "resources",
        resource_names: keep "resourceNames",
    }
    SelfSubjectAccessReview {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    SelfSubjectAccessReviewSpec {
        resource_attributes: keep "resourceAttributes",
        non_resource_attributes: keep "nonResourceAttributes",
    }
    SelfSubjectRulesReview {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    SelfSubjectRulesReviewSpec {
        namespace: nonzero "namespace",
    }
    SubjectAccessReview {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    SubjectAccessReviewSpec {
        resource_attributes: keep "resourceAttributes",
        non_resource_attributes: keep "nonResourceAttributes",
        user: nonzero "user",
        groups: keep "groups",
        extra: keep "extra",
        uid: nonzero "uid",
    }
    SubjectAccessReviewStatus {
        allowed: keep "allowed",
        denied: nonzero "denied",
        reason: nonzero "reason",
        evaluation_error: nonzero "evaluationError",
    }
    SubjectRulesReviewStatus {
        resource_rules: nullable "resourceRules",
        non_resource_rules: nullable "nonResourceRules",
        incomplete: keep "incomplete",
        evaluation_error: nonzero "evaluationError",
    }
}
