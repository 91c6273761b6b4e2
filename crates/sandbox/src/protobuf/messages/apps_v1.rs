//! The JSON shape of the `apps/v1` messages.

use k8s_pb::api::apps::v1::*;

use crate::protobuf::json::messages;

messages! {
    DaemonSet {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    DaemonSetCondition {
        r#type: keep "type",
        status: keep "status",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    DaemonSetSpec {
        selector: keep "selector",
        template: keep "template",
        update_strategy: keep "updateStrategy",
        min_ready_seconds: nonzero "minReadySeconds",
        revision_history_limit: keep "revisionHistoryLimit",
    }
    DaemonSetStatus {
        current_number_scheduled: keep "currentNumberScheduled",
        number_misscheduled: keep "numberMisscheduled",
        desired_number_scheduled: keep "desiredNumberScheduled",
        number_ready: keep "numberReady",
        observed_generation: nonzero "observedGeneration",
        updated_number_scheduled: nonzero "updatedNumberScheduled",
        number_available: nonzero "numberAvailable",
        number_unavailable: nonzero "numberUnavailable",
        collision_count: keep "collisionCount",
        conditions: keep "conditions",
    }
    DaemonSetUpdateStrategy {
        r#type: nonzero "type",
        rolling_update: keep "rollingUpdate",
    }
    Deployment {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    DeploymentCondition {
        r#type: keep "type",
        status: keep "status",
        last_update_time: keep "lastUpdateTime",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    DeploymentSpec {
        replicas: keep "replicas",
        selector: keep "selector",
        template: keep "template",
        strategy: keep "strategy",
        min_ready_seconds: nonzero "minReadySeconds",
        revision_history_limit: keep "revisionHistoryLimit",
        paused: nonzero "paused",
        progress_deadline_seconds: keep "progressDeadlineSeconds",
    }
    DeploymentStatus {
        observed_generation: nonzero "observedGeneration",
        replicas: nonzero "replicas",
        updated_replicas: nonzero "updatedReplicas",
        ready_replicas: nonzero "readyReplicas",
        available_replicas: nonzero "availableReplicas",
        unavailable_replicas: nonzero "unavailableReplicas",
        terminating_replicas: keep "terminatingReplicas",
        conditions: keep "conditions",
        collision_count: keep "collisionCount",
    }
    DeploymentStrategy {
        r#type: nonzero "type",
        rolling_update: keep "rollingUpdate",
    }
    ReplicaSet {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    ReplicaSetCondition {
        r#type: keep "type",
        status: keep "status",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    ReplicaSetSpec {
        replicas: keep "replicas",
        min_ready_seconds: nonzero "minReadySeconds",
        selector: keep "selector",
        template: keep "template",
    }
    ReplicaSetStatus {
        replicas: keep "replicas",
        fully_labeled_replicas: nonzero "fullyLabeledReplicas",
        ready_replicas: nonzero "readyReplicas",
        available_replicas: nonzero "availableReplicas",
        terminating_replicas: keep "terminatingReplicas",
        observed_generation: nonzero "observedGeneration",
        conditions: keep "conditions",
    }
    RollingUpdateDaemonSet {
        max_unavailable: keep "maxUnavailable",
        max_surge: keep "maxSurge",
    }
    RollingUpdateDeployment {
        max_unavailable: keep "maxUnavailable",
        max_surge: keep "maxSurge",
    }
    RollingUpdateStatefulSetStrategy {
        partition: keep "partition",
        max_unavailable: keep "maxUnavailable",
    }
    StatefulSet {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    StatefulSetCondition {
        r#type: keep "type",
        status: keep "status",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    StatefulSetOrdinals {
        start: keep "start",
    }
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: nonzero "whenDeleted",
        when_scaled: nonzero "whenScaled",
    }
    StatefulSetSpec {
        replicas: keep "replicas",
        selector: keep "selector",
        template: keep "template",
        volume_claim_templates: keep "volumeClaimTemplates",
        service_name: keep "serviceName",
        pod_management_policy: nonzero "podManagementPolicy",
        update_strategy: keep "updateStrategy",
        revision_history_limit: keep "revisionHistoryLimit",
        min_ready_seconds: nonzero "minReadySeconds",
        persistent_volume_claim_retention_policy: keep "persistentVolumeClaimRetentionPolicy",
        ordinals: keep "ordinals",
    }
    StatefulSetStatus {
        observed_generation: nonzero "observedGeneration",
        replicas: keep "replicas",
        ready_replicas: nonzero "readyReplicas",
        current_replicas: nonzero "currentReplicas",
        updated_replicas: nonzero "updatedReplicas",
        current_revision: nonzero "currentRevision",
        update_revision: nonzero "updateRevision",
        collision_count: keep "collisionCount",
        conditions: keep "conditions",
        available_replicas: keep "availableReplicas",
    }
    StatefulSetUpdateStrategy {
        r#type: nonzero "type",
        rolling_update: keep "rollingUpdate",
    }
}
