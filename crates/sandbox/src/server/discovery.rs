//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}` and the
//! APIResourceList of each group version.

use std::net::SocketAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use k8s_openapi::apimachinery::pkg::version::Info;

use super::reviews;
use crate::resources::{GroupVersions, Registry, ResourceKind, Verb};

/// The Kubernetes version the sandbox reports.
pub const KUBERNETES_MAJOR: &str = "1";
/// The Kubernetes minor version the sandbox reports.
pub const KUBERNETES_MINOR: &str = "34";

/// `/version`
pub fn version() -> Info {
    Info {
        major: KUBERNETES_MAJOR.to_string(),
        minor: KUBERNETES_MINOR.to_string(),
        git_version: format!("v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0-driftwarden-sandbox"),
        git_commit: String::new(),
        git_tree_state: "clean".to_string(),
        build_date: String::new(),
        go_version: String::new(),
        compiler: "rustc".to_string(),
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        emulation_major: None,
        emulation_minor: None,
        min_compatibility_major: None,
        min_compatibility_minor: None,
    }
}

fn addresses(address: SocketAddr) -> Vec<ServerAddressByClientCIDR> {
    vec![ServerAddressByClientCIDR { client_cidr: "0.0.0.0/0".to_string(), server_address: address.to_string() }]
}

/// `/api`
pub fn core_versions(registry: &Registry, address: SocketAddr) -> APIVersions {
    let versions = registry.groups().into_iter().find(|g| g.group.is_empty()).map(|g| g.versions).unwrap_or_default();
    APIVersions { versions, server_address_by_client_cidrs: addresses(address) }
}

fn group_version(group: &str, version: &str) -> GroupVersionForDiscovery {
    GroupVersionForDiscovery { group_version: format!("{group}/{version}"), version: version.to_string() }
}

fn api_group(g: &GroupVersions) -> APIGroup {
    APIGroup {
        name: g.group.clone(),
        versions: g.versions.iter().map(|v| group_version(&g.group, v)).collect(),
        preferred_version: g.versions.first().map(|v| group_version(&g.group, v)),
        server_address_by_client_cidrs: None,
    }
}

/// The served groups: the registry's, then the groups of the access reviews.
fn all_groups(registry: &Registry) -> Vec<GroupVersions> {
    let mut groups = registry.groups();
    for review in &reviews::REVIEWS {
        if !groups.iter().any(|g| g.group == review.group) {
            groups.push(GroupVersions { group: review.group.to_string(), versions: vec![review.version.to_string()] });
        }
    }
    groups
}

/// `/apis`
pub fn groups(registry: &Registry) -> APIGroupList {
    APIGroupList { groups: all_groups(registry).iter().filter(|g| !g.group.is_empty()).map(api_group).collect() }
}

/// `/apis/{group}`, if the group is served.
pub fn group(registry: &Registry, name: &str) -> Option<APIGroup> {
    all_groups(registry).iter().find(|g| !g.group.is_empty() && g.group == name).map(api_group)
}

fn non_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn resource(kind: &ResourceKind) -> APIResource {
    APIResource {
        name: kind.resource.clone(),
        singular_name: kind.singular.clone(),
        namespaced: kind.namespaced(),
        kind: kind.kind.clone(),
        verbs: Verb::ALL.iter().map(|v| v.as_str().to_string()).collect(),
        short_names: non_empty(&kind.short_names),
        categories: non_empty(&kind.categories),
        group: None,
        version: None,
        storage_version_hash: None,
    }
}

fn status_resource(kind: &ResourceKind) -> APIResource {
    APIResource {
        name: format!("{}/status", kind.resource),
        singular_name: String::new(),
        namespaced: kind.namespaced(),
        kind: kind.kind.clone(),
        verbs: Verb::STATUS.iter().map(|v| v.as_str().to_string()).collect(),
        short_names: None,
        categories: None,
        group: None,
        version: None,
        storage_version_hash: None,
    }
}

/// A create-only review (SelfSubjectAccessReview and the like).
fn review_resource(review: &reviews::Review) -> APIResource {
    APIResource {
        name: review.resource.to_string(),
        singular_name: review.singular.to_string(),
        namespaced: review.namespaced,
        kind: review.kind.name().to_string(),
        verbs: vec![Verb::Create.as_str().to_string()],
        short_names: None,
        categories: None,
        group: None,
        version: None,
        storage_version_hash: None,
    }
}

/// `/api/v1` or `/apis/{group}/{version}`, if the group version is served.
pub fn resources(registry: &Registry, group: &str, version: &str) -> Option<APIResourceList> {
    let kinds = registry.kinds_in(group, version);
    let mut resources: Vec<APIResource> = reviews::reviews_in(group, version).map(review_resource).collect();
    if kinds.is_empty() && resources.is_empty() {
        return None;
    }
    for kind in kinds {
        resources.push(resource(kind));
        if kind.status_subresource {
            resources.push(status_resource(kind));
        }
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(APIResourceList { group_version, resources })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_v1_lists_deployments_and_their_status() {
        let list = resources(&Registry::default(), "apps", "v1").expect("served");
        assert_eq!(list.group_version, "apps/v1");
        let deploy = list.resources.iter().find(|r| r.name == "deployments").expect("deployments");
        assert!(deploy.namespaced);
        assert_eq!(deploy.short_names.as_deref(), Some(&["deploy".to_string()][..]));
        let status = list.resources.iter().find(|r| r.name == "deployments/status").expect("status");
        assert_eq!(status.verbs, vec!["get", "patch", "update"]);
    }

    #[test]
    fn apis_lists_named_groups_only() {
        let list = groups(&Registry::default());
        assert!(list.groups.iter().all(|g| !g.name.is_empty()));
        assert!(list.groups.iter().any(|g| g.name == "events.k8s.io"));
    }

    #[test]
    fn reviews_are_listed_create_only() {
        let list = resources(&Registry::default(), "authorization.k8s.io", "v1").expect("served");
        let local = list.resources.iter().find(|r| r.name == "localsubjectaccessreviews").expect("local");
        assert!(local.namespaced);
        assert_eq!(local.verbs, vec!["create"]);
        assert_eq!(list.resources.len(), 4);
        assert!(group(&Registry::default(), "authentication.k8s.io").is_some());
    }
}
