//! The JSON shape of the `policy/v1` messages.

use k8s_pb::api::policy::v1::*;

use crate::protobuf::json::messages;

messages! {
    PodDisruptionBudget {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    PodDisruptionBudgetSpec {
        min_available: keep "minAvailable",
        selector: keep "selector",
        max_unavailable: keep "maxUnavailable",
        unhealthy_pod_eviction_policy: keep "unhealthyPodEvictionPolicy",
    }
    PodDisruptionBudgetStatus {
        observed_generation: nonzero "observedGeneration",
        disrupted_pods: keep "disruptedPods",
        disruptions_allowed: keep "disruptionsAllowed",
        current_healthy: keep "currentHealthy",
        desired_healthy: keep "desiredHealthy",
        expected_pods: keep "expectedPods",
        conditions: keep "conditions",
    }
}
