//! The fuzz entry point of the sandbox API server: [`http_requests`] serves a few requests
//! spelled by arbitrary bytes ([`input`] says how) through the server's own connection
//! handling, in process, and checks each answer. The `fuzz/` crate at the repository root
//! wraps it in the `sandbox_http` target, and an ordinary test replays every input kept in
//! `fuzz/corpus/sandbox_http/` through it.

mod exchange;
pub mod input;

pub use exchange::http_requests;
