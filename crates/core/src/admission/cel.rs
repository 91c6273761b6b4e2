//! CEL text for the generated admission rules: literals, the value at a path of the
//! request's object, and label selectors.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

/// One step of a path into an object: a map key, or the item of a keyed list with these
/// key fields and values.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Item(Vec<(String, Value)>),
}

/// A CEL string literal of `text`, with every character that could end or bend it escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The items of a CEL list literal of strings, without the brackets: `'a', 'b'`.
pub fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items.into_iter().map(|item| string(item)).collect::<Vec<_>>().join(", ")
}

/// The CEL literal of a JSON scalar, or of a list of them; `None` for what has no exact
/// CEL literal here (maps, numbers that are not integers).
pub fn literal(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_i64()?.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) => format!("[{}]", items.iter().map(literal).collect::<Option<Vec<_>>>()?.join(", ")),
        Value::Object(_) => return None,
    })
}

/// The CEL literal of a map whose values are scalars (an atomic map such as
/// `nodeSelector`); `None` otherwise.
pub fn literal_map(value: &Value) -> Option<String> {
    let Value::Object(map) = value else { return None };
    let entries = map
        .iter()
        .map(|(k, v)| match v {
            Value::Array(_) | Value::Object(_) => None,
            v => Some(format!("{}: {}", string(k), literal(v)?)),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(format!("{{{}}}", entries.join(", ")))
}

/// Words CEL reserves: a field of that name is selected with an index instead.
const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "false",
    "for",
    "function",
    "if",
    "import",
    "in",
    "let",
    "loop",
    "package",
    "namespace",
    "null",
    "return",
    "true",
    "var",
    "void",
    "while",
];

/// Whether `field` may be selected as `x.field` (and tested as `has(x.field)`).
fn selectable(field: &str) -> bool {
    let mut chars = field.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&field)
}

/// `base.field` and the test that it is present.
fn select(base: &str, field: &str) -> (String, String) {
    if selectable(field) {
        (format!("{base}.{field}"), format!("has({base}.{field})"))
    } else {
        let key = string(field);
        (format!("{base}[{key}]"), format!("{key} in {base}"))
    }
}

/// The test that a list item has these key fields and values.
fn item_test(variable: &str, key: &[(String, Value)]) -> Option<String> {
    let tests = key
        .iter()
        .map(|(field, value)| {
            let (selected, present) = select(variable, field);
            Some(format!("{present} && {selected} == {}", literal(value)?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(tests.join(" && "))
}

/// The value at `steps` from `root` (`object` or `oldObject`), or `null` where any step is
/// missing. `root` itself must not be null.
pub fn value_at(root: &str, steps: &[Step]) -> Option<String> {
    let mut current = root.to_string();
    let mut tests: Vec<String> = Vec::new();
    for step in steps {
        let (next, present) = match step {
            Step::Field(field) => select(&current, field),
            Step::Item(key) => {
                let test = item_test("i", key)?;
                (format!("{current}.filter(i, {test})[0]"), format!("{current}.exists(i, {test})"))
            }
        };
        tests.push(present);
        current = next;
    }
    Some(match tests.is_empty() {
        true => current,
        false => format!("({}) ? {current} : null", tests.join(" && ")),
    })
}

/// The test that the labels at `labels` (a CEL map, present when `present` holds) match
/// `selector`; `None` for an operator it does not know (the policy refuses those). An
/// absent map has no labels; no map literal is written, so the test stays within what
/// admission evaluates fastest.
pub fn selector_matches(labels: &str, present: &str, selector: &LabelSelector) -> Option<String> {
    let mut tests: Vec<String> = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        let key = string(key);
        tests.push(format!("({present} && {key} in {labels} && {labels}[{key}] == {})", string(value)));
    }
    for requirement in selector.match_expressions.iter().flatten() {
        let key = string(&requirement.key);
        let values = strings(requirement.values.iter().flatten());
        tests.push(match requirement.operator.as_str() {
            "In" => format!("({present} && {key} in {labels} && {labels}[{key}] in [{values}])"),
            "NotIn" => format!("(!({present}) || !({key} in {labels}) || !({labels}[{key}] in [{values}]))"),
            "Exists" => format!("({present} && {key} in {labels})"),
            "DoesNotExist" => format!("(!({present}) || !({key} in {labels}))"),
            _ => return None,
        });
    }
    Some(match tests.is_empty() {
        true => "true".to_string(),
        false => tests.join(" && "),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn literals_are_escaped_and_only_exact_ones_are_made() {
        assert_eq!(string("it's a \\ test\n"), r"'it\'s a \\ test\n'");
        assert_eq!(literal(&json!(["a", 3, true, null])).as_deref(), Some("['a', 3, true, null]"));
        assert_eq!(literal(&json!(1.5)), None);
        assert_eq!(literal(&json!({"a": 1})), None);
    }

    #[test]
    fn a_path_is_read_through_presence_tests() {
        let steps = [
            Step::Field("spec".into()),
            Step::Field("template".into()),
            Step::Field("containers".into()),
            Step::Item(vec![("name".into(), json!("app"))]),
            Step::Field("image".into()),
        ];
        assert_eq!(
            value_at("object", &steps).unwrap(),
            "(has(object.spec) && has(object.spec.template) && has(object.spec.template.containers) && \
             object.spec.template.containers.exists(i, has(i.name) && i.name == 'app') && \
             has(object.spec.template.containers.filter(i, has(i.name) && i.name == 'app')[0].image)) ? \
             object.spec.template.containers.filter(i, has(i.name) && i.name == 'app')[0].image : null"
        );
        let label = [
            Step::Field("metadata".into()),
            Step::Field("labels".into()),
            Step::Field("app.kubernetes.io/name".into()),
        ];
        assert_eq!(
            value_at("oldObject", &label).unwrap(),
            "(has(oldObject.metadata) && has(oldObject.metadata.labels) && 'app.kubernetes.io/name' in \
             oldObject.metadata.labels) ? oldObject.metadata.labels['app.kubernetes.io/name'] : null"
        );
        assert_eq!(value_at("object", &[Step::Field("in".into())]).unwrap(), "('in' in object) ? object['in'] : null");
    }

    #[test]
    fn selectors_become_label_tests() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]},
                                 {"key": "team", "operator": "Exists"}]
        }))
        .unwrap();
        assert_eq!(
            selector_matches("l", "has(l)", &selector).unwrap(),
            "(has(l) && 'app' in l && l['app'] == 'web') && (!(has(l)) || !('tier' in l) || !(l['tier'] in ['db'])) && \
             (has(l) && 'team' in l)"
        );
        assert_eq!(selector_matches("l", "has(l)", &LabelSelector::default()).unwrap(), "true");
    }
}
