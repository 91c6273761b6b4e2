//! Ignore rules matched one level at a time while walking, so that no path is built for
//! fields that are not drift.

use std::borrow::Cow;

use crate::engine::pointer::PathPattern;

/// Which ignore patterns are still matching the path walked so far.
pub(crate) struct IgnoreTracker<'r> {
    patterns: &'r [PathPattern],
    /// Indices of the patterns whose leading segments match the path, one frame per
    /// level; `frames` holds where each level's indices start and end.
    active: Vec<u32>,
    frames: Vec<(usize, usize)>,
    /// Levels entered below the last level where a pattern still matched: nothing can be
    /// ignored there, so they are only counted.
    idle: usize,
}

impl<'r> IgnoreTracker<'r> {
    pub(crate) fn new(patterns: &'r [PathPattern]) -> Self {
        if patterns.is_empty() {
            return Self { patterns, active: Vec::new(), frames: Vec::new(), idle: 0 };
        }
        let count = u32::try_from(patterns.len()).unwrap_or(u32::MAX);
        let active: Vec<u32> = (0..count).collect();
        let frames = vec![(0, active.len())];
        Self { patterns, active, frames, idle: 0 }
    }

    /// Steps into the token at `depth` (its position in the path). Returns false, and
    /// stays where it was, when a pattern covers the path: the field is not governed.
    pub(crate) fn enter<'t>(&mut self, depth: usize, token: impl FnOnce() -> Cow<'t, str>) -> bool {
        if self.idle > 0 {
            self.idle += 1;
            return true;
        }
        let Some(&(start, end)) = self.frames.last() else { return true };
        let next = self.active.len();
        if start < end {
            let token = token();
            for position in start..end {
                let index = self.active[position];
                let pattern = &self.patterns[index as usize];
                if pattern.segment_matches(depth, &token) {
                    if pattern.segment_count() == depth + 1 {
                        self.active.truncate(next);
                        return false;
                    }
                    self.active.push(index);
                }
            }
        }
        if self.active.len() == next {
            self.idle = 1;
        } else {
            self.frames.push((next, self.active.len()));
        }
        true
    }

    /// Steps back out of the last token entered.
    pub(crate) fn leave(&mut self) {
        if self.idle > 0 {
            self.idle -= 1;
        } else if self.frames.len() > 1
            && let Some((start, _)) = self.frames.pop()
        {
            self.active.truncate(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(sources: &[&str]) -> Vec<PathPattern> {
        sources.iter().map(|source| PathPattern::parse(source).unwrap()).collect()
    }

    fn covered(tracker: &mut IgnoreTracker<'_>, tokens: &[&str]) -> bool {
        let mut entered = 0;
        let mut ignored = false;
        for (depth, token) in tokens.iter().enumerate() {
            if !tracker.enter(depth, || Cow::Borrowed(token)) {
                ignored = true;
                break;
            }
            entered += 1;
        }
        for _ in 0..entered {
            tracker.leave();
        }
        ignored
    }

    #[test]
    fn matches_like_path_patterns() {
        let rules = patterns(&["/spec/replicas", "/spec/template/spec/containers/*/image", "/metadata/annotations"]);
        let mut tracker = IgnoreTracker::new(&rules);
        for path in [
            "/spec/replicas",
            "/spec/template/spec/containers/name=app/image",
            "/metadata/annotations/a",
            "/spec/template/spec/containers/name=app/env",
            "/spec/template",
            "/metadata/labels/a",
        ] {
            let tokens = crate::engine::pointer::split(path);
            let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
            let expected = rules.iter().any(|rule| rule.matches(path));
            assert_eq!(covered(&mut tracker, &tokens), expected, "{path}");
        }
    }

    #[test]
    fn without_patterns_nothing_is_ignored() {
        let mut tracker = IgnoreTracker::new(&[]);
        assert!(!covered(&mut tracker, &["spec", "replicas"]));
    }
}
