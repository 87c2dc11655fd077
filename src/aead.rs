//! Content encryption: the per-message [`SessionKey`] and the two AEADs of SPEC §1
//! (ChaCha20-Poly1305, RFC 8439/8103; AES-GCM, NIST SP 800-38D/RFC 5084), composed for streaming.
//!
//! The one-shot AEAD crates want the whole message in memory; sealmail streams messages of any
//! size in bounded memory, so this module composes the same RustCrypto primitives the one-shot
//! crates use (`chacha20` + `poly1305`, `aes` + `ctr` + `ghash`) into [`Sealer`] (encrypt and
//! authenticate, chunk by chunk), [`Verifier`] (authenticate ciphertext only) and [`Decryptor`]
//! (keystream only); [`SharedKeystream`] lets a second thread take on part of a sealer's
//! encryption. Decryption is two passes on purpose: verify the whole ciphertext, and only
//! then decrypt it, so that no unauthenticated plaintext is ever released (SPEC §5).
//! Every chunking gives the same bytes as the one-shot constructions; the tests check that
//! against `chacha20poly1305`/`aes-gcm`, RFC 8439 and Wycheproof.
//!
//! Not for: key transport (see `keys`) or ASN.1 (see `cms`). The AAD is always empty (CMS
//! AuthEnvelopedData without authAttrs); the AAD constructors exist only for test vectors.

use crate::error::{Error, Result};
use aes::{Aes128, Aes256};
use chacha20::ChaCha20;
use chacha20::cipher::{
    BlockCipherEncrypt, BlockSizeUser, InnerIvInit, KeyInit, KeyIvInit, StreamCipher,
    StreamCipherSeek, array::Array, consts::U16,
};
use ctr::CtrCore;
use ctutils::CtEq;
use ghash::GHash;
use poly1305::Poly1305;
use poly1305::universal_hash::UniversalHash;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Length of the nonce for both ciphers (ChaCha20-Poly1305 nonce, GCM IV).
pub const NONCE_LEN: usize = 12;
/// Length of the tag sealmail writes.
pub const TAG_LEN: usize = 16;

/// Shortest GCM tag accepted on decryption. RFC 5084 §3.2: "ICVlen ... MUST be 12, 13, 14, 15
/// or 16"; SPEC §1 asks decryption to accept all of them.
const GCM_MIN_TAG_LEN: usize = 12;

/// Longest ChaCha20-Poly1305 ciphertext. RFC 8439 §2.8: the 32-bit block counter starts at 1
/// after block 0 keyed Poly1305; the `chacha20` crate also leaves the last counter value unused,
/// so (2^32 - 2) blocks of 64 bytes (one block short of the RFC's 274,877,906,880 bytes).
const CHACHA_MAX_LEN: u64 = (u32::MAX as u64 - 1) * 64;

/// Longest GCM ciphertext. SP 800-38D §5.2.1.1: "len(P) ≤ 2^39 - 256" bits, i.e. 2^36 - 32 bytes
/// (the 32-bit counter of inc32, minus J0 and the wrap).
const GCM_MAX_LEN: u64 = (1 << 36) - 32;

/// Bytes encrypted and then MACed together: small enough that the ciphertext is still in L1
/// cache when the MAC reads it, large enough for the SIMD backends to run at full width.
/// A multiple of 64 so that the ChaCha20 keystream stays block-aligned from piece to piece.
const STRIDE: usize = 16 * 1024;

/// Poly1305 and GHASH both work on 16-byte blocks.
const MAC_BLOCK: usize = 16;
/// Ciphertext is hashed in multiples of 8 blocks (see [`Mac::absorb`]).
const MAC_GROUP: usize = 8 * MAC_BLOCK;
type Block = Array<u8, U16>;
type Ctr32Be<A> = ctr::Ctr32BE<A>;

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
    /// Whether [`Verifier::verify`] accepts a tag of `len` bytes: exactly 16 for
    /// ChaCha20-Poly1305 (RFC 8103 §2), 12 to 16 for GCM (RFC 5084 §3.2 ICVlen).
    pub fn accepts_tag_len(self, len: usize) -> bool {
        match self {
            ContentCipher::ChaCha20Poly1305 => len == TAG_LEN,
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => {
                (GCM_MIN_TAG_LEN..=TAG_LEN).contains(&len)
            }
        }
    }
    /// The most ciphertext one nonce can cover.
    fn max_len(self) -> u64 {
        match self {
            ContentCipher::ChaCha20Poly1305 => CHACHA_MAX_LEN,
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => GCM_MAX_LEN,
        }
    }
}

/// The content-encryption key of one message. Zeroized on drop; no Debug with its bytes.
///
/// The key lives on the heap (so moving a `SessionKey` leaves no copies behind) in a fixed-size
/// array of the cipher's key length, so a key of the wrong length cannot exist.
pub struct SessionKey {
    secret: Secret,
}

enum Secret {
    ChaCha20Poly1305(Box<[u8; 32]>),
    Aes128Gcm(Box<[u8; 16]>),
    Aes256Gcm(Box<[u8; 32]>),
}

impl Drop for Secret {
    fn drop(&mut self) {
        match self {
            Secret::ChaCha20Poly1305(k) | Secret::Aes256Gcm(k) => k.zeroize(),
            Secret::Aes128Gcm(k) => k.zeroize(),
        }
    }
}

