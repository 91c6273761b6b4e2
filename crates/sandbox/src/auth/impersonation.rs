//! Impersonation: the `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
//! `Impersonate-Extra-<key>` headers, checked and applied as kube-apiserver's impersonation
//! filter does it.
//!
//! Each requested attribute is one authorization check of the caller with verb
//! `impersonate`: `users`, `groups` and `serviceaccounts` (a user named
//! `system:serviceaccount:NS:NAME`, checked in NS) in the core group, `uids` and
//! `userextras/<key>` in `authentication.k8s.io`. When every check passes, the request runs
//! as the impersonated user from then on: RBAC, the request log and admission see only it.

use std::collections::BTreeMap;

use http::HeaderMap;

use super::attributes::RequestAttributes;
use super::identity::{AUTHENTICATED_GROUP, SERVICE_ACCOUNTS_GROUP, UserInfo};
use super::rbac::authorize;
use super::tokens::Authenticated;
use crate::error::ApiError;
use crate::store::Store;

/// The header naming the user to act as.
pub const USER_HEADER: &str = "impersonate-user";
/// The header naming a group to act in (repeatable).
pub const GROUP_HEADER: &str = "impersonate-group";
/// The header giving the uid to act with.
pub const UID_HEADER: &str = "impersonate-uid";
/// The prefix of the headers giving extra attributes (`Impersonate-Extra-<key>`).
pub const EXTRA_HEADER_PREFIX: &str = "impersonate-extra-";

/// The user name recorded for requests made with the admin token.
pub const ADMIN_USER: &str = "system:admin";

/// The user name of anonymous requests.
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The group of unauthenticated requests.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";

const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";
const AUTHENTICATION_API_VERSION: &str = "authentication.k8s.io/v1";

/// Who a request runs as, and who asked when that is someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The identity the request runs as.
    pub who: Authenticated,
    /// The authenticated caller's user name, when it impersonates `who`.
    pub impersonator: Option<String>,
}

/// Why a request may not impersonate what it asks for.
#[derive(Debug)]
pub enum Refused {
    /// The caller may not impersonate one of the attributes: the 403 to answer.
    Forbidden(ApiError),
    /// The headers ask for groups, a uid or extras without a user. kube-apiserver answers
    /// this with a plain-text `500 Internal Server Error: "<request URI>": <this>`.
    Malformed(String),
}

/// One thing a request asks to impersonate, in the order kube-apiserver checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requested {
    User(String),
    ServiceAccount { namespace: String, name: String },
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Requested {
    /// The authorization the caller needs for this attribute.
    fn attributes(&self) -> RequestAttributes {
        let (group, resource, subresource, namespace, name) = match self {
            Requested::User(name) => ("", "users", None, "", name.as_str()),
            Requested::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", None, namespace.as_str(), name.as_str())
            }
            Requested::Group(name) => ("", "groups", None, "", name.as_str()),
            Requested::Extra { key, value } => {
                (AUTHENTICATION_GROUP, "userextras", Some(key.clone()), "", value.as_str())
            }
            Requested::Uid(uid) => (AUTHENTICATION_GROUP, "uids", None, "", uid.as_str()),
        };
        RequestAttributes {
            verb: "impersonate".to_string(),
            resource_request: true,
            group: group.to_string(),
            resource: resource.to_string(),
            subresource,
            namespace: namespace.to_string(),
            name: name.to_string(),
            path: String::new(),
        }
    }

    /// The request as Go's `%v` prints the `ObjectReference` kube-apiserver builds for it
    /// (kind, namespace, name, uid, apiVersion, resourceVersion, fieldPath).
    fn go_reference(&self) -> String {
        let (kind, namespace, name, api_version, field_path) = match self {
            Requested::User(name) => ("User", "", name.as_str(), "", ""),
            Requested::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name.as_str(), "", "")
            }
            Requested::Group(name) => ("Group", "", name.as_str(), "", ""),
            Requested::Extra { key, value } => {
                ("UserExtra", "", value.as_str(), AUTHENTICATION_API_VERSION, key.as_str())
            }
            Requested::Uid(uid) => ("UID", "", uid.as_str(), AUTHENTICATION_API_VERSION, ""),
        };
        format!("{{{kind} {namespace} {name}  {api_version}  {field_path}}}")
    }
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = String> + 'a {
    headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Decodes `%XX` escapes in an extra key; a malformed key is kept as it came, as
