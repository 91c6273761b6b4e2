//! The operator's requests to the API server, a bounded number at a time.
//!
//! Over HTTP/1.1 a request under way holds a connection of its own, and the client keeps
//! every connection it opened for the next request. Unbounded, a burst (an Event for each
//! of ten thousand escalated drifts, a wave of a thousand fixes) opens as many TLS
//! connections at once, each with its buffers, and keeps them: thousands of connections
//! to the API server and about 35 KiB of the operator's heap apiece. Bounded, requests
//! beyond the limit wait their turn, in order, and reuse the connections already open.
//!
//! Watches last as long as the operator and are not counted: one kind's watch never
//! waits for a burst of writes, nor takes a turn from them.

use std::sync::Arc;

use http::Response;
use kube::Client;
use kube::client::Body;
use tokio::sync::Semaphore;

use super::metrics::{Verb, verb_of};
use super::wrapped::wrapped_client;

/// A client that sends through `client` at most `limit` requests at a time besides
/// watches. A request holds its turn until its response is read whole, so the connection
/// it used is free again when the next request starts.
pub fn bounded_client(client: Client, limit: usize) -> Client {
    let turns = Arc::new(Semaphore::new(limit.max(1)));
    wrapped_client(client, move |client, request| {
        if verb_of(request.method(), request.uri()) == Verb::Watch {
            return Box::pin(async move { client.send(request).await });
        }
        let turns = turns.clone();
        Box::pin(async move {
            // The semaphore is never closed, so a turn always comes.
            let _turn = turns.acquire_owned().await.ok();
            let response = client.send(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect_bytes().await?;
            Ok(Response::from_parts(parts, Body::from(bytes)))
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http::Request;
    use tokio::sync::mpsc;

    use super::*;
    use crate::operator::wrapped::answered_by;

    /// An API server that answers a request only when the test lets it, and tells which
    /// requests it has started on and how many it held at most at once.
    #[derive(Clone)]
    struct Held {
        release: Arc<Semaphore>,
        started: mpsc::UnboundedSender<String>,
        under_way: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl Held {
        /// Answers a request once the test releases it.
        fn answer(&self, request: Request<Body>) -> crate::operator::wrapped::Sent {
            let held = self.clone();
            Box::pin(async move {
                let now = held.under_way.fetch_add(1, Ordering::SeqCst) + 1;
                held.most.fetch_max(now, Ordering::SeqCst);
                let _ = held.started.send(request.uri().to_string());
                if let Ok(permit) = held.release.acquire().await {
                    permit.forget();
                }
                held.under_way.fetch_sub(1, Ordering::SeqCst);
                Ok(Response::new(Body::from(b"{}".to_vec())))
            })
        }
    }

    fn get(name: &str) -> Request<Body> {
        Request::get(format!("/api/v1/namespaces/ns/configmaps/{name}")).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn no_more_than_the_limit_are_under_way_and_watches_are_not_counted() {
        let (started, mut starts) = mpsc::unbounded_channel();
        let held =
            Held { release: Arc::new(Semaphore::new(0)), started, under_way: Arc::default(), most: Arc::default() };
        let server = held.clone();
        let client = bounded_client(answered_by(move |request| server.answer(request)), 2);
        let requests: Vec<_> = (0..10)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move { client.send(get(&format!("cm-{i}"))).await.map(|r| r.status()) })
            })
            .collect();
        for _ in 0..2 {
            starts.recv().await.expect("a request reaches the server");
        }
        let watch = {
            let client = client.clone();
            let request = Request::get("/api/v1/configmaps?watch=true").body(Body::empty()).unwrap();
            tokio::spawn(async move { client.send(request).await.map(|r| r.status()) })
        };
        let watched = starts.recv().await.expect("the watch reaches the server");
        assert!(watched.contains("watch=true"), "while two requests are held, only the watch starts: {watched}");
        // Every waiting request has had its chance to run.
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(starts.try_recv().is_err(), "a third request started beside the two held");
        assert_eq!(held.under_way.load(Ordering::SeqCst), 3);

        held.release.add_permits(11);
        for request in requests {
            assert_eq!(request.await.unwrap().unwrap(), http::StatusCode::OK);
        }
        assert_eq!(watch.await.unwrap().unwrap(), http::StatusCode::OK);
        assert_eq!(held.most.load(Ordering::SeqCst), 3, "two requests and the watch at most");
    }
}