impl SessionKey {
    /// A fresh key from the OS CSPRNG (SPEC §1: "new for every message").
    pub fn generate(cipher: ContentCipher) -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; cipher.key_len()]);
        getrandom::fill(&mut bytes).map_err(random_failed)?;
        Self::from_unwrapped(cipher, bytes)
    }

    /// The key a RecipientInfo unwrapped. Its length must be the cipher's key length: a
    /// mismatch means the message names one cipher but was keyed for another (or is corrupt).
    pub fn from_unwrapped(cipher: ContentCipher, bytes: Zeroizing<Vec<u8>>) -> Result<Self> {
        let wrong_len = || {
            Error::data(format!(
                "the unwrapped content-encryption key is {} bytes long, but {} needs {}",
                bytes.len(),
                cipher.name(),
                cipher.key_len()
            ))
            .with_hint("the message is corrupt or was made by a broken encoder")
        };
        let secret = match cipher {
            ContentCipher::ChaCha20Poly1305 => {
                Secret::ChaCha20Poly1305(boxed_key(&bytes).ok_or_else(wrong_len)?)
            }
            ContentCipher::Aes128Gcm => Secret::Aes128Gcm(boxed_key(&bytes).ok_or_else(wrong_len)?),
            ContentCipher::Aes256Gcm => Secret::Aes256Gcm(boxed_key(&bytes).ok_or_else(wrong_len)?),
        };
        Ok(SessionKey { secret })
    }

    pub fn cipher(&self) -> ContentCipher {
        match self.secret {
            Secret::ChaCha20Poly1305(_) => ContentCipher::ChaCha20Poly1305,
            Secret::Aes128Gcm(_) => ContentCipher::Aes128Gcm,
            Secret::Aes256Gcm(_) => ContentCipher::Aes256Gcm,
        }
    }

    /// The raw key, for wrapping it to each recipient.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.secret {
            Secret::ChaCha20Poly1305(k) | Secret::Aes256Gcm(k) => &k[..],
            Secret::Aes128Gcm(k) => &k[..],
        }
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("cipher", &self.cipher())
            .finish_non_exhaustive()
    }
}

/// Copy a key into a heap array of exactly `N` bytes; `None` when the length differs.
fn boxed_key<const N: usize>(bytes: &[u8]) -> Option<Box<[u8; N]>> {
    if bytes.len() != N {
        return None;
    }
    let mut key = Box::new([0u8; N]);
    key.copy_from_slice(bytes);
    Some(key)
}

/// The system RNG failed: an I/O error (74) in the project's words, not getrandom's text.
fn random_failed(_: getrandom::Error) -> Error {
    Error::io("cannot get random bytes from the operating system")
}

/// A fresh random nonce. Random 96-bit nonces are safe here because every message has its own
/// fresh key: a (key, nonce) pair is never reused whatever the nonce.
pub fn random_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(random_failed)?;
    Ok(nonce)
}

/// The keystream half of an AEAD: ChaCha20 from block 1, or AES-CTR from inc32(J0).
enum Keystream {
    ChaCha20(ChaCha20),
    Aes128(Box<Ctr32Be<Aes128>>),
    Aes256(Box<Ctr32Be<Aes256>>),
}

impl Keystream {
    /// XOR the next `data.len()` keystream bytes into `data`. Fails (leaving `data` untouched)
    /// only when the keystream is exhausted, which the length limits keep from happening.
    fn apply(&mut self, data: &mut [u8]) -> Result<()> {
        let done = match self {
            Keystream::ChaCha20(c) => c.try_apply_keystream(data),
            Keystream::Aes128(c) => c.try_apply_keystream(data),
            Keystream::Aes256(c) => c.try_apply_keystream(data),
        };
        done.map_err(|_| exhausted())
    }

    /// The stream position, in bytes.
    fn position(&self) -> u64 {
        match self {
            Keystream::ChaCha20(c) => c.current_pos(),
            Keystream::Aes128(c) => c.current_pos(),
            Keystream::Aes256(c) => c.current_pos(),
        }
    }

    /// Move to stream position `pos`; fails past the end of the keystream.
    fn seek(&mut self, pos: u64) -> Result<()> {
        let done = match self {
            Keystream::ChaCha20(c) => c.try_seek(pos),
            Keystream::Aes128(c) => c.try_seek(pos),
            Keystream::Aes256(c) => c.try_seek(pos),
        };
        done.map_err(|_| exhausted())
    }
}

fn exhausted() -> Error {
    Error::data("the keystream of the content cipher is exhausted")
}

/// The one-time authenticator of an AEAD, before the length block.
enum Authenticator {
    /// RFC 8439 §2.8: Poly1305 keyed with the first 32 bytes of ChaCha20 block 0.
    Poly1305(Box<Poly1305>),
    /// SP 800-38D §7.1: GHASH_H, and E(K, J0) to mask its output with.
    Ghash(GHash, Zeroizing<[u8; 16]>),
}

impl Authenticator {
    fn update(&mut self, blocks: &[Block]) {
        match self {
            Authenticator::Poly1305(mac) => mac.update(blocks),
            Authenticator::Ghash(mac, _) => mac.update(blocks),
        }
    }
    fn update_padded(&mut self, data: &[u8]) {
        match self {
            Authenticator::Poly1305(mac) => mac.update_padded(data),
            Authenticator::Ghash(mac, _) => mac.update_padded(data),
        }
    }
}

/// Streaming MAC over `AAD || pad16 || ciphertext || pad16 || lengths`, fed in any chunking:
/// whole groups of blocks go to the authenticator in bulk, the rest waits in `pending`.
struct Mac {
    cipher: ContentCipher,
    auth: Authenticator,
    pending: [u8; MAC_GROUP],
    pending_len: usize,
    aad_len: u64,
    ct_len: u64,
    /// More ciphertext arrived than the cipher can cover; hashing stopped and the tag must fail.
    too_long: bool,
}

impl Mac {
    fn new(cipher: ContentCipher, auth: Authenticator, aad: &[u8]) -> Mac {
        let mut mac = Mac {
            cipher,
            auth,
            pending: [0; MAC_GROUP],
            pending_len: 0,
            aad_len: aad.len() as u64,
            ct_len: 0,
            too_long: false,
        };
        // Both constructions pad the AAD to a whole block before the ciphertext starts.
        mac.auth.update_padded(aad);
        mac
    }

