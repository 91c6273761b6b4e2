//! Label keys, label values and label selectors as the API server validates them, in two
//! layers that agree: the schema of every selector in the CRDs (patterns, lengths and CEL
//! rules, so the API server refuses a bad selector at admission), and [`check_label_key`]
//! and [`check_label_value`], which the operator runs on what was stored before the CRD said
//! so.
//!
//! A label key is an optional prefix and a name, separated by `/`: the prefix a DNS
//! subdomain of at most 253 characters (lowercase alphanumerics, `-` and `.`), the name at
//! most 63 characters of alphanumerics, `-`, `_` and `.`, starting and ending with an
//! alphanumeric. A label value is empty or a name.

use schemars::{Schema, SchemaGenerator};
use serde_json::json;

/// A label key as a pattern: the structure of the prefix and of the name, and the length of
/// the name. The length of the prefix is [`LABEL_KEY_PREFIX_LENGTH_PATTERN`]'s.
pub const LABEL_KEY_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A label key whose prefix, if any, has at most 253 characters.
pub const LABEL_KEY_PREFIX_LENGTH_PATTERN: &str = r"^([^/]{1,253}/)?[^/]*$";
/// A label value: empty, or alphanumerics, `-`, `_` and `.` starting and ending with an
/// alphanumeric. Its length is bounded apart ([`MAX_LABEL_VALUE_LENGTH`]).
pub const LABEL_VALUE_PATTERN: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
/// The longest label key: a 253-character prefix, `/` and a 63-character name.
pub const MAX_LABEL_KEY_LENGTH: usize = 317;
/// The longest label name, and the longest label value.
pub const MAX_LABEL_VALUE_LENGTH: usize = 63;
/// The longest prefix of a label key.
pub const MAX_LABEL_PREFIX_LENGTH: usize = 253;
/// The most entries in a selector's `matchLabels`: more than any object carries labels, and
/// few enough that checking their keys stays well within the API server's CEL cost budget.
pub const MAX_MATCH_LABELS: usize = 16;
/// The most requirements in a selector's `matchExpressions`.
pub const MAX_MATCH_EXPRESSIONS: usize = 32;
/// The most values of one requirement.
pub const MAX_REQUIREMENT_VALUES: usize = 64;

/// What the CRDs and the operator say of a bad label key.
pub const LABEL_KEY_RULE: &str = "a label key is an optional DNS subdomain prefix of at most 253 characters and '/', \
     then a name of at most 63 characters: alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric";

/// A label key or value the API server would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// A key that is not a qualified name.
    #[error("{key:?} is not a valid label key: {reason}")]
    Key {
        /// The key as written.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value that is neither empty nor a name of at most 63 characters.
    #[error("{value:?} is not a valid label value: {reason}")]
    Value {
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Checks a label key as the API server does (a qualified name).
pub fn check_label_key(key: &str) -> Result<(), LabelError> {
    let refuse = |reason| Err(LabelError::Key { key: key.to_string(), reason });
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return refuse("the prefix before '/' is empty");
        }
        if prefix.len() > MAX_LABEL_PREFIX_LENGTH {
            return refuse("the prefix before '/' is longer than 253 characters");
        }
        if !is_dns_subdomain(prefix) {
            return refuse(
                "the prefix before '/' must be a DNS subdomain: lowercase alphanumerics, '-' and '.', each \
                 dot-separated part starting and ending with an alphanumeric",
            );
        }
    }
    if name.is_empty() {
        return refuse("the name is empty");
    }
    if name.contains('/') {
        return refuse("a key has at most one '/'");
    }
    if let Err(reason) = check_name(name) {
        return refuse(reason);
    }
    Ok(())
}

/// Checks a label value as the API server does: empty, or a name of at most 63 characters.
pub fn check_label_value(value: &str) -> Result<(), LabelError> {
    if value.is_empty() {
        return Ok(());
    }
    check_name(value).map_err(|reason| LabelError::Value { value: value.to_string(), reason })
}

/// A label name: at most 63 characters, alphanumerics, `-`, `_` and `.`, starting and ending
/// with an alphanumeric.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_LABEL_VALUE_LENGTH {
        return Err("longer than 63 characters");
    }
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !name.chars().all(inner) {
        return Err("only alphanumerics, '-', '_' and '.' are allowed");
    }
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends(name.chars().next()) || !ends(name.chars().last()) {
        return Err("it must start and end with an alphanumeric");
    }
    Ok(())
}

