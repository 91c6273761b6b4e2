//! apps/v1 and batch/v1 workloads: Deployments, StatefulSets, DaemonSets, ReplicaSets,
//! Jobs and CronJobs, whose pod templates hold a core/v1 PodSpec.

use super::core_v1::PERSISTENT_VOLUME_CLAIM;
use super::meta::{LABEL_SELECTOR, OBJECT_META, STATUS};
use super::pod::{JOB_POD_TEMPLATE_SPEC, POD_TEMPLATE_SPEC};
use super::{Field, ListType, Node, NodeId};

const META: (&str, Field) = ("metadata", Field::Struct(&OBJECT_META));
const STATUS_FIELD: (&str, Field) = ("status", Field::Struct(&STATUS));
const SELECTOR: (&str, Field) = ("selector", Field::Struct(&LABEL_SELECTOR));
const TEMPLATE: (&str, Field) = ("template", Field::Struct(&POD_TEMPLATE_SPEC));

/// An apps/v1 Deployment.
pub(super) static DEPLOYMENT: Node =
    Node::new(NodeId::Deployment, &[META, ("spec", Field::Struct(&DEPLOYMENT_SPEC)), STATUS_FIELD]);

/// apps/v1 DeploymentSpec.
pub(super) static DEPLOYMENT_SPEC: Node =
    Node::new(NodeId::DeploymentSpec, &[SELECTOR, TEMPLATE, ("strategy", Field::Struct(&DEPLOYMENT_STRATEGY))]);

/// apps/v1 DeploymentStrategy.
pub(super) static DEPLOYMENT_STRATEGY: Node =
    Node::new(NodeId::DeploymentStrategy, &[("rollingUpdate", Field::Struct(&ROLLING_UPDATE_DEPLOYMENT))]);

/// apps/v1 RollingUpdateDeployment. `maxSurge` and `maxUnavailable` are int-or-string,
/// but their strings must be percentages, so they compare as plain values.
pub(super) static ROLLING_UPDATE_DEPLOYMENT: Node = Node::new(NodeId::RollingUpdateDeployment, &[]);

/// An apps/v1 StatefulSet.
pub(super) static STATEFUL_SET: Node =
    Node::new(NodeId::StatefulSet, &[META, ("spec", Field::Struct(&STATEFUL_SET_SPEC)), STATUS_FIELD]);

/// apps/v1 StatefulSetSpec. `volumeClaimTemplates` is atomic for server-side apply.
pub(super) static STATEFUL_SET_SPEC: Node = Node::new(
    NodeId::StatefulSetSpec,
    &[
        SELECTOR,
        TEMPLATE,
        ("volumeClaimTemplates", Field::List { list_type: ListType::Atomic, items: Some(&PERSISTENT_VOLUME_CLAIM) }),
        ("updateStrategy", Field::Struct(&STATEFUL_SET_UPDATE_STRATEGY)),
        ("persistentVolumeClaimRetentionPolicy", Field::Struct(&PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY)),
    ],
);

/// apps/v1 StatefulSetUpdateStrategy.
pub(super) static STATEFUL_SET_UPDATE_STRATEGY: Node = Node::new(
    NodeId::StatefulSetUpdateStrategy,
    &[("rollingUpdate", Field::Struct(&ROLLING_UPDATE_STATEFUL_SET_STRATEGY))],
);

/// apps/v1 RollingUpdateStatefulSetStrategy.
pub(super) static ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Node = Node::new(NodeId::RollingUpdateStatefulSetStrategy, &[]);

/// apps/v1 StatefulSetPersistentVolumeClaimRetentionPolicy.
pub(super) static PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Node =
    Node::new(NodeId::PersistentVolumeClaimRetentionPolicy, &[]);

/// An apps/v1 DaemonSet.
pub(super) static DAEMON_SET: Node =
    Node::new(NodeId::DaemonSet, &[META, ("spec", Field::Struct(&DAEMON_SET_SPEC)), STATUS_FIELD]);

/// apps/v1 DaemonSetSpec.
pub(super) static DAEMON_SET_SPEC: Node = Node::new(
    NodeId::DaemonSetSpec,
    &[SELECTOR, TEMPLATE, ("updateStrategy", Field::Struct(&DAEMON_SET_UPDATE_STRATEGY))],
);

/// apps/v1 DaemonSetUpdateStrategy.
pub(super) static DAEMON_SET_UPDATE_STRATEGY: Node =
    Node::new(NodeId::DaemonSetUpdateStrategy, &[("rollingUpdate", Field::Struct(&ROLLING_UPDATE_DAEMON_SET))]);

/// apps/v1 RollingUpdateDaemonSet.
pub(super) static ROLLING_UPDATE_DAEMON_SET: Node = Node::new(NodeId::RollingUpdateDaemonSet, &[]);

/// An apps/v1 ReplicaSet.
pub(super) static REPLICA_SET: Node =
    Node::new(NodeId::ReplicaSet, &[META, ("spec", Field::Struct(&REPLICA_SET_SPEC)), STATUS_FIELD]);

/// apps/v1 ReplicaSetSpec.
pub(super) static REPLICA_SET_SPEC: Node = Node::new(NodeId::ReplicaSetSpec, &[SELECTOR, TEMPLATE]);

/// A batch/v1 Job.
pub(super) static JOB: Node = Node::new(NodeId::Job, &[META, ("spec", Field::Struct(&JOB_SPEC)), STATUS_FIELD]);

/// batch/v1 JobSpec.
pub(super) static JOB_SPEC: Node =
    Node::new(NodeId::JobSpec, &[SELECTOR, ("template", Field::Struct(&JOB_POD_TEMPLATE_SPEC))]);

/// A batch/v1 CronJob.
pub(super) static CRON_JOB: Node =
    Node::new(NodeId::CronJob, &[META, ("spec", Field::Struct(&CRON_JOB_SPEC)), STATUS_FIELD]);

/// batch/v1 CronJobSpec.
pub(super) static CRON_JOB_SPEC: Node =
    Node::new(NodeId::CronJobSpec, &[("jobTemplate", Field::Struct(&JOB_TEMPLATE_SPEC))]);

/// batch/v1 JobTemplateSpec.
pub(super) static JOB_TEMPLATE_SPEC: Node =
    Node::new(NodeId::JobTemplateSpec, &[META, ("spec", Field::Struct(&JOB_SPEC))]);
