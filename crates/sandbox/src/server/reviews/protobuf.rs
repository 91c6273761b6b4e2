//! Reviews sent as protobuf (`application/vnd.kubernetes.protobuf`), as kubectl's clients
//! send them: the `k8s\0` envelope around a `runtime.Unknown`, decoded with prost and
//! k8s-pb's message types into the JSON shape the rest of the module reads.

use k8s_pb::api::authorization::v1 as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Map, Value, json};

use super::ReviewKind;
use crate::error::ApiError;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes that open every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

fn malformed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("unable to decode the protobuf body as {what}: {e}"))
}

/// The review `kind` in `body`, as the JSON object it stands for.
pub fn decode(body: &[u8], api_version: &str, review: ReviewKind) -> Result<Value, ApiError> {
    let kind = review.name();
    let payload = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request("the protobuf body does not start with the Kubernetes envelope (k8s\\0)")
    })?;
    let unknown = Unknown::decode(payload).map_err(|e| malformed("runtime.Unknown", e))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let sent_kind = type_meta.kind.unwrap_or_default();
    if !sent_kind.is_empty() && sent_kind != kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({sent_kind}) does not match the expected kind ({kind})"
        )));
    }
    let raw = unknown.raw.unwrap_or_default();
    let raw = raw.as_slice();
    let (metadata, body) = match review {
        ReviewKind::SubjectAccess => {
            let review = pb::SubjectAccessReview::decode(raw).map_err(|e| malformed(kind, e))?;
            (review.metadata, json!({"spec": subject_spec(review.spec.unwrap_or_default())}))
        }
        ReviewKind::LocalSubjectAccess => {
            let review = pb::LocalSubjectAccessReview::decode(raw).map_err(|e| malformed(kind, e))?;
            (review.metadata, json!({"spec": subject_spec(review.spec.unwrap_or_default())}))
        }
        ReviewKind::SelfSubjectAccess => {
            let review = pb::SelfSubjectAccessReview::decode(raw).map_err(|e| malformed(kind, e))?;
            let spec = review.spec.unwrap_or_default();
            let mut out = Map::new();
            attributes_into(&mut out, spec.resource_attributes, spec.non_resource_attributes);
            (review.metadata, json!({"spec": out}))
        }
        ReviewKind::SelfSubjectRules => {
            let review = pb::SelfSubjectRulesReview::decode(raw).map_err(|e| malformed(kind, e))?;
            let namespace = review.spec.unwrap_or_default().namespace;
            (review.metadata, json!({"spec": {"namespace": namespace}}))
        }
        ReviewKind::SelfSubject => {
            let review =
                k8s_pb::api::authentication::v1::SelfSubjectReview::decode(raw).map_err(|e| malformed(kind, e))?;
            (review.metadata, json!({}))
        }
    };
    let mut object = body;
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    object["metadata"] = metadata_json(metadata.unwrap_or_default());
    Ok(object)
}

fn metadata_json(meta: ObjectMeta) -> Value {
    let mut out = Map::new();
    let strings = [("name", meta.name), ("generateName", meta.generate_name), ("namespace", meta.namespace)];
    for (key, value) in strings {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.insert(key.to_string(), json!(value));
        }
    }
    for (key, map) in [("labels", meta.labels), ("annotations", meta.annotations)] {
        if !map.is_empty() {
            out.insert(key.to_string(), json!(map));
        }
    }
    Value::Object(out)
}

fn resource_attributes(attrs: pb::ResourceAttributes) -> Value {
    let fields = [
        ("namespace", attrs.namespace),
        ("verb", attrs.verb),
        ("group", attrs.group),
        ("version", attrs.version),
        ("resource", attrs.resource),
        ("subresource", attrs.subresource),
        ("name", attrs.name),
    ];
    Value::Object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v)))).collect())
}

