//! Building responses: JSON objects, `Status` errors and successes, and watch streams.

use std::convert::Infallible;

use bytes::Bytes;
use futures::stream;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusDetails};
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::ResourceKind;
use crate::store::{WatchEvent, WatchSession, meta};

/// The body type of every response.
pub type Body = BoxBody<Bytes, Infallible>;

const JSON: &str = "application/json";

fn full(code: StatusCode, content_type: &str, bytes: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(bytes)).boxed());
    *response.status_mut() = code;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A JSON response with the given code.
pub fn json<T: Serialize>(code: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => full(code, JSON, bytes),
        Err(e) => error(&ApiError::internal(format!("unable to encode the response: {e}")).with_source(e)),
    }
}

/// The `Warning` header value of one warning, as kube-apiserver writes it: code 299, no
/// agent, the text quoted with `"` and `\` escaped and control characters dropped.
pub fn warning_header(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => quoted.push(' '),
            c => quoted.push(c),
        }
    }
    format!("299 - \"{quoted}\"")
}

/// The longest warning text sent; longer ones are cut at a character boundary.
const MAX_WARNING: usize = 4096;

/// Adds a `Warning` header per distinct warning.
pub fn add_warnings(response: &mut Response<Body>, warnings: &[String]) {
    let mut sent = std::collections::HashSet::new();
    for warning in warnings {
        if !sent.insert(warning) {
            continue;
        }
        let mut end = warning.len().min(MAX_WARNING);
        while !warning.is_char_boundary(end) {
            end -= 1;
        }
        let text = warning.get(..end).unwrap_or_default();
        if let Ok(value) = header::HeaderValue::from_bytes(warning_header(text).as_bytes()) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

/// A plain-text response.
pub fn text(code: StatusCode, body: &str) -> Response<Body> {
    full(code, "text/plain; charset=utf-8", body.as_bytes().to_vec())
}

/// The `Status` answer to a failed request.
pub fn error(err: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let status = err.to_status();
    let mut response = match serde_json::to_vec(&status) {
        Ok(bytes) => full(code, JSON, bytes),
        Err(_) => text(code, &err.message),
    };
    if let Some(seconds) = err.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
}

/// The `Status` answer to a completed delete of a kind that does not return the object.
pub fn deleted(kind: &ResourceKind, object: &Value) -> Response<Body> {
    let status = Status {
        status: Some("Success".to_string()),
        details: Some(StatusDetails {
            name: Some(meta::name(object).to_string()),
            group: Some(kind.group.clone()),
            kind: Some(kind.resource.clone()),
            uid: Some(meta::uid(object).to_string()),
            causes: None,
            retry_after_seconds: None,
        }),
        ..Default::default()
    };
    json(StatusCode::OK, &status)
}

/// How a watch event is written (without the newline): plain, or with its object as a
/// Table row.
pub type EventEncoder = Box<dyn Fn(&WatchEvent) -> Vec<u8> + Send + Sync>;

/// A watch stream: one JSON event per line (as `encode` writes it), flushed as each event
/// happens. The stream ends early when `drops` changes (fault injection ends every open
/// watch).
pub fn watch(
    session: WatchSession,
    mut drops: tokio::sync::watch::Receiver<u64>,
    encode: EventEncoder,
) -> Response<Body> {
    drops.mark_unchanged();
    let events = stream::unfold((session, drops, encode), |(mut session, mut drops, encode)| async move {
        let event = tokio::select! {
            event = session.next() => event?,
            _ = drops.changed() => return None,
        };
        let mut line = encode(&event);
        line.push(b'\n');
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), (session, drops, encode)))
    });
    let mut response = Response::new(StreamBody::new(events).boxed());
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(JSON));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_quoted_with_code_299_and_no_agent() {
        assert_eq!(warning_header(r#"say "hi" \ bye"#), r#"299 - "say \"hi\" \\ bye""#);
        assert_eq!(warning_header("two\nlines"), r#"299 - "two lines""#);
        let mut response = text(StatusCode::OK, "ok");
        add_warnings(&mut response, &["a".to_string(), "b".to_string(), "a".to_string()]);
        let values: Vec<_> = response.headers().get_all(header::WARNING).iter().collect();
        assert_eq!(values, vec![r#"299 - "a""#, r#"299 - "b""#], "each warning once");
        let mut long = text(StatusCode::OK, "ok");
        add_warnings(&mut long, &["é".repeat(3000)]);
        let sent = long.headers().get(header::WARNING).expect("a warning").as_bytes().len();
        assert_eq!(sent, MAX_WARNING + 8, "cut to {MAX_WARNING} bytes plus the code and quotes");
    }
}
