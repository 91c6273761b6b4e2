//! Target `compare_objects`: a live object and a template, compared and normalized as the
//! operator and `check` compare every governed object.

use serde_json::Value;

use super::json;
use crate::api::RemediationClass;
use crate::engine::drift::{CompareRules, Drift};
use crate::engine::kind::ObjectKind;
use crate::engine::merge_keys::{ListType, list_type};
use crate::engine::normalize::{defaults, normalize};
use crate::engine::pointer::PathPattern;
use crate::engine::schema::{self, Field, Node};
use crate::engine::{apply_body, compare, missing};

/// Fuzz entry point: `data` is a JSON object `{"live": …, "template": …, "ignorePaths":
/// […], "ignoreManagers": […]}`; without `live`, the whole value is the live object, and
/// without `template`, the live object is its own template. The template takes the live
/// object's `apiVersion` and `kind`, as a compiled policy's templates name the kind of the
/// objects they are compared with. Invariants, besides not panicking:
/// - an object as stored (no null fields, no Secret `stringData`, each key of a keyed
///   list and each value of a set once) compared with itself, or its normalized copy
///   compared with it, has no drift;
/// - normalizing is idempotent, for live objects and templates alike;
/// - normalizing the live object first changes no comparison (without ignore rules), when
///   the live object and the template are well typed (a field the engine describes as a
///   structure, list, map or scalar holds one): a default filled in under a field the
///   template spells with another type moves where the drift is reported, and the API
///   server stores no such object;
/// - ignore rules only remove drifts, never add one;
/// - the drift of a missing object is one `Create` drift at the empty path.
///
/// Bytes that are not JSON are ignored.
pub fn compare_objects(data: &[u8]) {
    let Some(input) = json(data) else { return };
    let live = input.get("live").unwrap_or(&input);
    let template = &of_kind(input.get("template").unwrap_or(live), live);
    let rules = rules(&input);
    let none = CompareRules::new(super::fingerprint_key());

    // An object as the API server stores it: a null in a template demands absence, which
    // a defaulted field never shows, and a Secret's write-only stringData is folded into
    // its data; a stored object has neither.
    let stored = stored(live);
    // Keys are read as the engine reads them, with their defaults (a Service port's
    // protocol is TCP when absent).
    if keys_unique(&normalize(&stored)) {
        assert_eq!(compare(&stored, &stored, &none), vec![], "an object complies with itself");
        assert_eq!(compare(&normalize(&stored), &stored, &none), vec![], "a normalized object complies with itself");
    }
    let normalized = normalize(live);
    assert_eq!(normalize(&normalized), normalized, "normalizing live objects is idempotent");
    let template_once = normalize(template);
    assert_eq!(normalize(&template_once), template_once, "normalizing templates is idempotent");

    // Without rules: a manager's ownership is read from the live object as it is, so a
    // field the API server would have defaulted is owned only once it is filled in.
    if well_typed(live) && well_typed(template) {
        assert_eq!(
            paths_and_classes(&compare(live, template, &none)),
            paths_and_classes(&compare(&normalized, template, &none)),
            "normalizing the live object changes no comparison"
        );
    }
    let drifts = compare(live, template, &rules);
    let unfiltered = paths_and_classes(&compare(live, template, &none));
    for drift in paths_and_classes(&drifts) {
        assert!(unfiltered.contains(&drift), "ignore rules added the drift {drift:?}");
    }

    let _ = apply_body(Some(live), template, &rules, &|_| true);
    let _ = apply_body(Some(live), template, &rules, &|drift| drift.class == RemediationClass::Metadata);
    let _ = apply_body(None, template, &rules, &|_| true);
    let created = missing(template, &rules);
    assert_eq!((created.path.as_str(), created.class), ("", RemediationClass::Create), "a missing object");
}

/// `live` as a stored object could be: no null fields, no Secret `stringData`.
fn stored(live: &Value) -> Value {
    let mut stored = without_nulls(live);
    if live.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Value::Object(fields) = &mut stored
    {
        fields.remove("stringData");
    }
    stored
}

/// Whether every keyed list of `object` holds each key once and every set each value once,
/// as the API server requires of an object it stores (two items of one key are refused;
/// the comparison matches an item by its key, so it cannot tell them apart).
fn keys_unique(object: &Value) -> bool {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    unique_below(object, &mut Vec::new(), group, kind)
}

