//! The value keywords of one schema node: `type` (with `nullable`), `enum`, the numeric
//! bounds, the string bounds, `pattern` and `format`.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Number, Value};

use super::path::Path;
use super::violation::{Violation, render};

thread_local! {
    /// Compiled `pattern`s, keyed by their source; `None` for one that does not compile.
    static PATTERNS: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// Whether `schema` says `keyword: true`.
pub fn flag(schema: &Value, keyword: &str) -> bool {
    schema.get(keyword).and_then(Value::as_bool) == Some(true)
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

/// Checks `value` against the value keywords of `schema`; false when its type is wrong,
/// so the caller does not look inside it.
pub fn check(schema: &Value, value: &Value, path: &Path, out: &mut Vec<Violation>) -> bool {
    if value.is_null() {
        if !flag(schema, "nullable") {
            let expected = schema.get("type").and_then(Value::as_str).unwrap_or("object");
            out.push(Violation::wrong_type(path, value, expected));
        }
        return false;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(has_type(value, "integer") || value.is_string()) {
            out.push(Violation::wrong_type(path, value, "integer-or-string"));
            return false;
        }
    } else if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, expected)
    {
        out.push(Violation::wrong_type(path, value, expected));
        return false;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(Violation::not_supported(path, value, allowed));
    }
    match value {
        Value::String(text) => string(schema, text, value, path, out),
        Value::Number(number) => numeric(schema, number, value, path, out),
        _ => {}
    }
    true
}

fn numeric(schema: &Value, number: &Number, value: &Value, path: &Path, out: &mut Vec<Violation>) {
    let Some(n) = number.as_f64() else { return };
    if let Some(bound) = schema.get("minimum").filter(|b| b.is_number()) {
        let exclusive = flag(schema, "exclusiveMinimum");
        let limit = bound.as_f64().unwrap_or(f64::MIN);
        if n < limit || (exclusive && n == limit) {
            let rule = if exclusive { "greater than" } else { "greater than or equal to" };
            out.push(Violation::invalid(path, value, &format!("should be {rule} {}", plain(limit))));
        }
    }
    if let Some(bound) = schema.get("maximum").filter(|b| b.is_number()) {
        let exclusive = flag(schema, "exclusiveMaximum");
        let limit = bound.as_f64().unwrap_or(f64::MAX);
        if n > limit || (exclusive && n == limit) {
            let rule = if exclusive { "less than" } else { "less than or equal to" };
            out.push(Violation::invalid(path, value, &format!("should be {rule} {}", plain(limit))));
        }
    }
    if let Some(factor) = schema.get("multipleOf").and_then(Value::as_f64).filter(|f| *f > 0.0)
        && (n / factor).fract() != 0.0
    {
        out.push(Violation::invalid(path, value, &format!("should be a multiple of {}", plain(factor))));
    }
}

/// A bound as Go prints a float: no fraction when there is none.
fn plain(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 { format!("{}", number as i64) } else { number.to_string() }
}

fn string(schema: &Value, text: &str, value: &Value, path: &Path, out: &mut Vec<Violation>) {
    let length = text.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        out.push(Violation::too_long(path, max));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        out.push(Violation::invalid(path, value, &format!("should be at least {min} chars long")));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && !matches_pattern(pattern, text)
    {
        out.push(Violation::invalid(path, value, &format!("should match '{pattern}'")));
    }
    if schema.get("x-kubernetes-int-or-string").is_none()
        && let Some(format) = schema.get("format").and_then(Value::as_str)
        && !has_format(format, text)
    {
        out.push(Violation::invalid(path, value, &format!("must be of type {format}: {}", render(value))));
    }
}

/// Whether `text` matches `pattern`; a pattern that does not compile matches nothing.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let regex = cache.entry(pattern.to_string()).or_insert_with(|| Regex::new(pattern).ok());
        regex.as_ref().is_some_and(|r| r.is_match(text))
    })
}

/// Whether `text` has `format`, for the formats whose meaning is unambiguous; the others
/// validate nothing, as unknown formats do in the apiserver.
fn has_format(format: &str, text: &str) -> bool {
    match format {
        "date-time" | "datetime" => text.parse::<jiff::Timestamp>().is_ok(),
        "date" => text.parse::<jiff::civil::Date>().is_ok() && text.len() == 10,
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "byte" => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violations(schema: Value, value: Value) -> Vec<String> {
        let mut out = Vec::new();
        check(&schema, &value, &Path::root().field("x"), &mut out);
        out.into_iter().map(|v| v.into_cause().full_message()).collect()
    }

    #[test]
    fn integers_are_not_numbers_with_fractions() {
        assert!(violations(json!({"type": "integer"}), json!(3)).is_empty());
        assert_eq!(
            violations(json!({"type": "integer"}), json!(1.5)),
            [r#"Invalid value: "number": x in body must be of type integer: "number""#]
        );
        assert!(violations(json!({"type": "number"}), json!(3)).is_empty());
    }

    #[test]
    fn bounds_follow_exclusivity() {
        let schema = json!({"type": "integer", "minimum": 1, "maximum": 5, "exclusiveMaximum": true});
        assert!(violations(schema.clone(), json!(1)).is_empty());
        assert_eq!(violations(schema.clone(), json!(5)), ["Invalid value: 5: x in body should be less than 5"]);
        assert_eq!(violations(schema, json!(0)), ["Invalid value: 0: x in body should be greater than or equal to 1"]);
    }

    #[test]
    fn strings_check_length_pattern_enum_and_format() {
        let schema = json!({"type": "string", "maxLength": 3, "pattern": "^[a-z]+$", "enum": ["ab", "abcd"]});
        assert_eq!(violations(schema.clone(), json!("ab")), Vec::<String>::new());
        assert_eq!(
            violations(schema, json!("ABCD")),
            [
                r#"Unsupported value: "ABCD": supported values: "ab", "abcd""#,
                "Too long: may not be more than 3 bytes",
                r#"Invalid value: "ABCD": x in body should match '^[a-z]+$'"#,
            ]
        );
        let when = json!({"type": "string", "format": "date-time"});
        assert!(violations(when.clone(), json!("2026-01-02T03:04:05Z")).is_empty());
        assert_eq!(violations(when, json!("soon")).len(), 1);
    }

    #[test]
    fn null_needs_nullable_and_int_or_string_takes_both() {
        assert!(violations(json!({"type": "string", "nullable": true}), Value::Null).is_empty());
        assert_eq!(violations(json!({"type": "string"}), Value::Null).len(), 1);
        let port = json!({"x-kubernetes-int-or-string": true, "format": "int-or-string"});
        assert!(violations(port.clone(), json!(80)).is_empty());
        assert!(violations(port.clone(), json!("http")).is_empty());
        assert_eq!(violations(port, json!(true)).len(), 1);
    }
}
