//! Kubernetes version priority: GA before beta before alpha, higher numbers first, then
//! anything that does not look like a Kubernetes version, alphabetically.

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stability {
    Alpha,
    Beta,
    Stable,
}

fn parse(version: &str) -> Option<(u32, Stability, u32)> {
    let rest = version.strip_prefix('v')?;
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let major: u32 = rest[..digits_end].parse().ok()?;
    let tail = &rest[digits_end..];
    if tail.is_empty() {
        return Some((major, Stability::Stable, 0));
    }
    let (stability, minor) = if let Some(m) = tail.strip_prefix("alpha") {
        (Stability::Alpha, m)
    } else if let Some(m) = tail.strip_prefix("beta") {
        (Stability::Beta, m)
    } else {
        return None;
    };
    Some((major, stability, minor.parse().ok()?))
}

/// Orders versions so that the preferred one comes first (`v2`, `v1`, `v1beta1`, `v1alpha1`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_kubernetes_version_priority() {
        let mut versions = vec!["v1alpha1", "foo", "v1", "v1beta2", "v2", "v1beta1", "v10"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(versions, vec!["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }
}
