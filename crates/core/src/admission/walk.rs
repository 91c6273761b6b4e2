//! The checks a template makes at admission: one per governed leaf field, found by walking
//! the template with the engine's schema (list types, quantities, ports) and its ignore
//! rules, each with the class its fix would have.

use serde_json::Value;

use super::cel::Step;
use crate::api::RemediationClass;
use crate::engine::classify::classify;
use crate::engine::compare::{UNGOVERNED_METADATA, UNGOVERNED_ROOT, compare};
use crate::engine::drift::CompareRules;
use crate::engine::kind::ObjectKind;
use crate::engine::merge_keys::{ListType, list_type};
use crate::engine::pointer::{self, PathPattern};
use crate::engine::schema::{self, Field, Position, Scalar};

/// What the field must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Equal to this literal (a scalar, or a whole list of scalars).
    Equals(String),
    /// A port: this number, written as a number or as a string of digits.
    Port(i64),
    /// Absent (the template says `null`).
    Absent,
    /// A set that holds this item.
    Holds(String),
    /// Present: a keyed list item the template names by its key alone.
    Present,
    /// A resource quantity of the same amount as this one (written as the template writes
    /// it: `256Mi` holds for `268435456` too).
    Quantity(String),
}

/// One check: where, what, and the class of its fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The path as a JSON pointer, keyed items by their key (`/spec/containers/name=app/image`).
    pub pointer: String,
    pub steps: Vec<Step>,
    pub expect: Expect,
    /// Whether an absent field is as good (a default the API server fills in, or a value
    /// the engine treats as absent).
    pub absent_ok: bool,
    pub class: RemediationClass,
}

/// A governed path the generated rules do not check, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub pointer: String,
    pub why: String,
}

/// Walks one template.
pub struct Walk<'a> {
    kind: ObjectKind<'a>,
    template: &'a Value,
    ignore: &'a [&'a PathPattern],
    rules: &'a CompareRules,
    pub checks: Vec<Check>,
    pub skipped: Vec<Skipped>,
}

