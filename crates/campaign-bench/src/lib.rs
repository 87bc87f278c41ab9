//! Performance measurement harness; see `docs/PERFORMANCE.md`.
