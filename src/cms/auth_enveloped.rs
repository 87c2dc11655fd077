//! The content-encryption algorithms of CMS AuthEnvelopedData (RFC 5083): ChaCha20-Poly1305
//! (RFC 8103) and AES-GCM (RFC 5084), with their parameters.
//!
//! Not for: the AEAD itself (see `aead`) or the envelope's structure (see [`super::envelope`]).

use super::{asn1_bug, decode_params, oid};
use crate::aead::{ContentCipher, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

/// RFC 5084 §3.2:
///
/// ```text
/// GCMParameters ::= SEQUENCE {
///   aes-nonce        OCTET STRING, -- recommended size is 12 octets
///   aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }
///
/// AES-GCM-ICVlen ::= INTEGER (12 | 13 | 14 | 15 | 16)
/// ```
///
/// sealmail always encodes `aes-ICVlen` (16) explicitly, as SPEC §1 and openssl do, so the field is
/// an `Option` rather than a DER DEFAULT (which would be omitted when equal to 12).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct GcmParameters {
    pub nonce: OctetString,
    #[asn1(optional = "true")]
    pub icv_len: Option<u8>,
}

/// RFC 8103 §3:
///
/// ```text
/// AEADChaCha20Poly1305Nonce ::= OCTET STRING (SIZE(12))
/// ```
pub type ChaChaNonce = OctetString;

/// The content-encryption algorithm of one message with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentAlgorithm {
    pub cipher: ContentCipher,
    pub nonce: [u8; NONCE_LEN],
    /// Length of the authentication tag: 16, or 12..=16 for GCM written by others.
    pub tag_len: usize,
}

impl ContentAlgorithm {
    pub fn new(cipher: ContentCipher, nonce: [u8; NONCE_LEN]) -> Self {
        ContentAlgorithm {
            cipher,
            nonce,
            tag_len: TAG_LEN,
        }
    }

    pub fn to_algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        let nonce = OctetString::new(self.nonce.to_vec()).map_err(asn1_bug)?;
        let (oid, params) = match self.cipher {
            ContentCipher::ChaCha20Poly1305 => {
                (oid::CHACHA20_POLY1305, der::Any::encode_from(&nonce))
            }
            ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => {
                let oid = if self.cipher == ContentCipher::Aes128Gcm {
                    oid::AES128_GCM
                } else {
                    oid::AES256_GCM
                };
                let tag_len = u8::try_from(self.tag_len).map_err(asn1_bug)?;
                (
                    oid,
                    der::Any::encode_from(&GcmParameters {
                        nonce,
                        icv_len: Some(tag_len),
                    }),
                )
            }
        };
        Ok(AlgorithmIdentifierOwned {
            oid,
            parameters: Some(params.map_err(asn1_bug)?),
        })
    }

    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        let params = alg.parameters.as_ref();
        let (cipher, nonce, tag_len) = match alg.oid {
            oid::CHACHA20_POLY1305 => {
                let nonce: ChaChaNonce = decode_params(params, "ChaCha20-Poly1305 nonce")?;
                (ContentCipher::ChaCha20Poly1305, nonce, TAG_LEN)
            }
            oid::AES128_GCM | oid::AES256_GCM => {
                let p: GcmParameters = decode_params(params, "GCMParameters")?;
                let tag_len = usize::from(p.icv_len.unwrap_or(12));
                if !(12..=16).contains(&tag_len) {
                    return Err(Error::data(format!(
                        "malformed CMS: GCM tag length {tag_len} is not 12 to 16"
                    )));
                }
                let cipher = if alg.oid == oid::AES128_GCM {
                    ContentCipher::Aes128Gcm
                } else {
                    ContentCipher::Aes256Gcm
                };
                (cipher, p.nonce, tag_len)
            }
            oid::AES192_GCM => {
                return Err(Error::data(
                    "the message uses AES-192-GCM, which sealmail does not support",
                )
                .with_hint("ask the sender to use AES-256-GCM, AES-128-GCM or ChaCha20-Poly1305"));
            }
            other => {
                return Err(Error::data(format!(
                    "the message uses content-encryption algorithm {other}, which sealmail does not support"
                ))
                .with_hint("sealmail reads ChaCha20-Poly1305 and AES-GCM (AuthEnvelopedData)"));
            }
        };
        let nonce: [u8; NONCE_LEN] = nonce.as_bytes().try_into().map_err(|_| {
            Error::data(format!(
                "the message's {} nonce is {} bytes; sealmail supports 12-byte nonces",
                cipher.name(),
                nonce.as_bytes().len()
            ))
        })?;
        Ok(ContentAlgorithm {
            cipher,
            nonce,
            tag_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn gcm_parameters_always_carry_icvlen() {
        let alg = ContentAlgorithm::new(ContentCipher::Aes256Gcm, [7u8; 12])
            .to_algorithm_identifier()
            .unwrap();
        let der = alg.to_der().unwrap();
        // ... SEQUENCE { OCTET STRING (12) nonce, INTEGER 16 }
        assert!(der.ends_with(&[
            0x30, 0x11, 0x04, 0x0c, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0x02, 0x01, 0x10
        ]));
        assert_eq!(
            ContentAlgorithm::from_algorithm_identifier(&alg)
                .unwrap()
                .tag_len,
            16
        );
    }

    #[test]
    fn gcm_icvlen_defaults_to_12() {
        let params = GcmParameters {
            nonce: OctetString::new(vec![1u8; 12]).unwrap(),
            icv_len: None,
        };
        let alg = AlgorithmIdentifierOwned {
            oid: oid::AES128_GCM,
            parameters: Some(der::Any::encode_from(&params).unwrap()),
        };
        let parsed = ContentAlgorithm::from_algorithm_identifier(&alg).unwrap();
        assert_eq!(
            (parsed.cipher, parsed.tag_len),
            (ContentCipher::Aes128Gcm, 12)
        );
    }

    #[test]
    fn chacha_nonce_must_be_12_bytes() {
        let nonce = OctetString::new(vec![1u8; 8]).unwrap();
        let alg = AlgorithmIdentifierOwned {
            oid: oid::CHACHA20_POLY1305,
            parameters: Some(der::Any::encode_from(&nonce).unwrap()),
        };
        assert_eq!(
            ContentAlgorithm::from_algorithm_identifier(&alg)
                .unwrap_err()
                .exit_code(),
            65
        );
    }
}
