//! One step of a field path, as structured-merge-diff names it: a field of a structure or
//! map (`f:`), an item of an associative list by its key fields (`k:`), an item of a set by
//! its value (`v:`), or an item of a list by its index (`i:`).

use std::fmt;

use serde_json::Value;

use super::error::FieldsError;

/// One step of a field path. The derived order is the order `FieldsV1` lists them in:
/// fields, then keys, then values, then indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of a structure or a key of a map.
    Field(String),
    /// An item of an associative list: its key fields as a JSON object with the names
    /// sorted and no spaces (`{"containerPort":80,"protocol":"TCP"}`).
    Key(String),
    /// An item of a set: its value as JSON.
    Value(String),
    /// An item of a list by position.
    Index(usize),
}

/// The compact JSON of a scalar value.
fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl PathElement {
    /// The key element of an associative list item with these key fields (in any order).
    pub fn key<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Self {
        let mut fields: Vec<(&str, &Value)> = fields.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        let inner: Vec<String> =
            fields.iter().map(|(name, value)| format!("{}:{}", json(&Value::from(*name)), json(value))).collect();
        PathElement::Key(format!("{{{}}}", inner.join(",")))
    }

    /// The value element of a set item.
    pub fn value(value: &Value) -> Self {
        PathElement::Value(json(value))
    }

    /// The element as a `FieldsV1` key: `f:name`, `k:{...}`, `v:...`, `i:0`.
    pub fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(key) => format!("k:{key}"),
            PathElement::Value(value) => format!("v:{value}"),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    /// Reads a `FieldsV1` key (not `.`).
    pub fn decode(encoded: &str) -> Result<Self, FieldsError> {
        let bad = || FieldsError::Element(encoded.to_string());
        let (prefix, rest) = encoded.split_once(':').ok_or_else(bad)?;
        match prefix {
            "f" => Ok(PathElement::Field(rest.to_string())),
            "k" => {
                let Value::Object(fields) = serde_json::from_str(rest).map_err(|_| bad())? else {
                    return Err(bad());
                };
                Ok(PathElement::key(fields.iter().map(|(k, v)| (k.as_str(), v))))
            }
            "v" => serde_json::from_str::<Value>(rest).map(|v| PathElement::value(&v)).map_err(|_| bad()),
            "i" => rest.parse().map(PathElement::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for PathElement {
    /// The element as the apiserver prints it in conflicts: `.replicas`,
    /// `[name="app"]`, `[=value]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(key) => {
                let fields: serde_json::Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", json(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(value) => write!(f, "[={value}]"),
            PathElement::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// A path as the apiserver prints it: `.spec.template.spec.containers[name="app"].image`.
pub fn display(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_compact_json() {
        let port = json!(80);
        let protocol = json!("TCP");
        let key = PathElement::key([("protocol", &protocol), ("containerPort", &port)]);
        assert_eq!(key.encode(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(key.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
    }

    #[test]
    fn elements_round_trip() {
        for encoded in [r#"f:spec"#, r#"k:{"name":"app"}"#, r#"v:"example.com/finalizer""#, "i:3"] {
            assert_eq!(PathElement::decode(encoded).expect("decodes").encode(), encoded);
        }
        assert!(PathElement::decode("x:1").is_err());
        assert!(PathElement::decode("k:[1]").is_err());
    }

    #[test]
    fn paths_print_like_the_apiserver() {
        let path = [
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::key([("name", &json!("app"))]),
            PathElement::Field("image".into()),
        ];
        assert_eq!(display(&path), r#".spec.containers[name="app"].image"#);
        assert_eq!(PathElement::value(&json!("a")).to_string(), r#"[="a"]"#);
    }
}
