//! Structures every kind shares: object metadata, status conditions and label selectors.

use super::{Field, ListType, Node, NodeId};

/// `metadata` (meta/v1 ObjectMeta).
pub(super) static OBJECT_META: Node = Node::new(
    NodeId::ObjectMeta,
    &[
        ("ownerReferences", Field::List { list_type: ListType::Map(&["uid"]), items: None }),
        ("finalizers", Field::List { list_type: ListType::Set, items: None }),
        ("managedFields", Field::List { list_type: ListType::Atomic, items: None }),
    ],
);

/// `status`, for the conditions list most kinds keep there.
pub(super) static STATUS: Node =
    Node::new(NodeId::Status, &[("conditions", Field::List { list_type: ListType::Map(&["type"]), items: None })]);

/// meta/v1 LabelSelector, an atomic structure: `matchLabels` and `matchExpressions` are
/// replaced and compared together.
pub(super) static LABEL_SELECTOR: Node = Node::atomic(
    NodeId::LabelSelector,
    &[("matchExpressions", Field::List { list_type: ListType::Atomic, items: None })],
);

/// The root of an object of a kind without a root of its own (ConfigMap, Ingress, custom
/// resources...): only its metadata and status conditions are described.
pub(super) static OBJECT: Node =
    Node::new(NodeId::Object, &[("metadata", Field::Struct(&OBJECT_META)), ("status", Field::Struct(&STATUS))]);
