#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwarden_sandbox::fuzzing::http_requests(data));
