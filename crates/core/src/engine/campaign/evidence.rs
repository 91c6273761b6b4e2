//! What a finding's evidence proves: the governed fields at the finding's paths, as
//! declared and as read back from the API server.
//!
//! [`fields_at`] reads the fields of a live object at the paths a drift names (JSON
//! pointers whose list items are addressed by their merge key, `name=app`, or, in a set, by
//! the member itself), so the live hash of a verification is computed from the object that
//! was read, never copied from the desired one. A Secret's data is replaced by its keyed
//! fingerprint before it is hashed, and is never stored.

use serde_json::Value;

use crate::engine::fingerprint::FingerprintKey;
use crate::engine::pointer;
use crate::engine::secret::{is_secret, redact_at};

use super::lifecycle::hash_fields;

/// The value of `object` at each of `paths` (`None` where the field is absent). For a
/// Secret, data values are their fingerprints under `key`.
pub fn fields_at(object: &Value, paths: &[String], key: &FingerprintKey) -> Vec<(String, Option<Value>)> {
    let secret = is_secret(object);
    paths
        .iter()
        .map(|path| {
            let tokens = pointer::split(path);
            let value = value_at(object, &tokens).map(|value| match secret {
                true => redact_at(&tokens, value, key),
                false => value.clone(),
            });
            (path.clone(), value)
        })
        .collect()
}

/// The desired and live hashes of a verification: [`hash_fields`] of the declared values,
/// and of `fresh` at the same paths. The declared values of a Secret are fingerprints
/// already; `key` must be the one they were made with.
pub fn evidence_hashes(desired: &[(String, Value)], fresh: &Value, key: &FingerprintKey) -> (String, String) {
    let declared: Vec<(String, Option<Value>)> = desired.iter().map(|(p, v)| (p.clone(), Some(v.clone()))).collect();
    let paths: Vec<String> = desired.iter().map(|(p, _)| p.clone()).collect();
    (hash_fields(&declared), hash_fields(&fields_at(fresh, &paths, key)))
}

fn value_at<'a>(mut value: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    for token in tokens {
        value = match value {
            Value::Object(map) => map.get(token)?,
            Value::Array(items) => item(items, token)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The item of a list a path token names: by merge key (`containerPort=80,protocol=TCP`;
/// a key field the item leaves out matches, as its default would), as a set member, or by
/// position.
fn item<'a>(items: &'a [Value], token: &str) -> Option<&'a Value> {
    let key: Option<Vec<(&str, &str)>> = token.split(',').map(|part| part.split_once('=')).collect();
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        let matches = |item: &Value, exact: bool| {
            key.iter().all(|(field, wanted)| match item.get(*field) {
                Some(value) => text(value) == *wanted,
                None => !exact,
            })
        };
        if let Some(found) = items.iter().find(|i| i.is_object() && matches(i, true)) {
            return Some(found);
        }
        if let Some(found) = items.iter().find(|i| i.is_object() && matches(i, false)) {
            return Some(found);
        }
    }
    if let Some(member) = items.iter().find(|i| !i.is_object() && !i.is_array() && text(i) == token) {
        return Some(member);
    }
    token.parse::<usize>().ok().and_then(|index| items.get(index))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::fingerprint::test_key;
    use crate::engine::secret::{data_fingerprint, encode_data};

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "shop"}},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "sidecar", "image": "proxy:1"},
                   {"name": "app", "image": image, "ports": [{"containerPort": 80}]}],
                   "finalizers": ["a", "b"]}}}})
    }

    #[test]
    fn fields_are_read_by_key_merge_key_member_and_position() {
        let paths: Vec<String> = [
            "/metadata/labels/team",
            "/spec/template/spec/containers/name=app/image",
            "/spec/template/spec/containers/name=app/ports/containerPort=80,protocol=TCP/containerPort",
            "/spec/template/spec/finalizers/b",
            "/spec/template/spec/containers/0/name",
            "/metadata/labels/missing",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        let read = fields_at(&deployment("web:2"), &paths, &test_key());
        let values: Vec<Option<Value>> = read.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            vec![
                Some(json!("shop")),
                Some(json!("web:2")),
                Some(json!(80)),
                Some(json!("b")),
                Some(json!("sidecar")),
                None
            ]
        );
    }

    #[test]
    fn the_live_hash_is_of_what_was_read_and_differs_when_the_field_does() {
        let desired = vec![("/spec/template/spec/containers/name=app/image".to_string(), json!("web:2"))];
        let (want, live) = evidence_hashes(&desired, &deployment("web:2"), &test_key());
        assert_eq!(want, live, "the fresh object holds the declared value");
        let (want, live) = evidence_hashes(&desired, &deployment("web:1"), &test_key());
        assert_ne!(want, live, "a fresh object that still differs has another live hash");
        let (_, gone) = evidence_hashes(&desired, &json!({"kind": "Deployment"}), &test_key());
        assert_ne!(want, gone, "an absent field hashes as absent");
    }

    #[test]
    fn secret_data_is_read_as_its_fingerprint_and_never_as_the_value() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                            "data": {"token": encode_data(b"hunter2")}});
        let read = fields_at(&secret, &["/data/token".to_string()], &test_key());
        let fingerprint = data_fingerprint(&json!(encode_data(b"hunter2")), &test_key());
        assert_eq!(read, vec![("/data/token".to_string(), Some(fingerprint.clone()))]);
        assert!(!serde_json::to_string(&read).unwrap().contains(&encode_data(b"hunter2")));
        // The desired side of a Secret drift is a fingerprint too: the hashes agree.
        let (want, live) = evidence_hashes(&[("/data/token".to_string(), fingerprint.clone())], &secret, &test_key());
        assert_eq!(want, live);
        // Read under another key, the same value does not match: a key that changed would
        // show as drift, which is why the operator keeps its key.
        let other = FingerprintKey::new(b"another fingerprint key, 32 byte").unwrap();
        let (want, live) = evidence_hashes(&[("/data/token".to_string(), fingerprint)], &secret, &other);
        assert_ne!(want, live);
    }
}