    /// Count `len` more ciphertext bytes; false (and from then on) if that exceeds the limit.
    fn admit(&mut self, len: usize) -> bool {
        match self.ct_len.checked_add(len as u64) {
            Some(total) if !self.too_long && total <= self.cipher.max_len() => {
                self.ct_len = total;
                true
            }
            _ => {
                self.too_long = true;
                false
            }
        }
    }

    /// Hash ciphertext bytes already counted by [`Mac::admit`].
    ///
    /// The authenticator only sees whole groups of [`MAC_GROUP`] bytes until the end: the SIMD
    /// backends of Poly1305 and POLYVAL hash 4 blocks at a time and fall back to a slow
    /// block-by-block path for good once they are fed a count that is not a multiple of 4
    /// (profiled: chunk lengths that are not multiples of 64 made Poly1305 cost 5x more).
    fn absorb(&mut self, mut data: &[u8]) {
        if self.pending_len > 0 {
            let take = (MAC_GROUP - self.pending_len).min(data.len());
            let (head, rest) = data.split_at(take);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(head);
            self.pending_len += take;
            data = rest;
            if self.pending_len < MAC_GROUP {
                return;
            }
            let (blocks, _) = Block::slice_as_chunks(&self.pending[..]);
            self.auth.update(blocks);
            self.pending_len = 0;
        }
        let whole = data.len() - data.len() % MAC_GROUP;
        let (groups, tail) = data.split_at(whole);
        let (blocks, _) = Block::slice_as_chunks(groups);
        self.auth.update(blocks);
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len = tail.len();
    }

    /// The full 16-byte tag.
    fn finalize(mut self) -> [u8; TAG_LEN] {
        if self.pending_len > 0 {
            let pending_len = self.pending_len;
            let (blocks, partial) = Block::slice_as_chunks(&self.pending[..pending_len]);
            self.auth.update(blocks);
            self.auth.update_padded(partial);
        }
        let mut lengths = Block::default();
        match self.auth {
            Authenticator::Poly1305(_) => {
                // RFC 8439 §2.8: "the length of the additional data in octets (as a 64-bit
                // little-endian integer)", then "the length of the ciphertext in octets".
                lengths[..8].copy_from_slice(&self.aad_len.to_le_bytes());
                lengths[8..].copy_from_slice(&self.ct_len.to_le_bytes());
            }
            Authenticator::Ghash(..) => {
                // SP 800-38D §7.1 step 5: "[len(A)]64 || [len(C)]64", lengths in bits, big-endian.
                // ct_len is capped by GCM_MAX_LEN, and the (test-only) AAD is a slice in memory, so
                // neither product comes near 2^64.
                lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
                lengths[8..].copy_from_slice(&(self.ct_len * 8).to_be_bytes());
            }
        }
        self.auth.update(std::slice::from_ref(&lengths));
        match self.auth {
            Authenticator::Poly1305(mac) => mac.finalize().into(),
            Authenticator::Ghash(mac, mask) => {
                // SP 800-38D §7.1 step 6: "T = MSB_t(GCTR_K(J0, S))", i.e. S xor E(K, J0).
                let mut tag: [u8; TAG_LEN] = mac.finalize().into();
                for (t, m) in tag.iter_mut().zip(mask.iter()) {
                    *t ^= m;
                }
                tag
            }
        }
    }
}

