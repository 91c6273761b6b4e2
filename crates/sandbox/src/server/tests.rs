//! Connections at the byte level: what the server answers to bytes that are not HTTP, and
//! how many connections it serves at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{RunningServer, ServerConfig, serve};
use crate::auth::Authenticator;
use crate::store::{Store, StoreConfig};

const TOKEN: &str = "connections-test-token";
/// How long a test waits for something that should happen.
const DEADLINE: Duration = Duration::from_secs(10);

async fn server(max_connections: usize) -> RunningServer {
    let store = Arc::new(Store::new(StoreConfig::default()).expect("an empty store starts"));
    let config = ServerConfig { auth: Arc::new(Authenticator::new(TOKEN)), max_connections, ..ServerConfig::default() };
    serve(store, config).await.expect("the server starts")
}

async fn connect(server: &RunningServer) -> TcpStream {
    TcpStream::connect(server.address()).await.expect("the server listens")
}

/// Sends an authenticated `GET /version` on a kept-alive connection.
async fn send_version_request(stream: &mut TcpStream) {
    let request = format!("GET /version HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("the request is sent");
}

/// Reads one response with a `Content-Length` body; returns its status line.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.expect("the response is read");
        assert!(read > 0, "the connection closed before a response: {:?}", String::from_utf8_lossy(&bytes));
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        let read = stream.read(&mut chunk).await.expect("the body is read");
        assert!(read > 0, "the connection closed inside the body");
        bytes.extend_from_slice(&chunk[..read]);
    }
    head.lines().next().unwrap_or_default().to_string()
}

async fn within_deadline<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future).await.unwrap_or_else(|_| panic!("{what} took longer than {DEADLINE:?}"))
}

#[tokio::test]
async fn bytes_that_are_not_http_get_400_and_other_connections_are_still_served() {
    let server = server(8).await;
    let mut neighbour = connect(&server).await;
    send_version_request(&mut neighbour).await;
    assert_eq!(within_deadline("a first response", read_response(&mut neighbour)).await, "HTTP/1.1 200 OK");

    let garbage: [&[u8]; 4] = [
        b"\x00\x01\x02\xff\xfe garbage\r\n\r\n",
        b"GET /version HTTP/9.9\r\n\r\n",
        b"GET /version HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"NOT A REQUEST AT ALL\r\n\r\n",
    ];
    for bytes in garbage {
        let mut hostile = connect(&server).await;
        hostile.write_all(bytes).await.expect("the bytes are sent");
        let mut answer = Vec::new();
        within_deadline("the answer to garbage", hostile.read_to_end(&mut answer)).await.expect("read to the end");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bytes:?} got {answer:?}");
    }

    // The connection opened before the garbage is still served, and so is a new one.
    send_version_request(&mut neighbour).await;
    assert_eq!(within_deadline("a later response", read_response(&mut neighbour)).await, "HTTP/1.1 200 OK");
    let mut newcomer = connect(&server).await;
    send_version_request(&mut newcomer).await;
    assert_eq!(within_deadline("a new connection's response", read_response(&mut newcomer)).await, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_connection_over_the_bound_waits_until_one_closes() {
    let server = server(2).await;
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    for stream in [&mut first, &mut second] {
        send_version_request(stream).await;
        assert_eq!(within_deadline("a response", read_response(stream)).await, "HTTP/1.1 200 OK");
    }

    let mut third = connect(&server).await;
    send_version_request(&mut third).await;
    // Not served while two connections are open. Absence can only be observed for a while:
    // half a second is ample for a response that takes microseconds when a slot is free.
    let waiting = tokio::time::timeout(Duration::from_millis(500), read_response(&mut third)).await;
    assert!(waiting.is_err(), "the third connection was served while two were open: {waiting:?}");

    drop(first);
    assert_eq!(
        within_deadline("the waiting connection's response", read_response(&mut third)).await,
        "HTTP/1.1 200 OK"
    );
    // The second connection was served all along.
    send_version_request(&mut second).await;
    assert_eq!(within_deadline("a response", read_response(&mut second)).await, "HTTP/1.1 200 OK");
}
