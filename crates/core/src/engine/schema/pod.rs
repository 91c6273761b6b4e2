//! Pods, pod templates and what they hold: containers, ports, probes, volumes.

use super::meta::{LABEL_SELECTOR, OBJECT_META, STATUS};
use super::{Field, ListType, Node, NodeId, Scalar};

const fn keyed(keys: &'static [&'static str], items: Option<&'static Node>) -> Field {
    Field::List { list_type: ListType::Map(keys), items }
}

const ATOMIC: Field = Field::List { list_type: ListType::Atomic, items: None };
const QUANTITIES: Field = Field::Map { atomic: false, values: Scalar::Quantity };
const PORT: Field = Field::Scalar(Scalar::PortNumberOrName);

/// The fields of core/v1 PodSpec that are lists, atomic, quantities or hold such.
const POD_SPEC_FIELDS: &[(&str, Field)] = &[
    ("containers", keyed(&["name"], Some(&CONTAINER))),
    ("initContainers", keyed(&["name"], Some(&CONTAINER))),
    ("ephemeralContainers", keyed(&["name"], Some(&CONTAINER))),
    ("volumes", keyed(&["name"], Some(&VOLUME))),
    ("imagePullSecrets", keyed(&["name"], None)),
    ("hostAliases", keyed(&["ip"], None)),
    ("topologySpreadConstraints", keyed(&["topologyKey", "whenUnsatisfiable"], Some(&TOPOLOGY_SPREAD_CONSTRAINT))),
    ("resourceClaims", keyed(&["name"], None)),
    ("schedulingGates", keyed(&["name"], None)),
    ("tolerations", ATOMIC),
    ("readinessGates", ATOMIC),
    ("nodeSelector", Field::Map { atomic: true, values: Scalar::Plain }),
    ("overhead", QUANTITIES),
    ("resources", Field::Struct(&RESOURCE_REQUIREMENTS)),
];

/// core/v1 PodSpec of a Pod or of the pod template of a long-running workload.
pub(super) static POD_SPEC: Node = Node::new(NodeId::PodSpec, POD_SPEC_FIELDS);
/// core/v1 PodSpec of a Job's pod template (no `restartPolicy` default there).
pub(super) static JOB_POD_SPEC: Node = Node::new(NodeId::JobPodSpec, POD_SPEC_FIELDS);

/// core/v1 PodTemplateSpec.
pub(super) static POD_TEMPLATE_SPEC: Node = Node::new(
    NodeId::PodTemplateSpec,
    &[("metadata", Field::Struct(&OBJECT_META)), ("spec", Field::Struct(&POD_SPEC))],
);
/// core/v1 PodTemplateSpec of a Job.
pub(super) static JOB_POD_TEMPLATE_SPEC: Node = Node::new(
    NodeId::JobPodTemplateSpec,
    &[("metadata", Field::Struct(&OBJECT_META)), ("spec", Field::Struct(&JOB_POD_SPEC))],
);

/// core/v1 Container (and EphemeralContainer, which has the same list fields).
pub(super) static CONTAINER: Node = Node::new(
    NodeId::Container,
    &[
        ("ports", keyed(&["containerPort", "protocol"], Some(&CONTAINER_PORT))),
        ("env", keyed(&["name"], None)),
        ("volumeMounts", keyed(&["mountPath"], None)),
        ("volumeDevices", keyed(&["devicePath"], None)),
        ("envFrom", ATOMIC),
        ("args", ATOMIC),
        ("command", ATOMIC),
        ("resizePolicy", ATOMIC),
        ("restartPolicyRules", ATOMIC),
        ("resources", Field::Struct(&RESOURCE_REQUIREMENTS)),
        ("livenessProbe", Field::Struct(&PROBE)),
        ("readinessProbe", Field::Struct(&PROBE)),
        ("startupProbe", Field::Struct(&PROBE)),
        ("lifecycle", Field::Struct(&LIFECYCLE)),
    ],
);

/// core/v1 ContainerPort.
pub(super) static CONTAINER_PORT: Node = Node::new(NodeId::ContainerPort, &[]);

