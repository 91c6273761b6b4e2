//! Which resource types are served right now: the built-ins plus whatever the stored
//! CustomResourceDefinitions define.

use std::collections::BTreeMap;

use super::builtin::builtin_kinds;
use super::kind::{GroupResource, ResourceKind};
use super::version::compare_versions;

/// A group and the versions it serves, the preferred version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersions {
    /// The group name; empty for the core group.
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
}

/// The served resource types.
#[derive(Debug, Clone)]
pub struct Registry {
    builtin: Vec<ResourceKind>,
    custom: BTreeMap<String, Vec<ResourceKind>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { builtin: builtin_kinds(), custom: BTreeMap::new() }
    }
}

impl Registry {
    /// Every served kind, built-ins first (they win over a CRD that claims the same names).
    pub fn kinds(&self) -> impl Iterator<Item = &ResourceKind> {
        self.builtin.iter().chain(self.custom.values().flatten())
    }

    /// The kind served at `group/version/resource`.
    pub fn find(&self, group: &str, version: &str, resource: &str) -> Option<&ResourceKind> {
        self.kinds().find(|k| k.group == group && k.version == version && k.resource == resource)
    }

    /// Some served version of a group and resource (the preferred one).
    pub fn find_preferred(&self, gr: &GroupResource) -> Option<&ResourceKind> {
        self.kinds()
            .filter(|k| k.group == gr.group && k.resource == gr.resource)
            .min_by(|a, b| compare_versions(&a.version, &b.version))
    }

    /// Whether any version of the group and resource is served.
    pub fn serves(&self, gr: &GroupResource) -> bool {
        self.find_preferred(gr).is_some()
    }

    /// The kinds served in one group version.
    pub fn kinds_in(&self, group: &str, version: &str) -> Vec<&ResourceKind> {
        self.kinds().filter(|k| k.group == group && k.version == version).collect()
    }

    /// The served groups in discovery order (built-in groups in table order, then custom
    /// groups alphabetically), each with its versions, preferred first.
    pub fn groups(&self) -> Vec<GroupVersions> {
        let mut groups: Vec<GroupVersions> = Vec::new();
        let mut custom_groups: Vec<&ResourceKind> = self.custom.values().flatten().collect();
        custom_groups.sort_by(|a, b| a.group.cmp(&b.group));
        for kind in self.builtin.iter().chain(custom_groups) {
            match groups.iter_mut().find(|g| g.group == kind.group) {
                Some(g) => {
                    if !g.versions.contains(&kind.version) {
                        g.versions.push(kind.version.clone());
                    }
                }
                None => groups.push(GroupVersions { group: kind.group.clone(), versions: vec![kind.version.clone()] }),
            }
        }
        for g in &mut groups {
            g.versions.sort_by(|a, b| compare_versions(a, b));
        }
        groups
    }

    /// Serves the kinds of the CustomResourceDefinition `crd_name` (replacing what it served before).
    pub fn set_crd(&mut self, crd_name: &str, kinds: Vec<ResourceKind>) {
        self.custom.insert(crd_name.to_string(), kinds);
    }

    /// Stops serving the kinds of the CustomResourceDefinition `crd_name`.
    pub fn remove_crd(&mut self, crd_name: &str) {
        self.custom.remove(crd_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_comes_first_and_apps_is_served() {
        let registry = Registry::default();
        let groups = registry.groups();
        assert_eq!(groups[0].group, "");
        assert!(groups.iter().any(|g| g.group == "apps" && g.versions == vec!["v1".to_string()]));
        assert!(registry.find("apps", "v1", "deployments").is_some_and(|k| k.kind == "Deployment"));
        assert!(registry.find("apps", "v1beta1", "deployments").is_none());
    }
}
