//! Every input kept in `fuzz/corpus/<target>/` replayed through the function its fuzz
//! target calls, in an ordinary test build (no sanitizer, no libFuzzer): a crash the fuzzer
//! found once, and kept in the corpus, stays fixed. See README, "Fuzzing".

use std::path::{Path, PathBuf};

/// The inputs of one target, in name order.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
}

/// Runs every input of `target` through `run`, naming the input that fails.
fn replay(target: &str, run: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{} cannot be read: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let message = driftwarden::operator::reconciler::panic_message(panic);
            panic!("fuzz/corpus/{target}/{} fails: {message}", file.file_name().unwrap_or_default().display());
        }
    }
}

#[test]
fn custom_resource_corpus() {
    replay("custom_resource", driftwarden_core::fuzzing::custom_resource);
}

#[test]
fn compare_objects_corpus() {
    replay("compare_objects", driftwarden_core::fuzzing::compare_objects);
}

#[test]
fn check_manifests_corpus() {
    replay("check_manifests", driftwarden_core::fuzzing::check_manifests);
}

#[test]
fn sandbox_http_corpus() {
    replay("sandbox_http", driftwarden_sandbox::fuzzing::http_requests);
}
