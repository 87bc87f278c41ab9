//! End-to-end reliability suites (fault matrix, secret hygiene, load) live in
//! this package's `tests/`; see `docs/RELIABILITY.md`.
