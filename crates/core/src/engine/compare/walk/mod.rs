//! The walk over a template and the live object beside it. One walk serves both the
//! comparison (drifts only) and the apply body (drifts plus, for every governed field,
//! the value to apply).
//!
//! The walk borrows both objects and keeps its path as borrowed steps: nothing is
//! allocated for a field that holds, apart from a body being built.
//!
//! This module walks the object, its metadata, Secret data, maps and values; beside it:
//! - [`lists`]: keyed lists (item by item) and sets (member by member);
//! - [`outcome`]: what happens at a governed field: it holds or it drifts;
//! - [`governed`]: the desired value of a missing item or of a value of the wrong type;
//! - [`live`]: the live structure beside a value, and the server defaults it implies.

mod governed;
mod lists;
mod live;
mod outcome;

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ignore::IgnoreTracker;
use super::managed_fields::ManagedFields;
use super::path::Step;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::kind::{Kind, ObjectKind};
use crate::engine::normalize::equal::{Shape, deep_eq, is_void, present};
use crate::engine::normalize::scalar_eq;
use crate::engine::schema::{self, Field, ListType, Node, Scalar};
use crate::engine::secret;
use live::Live;

/// Top-level fields that identify an object or are written by the API server: never
/// compared.
pub(crate) const UNGOVERNED_ROOT: [&str; 3] = ["apiVersion", "kind", "status"];

/// Metadata written by the API server or identifying the object: never compared.
pub(crate) const UNGOVERNED_METADATA: [&str; 11] = [
    "name",
    "namespace",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Decides, for an apply body, whether a drift is fixed.
pub(crate) type Fix<'r> = &'r dyn Fn(&Drift) -> bool;

/// The state of one walk.
pub(crate) struct Walker<'a, 'r> {
    kind: ObjectKind<'a>,
    rules: &'r CompareRules,
    live_root: Option<&'a Value>,
    managed: Option<ManagedFields<'a>>,
    path: Vec<Step<'a>>,
    ignore: IgnoreTracker<'r>,
    /// Set when building an apply body.
    fix: Option<Fix<'r>>,
    drifts: Vec<Drift>,
}

/// What a walk found: the drifts, and the apply body when one was asked for.
pub(crate) struct Walked {
    pub drifts: Vec<Drift>,
    pub body: Option<Map<String, Value>>,
}

/// Walks `template` over `live` (`None`: the object does not exist, every drift is
/// `Create`). With `fix`, also builds the governed fields of an apply body.
pub(crate) fn walk<'a>(
    live: Option<&'a Value>,
    template: &'a Value,
    rules: &CompareRules,
    fix: Option<Fix<'_>>,
) -> Walked {
    let kind = ObjectKind::of(template).or_else(|| live.and_then(ObjectKind::of)).unwrap_or_default();
    let mut walker = Walker {
        kind,
        rules,
        live_root: live,
        managed: None,
        path: Vec::with_capacity(16),
        ignore: IgnoreTracker::new(&rules.ignore_paths),
        fix,
        drifts: Vec::new(),
    };
    let body = match template {
        Value::Object(template) => walker.root(template, live.and_then(Value::as_object)),
        other => match walker.atomic(Shape::Unknown, other, live) {
            Some(Value::Object(body)) => Some(body),
            _ => None,
        },
    };
    Walked { drifts: walker.drifts, body }
}

