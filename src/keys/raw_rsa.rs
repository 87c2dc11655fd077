//! The RSA private-key operation (RSADP, RFC 8017 §5.1.2) as the `rsa` crate does it, for the
//! padding decoders built on it: RSAES-OAEP here in `keys::oaep`, PKCS#1 v1.5 elsewhere.
//!
//! It calls `rsa::hazmat::rsa_decrypt_and_check` with the operating system's RNG, so every
//! protection is the crate's own and gets its fixes: base, exponent and CRT-modulus blinding
//! with fresh factors each time, and the fault check (`m^e mod n` must give `c` back). This
//! module only turns octets into the crate's integer type and back (OS2IP / I2OSP) and tells an
//! RNG failure (the system's fault: exit 74) from a ciphertext the key cannot take.
//!
//! Not for: padding. What comes out is the raw encoded block; never act on it before a
//! constant-time padding check.

use rsa::BoxedUint;
use rsa::PrivateKey;
use rsa::rand_core::TryCryptoRng;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

/// Why the private operation gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawRsaError {
    /// The system RNG failed, so there was nothing to blind with: an I/O error, never a
    /// statement about the message.
    Rng,
    /// The ciphertext is not `k` octets, or not below the modulus, or the fault check failed.
    Invalid,
}

/// RSADP with the OS RNG: `c^d mod n` as the `k`-octet big-endian block, `k` the modulus's
/// length in octets.
pub(crate) fn decrypt_block(
    key: &PrivateKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RawRsaError> {
    decrypt_block_with(key, ciphertext, &mut getrandom::SysRng)
}

/// [`decrypt_block`] with the blinding randomness from `rng`.
fn decrypt_block_with<R: TryCryptoRng + ?Sized>(
    key: &PrivateKey,
    ciphertext: &[u8],
    rng: &mut R,
) -> Result<Zeroizing<Vec<u8>>, RawRsaError> {
    let k = key.size();
    if ciphertext.len() != k {
        return Err(RawRsaError::Invalid);
    }
    // OS2IP at the modulus's precision, as the crate requires; it checks c < n itself.
    let c = BoxedUint::from_be_slice(ciphertext, key.n_bits_precision())
        .map_err(|_| RawRsaError::Invalid)?;
    let m = rsa::hazmat::rsa_decrypt_and_check(key, Some(rng), &c).map_err(|e| match e {
        rsa::Error::Rng => RawRsaError::Rng,
        _ => RawRsaError::Invalid,
    })?;
    let m = Zeroizing::new(m);
    i2osp(&m, k).ok_or(RawRsaError::Invalid)
}

/// I2OSP (RFC 8017 §4.1) for an `x` below the modulus: its `k` low-order octets, big-endian (the
/// storage is limb-aligned, so it may hold more, all zero).
fn i2osp(x: &BoxedUint, k: usize) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(x.to_be_bytes());
    Some(Zeroizing::new(
        bytes.get(bytes.len().checked_sub(k)?..)?.to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::rand_core::{TryCryptoRng, TryRng};
    use rsa::{Oaep, PublicKey};

    fn alice() -> PrivateKey {
        let pem = include_str!("../../fixtures/keys/alice.key");
        PrivateKey::from_pkcs8_pem(pem).unwrap()
    }

    /// An RNG that always fails, as a broken /dev/urandom or a seccomp-denied getrandom would.
    struct BrokenRng;

    #[derive(Debug)]
    struct Broken;

    impl std::fmt::Display for Broken {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("broken")
        }
    }

    impl std::error::Error for Broken {}

    impl TryRng for BrokenRng {
        type Error = Broken;
        fn try_next_u32(&mut self) -> Result<u32, Broken> {
            Err(Broken)
        }
        fn try_next_u64(&mut self) -> Result<u64, Broken> {
            Err(Broken)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Broken> {
            Err(Broken)
        }
    }

    impl TryCryptoRng for BrokenRng {}

    #[test]
    fn the_block_is_the_textbook_rsa_of_the_ciphertext() {
        let key = alice();
        let public = PublicKey::from(&key);
        let ct = public
            .encrypt(&mut getrandom::SysRng, Oaep::<sha2::Sha256>::new(), b"key")
            .unwrap();
        let block = decrypt_block(&key, &ct).unwrap();
        assert_eq!(block.len(), key.size());
        // The block is m with m^e = c: raising it again must give the ciphertext back.
        let m = BoxedUint::from_be_slice(&block, key.n_bits_precision()).unwrap();
        let c = rsa::hazmat::rsa_encrypt(&public, &m).unwrap();
        assert_eq!(&c.to_be_bytes()[..], &ct[..]);
        // An OAEP block starts with 0x00 (RFC 8017 §7.1.1 step 2i).
        assert_eq!(block[0], 0);
    }

    #[test]
    fn an_rng_failure_is_told_apart_from_a_bad_ciphertext() {
        let key = alice();
        let ct = PublicKey::from(&key)
            .encrypt(&mut getrandom::SysRng, Oaep::<sha2::Sha256>::new(), b"key")
            .unwrap();
        assert_eq!(
            decrypt_block_with(&key, &ct, &mut BrokenRng).unwrap_err(),
            RawRsaError::Rng
        );
        assert_eq!(
            decrypt_block(&key, &ct[1..]).unwrap_err(),
            RawRsaError::Invalid
        );
        let n = key.n().to_be_bytes();
        assert_eq!(
            decrypt_block(&key, &n[n.len() - key.size()..]).unwrap_err(),
            RawRsaError::Invalid
        );
    }
}