/// core/v1 ResourceRequirements.
pub(super) static RESOURCE_REQUIREMENTS: Node = Node::new(
    NodeId::ResourceRequirements,
    &[("limits", QUANTITIES), ("requests", QUANTITIES), ("claims", keyed(&["name"], None))],
);

/// core/v1 Probe.
pub(super) static PROBE: Node = Node::one_of(
    NodeId::Probe,
    &[("httpGet", Field::Struct(&HTTP_GET_ACTION)), ("tcpSocket", Field::Struct(&TCP_SOCKET_ACTION))],
);

/// core/v1 Lifecycle.
pub(super) static LIFECYCLE: Node = Node::new(
    NodeId::Lifecycle,
    &[("postStart", Field::Struct(&LIFECYCLE_HANDLER)), ("preStop", Field::Struct(&LIFECYCLE_HANDLER))],
);

/// core/v1 LifecycleHandler.
pub(super) static LIFECYCLE_HANDLER: Node = Node::one_of(
    NodeId::LifecycleHandler,
    &[("httpGet", Field::Struct(&HTTP_GET_ACTION)), ("tcpSocket", Field::Struct(&TCP_SOCKET_ACTION))],
);

/// core/v1 HTTPGetAction.
pub(super) static HTTP_GET_ACTION: Node = Node::new(NodeId::HttpGetAction, &[("port", PORT), ("httpHeaders", ATOMIC)]);

/// core/v1 TCPSocketAction.
pub(super) static TCP_SOCKET_ACTION: Node = Node::new(NodeId::TcpSocketAction, &[("port", PORT)]);

/// core/v1 Volume.
pub(super) static VOLUME: Node = Node::one_of(
    NodeId::Volume,
    &[
        ("configMap", Field::Struct(&CONFIG_MAP_VOLUME_SOURCE)),
        ("secret", Field::Struct(&SECRET_VOLUME_SOURCE)),
        ("projected", Field::Struct(&PROJECTED_VOLUME_SOURCE)),
        ("downwardAPI", Field::Struct(&DOWNWARD_API_VOLUME_SOURCE)),
        ("emptyDir", Field::Struct(&EMPTY_DIR_VOLUME_SOURCE)),
    ],
);

/// core/v1 ConfigMapVolumeSource.
pub(super) static CONFIG_MAP_VOLUME_SOURCE: Node = Node::new(NodeId::ConfigMapVolumeSource, &[("items", ATOMIC)]);
/// core/v1 SecretVolumeSource.
pub(super) static SECRET_VOLUME_SOURCE: Node = Node::new(NodeId::SecretVolumeSource, &[("items", ATOMIC)]);
/// core/v1 ProjectedVolumeSource.
pub(super) static PROJECTED_VOLUME_SOURCE: Node = Node::new(NodeId::ProjectedVolumeSource, &[("sources", ATOMIC)]);
/// core/v1 DownwardAPIVolumeSource.
pub(super) static DOWNWARD_API_VOLUME_SOURCE: Node = Node::new(NodeId::DownwardApiVolumeSource, &[("items", ATOMIC)]);
/// core/v1 EmptyDirVolumeSource.
pub(super) static EMPTY_DIR_VOLUME_SOURCE: Node =
    Node::new(NodeId::EmptyDirVolumeSource, &[("sizeLimit", Field::Scalar(Scalar::Quantity))]);

/// core/v1 TopologySpreadConstraint.
pub(super) static TOPOLOGY_SPREAD_CONSTRAINT: Node = Node::new(
    NodeId::TopologySpreadConstraint,
    &[("labelSelector", Field::Struct(&LABEL_SELECTOR)), ("matchLabelKeys", ATOMIC)],
);

/// A core/v1 Pod.
pub(super) static POD: Node = Node::new(
    NodeId::Pod,
    &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&POD_SPEC)),
        ("status", Field::Struct(&STATUS)),
    ],
);

/// A core/v1 PodTemplate.
pub(super) static POD_TEMPLATE: Node = Node::new(
    NodeId::PodTemplate,
    &[("metadata", Field::Struct(&OBJECT_META)), ("template", Field::Struct(&POD_TEMPLATE_SPEC))],
);
