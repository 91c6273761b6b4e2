//! The JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b` and filters
//! `.a[?(@.type=="Ready")].status`.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter { field: String, value: String },
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let mut steps = Vec::new();
    let mut rest = path.strip_prefix('.').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = &after[..end];
            steps.push(match inner {
                "*" => Step::All,
                _ if inner.starts_with("?(") => {
                    let body = inner.strip_prefix("?(@.")?.strip_suffix(')')?;
                    let (field, value) = body.split_once("==")?;
                    Step::Filter {
                        field: field.trim().to_string(),
                        value: value.trim().trim_matches(|c| c == '"' || c == '\'').to_string(),
                    }
                }
                _ => Step::Index(inner.parse().ok()?),
            });
            rest = &after[end + 1..];
        } else {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Field(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    Some(steps)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every value `path` selects in `object` (none when the path does not parse).
pub fn select<'a>(object: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else { return Vec::new() };
    let mut current = vec![object];
    for step in &steps {
        current = current
            .into_iter()
            .flat_map(|v| -> Vec<&Value> {
                match step {
                    Step::Field(name) => v.get(name).into_iter().collect(),
                    Step::Index(i) => v.get(i).into_iter().collect(),
                    Step::All => v.as_array().map(|a| a.iter().collect()).unwrap_or_default(),
                    Step::Filter { field, value } => v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter(|item| item.get(field).and_then(scalar_text).as_deref() == Some(value))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
    }
    current
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_indexes_and_filters() {
        let obj = json!({"spec": {"size": 3}, "status": {"conditions": [
            {"type": "Ready", "status": "True"}, {"type": "Stalled", "status": "False"}]}});
        assert_eq!(select(&obj, ".spec.size"), vec![&json!(3)]);
        assert_eq!(select(&obj, ".status.conditions[1].type"), vec![&json!("Stalled")]);
        assert_eq!(select(&obj, r#".status.conditions[?(@.type=="Ready")].status"#), vec![&json!("True")]);
        assert_eq!(select(&obj, ".status.conditions[*].type").len(), 2);
        assert!(select(&obj, ".spec.missing").is_empty());
    }
}
