//! Bodies encoded with prost, sealed in the envelope, decoded, compared as JSON.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::json::ToJson;
use super::sample::Sample;
use super::*;

fn roundtrip(api_version: &str, kind: &str, message: &impl Message) -> Result<Value, ProtobufError> {
    decode(&Envelope::seal(api_version, kind, message))
}

fn meta(name: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: Some(name.into()), creation_timestamp: Some(Time::default()), ..ObjectMeta::default() })
}

#[test]
fn a_config_map_decodes_to_the_json_the_api_server_stores() {
    let config_map = core::ConfigMap {
        metadata: meta("settings"),
        data: BTreeMap::from([("a".into(), "b".into())]),
        binary_data: BTreeMap::from([("blob".into(), vec![0, 1, 2])]),
        immutable: Some(false),
    };
    assert_eq!(
        roundtrip("v1", "ConfigMap", &config_map).expect("decodes"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"a": "b"}, "binaryData": {"blob": "AAEC"}, "immutable": false})
    );
}

#[test]
fn zero_values_follow_omitempty_and_pointers_keep_theirs() {
    let port = core::ContainerPort {
        name: Some(String::new()),
        host_port: Some(0),
        container_port: Some(0),
        protocol: Some(String::new()),
        host_ip: Some(String::new()),
    };
    assert_eq!(port.to_json(), Ok(json!({"containerPort": 0})));
    let spec = apps::DeploymentSpec { replicas: Some(0), paused: Some(false), ..apps::DeploymentSpec::default() };
    assert_eq!(spec.to_json(), Ok(json!({"replicas": 0})));
    let empty_template = apps::DeploymentSpec {
        template: Some(core::PodTemplateSpec::default()),
        strategy: Some(apps::DeploymentStrategy::default()),
        ..apps::DeploymentSpec::default()
    };
    assert_eq!(empty_template.to_json(), Ok(json!({"template": {}, "strategy": {}})));
}

#[test]
fn lists_without_omitempty_are_null_when_empty_and_zero_times_are_left_out() {
    let role = k8s_pb::api::rbac::v1::ClusterRole { metadata: meta("combined"), ..Default::default() };
    assert_eq!(role.to_json(), Ok(json!({"metadata": {"name": "combined"}, "rules": null})));
    let stamped = ObjectMeta {
        creation_timestamp: Some(Time { seconds: Some(1_700_000_000), nanos: None }),
        ..ObjectMeta::default()
    };
    assert_eq!(stamped.to_json(), Ok(json!({"creationTimestamp": "2023-11-14T22:13:20Z"})));
}

#[test]
fn volume_sources_are_inlined_and_names_keep_the_api_servers_spelling() {
    let volume = core::Volume {
        name: Some("config".into()),
        volume_source: Some(core::VolumeSource {
            config_map: Some(core::ConfigMapVolumeSource {
                local_object_reference: Some(core::LocalObjectReference { name: Some("settings".into()) }),
                ..core::ConfigMapVolumeSource::default()
            }),
            ..core::VolumeSource::default()
        }),
    };
    assert_eq!(volume.to_json(), Ok(json!({"name": "config", "configMap": {"name": "settings"}})));
    let status = core::PodStatus {
        pod_ip: Some("10.0.0.1".into()),
        pod_ips: vec![core::PodIp { ip: Some("10.0.0.1".into()) }],
        ..core::PodStatus::default()
    };
    assert_eq!(status.to_json(), Ok(json!({"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}]})));
}

#[test]
fn a_bad_value_is_reported_with_its_path() {
    let service = core::Service {
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                target_port: Some(IntOrString { r#type: Some(7), int_val: None, str_val: None }),
                ..core::ServicePort::default()
            }],
            ..core::ServiceSpec::default()
        }),
        ..core::Service::default()
    };
    let error = roundtrip("v1", "Service", &service).expect_err("type 7");
    assert_eq!(
        error.to_string(),
        "Service has a value the API server cannot store: spec.ports.0.targetPort: IntOrString has type 7; \
         only 0 (an integer) and 1 (a string) exist"
    );
    assert_eq!(ApiError::from(error).code(), 400);
}

#[test]
fn kinds_without_a_decoder_are_unsupported_media_naming_the_kind() {
    let error = roundtrip("v1", "PersistentVolume", &core::PersistentVolume::default()).expect_err("no decoder");
    let api = ApiError::from(error);
    assert_eq!(api.code(), 415);
    assert!(api.message.contains("PersistentVolume (v1)"), "{}", api.message);
    let garbage = decode(b"k8s\0\x0a\xff").map(|_| ()).expect_err("broken envelope");
    assert_eq!(ApiError::from(garbage).code(), 400);
    let broken_object = Envelope::seal("v1", "ConfigMap", &core::Secret::default());
    let mut truncated = broken_object.clone();
    truncated.push(0xff);
    assert_eq!(ApiError::from(decode(&truncated).expect_err("truncated")).code(), 400);
}

#[test]
fn a_field_newer_than_the_messages_is_refused_not_dropped() {
    let mut newer = core::ConfigMap { metadata: meta("settings"), ..core::ConfigMap::default() }.encode_to_vec();
    prost::encoding::string::encode(9, &"from the future".to_string(), &mut newer);
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
        type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
        }),
        raw: Some(newer),
        ..Default::default()
    };
    let body = [MAGIC.as_slice(), &unknown.encode_to_vec()].concat();
    let error = ApiError::from(decode(&body).expect_err("field 9"));
    assert_eq!(error.code(), 415);
    assert!(error.message.starts_with("ConfigMap carries protobuf field 9 (by field number)"), "{}", error.message);
}

