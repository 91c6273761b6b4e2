//! Whether one PolicyRule covers a request, with RBAC's wildcards.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::auth::attributes::RequestAttributes;

const ALL: &str = "*";

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item == ALL || item == wanted)
}

fn resource_matches(rule: &PolicyRule, attrs: &RequestAttributes) -> bool {
    let combined = attrs.resource_with_subresource();
    rule.resources.iter().flatten().any(|r| {
        r == ALL || *r == combined || attrs.subresource.as_deref().is_some_and(|sub| r.strip_prefix("*/") == Some(sub))
    })
}

fn name_matches(rule: &PolicyRule, attrs: &RequestAttributes) -> bool {
    match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => !attrs.name.is_empty() && names.contains(&attrs.name),
    }
}

fn path_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls
        .iter()
        .flatten()
        .any(|url| url == ALL || url == path || url.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix)))
}

/// Whether `rule` allows the request described by `attrs`.
pub fn allows(rule: &PolicyRule, attrs: &RequestAttributes) -> bool {
    if !has(&rule.verbs, &attrs.verb) {
        return false;
    }
    if attrs.resource_request {
        has(rule.api_groups.as_deref().unwrap_or_default(), &attrs.group)
            && resource_matches(rule, attrs)
            && name_matches(rule, attrs)
    } else {
        path_matches(rule, &attrs.path)
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn rule(yaml: &str) -> PolicyRule {
        serde_yaml::from_str(yaml).expect("rule")
    }

    fn req(method: Method, path: &str) -> RequestAttributes {
        RequestAttributes::new(&method, path, false)
    }

    #[test]
    fn verbs_groups_and_resources_with_wildcards() {
        let cm = rule("{apiGroups: [''], resources: [configmaps], verbs: [get, list]}");
        assert!(allows(&cm, &req(Method::GET, "/api/v1/namespaces/a/configmaps/x")));
        assert!(!allows(&cm, &req(Method::DELETE, "/api/v1/namespaces/a/configmaps/x")));
        assert!(!allows(&cm, &req(Method::GET, "/api/v1/namespaces/a/secrets/x")));
        let all = rule("{apiGroups: ['*'], resources: ['*'], verbs: ['*']}");
        assert!(allows(&all, &req(Method::PATCH, "/apis/apps/v1/namespaces/a/deployments/web/status")));
        assert!(!allows(&all, &req(Method::GET, "/apis")), "resource rules do not cover paths");
    }

    #[test]
    fn subresources_need_their_own_entry() {
        let deploy = rule("{apiGroups: [apps], resources: [deployments], verbs: [patch]}");
        let status = req(Method::PATCH, "/apis/apps/v1/namespaces/a/deployments/web/status");
        assert!(!allows(&deploy, &status));
        assert!(allows(&rule("{apiGroups: [apps], resources: [deployments/status], verbs: [patch]}"), &status));
        assert!(allows(&rule("{apiGroups: [apps], resources: ['*/status'], verbs: [patch]}"), &status));
    }

    #[test]
    fn resource_names_limit_to_named_objects() {
        let named = rule("{apiGroups: [''], resources: [configmaps], resourceNames: [one], verbs: [get, list]}");
        assert!(allows(&named, &req(Method::GET, "/api/v1/namespaces/a/configmaps/one")));
        assert!(!allows(&named, &req(Method::GET, "/api/v1/namespaces/a/configmaps/two")));
        assert!(!allows(&named, &req(Method::GET, "/api/v1/namespaces/a/configmaps")), "a list names no object");
    }

    #[test]
    fn non_resource_urls_with_prefix_wildcards() {
        let health = rule("{nonResourceURLs: ['/healthz', '/apis/*'], verbs: [get]}");
        assert!(allows(&health, &req(Method::GET, "/healthz")));
        assert!(allows(&health, &req(Method::GET, "/apis/apps/v1")));
        assert!(!allows(&health, &req(Method::GET, "/api")));
    }
}
