//! Structural defaulting, as the apiserver does before validation: a property that is
//! missing gets the schema's `default`, and defaulting continues inside the values it
//! leaves, including the defaults it just placed.

use serde_json::Value;

/// Fills in the defaults `schema` declares, in place.
pub fn apply(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                map.values_mut().for_each(|v| apply(additional, v));
                return;
            }
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
            for (name, property) in properties {
                if let Some(default) = property.get("default")
                    && !map.contains_key(name)
                {
                    map.insert(name.clone(), default.clone());
                }
                if let Some(child) = map.get_mut(name) {
                    apply(property, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                items.iter_mut().for_each(|item| apply(item_schema, item));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn missing_fields_get_defaults_and_defaults_are_defaulted() {
        let schema = json!({"type": "object", "properties": {
            "mode": {"type": "string", "default": "Enforce"},
            "window": {"type": "object", "default": {}, "properties": {"zone": {"type": "string", "default": "UTC"}}},
            "rules": {"type": "array", "items": {"type": "object", "properties": {"on": {"type": "boolean", "default": true}}}},
        }});
        let mut object = json!({"mode": "Audit", "rules": [{}, {"on": false}]});
        apply(&schema, &mut object);
        assert_eq!(object, json!({"mode": "Audit", "window": {"zone": "UTC"}, "rules": [{"on": true}, {"on": false}]}));
    }
}
