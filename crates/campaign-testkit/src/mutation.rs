//! Edits of sample payloads for property tests of decoders: a decoder fed
//! every mutation of a real response must return campaigns or a typed error,
//! never panic (and two decoders of one format must agree).
//!
//! ```
//! use campaign_testkit::mutation::{apply, edits};
//! use proptest::test_runner::TestRunner;
//!
//! let sample = br#"[{"id": "1", "name": "x"}]"#;
//! TestRunner::default()
//!     .run(&edits(), |edits| {
//!         let body = apply(sample, &edits);
//!         // The decoder under test: a value or an error, never a panic.
//!         let _ = serde_json::from_slice::<serde_json::Value>(&body);
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use proptest::prelude::*;

/// One edit of a byte string; indices wrap around the current length.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Overwrites the byte at an index (modulo the length).
    Set(usize, u8),
    /// Inserts a byte, drawn from JSON's structural characters.
    Insert(usize, u8),
    /// Removes up to n bytes from an index.
    Remove(usize, usize),
    /// Cuts the text at an index.
    Truncate(usize),
    /// Copies a range elsewhere (duplicates keys, brackets, records).
    Splice(usize, usize, usize),
}

/// One to seven random edits, biased towards JSON syntax.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\",:0123456789-.etnfaluxE \\".to_vec())
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Remove(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..64, any::<usize>()).prop_map(|(a, n, b)| Edit::Splice(a, n, b)),
    ];
    prop::collection::vec(edit, 1..8)
}

/// `sample` with `edits` applied in order.
pub fn apply(sample: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = sample.to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Remove(i, n) if !bytes.is_empty() => {
                let start = i % len;
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            Edit::Splice(a, n, b) if !bytes.is_empty() => {
                let start = a % len;
                let end = (start + n).min(bytes.len());
                let piece: Vec<u8> = bytes[start..end].to_vec();
                let at = b % (bytes.len() + 1);
                bytes.splice(at..at, piece);
            }
            _ => {}
        }
    }
    bytes
}
