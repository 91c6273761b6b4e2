//! A client that puts a step of its own around each request the operator sends, for the
//! clients that count requests ([`super::metrics::counting_client`]), that bound how many
//! are under way ([`super::bounded::bounded_client`]) and that impersonate a ServiceAccount
//! ([`super::impersonate`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use kube::Client;
use kube::client::Body;

/// What a step returns: the response to the request it was given.
pub type Sent = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

/// A client that hands each request, with `client` to send it through, to `step`.
pub fn wrapped_client<F>(client: Client, step: F) -> Client
where
    F: Fn(Client, Request<Body>) -> Sent + Clone + Send + 'static,
{
    let namespace = client.default_namespace().to_string();
    Client::new(Stepped(move |request| step(client.clone(), request)), namespace)
}

/// A client whose API server is `answer`: each request it sends is answered by calling
/// `answer`, for tests of the steps clients put around requests.
#[cfg(test)]
pub fn answered_by<F>(answer: F) -> Client
where
    F: Fn(Request<Body>) -> Sent + Clone + Send + 'static,
{
    Client::new(Stepped(answer), "default")
}

/// A service that answers each request by calling its function.
#[derive(Clone)]
struct Stepped<F>(F);

impl<F> tower_service::Service<Request<Body>> for Stepped<F>
where
    F: Fn(Request<Body>) -> Sent + Clone + Send + 'static,
{
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Sent;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A wrapped client buffers requests and waits for readiness in `send`; a step that
        // makes requests wait does so in its own future.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        (self.0)(request)
    }
}
