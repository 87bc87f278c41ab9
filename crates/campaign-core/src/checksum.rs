//! A checksum that stays the same across platforms, releases and processes.

use std::hash::Hasher;

/// FNV-1a of `bytes`: tiny, and stable across platforms and releases (unlike
/// `DefaultHasher`), so fingerprints and cursors written by one build are
/// read by the next. Not a signature: it catches corruption and casual edits.
///
/// ```
/// assert_eq!(campaign_core::stable_checksum(b""), 0xcbf2_9ce4_8422_2325);
/// assert_ne!(campaign_core::stable_checksum(b"a"), campaign_core::stable_checksum(b"b"));
/// ```
pub fn stable_checksum(bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_fnv_1a_so_existing_cursors_stay_valid() {
        // The published FNV-1a 64 test vector for "a".
        assert_eq!(stable_checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
