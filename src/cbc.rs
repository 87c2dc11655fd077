//! The content cipher of CMS EnvelopedData: AES-128/192/256-CBC (RFC 3565) and, for reading old
//! archives only, DES-EDE3-CBC (RFC 3370 §5.1), with PKCS#7 padding (RFC 5652 §6.3), streaming.
//!
//! There is no integrity here: CBC ciphertext can be altered and still decrypt. Decryption
//! releases plaintext as it goes and the padding can only be checked at the very end, so the
//! caller holds its output until [`CbcDecryptor::finish`] has said yes (within the output
//! hold) and warns that the content was not integrity-protected.
//!
//! Not for: the AEADs of AuthEnvelopedData (see `aead`), or the algorithm identifiers (see
//! `cms::enveloped`).

use crate::error::{Error, Result};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ctutils::Choice;
use zeroize::Zeroizing;

/// A CBC content cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CbcCipher {
    Aes128,
    Aes192,
    Aes256,
    /// Read only: old archives.
    DesEde3,
}

impl CbcCipher {
    pub fn key_len(self) -> usize {
        match self {
            CbcCipher::Aes128 => 16,
            CbcCipher::Aes192 => 24,
            CbcCipher::Aes256 => 32,
            CbcCipher::DesEde3 => 24,
        }
    }

    pub fn block_len(self) -> usize {
        match self {
            CbcCipher::DesEde3 => 8,
            _ => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CbcCipher::Aes128 => "aes-128-cbc",
            CbcCipher::Aes192 => "aes-192-cbc",
            CbcCipher::Aes256 => "aes-256-cbc",
            CbcCipher::DesEde3 => "des-ede3-cbc",
        }
    }
}

/// The length of the ciphertext of `len` plaintext octets: PKCS#7 always adds 1 to 16 octets.
pub fn ciphertext_len(len: u64) -> u64 {
    (len / 16 + 1) * 16
}

fn bad_key() -> Error {
    Error::data("malformed CMS: the content-encryption key or IV has the wrong length")
}

enum Mode<A, B, C, D> {
    Aes128(A),
    Aes192(B),
    Aes256(C),
    DesEde3(D),
}

macro_rules! each_mode {
    ($mode:expr, $m:ident => $body:expr) => {
        match $mode {
            Mode::Aes128($m) => $body,
            Mode::Aes192($m) => $body,
            Mode::Aes256($m) => $body,
            Mode::DesEde3($m) => $body,
        }
    };
}

impl<A: KeyIvInit, B: KeyIvInit, C: KeyIvInit, D: KeyIvInit> Mode<A, B, C, D> {
    /// The mode of `cipher` keyed with `key` and `iv`, encrypting or decrypting as `A`..`D` are.
    fn new(cipher: CbcCipher, key: &[u8], iv: &[u8]) -> Result<Self> {
        Ok(match cipher {
            CbcCipher::Aes128 => Mode::Aes128(A::new_from_slices(key, iv).map_err(|_| bad_key())?),
            CbcCipher::Aes192 => Mode::Aes192(B::new_from_slices(key, iv).map_err(|_| bad_key())?),
            CbcCipher::Aes256 => Mode::Aes256(C::new_from_slices(key, iv).map_err(|_| bad_key())?),
            CbcCipher::DesEde3 => {
                Mode::DesEde3(D::new_from_slices(key, iv).map_err(|_| bad_key())?)
            }
        })
    }
}

/// Move the bytes a streaming cipher held back from its last call in front of `data`, and wipe
/// the buffer `data` came in (it may hold plaintext).
fn take_pending_in_front(pending: &mut Zeroizing<Vec<u8>>, data: &mut Vec<u8>) {
    if !pending.is_empty() {
        let mut joined = std::mem::take(&mut **pending);
        joined.extend_from_slice(data);
        std::mem::swap(data, &mut joined);
        zeroize::Zeroize::zeroize(&mut joined);
    }
}

