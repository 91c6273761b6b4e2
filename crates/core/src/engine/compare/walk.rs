//! The walk over a template and the live object beside it. One walk serves both the
//! comparison (drifts only) and the apply body (drifts plus, for every governed field,
//! the value to apply).
//!
//! The walk borrows both objects and keeps its path as borrowed steps: nothing is
//! allocated for a field that holds, apart from a body being built.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ignore::IgnoreTracker;
use super::managed_fields::ManagedFields;
use super::path::{self, Step, key_value};
use crate::api::RemediationClass;
use crate::engine::classify::classify;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::kind::{Kind, ObjectKind};
use crate::engine::normalize::defaults::{default_equals, default_for};
use crate::engine::normalize::equal::{Shape, deep_eq, is_void, present};
use crate::engine::normalize::scalar_eq;
use crate::engine::schema::{self, Field, ListType, Node, Scalar};
use crate::engine::secret;

/// Top-level fields that identify an object or are written by the API server: never
/// compared.
const UNGOVERNED_ROOT: [&str; 3] = ["apiVersion", "kind", "status"];

/// Metadata written by the API server or identifying the object: never compared.
const UNGOVERNED_METADATA: [&str; 11] = [
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

    /// A keyed list: each template item is matched with the live item of the same key.
    fn keyed(
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
    fn set(&mut self, field: Option<&'static Field>, template: &'a Value, live: Option<&'a Value>) -> Option<Value> {
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

    /// An atomic value: compared whole, after normalization.
    fn atomic(&mut self, shape: Shape, template: &'a Value, live: Option<&'a Value>) -> Option<Value> {
        if deep_eq(shape, Some(template), live) {
            self.hold(template, live)
        } else {
            self.drift(Cow::Borrowed(template), live)
        }
    }

    /// A template map or list where the live value is of another type: one drift for the
    /// whole value.
    fn mismatch(&mut self, field: Option<&'static Field>, template: &'a Value, live: &'a Value) -> Option<Value> {
        if template.is_null() {
            return None;
        }
        let desired = self.governed_copy(field, template);
        self.drift(Cow::Owned(desired), Some(live))
    }

    /// A governed field that holds. In a body it keeps the live value (the template's
    /// when the field is absent and holds by default; nothing when both are empty).
    fn hold(&mut self, template: &Value, live: Option<&'a Value>) -> Option<Value> {
        if !self.building() || (live.is_some() && self.owned_by_ignored_manager()) {
            return None;
        }
        match live {
            Some(live) => Some(live.clone()),
            // Holds by being empty where nothing is: nothing to apply.
            None if is_void(template) => None,
            None => Some(template.clone()),
        }
    }

    /// A governed field that does not hold: records the drift unless an ignored manager
    /// owns the live value. In a body it takes the desired value when the drift is fixed,
    /// else keeps the live value (absent stays absent).
    fn drift(&mut self, desired: Cow<'_, Value>, live: Option<&'a Value>) -> Option<Value> {
        if live.is_some() && self.owned_by_ignored_manager() {
            return None;
        }
        let tokens = path::tokens(&self.path);
        let refs: Vec<&str> = tokens.iter().map(|token| token.as_ref()).collect();
        let creating = self.live_root.is_none();
        let class = if creating {
            RemediationClass::Create
        } else {
            classify(&self.kind, self.live_root, &refs, &desired, live)
        };
        let attribution = if creating {
            None
        } else {
            let live_root = self.live_root;
            self.managed.get_or_insert_with(|| ManagedFields::of(live_root)).attribution(&self.path)
        };
        let (shown_desired, shown_live) = if self.kind.known == Kind::Secret {
            (secret::redact_at(&refs, &desired), live.map(|live| secret::redact_at(&refs, live)))
        } else {
            (desired.as_ref().clone(), live.cloned())
        };
        let drift =
            Drift { path: path::pointer_of(&tokens), desired: shown_desired, live: shown_live, class, attribution };
        let produced = self.fix.and_then(|fix| if fix(&drift) { Some(desired.into_owned()) } else { live.cloned() });
        self.drifts.push(drift);
        produced
    }

    fn owned_by_ignored_manager(&mut self) -> bool {
        if self.rules.ignore_managers.is_empty() {
            return false;
        }
        let live = self.live_root;
        let managed = self.managed.get_or_insert_with(|| ManagedFields::of(live));
        managed.owned_by_any(&self.path, &self.rules.ignore_managers)
    }

    /// The template value at the current path without its ignored parts, keyed items
    /// completed with their defaulted keys: the desired value of a missing item or of a
    /// value of the wrong type.
    fn governed_copy(&mut self, field: Option<&'static Field>, value: &'a Value) -> Value {
        match (field, value) {
            (Some(Field::Struct(node)), Value::Object(map)) if !node.atomic => self.governed_map(Some(node), None, map),
            (Some(Field::Map { atomic: false, values }), Value::Object(map)) => {
                self.governed_map(None, Some(*values), map)
            }
            (None, Value::Object(map)) => self.governed_map(None, None, map),
            (Some(Field::List { list_type: ListType::Map(keys), items: node }), Value::Array(items)) => {
                let mut copy = Vec::with_capacity(items.len());
                for item in items.iter().filter_map(Value::as_object) {
                    if self.enter(Step::Item { keys, item, node: *node }) {
                        copy.push(self.governed_item(keys, *node, item));
                        self.leave();
                    }
                }
                Value::Array(copy)
            }
            (Some(Field::List { list_type: ListType::Set, .. }), Value::Array(members)) => {
                let mut copy = Vec::with_capacity(members.len());
                for member in members {
                    if self.enter(Step::Member(member)) {
                        copy.push(member.clone());
                        self.leave();
                    }
                }
                Value::Array(copy)
            }
            _ => value.clone(),
        }
    }

    fn governed_map(
        &mut self,
        node: Option<&'static Node>,
        values: Option<Scalar>,
        map: &'a Map<String, Value>,
    ) -> Value {
        let mut copy = Map::new();
        for (key, value) in map {
            if !self.enter(Step::Field(key)) {
                continue;
            }
            let field = match values {
                Some(scalar) => Some(schema::scalar_field(scalar)),
                None => schema::child(node, key),
            };
            copy.insert(key.clone(), self.governed_copy(field, value));
            self.leave();
        }
        Value::Object(copy)
    }

    fn governed_item(
        &mut self,
        keys: &'static [&'static str],
        node: Option<&'static Node>,
        item: &'a Map<String, Value>,
    ) -> Value {
        match self.governed_map(node, None, item) {
            Value::Object(fragment) => with_keys(Value::Object(fragment), keys, node, item),
            other => other,
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

/// The live structure holding the field being compared.
#[derive(Clone, Copy, Debug)]
enum Live<'a> {
    /// It exists.
    Map(&'a Map<String, Value>),
    /// It is absent, but the API server creates it (with its defaults) when absent.
    Defaulted,
    /// It is absent and stays absent: none of its fields has a default.
    Absent,
}

impl<'a> Live<'a> {
    fn of(map: Option<&'a Map<String, Value>>) -> Self {
        map.map_or(Live::Absent, Live::Map)
    }

    fn get(self, key: &str) -> Option<&'a Value> {
        match self {
            Live::Map(map) => map.get(key),
            _ => None,
        }
    }

    /// Whether the server default of `key` in this structure (of shape `node`) is
    /// `value`.
    fn default_equals(self, node: Option<&Node>, key: &str, value: &Value, scalar: Scalar) -> bool {
        let Some(node) = node else { return false };
        match self {
            Live::Map(map) => default_equals(node.id, key, Some(map), value, scalar),
            Live::Defaulted => default_equals(node.id, key, None, value, scalar),
            Live::Absent => false,
        }
    }

    /// The server default of `key` in this structure (of shape `node`), if it has one.
    fn default_of(self, node: Option<&Node>, key: &str) -> Option<Value> {
        let node = node?;
        match self {
            Live::Map(map) => default_for(node.id, key, Some(map)),
            Live::Defaulted => default_for(node.id, key, None),
            Live::Absent => None,
        }
    }
}

/// The kind of the values of a map of scalars.
fn map_values(field: Option<&'static Field>) -> Option<Scalar> {
    match field {
        Some(Field::Map { values, .. }) => Some(*values),
        _ => None,
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
fn with_keys(fragment: Value, keys: &[&str], node: Option<&Node>, item: &Map<String, Value>) -> Value {
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