/// Whether `text` is a DNS subdomain as RFC 1123 and Kubernetes names it: dot-separated
/// parts of lowercase alphanumerics and '-', each starting and ending with an alphanumeric.
/// (Lengths are checked by the caller.)
pub fn is_dns_subdomain(text: &str) -> bool {
    text.split('.').all(|part| {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        edge(part.chars().next())
            && edge(part.chars().last())
            && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// The CEL rule that holds for a valid label key `variable`.
fn key_rule(variable: &str) -> String {
    format!("{variable}.matches('{LABEL_KEY_PATTERN}') && {variable}.matches('{LABEL_KEY_PREFIX_LENGTH_PATTERN}')")
        .replace('\\', "\\\\")
}

/// The schema of a label selector in a driftwarden resource: the shape of Kubernetes'
/// `LabelSelector`, with keys, values and operators checked as the API server checks them,
/// and bounds that keep its rules within the CEL cost budget.
pub fn selector_schema(_: &mut SchemaGenerator) -> Schema {
    let value = json!({
        "type": "string",
        "maxLength": MAX_LABEL_VALUE_LENGTH,
        "pattern": LABEL_VALUE_PATTERN,
    });
    let schema = json!({
        "type": "object",
        "properties": {
            "matchLabels": {
                "description": "Labels the object must have, each with exactly this value. The same as a matchExpressions requirement with the operator In and this one value.",
                "type": "object",
                "maxProperties": MAX_MATCH_LABELS,
                "additionalProperties": value,
                "x-kubernetes-validations": [{
                    "rule": format!("self.all(k, {})", key_rule("k")),
                    "message": format!("every key must be a label key: {LABEL_KEY_RULE}"),
                }],
            },
            "matchExpressions": {
                "description": "Requirements on the object's labels; all must hold.",
                "type": "array",
                "maxItems": MAX_MATCH_EXPRESSIONS,
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {
                            "description": "The label key the requirement is about.",
                            "type": "string",
                            "maxLength": MAX_LABEL_KEY_LENGTH,
                            "pattern": LABEL_KEY_PATTERN,
                            "allOf": [{"pattern": LABEL_KEY_PREFIX_LENGTH_PATTERN}],
                        },
                        "operator": {
                            "description": "`In` and `NotIn` compare the label's value with `values`; `Exists` and `DoesNotExist` only look at whether the label is there.",
                            "type": "string",
                            "enum": ["In", "NotIn", "Exists", "DoesNotExist"],
                        },
                        "values": {
                            "description": "The values for `In` and `NotIn` (at least one); empty for `Exists` and `DoesNotExist`.",
                            "type": "array",
                            "maxItems": MAX_REQUIREMENT_VALUES,
                            "items": value,
                        },
                    },
                    "x-kubernetes-validations": [{
                        "rule": "self.operator == 'In' || self.operator == 'NotIn' ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                        "message": "In and NotIn need at least one value; Exists and DoesNotExist take none",
                    }],
                },
            },
        },
    });
    Schema::try_from(schema).expect("a JSON object is a schema")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    fn key_matches_patterns(key: &str) -> bool {
        key.chars().count() <= MAX_LABEL_KEY_LENGTH
            && Regex::new(LABEL_KEY_PATTERN).unwrap().is_match(key)
            && Regex::new(LABEL_KEY_PREFIX_LENGTH_PATTERN).unwrap().is_match(key)
    }

    fn value_matches_pattern(value: &str) -> bool {
        value.chars().count() <= MAX_LABEL_VALUE_LENGTH && Regex::new(LABEL_VALUE_PATTERN).unwrap().is_match(value)
    }

    #[test]
    fn keys_are_qualified_names() {
        let long_prefix = format!("{}/app", "a".repeat(254));
        let prefix_253 = format!("{}.{}/app", "a".repeat(189), "b".repeat(63));
        for good in ["app", "app.kubernetes.io/name", "example.com/A_b-c.9", "tier", "a", &prefix_253, "x/y"] {
            assert_eq!(check_label_key(good), Ok(()), "{good}");
            assert!(key_matches_patterns(good), "{good}");
        }
        for (bad, reason) in [
            ("", "the name is empty"),
            ("bad key", "only alphanumerics"),
            ("-app", "start and end"),
            ("app.", "start and end"),
            ("/app", "prefix before '/' is empty"),
            ("Example.com/app", "DNS subdomain"),
            ("example..com/app", "DNS subdomain"),
            ("example.com/", "the name is empty"),
            ("a/b/c", "at most one '/'"),
            (&"n".repeat(64), "longer than 63"),
            (&long_prefix, "longer than 253"),
        ] {
            match check_label_key(bad) {
                Err(LabelError::Key { key, reason: why }) => {
                    assert_eq!(key, bad);
                    assert!(why.contains(reason), "{bad:?}: {why}");
                }
                other => panic!("{bad:?} was not refused: {other:?}"),
            }
            assert!(!key_matches_patterns(bad), "{bad:?}");
        }
    }

    #[test]
    fn values_are_empty_or_names() {
        for good in ["", "web", "v1.2_3-x", &"v".repeat(63)] {
            assert_eq!(check_label_value(good), Ok(()), "{good}");
            assert!(value_matches_pattern(good), "{good}");
        }
        for bad in ["bad value", "-web", "web_", "a/b", &"v".repeat(64), "é"] {
            assert!(matches!(check_label_value(bad), Err(LabelError::Value { .. })), "{bad:?}");
            assert!(!value_matches_pattern(bad), "{bad:?}");
        }
        let message = check_label_value("bad value").unwrap_err().to_string();
        assert!(message.contains("\"bad value\" is not a valid label value"), "{message}");
    }

    proptest! {
        /// The operator's check and the CRD's patterns agree on every key and value.
        #[test]
        fn the_check_and_the_patterns_agree(text in "[a-zA-Z0-9./_ -]{0,70}|[a-z.]{240,260}/[a-z]{1,3}") {
            prop_assert_eq!(check_label_key(&text).is_ok(), key_matches_patterns(&text), "key {:?}", text);
            prop_assert_eq!(check_label_value(&text).is_ok(), value_matches_pattern(&text), "value {:?}", text);
        }
    }
}
