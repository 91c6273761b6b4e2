//! A client that puts a step of its own around each request the operator sends, for the
//! clients that count requests ([`super::metrics::counting_client`]) and that bound how
//! many are under way ([`super::bounded::bounded_client`]).

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
    Client::new(Wrapped { client, step }, namespace)
}

#[derive(Clone)]
struct Wrapped<F> {
    client: Client,
    step: F,
}

impl<F> tower_service::Service<Request<Body>> for Wrapped<F>
where
    F: Fn(Client, Request<Body>) -> Sent + Clone + Send + 'static,
{
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Sent;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner client buffers requests and waits for readiness in `send`; a step
        // that makes requests wait does so in its own future.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        (self.step)(self.client.clone(), request)
    }
}