fn decrypt_blocks<M: BlockModeDecrypt>(mode: &mut M, buf: &mut [u8]) {
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    mode.decrypt_blocks(blocks);
}

fn encrypt_blocks<M: BlockModeEncrypt>(mode: &mut M, buf: &mut [u8]) {
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    mode.encrypt_blocks(blocks);
}

type Decryptors = Mode<
    cbc::Decryptor<aes::Aes128>,
    cbc::Decryptor<aes::Aes192>,
    cbc::Decryptor<aes::Aes256>,
    cbc::Decryptor<des::TdesEde3>,
>;

/// Streaming CBC decryption: [`CbcDecryptor::update`] takes ciphertext in pieces of any size and
/// gives back the plaintext of every block but the last one seen, which waits for
/// [`CbcDecryptor::finish`] to check and strip the padding.
pub struct CbcDecryptor {
    mode: Decryptors,
    block: usize,
    /// Ciphertext not yet decrypted: an incomplete block, or the last whole block so far.
    pending: Zeroizing<Vec<u8>>,
}

impl CbcDecryptor {
    pub fn new(cipher: CbcCipher, key: &[u8], iv: &[u8]) -> Result<Self> {
        Ok(CbcDecryptor {
            mode: Mode::new(cipher, key, iv)?,
            block: cipher.block_len(),
            pending: Zeroizing::new(Vec::with_capacity(32)),
        })
    }

    /// Decrypt `ciphertext` in place as far as it can be released: the plaintext is the prefix
    /// of the returned length (the rest is kept for later). `ciphertext` is overwritten.
    pub fn update(&mut self, data: &mut Vec<u8>) {
        // Put the held bytes in front, then keep back the last whole block (and any tail).
        take_pending_in_front(&mut self.pending, data);
        let whole = data.len() / self.block * self.block;
        let release = if whole == data.len() {
            whole.saturating_sub(self.block)
        } else {
            whole
        };
        self.pending.extend_from_slice(&data[release..]);
        data.truncate(release);
        each_mode!(&mut self.mode, m => decrypt_blocks(m, data));
    }

    /// The last block's plaintext with the padding removed, or the one error for content that
    /// does not decrypt (whatever the reason: a wrong key gives a bad padding too).
    pub fn finish(mut self) -> Result<Zeroizing<Vec<u8>>> {
        let b = self.block;
        if self.pending.len() != b {
            // Not a whole number of blocks (or none): structural, no key involved.
            return Err(Error::data(
                "malformed CMS: the encrypted content is not a whole number of cipher blocks",
            ));
        }
        let mut last = std::mem::take(&mut self.pending);
        each_mode!(&mut self.mode, m => decrypt_blocks(m, &mut last));
        // PKCS#7: the last octet n is 1..=b and the last n octets all equal n. Checked over the
        // whole block without branching on it.
        let n = last[b - 1];
        let mut good = !Choice::from_u8_eq(n, 0) & Choice::from_u8_le(n, b as u8);
        for (i, &octet) in last.iter().enumerate() {
            let in_padding = Choice::from_u8_le((b - i) as u8, n);
            good &= !in_padding | Choice::from_u8_eq(octet, n);
        }
        if !good.to_bool() {
            return Err(content_does_not_decrypt());
        }
        last.truncate(b - usize::from(n));
        Ok(last)
    }
}

type Encryptors = Mode<
    cbc::Encryptor<aes::Aes128>,
    cbc::Encryptor<aes::Aes192>,
    cbc::Encryptor<aes::Aes256>,
    cbc::Encryptor<des::TdesEde3>,
>;

/// Streaming CBC encryption with PKCS#7 padding: [`CbcEncryptor::update`] encrypts every whole
/// block it has, [`CbcEncryptor::finish`] pads and encrypts the rest. CBC encryption is serial
/// by construction (each block needs the one before).
pub struct CbcEncryptor {
    mode: Encryptors,
    block: usize,
    /// Plaintext of an incomplete block.
    pending: Zeroizing<Vec<u8>>,
}

