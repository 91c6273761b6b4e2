//! Secrets: their data is compared by content and shown only as a fingerprint.
//!
//! A template's `stringData` is folded into `data` (base64) before comparing, as the API
//! server does on write (`stringData` wins over `data` for the same key). Values are
//! compared decoded, and whatever leaves the engine about a Secret's data — drifts, a
//! missing Secret, evidence — carries the keyed fingerprint of the decoded bytes
//! ([`crate::engine::fingerprint`]) instead of the value. The
//! `kubectl.kubernetes.io/last-applied-configuration` annotation of a Secret holds its
//! data too, and is fingerprinted the same way. Debug output of an apply body, which has no
//! key at hand, shows `<hidden>` for each of these values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::engine::fingerprint::FingerprintKey;
use crate::engine::kind::{Kind, ObjectKind};

/// The annotation in which `kubectl apply` keeps the last applied manifest.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What Debug output shows in place of a Secret's value.
pub const HIDDEN: &str = "<hidden>";

/// The bytes of a `data` value (base64); `None` when it is not base64.
pub fn decode_data(value: &str) -> Option<Vec<u8>> {
    STANDARD.decode(value).ok()
}

/// A `data` value (base64) for `bytes`.
pub fn encode_data(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Whether `object` is a core/v1 Secret.
pub fn is_secret(object: &Value) -> bool {
    ObjectKind::of(object).is_some_and(|kind| kind.known == Kind::Secret)
}

/// What a secret value is shown as: its fingerprint, or [`HIDDEN`].
type Mask<'a> = &'a dyn Fn(&[u8]) -> String;

/// The fingerprint shown for a `data` value: of its decoded bytes, or of its text when it
/// is not valid base64. `null` stays `null`.
pub fn data_fingerprint(value: &Value, key: &FingerprintKey) -> Value {
    masked_data(value, &|bytes| key.fingerprint(bytes))
}

/// The fingerprint shown for a `stringData` value (of its text, so that it equals the
/// fingerprint of the same value in `data`).
pub fn string_data_fingerprint(value: &Value, key: &FingerprintKey) -> Value {
    masked_string(value, &|bytes| key.fingerprint(bytes))
}

fn masked_data(value: &Value, mask: Mask<'_>) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) => {
            Value::String(decode_data(text).map_or_else(|| mask(text.as_bytes()), |bytes| mask(&bytes)))
        }
        other => Value::String(mask(other.to_string().as_bytes())),
    }
}

fn masked_string(value: &Value, mask: Mask<'_>) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) => Value::String(mask(text.as_bytes())),
        other => Value::String(mask(other.to_string().as_bytes())),
    }
}

/// A Secret manifest that uses `stringData` (as manifest files may; the API server never
/// returns it) with that `stringData` folded into `data`, as the API server stores it:
/// `None` when there is nothing to fold, so the common case copies nothing.
pub fn fold_live(object: &Value) -> Option<Value> {
    let string_data = object.get("stringData").and_then(Value::as_object)?;
    if !is_secret(object) {
        return None;
    }
    let mut folded = object.clone();
    let map = folded.as_object_mut()?;
    map.remove("stringData");
    let data = map.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let data = data.as_object_mut()?;
    for (key, value) in string_data {
        if let Some(text) = value.as_str() {
            data.insert(key.clone(), Value::String(encode_data(text.as_bytes())));
        }
    }
    Some(folded)
}

/// A copy of `object` that is safe to show: for a Secret, every `data` and `stringData`
/// value and the last-applied annotation are replaced by their fingerprints under `key`.
/// Other objects are returned as they are. The evaluator calls this for a missing Secret.
pub fn redact(object: &Value, key: &FingerprintKey) -> Value {
    if is_secret(object) { masked_at::<&str>(&[], object, &|bytes| key.fingerprint(bytes)) } else { object.clone() }
}

