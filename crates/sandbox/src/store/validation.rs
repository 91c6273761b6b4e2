//! The object-metadata validation every kind gets: name rules, label and annotation
//! syntax, and the finalizer rule for objects being deleted.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::{CauseType, FieldCause};
use crate::resources::NameRule;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const RFC1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a lowercase RFC 1123 subdomain.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_rfc1035_label(s: &str) -> bool {
    is_dns_label(s) && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// Problems with `name` under `rule`, as messages.
pub fn name_problems(rule: NameRule, name: &str) -> Option<String> {
    match rule {
        NameRule::Subdomain if !is_dns_subdomain(name) => Some(SUBDOMAIN_MSG.to_string()),
        NameRule::Label if !is_dns_label(name) => Some(LABEL_MSG.to_string()),
        NameRule::Rfc1035Label if !is_rfc1035_label(name) => Some(RFC1035_MSG.to_string()),
        NameRule::PathSegment if name == "." || name == ".." => Some(format!("may not be '{name}'")),
        NameRule::PathSegment if name.contains('/') || name.contains('%') => {
            Some("may not contain '/' or '%'".to_string())
        }
        _ => None,
    }
}

fn is_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether `key` is a qualified name: an optional DNS-subdomain prefix and `/`, then a name
/// of at most 63 characters.
pub fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(key),
    }
}

/// Whether `value` is a valid label value (possibly empty).
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_label_name(value)
}

fn invalid(field: String, value: &str, message: &str) -> FieldCause {
    FieldCause::new(CauseType::FieldValueInvalid, field, format!("{value:?}: {message}"))
}

fn check_keys(field: &str, map: &BTreeMap<String, String>, causes: &mut Vec<FieldCause>, values_are_labels: bool) {
    for (key, value) in map {
        if !is_qualified_name(key) {
            causes.push(invalid(
                field.to_string(),
                key,
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            ));
        }
        if values_are_labels && !is_label_value(value) {
            causes.push(invalid(
                format!("{field}[{key}]"),
                value,
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            ));
        }
    }
}

/// Validates the parts of `meta` every kind shares: name, labels, annotations, finalizers.
pub fn validate_meta(rule: NameRule, meta: &ObjectMeta) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let name = meta.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        causes.push(FieldCause::new(
            CauseType::FieldValueRequired,
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Some(problem) = name_problems(rule, name) {
        causes.push(invalid("metadata.name".to_string(), name, &problem));
    }
    if let Some(labels) = &meta.labels {
        check_keys("metadata.labels", labels, &mut causes, true);
    }
    if let Some(annotations) = &meta.annotations {
        check_keys("metadata.annotations", annotations, &mut causes, false);
    }
    for (i, finalizer) in meta.finalizers.iter().flatten().enumerate() {
        if !is_qualified_name(finalizer) {
            causes.push(invalid(format!("metadata.finalizers[{i}]"), finalizer, "name part must be a qualified name"));
        }
    }
    causes
}

/// Once an object is being deleted, no finalizer may be added.
pub fn validate_finalizers_while_deleting(old: &ObjectMeta, new: &ObjectMeta) -> Vec<FieldCause> {
    if old.deletion_timestamp.is_none() {
        return Vec::new();
    }
    let before: Vec<&String> = old.finalizers.iter().flatten().collect();
    new.finalizers
        .iter()
        .flatten()
        .filter(|f| !before.contains(f))
        .map(|f| {
            FieldCause::new(
                CauseType::FieldValueForbidden,
                "metadata.finalizers",
                format!("no new finalizers can be added if the object is being deleted, found new finalizers [{f:?}]"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_rule() {
        assert!(name_problems(NameRule::Subdomain, "web.example-1").is_none());
        assert!(name_problems(NameRule::Subdomain, "Web").is_some());
        assert!(name_problems(NameRule::Label, "a.b").is_some());
        assert!(name_problems(NameRule::Rfc1035Label, "1abc").is_some());
        assert!(name_problems(NameRule::PathSegment, "system:controller:x").is_none());
        assert!(name_problems(NameRule::PathSegment, "a/b").is_some());
    }

    #[test]
    fn label_keys_may_have_a_subdomain_prefix() {
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(is_qualified_name("tier"));
        assert!(!is_qualified_name("-tier"));
        assert!(!is_qualified_name("Bad_Prefix/x"));
        assert!(is_label_value(""));
        assert!(!is_label_value("has space"));
    }

    #[test]
    fn missing_name_is_required() {
        let causes = validate_meta(NameRule::Subdomain, &ObjectMeta::default());
        assert_eq!(causes[0].kind, CauseType::FieldValueRequired);
    }
}
