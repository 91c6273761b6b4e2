//! Which requests a fault applies to.

use crate::auth::RequestAttributes;

/// A pattern over requests; every part left unset matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMatch {
    verb: Option<String>,
    group: Option<String>,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

impl RequestMatch {
    /// Matches every request.
    pub fn any() -> Self {
        RequestMatch::default()
    }

    /// Matches requests with this verb (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`) on this resource (`configmaps`, or
    /// `deployments/status` for a subresource).
    pub fn new(verb: &str, resource: &str) -> Self {
        RequestMatch::any().verb(verb).resource(resource)
    }

    /// Only requests with this verb.
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_string());
        self
    }

    /// Only requests in this API group (empty for core).
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_string());
        self
    }

    /// Only requests on this resource (`configmaps`, `deployments/status`).
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    /// Only requests in this namespace.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Only requests for the object with this name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Whether the request described by `attrs` matches.
    pub fn matches(&self, attrs: &RequestAttributes) -> bool {
        let is = |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual);
        is(&self.verb, &attrs.verb)
            && is(&self.group, &attrs.group)
            && is(&self.resource, &attrs.resource_with_subresource())
            && is(&self.namespace, &attrs.namespace)
            && is(&self.name, &attrs.name)
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn unset_parts_match_anything() {
        let create = RequestAttributes::new(&Method::POST, "/api/v1/namespaces/a/configmaps", false);
        assert!(RequestMatch::any().matches(&create));
        assert!(RequestMatch::new("create", "configmaps").namespace("a").matches(&create));
        assert!(!RequestMatch::new("create", "configmaps").namespace("b").matches(&create));
        assert!(!RequestMatch::new("update", "configmaps").matches(&create));
        let status = RequestAttributes::new(&Method::PUT, "/apis/apps/v1/namespaces/a/deployments/w/status", false);
        assert!(RequestMatch::new("update", "deployments/status").name("w").matches(&status));
        assert!(!RequestMatch::new("update", "deployments").matches(&status));
    }
}
