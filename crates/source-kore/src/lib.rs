//! Work in progress: see the project's open issues.
