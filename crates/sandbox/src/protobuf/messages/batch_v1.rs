//! The JSON shape of the `batch/v1` messages.

use k8s_pb::api::batch::v1::*;

use crate::protobuf::json::messages;

messages! {
    CronJob {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    CronJobSpec {
        schedule: keep "schedule",
        time_zone: keep "timeZone",
        starting_deadline_seconds: keep "startingDeadlineSeconds",
        concurrency_policy: nonzero "concurrencyPolicy",
        suspend: keep "suspend",
        job_template: keep "jobTemplate",
        successful_jobs_history_limit: keep "successfulJobsHistoryLimit",
        failed_jobs_history_limit: keep "failedJobsHistoryLimit",
    }
    CronJobStatus {
        active: keep "active",
        last_schedule_time: keep "lastScheduleTime",
        last_successful_time: keep "lastSuccessfulTime",
    }
    Job {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    JobCondition {
        r#type: keep "type",
        status: keep "status",
        last_probe_time: keep "lastProbeTime",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    JobSpec {
        parallelism: keep "parallelism",
        completions: keep "completions",
        active_deadline_seconds: keep "activeDeadlineSeconds",
        pod_failure_policy: keep "podFailurePolicy",
        success_policy: keep "successPolicy",
        backoff_limit: keep "backoffLimit",
        backoff_limit_per_index: keep "backoffLimitPerIndex",
        max_failed_indexes: keep "maxFailedIndexes",
        selector: keep "selector",
        manual_selector: keep "manualSelector",
        template: keep "template",
        ttl_seconds_after_finished: keep "ttlSecondsAfterFinished",
        completion_mode: keep "completionMode",
        suspend: keep "suspend",
        pod_replacement_policy: keep "podReplacementPolicy",
        managed_by: keep "managedBy",
    }
    JobStatus {
        conditions: keep "conditions",
        start_time: keep "startTime",
        completion_time: keep "completionTime",
        active: nonzero "active",
        succeeded: nonzero "succeeded",
        failed: nonzero "failed",
        terminating: keep "terminating",
        completed_indexes: nonzero "completedIndexes",
        failed_indexes: keep "failedIndexes",
        uncounted_terminated_pods: keep "uncountedTerminatedPods",
        ready: keep "ready",
    }
    JobTemplateSpec {
        metadata: keep "metadata",
        spec: keep "spec",
    }
    PodFailurePolicy {
        rules: nullable "rules",
    }
    PodFailurePolicyOnExitCodesRequirement {
        container_name: keep "containerName",
        operator: keep "operator",
        values: nullable "values",
    }
    PodFailurePolicyOnPodConditionsPattern {
        r#type: keep "type",
        status: keep "status",
    }
    PodFailurePolicyRule {
        action: keep "action",
        on_exit_codes: keep "onExitCodes",
        on_pod_conditions: keep "onPodConditions",
    }
    SuccessPolicy {
        rules: nullable "rules",
    }
    SuccessPolicyRule {
        succeeded_indexes: keep "succeededIndexes",
        succeeded_count: keep "succeededCount",
    }
    UncountedTerminatedPods {
        succeeded: keep "succeeded",
        failed: keep "failed",
    }
}
