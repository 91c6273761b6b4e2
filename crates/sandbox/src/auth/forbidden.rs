//! The 403 answer, worded as kube-apiserver words it.

use crate::auth::attributes::RequestAttributes;
use crate::auth::identity::UserInfo;
use crate::error::{ApiError, ErrorDetails, Reason};
use crate::resources::GroupResource;

/// `configmaps "x" is forbidden: User "alice" cannot get resource "configmaps" in API group
/// "" in the namespace "b"`, or for paths `forbidden: User "alice" cannot get path "/apis"`.
pub fn forbidden(user: &UserInfo, attrs: &RequestAttributes) -> ApiError {
    if !attrs.resource_request {
        return ApiError::new(
            Reason::Forbidden,
            format!("forbidden: User \"{}\" cannot {} path \"{}\"", user.name, attrs.verb, attrs.path),
        );
    }
    let resource = GroupResource::new(attrs.group.clone(), attrs.resource.clone());
    let subject = if attrs.name.is_empty() { resource.to_string() } else { format!("{resource} \"{}\"", attrs.name) };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", attrs.namespace)
    };
    let message = format!(
        "{subject} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
        user.name,
        attrs.verb,
        attrs.resource_with_subresource(),
        attrs.group,
    );
    ApiError {
        reason: Reason::Forbidden,
        message,
        details: Some(Box::new(ErrorDetails {
            name: attrs.name.clone(),
            group: attrs.group.clone(),
            kind: attrs.resource.clone(),
            ..Default::default()
        })),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn messages_match_kube_apiserver() {
        let alice = UserInfo::user("alice", &[]);
        let get = RequestAttributes::new(&Method::GET, "/api/v1/namespaces/b/configmaps/x", false);
        assert_eq!(
            forbidden(&alice, &get).message,
            "configmaps \"x\" is forbidden: User \"alice\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"b\""
        );
        let list = RequestAttributes::new(&Method::GET, "/apis/apps/v1/deployments", false);
        assert_eq!(
            forbidden(&alice, &list).message,
            "deployments.apps is forbidden: User \"alice\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
        );
        let path = RequestAttributes::new(&Method::GET, "/metrics", false);
        assert_eq!(forbidden(&alice, &path).message, "forbidden: User \"alice\" cannot get path \"/metrics\"");
        assert_eq!(forbidden(&alice, &path).code(), 403);
    }
}
