//! The query parameters of API requests, decoded into types.

use crate::error::ApiError;
use crate::store::{FieldSelector, LabelSelector, ListOptions, Propagation, WatchOptions};

/// Every query parameter the sandbox understands; others are ignored, as the apiserver does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `watch`
    pub watch: bool,
    /// `labelSelector`
    pub label_selector: LabelSelector,
    /// `fieldSelector`
    pub field_selector: FieldSelector,
    /// `limit`
    pub limit: Option<usize>,
    /// `continue`
    pub continue_token: Option<String>,
    /// `resourceVersion`
    pub resource_version: Option<String>,
    /// `allowWatchBookmarks`
    pub allow_watch_bookmarks: bool,
    /// `sendInitialEvents`
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`
    pub timeout_seconds: Option<u64>,
    /// `dryRun=All`
    pub dry_run: bool,
    /// `propagationPolicy`
    pub propagation: Option<Propagation>,
}

fn boolean(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ApiError::bad_request(format!("invalid value {other:?} for {name}: expected true or false"))),
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ApiError::bad_request(format!("invalid value {value:?} for {name}: expected a number")))
}

/// Decodes `propagationPolicy`.
pub fn propagation(value: &str) -> Result<Propagation, ApiError> {
    match value {
        "Background" => Ok(Propagation::Background),
        "Foreground" => Ok(Propagation::Foreground),
        "Orphan" => Ok(Propagation::Orphan),
        other => Err(ApiError::bad_request(format!(
            "invalid propagationPolicy {other:?}: supported values: \"Background\", \"Foreground\", \"Orphan\""
        ))),
    }
}

/// Decodes a `dryRun` value: only `All` is defined.
pub fn dry_run(value: &str) -> Result<bool, ApiError> {
    match value {
        "All" => Ok(true),
        other => Err(ApiError::bad_request(format!("invalid dry run value {other:?}: supported values: \"All\""))),
    }
}

impl Query {
    /// Decodes a query string.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut q = Query::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "watch" => q.watch = boolean("watch", &value)?,
                "labelSelector" => q.label_selector = LabelSelector::parse(&value)?,
                "fieldSelector" => q.field_selector = FieldSelector::parse(&value)?,
                "limit" => q.limit = Some(number("limit", &value)?),
                "continue" => q.continue_token = Some(value.into_owned()).filter(|v| !v.is_empty()),
                "resourceVersion" => q.resource_version = Some(value.into_owned()),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = boolean("allowWatchBookmarks", &value)?,
                "sendInitialEvents" => q.send_initial_events = Some(boolean("sendInitialEvents", &value)?),
                "timeoutSeconds" => q.timeout_seconds = Some(number("timeoutSeconds", &value)?),
                "dryRun" => q.dry_run = dry_run(&value)?,
                "propagationPolicy" => q.propagation = Some(propagation(&value)?),
                _ => {}
            }
        }
        Ok(q)
    }

    /// The list options of this query.
    pub fn list_options(&self) -> ListOptions {
        ListOptions {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            limit: self.limit,
            continue_token: self.continue_token.clone(),
        }
    }

    /// The watch options of this query.
    pub fn watch_options(&self) -> WatchOptions {
        WatchOptions {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            resource_version: self.resource_version.clone(),
            allow_bookmarks: self.allow_watch_bookmarks,
            send_initial_events: self.send_initial_events,
            timeout_seconds: self.timeout_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_watch_parameters() {
        let q = Query::parse(Some(
            "watch=1&resourceVersion=12&allowWatchBookmarks=true&timeoutSeconds=290&labelSelector=app%3Dweb",
        ))
        .expect("valid");
        assert!(q.watch && q.allow_watch_bookmarks);
        assert_eq!(q.resource_version.as_deref(), Some("12"));
        assert_eq!(q.timeout_seconds, Some(290));
        assert_eq!(q.label_selector, LabelSelector::parse("app=web").expect("valid"));
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(Query::parse(Some("dryRun=Some")).expect_err("bad").code(), 400);
        assert_eq!(Query::parse(Some("limit=x")).expect_err("bad").code(), 400);
        assert_eq!(Query::parse(Some("propagationPolicy=Never")).expect_err("bad").code(), 400);
    }
}
