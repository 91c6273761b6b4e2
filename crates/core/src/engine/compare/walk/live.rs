//! The live structure beside the template value being compared, and the server defaults
//! it implies for a field the live object lacks.

use serde_json::{Map, Value};

use crate::engine::normalize::defaults::{default_equals, default_for};
use crate::engine::schema::{Node, Scalar};

/// The live structure holding the field being compared.
#[derive(Clone, Copy, Debug)]
pub(super) enum Live<'a> {
    /// It exists.
    Map(&'a Map<String, Value>),
    /// It is absent, but the API server creates it (with its defaults) when absent.
    Defaulted,
    /// It is absent and stays absent: none of its fields has a default.
    Absent,
}

impl<'a> Live<'a> {
    pub(super) fn of(map: Option<&'a Map<String, Value>>) -> Self {
        map.map_or(Live::Absent, Live::Map)
    }

    pub(super) fn get(self, key: &str) -> Option<&'a Value> {
        match self {
            Live::Map(map) => map.get(key),
            _ => None,
        }
    }

    /// Whether the server default of `key` in this structure (of shape `node`) is
    /// `value`.
    pub(super) fn default_equals(self, node: Option<&Node>, key: &str, value: &Value, scalar: Scalar) -> bool {
        let Some(node) = node else { return false };
        match self {
            Live::Map(map) => default_equals(node.id, key, Some(map), value, scalar),
            Live::Defaulted => default_equals(node.id, key, None, value, scalar),
            Live::Absent => false,
        }
    }

    /// The server default of `key` in this structure (of shape `node`), if it has one.
    pub(super) fn default_of(self, node: Option<&Node>, key: &str) -> Option<Value> {
        let node = node?;
        match self {
            Live::Map(map) => default_for(node.id, key, Some(map)),
            Live::Defaulted => default_for(node.id, key, None),
            Live::Absent => None,
        }
    }
}