/// Fields that k8s-pb (Kubernetes 1.35) has and k8s-openapi's latest version (1.37) no
/// longer has: `PodSpec.workloadRef` was withdrawn in 1.36.
const WITHDRAWN: &[&str] =
    &["/spec/workloadRef", "/spec/template/spec/workloadRef", "/spec/jobTemplate/spec/template/spec/workloadRef"];

/// Every field of a fully populated message, as JSON, must be a field k8s-openapi's type
/// of the same kind knows under that name and shape: a misspelt JSON name would be
/// dropped by k8s-openapi and the two would differ.
fn agrees_with_k8s_openapi<P: Message + Sample, K: Resource + Serialize + DeserializeOwned>() {
    let mut ours = roundtrip(K::API_VERSION, K::KIND, &P::sample()).expect("the sample decodes");
    for path in WITHDRAWN {
        let (parent, field) = path.rsplit_once('/').unwrap_or_default();
        if let Some(Value::Object(parent)) = ours.pointer_mut(parent) {
            parent.remove(field);
        }
    }
    let typed: K = serde_json::from_value(ours.clone()).unwrap_or_else(|e| panic!("{}: {e}", K::KIND));
    let mut theirs = serde_json::to_value(&typed).expect("serializes");
    // k8s-openapi writes apiVersion and kind into every embedded PersistentVolumeClaim.
    if let Some(Value::Array(templates)) = theirs.pointer_mut("/spec/volumeClaimTemplates") {
        for template in templates.iter_mut().filter_map(Value::as_object_mut) {
            template.remove("apiVersion");
            template.remove("kind");
        }
    }
    if ours != theirs {
        let diff = json_patch::diff(&theirs, &ours);
        panic!(
            "{} differs from k8s-openapi's shape: {}",
            K::KIND,
            serde_json::to_string_pretty(&diff).unwrap_or_default()
        );
    }
}

#[test]
fn every_decoded_kind_has_k8s_openapi_names_for_every_field() {
    use k8s_openapi::api as o;
    use k8s_pb::api as p;
    agrees_with_k8s_openapi::<p::core::v1::Namespace, o::core::v1::Namespace>();
    agrees_with_k8s_openapi::<p::core::v1::ConfigMap, o::core::v1::ConfigMap>();
    agrees_with_k8s_openapi::<p::core::v1::Secret, o::core::v1::Secret>();
    agrees_with_k8s_openapi::<p::core::v1::ServiceAccount, o::core::v1::ServiceAccount>();
    agrees_with_k8s_openapi::<p::core::v1::Service, o::core::v1::Service>();
    agrees_with_k8s_openapi::<p::core::v1::Pod, o::core::v1::Pod>();
    agrees_with_k8s_openapi::<p::core::v1::ResourceQuota, o::core::v1::ResourceQuota>();
    agrees_with_k8s_openapi::<p::core::v1::Event, o::core::v1::Event>();
    agrees_with_k8s_openapi::<p::apps::v1::Deployment, o::apps::v1::Deployment>();
    agrees_with_k8s_openapi::<p::apps::v1::StatefulSet, o::apps::v1::StatefulSet>();
    agrees_with_k8s_openapi::<p::apps::v1::DaemonSet, o::apps::v1::DaemonSet>();
    agrees_with_k8s_openapi::<p::apps::v1::ReplicaSet, o::apps::v1::ReplicaSet>();
    agrees_with_k8s_openapi::<p::batch::v1::Job, o::batch::v1::Job>();
    agrees_with_k8s_openapi::<p::batch::v1::CronJob, o::batch::v1::CronJob>();
    agrees_with_k8s_openapi::<p::rbac::v1::Role, o::rbac::v1::Role>();
    agrees_with_k8s_openapi::<p::rbac::v1::RoleBinding, o::rbac::v1::RoleBinding>();
    agrees_with_k8s_openapi::<p::rbac::v1::ClusterRole, o::rbac::v1::ClusterRole>();
    agrees_with_k8s_openapi::<p::rbac::v1::ClusterRoleBinding, o::rbac::v1::ClusterRoleBinding>();
    agrees_with_k8s_openapi::<p::policy::v1::PodDisruptionBudget, o::policy::v1::PodDisruptionBudget>();
    agrees_with_k8s_openapi::<p::networking::v1::Ingress, o::networking::v1::Ingress>();
    agrees_with_k8s_openapi::<p::networking::v1::NetworkPolicy, o::networking::v1::NetworkPolicy>();
    agrees_with_k8s_openapi::<p::scheduling::v1::PriorityClass, o::scheduling::v1::PriorityClass>();
    agrees_with_k8s_openapi::<p::authentication::v1::TokenRequest, o::authentication::v1::TokenRequest>();
    agrees_with_k8s_openapi::<p::coordination::v1::Lease, o::coordination::v1::Lease>();
    agrees_with_k8s_openapi::<p::events::v1::Event, o::events::v1::Event>();
    agrees_with_k8s_openapi::<p::authentication::v1::SelfSubjectReview, o::authentication::v1::SelfSubjectReview>();
    agrees_with_k8s_openapi::<p::authorization::v1::SubjectAccessReview, o::authorization::v1::SubjectAccessReview>();
    agrees_with_k8s_openapi::<
        p::authorization::v1::LocalSubjectAccessReview,
        o::authorization::v1::LocalSubjectAccessReview,
    >();
    agrees_with_k8s_openapi::<
        p::authorization::v1::SelfSubjectAccessReview,
        o::authorization::v1::SelfSubjectAccessReview,
    >();
    agrees_with_k8s_openapi::<p::authorization::v1::SelfSubjectRulesReview, o::authorization::v1::SelfSubjectRulesReview>(
    );
    assert_eq!(kinds::all().count(), 30, "every decodable kind is checked above");
}
