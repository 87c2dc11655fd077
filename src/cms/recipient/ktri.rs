//! KeyTransRecipientInfo (RFC 5652 §6.2.1): RSA key transport, the RecipientInfo of every RSA
//! recipient. The keyEncryptionAlgorithms sealmail writes (RSAES-OAEP with SHA-256, or PKCS#1
//! v1.5 for recipients not known to read OAEP) and reads.
//!
//! Not for: the RSA operations themselves (see `keys`).

use crate::cms::{asn1_bug, oid};
use crate::error::{Error, Result};
use crate::keys::{OaepHash, OaepParams, RecipientIdentifier};
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientInfo};
use der::Tagged;
use der::asn1::{ObjectIdentifier, OctetString};
use spki::AlgorithmIdentifierOwned;

/// The keyEncryptionAlgorithm sealmail writes for OAEP: id-RSAES-OAEP with SHA-256 and
/// MGF1-SHA-256, pSource default (omitted), as SPEC §1 requires.
pub fn oaep_sha256_algorithm() -> Result<AlgorithmIdentifierOwned> {
    let params = pkcs1::RsaOaepParams::new::<sha2::Sha256>();
    let params = der::Any::encode_from(&params).map_err(asn1_bug)?;
    Ok(AlgorithmIdentifierOwned {
        oid: oid::RSAES_OAEP,
        parameters: Some(params),
    })
}

/// How the key in a KeyTransRecipientInfo was encrypted, as its keyEncryptionAlgorithm says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncryption {
    Oaep(OaepParams),
    /// rsaEncryption: decrypted only with implicit rejection (see `keys::pkcs1v15`).
    Pkcs1v15,
}

impl KeyEncryption {
    /// Plain words for `inspect`.
    pub fn describe(self) -> String {
        match self {
            KeyEncryption::Oaep(p) => {
                format!("RSAES-OAEP ({}, MGF1-{})", p.hash.name(), p.mgf_hash.name())
            }
            KeyEncryption::Pkcs1v15 => "RSA PKCS#1 v1.5".to_string(),
        }
    }
}

/// Read a keyEncryptionAlgorithm: RSAES-OAEP ([`oaep_params_of`]) or rsaEncryption (PKCS#1
/// v1.5, parameters NULL or absent).
pub fn key_encryption_of(alg: &AlgorithmIdentifierOwned) -> Result<KeyEncryption> {
    match alg.oid {
        oid::RSA_ENCRYPTION => Ok(KeyEncryption::Pkcs1v15),
        _ => oaep_params_of(alg).map(KeyEncryption::Oaep),
    }
}

/// Read an RSAES-OAEP keyEncryptionAlgorithm: SHA-1 defaults (absent or empty parameters, as
/// `openssl cms -keyopt rsa_padding_mode:oaep` writes) or SHA-256/384/512.
pub fn oaep_params_of(alg: &AlgorithmIdentifierOwned) -> Result<OaepParams> {
    match alg.oid {
        oid::RSAES_OAEP => {}
        other => {
            return Err(Error::data(format!(
                "unsupported key-encryption algorithm {other}"
            )));
        }
    }
    let sha1 = OaepParams {
        hash: OaepHash::Sha1,
        mgf_hash: OaepHash::Sha1,
    };
    let Some(any) = alg.parameters.as_ref() else {
        return Ok(sha1);
    };
    if any.tag() == der::Tag::Null {
        return Ok(sha1);
    }
    let params: pkcs1::RsaOaepParamsOwned = any
        .decode_as()
        .map_err(|_| Error::data("malformed CMS: bad RSAES-OAEP parameters"))?;
    let hash = hash_of(&params.hash.oid)?;
    if params.mask_gen.oid != oid::MGF1 {
        return Err(Error::data(format!(
            "unsupported OAEP mask generation function {}",
            params.mask_gen.oid
        )));
    }
    let mgf_hash = match params.mask_gen.parameters.as_ref() {
        Some(inner) => hash_of(&inner.oid)?,
        None => OaepHash::Sha1,
    };
    if params.p_source.oid != oid::P_SPECIFIED {
        return Err(Error::data("unsupported OAEP pSource algorithm"));
    }
    if let Some(label) = params.p_source.parameters.as_ref()
        && !label.value().is_empty()
    {
        return Err(Error::data("OAEP labels are not supported"));
    }
    Ok(OaepParams { hash, mgf_hash })
}

