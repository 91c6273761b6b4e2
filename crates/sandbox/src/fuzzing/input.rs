//! The input format of the `sandbox_http` target: a readable, self-delimiting spelling of a
//! few HTTP requests, so that seeds can be written by hand and the fuzzer's mutations stay
//! mostly meaningful.
//!
//! Requests are separated by a line `~~~`. Each is spelled like an HTTP/1.1 request without
//! the version and the framing headers: a first line `METHOD /path?query`, header lines
//! `Name: value`, an empty line, then the body (everything up to the separator). Without an
//! `Authorization` header a request carries the admin token; the header values `user`,
//! `serviceaccount` and `none` stand for the harness's registered user, its ServiceAccount,
//! and no header at all; any other value is sent as it is.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::Full;

/// The separator between two requests of one input.
pub const SEPARATOR: &[u8] = b"\n~~~\n";

/// The most requests one input makes; the rest is ignored.
pub const MAX_REQUESTS: usize = 16;

/// Who a request authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The admin token (no `Authorization` header in the input).
    Admin,
    /// The registered user (`Authorization: user`).
    User,
    /// The registered ServiceAccount (`Authorization: serviceaccount`).
    ServiceAccount,
    /// No `Authorization` header (`Authorization: none`).
    Nothing,
    /// This header value, verbatim.
    Verbatim(HeaderValue),
}

/// One request of the input: everything but the credentials, which the harness fills in.
#[derive(Debug)]
pub struct InputRequest {
    /// The request, without `Authorization`.
    pub request: Request<Full<Bytes>>,
    /// Who it authenticates as.
    pub credentials: Credentials,
}

/// Headers that frame the message or the connection: hyper writes them itself, and a
/// request that contradicts them is hyper's concern, not the sandbox's.
const FRAMING: [HeaderName; 8] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::HOST,
    header::UPGRADE,
    header::TE,
    header::EXPECT,
    header::TRAILER,
];

/// The requests `data` spells; a request whose method or target does not parse is left
/// out, as are header lines that are not valid headers.
pub fn parse(data: &[u8]) -> Vec<InputRequest> {
    split(data, SEPARATOR).filter_map(request).take(MAX_REQUESTS).collect()
}

fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, separator) {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn request(text: &[u8]) -> Option<InputRequest> {
    let (head, body) = match find(text, b"\n\n") {
        Some(at) => (&text[..at], &text[at + 2..]),
        None => (text, &b""[..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let first = lines.next()?;
    let space = first.iter().position(|b| *b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let target = http::uri::PathAndQuery::try_from(&first[space + 1..]).ok()?;
    if !target.as_str().starts_with('/') {
        return None;
    }
    let mut builder = Request::builder().method(method).uri(target.as_str()).header(header::HOST, "sandbox");
    let mut credentials = Credentials::Admin;
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(line[colon + 1..].trim_ascii()))
        else {
            continue;
        };
        if FRAMING.contains(&name) {
            continue;
        }
        if name == header::AUTHORIZATION {
            credentials = match value.as_bytes() {
                b"user" => Credentials::User,
                b"serviceaccount" => Credentials::ServiceAccount,
                b"none" => Credentials::Nothing,
                _ => Credentials::Verbatim(value),
            };
            continue;
        }
        builder = builder.header(name, value);
    }
    let request = builder.body(Full::new(Bytes::copy_from_slice(body))).ok()?;
    Some(InputRequest { request, credentials })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_split_on_the_separator_and_read_like_http() {
        let data = b"POST /api/v1/namespaces/default/configmaps?dryRun=All\nContent-Type: application/json\nContent-Length: 1\n\n{\"a\": 1}\n~~~\nGET /version\nAuthorization: user\n~~~\nNOT A REQUEST\n~~~\nGET no-slash";
        let requests = parse(data);
        assert_eq!(requests.len(), 2, "`A REQUEST` and `no-slash` are no request targets");
        let first = &requests[0];
        assert_eq!(first.request.method(), Method::POST);
        assert_eq!(first.request.uri().query(), Some("dryRun=All"));
        assert_eq!(first.request.headers()[header::CONTENT_TYPE], "application/json");
        assert!(first.request.headers().get(header::CONTENT_LENGTH).is_none(), "framing is hyper's");
        assert_eq!(first.credentials, Credentials::Admin);
        assert_eq!(requests[1].credentials, Credentials::User);
        assert_eq!(requests[1].request.uri().path(), "/version");
    }
}
