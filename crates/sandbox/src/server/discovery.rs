//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}` and the
//! APIResourceList of each group version.

use std::net::SocketAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use k8s_openapi::apimachinery::pkg::version::Info;

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

/// `/apis`
pub fn groups(registry: &Registry) -> APIGroupList {
    APIGroupList { groups: registry.groups().iter().filter(|g| !g.group.is_empty()).map(api_group).collect() }
}

/// `/apis/{group}`, if the group is served.
pub fn group(registry: &Registry, name: &str) -> Option<APIGroup> {
    registry.groups().iter().find(|g| !g.group.is_empty() && g.group == name).map(api_group)
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

/// `/api/v1` or `/apis/{group}/{version}`, if the group version is served.
pub fn resources(registry: &Registry, group: &str, version: &str) -> Option<APIResourceList> {
    let kinds = registry.kinds_in(group, version);
    if kinds.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
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
}
