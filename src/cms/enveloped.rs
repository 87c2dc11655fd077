//! The content-encryption algorithms of CMS EnvelopedData (RFC 5652 §6): AES-CBC (RFC 3565) and,
//! for reading old archives, DES-EDE3-CBC (RFC 3370 §5.1), with their IV parameter.
//!
//! ```text
//! AES-IV ::= OCTET STRING (SIZE(16))   -- RFC 3565 §4.1
//! CBCParameter ::= IV                   -- RFC 3370 §5.1
//! IV ::= OCTET STRING  -- exactly 8 octets
//! ```
//!
//! Not for: the cipher itself (see `crate::cbc`) or the envelope's structure (see
//! [`super::envelope`]).

use super::{asn1_bug, decode_params, oid};
use crate::cbc::CbcCipher;
use crate::error::{Error, Result};
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

/// A CBC content-encryption algorithm with its IV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbcAlgorithm {
    pub cipher: CbcCipher,
    /// One cipher block: 16 octets for AES, 8 for DES-EDE3.
    pub iv: Vec<u8>,
}

impl CbcAlgorithm {
    pub fn to_algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        let oid = match self.cipher {
            CbcCipher::Aes128 => oid::AES128_CBC,
            CbcCipher::Aes192 => oid::AES192_CBC,
            CbcCipher::Aes256 => oid::AES256_CBC,
            CbcCipher::DesEde3 => oid::DES_EDE3_CBC,
        };
        let iv = OctetString::new(self.iv.clone()).map_err(asn1_bug)?;
        Ok(AlgorithmIdentifierOwned {
            oid,
            parameters: Some(der::Any::encode_from(&iv).map_err(asn1_bug)?),
        })
    }

    /// The CBC algorithm an identifier names, or `None` when it names none.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Option<Self>> {
        let cipher = match alg.oid {
            oid::AES128_CBC => CbcCipher::Aes128,
            oid::AES192_CBC => CbcCipher::Aes192,
            oid::AES256_CBC => CbcCipher::Aes256,
            oid::DES_EDE3_CBC => CbcCipher::DesEde3,
            _ => return Ok(None),
        };
        let iv: OctetString = decode_params(alg.parameters.as_ref(), "CBC IV")?;
        if iv.as_bytes().len() != cipher.block_len() {
            return Err(Error::data(format!(
                "malformed CMS: the {} IV is {} bytes; it must be {}",
                cipher.name(),
                iv.as_bytes().len(),
                cipher.block_len()
            )));
        }
        Ok(Some(CbcAlgorithm {
            cipher,
            iv: iv.as_bytes().to_vec(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn the_iv_round_trips_and_its_length_is_checked() {
        let alg = CbcAlgorithm {
            cipher: CbcCipher::Aes256,
            iv: vec![3u8; 16],
        };
        let id = alg.to_algorithm_identifier().unwrap();
        // SEQUENCE { id-aes256-CBC, OCTET STRING (16) }
        let der = id.to_der().unwrap();
        assert_eq!(&der[..4], &[0x30, 0x1d, 0x06, 0x09]);
        assert_eq!(
            CbcAlgorithm::from_algorithm_identifier(&id).unwrap(),
            Some(alg)
        );
        let short = CbcAlgorithm {
            cipher: CbcCipher::Aes128,
            iv: vec![3u8; 8],
        }
        .to_algorithm_identifier()
        .unwrap();
        assert_eq!(
            CbcAlgorithm::from_algorithm_identifier(&short)
                .unwrap_err()
                .exit_code(),
            65
        );
        let no_iv = AlgorithmIdentifierOwned {
            oid: oid::DES_EDE3_CBC,
            parameters: None,
        };
        assert!(CbcAlgorithm::from_algorithm_identifier(&no_iv).is_err());
    }
}
