//! JSON to CEL values, as the API server presents objects to admission expressions: map
//! keys are kept as they are (`object.metadata.labels['app.kubernetes.io/name']` finds
//! the label), whole numbers are `int`, other numbers `double`.

use std::collections::HashMap;
use std::sync::Arc;

use kube::core::cel::cel::Value as Cel;
use kube::core::cel::cel::objects::{Key, Map};
use serde_json::Value;

/// The CEL value of a JSON value.
pub fn to_cel(value: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Cel::Int(i),
            (None, Some(u), _) => Cel::UInt(u),
            (_, _, Some(f)) => Cel::Float(f),
            _ => Cel::Null,
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => map_of(map.iter().map(|(k, v)| (k.as_str(), to_cel(v)))),
    }
}

/// A CEL map with string keys.
pub fn map_of<'a>(entries: impl IntoIterator<Item = (&'a str, Cel)>) -> Cel {
    let map: HashMap<Key, Cel> = entries.into_iter().map(|(k, v)| (Key::String(Arc::new(k.to_string())), v)).collect();
    Cel::Map(Map { map: Arc::new(map) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_with_dots_and_slashes_are_kept_and_numbers_keep_their_kind() {
        let object = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "n": 3, "f": 1.5});
        let Cel::Map(map) = to_cel(&object) else { panic!("a map") };
        let Some(Cel::Map(metadata)) = map.map.get(&Key::String(Arc::new("metadata".into()))) else {
            panic!("metadata")
        };
        let Some(Cel::Map(labels)) = metadata.map.get(&Key::String(Arc::new("labels".into()))) else {
            panic!("labels")
        };
        assert_eq!(
            labels.map.get(&Key::String(Arc::new("app.kubernetes.io/name".into()))),
            Some(&Cel::String(Arc::new("web".into())))
        );
        assert_eq!(map.map.get(&Key::String(Arc::new("n".into()))), Some(&Cel::Int(3)));
    }
}
