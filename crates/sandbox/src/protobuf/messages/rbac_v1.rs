//! The JSON shape of the `rbac/v1` messages.

use k8s_pb::api::rbac::v1::*;

use crate::protobuf::json::messages;

messages! {
    AggregationRule {
        cluster_role_selectors: keep "clusterRoleSelectors",
    }
    ClusterRole {
        metadata: keep "metadata",
        rules: nullable "rules",
        aggregation_rule: keep "aggregationRule",
    }
    ClusterRoleBinding {
        metadata: keep "metadata",
        subjects: keep "subjects",
        role_ref: keep "roleRef",
    }
    PolicyRule {
        verbs: nullable "verbs",
        api_groups: keep "apiGroups",
        resources: keep "resources",
        resource_names: keep "resourceNames",
        non_resource_ur_ls: keep "nonResourceURLs",
    }
    Role {
        metadata: keep "metadata",
        rules: nullable "rules",
    }
    RoleBinding {
        metadata: keep "metadata",
        subjects: keep "subjects",
        role_ref: keep "roleRef",
    }
    RoleRef {
        api_group: keep "apiGroup",
        kind: keep "kind",
        name: keep "name",
    }
    Subject {
        kind: keep "kind",
        api_group: nonzero "apiGroup",
        name: keep "name",
        namespace: nonzero "namespace",
    }
}
