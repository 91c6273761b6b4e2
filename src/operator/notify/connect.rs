//! The connections notifications travel over. Each new connection resolves the sink's
//! host itself, checks every address it resolves to against the [`SinkAddressPolicy`]
//! (the operator's `--notification-allowed-cidrs`) and connects only to an address that
//! passed: the address checked is the address used, at every connection, so a name that
//! resolves to an allowed address once and to a forbidden one later (DNS rebinding) is
//! refused then. A host that resolves only to refused addresses is never connected to.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::notification::{AddressRefused, SinkAddressPolicy};

/// Why no connection to a sink was made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names no host.
    #[error("the URL names no host")]
    NoHost,
    /// The host's name could not be resolved.
    #[error("the host could not be resolved")]
    Resolve(#[source] std::io::Error),
    /// The host's name resolved to no address.
    #[error("the host resolves to no address")]
    NoAddress,
    /// Every address the host resolves to is refused; this is the first of them.
    #[error(transparent)]
    Refused(#[from] AddressRefused),
    /// No allowed address accepted the connection; this is the last failure.
    #[error("connecting failed")]
    Connect(#[source] std::io::Error),
}

/// Opens TCP connections to sinks, to allowed addresses only.
#[derive(Clone, Debug)]
pub(crate) struct GuardedConnector {
    policy: Arc<SinkAddressPolicy>,
}

impl GuardedConnector {
    pub(crate) fn new(policy: SinkAddressPolicy) -> Self {
        Self { policy: Arc::new(policy) }
    }
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addresses = allowed_addresses(&policy, &uri).await?;
            connect(&addresses).await
        })
    }
}

/// The addresses of `uri`'s host (and port, or the scheme's) that `policy` allows, in the
/// order they resolved; an error when there is none.
pub(crate) async fn allowed_addresses(policy: &SinkAddressPolicy, uri: &Uri) -> Result<Vec<SocketAddr>, ConnectError> {
    let host = uri.host().ok_or(ConnectError::NoHost)?;
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    // An IPv6 literal comes in brackets; an IP literal is used as it is, never resolved.
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let resolved: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(address) => vec![SocketAddr::new(address, port)],
        Err(_) => tokio::net::lookup_host((bare, port)).await.map_err(ConnectError::Resolve)?.collect(),
    };
    let mut allowed = Vec::with_capacity(resolved.len());
    let mut first_refused = None;
    for address in resolved {
        match policy.check(address.ip()) {
            Ok(()) => allowed.push(address),
            Err(refused) => {
                first_refused.get_or_insert(refused);
            }
        }
    }
    match (allowed.is_empty(), first_refused) {
        (false, _) => Ok(allowed),
        (true, Some(refused)) => Err(refused.into()),
        (true, None) => Err(ConnectError::NoAddress),
    }
}

/// Connects to the first of `addresses` that accepts.
async fn connect(addresses: &[SocketAddr]) -> Result<TokioIo<TcpStream>, ConnectError> {
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "TCP_NODELAY not set on a notification connection");
                }
                return Ok(TokioIo::new(stream));
            }
            Err(error) => last = Some(error),
        }
    }
    Err(last.map_or(ConnectError::NoAddress, ConnectError::Connect))
}

/// The refusal somewhere in `error`'s chain of sources, if the connection was refused for
/// its address.
pub(crate) fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<AddressRefused> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<AddressRefused>() {
            return Some(*refused);
        }
        if let Some(ConnectError::Refused(refused)) = error.downcast_ref::<ConnectError>() {
            return Some(*refused);
        }
        // An I/O error's `source` skips the error it wraps.
        current = match error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::RestrictedRange;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn ip_literals_are_checked_without_resolving() {
        let strict = SinkAddressPolicy::default();
        let refused = |result: Result<Vec<SocketAddr>, ConnectError>| match result {
            Err(ConnectError::Refused(refused)) => refused.range,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(refused(allowed_addresses(&strict, &uri("http://127.0.0.1:9/")).await), RestrictedRange::Loopback);
        assert_eq!(
            refused(allowed_addresses(&strict, &uri("http://169.254.169.254/latest/meta-data")).await),
            RestrictedRange::LinkLocal
        );
        assert_eq!(refused(allowed_addresses(&strict, &uri("https://[::1]/")).await), RestrictedRange::Loopback);
        assert_eq!(
            refused(allowed_addresses(&strict, &uri("http://[::ffff:10.0.0.1]/")).await),
            RestrictedRange::Private
        );
        let open = allowed_addresses(&strict, &uri("https://203.0.113.7/hook")).await.unwrap();
        assert_eq!(open, vec!["203.0.113.7:443".parse().unwrap()]);
        let local = SinkAddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        let allowed = allowed_addresses(&local, &uri("http://127.0.0.1:8080/")).await.unwrap();
        assert_eq!(allowed, vec!["127.0.0.1:8080".parse().unwrap()]);
    }

    #[tokio::test]
    async fn names_are_checked_on_what_they_resolve_to() {
        // `localhost` resolves to loopback addresses only, with no network needed.
        let strict = SinkAddressPolicy::default();
        match allowed_addresses(&strict, &uri("http://localhost:8080/")).await {
            Err(ConnectError::Refused(refused)) => assert_eq!(refused.range, RestrictedRange::Loopback),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let both = SinkAddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let allowed = allowed_addresses(&both, &uri("http://localhost:8080/")).await.unwrap();
        assert!(!allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
    }

    #[tokio::test]
    async fn other_spellings_of_a_restricted_address_never_pass() {
        // Not IP literals to the URL parser, so they are resolved; whatever the resolver
        // makes of them (127.0.0.1, or nothing), no allowed address comes out.
        let strict = SinkAddressPolicy::default();
        for url in ["http://2130706433:9/", "http://0x7f000001:9/", "http://127.1:9/", "http://017700000001:9/"] {
            let result = allowed_addresses(&strict, &uri(url)).await;
            assert!(result.is_err(), "{url} passed as {result:?}");
        }
    }

    #[test]
    fn a_refusal_is_found_through_wrapping_errors() {
        let refused = AddressRefused { address: "10.0.0.1".parse().unwrap(), range: RestrictedRange::Private };
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(ConnectError::Refused(refused));
        assert_eq!(refusal(boxed.as_ref()), Some(refused));
        let io = std::io::Error::other(ConnectError::Refused(refused));
        assert_eq!(refusal(&io), Some(refused));
        assert_eq!(refusal(&ConnectError::NoAddress), None);
    }
}
