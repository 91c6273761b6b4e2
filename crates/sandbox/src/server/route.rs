//! The REST paths of the Kubernetes API, parsed into what they address.

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/api`: the core group's versions.
    CoreVersions,
    /// `/openapi/v3`: the OpenAPI v3 documents, per group version.
    OpenApiRoot,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`
    OpenApiGroupVersion(String),
    /// `/apis`: every named group.
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`: the resources of a group version.
    Resources {
        /// The group; empty for core.
        group: String,
        /// The version.
        version: String,
    },
    /// A collection: `.../{resource}` or `.../namespaces/{ns}/{resource}`.
    Collection {
        /// The group; empty for core.
        group: String,
        /// The version.
        version: String,
        /// The plural resource.
        resource: String,
        /// The namespace, when the path names one.
        namespace: Option<String>,
    },
    /// One object, or one of its subresources.
    Object {
        /// The group; empty for core.
        group: String,
        /// The version.
        version: String,
        /// The plural resource.
        resource: String,
        /// The namespace, when the path names one.
        namespace: Option<String>,
        /// The object's name.
        name: String,
        /// The subresource (`status`), if any.
        subresource: Option<String>,
    },
}

/// The subresources of a Namespace, which `/api/v1/namespaces/{name}/{x}` can name
/// instead of a namespaced collection.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn resource_route(group: String, version: String, rest: &[String]) -> Option<Route> {
    let (namespace, rest) = match rest {
        [ns_word, ns, tail @ ..]
            if ns_word == "namespaces" && !tail.is_empty() && !NAMESPACE_SUBRESOURCES.contains(&tail[0].as_str()) =>
        {
            (Some(ns.clone()), tail)
        }
        _ => (None, rest),
    };
    match rest {
        [] => Some(Route::Resources { group, version }).filter(|_| namespace.is_none()),
        [resource] => Some(Route::Collection { group, version, resource: resource.clone(), namespace }),
        [resource, name] => Some(Route::Object {
            group,
            version,
            resource: resource.clone(),
            namespace,
            name: name.clone(),
            subresource: None,
        }),
        [resource, name, sub] => Some(Route::Object {
            group,
            version,
            resource: resource.clone(),
            namespace,
            name: name.clone(),
            subresource: Some(sub.clone()),
        }),
        _ => None,
    }
}

impl Route {
    /// Parses a request path; `None` when it addresses nothing the API serves.
    pub fn parse(path: &str) -> Option<Route> {
        let segments: Vec<String> =
            path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect::<Option<Vec<_>>>()?;
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        match parts.as_slice() {
            ["version"] => Some(Route::Version),
            ["healthz"] | ["livez"] | ["readyz"] => Some(Route::Health),
            ["api"] => Some(Route::CoreVersions),
            ["openapi", "v3"] => Some(Route::OpenApiRoot),
            ["openapi", "v3", rest @ ..] => Some(Route::OpenApiGroupVersion(rest.join("/"))),
            ["apis"] => Some(Route::Groups),
            ["apis", group] => Some(Route::Group(group.to_string())),
            ["api", version, ..] => resource_route(String::new(), version.to_string(), &segments[2..]),
            ["apis", group, version, ..] => resource_route(group.to_string(), version.to_string(), &segments[3..]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(group: &str, resource: &str, namespace: Option<&str>, name: &str, sub: Option<&str>) -> Route {
        Route::Object {
            group: group.into(),
            version: "v1".into(),
            resource: resource.into(),
            namespace: namespace.map(Into::into),
            name: name.into(),
            subresource: sub.map(Into::into),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        assert_eq!(
            Route::parse("/api/v1/namespaces/ns1/configmaps"),
            Some(Route::Collection {
                group: "".into(),
                version: "v1".into(),
                resource: "configmaps".into(),
                namespace: Some("ns1".into())
            })
        );
        assert_eq!(Route::parse("/api/v1/namespaces/ns1"), Some(object("", "namespaces", None, "ns1", None)));
        assert_eq!(
            Route::parse("/api/v1/namespaces/ns1/status"),
            Some(object("", "namespaces", None, "ns1", Some("status")))
        );
        assert_eq!(
            Route::parse("/apis/apps/v1/namespaces/ns1/deployments/web/status"),
            Some(object("apps", "deployments", Some("ns1"), "web", Some("status")))
        );
        assert_eq!(
            Route::parse("/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aadmin"),
            Some(object("rbac.authorization.k8s.io", "clusterroles", None, "system:admin", None))
        );
        assert_eq!(
            Route::parse("/apis/apps/v1"),
            Some(Route::Resources { group: "apps".into(), version: "v1".into() })
        );
        assert_eq!(Route::parse("/nope"), None);
    }
}
