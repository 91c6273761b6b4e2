//! The path of the field being compared, kept as borrowed steps while walking and turned
//! into a JSON pointer only when a drift is found.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::engine::normalize::defaults::default_for;
use crate::engine::pointer;
use crate::engine::schema::Node;

/// One step from a value to one of its parts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    /// A field of a structure or a key of a map.
    Field(&'a str),
    /// An item of a keyed list, identified by the values of `keys` in `item` (or their
    /// defaults, from `node`: a container port without `protocol` is `TCP`).
    Item { keys: &'static [&'static str], item: &'a Map<String, Value>, node: Option<&'static Node> },
    /// A member of a set.
    Member(&'a Value),
}

impl<'a> Step<'a> {
    /// The unescaped reference token of this step: the field name, the item token
    /// (`containerPort=80,protocol=TCP`) or the member.
    pub(crate) fn token(&self) -> Cow<'a, str> {
        match self {
            Step::Field(name) => Cow::Borrowed(name),
            Step::Item { keys, item, node } => Cow::Owned(pointer::item_token(
                keys.iter()
                    .map(|key| (*key, key_value(item, *node, key).map_or_else(String::new, |v| scalar_text(&v)))),
            )),
            Step::Member(value) => Cow::Owned(scalar_text(value)),
        }
    }
}

/// The value of the key field `key` of a keyed-list item, defaulted when absent.
pub(crate) fn key_value<'v>(item: &'v Map<String, Value>, node: Option<&Node>, key: &str) -> Option<Cow<'v, Value>> {
    match item.get(key).filter(|value| !value.is_null()) {
        Some(value) => Some(Cow::Borrowed(value)),
        None => node.and_then(|node| default_for(node.id, key, Some(item))).map(Cow::Owned),
    }
}

/// A scalar as it appears in a path token: strings as they are, anything else as JSON.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The reference tokens of a path.
pub(crate) fn tokens<'a>(steps: &[Step<'a>]) -> Vec<Cow<'a, str>> {
    steps.iter().map(Step::token).collect()
}

/// The JSON pointer of a path given as its tokens.
pub(crate) fn pointer_of(tokens: &[Cow<'_, str>]) -> String {
    pointer::join(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kind::Kind;
    use crate::engine::schema::{Field, Position, resolve};
    use serde_json::json;

    #[test]
    fn item_tokens_use_defaulted_keys() {
        let Position::Field(Field::List { items, .. }) =
            resolve(Kind::Deployment, &["spec", "template", "spec", "containers", "*", "ports"])
        else {
            panic!("ports is a list")
        };
        let port = json!({"containerPort": 8080, "name": "http"});
        let step = Step::Item { keys: &["containerPort", "protocol"], item: port.as_object().unwrap(), node: *items };
        assert_eq!(step.token(), "containerPort=8080,protocol=TCP");
        let annotation = Step::Field("driftwarden.dev/enforce");
        let member = json!("example.com/cleanup");
        let path = [Step::Field("metadata"), annotation, Step::Member(&member)];
        assert_eq!(pointer_of(&tokens(&path)), "/metadata/driftwarden.dev~1enforce/example.com~1cleanup");
    }
}