/// kube-apiserver keeps it.
fn unescape_extra_key(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match encoded.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                Some(byte) => out.push(byte),
                None => return encoded.to_string(),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| encoded.to_string())
}

/// What the headers ask to impersonate; an error when they ask for groups, a uid or extras
/// without a user.
fn requested(headers: &HeaderMap) -> Result<Vec<Requested>, Refused> {
    let mut requests = Vec::new();
    let user = header_values(headers, USER_HEADER).next().filter(|u| !u.is_empty());
    if let Some(user) = &user {
        let service_account = UserInfo::user(user.clone(), &[])
            .as_service_account()
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'))
            .map(|(ns, name)| (ns.to_string(), name.to_string()));
        requests.push(match service_account {
            Some((namespace, name)) => Requested::ServiceAccount { namespace, name },
            None => Requested::User(user.clone()),
        });
    }
    requests.extend(header_values(headers, GROUP_HEADER).map(Requested::Group));
    let mut extra_names: Vec<&str> =
        headers.keys().map(|k| k.as_str()).filter(|k| k.starts_with(EXTRA_HEADER_PREFIX)).collect();
    extra_names.sort_unstable();
    extra_names.dedup();
    for name in extra_names {
        let key = unescape_extra_key(&name[EXTRA_HEADER_PREFIX.len()..]);
        requests.extend(header_values(headers, name).map(|value| Requested::Extra { key: key.clone(), value }));
    }
    if let Some(uid) = header_values(headers, UID_HEADER).next().filter(|u| !u.is_empty()) {
        requests.push(Requested::Uid(uid));
    }
    if user.is_none() && !requests.is_empty() {
        let listed: Vec<String> = requests.iter().map(Requested::go_reference).collect();
        return Err(Refused::Malformed(format!("requested [{}] without impersonating a user", listed.join(" "))));
    }
    Ok(requests)
}

/// The user `requests` describe, with the groups kube-apiserver adds: a ServiceAccount's
/// own groups when no group is given, and `system:authenticated` (or
/// `system:unauthenticated` for `system:anonymous`).
fn impersonated_user(requests: &[Requested]) -> UserInfo {
    let groups_given = requests.iter().any(|r| matches!(r, Requested::Group(_)));
    let mut name = String::new();
    let mut groups: Vec<String> = Vec::new();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut uid = None;
    for request in requests {
        match request {
            Requested::User(user) => name = user.clone(),
            Requested::ServiceAccount { namespace, name: sa } => {
                name = format!("system:serviceaccount:{namespace}:{sa}");
                if !groups_given {
                    groups = vec![SERVICE_ACCOUNTS_GROUP.to_string(), format!("{SERVICE_ACCOUNTS_GROUP}:{namespace}")];
                }
            }
            Requested::Group(group) => groups.push(group.clone()),
            Requested::Extra { key, value } => extra.entry(key.clone()).or_default().push(value.clone()),
            Requested::Uid(value) => uid = Some(value.clone()),
        }
    }
    let has = |wanted: &str| groups.iter().any(|g| g == wanted);
    if name != ANONYMOUS_USER {
        if !has(AUTHENTICATED_GROUP) && !has(UNAUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_string());
        }
    } else if !has(UNAUTHENTICATED_GROUP) {
        groups.push(UNAUTHENTICATED_GROUP.to_string());
    }
    UserInfo { name, groups, uid, extra }
}