/// A copy of `object` for Debug output: like [`redact`], with [`HIDDEN`] in place of each
/// secret value.
pub fn conceal(object: &Value) -> Value {
    if is_secret(object) { masked_at::<&str>(&[], object, &|_| HIDDEN.to_string()) } else { object.clone() }
}

/// A copy of `value`, found at `path` in a Secret, with every secret value in it replaced
/// by its fingerprint under `key`.
pub fn redact_at<S: AsRef<str>>(path: &[S], value: &Value, key: &FingerprintKey) -> Value {
    masked_at(path, value, &|bytes| key.fingerprint(bytes))
}

fn masked_at<S: AsRef<str>>(path: &[S], value: &Value, mask: Mask<'_>) -> Value {
    let tokens: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    match tokens.as_slice() {
        [] => map_entries(value, mask, |key, entry| match key {
            "data" => map_entries(entry, mask, |_, item| masked_data(item, mask)),
            "stringData" => map_entries(entry, mask, |_, item| masked_string(item, mask)),
            "metadata" => masked_at(&["metadata"], entry, mask),
            _ => entry.clone(),
        }),
        ["data"] => map_entries(value, mask, |_, item| masked_data(item, mask)),
        ["data", ..] => masked_data(value, mask),
        ["stringData"] => map_entries(value, mask, |_, item| masked_string(item, mask)),
        ["stringData", ..] => masked_string(value, mask),
        ["metadata"] => map_entries(value, mask, |key, entry| match key {
            "annotations" => masked_at(&["metadata", "annotations"], entry, mask),
            _ => entry.clone(),
        }),
        ["metadata", "annotations"] => map_entries(value, mask, |key, entry| {
            if key == LAST_APPLIED_ANNOTATION { masked_string(entry, mask) } else { entry.clone() }
        }),
        ["metadata", "annotations", LAST_APPLIED_ANNOTATION, ..] => masked_string(value, mask),
        _ => value.clone(),
    }
}

/// `value` with each entry replaced by `f(key, entry)` when it is a map; anything else is
/// masked whole (a value where a map of secrets should be is still secret).
fn map_entries(value: &Value, mask: Mask<'_>, f: impl Fn(&str, &Value) -> Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(key, entry)| (key.clone(), f(key, entry))).collect()),
        Value::Null => Value::Null,
        other => Value::String(mask(other.to_string().as_bytes())),
    }
}

/// One key of a Secret template after `stringData` is folded into `data`.
pub(crate) struct FoldedEntry<'a> {
    pub key: &'a str,
    /// The `data` value to apply (base64), or `null` ("must be absent").
    pub value: Value,
    /// The bytes the key must hold, `None` for `null`.
    pub bytes: Option<Vec<u8>>,
}

/// The `data` of a Secret template, with `stringData` folded in (it wins for a key in
/// both).
pub(crate) fn fold_template<'a>(
    data: Option<&'a Map<String, Value>>,
    string_data: Option<&'a Map<String, Value>>,
) -> Vec<FoldedEntry<'a>> {
    let from_data =
        data.into_iter().flatten().filter(|(key, _)| string_data.is_none_or(|strings| !strings.contains_key(*key)));
    let from_data = from_data.map(|(key, value)| {
        let bytes = match value {
            Value::Null => None,
            Value::String(text) => Some(decode_data(text).unwrap_or_else(|| text.as_bytes().to_vec())),
            other => Some(other.to_string().into_bytes()),
        };
        FoldedEntry { key, value: value.clone(), bytes }
    });
    let from_strings = string_data.into_iter().flatten().map(|(key, value)| {
        let bytes = match value {
            Value::Null => None,
            Value::String(text) => Some(text.as_bytes().to_vec()),
            other => Some(other.to_string().into_bytes()),
        };
        let value = bytes.as_deref().map_or(Value::Null, |bytes| Value::String(encode_data(bytes)));
        FoldedEntry { key, value, bytes }
    });
    from_data.chain(from_strings).collect()
}

