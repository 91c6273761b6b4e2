//! What the benchmark binaries share: their knobs and the process's memory.

/// A numeric knob from the environment, or its default.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The process's resident memory, in KiB (`VmRSS` of `/proc/self/status`; 0 elsewhere).
#[allow(dead_code)] // The commands bench measures its child processes only.
pub fn rss_kib() -> u64 {
    status_kib("/proc/self/status", "VmRSS:")
}

/// Another process's resident memory and its peak so far, in KiB (`VmRSS` and `VmHWM` of
/// `/proc/<pid>/status`; 0 elsewhere).
#[allow(dead_code)] // Only the operator bench runs a child process.
pub fn rss_and_peak_kib_of(pid: u32) -> (u64, u64) {
    let path = format!("/proc/{pid}/status");
    (status_kib(&path, "VmRSS:"), status_kib(&path, "VmHWM:"))
}

fn status_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
