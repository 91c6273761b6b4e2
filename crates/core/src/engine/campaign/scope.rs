//! Which assets a campaign covers: its `scope` (namespaces, namespace and asset label
//! selectors, exclusions).

use std::collections::BTreeMap;

use crate::api::campaign::CampaignScope;
use crate::engine::selector::selector_matches;
use crate::keys::ObjectKey;

/// Whether `scope` selects the asset `key` with `labels`, in a namespace with
/// `namespace_labels`.
pub fn in_scope(
    scope: &CampaignScope,
    key: &ObjectKey,
    labels: &BTreeMap<String, String>,
    namespace_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let namespace = key.namespace.as_deref();
    if !scope.namespaces.is_empty() && !namespace.is_some_and(|ns| scope.namespaces.iter().any(|n| n == ns)) {
        return false;
    }
    fn as_refs(map: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
        map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    if let Some(selector) = &scope.namespace_selector {
        let Some(namespace_labels) = namespace_labels else { return false };
        if !selector_matches(selector, &as_refs(namespace_labels)).unwrap_or(false) {
            return false;
        }
    }
    if let Some(selector) = &scope.selector
        && !selector_matches(selector, &as_refs(labels)).unwrap_or(false)
    {
        return false;
    }
    !scope.exclude.iter().any(|exclusion| {
        exclusion.namespace.as_deref().is_none_or(|ns| namespace == Some(ns))
            && exclusion.name.as_deref().is_none_or(|name| name == key.name)
            && exclusion.kind.as_deref().is_none_or(|kind| kind == key.kind.kind)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::campaign::Exclusion;
    use crate::keys::KindKey;

    fn key(ns: Option<&str>, kind: &str, name: &str) -> ObjectKey {
        ObjectKey { kind: KindKey::new("v1", kind), namespace: ns.map(str::to_string), name: name.to_string() }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn scope_selects_by_namespace_labels_and_exclusions() {
        let scope: CampaignScope = serde_json::from_value(json!({
            "namespaces": ["shop", "pay"],
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "selector": {"matchLabels": {"tier": "web"}},
            "exclude": [{"namespace": "pay", "name": "legacy"}]
        }))
        .unwrap();
        let web = labels(&[("tier", "web")]);
        let prod = labels(&[("env", "prod")]);
        assert!(in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &web, Some(&prod)));
        assert!(!in_scope(&scope, &key(Some("other"), "ConfigMap", "a"), &web, Some(&prod)), "namespace list");
        assert!(!in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &web, Some(&labels(&[]))), "namespace labels");
        assert!(!in_scope(&scope, &key(Some("shop"), "ConfigMap", "a"), &labels(&[]), Some(&prod)), "asset labels");
        assert!(!in_scope(&scope, &key(Some("pay"), "ConfigMap", "legacy"), &web, Some(&prod)), "excluded");
        assert!(in_scope(&scope, &key(Some("pay"), "ConfigMap", "new"), &web, Some(&prod)));
        let by_kind = CampaignScope {
            exclude: vec![Exclusion { kind: Some("Secret".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(!in_scope(&by_kind, &key(None, "Secret", "x"), &labels(&[]), None));
        assert!(in_scope(&CampaignScope::default(), &key(None, "Namespace", "x"), &labels(&[]), None));
    }
}