/// The bytes of a live `data` value.
pub(crate) fn live_bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(text) => Some(decode_data(text).unwrap_or_else(|| text.as_bytes().to_vec())),
        Value::Null => None,
        other => Some(other.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_string_data_is_folded_into_data_as_the_api_server_stores_it() {
        let manifest = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "b2xk"}, "stringData": {"a": "new", "b": "hunter2"}});
        let folded = fold_live(&manifest).unwrap();
        assert_eq!(folded, json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "bmV3", "b": "aHVudGVyMg=="}}));
        assert_eq!(fold_live(&json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "b2xk"}})), None);
        assert_eq!(fold_live(&json!({"apiVersion": "v1", "kind": "ConfigMap", "stringData": {"a": "x"}})), None);
    }

    fn key() -> FingerprintKey {
        FingerprintKey::new(b"driftwarden test fingerprint key").unwrap()
    }

    #[test]
    fn data_and_string_data_fingerprint_the_decoded_value() {
        // hmac.new(b"driftwarden test fingerprint key", b"hunter2", hashlib.sha256).hexdigest()
        // = 95ae1e21176bbddf0f7df3c28e132061bb41bb8f45d8870edcbac2cc20964c84
        let print = "hmac-sha256:95ae1e21176bbddf0f7df3c28e132061";
        assert_eq!(data_fingerprint(&json!("aHVudGVyMg=="), &key()), json!(print));
        assert_eq!(string_data_fingerprint(&json!("hunter2"), &key()), json!(print));
        assert_eq!(data_fingerprint(&Value::Null, &key()), Value::Null);
        let other = FingerprintKey::new(b"another fingerprint key, 32 byte").unwrap();
        assert_ne!(data_fingerprint(&json!("aHVudGVyMg=="), &other), json!(print));
    }

    const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: db
  labels: {app: db}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
type: Opaque
data: {password: aHVudGVyMg==}
stringData: {user: admin}
"#;

    #[test]
    fn redacts_data_string_data_and_last_applied() {
        let secret: Value = serde_yaml::from_str(SECRET).unwrap();
        let redacted = redact(&secret, &key());
        assert_eq!(redacted["data"]["password"], "hmac-sha256:95ae1e21176bbddf0f7df3c28e132061");
        assert_eq!(redacted["stringData"]["user"], string_data_fingerprint(&json!("admin"), &key()));
        assert_eq!(redacted["metadata"]["labels"]["app"], "db");
        assert_eq!(redacted["type"], "Opaque");
        let text = redacted.to_string();
        assert!(!text.contains("aHVudGVyMg") && !text.contains("hunter2") && !text.contains("admin"), "{text}");
    }

    #[test]
    fn concealed_values_show_nothing_of_the_value() {
        let secret: Value = serde_yaml::from_str(SECRET).unwrap();
        let concealed = conceal(&secret);
        assert_eq!(concealed["data"]["password"], HIDDEN);
        assert_eq!(concealed["stringData"]["user"], HIDDEN);
        assert_eq!(concealed["metadata"]["annotations"][LAST_APPLIED_ANNOTATION], HIDDEN);
        assert_eq!(concealed["metadata"]["labels"]["app"], "db");
    }

    #[test]
    fn other_objects_are_not_touched() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(redact(&config, &key()), config);
        assert_eq!(conceal(&config), config);
    }

    #[test]
    fn string_data_folds_into_data_and_wins() {
        let data = json!({"a": "eA==", "b": "eQ==", "c": null});
        let strings = json!({"b": "z", "d": "w"});
        let folded = fold_template(data.as_object(), strings.as_object());
        let view: Vec<(&str, Value, Option<Vec<u8>>)> =
            folded.into_iter().map(|entry| (entry.key, entry.value, entry.bytes)).collect();
        assert_eq!(
            view,
            vec![
                ("a", json!("eA=="), Some(b"x".to_vec())),
                ("c", Value::Null, None),
                ("b", json!("eg=="), Some(b"z".to_vec())),
                ("d", json!("dw=="), Some(b"w".to_vec())),
            ]
        );
    }
}
