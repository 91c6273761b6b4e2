//! The access and identity reviews: `authorization.k8s.io/v1` SubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectAccessReview and SelfSubjectRulesReview, and
//! `authentication.k8s.io/v1` SelfSubjectReview.
//!
//! They are create-only virtual resources, as in kube-apiserver: a POST answers the object
//! it was sent with `status` filled in by the same RBAC evaluation that authorizes every
//! request, and nothing is stored. Creating one needs `create` on it like any write; every
//! authenticated user holds that for the self reviews through `system:basic-user`.

use http::request::Parts;
use http::{Method, Response, StatusCode};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, SelfSubjectReviewStatus, UserInfo as ReviewUserInfo};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, NonResourceAttributes, NonResourceRule, ResourceAttributes, ResourceRule,
    SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview, SubjectAccessReviewSpec,
    SubjectAccessReviewStatus, SubjectRulesReviewStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handler::decode_object;
use super::response::{self, Body};
use super::route::Route;
use crate::auth::rbac::{decide, policy_from_store, user_of};
use crate::auth::{Authenticated, RequestAttributes, UserInfo};
use crate::error::{ApiError, CauseType, FieldCause};
use crate::store::Store;

const AUTHORIZATION_GROUP: &str = "authorization.k8s.io";
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// The kinds of review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKind {
    /// Who am I (`authentication.k8s.io`).
    SelfSubject,
    /// May a given user do this in this namespace.
    LocalSubjectAccess,
    /// May I do this.
    SelfSubjectAccess,
    /// What may I do in a namespace.
    SelfSubjectRules,
    /// May a given user do this.
    SubjectAccess,
}

impl ReviewKind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            ReviewKind::SelfSubject => "SelfSubjectReview",
            ReviewKind::LocalSubjectAccess => "LocalSubjectAccessReview",
            ReviewKind::SelfSubjectAccess => "SelfSubjectAccessReview",
            ReviewKind::SelfSubjectRules => "SelfSubjectRulesReview",
            ReviewKind::SubjectAccess => "SubjectAccessReview",
        }
    }
}

/// One review resource, as discovery lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Review {
    /// The API group.
    pub group: &'static str,
    /// The version.
    pub version: &'static str,
    /// The plural resource.
    pub resource: &'static str,
    /// The singular name.
    pub singular: &'static str,
    /// The kind.
    pub kind: ReviewKind,
    /// Whether it is created in a namespace (LocalSubjectAccessReview).
    pub namespaced: bool,
}

/// The reviews served, in discovery order.
pub const REVIEWS: [Review; 5] = [
    Review {
        group: AUTHENTICATION_GROUP,
        version: "v1",
        resource: "selfsubjectreviews",
        singular: "selfsubjectreview",
        kind: ReviewKind::SelfSubject,
        namespaced: false,
    },
    Review {
        group: AUTHORIZATION_GROUP,
        version: "v1",
        resource: "localsubjectaccessreviews",
        singular: "localsubjectaccessreview",
        kind: ReviewKind::LocalSubjectAccess,
        namespaced: true,
    },
    Review {
        group: AUTHORIZATION_GROUP,
        version: "v1",
        resource: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        kind: ReviewKind::SelfSubjectAccess,
        namespaced: false,
    },
    Review {
        group: AUTHORIZATION_GROUP,
        version: "v1",
        resource: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        kind: ReviewKind::SelfSubjectRules,
        namespaced: false,
    },
    Review {
        group: AUTHORIZATION_GROUP,
        version: "v1",
        resource: "subjectaccessreviews",
        singular: "subjectaccessreview",
        kind: ReviewKind::SubjectAccess,
        namespaced: false,
    },
];

/// The reviews served in `group`/`version`.
pub fn reviews_in<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static Review> + 'a {
    REVIEWS.iter().filter(move |r| r.group == group && r.version == version)
}

/// The answer when the request addresses a review; `None` for every other path.
pub fn answer(
    store: &Store,
    who: &Authenticated,
    parts: &Parts,
    body: &[u8],
) -> Option<Result<Response<Body>, ApiError>> {
    let path = parts.uri.path();
    if !REVIEWS.iter().any(|r| path.strip_prefix("/apis/").is_some_and(|rest| rest.starts_with(r.group))) {
        return None;
    }
    let (review, namespace) = match Route::parse(path)? {
        Route::Collection { group, version, resource, namespace } => {
            let review = REVIEWS.iter().find(|r| r.group == group && r.version == version && r.resource == resource)?;
            (review, namespace)
        }
        Route::Object { group, version, resource, .. } => {
            REVIEWS.iter().find(|r| r.group == group && r.version == version && r.resource == resource)?;
            return Some(Err(ApiError::resource_not_served(path)));
        }
        _ => return None,
    };
    if review.namespaced != namespace.is_some() {
        return Some(Err(ApiError::resource_not_served(path)));
    }
    if parts.method != Method::POST {
        return Some(Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {path})",
            parts.method
        ))));
    }
    let user = user_of(who);
    let created = decode_object(parts, body).and_then(|object| match review.kind {
        ReviewKind::SubjectAccess => subject_access_review(store, decode(object)?),
        ReviewKind::LocalSubjectAccess => {
            local_subject_access_review(store, decode(object)?, namespace.unwrap_or_default())
        }
        ReviewKind::SelfSubjectAccess => self_subject_access_review(store, &user, decode(object)?),
        ReviewKind::SelfSubjectRules => self_subject_rules_review(store, &user, decode(object)?),
        ReviewKind::SelfSubject => encode(self_subject_review(&user, decode(object)?)),
    });
    Some(created.map(|object| response::json(StatusCode::CREATED, &object)))
}

