//! Secrets at rest in the shared database: the OneDrive tokens (and other secrets) sealed with
//! XChaCha20-Poly1305 under the operator's `--token-key`, so that a database dump alone does not
//! give the account away. Older keys (`--token-key-old`) still open what they sealed, which lets an
//! operator rotate the key without reconnecting: every write seals with the current key.
//!
//! A sealed value is `[1] ++ key id (4 bytes) ++ nonce (24 bytes) ++ ciphertext+tag`; the key id is
//! the first 4 bytes of SHA-256 of the key and picks the key that opens it. The purpose of a
//! value (e.g. `tokens`) is bound to it as associated data, so one secret cannot be swapped for another.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 24;

/// A 32-byte key, given as standard base64 (`openssl rand -base64 32`).
#[derive(Clone)]
pub struct TokenKey {
    id: [u8; 4],
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({})", hex::encode(self.id))
    }
}

impl TokenKey {
    /// Parses a base64 key of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<TokenKey, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "a token key must be 32 bytes in standard base64 (openssl rand -base64 32)".to_owned())?;
        if bytes.len() != 32 {
            return Err(format!("a token key must be 32 bytes, not {} (openssl rand -base64 32)", bytes.len()));
        }
        let digest = Sha256::digest(&bytes);
        Ok(TokenKey {
            id: [digest[0], digest[1], digest[2], digest[3]],
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| "bad key length".to_owned())?,
        })
    }
}

/// Seals with the current key, opens with the current or an old one.
#[derive(Clone, Debug)]
pub struct Sealer {
    current: TokenKey,
    old: Vec<TokenKey>,
}

/// A sealed value that no configured key opens (wrong key, or tampered with).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no configured token key opens the stored secret (wrong --token-key, or the value was altered)")]
pub struct Unsealable;

impl Sealer {
    /// A sealer with `current` and the keys it replaced.
    pub fn new(current: TokenKey, old: Vec<TokenKey>) -> Sealer {
        Sealer { current, old }
    }

    /// Seals `plain` for `purpose` with the current key and a fresh random nonce.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; 24] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = self
            .current
            .cipher
            .encrypt(nonce, Payload { msg: plain, aad: purpose.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Sealer::seal`] sealed for `purpose`; also says whether it was sealed with an old key.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<(Vec<u8>, bool), Unsealable> {
        if sealed.len() < HEADER || sealed[0] != VERSION {
            return Err(Unsealable);
        }
        let (id, nonce, body) = (&sealed[1..5], XNonce::from_slice(&sealed[5..HEADER]), &sealed[HEADER..]);
        std::iter::once(&self.current)
            .chain(&self.old)
            .enumerate()
            .filter(|(_, key)| key.id == id)
            .find_map(|(i, key)| {
                key.cipher.decrypt(nonce, Payload { msg: body, aad: purpose.as_bytes() }).ok().map(|p| (p, i > 0))
            })
            .ok_or(Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> TokenKey {
        TokenKey::parse(&base64::engine::general_purpose::STANDARD.encode([byte; 32])).unwrap()
    }

    #[test]
    fn seals_opens_and_rotates() {
        let sealer = Sealer::new(key(1), vec![]);
        let sealed = sealer.seal("tokens", b"M.C-refresh-secret");
        assert!(!sealed.windows(6).any(|w| w == b"M.C-re"), "ciphertext, not the token");
        assert_ne!(sealer.seal("tokens", b"M.C-refresh-secret"), sealed, "fresh nonce each time");
        assert_eq!(sealer.open("tokens", &sealed).unwrap(), (b"M.C-refresh-secret".to_vec(), false));
        assert_eq!(sealer.open("verifier", &sealed), Err(Unsealable), "bound to its purpose");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("tokens", &altered), Err(Unsealable));
        assert_eq!(Sealer::new(key(2), vec![]).open("tokens", &sealed), Err(Unsealable), "another key");
        let rotated = Sealer::new(key(2), vec![key(1)]);
        assert_eq!(rotated.open("tokens", &sealed).unwrap(), (b"M.C-refresh-secret".to_vec(), true), "old key");
        assert_eq!(rotated.open("tokens", &rotated.seal("tokens", b"x")).unwrap(), (b"x".to_vec(), false));
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_printed() {
        assert!(TokenKey::parse("c2hvcnQ=").unwrap_err().contains("32 bytes"));
        assert!(TokenKey::parse("not base64!").is_err());
        let k = key(7);
        assert!(!format!("{k:?}").contains("BwcH"), "the key itself is not in Debug");
    }
}
