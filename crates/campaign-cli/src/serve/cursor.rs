//! Signed cursors: the aggregate's cursor plus an HMAC-SHA256 of it under
//! the server's key, so an HTTP client can hand back only positions (and
//! provider page tokens) this server gave out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest signed cursor accepted: far above any cursor the aggregate
/// writes for a few sources, and small enough that checking a hostile one
/// costs nothing.
pub const MAX_CURSOR_LEN: usize = 4096;
/// Separates the aggregate's cursor from its signature; never in base64url.
const SEPARATOR: char = '.';
/// Domain separation: a key shared with another use never signs a cursor by accident.
const CONTEXT: &[u8] = b"campaigns serve cursor v1\0";

/// Signs and checks cursors with one key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorSigner").finish_non_exhaustive()
    }
}

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCursor(pub &'static str);

impl std::fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl CursorSigner {
    /// A signer with `key` (any length; 32 random bytes or more is right).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// A signer with a key drawn from the OS's generator: cursors it signs
    /// are good for this process only.
    pub fn random() -> Self {
        let mut key = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(CONTEXT);
        mac
    }

    /// `cursor` (the aggregate's) with its signature: `CURSOR.SIGNATURE`.
    pub fn sign(&self, cursor: &str) -> String {
        let mut mac = self.mac();
        mac.update(cursor.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{cursor}{SEPARATOR}{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The aggregate's cursor inside `signed`, when its signature is this
    /// key's (compared in constant time).
    pub fn open<'a>(&self, signed: &'a str) -> Result<&'a str, InvalidCursor> {
        if signed.len() > MAX_CURSOR_LEN {
            return Err(InvalidCursor(
                "the cursor is longer than any this server hands out",
            ));
        }
        let (cursor, tag) = signed
            .rsplit_once(SEPARATOR)
            .ok_or(InvalidCursor("not a cursor this server handed out"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| InvalidCursor("not a cursor this server handed out"))?;
        let mut mac = self.mac();
        mac.update(cursor.as_bytes());
        mac.verify_slice(&tag).map_err(|_| {
            InvalidCursor("the cursor's signature does not match: it was altered, or signed by another server or before a restart")
        })?;
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_cursor_opens_and_an_altered_one_does_not() {
        let signer = CursorSigner::new(b"0123456789abcdef0123456789abcdef");
        let signed = signer.sign("eyJ2IjoxfQ");
        assert_eq!(signer.open(&signed), Ok("eyJ2IjoxfQ"));
        // Any change of the cursor or of the signature is refused.
        let mut bytes = signed.clone().into_bytes();
        bytes[3] ^= 1;
        assert!(signer.open(std::str::from_utf8(&bytes).unwrap()).is_err());
        let last = signed.len() - 1;
        let flipped = format!(
            "{}{}",
            &signed[..last],
            if signed.ends_with('A') { 'B' } else { 'A' }
        );
        assert!(signer.open(&flipped).is_err());
        assert!(signer.open("eyJ2IjoxfQ").is_err());
        assert!(signer.open("").is_err());
        assert!(signer.open(".").is_err());
        assert!(signer.open(&"A".repeat(10_000)).is_err());
        // Another key's cursor is refused too.
        assert!(CursorSigner::random().open(&signed).is_err());
        assert!(!format!("{signer:?}").contains("0123"));
    }

    #[test]
    fn random_keys_differ() {
        let (a, b) = (CursorSigner::random(), CursorSigner::random());
        assert_ne!(a.sign("x"), b.sign("x"));
    }
}
