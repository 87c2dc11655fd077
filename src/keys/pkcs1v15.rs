//! RSAES-PKCS1-v1_5 decryption of a content-encryption key (RFC 8017 §7.2.2) with implicit
//! rejection: a block whose padding is wrong does not make an error, it makes a pseudo-random key
//! of the length the content cipher needs, derived from the private key and the ciphertext, and
//! decryption goes on with it (RFC 3218 §2.3). The content then fails to decrypt (bad CBC padding,
//! or a GCM tag that does not verify) exactly as damaged content does, so a sender of forged
//! blocks learns nothing from which of the two went wrong: Bleichenbacher's oracle is closed at
//! the protocol level.
//!
//! The synthetic key follows the IETF's implicit-rejection construction
//! (draft-irtf-cfrg-rsa-guidance, as OpenSSL 3.2 does it for TLS): a key-derivation key
//! `KDK = HMAC-SHA256(key = SHA-256(d as k octets), message = C)`, and from it the key
//! `PRF(KDK, label, bits) = HMAC-SHA256(KDK, i || label || bits) || ...` for i = 0, 1, ... . It is
//! deterministic: the same ciphertext always gets the same answer, so repeating a forgery tells
//! nothing either. The decoding checks every byte of the block and picks between the decoded key
//! and the synthetic one with constant-time selection; no branch depends on the block.
//!
//! Not for: the RSA operation (see `raw_rsa`: blinded, from the rsa crate) or encryption (the rsa
//! crate's `Pkcs1v15Encrypt`; sending v1.5 is safe, only decrypting it is an oracle risk).

use super::raw_rsa::{self, RawRsaError};
use ctutils::Choice;
use hmac::{KeyInit, Mac};
use rsa::PrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The label of the synthetic key's PRF: the key is sealmail's CMS content-encryption key.
const LABEL: &[u8] = b"sealmail CMS content-encryption key";

/// The RSAES-PKCS1-v1_5 minimum padding string (RFC 8017 §7.2.1 step 2: at least eight octets).
const MIN_PS: usize = 8;

/// Decrypt a PKCS#1 v1.5 block expected to hold a `key_len`-octet key. Always returns a key of
/// that length unless the system RNG fails (the RSA operation's blinding needs it): the one in
/// the block when the block is well formed and holds exactly `key_len` octets, else the
/// synthetic one.
pub(crate) fn decrypt_key(
    key: &PrivateKey,
    ciphertext: &[u8],
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>, RawRsaError> {
    let k = key.size();
    let synthetic = synthetic_key(key, ciphertext, key_len);
    // A block the private operation cannot take (wrong length, not below the modulus, a failed
    // fault check) is one more badly padded block: an all-zero block never decodes.
    let em = match raw_rsa::decrypt_block(key, ciphertext) {
        Ok(em) => em,
        Err(RawRsaError::Rng) => return Err(RawRsaError::Rng),
        Err(RawRsaError::Invalid) => Zeroizing::new(vec![0u8; k]),
    };
    Ok(select_key(&em, &synthetic, key_len))
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) in constant time, choosing the synthetic
/// key unless `em = 0x00 || 0x02 || PS || 0x00 || M` with PS at least eight non-zero octets and
/// M exactly `key_len` octets.
fn select_key(em: &[u8], synthetic: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    let k = em.len();
    // The block must be long enough for the key at all: public sizes, not secret data.
    if k < key_len + MIN_PS + 3 || synthetic.len() != key_len {
        return Zeroizing::new(synthetic.to_vec());
    }
    let mut good = Choice::from_u8_eq(em[0], 0) & Choice::from_u8_eq(em[1], 2);
    // The separator: the first zero octet after the two leading ones.
    let mut found = Choice::FALSE;
    let mut separator = 0u64;
    for (i, &b) in em.iter().enumerate().skip(2) {
        let is_zero = Choice::from_u8_eq(b, 0);
        let first = is_zero & !found;
        separator = first.select_u64(separator, i as u64);
        found |= is_zero;
    }
    good &= found;
    // PS is em[2..separator]: at least eight octets.
    good &= !Choice::from_u64_lt(separator, (2 + MIN_PS) as u64);
    // M is em[separator + 1..]: exactly key_len octets.
    good &= Choice::from_u64_eq(separator, (k - key_len - 1) as u64);
    let message = &em[k - key_len..];
    Zeroizing::new(
        synthetic
            .iter()
            .zip(message)
            .map(|(&s, &m)| good.select_u8(s, m))
            .collect(),
    )
}

/// The synthetic key for `ciphertext`: `PRF(KDK, LABEL, 8 * key_len)` (module documentation).
fn synthetic_key(key: &PrivateKey, ciphertext: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    let k = key.size();
    let d = Zeroizing::new(key.d().to_be_bytes());
    // d as exactly k octets (its storage is limb-aligned, so it may carry more leading zeros).
    let d = d.get(d.len().saturating_sub(k)..).unwrap_or_default();
    let d_hash = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(d)));
    let mut kdk_mac = hmac_sha256(&d_hash);
    // C as k octets, left-padded as RFC 8017's I2OSP would have it.
    for _ in ciphertext.len()..k {
        kdk_mac.update(&[0]);
    }
    kdk_mac.update(ciphertext);
    let kdk = Zeroizing::new(<[u8; 32]>::from(kdk_mac.finalize().into_bytes()));

    let bits = u16::try_from(key_len * 8).unwrap_or(u16::MAX).to_be_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut counter = 0u16;
    while out.len() < key_len {
        let mut prf = hmac_sha256(&kdk);
        prf.update(&counter.to_be_bytes());
        prf.update(LABEL);
        prf.update(&bits);
        out.extend_from_slice(&prf.finalize().into_bytes());
        counter = counter.wrapping_add(1);
    }
    out.truncate(key_len);
    out
}

