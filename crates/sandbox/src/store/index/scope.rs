//! The part of a resource's objects a list, watch or deletecollection reads, as a range of
//! the namespace-and-name order rather than a filter over every object.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::store::key::ObjectName;

/// One namespace or all of them, from the start or after a name (the last one the
/// previous page of a list returned).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The namespace; `None` for every namespace (and for cluster-scoped objects).
    pub namespace: Option<&'a str>,
    /// Start after this name.
    pub after: Option<&'a ObjectName>,
}

impl Scope<'_> {
    /// Where the scope starts, or `None` when it is empty: a cursor already past its
    /// namespace.
    fn start(&self) -> Option<Bound<ObjectName>> {
        let first_of = |namespace: &str| ObjectName { namespace: namespace.to_string(), name: String::new() };
        match (self.namespace, self.after) {
            (None, None) => Some(Bound::Unbounded),
            (None, Some(after)) => Some(Bound::Excluded(after.clone())),
            (Some(namespace), None) => Some(Bound::Included(first_of(namespace))),
            (Some(namespace), Some(after)) => match after.namespace.as_str().cmp(namespace) {
                Ordering::Less => Some(Bound::Included(first_of(namespace))),
                Ordering::Equal => Some(Bound::Excluded(after.clone())),
                Ordering::Greater => None,
            },
        }
    }

    /// The entries of `map` in the scope, in order.
    pub fn entries<'m, V>(
        &self,
        map: &'m BTreeMap<ObjectName, V>,
    ) -> impl Iterator<Item = (&'m ObjectName, &'m V)> + use<'m, V> {
        let namespace = self.namespace.map(str::to_string);
        self.start()
            .into_iter()
            .flat_map(move |start| map.range((start, Bound::Unbounded)))
            .take_while(move |(name, _)| namespace.as_deref().is_none_or(|ns| name.namespace == ns))
    }

    /// The names of `set` in the scope, in order.
    pub fn names<'m>(&self, set: &'m BTreeSet<ObjectName>) -> impl Iterator<Item = &'m ObjectName> + use<'m> {
        let namespace = self.namespace.map(str::to_string);
        self.start()
            .into_iter()
            .flat_map(move |start| set.range((start, Bound::Unbounded)))
            .take_while(move |name| namespace.as_deref().is_none_or(|ns| name.namespace == ns))
    }
}
