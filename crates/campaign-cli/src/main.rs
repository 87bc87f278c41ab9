//! The `campaigns` binary: see `campaigns --help` and the README.

use std::process::ExitCode;

/// mimalloc rather than glibc's allocator for Rust's allocations: decoding
/// pages allocates and frees many small strings from several threads at
/// once, and `perf` on a first sync showed glibc's allocator in about 15 %
/// of the samples, with threads waking each other in its locks. A listing
/// of 200,000 sandbox campaigns took 1.45-1.72 s against 1.94-2.26 s, a
/// first sync into SQLite 3.78-4.22 s against 4.10-4.85 s (4 runs each,
/// interleaved; measured). Built not to ask for transparent huge pages
/// (`no_thp`): when it asked, some runs spent over a second of system time
/// clearing pages. (A system whose THP setting is `always` may still back
/// its memory with them.)
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    keep_large_buffers();
    campaign_cli::main_with(campaign_cli::providers::builtin())
}

/// SQLite (C) allocates through glibc, mimalloc or not, and glibc gives a
/// freed buffer of a few MiB back to the system and takes it again for the
/// next one:
/// `campaigns changes`, which reads the log in pages of about 2 MiB, spent
/// half its time in the page faults (200,000 entries: 0.87-1.00 s, 0.43-0.54
/// s with buffers up to 4 MiB kept in the heap and 16 MiB of free heap
/// kept; measured). Fixed thresholds, so they stay where glibc's own
/// adjustment would have taken them.
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