/// HMAC-SHA256 keyed with a 32-octet key. HMAC pads a key shorter than the hash's block with
/// zeros (RFC 2104 §2), so the padded 64-octet key is the same key, and the infallible
/// fixed-size constructor can take it.
fn hmac_sha256(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&(*block).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;

    fn alice() -> PrivateKey {
        PrivateKey::from_pkcs8_pem(include_str!("../../fixtures/keys/alice.key")).unwrap()
    }

    fn encrypt(key: &PrivateKey, msg: &[u8]) -> Vec<u8> {
        key.as_public_key()
            .encrypt(&mut getrandom::SysRng, rsa::Pkcs1v15Encrypt, msg)
            .unwrap()
    }

    #[test]
    fn a_good_block_gives_its_key() {
        let key = alice();
        let ct = encrypt(&key, &[7u8; 32]);
        assert_eq!(&decrypt_key(&key, &ct, 32).unwrap()[..], &[7u8; 32]);
    }

    /// A bad block, a good block of the wrong length for the cipher, and a block the private
    /// operation refuses all give a key of the asked length, the same one each time for the same
    /// ciphertext, and another for another ciphertext.
    #[test]
    fn bad_blocks_give_a_deterministic_synthetic_key_of_the_cipher_length() {
        let key = alice();
        let good = encrypt(&key, &[7u8; 32]);
        let mut damaged = good.clone();
        damaged[100] ^= 1;
        let mut other = good.clone();
        other[101] ^= 1;
        let short = encrypt(&key, &[7u8; 16]);
        let too_big = vec![0xffu8; key.size()];
        for (ct, len) in [
            (&damaged, 32),
            (&other, 32),
            (&short, 32),
            (&too_big, 24),
            (&good, 16),
        ] {
            let first = decrypt_key(&key, ct, len).unwrap();
            assert_eq!(first.len(), len);
            assert_eq!(first, decrypt_key(&key, ct, len).unwrap());
            assert_eq!(first, synthetic_key(&key, ct, len));
        }
        assert_ne!(
            decrypt_key(&key, &damaged, 32).unwrap(),
            decrypt_key(&key, &other, 32).unwrap()
        );
    }

    #[test]
    fn every_padding_rule_is_checked() {
        let k = 256;
        let synthetic = vec![0xAAu8; 16];
        let block = |first: u8, second: u8, ps: usize, zero: bool| {
            let mut em = vec![first, second];
            em.extend(std::iter::repeat_n(0x11u8, ps));
            em.push(if zero { 0 } else { 0x22 });
            em.extend(std::iter::repeat_n(0x55u8, k - em.len()));
            em
        };
        let good = block(0, 2, k - 3 - 16, true);
        assert_eq!(&select_key(&good, &synthetic, 16)[..], &[0x55u8; 16]);
        for bad in [
            block(1, 2, k - 3 - 16, true),
            block(0, 1, k - 3 - 16, true),
            block(0, 2, k - 3 - 16, false),
            block(0, 2, k - 3 - 17, true),
            block(0, 2, k - 3 - 15, true),
        ] {
            assert_eq!(&select_key(&bad, &synthetic, 16)[..], &synthetic[..]);
        }
        // A padding string shorter than eight octets.
        let mut short_ps = vec![0u8, 2, 1, 1, 1, 0];
        short_ps.extend(std::iter::repeat_n(9u8, 16));
        short_ps.resize(k, 9);
        assert_eq!(&select_key(&short_ps, &synthetic, 16)[..], &synthetic[..]);
    }
}
