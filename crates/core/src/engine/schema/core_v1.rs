//! The other core/v1 kinds: Services, ServiceAccounts, Secrets, Namespaces, claims,
//! quotas and ReplicationControllers.

use super::meta::{LABEL_SELECTOR, OBJECT_META, STATUS};
use super::pod::POD_TEMPLATE_SPEC;
use super::{Field, ListType, Node, NodeId, Scalar};

const META: (&str, Field) = ("metadata", Field::Struct(&OBJECT_META));
const STATUS_FIELD: (&str, Field) = ("status", Field::Struct(&STATUS));
const ATOMIC: Field = Field::List { list_type: ListType::Atomic, items: None };
const QUANTITIES: Field = Field::Map { atomic: false, values: Scalar::Quantity };

/// A core/v1 Service.
pub(super) static SERVICE: Node =
    Node::new(NodeId::Service, &[META, ("spec", Field::Struct(&SERVICE_SPEC)), STATUS_FIELD]);

/// core/v1 ServiceSpec.
pub(super) static SERVICE_SPEC: Node = Node::new(
    NodeId::ServiceSpec,
    &[
        ("ports", Field::List { list_type: ListType::Map(&["port", "protocol"]), items: Some(&SERVICE_PORT) }),
        ("selector", Field::Map { atomic: true, values: Scalar::Plain }),
        ("clusterIPs", ATOMIC),
        ("externalIPs", ATOMIC),
        ("ipFamilies", ATOMIC),
        ("loadBalancerSourceRanges", ATOMIC),
    ],
);

/// core/v1 ServicePort.
pub(super) static SERVICE_PORT: Node =
    Node::new(NodeId::ServicePort, &[("targetPort", Field::Scalar(Scalar::PortNumberOrName))]);

/// A core/v1 ServiceAccount.
pub(super) static SERVICE_ACCOUNT: Node = Node::new(
    NodeId::ServiceAccount,
    &[
        META,
        ("secrets", Field::List { list_type: ListType::Map(&["name"]), items: None }),
        ("imagePullSecrets", ATOMIC),
    ],
);

/// A core/v1 Secret. Its `data` and `stringData` are compared by hash (see
/// [`crate::engine::secret`]).
pub(super) static SECRET: Node = Node::new(NodeId::Secret, &[META]);

/// A core/v1 Namespace.
pub(super) static NAMESPACE: Node =
    Node::new(NodeId::Namespace, &[META, ("spec", Field::Struct(&NAMESPACE_SPEC)), STATUS_FIELD]);

/// core/v1 NamespaceSpec.
pub(super) static NAMESPACE_SPEC: Node = Node::new(NodeId::NamespaceSpec, &[("finalizers", ATOMIC)]);

/// A core/v1 PersistentVolumeClaim (also the items of a StatefulSet's
/// `volumeClaimTemplates`).
pub(super) static PERSISTENT_VOLUME_CLAIM: Node = Node::new(
    NodeId::PersistentVolumeClaim,
    &[META, ("spec", Field::Struct(&PERSISTENT_VOLUME_CLAIM_SPEC)), STATUS_FIELD],
);

/// core/v1 PersistentVolumeClaimSpec.
pub(super) static PERSISTENT_VOLUME_CLAIM_SPEC: Node = Node::new(
    NodeId::PersistentVolumeClaimSpec,
    &[
        ("accessModes", ATOMIC),
        ("resources", Field::Struct(&VOLUME_RESOURCE_REQUIREMENTS)),
        ("selector", Field::Struct(&LABEL_SELECTOR)),
    ],
);

/// core/v1 VolumeResourceRequirements.
pub(super) static VOLUME_RESOURCE_REQUIREMENTS: Node =
    Node::new(NodeId::VolumeResourceRequirements, &[("limits", QUANTITIES), ("requests", QUANTITIES)]);

/// A core/v1 ResourceQuota.
pub(super) static RESOURCE_QUOTA: Node =
    Node::new(NodeId::ResourceQuota, &[META, ("spec", Field::Struct(&RESOURCE_QUOTA_SPEC))]);

/// core/v1 ResourceQuotaSpec.
pub(super) static RESOURCE_QUOTA_SPEC: Node =
    Node::new(NodeId::ResourceQuotaSpec, &[("hard", QUANTITIES), ("scopes", ATOMIC)]);

/// A core/v1 ReplicationController.
pub(super) static REPLICATION_CONTROLLER: Node = Node::new(
    NodeId::ReplicationController,
    &[META, ("spec", Field::Struct(&REPLICATION_CONTROLLER_SPEC)), STATUS_FIELD],
);

/// core/v1 ReplicationControllerSpec: its `selector` is an atomic map.
pub(super) static REPLICATION_CONTROLLER_SPEC: Node = Node::new(
    NodeId::ReplicationControllerSpec,
    &[
        ("selector", Field::Map { atomic: true, values: Scalar::Plain }),
        ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
    ],
);