fn hash_of(oid: &ObjectIdentifier) -> Result<OaepHash> {
    Ok(match *oid {
        oid::SHA1 => OaepHash::Sha1,
        oid::SHA256 => OaepHash::Sha256,
        oid::SHA384 => OaepHash::Sha384,
        oid::SHA512 => OaepHash::Sha512,
        other => return Err(Error::data(format!("unsupported OAEP hash {other}"))),
    })
}

/// The RSA key transports sealmail writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTransport {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 ([`oaep_sha256_algorithm`]).
    RsaOaep,
    /// RSAES-PKCS1-v1_5 (rsaEncryption), for recipients not known to read OAEP.
    RsaPkcs1v15,
}

impl KeyTransport {
    /// The keyEncryptionAlgorithm naming this transport.
    pub fn algorithm(self) -> Result<AlgorithmIdentifierOwned> {
        match self {
            KeyTransport::RsaOaep => oaep_sha256_algorithm(),
            // RFC 3370 §4.2.1: rsaEncryption with NULL parameters.
            KeyTransport::RsaPkcs1v15 => Ok(AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(der::Any::from(der::asn1::Null)),
            }),
        }
    }
}

/// One KeyTransRecipientInfo (RFC 5652 §6.2.1): version 0 with issuerAndSerialNumber, version 2
/// with subjectKeyIdentifier.
///
/// ```text
/// KeyTransRecipientInfo ::= SEQUENCE {
///   version CMSVersion,  -- always set to 0 or 2
///   rid RecipientIdentifier,
///   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
///   encryptedKey EncryptedKey }
/// ```
pub fn key_trans_recipient_info(
    rid: RecipientIdentifier,
    transport: KeyTransport,
    encrypted_key: Vec<u8>,
) -> Result<RecipientInfo> {
    let version = match rid {
        RecipientIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V0,
        RecipientIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V2,
    };
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version,
        rid,
        key_enc_alg: transport.algorithm()?,
        enc_key: OctetString::new(encrypted_key).map_err(asn1_bug)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oaep_sha256_parameters_round_trip_and_sha1_defaults_are_read() {
        let alg = oaep_sha256_algorithm().unwrap();
        assert_eq!(
            oaep_params_of(&alg).unwrap(),
            OaepParams {
                hash: OaepHash::Sha256,
                mgf_hash: OaepHash::Sha256
            }
        );
        // openssl's -keyopt rsa_padding_mode:oaep writes an empty SEQUENCE (all defaults).
        let empty = AlgorithmIdentifierOwned {
            oid: oid::RSAES_OAEP,
            parameters: Some(der::Any::new(der::Tag::Sequence, Vec::<u8>::new()).unwrap()),
        };
        assert_eq!(
            oaep_params_of(&empty).unwrap(),
            OaepParams {
                hash: OaepHash::Sha1,
                mgf_hash: OaepHash::Sha1
            }
        );
        let v15 = AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: None,
        };
        assert_eq!(key_encryption_of(&v15).unwrap(), KeyEncryption::Pkcs1v15);
        assert_eq!(
            key_encryption_of(&KeyTransport::RsaPkcs1v15.algorithm().unwrap()).unwrap(),
            KeyEncryption::Pkcs1v15
        );
        assert_eq!(oaep_params_of(&v15).unwrap_err().exit_code(), 65);
    }

    #[test]
    fn pkcs1v15_is_rsa_encryption_with_null_parameters() {
        use der::Encode;
        let alg = KeyTransport::RsaPkcs1v15.algorithm().unwrap();
        assert_eq!(
            alg.to_der().unwrap(),
            [
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
                0x00
            ]
        );
    }
}