/// Key both halves of the AEAD for one (key, nonce) pair.
fn start(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> (Keystream, Authenticator) {
    match &key.secret {
        Secret::ChaCha20Poly1305(k) => {
            let mut chacha = ChaCha20::new(k.as_ref().into(), nonce.into());
            // RFC 8439 §2.6: the Poly1305 key is the first 32 bytes of block 0.
            let mut otk = Zeroizing::new(poly1305::Key::default());
            chacha.apply_keystream(otk.as_mut_slice());
            let poly = Box::new(Poly1305::new(&otk));
            // RFC 8439 §2.8: the plaintext is encrypted "with the counter set to 1".
            chacha.seek(64u64);
            (Keystream::ChaCha20(chacha), Authenticator::Poly1305(poly))
        }
        Secret::Aes128Gcm(k) => {
            let (ctr, auth) = start_gcm(Aes128::new(k.as_ref().into()), nonce);
            (Keystream::Aes128(ctr), auth)
        }
        Secret::Aes256Gcm(k) => {
            let (ctr, auth) = start_gcm(Aes256::new(k.as_ref().into()), nonce);
            (Keystream::Aes256(ctr), auth)
        }
    }
}

/// SP 800-38D §7.1 with a 96-bit IV: H = E(K, 0^128), J0 = IV || 0^31 || 1, the tag mask is
/// E(K, J0) and the plaintext is encrypted by CTR from inc32(J0).
fn start_gcm<A>(aes: A, nonce: &[u8; NONCE_LEN]) -> (Box<Ctr32Be<A>>, Authenticator)
where
    A: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16>,
{
    let mut h = Zeroizing::new(Block::default());
    aes.encrypt_block(&mut h);
    let ghash = GHash::new(&h);

    let mut j0 = Block::default();
    j0[..NONCE_LEN].copy_from_slice(nonce);
    j0[15] = 1;
    let mut ctr = Box::new(Ctr32Be::from_core(CtrCore::inner_iv_init(aes, &j0)));
    // The first keystream block is E(K, J0); taking it leaves the counter at inc32(J0).
    let mut mask = Zeroizing::new([0u8; TAG_LEN]);
    ctr.apply_keystream(mask.as_mut_slice());
    (ctr, Authenticator::Ghash(ghash, mask))
}

fn too_long(cipher: ContentCipher) -> Error {
    Error::data(format!(
        "the content is too long for {} (at most {} bytes under one key and nonce)",
        cipher.name(),
        cipher.max_len()
    ))
}

/// Encrypts and authenticates a message chunk by chunk.
pub struct Sealer {
    keystream: Keystream,
    mac: Mac,
}

impl Sealer {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Sealer {
        Self::new_with_aad(key, nonce, &[])
    }

    /// TEST-ONLY: a sealer whose tag also covers `aad`, for published test vectors. sealmail
    /// itself never has AAD (no authAttrs).
    #[doc(hidden)]
    pub fn new_with_aad(key: &SessionKey, nonce: &[u8; NONCE_LEN], aad: &[u8]) -> Sealer {
        let (keystream, auth) = start(key, nonce);
        Sealer {
            keystream,
            mac: Mac::new(key.cipher(), auth, aad),
        }
    }

    /// Encrypt `chunk` in place, continuing where the previous chunk ended (any lengths).
    ///
    /// Fails only when the content exceeds what the cipher can cover under one nonce (256 GiB
    /// for ChaCha20-Poly1305, 64 GiB for GCM). Then `chunk` is zeroed, so no plaintext is left in
    /// it, and the sealer is spent: every later call fails too, and its tag will not verify.
    pub fn seal_in_place(&mut self, chunk: &mut [u8]) -> Result<()> {
        let offset = self.mac.ct_len;
        self.seal_in_place_after(chunk, offset, 0)
    }

    /// [`Sealer::seal_in_place`] for a chunk that starts at content offset `offset` and whose
    /// first `encrypted` bytes a [`SharedKeystream`] has already encrypted at that offset: those
    /// are only authenticated, the rest is encrypted and authenticated.
    ///
    /// Fails (zeroing `chunk`, spending the sealer) also when `encrypted` is longer than the
    /// chunk, or when `offset` is not where the content sealed so far ends: an accounting slip
    /// between the two threads would otherwise encrypt with keystream already used, under a tag
    /// that still verifies.
    pub fn seal_in_place_after(
        &mut self,
        chunk: &mut [u8],
        offset: u64,
        encrypted: usize,
    ) -> Result<()> {
        let sealed = if offset == self.mac.ct_len {
            self.seal_pieces(chunk, encrypted)
        } else {
            Err(Error::io("a piece of the content arrived out of place"))
        };
        if sealed.is_err() {
            chunk.zeroize();
            self.mac.too_long = true;
        }
        sealed
    }

    fn seal_pieces(&mut self, chunk: &mut [u8], encrypted: usize) -> Result<()> {
        if !self.mac.admit(chunk.len()) {
            return Err(too_long(self.mac.cipher));
        }
        if encrypted > chunk.len() {
            return Err(Error::io("a piece was encrypted past its end"));
        }
        let (done, rest) = chunk.split_at_mut(encrypted);
        if !done.is_empty() {
            let skip = self.keystream.position().saturating_add(done.len() as u64);
            self.keystream.seek(skip)?;
            self.mac.absorb(done);
        }
        for piece in rest.chunks_mut(STRIDE) {
            self.keystream.apply(piece)?;
            self.mac.absorb(piece);
        }
        Ok(())
    }

    /// The 16-byte tag over all the ciphertext sealed.
    pub fn finish(self) -> [u8; TAG_LEN] {
        self.mac.finalize()
    }
}

/// The keystream of a [`Sealer`] for the same key and nonce, for a second thread: it encrypts
/// bytes at any place in the content, which the sealer then only authenticates (see
/// [`Sealer::seal_in_place_after`]). The same keystream bytes at the same place give the same
/// ciphertext whichever thread applies them.
pub struct SharedKeystream {
    /// The stream position of content offset 0.
    base: u64,
    keystream: Keystream,
}

impl SharedKeystream {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> SharedKeystream {
        let (keystream, _) = start(key, nonce);
        SharedKeystream {
            base: keystream.position(),
            keystream,
        }
    }

    /// Encrypt `data` in place as the content bytes starting at `offset`.
    pub fn encrypt_at(&mut self, offset: u64, data: &mut [u8]) -> Result<()> {
        let pos = self.base.checked_add(offset).ok_or_else(exhausted)?;
        self.keystream.seek(pos)?;
        self.keystream.apply(data)
    }
}

impl fmt::Debug for SharedKeystream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedKeystream { .. }")
    }
}

/// Authenticates a ciphertext chunk by chunk, without decrypting anything.
pub struct Verifier {
    mac: Mac,
}

impl Verifier {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Verifier {
        Self::new_with_aad(key, nonce, &[])
    }

    /// TEST-ONLY: a verifier for a tag that also covers `aad`, for published test vectors.
    #[doc(hidden)]
    pub fn new_with_aad(key: &SessionKey, nonce: &[u8; NONCE_LEN], aad: &[u8]) -> Verifier {
        // The keystream is only needed to key the authenticator; it is dropped (and zeroized).
        let (_, auth) = start(key, nonce);
        Verifier {
            mac: Mac::new(key.cipher(), auth, aad),
        }
    }

    /// Feed the next ciphertext bytes (any lengths).
    pub fn update(&mut self, ciphertext: &[u8]) {
        if self.mac.admit(ciphertext.len()) {
            self.mac.absorb(ciphertext);
        }
    }

    /// Check `tag` against all the ciphertext fed, in constant time. A GCM tag may be 12 to 16
    /// bytes (RFC 5084 ICVlen): it is compared with as many leading bytes of the computed tag.
    pub fn verify(self, tag: &[u8]) -> Result<()> {
        let cipher = self.mac.cipher;
        if !cipher.accepts_tag_len(tag.len()) {
            let allowed = match cipher {
                ContentCipher::ChaCha20Poly1305 => "16 bytes",
                ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => "12 to 16 bytes",
            };
            return Err(Error::data(format!(
                "the {} authentication tag is {} bytes long; it must be {allowed}",
                cipher.name(),
                tag.len()
            )));
        }
        if self.mac.too_long {
            return Err(too_long(cipher));
        }
        let computed = self.mac.finalize();
        let matches = computed
            .get(..tag.len())
            .is_some_and(|expected| bool::from(expected.ct_eq(tag)));
        if matches {
            Ok(())
        } else {
            Err(
                Error::data("integrity check failed: the message was altered or is corrupt")
                    .with_hint("nothing was decrypted; ask the sender to send the message again"),
            )
        }
    }
}

