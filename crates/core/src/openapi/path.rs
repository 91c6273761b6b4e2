//! Field paths inside an object, printed the way the apiserver names fields in causes
//! (`spec.rules[0].name`, `spec.labels[team]`), and read back from the paths CEL rules
//! report.

use std::fmt;

use serde_json::Value;

/// One step down into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A property of a structure.
    Field(String),
    /// An item of a list.
    Index(usize),
    /// A value of a map (a schema with `additionalProperties`).
    Key(String),
}

/// A path from the root of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The root of the object.
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path of a property below this one.
    pub fn field(&self, name: &str) -> Path {
        self.with(Segment::Field(name.to_string()))
    }

    /// The path of a list item below this one.
    pub fn index(&self, index: usize) -> Path {
        self.with(Segment::Index(index))
    }

    /// The path of a map value below this one.
    pub fn key(&self, key: &str) -> Path {
        self.with(Segment::Key(key.to_string()))
    }

    /// The path one step up; the root is its own parent.
    pub fn parent(&self) -> Path {
        Path(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    fn with(&self, segment: Segment) -> Path {
        let mut segments = self.0.clone();
        segments.push(segment);
        Path(segments)
    }

    /// The value at this path in `object`, if there is one.
    pub fn lookup<'a>(&self, object: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(object, |value, segment| match segment {
            Segment::Field(name) | Segment::Key(name) => value.get(name),
            Segment::Index(index) => value.get(*index),
        })
    }

    /// Reads a path as CEL errors report it: dotted names, an optional leading dot, list
    /// indexes in brackets and map keys in quoted brackets.
    pub fn parse(text: &str) -> Path {
        let mut segments = Vec::new();
        let mut name = String::new();
        let mut chars = text.chars();
        let flush = |name: &mut String, segments: &mut Vec<Segment>| {
            if !name.is_empty() {
                segments.push(Segment::Field(std::mem::take(name)));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '.' => flush(&mut name, &mut segments),
                '[' => {
                    flush(&mut name, &mut segments);
                    let inside: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    let unquoted = inside.trim_matches(|c| c == '\'' || c == '"');
                    segments.push(match inside.parse::<usize>() {
                        Ok(index) => Segment::Index(index),
                        Err(_) => Segment::Key(unquoted.to_string()),
                    });
                }
                other => name.push(other),
            }
        }
        flush(&mut name, &mut segments);
        Path(segments)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "<root>");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => write!(f, "{name}")?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write!(f, "[{key}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_print_like_the_apiserver_and_find_their_value() {
        let path = Path::root().field("spec").field("rules").index(1).field("labels").key("team");
        assert_eq!(path.to_string(), "spec.rules[1].labels[team]");
        let object = json!({"spec": {"rules": [{}, {"labels": {"team": "a"}}]}});
        assert_eq!(path.lookup(&object), Some(&json!("a")));
        assert_eq!(Path::root().to_string(), "<root>");
    }

    #[test]
    fn cel_paths_parse_back() {
        assert_eq!(
            Path::parse(".spec.items[2].name"),
            Path::root().field("spec").field("items").index(2).field("name")
        );
        assert_eq!(Path::parse("spec.labels['a.b']"), Path::root().field("spec").field("labels").key("a.b"));
        assert_eq!(Path::parse(""), Path::root());
    }
}
