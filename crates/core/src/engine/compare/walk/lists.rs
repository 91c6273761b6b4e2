//! Lists of the template: keyed lists, matched item by item by their merge keys, and
//! sets, member by member.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::Walker;
use super::live::Live;
use crate::engine::compare::path::{Step, key_value};
use crate::engine::normalize::defaults::default_equals;
use crate::engine::normalize::scalar_eq;
use crate::engine::schema::{Field, Node, Scalar};

impl<'a> Walker<'a, '_> {
    /// A keyed list: each template item is matched with the live item of the same key.
    pub(super) fn keyed(
        &mut self,
        field: Option<&'static Field>,
        keys: &'static [&'static str],
        node: Option<&'static Node>,
        template: &'a Value,
        live: Option<&'a Value>,
    ) -> Option<Value> {
        let live_items = match live {
            None => None,
            Some(Value::Array(items)) => Some(items),
            Some(other) => return self.mismatch(field, template, other),
        };
        let items = template.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut body = self.building().then(Vec::new);
        for item in items.iter().filter_map(Value::as_object) {
            let live_item = live_items.and_then(|items| {
                items.iter().filter_map(Value::as_object).find(|candidate| same_item(keys, node, item, candidate))
            });
            if !self.enter(Step::Item { keys, item, node }) {
                continue;
            }
            let produced = match live_item {
                Some(live_item) => self
                    .map(node, None, item, Live::Map(live_item))
                    .map(|fragment| with_keys(fragment, keys, node, item)),
                None => {
                    let desired = self.governed_item(keys, node, item);
                    self.drift(Cow::Owned(desired), None)
                }
            };
            self.leave();
            if let (Some(body), Some(produced)) = (body.as_mut(), produced) {
                body.push(produced);
            }
        }
        body.filter(|body| !body.is_empty()).map(Value::Array)
    }

    /// A set: each template member must be in the live list.
    pub(super) fn set(
        &mut self,
        field: Option<&'static Field>,
        template: &'a Value,
        live: Option<&'a Value>,
    ) -> Option<Value> {
        let live_members: &[Value] = match live {
            None => &[],
            Some(Value::Array(members)) => members,
            Some(other) => return self.mismatch(field, template, other),
        };
        let members = template.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut body = self.building().then(Vec::new);
        for member in members {
            if !self.enter(Step::Member(member)) {
                continue;
            }
            let produced = match live_members.iter().find(|live| scalar_eq(Scalar::Plain, member, live)) {
                Some(live) => self.hold(member, Some(live)),
                None => self.drift(Cow::Borrowed(member), None),
            };
            self.leave();
            if let (Some(body), Some(produced)) = (body.as_mut(), produced) {
                body.push(produced);
            }
        }
        body.filter(|body| !body.is_empty()).map(Value::Array)
    }
}

/// Whether a template item and a live item have the same merge key (absent key fields
/// take their defaults). Allocates nothing.
fn same_item(keys: &[&str], node: Option<&Node>, template: &Map<String, Value>, live: &Map<String, Value>) -> bool {
    fn present<'m>(item: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
        item.get(key).filter(|value| !value.is_null())
    }
    keys.iter().all(|key| match (present(template, key), present(live, key)) {
        (Some(a), Some(b)) => scalar_eq(Scalar::Plain, a, b),
        (None, None) => true,
        (Some(value), None) => node.is_some_and(|node| default_equals(node.id, key, Some(live), value, Scalar::Plain)),
        (None, Some(value)) => {
            node.is_some_and(|node| default_equals(node.id, key, Some(template), value, Scalar::Plain))
        }
    })
}

/// A body fragment of a keyed item, with every key field set (server-side apply needs
/// them; defaulted keys such as a port's `protocol` are spelled out).
pub(super) fn with_keys(fragment: Value, keys: &[&str], node: Option<&Node>, item: &Map<String, Value>) -> Value {
    let Value::Object(mut fragment) = fragment else { return fragment };
    for key in keys {
        if !fragment.contains_key(*key)
            && let Some(value) = key_value(item, node, key)
        {
            fragment.insert((*key).to_string(), value.into_owned());
        }
    }
    Value::Object(fragment)
}
