//! The JSON shape of the `meta/v1` messages.

use k8s_pb::apimachinery::pkg::apis::meta::v1::*;

use crate::protobuf::json::messages;

messages! {
    Condition {
        r#type: keep "type",
        status: keep "status",
        observed_generation: nonzero "observedGeneration",
        last_transition_time: keep "lastTransitionTime",
        reason: keep "reason",
        message: keep "message",
    }
    FieldSelectorRequirement {
        key: keep "key",
        operator: keep "operator",
        values: keep "values",
    }
    LabelSelector {
        match_labels: keep "matchLabels",
        match_expressions: keep "matchExpressions",
    }
    LabelSelectorRequirement {
        key: keep "key",
        operator: keep "operator",
        values: keep "values",
    }
    ManagedFieldsEntry {
        manager: nonzero "manager",
        operation: nonzero "operation",
        api_version: nonzero "apiVersion",
        time: keep "time",
        fields_type: nonzero "fieldsType",
        fields_v1: keep "fieldsV1",
        subresource: nonzero "subresource",
    }
    ObjectMeta {
        name: nonzero "name",
        generate_name: nonzero "generateName",
        namespace: nonzero "namespace",
        self_link: nonzero "selfLink",
        uid: nonzero "uid",
        resource_version: nonzero "resourceVersion",
        generation: nonzero "generation",
        creation_timestamp: nonzero "creationTimestamp",
        deletion_timestamp: keep "deletionTimestamp",
        deletion_grace_period_seconds: keep "deletionGracePeriodSeconds",
        labels: keep "labels",
        annotations: keep "annotations",
        owner_references: keep "ownerReferences",
        finalizers: keep "finalizers",
        managed_fields: keep "managedFields",
    }
    OwnerReference {
        api_version: keep "apiVersion",
        kind: keep "kind",
        name: keep "name",
        uid: keep "uid",
        controller: keep "controller",
        block_owner_deletion: keep "blockOwnerDeletion",
    }
}
