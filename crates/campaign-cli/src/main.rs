//! The `campaigns` binary: see `campaigns --help` and the README.

use std::process::ExitCode;

fn main() -> ExitCode {
    keep_large_buffers();
    campaign_cli::main_with(campaign_cli::providers::builtin())
}

/// glibc's allocator gives a freed buffer of a few MiB back to the system
/// and takes it again for the next one: `campaigns changes`, which reads
/// the log in pages of about 2 MiB, spent half its time in the page faults
/// (200,000 entries: 0.81-0.91 s, 0.41-0.50 s with buffers up to 4 MiB
/// kept in the heap and 16 MiB of free heap kept; `list --store` peaked
/// 1 MiB higher; measured). Fixed thresholds, so they stay where glibc's
/// own adjustment would have taken them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_buffers() {
    // SAFETY: mallopt only sets allocator parameters, and runs before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers() {}
