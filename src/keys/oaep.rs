//! RSAES-OAEP (RFC 8017 §7.1) for wrapping and unwrapping session keys, on the `rsa` crate's own
//! RSA operations.
//!
//! Encryption is `rsa::PublicKey::encrypt` with `Oaep<Sha256>` (SHA-256 and MGF1-SHA-256, empty
//! label, as `Recipient::wrap` always uses) and the OS RNG. Decryption is the crate's blinded,
//! fault-checked private operation ([`super::raw_rsa::decrypt_block`]) followed by this module's
//! EME-OAEP decoder: it accepts any of the hash pairs an envelope may name, and it checks the
//! leading octet, the label hash and the 0x01 separator in constant time before one branch on the
//! combined result. Unlike rsa 0.10's decoder it refuses a non-zero leading octet, as RFC 8017
//! §7.1.2 step 3g says.
//!
//! Not for: RSA arithmetic (none here) or PKCS#1 v1.5.
//!
//! `tests/keys_oaep.rs` checks both directions against the rsa crate on random messages, and
//! `tests/keys_wycheproof.rs` runs Wycheproof's RSAES-OAEP decryption vectors.

use super::raw_rsa::{self, RawRsaError};
use ctutils::{Choice, CtAssign, CtEq};
use rsa::{Oaep, PrivateKey, PublicKey};
use sha2::digest::{Digest, FixedOutputReset};
use zeroize::Zeroizing;

/// Why wrapping failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WrapError {
    /// The session key is too long for the recipient's modulus.
    TooLong,
    /// The system RNG failed.
    Rng,
}

/// Encrypts `msg` to `key` with RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label.
pub(crate) fn encrypt(key: &PublicKey, msg: &[u8]) -> Result<Vec<u8>, WrapError> {
    key.encrypt(&mut getrandom::SysRng, Oaep::<sha2::Sha256>::new(), msg)
        .map_err(|e| match e {
            rsa::Error::Rng => WrapError::Rng,
            _ => WrapError::TooLong,
        })
}

/// Decrypts `ciphertext` with `key` and the OAEP hashes `D` (label) and `M` (MGF1), empty label.
///
/// [`RawRsaError::Invalid`] for every failure but the RNG's, whatever its cause: OAEP failures
/// must look alike.
pub(crate) fn decrypt<D, M>(
    key: &PrivateKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RawRsaError>
where
    D: Digest,
    M: Digest + FixedOutputReset,
{
    let em = raw_rsa::decrypt_block(key, ciphertext)?;
    decode::<D, M>(em).ok_or(RawRsaError::Invalid)
}

/// EME-OAEP decoding (RFC 8017 §7.1.2 step 3), empty label, in constant time until the one
/// branch on the result: `EM = Y || maskedSeed || maskedDB`, `DB = lHash' || PS || 0x01 || M`.
fn decode<D, M>(mut em: Zeroizing<Vec<u8>>) -> Option<Zeroizing<Vec<u8>>>
where
    D: Digest,
    M: Digest + FixedOutputReset,
{
    let h_len = <D as Digest>::output_size();
    if em.len() < 2 * h_len + 2 {
        return None;
    }
    let l_hash = D::digest(b"");
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h_len);
    let mut mgf = M::new();
    mgf1_xor(seed, &mut mgf, db);
    mgf1_xor(db, &mut mgf, seed);

    let mut valid = y[0].ct_eq(&0u8) & db[..h_len].ct_eq(&l_hash[..]);
    // Past lHash': zero or more 0x00, then 0x01, then the message.
    let mut looking = Choice::TRUE;
    let mut separator = 0u32;
    let mut nonzero_before_one = Choice::FALSE;
    for (i, byte) in (0u32..).zip(&db[h_len..]) {
        let is_zero = byte.ct_eq(&0u8);
        let is_one = byte.ct_eq(&1u8);
        separator.ct_assign(&i, looking & is_one);
        looking &= !is_one;
        nonzero_before_one |= looking & !is_zero;
    }
    valid &= !nonzero_before_one & !looking;
    if !valid.to_bool() {
        return None;
    }
    let start = 1 + 2 * h_len + separator as usize + 1;
    Some(Zeroizing::new(em.get(start..)?.to_vec()))
}

/// `out ^= MGF1(seed, out.len())` (RFC 8017 §B.2.1).
fn mgf1_xor<M: Digest + FixedOutputReset>(out: &mut [u8], mgf: &mut M, seed: &[u8]) {
    let block = <M as Digest>::output_size();
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(block)) {
        Digest::update(mgf, seed);
        Digest::update(mgf, counter.to_be_bytes());
        let mask = mgf.finalize_reset();
        for (out, mask) in chunk.iter_mut().zip(mask.iter()) {
            *out ^= mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;

    #[test]
    fn decoding_refuses_a_nonzero_leading_octet_and_a_bad_separator() {
        // A well-formed EM for k = 128 with SHA-256, built by hand: seed and DB masked with MGF1.
        let h = 32;
        let k = 128;
        let msg = b"0123456789abcdef";
        let mut db = Sha256::digest(b"").to_vec();
        db.resize(k - h - 1 - msg.len() - 1, 0);
        db.push(1);
        db.extend_from_slice(msg);
        let mut seed = [7u8; 32];
        mgf1_xor(&mut db, &mut Sha256::new(), &seed);
        mgf1_xor(&mut seed, &mut Sha256::new(), &db);
        let mut em = vec![0u8];
        em.extend_from_slice(&seed);
        em.extend_from_slice(&db);
        assert_eq!(em.len(), k);

        let got = decode::<Sha256, Sha256>(Zeroizing::new(em.clone())).unwrap();
        assert_eq!(&got[..], msg);

        let mut y = em.clone();
        y[0] = 1;
        assert!(decode::<Sha256, Sha256>(Zeroizing::new(y)).is_none());

        // Flipping the 0x01 separator to 0x03 (through the mask) leaves no valid separator.
        let mut sep = em.clone();
        sep[k - msg.len() - 1] ^= 0x02;
        assert!(decode::<Sha256, Sha256>(Zeroizing::new(sep)).is_none());

        assert!(decode::<Sha256, Sha256>(Zeroizing::new(vec![0; 2 * h + 1])).is_none());
    }
}