impl CbcEncryptor {
    pub fn new(cipher: CbcCipher, key: &[u8], iv: &[u8]) -> Result<Self> {
        Ok(CbcEncryptor {
            mode: Mode::new(cipher, key, iv)?,
            block: cipher.block_len(),
            pending: Zeroizing::new(Vec::with_capacity(32)),
        })
    }

    /// Start the next piece of plaintext in `piece` (emptied first) with the bytes of the last
    /// incomplete block, so that [`CbcEncryptor::update`] need not move the piece to put them in
    /// front.
    pub fn carry_into(&mut self, piece: &mut Vec<u8>) {
        piece.clear();
        piece.extend_from_slice(&self.pending);
        zeroize::Zeroize::zeroize(&mut *self.pending);
    }

    /// Encrypt `data` in place as far as whole blocks go: afterwards `data` is ciphertext (the
    /// bytes of an incomplete last block are kept for the next call).
    pub fn update(&mut self, data: &mut Vec<u8>) {
        take_pending_in_front(&mut self.pending, data);
        let whole = data.len() / self.block * self.block;
        self.pending.extend_from_slice(&data[whole..]);
        data.truncate(whole);
        each_mode!(&mut self.mode, m => encrypt_blocks(m, data));
    }

    /// The last block (or two): the rest of the plaintext with PKCS#7 padding, encrypted.
    pub fn finish(mut self) -> Vec<u8> {
        let b = self.block;
        let pad = b - self.pending.len() % b;
        let mut last = std::mem::take(&mut *self.pending);
        last.resize(last.len() + pad, pad as u8);
        each_mode!(&mut self.mode, m => encrypt_blocks(m, &mut last));
        last
    }
}

