//! The kinds the sandbox decodes from protobuf, by apiVersion and kind, each with the prost
//! message it decodes as.

use k8s_pb::api::{
    apps, authentication, authorization, batch, coordination, core, events, networking, policy, rbac, scheduling,
};
use prost::Message;
use serde_json::Value;

use super::ProtobufError;
use super::json::ToJson;
use super::unknown;

/// Decodes an object's bytes into its JSON form (without apiVersion and kind).
type Decoder = fn(kind: &str, raw: &[u8]) -> Result<Value, ProtobufError>;

fn decode<M: Message + Default + ToJson>(kind: &str, raw: &[u8]) -> Result<Value, ProtobufError> {
    let message = M::decode(raw).map_err(|source| ProtobufError::Message { kind: kind.to_string(), source })?;
    if let Some(path) = unknown::dropped(raw, &message.encode_to_vec()) {
        return Err(ProtobufError::UnknownField { kind: kind.to_string(), path });
    }
    message.to_json().map_err(|source| ProtobufError::Mapping { kind: kind.to_string(), source })
}

/// Every decodable kind: apiVersion, kind, decoder.
const KINDS: &[(&str, &str, Decoder)] = &[
    ("v1", "Namespace", decode::<core::v1::Namespace>),
    ("v1", "ConfigMap", decode::<core::v1::ConfigMap>),
    ("v1", "Secret", decode::<core::v1::Secret>),
    ("v1", "ServiceAccount", decode::<core::v1::ServiceAccount>),
    ("v1", "Service", decode::<core::v1::Service>),
    ("v1", "Pod", decode::<core::v1::Pod>),
    ("v1", "ResourceQuota", decode::<core::v1::ResourceQuota>),
    ("v1", "Event", decode::<core::v1::Event>),
    ("apps/v1", "Deployment", decode::<apps::v1::Deployment>),
    ("apps/v1", "StatefulSet", decode::<apps::v1::StatefulSet>),
    ("apps/v1", "DaemonSet", decode::<apps::v1::DaemonSet>),
    ("apps/v1", "ReplicaSet", decode::<apps::v1::ReplicaSet>),
    ("batch/v1", "Job", decode::<batch::v1::Job>),
    ("batch/v1", "CronJob", decode::<batch::v1::CronJob>),
    ("rbac.authorization.k8s.io/v1", "Role", decode::<rbac::v1::Role>),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", decode::<rbac::v1::RoleBinding>),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", decode::<rbac::v1::ClusterRole>),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", decode::<rbac::v1::ClusterRoleBinding>),
    ("policy/v1", "PodDisruptionBudget", decode::<policy::v1::PodDisruptionBudget>),
    ("networking.k8s.io/v1", "Ingress", decode::<networking::v1::Ingress>),
    ("networking.k8s.io/v1", "NetworkPolicy", decode::<networking::v1::NetworkPolicy>),
    ("scheduling.k8s.io/v1", "PriorityClass", decode::<scheduling::v1::PriorityClass>),
    ("authentication.k8s.io/v1", "TokenRequest", decode::<authentication::v1::TokenRequest>),
    ("coordination.k8s.io/v1", "Lease", decode::<coordination::v1::Lease>),
    ("events.k8s.io/v1", "Event", decode::<events::v1::Event>),
    ("authentication.k8s.io/v1", "SelfSubjectReview", decode::<authentication::v1::SelfSubjectReview>),
    ("authorization.k8s.io/v1", "SubjectAccessReview", decode::<authorization::v1::SubjectAccessReview>),
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview", decode::<authorization::v1::LocalSubjectAccessReview>),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview", decode::<authorization::v1::SelfSubjectAccessReview>),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview", decode::<authorization::v1::SelfSubjectRulesReview>),
];

/// The decoder for `api_version`/`kind`, if the sandbox has one.
pub fn decoder(api_version: &str, kind: &str) -> Option<Decoder> {
    KINDS.iter().find(|(v, k, _)| *v == api_version && *k == kind).map(|(_, _, d)| *d)
}

#[cfg(test)]
pub(super) fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.iter().map(|(v, k, _)| (*v, *k))
}
