//! Which parts of `object`, `oldObject` and `namespaceObject` a policy's expressions read,
//! found in their syntax trees, and those objects converted for CEL with only those parts.
//!
//! The CEL interpreter copies the whole selected value at every field selection
//! (`object.metadata` copies all of the metadata), so presenting an object pruned to what
//! the expressions can reach saves most of the copying. A field is kept whole where a
//! chain of selections from the variable ends (`object.metadata.labels['app']` keeps all
//! labels, `object.data.all(k, ...)` all of `data`), a `has()` test keeps the field's
//! presence, and any other use of the bare variable keeps everything. Every selection an
//! expression makes therefore finds the same value as in the whole object.
//!
//! Further, each chain of selections from these variables (`object.metadata.labels`) is
//! rewritten into one variable the request binds to the selected value once, so the
//! interpreter borrows it instead of copying at each step. A chain whose value does not
//! exist is left unbound: the rewritten expression then fails where the original fails
//! too, and the original is evaluated instead for its exact error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kube::core::cel::cel::Value as Cel;
use kube::core::cel::cel::common::ast::{EntryExpr, Expr, IdedExpr};
use kube::core::cel::cel::objects::Key;
use serde_json::Value;

use super::compile::children;
use super::values::{map_of, to_cel};

/// The parts of one object that are read: everything, or some fields (each with the parts
/// of it that are read). No fields and not whole: only the presence of the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paths {
    whole: bool,
    fields: BTreeMap<String, Paths>,
}

impl Paths {
    /// Everything.
    pub fn whole() -> Self {
        Paths { whole: true, fields: BTreeMap::new() }
    }

    /// Adds the value at `path` below this one: whole, or only its presence.
    fn add(&mut self, path: &[&str], whole: bool) {
        if self.whole {
            return;
        }
        match path.split_first() {
            None if whole => *self = Paths::whole(),
            None => {}
            Some((field, rest)) => self.fields.entry((*field).to_string()).or_default().add(rest, whole),
        }
    }

    /// What either reads.
    pub fn union(&mut self, other: &Paths) {
        if self.whole || other.whole {
            *self = Paths::whole();
            return;
        }
        for (field, paths) in &other.fields {
            self.fields.entry(field.clone()).or_default().union(paths);
        }
    }

    /// `value` for CEL with only the read parts; `metadata.managedFields` are left out
    /// unless `managed_fields`.
    pub fn project(&self, value: &Value, managed_fields: bool) -> Cel {
        let Value::Object(map) = value else { return to_cel(value) };
        let metadata = |field: &str, value: &Value, paths: &Paths| match value {
            Value::Object(metadata) if field == "metadata" && !managed_fields => {
                let kept = metadata.iter().filter(|(k, _)| k.as_str() != "managedFields");
                let kept = kept.filter(|(k, _)| paths.whole || paths.fields.contains_key(k.as_str()));
                let whole = Paths::whole();
                map_of(kept.map(|(k, v)| (k.as_str(), paths.fields.get(k).unwrap_or(&whole).below(v))))
            }
            _ => paths.below(value),
        };
        if self.whole {
            return map_of(map.iter().map(|(k, v)| (k.as_str(), metadata(k, v, &Paths::whole()))));
        }
        let read = self.fields.iter().filter_map(|(k, paths)| map.get(k).map(|v| (k.as_str(), metadata(k, v, paths))));
        map_of(read)
    }

    /// `value` for CEL with only the read parts.
    fn below(&self, value: &Value) -> Cel {
        match value {
            Value::Object(map) if !self.whole => {
                map_of(self.fields.iter().filter_map(|(k, paths)| map.get(k).map(|v| (k.as_str(), paths.below(v)))))
            }
            _ => to_cel(value),
        }
    }
}

/// What expressions read of each of the request's objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectReads {
    /// `object`.
    pub object: Option<Paths>,
    /// `oldObject`.
    pub old_object: Option<Paths>,
    /// `namespaceObject`.
    pub namespace_object: Option<Paths>,
    /// The chains of selections rewritten into variables of their own.
    pub chains: BTreeSet<Chain>,
}