/// The one answer for CBC content that does not decrypt: a damaged ciphertext, a wrong key and a
/// damaged key-transport block (which implicit rejection turns into a wrong key) all end here.
pub fn content_does_not_decrypt() -> Error {
    Error::data("the message does not decrypt: it was damaged or altered, or is not for this key")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encrypt in pieces of `piece` bytes, decrypt in pieces of `back` bytes.
    fn round_trip(cipher: CbcCipher, plain: &[u8], piece: usize, back: usize) -> Result<Vec<u8>> {
        let key = vec![0x42u8; cipher.key_len()];
        let iv = vec![0x24u8; cipher.block_len()];
        let mut enc = CbcEncryptor::new(cipher, &key, &iv)?;
        let mut ct = Vec::new();
        for p in plain.chunks(piece.max(1)) {
            let mut p = p.to_vec();
            enc.update(&mut p);
            ct.extend(p);
        }
        ct.extend(enc.finish());
        assert_eq!(ct.len() % cipher.block_len(), 0);
        let mut dec = CbcDecryptor::new(cipher, &key, &iv)?;
        let mut out = Vec::new();
        for c in ct.chunks(back.max(1)) {
            let mut c = c.to_vec();
            dec.update(&mut c);
            out.extend(c);
        }
        out.extend(dec.finish()?.iter());
        Ok(out)
    }

    #[test]
    fn pieces_of_any_size_round_trip_for_every_cipher() {
        for cipher in [
            CbcCipher::Aes128,
            CbcCipher::Aes192,
            CbcCipher::Aes256,
            CbcCipher::DesEde3,
        ] {
            for len in [0usize, 1, 7, 8, 15, 16, 17, 100] {
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                for (piece, back) in [(1, 1), (5, 16), (16, 3), (1000, 1000)] {
                    assert_eq!(
                        round_trip(cipher, &plain, piece, back).unwrap(),
                        plain,
                        "{cipher:?} {len} {piece} {back}"
                    );
                }
            }
        }
    }

    /// The same ciphertext as the `cbc` crate's one-shot PKCS#7 encryption: the streaming
    /// pieces change nothing.
    #[test]
    fn matches_the_one_shot_encryption() {
        use cbc::cipher::block_padding::Pkcs7;
        let plain = b"sealmail streams CBC";
        let mut buf = [0u8; 32];
        buf[..plain.len()].copy_from_slice(plain);
        let one_shot = cbc::Encryptor::<aes::Aes256>::new_from_slices(&[1u8; 32], &[2u8; 16])
            .unwrap()
            .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
            .unwrap()
            .to_vec();
        let mut enc = CbcEncryptor::new(CbcCipher::Aes256, &[1u8; 32], &[2u8; 16]).unwrap();
        let mut ct = plain.to_vec();
        enc.update(&mut ct);
        ct.extend(enc.finish());
        assert_eq!(ct, one_shot);
    }

    /// Pieces started with [`CbcEncryptor::carry_into`] (encrypt's way) give the one-shot
    /// ciphertext too, whatever the piece sizes.
    #[test]
    fn carried_pieces_match_the_one_shot_encryption() {
        use cbc::cipher::block_padding::Pkcs7;
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut buf = vec![0u8; plain.len() + 16];
        buf[..plain.len()].copy_from_slice(&plain);
        let one_shot = cbc::Encryptor::<aes::Aes128>::new_from_slices(&[5u8; 16], &[6u8; 16])
            .unwrap()
            .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
            .unwrap()
            .to_vec();
        for sizes in [&[1usize, 15, 16, 17][..], &[33, 100, 7], &[999, 1]] {
            let mut enc = CbcEncryptor::new(CbcCipher::Aes128, &[5u8; 16], &[6u8; 16]).unwrap();
            let (mut rest, mut ct, mut piece) = (&plain[..], Vec::new(), Vec::new());
            for &size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(size.min(rest.len()));
                enc.carry_into(&mut piece);
                piece.extend_from_slice(now);
                enc.update(&mut piece);
                ct.extend_from_slice(&piece);
                rest = later;
            }
            ct.extend(enc.finish());
            assert_eq!(ct, one_shot, "{sizes:?}");
        }
    }

    #[test]
    fn bad_padding_and_partial_blocks_are_data_errors() {
        let key = [0x42u8; 16];
        let iv = [0u8; 16];
        // A wrong key: the padding fails (this key/ciphertext pair is fixed, so it always does).
        let mut enc = CbcEncryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
        let mut ct = b"hello".to_vec();
        enc.update(&mut ct);
        ct.extend(enc.finish());
        let mut dec = CbcDecryptor::new(CbcCipher::Aes128, &[0x43u8; 16], &iv).unwrap();
        dec.update(&mut ct.clone());
        let err = dec.finish().unwrap_err();
        assert_eq!(err.exit_code(), 65);
        assert_eq!(err.message(), content_does_not_decrypt().message());
        // Every possible last octet other than a correct padding is refused.
        for last in [0u8, 17, 255] {
            let mut block = vec![last; 16];
            block[0] = 1;
            let mut enc = CbcEncryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
            enc.update(&mut block);
            let mut dec = CbcDecryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
            dec.update(&mut block);
            assert!(dec.finish().is_err(), "last octet {last}");
        }
        // 3 of 4 padding octets right.
        let mut block = vec![0u8; 16];
        block[12..].copy_from_slice(&[4, 3, 4, 4]);
        let mut enc = CbcEncryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
        enc.update(&mut block);
        let mut dec = CbcDecryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
        dec.update(&mut block);
        assert!(dec.finish().is_err());
        // Not a whole number of blocks, and no blocks at all.
        for len in [0usize, 15, 17] {
            let mut dec = CbcDecryptor::new(CbcCipher::Aes128, &key, &iv).unwrap();
            dec.update(&mut vec![0u8; len]);
            assert!(dec.finish().unwrap_err().message().contains("whole number"));
        }
    }
}
