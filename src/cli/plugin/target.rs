//! What the verbs' arguments name: `finding/NAME`, `driftpolicy/NAME`, `kind/name`, and the
//! kinds the API server serves, resolved as kubectl resolves them (`configmap`,
//! `configmaps`, `cm`, `deployment.apps`, `deployments.v1.apps`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;

use super::PluginError;

/// One of driftwarden's kinds a verb takes by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnKind {
    Finding,
    DriftPolicy,
    ClusterDriftPolicy,
}

impl OwnKind {
    /// The kind named by `resource` (plural, singular or short name, with or without the
    /// group), if it is one of these.
    fn named(resource: &str) -> Option<Self> {
        let resource = resource.to_ascii_lowercase();
        let bare = resource.strip_suffix(".driftwarden.dev").unwrap_or(&resource);
        match bare {
            "finding" | "findings" | "fnd" => Some(Self::Finding),
            "driftpolicy" | "driftpolicies" | "dp" => Some(Self::DriftPolicy),
            "clusterdriftpolicy" | "clusterdriftpolicies" | "cdp" => Some(Self::ClusterDriftPolicy),
            _ => None,
        }
    }
}

/// A TARGET as written: `resource/name`, or a bare name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The resource as written (`configmap`, `deployment.apps`, `finding`), if any.
    pub resource: Option<String>,
    /// The object's name.
    pub name: String,
}

impl Reference {
    /// Reads `text`: `resource/name` or `name`.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let (resource, name) = match text.split_once('/') {
            Some((resource, name)) => (Some(resource), name),
            None => (None, text),
        };
        if name.is_empty() || name.contains('/') || resource.is_some_and(str::is_empty) {
            return Err(PluginError::Invalid(format!(
                "{text:?} is not a TARGET: write RESOURCE/NAME (such as configmap/settings or finding/web-1f2c) or NAME"
            )));
        }
        Ok(Self { resource: resource.map(str::to_string), name: name.to_string() })
    }

    /// Which of driftwarden's kinds it names: `Ok(None)` for a bare name.
    pub fn own_kind(&self) -> Result<Option<OwnKind>, PluginError> {
        match &self.resource {
            None => Ok(None),
            Some(resource) => OwnKind::named(resource).map(Some).ok_or_else(|| {
                PluginError::Invalid(format!(
                    "{resource}/{}: expected finding/NAME, driftpolicy/NAME or clusterdriftpolicy/NAME",
                    self.name
                ))
            }),
        }
    }

    /// Whether it names a Finding.
    pub fn is_finding(&self) -> bool {
        self.resource.as_deref().and_then(OwnKind::named) == Some(OwnKind::Finding)
    }
}

/// The name of the Finding `text` names: `NAME` or `finding/NAME`.
pub fn finding_name(text: &str) -> Result<String, PluginError> {
    let reference = Reference::parse(text)?;
    match reference.resource {
        None => Ok(reference.name),
        Some(_) if reference.is_finding() => Ok(reference.name),
        Some(resource) => {
            Err(PluginError::Invalid(format!("{text}: expected a Finding, as NAME or finding/NAME, not a {resource}")))
        }
    }
}

/// A kind the API server serves, from discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedKind {
    /// The API group; empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
}

impl ServedKind {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        match self.group.is_empty() {
            true => self.version.clone(),
            false => format!("{}/{}", self.group, self.version),
        }
    }

    /// Whether `name` (lower case) is one of its names: plural, singular, short names, or
    /// the kind.
    fn answers_to(&self, name: &str) -> bool {
        self.plural == name
            || self.singular == name
            || self.kind.eq_ignore_ascii_case(name)
            || self.short_names.iter().any(|s| s == name)
    }
}

/// Every kind the API server serves at its groups' preferred versions (subresources left
/// out), as kubectl's discovery reads them.
pub async fn served_kinds(client: &Client) -> Result<Vec<ServedKind>, PluginError> {
    let failed = |source| PluginError::Cluster { what: "cannot read the API server's discovery".into(), source };
    let mut kinds = Vec::new();
    let core = client.list_core_api_resources("v1").await.map_err(failed)?;
    add_kinds(&mut kinds, "", &core);
    for group in client.list_api_groups().await.map_err(failed)?.groups {
        let Some(version) = group.preferred_version.as_ref().or(group.versions.first()) else { continue };
        let resources = client.list_api_group_resources(&version.group_version).await.map_err(failed)?;
        add_kinds(&mut kinds, &group.name, &resources);
    }
    Ok(kinds)
}

fn add_kinds(kinds: &mut Vec<ServedKind>, group: &str, list: &APIResourceList) {
    let version = list.group_version.rsplit('/').next().unwrap_or_default().to_string();
    for resource in list.resources.iter().filter(|r| !r.name.contains('/')) {
        kinds.push(ServedKind {
            group: group.to_string(),
            version: version.clone(),
            kind: resource.kind.clone(),
            plural: resource.name.clone(),
            singular: match resource.singular_name.is_empty() {
                true => resource.kind.to_ascii_lowercase(),
                false => resource.singular_name.clone(),
            },
            short_names: resource.short_names.clone().unwrap_or_default(),
            namespaced: resource.namespaced,
        });
    }
}

