//! Content encryption: the per-message [`SessionKey`] and the two AEADs of SPEC §1
//! (ChaCha20-Poly1305, RFC 8439/8103; AES-GCM, RFC 5084), composed for streaming.
//!
//! Not for: key transport (see `keys`) or ASN.1 (see `cms`). Empty AAD throughout (no authAttrs).
//! STUB: interface only; the streaming implementation is being written.

use crate::error::Result;
use zeroize::Zeroizing;

/// Length of the nonce for both ciphers (ChaCha20-Poly1305 nonce, GCM IV).
pub const NONCE_LEN: usize = 12;
/// Length of the tag sealmail writes.
pub const TAG_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCipher {
    ChaCha20Poly1305,
    Aes128Gcm,
    Aes256Gcm,
}

impl ContentCipher {
    pub fn key_len(self) -> usize {
        match self {
            ContentCipher::ChaCha20Poly1305 | ContentCipher::Aes256Gcm => 32,
            ContentCipher::Aes128Gcm => 16,
        }
    }
    /// The name used on the command line and by `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            ContentCipher::ChaCha20Poly1305 => "chacha20-poly1305",
            ContentCipher::Aes128Gcm => "aes-128-gcm",
            ContentCipher::Aes256Gcm => "aes-256-gcm",
        }
    }
}

/// The content-encryption key of one message. Zeroized on drop; no Debug with its bytes.
pub struct SessionKey {
    cipher: ContentCipher,
    bytes: Zeroizing<Vec<u8>>,
}

impl SessionKey {
    pub fn generate(cipher: ContentCipher) -> Result<Self> {
        let _ = cipher;
        todo!()
    }
    pub fn from_unwrapped(cipher: ContentCipher, bytes: Zeroizing<Vec<u8>>) -> Result<Self> {
        Ok(SessionKey { cipher, bytes })
    }
    pub fn cipher(&self) -> ContentCipher {
        self.cipher
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

pub fn random_nonce() -> Result<[u8; NONCE_LEN]> {
    todo!()
}

pub struct Sealer;
impl Sealer {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Sealer {
        let _ = (key, nonce);
        todo!()
    }
    pub fn seal_in_place(&mut self, chunk: &mut [u8]) {
        let _ = chunk;
        todo!()
    }
    pub fn finish(self) -> [u8; TAG_LEN] {
        todo!()
    }
}

pub struct Verifier;
impl Verifier {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Verifier {
        let _ = (key, nonce);
        todo!()
    }
    pub fn update(&mut self, ciphertext: &[u8]) {
        let _ = ciphertext;
        todo!()
    }
    pub fn verify(self, tag: &[u8]) -> Result<()> {
        let _ = tag;
        todo!()
    }
}

pub struct Decryptor;
impl Decryptor {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Decryptor {
        let _ = (key, nonce);
        todo!()
    }
    pub fn decrypt_in_place(&mut self, chunk: &mut [u8]) {
        let _ = chunk;
        todo!()
    }
}