impl ObjectReads {
    /// What `expression` reads.
    pub fn of(expression: &IdedExpr) -> Self {
        let mut reads = ObjectReads::default();
        let mut stack = vec![expression];
        while let Some(node) = stack.pop() {
            if let Some((name, path, whole)) = selection(node)
                && let Some(paths) = reads.slot(name)
            {
                paths.get_or_insert_with(Paths::default).add(&path, whole);
                continue;
            }
            stack.extend(children(node));
        }
        reads
    }

    /// What either reads.
    pub fn union(&mut self, other: &ObjectReads) {
        for (mine, theirs) in [
            (&mut self.object, &other.object),
            (&mut self.old_object, &other.old_object),
            (&mut self.namespace_object, &other.namespace_object),
        ] {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(Paths::default).union(theirs);
            }
        }
        self.chains.extend(other.chains.iter().cloned());
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<Paths>> {
        match name {
            "object" => Some(&mut self.object),
            "oldObject" => Some(&mut self.old_object),
            "namespaceObject" => Some(&mut self.namespace_object),
            _ => None,
        }
    }
}

/// The request's variables whose chains of selections are rewritten.
const ROOTS: [&str; 3] = ["object", "oldObject", "namespaceObject"];

/// A chain of one or more field selections from one of the request's objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chain {
    root: String,
    path: Vec<String>,
    name: String,
}

impl Chain {
    /// A chain of `path` from `root`.
    fn new(root: &str, path: &[&str]) -> Self {
        let name = format!("{root}.{}", path.join("."));
        Chain { root: root.to_string(), path: path.iter().map(|f| f.to_string()).collect(), name }
    }

    /// The name of the variable that holds the chain's value: the chain's own text, which
    /// no expression can name (a dotted name is always parsed as selections).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The variable the chain starts from.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// What selecting the chain from `root` yields, as the interpreter selects: a
    /// selection from a value that is not a map is `false`; a missing field has no value.
    pub fn select(&self, root: &Cel) -> Option<Cel> {
        let mut current = root.clone();
        for field in &self.path {
            current = match &current {
                Cel::Map(map) => map.map.get(&Key::String(Arc::new(field.clone())))?.clone(),
                _ => Cel::Bool(false),
            };
        }
        Some(current)
    }
}

/// `expression` with its chains of selections from the request's objects replaced by
/// variables, and those chains; `None` if it has none.
pub fn rewrite(expression: &IdedExpr) -> Option<(IdedExpr, BTreeSet<Chain>)> {
    let mut rewritten = expression.clone();
    let mut chains = BTreeSet::new();
    replace_chains(&mut rewritten, &mut Vec::new(), &mut chains);
    (!chains.is_empty()).then_some((rewritten, chains))
}