/// The kind `resource` names, as kubectl finds it: a name (plural, singular, short name or
/// kind), optionally followed by `.group` or `.version.group`. A bare name served by
/// several groups means the core group's kind when there is one; otherwise it is ambiguous.
pub fn resolve<'a>(kinds: &'a [ServedKind], resource: &str) -> Result<&'a ServedKind, PluginError> {
    let wanted = resource.to_ascii_lowercase();
    let mut found: Vec<&ServedKind> = kinds.iter().filter(|k| k.answers_to(&wanted)).collect();
    if found.is_empty()
        && let Some((name, qualifier)) = wanted.split_once('.')
    {
        found = kinds
            .iter()
            .filter(|k| k.answers_to(name))
            .filter(|k| {
                k.group == qualifier
                    || qualifier
                        .split_once('.')
                        .is_some_and(|(version, group)| k.version == version && k.group == group)
            })
            .collect();
    }
    match found.as_slice() {
        [] => Err(PluginError::Invalid(format!(
            "the server does not serve a resource named {resource:?} (`kubectl api-resources` lists them)"
        ))),
        [one] => Ok(one),
        several => match several.iter().find(|k| k.group.is_empty()) {
            Some(core) => Ok(core),
            None => Err(PluginError::Invalid(format!(
                "{resource:?} is ambiguous: {}; name one as RESOURCE.GROUP",
                several.iter().map(|k| format!("{}.{}", k.plural, k.group)).collect::<Vec<_>>().join(", ")
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(group: &str, version: &str, kind: &str, plural: &str, short: &[&str], namespaced: bool) -> ServedKind {
        ServedKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            namespaced,
        }
    }

    fn served() -> Vec<ServedKind> {
        vec![
            kind("", "v1", "ConfigMap", "configmaps", &["cm"], true),
            kind("", "v1", "Event", "events", &["ev"], true),
            kind("", "v1", "Namespace", "namespaces", &["ns"], false),
            kind("apps", "v1", "Deployment", "deployments", &["deploy"], true),
            kind("events.k8s.io", "v1", "Event", "events", &["ev"], true),
            kind("example.dev", "v1", "Widget", "widgets", &[], true),
            kind("other.dev", "v1", "Widget", "widgets", &[], true),
        ]
    }

    #[test]
    fn kinds_resolve_as_kubectl_resolves_them() {
        let kinds = served();
        let api_version = |text: &str| resolve(&kinds, text).map(|k| format!("{} {}", k.api_version(), k.kind));
        for text in ["configmap", "configmaps", "cm", "ConfigMap", "CM"] {
            assert_eq!(api_version(text).unwrap(), "v1 ConfigMap", "{text}");
        }
        for text in ["deployment", "deploy", "deployments.apps", "deployment.apps", "deployment.v1.apps"] {
            assert_eq!(api_version(text).unwrap(), "apps/v1 Deployment", "{text}");
        }
        assert_eq!(api_version("events").unwrap(), "v1 Event", "the core group's, as kubectl");
        assert_eq!(api_version("events.events.k8s.io").unwrap(), "events.k8s.io/v1 Event");
        assert_eq!(api_version("widget.example.dev").unwrap(), "example.dev/v1 Widget");
        let ambiguous = api_version("widgets").unwrap_err().to_string();
        assert!(ambiguous.contains("widgets.example.dev, widgets.other.dev"), "{ambiguous}");
        let unknown = api_version("gizmo").unwrap_err();
        assert_eq!(unknown.exit_code(), 2);
        assert!(unknown.to_string().contains("kubectl api-resources"), "{unknown}");
        assert!(api_version("deployment.batch").is_err());
        assert!(!resolve(&kinds, "ns").unwrap().namespaced);
    }

    #[test]
    fn references_name_a_resource_and_an_object() {
        let reference = Reference::parse("configmap/settings").unwrap();
        assert_eq!(reference, Reference { resource: Some("configmap".into()), name: "settings".into() });
        assert!(!reference.is_finding());
        assert!(Reference::parse("finding/web-1").unwrap().is_finding());
        assert!(Reference::parse("findings.driftwarden.dev/web-1").unwrap().is_finding());
        for bad in ["", "/x", "configmap/", "a/b/c"] {
            assert_eq!(Reference::parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert_eq!(Reference::parse("web").unwrap().own_kind().unwrap(), None);
        assert_eq!(Reference::parse("dp/owners").unwrap().own_kind().unwrap(), Some(OwnKind::DriftPolicy));
        assert_eq!(
            Reference::parse("clusterdriftpolicies/x").unwrap().own_kind().unwrap(),
            Some(OwnKind::ClusterDriftPolicy)
        );
        assert!(Reference::parse("configmap/x").unwrap().own_kind().is_err());
        assert_eq!(finding_name("web-1").unwrap(), "web-1");
        assert_eq!(finding_name("fnd/web-1").unwrap(), "web-1");
        assert!(finding_name("driftpolicy/owners").unwrap_err().to_string().contains("expected a Finding"));
    }
}
