//! Who is accountable for an asset: its own labels, then its namespace's, then the default.
//!
//! An asset nobody claims belongs to the team `unowned`. That never blocks anything: the
//! finding is opened, counted and fixed like any other, and the `unowned` team is itself a
//! finding for whoever runs the campaign.

use std::collections::BTreeMap;

use crate::api::Owner;

/// The accountable owner of an asset.
///
/// `label_keys` are read in order, first from the asset's labels and then from its
/// namespace's (`None` for a cluster-scoped asset); the first non-empty value names the team.
/// Without one, the owner is `default` (the campaign's or policy's), and without that,
/// [`Owner::unowned`].
pub fn resolve_owner(
    label_keys: &[String],
    asset_labels: &BTreeMap<String, String>,
    namespace_labels: Option<&BTreeMap<String, String>>,
    default: Option<&Owner>,
) -> Owner {
    team_label(label_keys, asset_labels)
        .or_else(|| namespace_labels.and_then(|labels| team_label(label_keys, labels)))
        .map(Owner::team)
        .or_else(|| default.cloned())
        .unwrap_or_else(Owner::unowned)
}

/// The accountable owner of an object as read (`None`: it does not exist, so only its
/// namespace and the default can name one): [`resolve_owner`] over its labels.
pub fn owner_of_object(
    label_keys: &[String],
    object: Option<&serde_json::Value>,
    namespace_labels: Option<&BTreeMap<String, String>>,
    default: Option<&Owner>,
) -> Owner {
    let labels: BTreeMap<String, String> = object
        .map(crate::engine::selector::labels_of)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve_owner(label_keys, &labels, namespace_labels, default)
}

/// The first non-empty value among `keys` in `labels`.
fn team_label<'a>(keys: &[String], labels: &'a BTreeMap<String, String>) -> Option<&'a str> {
    keys.iter().find_map(|key| labels.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::policy::default_owner_labels;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn asset_labels_win_in_key_order() {
        let keys = default_owner_labels();
        let asset = labels(&[("team", "web"), ("driftwarden.dev/owner", "payments")]);
        let namespace = labels(&[("driftwarden.dev/owner", "shop")]);
        let default = Owner::team("security");
        assert_eq!(resolve_owner(&keys, &asset, Some(&namespace), Some(&default)), Owner::team("payments"));
        let reversed: Vec<String> = keys.iter().rev().cloned().collect();
        assert_eq!(resolve_owner(&reversed, &asset, Some(&namespace), Some(&default)), Owner::team("web"));
    }

    #[test]
    fn an_object_is_owned_by_its_labels_and_a_missing_one_by_its_namespace_or_the_default() {
        let keys = default_owner_labels();
        let object = serde_json::json!({"metadata": {"labels": {"team": "web", "size": 3}}});
        let namespace = labels(&[("team", "shop")]);
        assert_eq!(owner_of_object(&keys, Some(&object), Some(&namespace), None), Owner::team("web"));
        assert_eq!(owner_of_object(&keys, None, Some(&namespace), None), Owner::team("shop"));
        assert_eq!(owner_of_object(&keys, None, None, None), Owner::unowned());
    }

    #[test]
    fn then_the_namespace_then_the_default() {
        let keys = default_owner_labels();
        let namespace = labels(&[("app.kubernetes.io/owner", "shop")]);
        let default = Owner { team: "security".to_string(), contact: Some("sec@example.com".to_string()) };
        let empty = labels(&[("team", " ")]);
        assert_eq!(resolve_owner(&keys, &empty, Some(&namespace), Some(&default)), Owner::team("shop"));
        assert_eq!(resolve_owner(&keys, &empty, None, Some(&default)), default);
        assert_eq!(resolve_owner(&keys, &empty, Some(&labels(&[("other", "x")])), Some(&default)), default);
    }

    #[test]
    fn nobody_claims_it_unowned() {
        let owner = resolve_owner(&default_owner_labels(), &BTreeMap::new(), None, None);
        assert!(owner.is_unowned());
        assert_eq!(resolve_owner(&[], &labels(&[("team", "web")]), None, None), Owner::unowned());
    }
}