/// Decrypts a ciphertext chunk by chunk. Use it only after a [`Verifier`] accepted the same
/// ciphertext: it does no authentication of its own.
pub struct Decryptor {
    keystream: Keystream,
    cipher: ContentCipher,
    len: u64,
}

impl Decryptor {
    pub fn new(key: &SessionKey, nonce: &[u8; NONCE_LEN]) -> Decryptor {
        let (keystream, _) = start(key, nonce);
        Decryptor {
            keystream,
            cipher: key.cipher(),
            len: 0,
        }
    }

    /// Decrypt `chunk` in place, continuing where the previous chunk ended (any lengths).
    /// Fails only past the cipher's length limit, which a verified ciphertext never reaches.
    pub fn decrypt_in_place(&mut self, chunk: &mut [u8]) -> Result<()> {
        match self.len.checked_add(chunk.len() as u64) {
            Some(total) if total <= self.cipher.max_len() => self.len = total,
            _ => return Err(too_long(self.cipher)),
        }
        self.keystream.apply(chunk)
    }
}

// Debug shows which cipher a stream uses, never key material or cipher state.
impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("cipher", &self.mac.cipher)
            .finish_non_exhaustive()
    }
}
impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("cipher", &self.mac.cipher)
            .finish_non_exhaustive()
    }
}
impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

