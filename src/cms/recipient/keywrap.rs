//! AES key wrap (RFC 3394, identifiers from RFC 3565) of the content-encryption key under a
//! key-encryption key, shared by the key-agreement (`kari`) and KEM (`kemri`) recipients.
//!
//! Not for: deriving the key-encryption key (each recipient kind has its own KDF) or the
//! padded variant (RFC 5649), which no recipient kind sealmail reads uses.

use crate::error::{Error, Result};
use aes_kw::{KwAes128, KwAes192, KwAes256};
use der::asn1::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

/// id-aes128-wrap, RFC 3565 §4.3.
pub const AES128_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.5");
/// id-aes192-wrap, RFC 3565 §4.3.
pub const AES192_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.25");
/// id-aes256-wrap, RFC 3565 §4.3.
pub const AES256_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");

/// The key wraps sealmail reads; it writes [`Wrap::Aes256`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    Aes128,
    Aes192,
    Aes256,
}

impl Wrap {
    pub fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Wrap> {
        let wrap = match alg.oid {
            AES128_WRAP => Wrap::Aes128,
            AES192_WRAP => Wrap::Aes192,
            AES256_WRAP => Wrap::Aes256,
            other => {
                return Err(Error::data(format!(
                    "the message uses key-wrap algorithm {other}, which sealmail does not support"
                ))
                .with_hint("sealmail reads AES key wrap (RFC 3565)"));
            }
        };
        // RFC 3565 §2.3.2: "the parameters field MUST be absent"; NULL is tolerated as older
        // encoders wrote it.
        if let Some(p) = &alg.parameters
            && der::Tagged::tag(p) != der::Tag::Null
        {
            return Err(Error::data(
                "malformed CMS: the AES key-wrap algorithm has parameters",
            ));
        }
        Ok(wrap)
    }

    /// `AlgorithmIdentifier { id-aesNNN-wrap }` with parameters absent.
    pub fn algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: match self {
                Wrap::Aes128 => AES128_WRAP,
                Wrap::Aes192 => AES192_WRAP,
                Wrap::Aes256 => AES256_WRAP,
            },
            parameters: None,
        }
    }

    /// The key-encryption key's length in bytes.
    pub fn kek_len(self) -> usize {
        match self {
            Wrap::Aes128 => 16,
            Wrap::Aes192 => 24,
            Wrap::Aes256 => 32,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Wrap::Aes128 => "AES-128 key wrap",
            Wrap::Aes192 => "AES-192 key wrap",
            Wrap::Aes256 => "AES-256 key wrap",
        }
    }

    /// Wrap `cek` (a multiple of 8 bytes, at least 16) under `kek`.
    pub fn wrap(self, kek: &[u8], cek: &[u8]) -> Result<Vec<u8>> {
        use aes_kw::cipher::KeyInit;
        let bug = || Error::data("internal error: cannot wrap the content-encryption key");
        let mut out = vec![0u8; cek.len() + 8];
        match self {
            Wrap::Aes128 => KwAes128::new_from_slice(kek)
                .map_err(|_| bug())?
                .wrap_key(cek, &mut out),
            Wrap::Aes192 => KwAes192::new_from_slice(kek)
                .map_err(|_| bug())?
                .wrap_key(cek, &mut out),
            Wrap::Aes256 => KwAes256::new_from_slice(kek)
                .map_err(|_| bug())?
                .wrap_key(cek, &mut out),
        }
        .map_err(|_| bug())?;
        Ok(out)
    }

    /// Unwrap; `None` when the integrity check fails (wrong key or altered data) or the length
    /// is impossible. Callers turn `None` into "this identity cannot decrypt", never a detail.
    pub fn unwrap(self, kek: &[u8], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        use aes_kw::cipher::KeyInit;
        if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
            return None;
        }
        let mut out = Zeroizing::new(vec![0u8; wrapped.len() - 8]);
        let ok = match self {
            Wrap::Aes128 => KwAes128::new_from_slice(kek)
                .ok()?
                .unwrap_key(wrapped, &mut out)
                .is_ok(),
            Wrap::Aes192 => KwAes192::new_from_slice(kek)
                .ok()?
                .unwrap_key(wrapped, &mut out)
                .is_ok(),
            Wrap::Aes256 => KwAes256::new_from_slice(kek)
                .ok()?
                .unwrap_key(wrapped, &mut out)
                .is_ok(),
        };
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::hex;

    /// RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
    #[test]
    fn rfc3394_vector() {
        let kek = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let data = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        let wrapped =
            hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
        assert_eq!(Wrap::Aes256.wrap(&kek, &data).unwrap(), wrapped);
        assert_eq!(*Wrap::Aes256.unwrap(&kek, &wrapped).unwrap(), data);
        let mut bad = wrapped.clone();
        bad[5] ^= 1;
        assert!(Wrap::Aes256.unwrap(&kek, &bad).is_none());
        assert!(Wrap::Aes256.unwrap(&kek, &wrapped[..39]).is_none());
    }
}