fn attributes_into(
    out: &mut Map<String, Value>,
    resource: Option<pb::ResourceAttributes>,
    non_resource: Option<pb::NonResourceAttributes>,
) {
    if let Some(attrs) = resource {
        out.insert("resourceAttributes".to_string(), resource_attributes(attrs));
    }
    if let Some(attrs) = non_resource {
        out.insert("nonResourceAttributes".to_string(), json!({"path": attrs.path, "verb": attrs.verb}));
    }
}

fn subject_spec(spec: pb::SubjectAccessReviewSpec) -> Value {
    let mut out = Map::new();
    attributes_into(&mut out, spec.resource_attributes, spec.non_resource_attributes);
    if let Some(user) = spec.user {
        out.insert("user".to_string(), json!(user));
    }
    if !spec.groups.is_empty() {
        out.insert("groups".to_string(), json!(spec.groups));
    }
    if !spec.extra.is_empty() {
        let extra: Map<String, Value> = spec.extra.into_iter().map(|(k, v)| (k, json!(v.items))).collect();
        out.insert("extra".to_string(), Value::Object(extra));
    }
    if let Some(uid) = spec.uid {
        out.insert("uid".to_string(), json!(uid));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use k8s_pb::apimachinery::pkg::runtime::TypeMeta;

    use super::*;

    fn envelope(kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: Some("authorization.k8s.io/v1".into()), kind: Some(kind.into()) }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut body = MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        body
    }

    #[test]
    fn a_self_subject_access_review_decodes_to_its_json_shape() {
        let review = pb::SelfSubjectAccessReview {
            metadata: Some(ObjectMeta::default()),
            spec: Some(pb::SelfSubjectAccessReviewSpec {
                resource_attributes: Some(pb::ResourceAttributes {
                    namespace: Some("a".into()),
                    verb: Some("get".into()),
                    resource: Some("configmaps".into()),
                    ..Default::default()
                }),
                non_resource_attributes: None,
            }),
            status: None,
        };
        let body = envelope("SelfSubjectAccessReview", review.encode_to_vec());
        let decoded = decode(&body, "authorization.k8s.io/v1", ReviewKind::SelfSubjectAccess).expect("decodes");
        assert_eq!(
            decoded,
            json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {},
                "spec": {"resourceAttributes": {"namespace": "a", "verb": "get", "resource": "configmaps"}}
            })
        );
    }

    #[test]
    fn a_subject_access_review_keeps_user_groups_and_extra() {
        let review = pb::SubjectAccessReview {
            spec: Some(pb::SubjectAccessReviewSpec {
                non_resource_attributes: Some(pb::NonResourceAttributes {
                    path: Some("/healthz".into()),
                    verb: Some("get".into()),
                }),
                user: Some("alice".into()),
                groups: vec!["dev".into()],
                extra: [("scopes".to_string(), pb::ExtraValue { items: vec!["x".into()] })].into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = envelope("SubjectAccessReview", review.encode_to_vec());
        let decoded = decode(&body, "authorization.k8s.io/v1", ReviewKind::SubjectAccess).expect("decodes");
        assert_eq!(decoded["spec"]["extra"], json!({"scopes": ["x"]}));
        assert_eq!(decoded["spec"]["nonResourceAttributes"], json!({"path": "/healthz", "verb": "get"}));
    }

    #[test]
    fn bodies_that_are_not_reviews_are_refused() {
        assert_eq!(decode(b"{}", "v1", ReviewKind::SelfSubject).expect_err("no envelope").code(), 400);
        let wrong = envelope("ConfigMap", Vec::new());
        let err = decode(&wrong, "authorization.k8s.io/v1", ReviewKind::SelfSubjectAccess).expect_err("wrong kind");
        assert!(err.message.contains("(ConfigMap)"), "{}", err.message);
        assert_eq!(decode(b"k8s\0\xff\xff", "v1", ReviewKind::SelfSubject).expect_err("garbage").code(), 400);
    }
}