/// Encrypt a whole plaintext held in memory: the ciphertext and the 16-byte tag.
pub fn seal(
    key: &SessionKey,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<(Vec<u8>, [u8; TAG_LEN])> {
    let mut ciphertext = plaintext.to_vec();
    let mut sealer = Sealer::new(key, nonce);
    sealer.seal_in_place(&mut ciphertext)?;
    Ok((ciphertext, sealer.finish()))
}

/// Verify, then decrypt, a whole ciphertext held in memory.
pub fn open(
    key: &SessionKey,
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let mut verifier = Verifier::new(key, nonce);
    verifier.update(ciphertext);
    verifier.verify(tag)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    Decryptor::new(key, nonce).decrypt_in_place(&mut plaintext)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm};
    use chacha20poly1305::ChaCha20Poly1305;
    use proptest::prelude::*;

    const CIPHERS: [ContentCipher; 3] = [
        ContentCipher::ChaCha20Poly1305,
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes256Gcm,
    ];

    fn key_for(cipher: ContentCipher, seed: &[u8; 32]) -> SessionKey {
        let bytes = Zeroizing::new(seed[..cipher.key_len()].to_vec());
        SessionKey::from_unwrapped(cipher, bytes).expect("key of the right length")
    }

    /// The one-shot RustCrypto AEAD with the same key: (ciphertext, detached tag).
    fn reference_seal(
        key: &SessionKey,
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> (Vec<u8>, [u8; 16]) {
        let mut buf = plaintext.to_vec();
        let k = key.as_bytes();
        let n = nonce.into();
        let tag = match key.cipher() {
            ContentCipher::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(k)
                .unwrap()
                .encrypt_inout_detached(n, aad, buf.as_mut_slice().into()),
            ContentCipher::Aes128Gcm => Aes128Gcm::new_from_slice(k)
                .unwrap()
                .encrypt_inout_detached(n, aad, buf.as_mut_slice().into()),
            ContentCipher::Aes256Gcm => Aes256Gcm::new_from_slice(k)
                .unwrap()
                .encrypt_inout_detached(n, aad, buf.as_mut_slice().into()),
        }
        .unwrap();
        (buf, tag.into())
    }

    /// Split `0..len` into consecutive ranges whose lengths cycle through `sizes`; a size of 0
    /// yields an empty chunk (callers must cope with those too).
    fn chunking(len: usize, sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
        let sizes = if sizes.iter().all(|&s| s == 0) {
            &[usize::MAX][..]
        } else {
            sizes
        };
        let mut ranges = Vec::new();
        let mut at = 0;
        for &size in sizes.iter().cycle() {
            if at >= len && !ranges.is_empty() {
                break;
            }
            let end = (at + size).min(len);
            ranges.push(at..end);
            at = end;
        }
        ranges
    }

    fn seal_chunked(
        key: &SessionKey,
        nonce: &[u8; 12],
        pt: &[u8],
        sizes: &[usize],
    ) -> (Vec<u8>, [u8; 16]) {
        let mut buf = pt.to_vec();
        let mut sealer = Sealer::new(key, nonce);
        for r in chunking(buf.len(), sizes) {
            sealer.seal_in_place(&mut buf[r]).unwrap();
        }
        (buf, sealer.finish())
    }

    fn verify_chunked(
        key: &SessionKey,
        nonce: &[u8; 12],
        ct: &[u8],
        tag: &[u8],
        sizes: &[usize],
    ) -> Result<()> {
        let mut verifier = Verifier::new(key, nonce);
        for r in chunking(ct.len(), sizes) {
            verifier.update(&ct[r]);
        }
        verifier.verify(tag)
    }

    fn decrypt_chunked(key: &SessionKey, nonce: &[u8; 12], ct: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut buf = ct.to_vec();
        let mut decryptor = Decryptor::new(key, nonce);
        for r in chunking(buf.len(), sizes) {
            decryptor.decrypt_in_place(&mut buf[r]).unwrap();
        }
        buf
    }

    /// Seal with one chunking, compare with the one-shot crate, verify and decrypt with another.
    fn check_round_trip(
        key: &SessionKey,
        nonce: &[u8; 12],
        pt: &[u8],
        seal_sizes: &[usize],
        open_sizes: &[usize],
    ) {
        let (ct, tag) = seal_chunked(key, nonce, pt, seal_sizes);
        let (ref_ct, ref_tag) = reference_seal(key, nonce, &[], pt);
        assert!(
            ct == ref_ct,
            "{} ciphertext differs, len {}",
            key.cipher().name(),
            pt.len()
        );
        assert_eq!(
            tag,
            ref_tag,
            "{} tag differs, len {}",
            key.cipher().name(),
            pt.len()
        );
        verify_chunked(key, nonce, &ct, &tag, open_sizes).unwrap();
        assert!(decrypt_chunked(key, nonce, &ct, open_sizes) == pt);
    }

    fn assert_integrity_failure(result: Result<()>) {
        let err = result.expect_err("a forged message must not verify");
        assert_eq!(err.kind(), Kind::Data);
        assert!(
            err.message().starts_with("integrity check failed"),
            "{}",
            err.message()
        );
        assert!(err.hint().is_some());
    }

    fn cipher_strategy() -> impl Strategy<Value = ContentCipher> {
        prop::sample::select(CIPHERS.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn streaming_matches_the_one_shot_aead_for_any_chunking(
            cipher in cipher_strategy(),
            seed in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            pt in prop::collection::vec(any::<u8>(), 0..5000),
            seal_sizes in prop::collection::vec(0usize..300, 1..8),
            open_sizes in prop::collection::vec(0usize..300, 1..8),
        ) {
            let key = key_for(cipher, &seed);
            check_round_trip(&key, &nonce, &pt, &seal_sizes, &open_sizes);
        }

        /// The encrypting pipeline's split: another thread encrypts the front of each chunk
        /// with a `SharedKeystream` (here in reverse order, all before any sealing), the sealer
        /// the rest; the result must still be the one-shot AEAD's.
        #[test]
        fn a_shared_keystream_split_matches_the_one_shot_aead(
            cipher in cipher_strategy(),
            seed in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            pt in prop::collection::vec(any::<u8>(), 0..5000),
            sizes in prop::collection::vec(0usize..700, 1..8),
            shares in prop::collection::vec(any::<prop::sample::Index>(), 1..8),
        ) {
            let key = key_for(cipher, &seed);
            let mut buf = pt.clone();
            let ranges = chunking(buf.len(), &sizes);
            let split: Vec<usize> = ranges
                .iter()
                .zip(shares.iter().cycle())
                .map(|(r, share)| share.index(r.len() + 1))
                .collect();
            let mut shared = SharedKeystream::new(&key, &nonce);
            for (r, &n) in ranges.iter().zip(&split).rev() {
                shared.encrypt_at(r.start as u64, &mut buf[r.start..r.start + n]).unwrap();
            }
            let mut sealer = Sealer::new(&key, &nonce);
            for (r, &n) in ranges.iter().zip(&split) {
                sealer.seal_in_place_after(&mut buf[r.clone()], r.start as u64, n).unwrap();
            }
            let (ref_ct, ref_tag) = reference_seal(&key, &nonce, &[], &pt);
            prop_assert!(buf == ref_ct, "{} ciphertext differs", cipher.name());
            prop_assert_eq!(sealer.finish(), ref_tag);
        }

        #[test]
        fn any_flipped_bit_is_rejected(
            cipher in cipher_strategy(),
            seed in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            pt in prop::collection::vec(any::<u8>(), 1..2000),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
            sizes in prop::collection::vec(1usize..100, 1..4),
        ) {
            let key = key_for(cipher, &seed);
            let (ct, tag) = seal(&key, &nonce, &pt).unwrap();

            let mut bad_ct = ct.clone();
            bad_ct[flip.index(ct.len())] ^= 1 << bit;
            assert_integrity_failure(verify_chunked(&key, &nonce, &bad_ct, &tag, &sizes));
            prop_assert!(open(&key, &nonce, &bad_ct, &tag).is_err());

            let mut bad_tag = tag;
            bad_tag[flip.index(TAG_LEN)] ^= 1 << bit;
            assert_integrity_failure(verify_chunked(&key, &nonce, &ct, &bad_tag, &sizes));

            // A ciphertext one byte shorter or longer must not verify either (the length block).
            assert_integrity_failure(verify_chunked(&key, &nonce, &ct[..ct.len() - 1], &tag, &sizes));
            let mut longer = ct.clone();
            longer.push(0);
            assert_integrity_failure(verify_chunked(&key, &nonce, &longer, &tag, &sizes));
        }

        #[test]
        fn truncated_gcm_tags_verify_and_their_forgeries_do_not(
            aes256 in any::<bool>(),
            seed in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            pt in prop::collection::vec(any::<u8>(), 0..500),
            len in 12usize..=16,
            flip in 0usize..12,
        ) {
            let cipher = if aes256 { ContentCipher::Aes256Gcm } else { ContentCipher::Aes128Gcm };
            let key = key_for(cipher, &seed);
            let (ct, tag) = seal(&key, &nonce, &pt).unwrap();
            verify_chunked(&key, &nonce, &ct, &tag[..len], &[7]).unwrap();
            prop_assert!(open(&key, &nonce, &ct, &tag[..len]).unwrap().as_slice() == pt.as_slice());
            let mut bad = tag[..len].to_vec();
            bad[flip] ^= 0x80;
            assert_integrity_failure(verify_chunked(&key, &nonce, &ct, &bad, &[7]));
        }
    }

    #[test]
    fn a_chunk_claimed_encrypted_past_its_end_is_refused_and_wiped() {
        let key = key_for(ContentCipher::ChaCha20Poly1305, &[7; 32]);
        let mut sealer = Sealer::new(&key, &[1; 12]);
        let mut chunk = *b"plaintext";
        assert!(sealer.seal_in_place_after(&mut chunk, 0, 10).is_err());
        assert_eq!(chunk, [0; 9]);
        // The sealer is spent: later chunks fail too.
        assert!(sealer.seal_in_place(&mut [1, 2, 3]).is_err());
    }

    #[test]
    fn a_chunk_out_of_place_is_refused_and_wiped_so_no_keystream_is_used_twice() {
        let key = key_for(ContentCipher::Aes256Gcm, &[7; 32]);
        let mut sealer = Sealer::new(&key, &[1; 12]);
        let mut first = *b"first piece";
        sealer.seal_in_place_after(&mut first, 0, 0).unwrap();
        // The next piece claims offset 0 again (a slip that would reuse the first keystream),
        // then one that skips ahead: both refused, wiped, and the sealer spent.
        for offset in [0u64, 12, 100] {
            let mut again = *b"second";
            assert!(sealer.seal_in_place_after(&mut again, offset, 0).is_err());
            assert_eq!(again, [0; 6]);
        }
        let mut right = *b"second";
        assert!(
            sealer.seal_in_place_after(&mut right, 11, 0).is_err(),
            "spent"
        );
    }

    #[test]
    fn lengths_around_block_boundaries_with_awkward_chunkings() {
        let lengths = [
            0,
            1,
            15,
            16,
            17,
            31,
            32,
            33,
            47,
            48,
            63,
            64,
            65,
            127,
            128,
            129,
            191,
            192,
            255,
            256,
            257,
            511,
            512,
            513,
            1023,
            1024,
            1025,
            4095,
            4096,
            4097,
            16383,
            16384,
            16385,
            16447,
            32768,
            32769,
            65536 + 15,
        ];
        let chunkings: [&[usize]; 10] = [
            &[1],
            &[3, 0, 5],
            &[15],
            &[16],
            &[17],
            &[63, 1],
            &[64],
            &[65, 0],
            &[1000, 13],
            &[usize::MAX],
        ];
        let mut pt = vec![0u8; 65536 + 15];
        getrandom::fill(&mut pt).unwrap();
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            for len in lengths {
                for (i, sizes) in chunkings.iter().enumerate() {
                    // Byte-sized chunks over long inputs only cost time in a debug build.
                    if len > 5000 && sizes.iter().all(|&s| s < 64) {
                        continue;
                    }
                    let open_sizes = chunkings[(i + 3) % chunkings.len()];
                    check_round_trip(&key, &nonce, &pt[..len], sizes, open_sizes);
                }
            }
        }
    }

    #[test]
    fn several_mebibytes_in_odd_chunks() {
        let mut pt = vec![0u8; 5 * 1024 * 1024 + 7];
        getrandom::fill(&mut pt).unwrap();
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            check_round_trip(&key, &nonce, &pt, &[65537, 4096, 1], &[usize::MAX]);
            check_round_trip(&key, &nonce, &pt, &[usize::MAX], &[100_003]);
        }
    }

    #[test]
    fn open_reverses_seal_and_returns_the_plaintext() {
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            let pt = b"Subject: hello\r\n\r\nbody\r\n";
            let (ct, tag) = seal(&key, &nonce, pt).unwrap();
            assert_ne!(&ct[..], &pt[..]);
            assert_eq!(open(&key, &nonce, &ct, &tag).unwrap().as_slice(), pt);
            // The same ciphertext under another nonce or key does not open.
            let mut other_nonce = nonce;
            other_nonce[0] ^= 1;
            assert_integrity_failure(open(&key, &other_nonce, &ct, &tag).map(drop));
            let other_key = SessionKey::generate(cipher).unwrap();
            assert_integrity_failure(open(&other_key, &nonce, &ct, &tag).map(drop));
        }
    }

    #[test]
    fn tag_lengths_outside_the_allowed_range_are_data_errors() {
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            let (ct, tag) = seal(&key, &nonce, b"x").unwrap();
            let mut long = tag.to_vec();
            long.push(0);
            let bad_lengths: Vec<&[u8]> = match cipher {
                ContentCipher::ChaCha20Poly1305 => vec![&[], &tag[..12], &tag[..15], &long],
                _ => vec![&[], &tag[..8], &tag[..11], &long],
            };
            for bad in bad_lengths {
                let err = open(&key, &nonce, &ct, bad).expect_err("tag length must be refused");
                assert_eq!(err.kind(), Kind::Data);
                assert!(
                    err.message().contains("authentication tag is"),
                    "{}",
                    err.message()
                );
                assert!(err.message().contains(cipher.name()), "{}", err.message());
            }
            for len in 0..=17 {
                let accepted = open(&key, &nonce, &ct, long.get(..len).unwrap()).is_ok();
                assert_eq!(
                    accepted,
                    cipher.accepts_tag_len(len),
                    "{} {len}",
                    cipher.name()
                );
            }
        }
        assert!(!ContentCipher::ChaCha20Poly1305.accepts_tag_len(12));
        assert!(ContentCipher::Aes128Gcm.accepts_tag_len(12));
        assert!(!ContentCipher::Aes256Gcm.accepts_tag_len(11));
    }

    /// RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305".
    #[test]
    fn rfc8439_aead_test_vector() {
        let key = SessionKey::from_unwrapped(
            ContentCipher::ChaCha20Poly1305,
            Zeroizing::new((0x80..=0x9f).collect()),
        )
        .unwrap();
        let nonce = [
            0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ];
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let pt =
            b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for \
                   the future, sunscreen would be it.";
        let expected_ct = hex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6\
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36\
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
             3ff4def08e4b7a9de576d26586cec64b6116",
        );
        let expected_tag = hex("1ae10b594f09e26a7e902ecbd0600691");

        for sizes in [&[usize::MAX][..], &[1], &[16, 3], &[64, 0, 5]] {
            let mut buf = pt.to_vec();
            let mut sealer = Sealer::new_with_aad(&key, &nonce, &aad);
            for r in chunking(buf.len(), sizes) {
                sealer.seal_in_place(&mut buf[r]).unwrap();
            }
            assert_eq!(buf, expected_ct);
            assert_eq!(sealer.finish().to_vec(), expected_tag);

            let mut verifier = Verifier::new_with_aad(&key, &nonce, &aad);
            for r in chunking(buf.len(), sizes) {
                verifier.update(&buf[r]);
            }
            verifier.verify(&expected_tag).unwrap();
            assert_eq!(decrypt_chunked(&key, &nonce, &buf, sizes), pt);
        }
        // Without the AAD the same ciphertext does not verify.
        assert_integrity_failure(verify_chunked(
            &key,
            &nonce,
            &expected_ct,
            &expected_tag,
            &[9],
        ));
    }

    use crate::test_util::hex;

    #[test]
    fn session_keys_have_the_cipher_length_and_hide_their_bytes() {
        for cipher in CIPHERS {
            let a = SessionKey::generate(cipher).unwrap();
            let b = SessionKey::generate(cipher).unwrap();
            assert_eq!(a.cipher(), cipher);
            assert_eq!(a.as_bytes().len(), cipher.key_len());
            assert_ne!(a.as_bytes(), b.as_bytes(), "two fresh keys must differ");

            let debug = format!("{a:?}");
            assert!(debug.contains(&format!("{cipher:?}")), "{debug}");
            let hex_key: String = a.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            assert!(!debug.contains(&hex_key) && !debug.contains(&format!("{:?}", a.as_bytes())));

            let same = SessionKey::from_unwrapped(cipher, Zeroizing::new(a.as_bytes().to_vec()));
            assert_eq!(same.unwrap().as_bytes(), a.as_bytes());
        }
        assert_ne!(random_nonce().unwrap(), random_nonce().unwrap());
    }

    #[test]
    fn an_unwrapped_key_of_the_wrong_length_is_a_data_error() {
        for (cipher, len) in [
            (ContentCipher::ChaCha20Poly1305, 16),
            (ContentCipher::ChaCha20Poly1305, 31),
            (ContentCipher::Aes128Gcm, 32),
            (ContentCipher::Aes256Gcm, 16),
            (ContentCipher::Aes256Gcm, 0),
        ] {
            let err = SessionKey::from_unwrapped(cipher, Zeroizing::new(vec![7; len]))
                .expect_err("wrong key length must be refused");
            assert_eq!(err.kind(), Kind::Data);
            assert!(
                err.message().contains("wrong") || err.message().contains(&format!("{len} bytes"))
            );
            assert!(err.message().contains(cipher.name()), "{}", err.message());
        }
    }

    #[test]
    fn length_limits_match_the_specifications() {
        // RFC 8439 §2.8 allows 274,877,906,880 bytes; the chacha20 crate stops one block earlier.
        assert_eq!(CHACHA_MAX_LEN, 274_877_906_880 - 64);
        // SP 800-38D §5.2.1.1: len(P) <= 2^39 - 256 bits.
        assert_eq!(GCM_MAX_LEN * 8, (1u64 << 39) - 256);
    }

    #[test]
    fn a_sealer_past_the_limit_fails_and_leaves_no_plaintext() {
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            let mut sealer = Sealer::new(&key, &nonce);
            // Pretend most of the allowance is used up, as after a huge stream.
            sealer.mac.ct_len = cipher.max_len() - 10;
            let mut fits = *b"0123456789";
            sealer.seal_in_place(&mut fits).unwrap();
            let mut plaintext = *b"secret";
            let err = sealer
                .seal_in_place(&mut plaintext)
                .expect_err("past the limit");
            assert_eq!(err.kind(), Kind::Data);
            assert!(err.message().contains("too long"), "{}", err.message());
            assert_eq!(
                plaintext, [0; 6],
                "the refused chunk must not keep its plaintext"
            );
            assert!(
                sealer.seal_in_place(&mut []).is_err(),
                "a spent sealer stays spent"
            );

            let mut verifier = Verifier::new(&key, &nonce);
            verifier.mac.ct_len = cipher.max_len();
            verifier.update(b"x");
            let err = verifier.verify(&[0; 16]).expect_err("past the limit");
            assert!(err.message().contains("too long"), "{}", err.message());

            let mut decryptor = Decryptor::new(&key, &nonce);
            decryptor.len = cipher.max_len();
            assert!(decryptor.decrypt_in_place(&mut [0]).is_err());
        }
    }

    /// Throughput print for the benchmark notes; no assertion on time. Run with
    /// `cargo test --release --lib aead::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        const TOTAL: usize = 512 * 1024 * 1024;
        let mut buf = vec![0x5au8; 16 * 1024];
        for cipher in CIPHERS {
            let key = SessionKey::generate(cipher).unwrap();
            let nonce = random_nonce().unwrap();
            let t = std::time::Instant::now();
            let mut sealer = Sealer::new(&key, &nonce);
            for _ in 0..TOTAL / buf.len() {
                sealer.seal_in_place(&mut buf).unwrap();
            }
            let tag = sealer.finish();
            let seal_s = t.elapsed().as_secs_f64();

            let t = std::time::Instant::now();
            let mut verifier = Verifier::new(&key, &nonce);
            for _ in 0..TOTAL / buf.len() {
                verifier.update(&buf);
            }
            let _ = verifier.verify(&tag);
            let mut decryptor = Decryptor::new(&key, &nonce);
            for _ in 0..TOTAL / buf.len() {
                decryptor.decrypt_in_place(&mut buf).unwrap();
            }
            let open_s = t.elapsed().as_secs_f64();
            let mb = TOTAL as f64 / 1e6;
            println!(
                "{:<18} seal {:>7.0} MB/s   verify+decrypt {:>7.0} MB/s   (16 KiB chunks, {} MiB)",
                cipher.name(),
                mb / seal_s,
                mb / open_s,
                TOTAL >> 20
            );
        }
    }
}
