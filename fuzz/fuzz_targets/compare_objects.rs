#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwarden_core::fuzzing::compare_objects(data));