fn decode<T: DeserializeOwned>(object: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(object)
        .map_err(|e| ApiError::bad_request(format!("unable to decode the request body: {e}")).with_source(e))
}

fn encode<T: Serialize>(object: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(object).map_err(|e| ApiError::internal(format!("unable to encode the review: {e}")))
}

fn invalid(field: &str, value: impl std::fmt::Debug, message: &str) -> FieldCause {
    FieldCause::new(CauseType::FieldValueInvalid, field, format!("{value:?}: {message}"))
}

/// The checks kube-apiserver makes of a review's attributes: exactly one of
/// resourceAttributes and nonResourceAttributes.
fn attribute_causes(
    resource: Option<&ResourceAttributes>,
    non_resource: Option<&NonResourceAttributes>,
) -> Vec<FieldCause> {
    match (resource, non_resource) {
        (Some(_), Some(_)) => vec![FieldCause::new(
            CauseType::FieldValueInvalid,
            "spec.nonResourceAttributes",
            "cannot be specified in combination with resourceAttributes",
        )],
        (None, None) => vec![invalid(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
        _ => Vec::new(),
    }
}

fn metadata_is_empty(metadata: &ObjectMeta) -> bool {
    let mut rest = metadata.clone();
    rest.managed_fields = None;
    rest == ObjectMeta::default()
}

/// What a review asks about, in the authorizer's terms.
fn attributes(
    resource: Option<&ResourceAttributes>,
    non_resource: Option<&NonResourceAttributes>,
) -> RequestAttributes {
    match (resource, non_resource) {
        (Some(r), _) => RequestAttributes {
            verb: r.verb.clone().unwrap_or_default(),
            resource_request: true,
            group: r.group.clone().unwrap_or_default(),
            resource: r.resource.clone().unwrap_or_default(),
            subresource: r.subresource.clone().filter(|s| !s.is_empty()),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
            path: String::new(),
        },
        (None, non_resource) => RequestAttributes::non_resource(
            non_resource.and_then(|n| n.verb.as_deref()).unwrap_or_default(),
            non_resource.and_then(|n| n.path.as_deref()).unwrap_or_default(),
        ),
    }
}

fn status(store: &Store, user: &UserInfo, attrs: &RequestAttributes) -> SubjectAccessReviewStatus {
    let decision = decide(user, attrs, store);
    SubjectAccessReviewStatus {
        allowed: decision.allowed,
        denied: None,
        reason: Some(decision.reason).filter(|r| !r.is_empty()),
        evaluation_error: None,
    }
}

/// The user a SubjectAccessReview's spec names, as it names it (no group is added).
fn spec_user(spec: &SubjectAccessReviewSpec) -> UserInfo {
    UserInfo {
        name: spec.user.clone().unwrap_or_default(),
        groups: spec.groups.clone().unwrap_or_default(),
        uid: spec.uid.clone(),
        extra: spec.extra.clone().unwrap_or_default().into_iter().collect(),
    }
}

fn spec_causes(spec: &SubjectAccessReviewSpec) -> Vec<FieldCause> {
    let mut causes = attribute_causes(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    if spec.user.as_deref().unwrap_or_default().is_empty() && spec.groups.as_deref().unwrap_or_default().is_empty() {
        causes.push(invalid(
            "spec.user",
            spec.user.clone().unwrap_or_default(),
            "at least one of user or group must be specified",
        ));
    }
    causes
}

fn subject_access_review(store: &Store, mut review: SubjectAccessReview) -> Result<serde_json::Value, ApiError> {
    let mut causes = spec_causes(&review.spec);
    if !metadata_is_empty(&review.metadata) {
        causes.push(FieldCause::new(CauseType::FieldValueInvalid, "metadata", "must be empty"));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(AUTHORIZATION_GROUP, "SubjectAccessReview", "", causes));
    }
    let spec = &review.spec;
    let attrs = attributes(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    review.status = Some(status(store, &spec_user(spec), &attrs));
    encode(review)
}

fn local_subject_access_review(
    store: &Store,
    mut review: LocalSubjectAccessReview,
    namespace: String,
) -> Result<serde_json::Value, ApiError> {
    match review.metadata.namespace.as_deref() {
        None | Some("") => review.metadata.namespace = Some(namespace.clone()),
        Some(ns) if ns == namespace => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let mut causes = spec_causes(&review.spec);
    let mut rest = review.metadata.clone();
    rest.namespace = None;
    if !metadata_is_empty(&rest) {
        causes.push(FieldCause::new(CauseType::FieldValueInvalid, "metadata", "must be empty except for namespace"));
    }
    if let Some(attrs) = &review.spec.resource_attributes {
        let asked = attrs.namespace.clone().unwrap_or_default();
        if asked != namespace {
            causes.push(invalid("spec.resourceAttributes.namespace", asked, "must match metadata.namespace"));
        }
    }
    if review.spec.non_resource_attributes.is_some() {
        causes.push(FieldCause::new(
            CauseType::FieldValueInvalid,
            "spec.nonResourceAttributes",
            "disallowed on this kind of request",
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(AUTHORIZATION_GROUP, "LocalSubjectAccessReview", "", causes));
    }
    let spec = &review.spec;
    let attrs = attributes(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    review.status = Some(status(store, &spec_user(spec), &attrs));
    encode(review)
}

fn self_subject_access_review(
    store: &Store,
    user: &UserInfo,
    mut review: SelfSubjectAccessReview,
) -> Result<serde_json::Value, ApiError> {
    let spec = &review.spec;
    let mut causes = attribute_causes(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    if !metadata_is_empty(&review.metadata) {
        causes.push(FieldCause::new(CauseType::FieldValueInvalid, "metadata", "must be empty"));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(AUTHORIZATION_GROUP, "SelfSubjectAccessReview", "", causes));
    }
    let attrs = attributes(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    review.status = Some(status(store, user, &attrs));
    encode(review)
}

fn self_subject_rules_review(
    store: &Store,
    user: &UserInfo,
    mut review: SelfSubjectRulesReview,
) -> Result<serde_json::Value, ApiError> {
    let namespace = review.spec.namespace.clone().unwrap_or_default();
    if namespace.is_empty() {
        return Err(ApiError::bad_request("no namespace on request"));
    }
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in policy_from_store(store).rules_for(user, &namespace) {
        if rule.resources.as_ref().is_some_and(|r| !r.is_empty()) {
            resource_rules.push(ResourceRule {
                verbs: rule.verbs.clone(),
                api_groups: rule.api_groups.clone(),
                resources: rule.resources.clone(),
                resource_names: rule.resource_names.clone(),
            });
        }
        if rule.non_resource_urls.as_ref().is_some_and(|u| !u.is_empty()) {
            non_resource_rules.push(NonResourceRule { verbs: rule.verbs, non_resource_urls: rule.non_resource_urls });
        }
    }
    review.status = Some(SubjectRulesReviewStatus {
        resource_rules,
        non_resource_rules,
        incomplete: false,
        evaluation_error: None,
    });
    encode(review)
}

fn self_subject_review(user: &UserInfo, mut review: SelfSubjectReview) -> SelfSubjectReview {
    review.status = Some(SelfSubjectReviewStatus {
        user_info: Some(ReviewUserInfo {
            username: Some(user.name.clone()),
            uid: user.uid.clone(),
            groups: Some(user.groups.clone()),
            extra: Some(user.extra.clone().into_iter().collect())
                .filter(|e: &std::collections::BTreeMap<_, _>| !e.is_empty()),
        }),
    });
    review
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_asks_exactly_one_kind_of_question() {
        let resource = ResourceAttributes { verb: Some("get".into()), ..Default::default() };
        let path = NonResourceAttributes { verb: Some("get".into()), path: Some("/healthz".into()) };
        assert!(attribute_causes(Some(&resource), None).is_empty());
        assert_eq!(attribute_causes(Some(&resource), Some(&path))[0].field, "spec.nonResourceAttributes");
        assert_eq!(
            attribute_causes(None, None)[0].full_message(),
            "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"
        );
        let attrs = attributes(None, Some(&path));
        assert!(!attrs.resource_request);
        assert_eq!((attrs.verb.as_str(), attrs.path.as_str()), ("get", "/healthz"));
    }

    #[test]
    fn a_subject_access_review_needs_a_user_or_a_group() {
        let spec =
            SubjectAccessReviewSpec { resource_attributes: Some(ResourceAttributes::default()), ..Default::default() };
        let causes = spec_causes(&spec);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].full_message(), "Invalid value: \"\": at least one of user or group must be specified");
    }
}
