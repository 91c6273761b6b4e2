//! The accountable owner of an identity: label keys read on the object, then on its
//! namespace; `unowned` when neither says.

use std::collections::BTreeMap;

use crate::api::Owner;

/// The label keys read when none are configured.
pub const DEFAULT_OWNER_LABELS: [&str; 2] = ["driftwarden.dev/owner", "team"];

/// The owner named by the first of `keys` found on `labels`, then on `namespace_labels`;
/// [`Owner::unowned`] when none is. Empty values do not count.
pub fn resolve_owner(
    keys: &[String],
    labels: &BTreeMap<String, String>,
    namespace_labels: Option<&BTreeMap<String, String>>,
) -> Owner {
    let find = |labels: &BTreeMap<String, String>| {
        keys.iter().find_map(|key| labels.get(key).filter(|value| !value.is_empty()).cloned())
    };
    find(labels).or_else(|| namespace_labels.and_then(find)).map_or_else(Owner::unowned, Owner::team)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_object_wins_over_its_namespace_and_key_order_matters() {
        let keys = vec!["driftwarden.dev/owner".to_string(), "team".to_string()];
        let ns = labels(&[("team", "platform")]);
        assert_eq!(resolve_owner(&keys, &labels(&[("team", "shop")]), Some(&ns)).team, "shop");
        assert_eq!(
            resolve_owner(&keys, &labels(&[("team", "shop"), ("driftwarden.dev/owner", "payments")]), Some(&ns)).team,
            "payments"
        );
        assert_eq!(resolve_owner(&keys, &labels(&[("team", "")]), Some(&ns)).team, "platform");
        assert!(resolve_owner(&keys, &BTreeMap::new(), None).is_unowned());
    }
}