/// Replaces the chains in `node`, except from the names comprehensions bind in their
/// scope (`shadowed`). Recurses once per level: compiled expressions are bounded in depth.
fn replace_chains(node: &mut IdedExpr, shadowed: &mut Vec<String>, chains: &mut BTreeSet<Chain>) {
    if let Some((root, path, true)) = selection(node)
        && !path.is_empty()
        && ROOTS.contains(&root)
        && !shadowed.iter().any(|s| s == root)
    {
        let chain = Chain::new(root, &path);
        node.expr = Expr::Ident(chain.name().to_string());
        chains.insert(chain);
        return;
    }
    match &mut node.expr {
        Expr::Select(select) => replace_chains(&mut select.operand, shadowed, chains),
        Expr::Call(call) => {
            if let Some(target) = call.target.as_mut() {
                replace_chains(target, shadowed, chains);
            }
            call.args.iter_mut().for_each(|arg| replace_chains(arg, shadowed, chains));
        }
        Expr::Comprehension(c) => {
            replace_chains(&mut c.iter_range, shadowed, chains);
            replace_chains(&mut c.accu_init, shadowed, chains);
            let bound = [Some(&c.iter_var), c.iter_var2.as_ref(), Some(&c.accu_var)];
            let before = shadowed.len();
            shadowed.extend(bound.into_iter().flatten().cloned());
            for part in [&mut c.loop_cond, &mut c.loop_step, &mut c.result] {
                replace_chains(part, shadowed, chains);
            }
            shadowed.truncate(before);
        }
        Expr::List(list) => list.elements.iter_mut().for_each(|e| replace_chains(e, shadowed, chains)),
        Expr::Map(map) => map.entries.iter_mut().for_each(|e| replace_in_entry(&mut e.expr, shadowed, chains)),
        Expr::Struct(s) => s.entries.iter_mut().for_each(|e| replace_in_entry(&mut e.expr, shadowed, chains)),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn replace_in_entry(entry: &mut EntryExpr, shadowed: &mut Vec<String>, chains: &mut BTreeSet<Chain>) {
    match entry {
        EntryExpr::StructField(field) => replace_chains(&mut field.value, shadowed, chains),
        EntryExpr::MapEntry(e) => {
            replace_chains(&mut e.key, shadowed, chains);
            replace_chains(&mut e.value, shadowed, chains);
        }
    }
}

/// A chain of field selections from an identifier, or the bare identifier: its name, the
/// fields selected (outermost last) and whether the value is used whole (false for a
/// `has()` test, which reads only the field's presence).
fn selection(node: &IdedExpr) -> Option<(&str, Vec<&str>, bool)> {
    let mut path = Vec::new();
    let whole = !matches!(&node.expr, Expr::Select(select) if select.test);
    let mut current = node;
    loop {
        match &current.expr {
            Expr::Select(select) => {
                path.push(select.field.as_str());
                current = &select.operand;
            }
            Expr::Ident(name) => {
                path.reverse();
                return Some((name.as_str(), path, whole));
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::cel::KubeCelExt;
    use kube::core::cel::cel::{Context, Program};
    use serde_json::json;

    fn reads(source: &str) -> ObjectReads {
        ObjectReads::of(Program::compile(source).expect("compiles").expression())
    }

    fn projected(source: &str, object: &Value) -> Cel {
        reads(source).object.expect("reads object").project(object, false)
    }

    fn sample() -> Value {
        json!({
            "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}, "managedFields": [{"manager": "m"}]},
            "spec": {"replicas": 2, "template": {"image": "i"}},
            "data": {"k1": "v1", "k2": "v2"}
        })
    }

    #[test]
    fn a_label_read_keeps_only_the_labels() {
        let got = projected("object.metadata.labels['x'] == '1'", &sample());
        assert_eq!(got, to_cel(&json!({"metadata": {"labels": {"x": "1", "y": "2"}}})));
    }

    #[test]
    fn has_keeps_the_field_and_not_what_is_under_it() {
        assert_eq!(projected("has(object.spec)", &sample()), to_cel(&json!({"spec": {}})));
        let got = projected("has(object.spec) && object.spec.replicas > 1", &sample());
        assert_eq!(got, to_cel(&json!({"spec": {"replicas": 2}})));
        assert_eq!(projected("has(object.nothing)", &sample()), to_cel(&json!({})));
    }

    #[test]
    fn the_bare_object_keeps_everything_but_managed_fields() {
        let mut expected = sample();
        if let Some(metadata) = expected["metadata"].as_object_mut() {
            metadata.remove("managedFields");
        }
        assert_eq!(projected("object != null", &sample()), to_cel(&expected));
        assert_eq!(projected("object.size() > 1 && object.metadata.name == 'a'", &sample()), to_cel(&expected));
    }

    #[test]
    fn a_comprehension_keeps_what_it_ranges_over() {
        let got = projected("object.data.all(k, k.startsWith('k'))", &sample());
        assert_eq!(got, to_cel(&json!({"data": {"k1": "v1", "k2": "v2"}})));
    }

    #[test]
    fn other_variables_are_separate_and_unread_ones_absent() {
        let reads = reads("oldObject.metadata.name == namespaceObject.metadata.name");
        assert_eq!(reads.object, None);
        assert!(reads.old_object.is_some() && reads.namespace_object.is_some());
    }

    /// Every expression finds the same result in the projected object as in the whole one,
    /// and its rewritten form the same value, or an error where the original fails too.
    #[test]
    fn projection_and_rewriting_never_change_a_result() {
        let object = sample();
        let expressions = [
            "object.metadata.labels['x'] == '1'",
            "object.metadata.labels.size()",
            "has(object.metadata.labels) && 'y' in object.metadata.labels",
            "has(object.spec.template) ? object.spec.template.image : 'none'",
            "has(object.spec.nothing)",
            "has(object.spec)",
            "object.data.all(k, k.startsWith('k'))",
            "object.data.exists(k, object.data[k] == 'v2')",
            "object.spec.replicas + 1",
            "object.metadata.name.size() <= 253",
            "object.metadata.missing",
            "object.metadata.missing == 'x' || true",
            "object.metadata.missing.deeper == 'x' && false",
            "object.spec.replicas.nothing",
            "object.spec.replicas.nothing.further",
            "oldObject.metadata.name",
            "[object.metadata.name].all(n, n.size() > 0)",
            "{'a': object.spec}.a.replicas",
            "object.metadata.labels.exists(k, k == 'x')",
            "[{'metadata': {'name': 'z'}}].all(object, object.metadata.name == 'z')",
            "object.data.exists(object, object == 'k2')",
            "object.metadata.managedFields.size()",
            "object.metadata.size()",
            "object == object",
        ];
        for source in expressions {
            let program = Program::compile(source).expect("compiles");
            let managed_fields = source.contains("managedFields");
            let scope = |value: Cel, chains: &BTreeSet<Chain>| {
                let mut root = Context::default().with_all();
                for chain in chains {
                    let start = if chain.root() == "object" { value.clone() } else { Cel::Null };
                    if let Some(selected) = chain.select(&start) {
                        root.add_variable_from_value(chain.name(), selected);
                    }
                }
                root.add_variable_from_value("object", value);
                root.add_variable_from_value("oldObject", Cel::Null);
                root
            };
            let none = BTreeSet::new();
            let whole = program.execute(&scope(Paths::whole().project(&object, managed_fields), &none));
            let whole = whole.map_err(|e| e.to_string());
            let projected = match reads(source).object {
                Some(paths) => paths.project(&object, managed_fields),
                None => Cel::Null,
            };
            let pruned = program.execute(&scope(projected.clone(), &none)).map_err(|e| e.to_string());
            assert_eq!(pruned, whole, "{source}");
            if let Some((fast, chains)) = rewrite(program.expression()) {
                match Cel::resolve(&fast, &scope(projected, &chains)) {
                    Ok(value) => assert_eq!(Ok(value), whole, "{source}"),
                    Err(e) => assert!(whole.is_err(), "{source}: {e}, where the original is {whole:?}"),
                }
            }
        }
    }

    #[test]
    fn chains_are_rewritten_except_where_a_comprehension_rebinds_the_name() {
        let chains = |source: &str| {
            let program = Program::compile(source).expect("compiles");
            rewrite(program.expression())
                .map(|(_, chains)| chains.iter().map(|c| c.name().to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            chains("has(object.metadata.labels) && object.metadata.labels['x'] == oldObject.spec.a.b"),
            Some(vec![
                "object.metadata".to_string(),
                "object.metadata.labels".to_string(),
                "oldObject.spec.a.b".to_string()
            ])
        );
        assert_eq!(chains("[1].all(object, object.x == 1)"), None);
        assert_eq!(chains("has(object.spec) && object != null && params.x == 1"), None);
        assert_eq!(
            chains("object.items.all(i, i.x == object.y)"),
            Some(vec!["object.items".to_string(), "object.y".to_string()])
        );
    }
}
