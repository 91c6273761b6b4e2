//! The shape of the Kubernetes kinds the engine knows: which fields are lists and how their
//! items are identified, which structures and maps are replaced whole, and which scalars
//! are resource quantities or port numbers.
//!
//! This is a small typed mirror of the OpenAPI extensions `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type` and `x-kubernetes-struct-type`
//! that server-side apply follows (see [`crate::engine::merge_keys`] for where each entry
//! comes from). A field that is not listed is unknown: its maps are merged key by key and
//! its lists are atomic, which is what the API server does for a schema without those
//! extensions. Only fields that lead to something non-default are listed.

mod access;
mod core_v1;
mod meta;
mod pod;
mod workloads;

use crate::engine::kind::Kind;

/// How the items of a list are merged and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value: replaced and compared whole (`x-kubernetes-list-type: atomic`,
    /// and every list without a list type).
    Atomic,
    /// A set of scalars: each item is owned and compared on its own
    /// (`x-kubernetes-list-type: set`).
    Set,
    /// Items are objects identified by these fields (`x-kubernetes-list-type: map` with
    /// `x-kubernetes-list-map-keys`).
    Map(&'static [&'static str]),
}

/// What a scalar means, beyond its JSON value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scalar {
    /// Compared as JSON, numbers by value (`1` equals `1.0`).
    #[default]
    Plain,
    /// A resource quantity (`500m`, `1Gi`): compared by exact value.
    Quantity,
    /// An int-or-string that is a port number or a port name (`targetPort`, probe ports,
    /// NetworkPolicy ports). A port name must contain a letter, so a string of digits can
    /// only mean that number: `"80"` equals `80`.
    PortNumberOrName,
}

/// What the value of a field is.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    /// A structure: its fields are described by the node.
    Struct(&'static Node),
    /// A list.
    List {
        /// How its items are merged and compared.
        list_type: ListType,
        /// The shape of its items, when they are structures the engine describes.
        items: Option<&'static Node>,
    },
    /// A map from strings to scalars, such as `nodeSelector` or resource `limits`.
    Map {
        /// Whether the map is replaced whole (`x-kubernetes-map-type: atomic`).
        atomic: bool,
        /// What its values are.
        values: Scalar,
    },
    /// A scalar with a meaning beyond its JSON value.
    Scalar(Scalar),
}

/// A structure: the fields of it that the engine describes.
#[derive(Debug)]
pub struct Node {
    /// Which structure this is; the defaults table is keyed by it.
    pub id: NodeId,
    /// Whether the structure is replaced whole (`x-kubernetes-struct-type: atomic`).
    pub atomic: bool,
    /// Whether its structure-valued fields are a one-of (a Volume's sources, a probe's
    /// handlers): there, an empty template value (`emptyDir: {}`) still selects the
    /// member, so the live object must have it.
    pub one_of: bool,
    /// The described fields, by JSON name.
    pub fields: &'static [(&'static str, Field)],
}

impl Node {
    /// A granular structure.
    pub const fn new(id: NodeId, fields: &'static [(&'static str, Field)]) -> Self {
        Self { id, atomic: false, one_of: false, fields }
    }

    /// A structure replaced and compared whole.
    pub const fn atomic(id: NodeId, fields: &'static [(&'static str, Field)]) -> Self {
        Self { id, atomic: true, one_of: false, fields }
    }

    /// A granular structure whose structure-valued fields are a one-of.
    pub const fn one_of(id: NodeId, fields: &'static [(&'static str, Field)]) -> Self {
        Self { id, atomic: false, one_of: true, fields }
    }

    /// The field named `name`, when described.
    pub fn child(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|(field, _)| *field == name).map(|(_, field)| field)
    }
}

/// Names the structures of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeId {
    /// The top of an object of a kind without its own root.
    Object,
    ObjectMeta,
    Status,
    LabelSelector,
    // pods
    Pod,
    PodTemplate,
    PodTemplateSpec,
    JobPodTemplateSpec,
    PodSpec,
    /// The pod spec of a Job's template: `restartPolicy` has no default there.
    JobPodSpec,
    Container,
    ContainerPort,
    ResourceRequirements,
    Probe,
    LifecycleHandler,
    Lifecycle,
    HttpGetAction,
    TcpSocketAction,
    Volume,
    ConfigMapVolumeSource,
    SecretVolumeSource,
    ProjectedVolumeSource,
    DownwardApiVolumeSource,
    EmptyDirVolumeSource,
    TopologySpreadConstraint,
    // core
    Service,
    ServiceSpec,
    ServicePort,
    ServiceAccount,
    Secret,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    VolumeResourceRequirements,
    ReplicationController,
    ReplicationControllerSpec,
    ResourceQuota,
    ResourceQuotaSpec,
    Namespace,
    NamespaceSpec,
    // workloads
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    RollingUpdateDeployment,
    StatefulSet,
    StatefulSetSpec,
    StatefulSetUpdateStrategy,
    RollingUpdateStatefulSetStrategy,
    PersistentVolumeClaimRetentionPolicy,
    DaemonSet,
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    RollingUpdateDaemonSet,
    ReplicaSet,
    ReplicaSetSpec,
    Job,
    JobSpec,
    CronJob,
    CronJobSpec,
    JobTemplateSpec,
    // access and network
    Role,
    ClusterRole,
    RoleBinding,
    Subject,
    NetworkPolicy,
    NetworkPolicySpec,
    NetworkPolicyRule,
    NetworkPolicyPort,
    NetworkPolicyPeer,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
}