impl<'a> Walk<'a> {
    /// The checks of `template`, an object of `kind`, leaving out the paths `ignore` matches.
    pub fn of(
        kind: ObjectKind<'a>,
        template: &'a Value,
        ignore: &'a [&'a PathPattern],
        rules: &'a CompareRules,
    ) -> Self {
        let mut walk = Walk { kind, template, ignore, rules, checks: Vec::new(), skipped: Vec::new() };
        // The template as the API server would default it: a keyed list item the template
        // names without a key field the server defaults (a port's `protocol`) is found by
        // the defaulted key.
        let mut whole = template.clone();
        if let Value::Object(map) = &mut whole {
            let api_version = match kind.group {
                "" => kind.version.to_string(),
                group => format!("{group}/{}", kind.version),
            };
            map.insert("apiVersion".into(), Value::from(api_version));
            map.insert("kind".into(), Value::from(kind.kind));
        }
        let normalized = crate::engine::normalize::normalize(&whole);
        if let Value::Object(map) = template {
            for (field, value) in map {
                if UNGOVERNED_ROOT.contains(&field.as_str()) {
                    continue;
                }
                let mut tokens = vec![field.clone()];
                let mut steps = vec![Step::Field(field.clone())];
                if field == "metadata"
                    && let Value::Object(metadata) = value
                {
                    for (field, value) in metadata.iter().filter(|(f, _)| !UNGOVERNED_METADATA.contains(&f.as_str())) {
                        tokens.push(field.clone());
                        steps.push(Step::Field(field.clone()));
                        let norm = normalized.get("metadata").and_then(|m| m.get(field));
                        walk.value(value, norm, &mut tokens, &mut steps);
                        tokens.pop();
                        steps.pop();
                    }
                    continue;
                }
                walk.value(value, normalized.get(field), &mut tokens, &mut steps);
            }
        }
        walk
    }

    /// `norm` is the same value in the defaulted template, where there is one.
    fn value(&mut self, value: &Value, norm: Option<&Value>, tokens: &mut Vec<String>, steps: &mut Vec<Step>) {
        if self.ignore.iter().any(|pattern| pattern.matches_tokens(tokens)) {
            return;
        }
        let position = schema::resolve(self.kind.known, tokens);
        match value {
            Value::Object(map) => {
                if let Position::Field(Field::Map { atomic: true, .. }) = position {
                    match super::cel::literal_map(value) {
                        Some(literal) => self.check(tokens, steps, value, Expect::Equals(literal)),
                        None => self.skip(tokens, "a map replaced whole whose values are not all plain scalars"),
                    }
                    return;
                }
                for (field, value) in map {
                    tokens.push(field.clone());
                    steps.push(Step::Field(field.clone()));
                    self.value(value, norm.and_then(|n| n.get(field)), tokens, steps);
                    tokens.pop();
                    steps.pop();
                }
            }
            Value::Array(items) => self.list(items, norm.and_then(Value::as_array), tokens, steps),
            Value::Null => self.check(tokens, steps, value, Expect::Absent),
            scalar => {
                let kind = match position {
                    Position::Field(Field::Scalar(kind)) => *kind,
                    Position::MapValue(kind) => kind,
                    _ => Scalar::Plain,
                };
                match (kind, scalar) {
                    (Scalar::Quantity, _) => match crate::engine::normalize::scalar::quantity(scalar) {
                        Some(_) => {
                            let text = scalar.as_str().map_or_else(|| scalar.to_string(), str::to_string);
                            self.check(tokens, steps, value, Expect::Quantity(text))
                        }
                        None => self.skip(tokens, "a resource quantity the template does not write as one"),
                    },
                    (Scalar::PortNumberOrName, Value::Number(n)) if n.as_i64().is_some() => {
                        self.check(tokens, steps, value, Expect::Port(n.as_i64().unwrap_or_default()))
                    }
                    (Scalar::PortNumberOrName, Value::String(s)) if s.parse::<i64>().is_ok() => {
                        self.check(tokens, steps, value, Expect::Port(s.parse().unwrap_or_default()))
                    }
                    _ => match super::cel::literal(scalar) {
                        Some(literal) => self.check(tokens, steps, value, Expect::Equals(literal)),
                        None => self.skip(tokens, "a number that is not an integer"),
                    },
                }
            }
        }
    }

    fn list(&mut self, items: &[Value], norm: Option<&Vec<Value>>, tokens: &mut Vec<String>, steps: &mut Vec<Step>) {
        let whole = Value::Array(items.to_vec());
        match list_type(self.kind.group, self.kind.kind, tokens) {
            ListType::Map(keys) => {
                for (index, item) in items.iter().enumerate() {
                    let norm_item = norm.and_then(|n| n.get(index));
                    let Value::Object(fields) = item else {
                        self.skip(tokens, "a keyed list with an item that is not an object");
                        continue;
                    };
                    let key: Option<Vec<(String, Value)>> = keys
                        .iter()
                        .map(|k| {
                            let value = fields.get(*k).or_else(|| norm_item.and_then(|n| n.get(*k)));
                            value.filter(|v| v.is_string() || v.is_i64()).map(|v| (k.to_string(), v.clone()))
                        })
                        .collect();
                    let Some(key) = key else {
                        self.skip(tokens, &format!("a keyed list item without its key ({})", keys.join(", ")));
                        continue;
                    };
                    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    tokens.push(pointer::item_token(key.iter().map(|(k, v)| (k.as_str(), text(v)))));
                    steps.push(Step::Item(key.clone()));
                    let before = (self.checks.len(), self.skipped.len());
                    for (field, value) in fields.iter().filter(|(f, _)| !keys.contains(&f.as_str())) {
                        tokens.push(field.clone());
                        steps.push(Step::Field(field.clone()));
                        self.value(value, norm_item.and_then(|n| n.get(field)), tokens, steps);
                        tokens.pop();
                        steps.pop();
                    }
                    if (self.checks.len(), self.skipped.len()) == before {
                        self.check(tokens, steps, item, Expect::Present);
                    }
                    tokens.pop();
                    steps.pop();
                }
            }
            ListType::Set => {
                for item in items {
                    match super::cel::literal(item).filter(|_| !item.is_array()) {
                        Some(literal) => self.check(tokens, steps, &whole, Expect::Holds(literal)),
                        None => self.skip(tokens, "a set item that is not a plain scalar"),
                    }
                }
            }
            ListType::Atomic => match super::cel::literal(&whole) {
                Some(literal) if items.iter().all(|i| !i.is_array()) => {
                    self.check(tokens, steps, &whole, Expect::Equals(literal))
                }
                _ => self.skip(tokens, "a list compared whole whose items are not all plain scalars"),
            },
        }
    }

    fn skip(&mut self, tokens: &[String], why: &str) {
        self.skipped.push(Skipped { pointer: pointer::join(tokens), why: why.to_string() });
    }

    fn check(&mut self, tokens: &[String], steps: &[Step], desired: &Value, expect: Expect) {
        let path: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let class = classify(&self.kind, None, &path, desired, None);
        let pointer = pointer::join(tokens);
        let absent_ok =
            !matches!(expect, Expect::Absent | Expect::Present) && self.absent_is_compliant(steps, &pointer);
        self.checks.push(Check { pointer, steps: steps.to_vec(), expect, absent_ok, class });
    }

    /// Whether an object that lacks the field at `steps`, and holds the rest of the
    /// template, is compliant for the engine (a default the API server fills in).
    fn absent_is_compliant(&self, steps: &[Step], pointer: &str) -> bool {
        let mut live = self.template.clone();
        if !remove(&mut live, steps) {
            return false;
        }
        let drifts = compare(&live, self.template, self.rules);
        !drifts.iter().any(|d| d.path == pointer || pointer.starts_with(&format!("{}/", d.path)))
    }
}

/// Removes the value at `steps` from `value`; whether it was there.
fn remove(value: &mut Value, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else { return false };
    let mut current = value;
    for step in parents {
        let next = match (step, current) {
            (Step::Field(field), Value::Object(map)) => map.get_mut(field),
            (Step::Item(key), Value::Array(items)) => {
                items.iter_mut().find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))
            }
            _ => None,
        };
        let Some(next) = next else { return false };
        current = next;
    }
    match (last, current) {
        (Step::Field(field), Value::Object(map)) => map.remove(field).is_some(),
        _ => false,
    }
}