fn unique_below(value: &Value, path: &mut Vec<String>, group: &str, kind: &str) -> bool {
    let below = |path: &mut Vec<String>, token: &str, value: &Value| {
        path.push(token.to_string());
        let unique = unique_below(value, path, group, kind);
        path.pop();
        unique
    };
    match value {
        Value::Object(fields) => fields.iter().all(|(name, field)| below(path, name, field)),
        Value::Array(items) => {
            let mut seen = std::collections::HashSet::new();
            let unique = match list_type(group, kind, path) {
                ListType::Atomic => true,
                ListType::Set => items.iter().all(|item| seen.insert(item.to_string())),
                ListType::Map(keys) => items.iter().all(|item| {
                    let key: Vec<String> =
                        keys.iter().map(|k| item.get(*k).map_or_else(String::new, Value::to_string)).collect();
                    seen.insert(key.join("\u{0}"))
                }),
            };
            unique && items.iter().all(|item| below(path, "*", item))
        }
        _ => true,
    }
}

/// Whether every field of `object` that the engine's schema describes holds the JSON type
/// the schema gives it, and every field the API server defaults holds the type of its
/// default (null stands for absent, and is always allowed).
fn well_typed(object: &Value) -> bool {
    let known = ObjectKind::of(object).map(|kind| kind.known).unwrap_or_default();
    match object {
        Value::Object(fields) => struct_typed(schema::root(known), fields),
        _ => true,
    }
}

fn struct_typed(node: &'static Node, fields: &serde_json::Map<String, Value>) -> bool {
    fields.iter().all(|(name, value)| field_typed(node.child(name), value) && default_typed(node, fields, name, value))
}

/// Whether `value`, at `name` among `fields`, has the JSON type of the default the API
/// server would fill in were it absent (or has no default there).
fn default_typed(node: &'static Node, fields: &serde_json::Map<String, Value>, name: &str, value: &Value) -> bool {
    let mut without = fields.clone();
    without.remove(name);
    defaults::fill(node.id, &mut without);
    let shape = |value: &Value| (value.is_object(), value.is_array());
    without.get(name).is_none_or(|default| value.is_null() || shape(default) == shape(value))
}

fn field_typed(field: Option<&'static Field>, value: &Value) -> bool {
    let scalar = |value: &Value| !value.is_object() && !value.is_array();
    match (field, value) {
        (None, _) | (_, Value::Null) => true,
        (Some(Field::Struct(node)), Value::Object(fields)) => struct_typed(node, fields),
        (Some(Field::List { items, .. }), Value::Array(list)) => list.iter().all(|item| match (items, item) {
            (None, _) | (_, Value::Null) => true,
            (Some(node), Value::Object(fields)) => struct_typed(node, fields),
            (Some(_), _) => false,
        }),
        (Some(Field::Map { .. }), Value::Object(entries)) => entries.values().all(scalar),
        (Some(Field::Scalar(_)), value) => scalar(value),
        (Some(_), _) => false,
    }
}

/// `value` without the object fields that are null, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// `template` naming the `apiVersion` and `kind` of `live` (when `live` names them).
fn of_kind(template: &Value, live: &Value) -> Value {
    let mut template = template.clone();
    if let Value::Object(fields) = &mut template {
        for field in ["apiVersion", "kind"] {
            if let Some(value) = live.get(field) {
                fields.insert(field.to_string(), value.clone());
            }
        }
    }
    template
}

/// The ignore rules the input names; patterns that do not parse are left out, as a policy
/// with such a pattern does not compile.
fn rules(input: &Value) -> CompareRules {
    let strings = |field: &str| -> Vec<String> {
        input
            .get(field)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    CompareRules {
        ignore_paths: strings("ignorePaths").iter().filter_map(|p| PathPattern::parse(p).ok()).collect(),
        ignore_managers: strings("ignoreManagers"),
        fingerprints: super::fingerprint_key(),
    }
}

fn paths_and_classes(drifts: &[Drift]) -> Vec<(String, RemediationClass)> {
    drifts.iter().map(|drift| (drift.path.clone(), drift.class)).collect()
}