/// The root structure of objects of `kind`.
pub fn root(kind: Kind) -> &'static Node {
    match kind {
        Kind::Pod => &pod::POD,
        Kind::PodTemplate => &pod::POD_TEMPLATE,
        Kind::ReplicationController => &core_v1::REPLICATION_CONTROLLER,
        Kind::Service => &core_v1::SERVICE,
        Kind::ServiceAccount => &core_v1::SERVICE_ACCOUNT,
        Kind::Secret => &core_v1::SECRET,
        Kind::Namespace => &core_v1::NAMESPACE,
        Kind::PersistentVolumeClaim => &core_v1::PERSISTENT_VOLUME_CLAIM,
        Kind::ResourceQuota => &core_v1::RESOURCE_QUOTA,
        Kind::Deployment => &workloads::DEPLOYMENT,
        Kind::StatefulSet => &workloads::STATEFUL_SET,
        Kind::DaemonSet => &workloads::DAEMON_SET,
        Kind::ReplicaSet => &workloads::REPLICA_SET,
        Kind::Job => &workloads::JOB,
        Kind::CronJob => &workloads::CRON_JOB,
        Kind::Role => &access::ROLE,
        Kind::ClusterRole => &access::CLUSTER_ROLE,
        Kind::RoleBinding | Kind::ClusterRoleBinding => &access::ROLE_BINDING,
        Kind::NetworkPolicy => &access::NETWORK_POLICY,
        Kind::PodDisruptionBudget => &access::POD_DISRUPTION_BUDGET,
        Kind::ConfigMap | Kind::Ingress | Kind::StorageClass | Kind::Other => &meta::OBJECT,
    }
}

/// The field of the structure `node` named `name`, or `None` when `node` is unknown or
/// does not describe it.
pub fn child(node: Option<&'static Node>, name: &str) -> Option<&'static Field> {
    node.and_then(|node| node.child(name))
}

/// A scalar field of the kind `scalar`: what the values of a map of scalars are.
pub fn scalar_field(scalar: Scalar) -> &'static Field {
    static PLAIN: Field = Field::Scalar(Scalar::Plain);
    static QUANTITY: Field = Field::Scalar(Scalar::Quantity);
    static PORT: Field = Field::Scalar(Scalar::PortNumberOrName);
    match scalar {
        Scalar::Plain => &PLAIN,
        Scalar::Quantity => &QUANTITY,
        Scalar::PortNumberOrName => &PORT,
    }
}

/// The structure a field holds, when it is a described structure.
pub fn node_of(field: Option<&'static Field>) -> Option<&'static Node> {
    match field {
        Some(Field::Struct(node)) => Some(node),
        _ => None,
    }
}

/// What the scalar at a field means.
pub fn scalar_of(field: Option<&'static Field>) -> Scalar {
    match field {
        Some(Field::Scalar(scalar)) => *scalar,
        _ => Scalar::Plain,
    }
}

/// Where a walk along a path has arrived.
#[derive(Clone, Copy, Debug)]
pub enum Position {
    /// At a described field.
    Field(&'static Field),
    /// At a structure that is not a field of a described structure: the root of an
    /// object, or an item of a list (`None` when the items are not described).
    Structure(Option<&'static Node>),
    /// At a value of a map of scalars.
    MapValue(Scalar),
    /// Somewhere the schema does not describe.
    Unknown,
}

/// Walks `path` (unescaped tokens, list items addressed by any token such as `name=app`,
/// `*` or an index) from the root of `kind` and says what is there.
pub fn resolve<S: AsRef<str>>(kind: Kind, path: &[S]) -> Position {
    let mut position = Position::Structure(Some(root(kind)));
    for token in path {
        position = match position {
            Position::Field(Field::Struct(node)) => {
                node.child(token.as_ref()).map_or(Position::Unknown, Position::Field)
            }
            Position::Structure(Some(node)) => node.child(token.as_ref()).map_or(Position::Unknown, Position::Field),
            Position::Field(Field::List { items, .. }) => Position::Structure(*items),
            Position::Field(Field::Map { values, .. }) => Position::MapValue(*values),
            _ => Position::Unknown,
        };
    }
    position
}
