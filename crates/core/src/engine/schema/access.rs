//! rbac.authorization.k8s.io/v1, networking.k8s.io/v1 NetworkPolicy and policy/v1
//! PodDisruptionBudget.

use super::meta::{LABEL_SELECTOR, OBJECT_META, STATUS};
use super::{Field, ListType, Node, NodeId, Scalar};

const META: (&str, Field) = ("metadata", Field::Struct(&OBJECT_META));
const ATOMIC: Field = Field::List { list_type: ListType::Atomic, items: None };

/// A Role: its `rules` are one atomic list.
pub(super) static ROLE: Node = Node::new(NodeId::Role, &[META, ("rules", ATOMIC)]);

/// A ClusterRole: `rules` atomic; the aggregation selectors are atomic too.
pub(super) static CLUSTER_ROLE: Node = Node::new(NodeId::ClusterRole, &[META, ("rules", ATOMIC)]);

/// A RoleBinding or ClusterRoleBinding: `subjects` is one atomic list.
pub(super) static ROLE_BINDING: Node = Node::new(
    NodeId::RoleBinding,
    &[META, ("subjects", Field::List { list_type: ListType::Atomic, items: Some(&SUBJECT) })],
);

/// rbac/v1 Subject.
pub(super) static SUBJECT: Node = Node::new(NodeId::Subject, &[]);

/// A networking.k8s.io/v1 NetworkPolicy.
pub(super) static NETWORK_POLICY: Node =
    Node::new(NodeId::NetworkPolicy, &[META, ("spec", Field::Struct(&NETWORK_POLICY_SPEC))]);

/// networking/v1 NetworkPolicySpec: `ingress`, `egress` and `policyTypes` are atomic.
pub(super) static NETWORK_POLICY_SPEC: Node = Node::new(
    NodeId::NetworkPolicySpec,
    &[
        ("podSelector", Field::Struct(&LABEL_SELECTOR)),
        ("ingress", Field::List { list_type: ListType::Atomic, items: Some(&NETWORK_POLICY_RULE) }),
        ("egress", Field::List { list_type: ListType::Atomic, items: Some(&NETWORK_POLICY_RULE) }),
        ("policyTypes", ATOMIC),
    ],
);

/// networking/v1 NetworkPolicyIngressRule and NetworkPolicyEgressRule (`from` or `to`).
pub(super) static NETWORK_POLICY_RULE: Node = Node::new(
    NodeId::NetworkPolicyRule,
    &[
        ("ports", Field::List { list_type: ListType::Atomic, items: Some(&NETWORK_POLICY_PORT) }),
        ("from", Field::List { list_type: ListType::Atomic, items: Some(&NETWORK_POLICY_PEER) }),
        ("to", Field::List { list_type: ListType::Atomic, items: Some(&NETWORK_POLICY_PEER) }),
    ],
);

/// networking/v1 NetworkPolicyPort.
pub(super) static NETWORK_POLICY_PORT: Node =
    Node::new(NodeId::NetworkPolicyPort, &[("port", Field::Scalar(Scalar::PortNumberOrName))]);

/// networking/v1 NetworkPolicyPeer.
pub(super) static NETWORK_POLICY_PEER: Node = Node::new(
    NodeId::NetworkPolicyPeer,
    &[("podSelector", Field::Struct(&LABEL_SELECTOR)), ("namespaceSelector", Field::Struct(&LABEL_SELECTOR))],
);

/// A policy/v1 PodDisruptionBudget.
pub(super) static POD_DISRUPTION_BUDGET: Node = Node::new(
    NodeId::PodDisruptionBudget,
    &[META, ("spec", Field::Struct(&POD_DISRUPTION_BUDGET_SPEC)), ("status", Field::Struct(&STATUS))],
);

/// policy/v1 PodDisruptionBudgetSpec.
pub(super) static POD_DISRUPTION_BUDGET_SPEC: Node =
    Node::new(NodeId::PodDisruptionBudgetSpec, &[("selector", Field::Struct(&LABEL_SELECTOR))]);
