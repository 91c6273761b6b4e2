//! What a request asks to do, in the terms RBAC rules are written in.

use http::Method;

use crate::server::Route;

/// The authorizer's view of one request, as kube-apiserver's request-info resolver
/// derives it from the method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAttributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`
    /// (and for non-resource paths the lowercased method).
    pub verb: String,
    /// Whether the request addresses a resource (false for discovery and other paths).
    pub resource_request: bool,
    /// The API group; empty for core.
    pub group: String,
    /// The plural resource.
    pub resource: String,
    /// The subresource (`status`), if any.
    pub subresource: Option<String>,
    /// The namespace; empty for cluster-scoped requests and lists across namespaces.
    pub namespace: String,
    /// The object's name; empty for collections.
    pub name: String,
    /// The request path.
    pub path: String,
}

impl RequestAttributes {
    /// The attributes of a request with `verb` on the non-resource `path` (`/healthz`).
    pub fn non_resource(verb: &str, path: &str) -> Self {
        RequestAttributes {
            verb: verb.to_string(),
            resource_request: false,
            group: String::new(),
            resource: String::new(),
            subresource: None,
            namespace: String::new(),
            name: String::new(),
            path: path.to_string(),
        }
    }

    /// The attributes of a request with `method` on `path` (`watch` is the query's
    /// `watch` parameter).
    pub fn new(method: &Method, path: &str, watch: bool) -> Self {
        let non_resource = || RequestAttributes::non_resource(&method.as_str().to_ascii_lowercase(), path);
        let collection_verb = match *method {
            Method::GET | Method::HEAD if watch => "watch",
            Method::GET | Method::HEAD => "list",
            Method::POST => "create",
            Method::DELETE => "deletecollection",
            Method::PUT => "update",
            Method::PATCH => "patch",
            _ => "",
        };
        let object_verb = match *method {
            Method::GET | Method::HEAD if watch => "watch",
            Method::GET | Method::HEAD => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        };
        match Route::parse(path) {
            Some(Route::Collection { group, resource, namespace, .. }) => RequestAttributes {
                verb: collection_verb.to_string(),
                resource_request: true,
                group,
                resource,
                subresource: None,
                namespace: namespace.unwrap_or_default(),
                name: String::new(),
                path: path.to_string(),
            },
            Some(Route::Object { group, resource, namespace, name, subresource, .. }) => {
                // A namespace is its own namespace, as kube-apiserver sees it.
                let namespace = match (namespace, group.is_empty() && resource == "namespaces") {
                    (Some(ns), _) => ns,
                    (None, true) => name.clone(),
                    (None, false) => String::new(),
                };
                RequestAttributes {
                    verb: object_verb.to_string(),
                    resource_request: true,
                    group,
                    resource,
                    subresource,
                    namespace,
                    name,
                    path: path.to_string(),
                }
            }
            _ => non_resource(),
        }
    }

    /// `resource` or `resource/subresource`, as RBAC rules name it.
    pub fn resource_with_subresource(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{}", self.resource, sub),
            None => self.resource.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_the_method_and_the_path() {
        let list = RequestAttributes::new(&Method::GET, "/api/v1/namespaces/a/configmaps", false);
        assert_eq!((list.verb.as_str(), list.namespace.as_str(), list.name.as_str()), ("list", "a", ""));
        let watch = RequestAttributes::new(&Method::GET, "/api/v1/configmaps", true);
        assert_eq!((watch.verb.as_str(), watch.namespace.as_str()), ("watch", ""));
        let status = RequestAttributes::new(&Method::PATCH, "/apis/apps/v1/namespaces/a/deployments/web/status", false);
        assert_eq!(status.resource_with_subresource(), "deployments/status");
        assert_eq!(status.group, "apps");
        let wipe = RequestAttributes::new(&Method::DELETE, "/api/v1/namespaces/a/pods", false);
        assert_eq!(wipe.verb, "deletecollection");
        let ns = RequestAttributes::new(&Method::DELETE, "/api/v1/namespaces/a", false);
        assert_eq!((ns.verb.as_str(), ns.namespace.as_str(), ns.name.as_str()), ("delete", "a", "a"));
        let discovery = RequestAttributes::new(&Method::GET, "/apis/apps/v1", false);
        assert!(!discovery.resource_request);
        assert_eq!(discovery.verb, "get");
    }
}