impl<'a> Walker<'a, '_> {
    fn building(&self) -> bool {
        self.fix.is_some()
    }

    fn root(
        &mut self,
        template: &'a Map<String, Value>,
        live: Option<&'a Map<String, Value>>,
    ) -> Option<Map<String, Value>> {
        let node = schema::root(self.kind.known);
        let secret_data = self.kind.known == Kind::Secret
            && (template.get("data").is_some_and(Value::is_object)
                || template.get("stringData").is_some_and(Value::is_object));
        let mut body = self.building().then(Map::new);
        for (key, value) in template {
            if UNGOVERNED_ROOT.contains(&key.as_str()) || (secret_data && (key == "data" || key == "stringData")) {
                continue;
            }
            let produced = if key == "metadata" && value.is_object() {
                self.metadata(node, value, live)
            } else {
                self.field(Some(node), None, key, value, Live::of(live))
            };
            if let (Some(body), Some(produced)) = (body.as_mut(), produced) {
                body.insert(key.clone(), produced);
            }
        }
        if secret_data
            && let Some(data) = self.secret_data(template, live)
            && let Some(body) = body.as_mut()
        {
            body.insert("data".to_string(), data);
        }
        body
    }

    fn metadata(
        &mut self,
        root: &'static Node,
        template: &'a Value,
        live: Option<&'a Map<String, Value>>,
    ) -> Option<Value> {
        let Value::Object(template) = template else { return None };
        if !self.enter(Step::Field("metadata")) {
            return None;
        }
        let node = schema::node_of(root.child("metadata"));
        let live = live.and_then(|live| live.get("metadata")).and_then(Value::as_object);
        let mut body = self.building().then(Map::new);
        for (key, value) in template {
            if UNGOVERNED_METADATA.contains(&key.as_str()) {
                continue;
            }
            if let (Some(body), Some(produced)) = (body.as_mut(), self.field(node, None, key, value, Live::of(live))) {
                body.insert(key.clone(), produced);
            }
        }
        self.leave();
        body.filter(|body| !body.is_empty()).map(Value::Object)
    }

    /// Compares the secret `data` of a Secret template (with `stringData` folded in) by
    /// content.
    fn secret_data(&mut self, template: &'a Map<String, Value>, live: Option<&'a Map<String, Value>>) -> Option<Value> {
        let entries = secret::fold_template(
            template.get("data").and_then(Value::as_object),
            template.get("stringData").and_then(Value::as_object),
        );
        if !self.enter(Step::Field("data")) {
            return None;
        }
        let live_data = live.and_then(|live| live.get("data")).and_then(Value::as_object);
        let mut body = self.building().then(Map::new);
        for entry in entries {
            if !self.enter(Step::Field(entry.key)) {
                continue;
            }
            let live_value = live_data.and_then(|data| data.get(entry.key)).filter(|value| !value.is_null());
            let holds = match (&entry.bytes, live_value) {
                (None, None) => true,
                (Some(bytes), Some(live_value)) => secret::live_bytes(live_value).as_ref() == Some(bytes),
                _ => false,
            };
            let produced = match (holds, entry.bytes.is_some()) {
                (true, false) => None,
                (true, true) => self.hold(&entry.value, live_value),
                (false, _) => self.drift(Cow::Owned(entry.value), live_value),
            };
            self.leave();
            if let (Some(body), Some(produced)) = (body.as_mut(), produced) {
                body.insert(entry.key.to_string(), produced);
            }
        }
        self.leave();
        body.filter(|body| !body.is_empty()).map(Value::Object)
    }

    /// Steps into `key` of a structure (`node`) or of a map of scalars (`values`), and
    /// compares the template's value there with the live one.
    fn field(
        &mut self,
        node: Option<&'static Node>,
        values: Option<Scalar>,
        key: &'a str,
        template: &'a Value,
        live: Live<'a>,
    ) -> Option<Value> {
        self.field_with(node, values, key, template, live.get(key), live)
    }

    /// [`Walker::field`] with the live value of `key` already looked up.
    fn field_with(
        &mut self,
        node: Option<&'static Node>,
        values: Option<Scalar>,
        key: &'a str,
        template: &'a Value,
        live_value: Option<&'a Value>,
        live: Live<'a>,
    ) -> Option<Value> {
        if !self.enter(Step::Field(key)) {
            return None;
        }
        let field = match values {
            Some(scalar) => Some(schema::scalar_field(scalar)),
            None => schema::child(node, key),
        };
        let produced = self.value(field, node, key, template, live_value, live);
        self.leave();
        produced
    }

    /// Compares a template value with the live value at the current path. `parent` and
    /// `live_parent` are the structure holding it, for defaults: a field absent from the
    /// live object holds its server default only where the structure holding it exists
    /// or would be created by defaulting itself.
    fn value(
        &mut self,
        field: Option<&'static Field>,
        parent: Option<&'static Node>,
        key: &str,
        template: &'a Value,
        live: Option<&'a Value>,
        live_parent: Live<'a>,
    ) -> Option<Value> {
        let live = live.filter(|live| !live.is_null());
        match template {
            // Must be absent: a field the API server defaults is never absent. A boolean
            // whose default is `false` is the exception: absent is its zero value.
            Value::Null => match present(live) {
                Some(live) => self.drift(Cow::Borrowed(template), Some(live)),
                None if live_parent
                    .default_of(parent, key)
                    .is_some_and(|value| !is_void(&value) && value != Value::Bool(false)) =>
                {
                    self.drift(Cow::Borrowed(template), None)
                }
                None => None,
            },
            // An empty member of a one-of still selects it.
            Value::Object(map) if map.is_empty() && live.is_none() && parent.is_some_and(|parent| parent.one_of) => {
                self.drift(Cow::Borrowed(template), None)
            }
            Value::Object(map) => match field {
                Some(Field::Struct(node)) if node.atomic => self.atomic(Shape::Node(node), template, live),
                Some(Field::Map { atomic: true, values }) => self.atomic(Shape::Scalars(*values), template, live),
                _ => match live {
                    None => {
                        let defaulted = live_parent.default_of(parent, key).is_some_and(|value| value.is_object());
                        let live = if defaulted { Live::Defaulted } else { Live::Absent };
                        self.map(schema::node_of(field), map_values(field), map, live)
                    }
                    Some(Value::Object(live)) => {
                        self.map(schema::node_of(field), map_values(field), map, Live::Map(live))
                    }
                    Some(other) => self.mismatch(field, template, other),
                },
            },
            Value::Array(items) => match field {
                Some(Field::List { list_type: ListType::Map(keys), items: node })
                    if items.iter().all(Value::is_object) =>
                {
                    self.keyed(field, keys, *node, template, live)
                }
                Some(Field::List { list_type: ListType::Set, .. })
                    if items.iter().all(|item| !item.is_object() && !item.is_array()) =>
                {
                    self.set(field, template, live)
                }
                _ => self.atomic(Shape::of(field), template, live),
            },
            scalar => {
                let kind = schema::scalar_of(field);
                let holds = match live {
                    Some(live) => scalar_eq(kind, scalar, live),
                    None => live_parent.default_equals(parent, key, scalar, kind),
                };
                if holds { self.hold(scalar, live) } else { self.drift(Cow::Borrowed(scalar), live) }
            }
        }
    }

    /// A granular structure (`node`) or map of scalars (`values`): each field of the
    /// template on its own.
    fn map(
        &mut self,
        node: Option<&'static Node>,
        values: Option<Scalar>,
        template: &'a Map<String, Value>,
        live: Live<'a>,
    ) -> Option<Value> {
        let mut body = self.building().then(Map::new);
        // Both maps are sorted by key: walk them together rather than searching the live
        // map for each template key.
        let mut live_entries = match live {
            Live::Map(map) => Some(map.iter().peekable()),
            _ => None,
        };
        for (key, value) in template {
            let live_value = live_entries.as_mut().and_then(|entries| {
                while let Some((live_key, live_value)) = entries.peek() {
                    match live_key.as_str().cmp(key.as_str()) {
                        std::cmp::Ordering::Less => entries.next(),
                        std::cmp::Ordering::Equal => return Some(*live_value),
                        std::cmp::Ordering::Greater => return None,
                    };
                }
                None
            });
            if let (Some(body), Some(produced)) =
                (body.as_mut(), self.field_with(node, values, key, value, live_value, live))
            {
                body.insert(key.clone(), produced);
            }
        }
        body.filter(|body| !body.is_empty()).map(Value::Object)
    }

    /// An atomic value: compared whole, after normalization.
    fn atomic(&mut self, shape: Shape, template: &'a Value, live: Option<&'a Value>) -> Option<Value> {
        if deep_eq(shape, Some(template), live) {
            self.hold(template, live)
        } else {
            self.drift(Cow::Borrowed(template), live)
        }
    }

    fn enter(&mut self, step: Step<'a>) -> bool {
        if !self.ignore.enter(self.path.len(), || step.token()) {
            return false;
        }
        self.path.push(step);
        true
    }

    fn leave(&mut self) {
        self.path.pop();
        self.ignore.leave();
    }
}

/// The kind of the values of a map of scalars.
fn map_values(field: Option<&'static Field>) -> Option<Scalar> {
    match field {
        Some(Field::Map { values, .. }) => Some(*values),
        _ => None,
    }
}
