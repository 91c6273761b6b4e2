//! JSON pointers (RFC 6901) as driftwarden writes them, and the path patterns of ignore
//! rules.
//!
//! Map keys are escaped the RFC 6901 way (`~` as `~0`, `/` as `~1`), so the annotation
//! `driftwarden.dev/enforce` is `/metadata/annotations/driftwarden.dev~1enforce`. Items of
//! keyed lists are addressed by their merge key rather than their position, which is
//! stable while the list is reordered: `name=app`, or `containerPort=80,protocol=TCP` for
//! a key of several fields.

use std::fmt;

/// Escapes one reference token (a map key) of a JSON pointer.
pub fn escape(token: &str) -> String {
    if token.contains(['~', '/']) { token.replace('~', "~0").replace('/', "~1") } else { token.to_string() }
}

/// Undoes [`escape`].
pub fn unescape(token: &str) -> String {
    if token.contains('~') { token.replace("~1", "/").replace("~0", "~") } else { token.to_string() }
}

/// Splits a JSON pointer into its unescaped reference tokens. `""` is the whole document.
pub fn split(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer.trim_start_matches('/').split('/').map(unescape).collect()
}

/// Joins unescaped reference tokens into a JSON pointer.
pub fn join<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut out = String::new();
    for token in tokens {
        out.push('/');
        out.push_str(&escape(token.as_ref()));
    }
    out
}

/// The token that addresses an item of a keyed list, from its merge-key fields and values,
/// for example `name=app` or `containerPort=80,protocol=TCP`.
pub fn item_token<'a>(key: impl IntoIterator<Item = (&'a str, String)>) -> String {
    key.into_iter().map(|(field, value)| format!("{field}={value}")).collect::<Vec<_>>().join(",")
}

/// Why a path pattern is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("path {0:?} must be a JSON pointer starting with '/'")]
    NotAPointer(String),
    #[error("path {0:?} has an empty segment")]
    EmptySegment(String),
    #[error("path {0:?} has a '~' that is not an escape: write '~0' for '~' and '~1' for '/'")]
    BadEscape(String),
}

/// One segment of a [`PathPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternSegment {
    /// `*`: any map key or list item.
    Any,
    Literal(String),
}

/// A JSON pointer in which `*` stands for any map key or list item. A pattern matches a
/// path when it matches the path or one of its parents: ignoring `/metadata/annotations`
/// ignores every annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segments: Vec<PatternSegment>,
}

impl PathPattern {
    /// Parses a pattern such as `/spec/template/spec/containers/*/image`.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        if !pattern.starts_with('/') {
            return Err(PatternError::NotAPointer(pattern.to_string()));
        }
        let mut after_tilde = pattern.split('~').skip(1);
        if after_tilde.any(|rest| !rest.starts_with(['0', '1'])) {
            return Err(PatternError::BadEscape(pattern.to_string()));
        }
        // Every segment counts, the first included: `//a` has an empty one.
        let segments = pattern[1..]
            .split('/')
            .map(unescape)
            .map(|token| match token.as_str() {
                "" => Err(PatternError::EmptySegment(pattern.to_string())),
                "*" => Ok(PatternSegment::Any),
                _ => Ok(PatternSegment::Literal(token)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { source: pattern.to_string(), segments })
    }

    /// Whether this pattern covers the path given as unescaped tokens.
    pub fn matches_tokens<S: AsRef<str>>(&self, tokens: &[S]) -> bool {
        self.segments.len() <= tokens.len()
            && self.segments.iter().zip(tokens).all(|(segment, token)| match segment {
                PatternSegment::Any => true,
                PatternSegment::Literal(literal) => literal == token.as_ref(),
            })
    }

    /// Whether this pattern covers the JSON pointer `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.matches_tokens(&split(path))
    }

    /// How many segments the pattern has: a path is covered once that many of its tokens
    /// match.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether segment `index` of this pattern matches the unescaped token `token`; false
    /// past the last segment. Lets a walker match patterns one level at a time without
    /// building whole paths.
    pub fn segment_matches(&self, index: usize, token: &str) -> bool {
        match self.segments.get(index) {
            Some(PatternSegment::Any) => true,
            Some(PatternSegment::Literal(literal)) => literal == token,
            None => false,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_annotation_keys_both_ways() {
        let tokens = ["metadata", "annotations", "driftwarden.dev/enforce", "a~b"];
        let pointer = join(&tokens);
        assert_eq!(pointer, "/metadata/annotations/driftwarden.dev~1enforce/a~0b");
        assert_eq!(split(&pointer), tokens);
        assert!(split("").is_empty());
    }

    #[test]
    fn item_tokens_join_key_fields() {
        let token = item_token([("containerPort", "80".to_string()), ("protocol", "TCP".to_string())]);
        assert_eq!(token, "containerPort=80,protocol=TCP");
    }

    #[test]
    fn patterns_match_paths_and_their_children() {
        let pattern = PathPattern::parse("/spec/template/spec/containers/*/image").unwrap();
        assert!(pattern.matches("/spec/template/spec/containers/name=app/image"));
        assert!(pattern.matches("/spec/template/spec/containers/name=sidecar/image/extra"));
        assert!(!pattern.matches("/spec/template/spec/containers/name=app/env"));
        assert!(!pattern.matches("/spec/template/spec/containers"));

        let annotations = PathPattern::parse("/metadata/annotations").unwrap();
        assert!(annotations.matches("/metadata/annotations/driftwarden.dev~1enforce"));
        let escaped = PathPattern::parse("/metadata/labels/app.kubernetes.io~1name").unwrap();
        assert!(escaped.matches("/metadata/labels/app.kubernetes.io~1name"));
        assert!(!escaped.matches("/metadata/labels/app"));
    }

    #[test]
    fn segments_match_one_level_at_a_time() {
        let pattern = PathPattern::parse("/spec/*/image").unwrap();
        assert_eq!(pattern.segment_count(), 3);
        assert!(pattern.segment_matches(0, "spec"));
        assert!(pattern.segment_matches(1, "name=app"));
        assert!(!pattern.segment_matches(2, "env"));
        assert!(!pattern.segment_matches(3, "image"));
    }

    #[test]
    fn rejects_patterns_that_are_not_pointers() {
        assert_eq!(PathPattern::parse("spec/replicas"), Err(PatternError::NotAPointer("spec/replicas".into())));
        assert_eq!(PathPattern::parse("/spec//replicas"), Err(PatternError::EmptySegment("/spec//replicas".into())));
        for bad in ["/metadata/annotations/a~2b", "/metadata/labels/x~", "/a~/b", "/~~0"] {
            assert_eq!(PathPattern::parse(bad), Err(PatternError::BadEscape(bad.into())), "{bad}");
        }
        let escaped = PathPattern::parse("/metadata/annotations/a~0b~1c").unwrap();
        assert!(escaped.matches_tokens(&["metadata", "annotations", "a~b/c"]));
    }

    /// What the CRD's pattern admits, the parser reads, and the other way round.
    #[test]
    fn the_crd_pattern_and_the_parser_agree() {
        let pattern = regex::Regex::new(crate::api::common::PATH_PATTERN).unwrap();
        for path in [
            "/spec/replicas",
            "/spec/*/image",
            "/metadata/annotations/a~0b~1c",
            "spec",
            "/",
            "/spec//x",
            "//spec",
            "/a~2",
            "/a~",
            "/~~1",
            "/spec/containers/name=app",
        ] {
            assert_eq!(pattern.is_match(path), PathPattern::parse(path).is_ok(), "{path}");
        }
    }
}
