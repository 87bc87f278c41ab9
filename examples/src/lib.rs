//! Runnable examples live in this package's `[[example]]` targets; the
//! provider they share is here.

#![warn(missing_docs)]

pub mod tinycrm;
