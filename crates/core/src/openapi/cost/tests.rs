use serde_json::{Value, json};

use super::*;

/// The cost of `rule` on a node of `schema`, once.
fn rule_cost(schema: Value, rule: &str) -> u64 {
    let parsed = Parser::new().parse(rule).expect("the rule parses");
    expr::estimate(&parsed, &Decl::of(&schema))
}

fn strings(max_items: Option<u64>, max_length: Option<u64>) -> Value {
    let mut items = json!({"type": "string"});
    if let Some(length) = max_length {
        items["maxLength"] = json!(length);
    }
    let mut list = json!({"type": "array", "items": items});
    if let Some(max) = max_items {
        list["maxItems"] = json!(max);
    }
    list
}

/// A CRD root whose `spec.names` is `names`, carrying `rule`.
fn with_rule(names: Value, rule: &str) -> Value {
    let mut names = names;
    names["x-kubernetes-validations"] = json!([{"rule": rule}]);
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"names": names}}}})
}

#[test]
fn reads_calls_and_comparisons_cost_a_unit_each() {
    assert_eq!(rule_cost(strings(Some(5), None), "size(self) > 0"), 3);
    assert_eq!(rule_cost(json!({"type": "integer"}), "self >= 0 && self < 10"), 4);
    let object = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    assert_eq!(rule_cost(object.clone(), "has(self.a)"), 2);
    assert_eq!(rule_cost(object, "self.a == 1"), 2, "self, the field select, and == on a field of size 0");
}

#[test]
fn membership_walks_a_list_but_not_a_map() {
    let labels = json!({"type": "object", "additionalProperties": {"type": "string"}});
    assert_eq!(rule_cost(labels, "'app' in self"), 2);
    assert_eq!(rule_cost(strings(Some(50), Some(10)), "'app' in self"), 1 + 50);
}

#[test]
fn string_work_costs_a_tenth_per_character() {
    let name = json!({"type": "string", "maxLength": 63});
    assert_eq!(rule_cost(name.clone(), "self == 'web'"), 1 + 1, "equality traverses the shorter string");
    assert_eq!(rule_cost(name.clone(), "self.startsWith('kube-')"), 1 + 1);
    assert_eq!(rule_cost(name.clone(), "self.contains('x')"), 1 + 26, "63 characters of 4 bytes, a tenth each");
    assert_eq!(rule_cost(name.clone(), "self.matches('^[a-z]+$')"), 1 + 26 * 2);
    let unbounded = rule_cost(json!({"type": "string"}), "self.contains('x')");
    assert_eq!(unbounded, 1 + (MAX_REQUEST_SIZE_BYTES - 2).div_ceil(10));
}

#[test]
fn comprehensions_multiply_by_the_most_items_of_their_range() {
    let bounded = rule_cost(strings(Some(10), Some(10)), "self.all(x, x.startsWith('a'))");
    let per_item = 2 + 1 + (1 + 1);
    assert_eq!(bounded, 1 + 1 + 10 * per_item);
    let exists = rule_cost(strings(Some(10), Some(10)), "self.exists(x, x == 'a')");
    assert!(exists > bounded, "exists negates its accumulator in its condition");
    let mapped = rule_cost(strings(Some(10), Some(10)), "self.map(x, x + 'a').all(y, y != '')");
    let filtered = rule_cost(strings(Some(10), Some(10)), "self.filter(x, x != '').size() == 10");
    assert!(mapped > bounded && filtered > 10 * 10, "{mapped} {filtered}");
}

#[test]
fn nested_iteration_over_an_unbounded_list_is_over_budget() {
    let rule = "self.all(x, self.all(y, x == y))";
    let unbounded = over_budget(&with_rule(strings(None, None), rule));
    assert_eq!(unbounded.len(), 3, "{unbounded:?}");
    assert_eq!(unbounded[0].path, "properties[spec].properties[names].x-kubernetes-validations[0].rule");
    assert_eq!(
        unbounded[0].message,
        "estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding \
         maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    assert_eq!(
        unbounded[1].message,
        "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"
    );
    assert_eq!(unbounded[2].path, "");
    assert!(unbounded[2].message.starts_with("x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x"));

    assert!(over_budget(&with_rule(strings(Some(10), Some(253)), rule)).is_empty());
    let long_strings = over_budget(&with_rule(strings(Some(10), None), rule));
    assert_eq!(long_strings.len(), 1, "ten unbounded strings compared pairwise: {long_strings:?}");
    assert!(
        long_strings[0].message.starts_with("estimated rule cost exceeds budget by factor of 3.1x"),
        "{long_strings:?}"
    );
}

#[test]
fn rules_inside_unbounded_lists_run_once_per_item_that_fits_a_request() {
    let item = json!({"type": "string", "x-kubernetes-validations": [{"rule": "self.contains('x')"}]});
    let schema = json!({"type": "object", "properties": {"tags": {"type": "array", "items": item}}});
    let costs = expression_costs(&schema);
    assert_eq!(costs[0].path, "properties[tags].items.x-kubernetes-validations[0].rule");
    let once = 1 + (MAX_REQUEST_SIZE_BYTES - 2).div_ceil(10);
    assert_eq!(costs[0].cost, once * (MAX_REQUEST_SIZE_BYTES / 3));

    let mut bounded = schema.clone();
    bounded["properties"]["tags"]["maxItems"] = json!(20);
    bounded["properties"]["tags"]["items"]["maxLength"] = json!(63);
    assert_eq!(expression_costs(&bounded)[0].cost, 20 * (1 + 26));
    assert!(over_budget(&bounded).is_empty());
}

#[test]
fn factors_are_worded_as_the_apiserver_words_them() {
    assert!(cost_message("estimated rule cost", 12_000_000, RULE_COST_LIMIT).contains("by factor of 1.200000x"));
    assert!(cost_message("estimated rule cost", 25_000_000, RULE_COST_LIMIT).contains("by factor of 2.5x"));
}

/// The largest `maxItems` a cluster accepts for `self.all(x, x.contains('gpu'))` on a list
/// of strings of `maxLength` L, as measured against the apiserver's own CRD validation:
/// (16, 909090), (63, 333333), (253, 94339), (1024, 24154).
#[test]
fn agrees_with_the_bounds_a_cluster_accepts() {
    for (max_length, largest) in [(16, 909_090), (63, 333_333), (253, 94_339), (1024, 24_154)] {
        let rule = "self.all(x, x.contains('gpu'))";
        let accepted = with_rule(strings(Some(largest), Some(max_length)), rule);
        assert!(over_budget(&accepted).is_empty(), "maxLength {max_length}, maxItems {largest}");
        let refused = with_rule(strings(Some(largest + 1), Some(max_length)), rule);
        assert_eq!(over_budget(&refused).len(), 1, "maxLength {max_length}, maxItems {}", largest + 1);
    }
}