/// The user name requests of `who` are recorded under.
pub fn user_name(who: &Authenticated) -> String {
    match who {
        Authenticated::Admin => ADMIN_USER.to_string(),
        Authenticated::User(user) => user.name.clone(),
    }
}

/// Who a request by `caller` with `headers` runs as: `caller` itself without impersonation
/// headers, otherwise the impersonated user once `caller` may impersonate every attribute
/// asked for (403 naming the first it may not, in kube-apiserver's words).
pub fn resolve(caller: Authenticated, headers: &HeaderMap, store: &Store) -> Result<Effective, Refused> {
    let requests = requested(headers)?;
    if requests.is_empty() {
        return Ok(Effective { who: caller, impersonator: None });
    }
    for request in &requests {
        authorize(&caller, &request.attributes(), store).map_err(Refused::Forbidden)?;
    }
    Ok(Effective { who: Authenticated::User(impersonated_user(&requests)), impersonator: Some(user_name(&caller)) })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_service_account_user_is_checked_as_a_service_account_and_gets_its_groups() {
        let requests = requested(&headers(&[("impersonate-user", "system:serviceaccount:team:builder")])).expect("ok");
        assert_eq!(requests, vec![Requested::ServiceAccount { namespace: "team".into(), name: "builder".into() }]);
        let attrs = requests[0].attributes();
        assert_eq!(
            (attrs.resource.as_str(), attrs.namespace.as_str(), attrs.name.as_str()),
            ("serviceaccounts", "team", "builder")
        );
        let user = impersonated_user(&requests);
        assert_eq!(user.name, "system:serviceaccount:team:builder");
        assert_eq!(user.groups, vec!["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]);
    }

    #[test]
    fn groups_extras_and_uid_are_each_one_request() {
        let map = headers(&[
            ("impersonate-user", "alice"),
            ("impersonate-group", "dev"),
            ("impersonate-group", "ops"),
            ("impersonate-extra-acme.com%2fproject", "a"),
            ("impersonate-extra-acme.com%2fproject", "b"),
            ("impersonate-uid", "1234"),
        ]);
        let requests = requested(&map).expect("ok");
        assert_eq!(requests.len(), 6);
        let extra = requests[3].attributes();
        assert_eq!(
            (extra.group.as_str(), extra.resource_with_subresource(), extra.name.as_str()),
            ("authentication.k8s.io", "userextras/acme.com/project".to_string(), "a")
        );
        let user = impersonated_user(&requests);
        assert_eq!(user.groups, vec!["dev", "ops", "system:authenticated"]);
        assert_eq!(user.uid.as_deref(), Some("1234"));
        assert_eq!(user.extra.get("acme.com/project"), Some(&vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn anonymous_gets_the_unauthenticated_group() {
        let user = impersonated_user(&[Requested::User(ANONYMOUS_USER.into())]);
        assert_eq!(user.groups, vec!["system:unauthenticated"]);
        let given = impersonated_user(&[Requested::User("bob".into()), Requested::Group(AUTHENTICATED_GROUP.into())]);
        assert_eq!(given.groups, vec!["system:authenticated"], "not added twice");
    }

    #[test]
    fn groups_without_a_user_are_refused_as_kube_apiserver_refuses_them() {
        let Err(Refused::Malformed(why)) =
            requested(&headers(&[("impersonate-group", "dev"), ("impersonate-uid", "7")]))
        else {
            panic!("groups without a user are malformed");
        };
        assert_eq!(
            why,
            "requested [{Group  dev    } {UID  7  authentication.k8s.io/v1  }] without impersonating a user"
        );
    }

    #[test]
    fn malformed_extra_keys_are_kept_as_sent() {
        assert_eq!(unescape_extra_key("a%2Fb"), "a/b");
        assert_eq!(unescape_extra_key("a%zzb"), "a%zzb");
        assert_eq!(unescape_extra_key("a%2"), "a%2");
    }
}
