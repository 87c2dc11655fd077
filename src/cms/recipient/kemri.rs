//! KEMRecipientInfo (RFC 9629) for ML-KEM recipients (RFC 9936), carried in an
//! OtherRecipientInfo with id-ori-kem.
//!
//! The sender encapsulates to the recipient's ML-KEM key, derives a key-encryption key from the
//! shared secret with HKDF-SHA256 (RFC 8619's id-alg-hkdf-with-sha256), info being the DER
//! CMSORIforKEMOtherInfo, and AES-key-wraps the content-encryption key under it. sealmail writes
//! kekLength 32 with id-aes256-wrap and no ukm (RFC 9936 §3 requires AES-256 wrap for
//! ML-KEM-768/1024); it reads any AES key wrap whose key length kekLength gives, and a ukm.
//!
//! The ASN.1 types come from the `cms` crate (`cms::kemri`), which quotes RFC 9629:
//!
//! ```text
//! KEMRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- always set to 0
//!   rid RecipientIdentifier,
//!   kem KEMAlgorithmIdentifier,
//!   kemct OCTET STRING,
//!   kdf KeyDerivationAlgorithmIdentifier,
//!   kekLength INTEGER (1..65535),
//!   ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL,
//!   wrap KeyEncryptionAlgorithmIdentifier,
//!   encryptedKey EncryptedKey }
//!
//! CMSORIforKEMOtherInfo ::= SEQUENCE {
//!   wrap KeyEncryptionAlgorithmIdentifier,
//!   kekLength INTEGER (1..65535),
//!   ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL }
//! ```
//!
//! Not for: ML-KEM itself (see `keys::mlkem`), KMAC or other KDFs, RSA-KEM.

use super::keywrap::Wrap;
use crate::error::{Error, Result};
use crate::keys::mlkem::{Level, MlKemPrivateKey, MlKemPublicKey};
use cms::content_info::CmsVersion;
use cms::enveloped_data::{OtherRecipientInfo, RecipientIdentifier};
pub use cms::kemri::{CmsOriForKemOtherInfo, ID_ORI_KEM, KemRecipientInfo};
use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

/// id-alg-hkdf-with-sha256, RFC 8619 §2: `{ id-alg 28 }`.
pub const HKDF_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.28");

/// Make the OtherRecipientInfo { id-ori-kem, KEMRecipientInfo } that gives `cek` to `key`'s holder.
pub fn wrap(
    key: &MlKemPublicKey,
    rid: &RecipientIdentifier,
    cek: &[u8],
) -> Result<OtherRecipientInfo> {
    let wrap = Wrap::Aes256;
    let kek_length = kek_length(wrap)?;
    let encapsulation = key.encapsulate()?;
    let info = other_info_der(wrap.algorithm(), kek_length, None)?;
    let kek = hkdf_sha256(&encapsulation.shared_secret, &info, wrap.kek_len())?;
    let encrypted_key = wrap.wrap(&kek, cek)?;
    let kemri = KemRecipientInfo {
        version: CmsVersion::V0,
        rid: rid.clone(),
        kem: key.level().algorithm(),
        kem_ct: OctetString::new(encapsulation.ciphertext).map_err(asn1_bug)?,
        kdf: AlgorithmIdentifierOwned {
            oid: HKDF_WITH_SHA256,
            parameters: None,
        },
        kek_length,
        ukm: None,
        wrap: wrap.algorithm(),
        encrypted_key: OctetString::new(encrypted_key).map_err(asn1_bug)?,
    };
    Ok(OtherRecipientInfo {
        ori_type: ID_ORI_KEM,
        ori_value: der::Any::encode_from(&kemri).map_err(asn1_bug)?,
    })
}

/// The KEMRecipientInfo inside an ori; `Ok(None)` for an ori of another type.
pub fn parse(ori: &OtherRecipientInfo) -> Result<Option<KemRecipientInfo>> {
    if ori.ori_type != ID_ORI_KEM {
        return Ok(None);
    }
    let kemri: KemRecipientInfo = ori
        .ori_value
        .decode_as()
        .map_err(|e| Error::data(format!("malformed CMS: bad KEMRecipientInfo: {e}")))?;
    if kemri.version != CmsVersion::V0 {
        return Err(Error::data(
            "malformed CMS: KEMRecipientInfo version is not 0",
        ));
    }
    Ok(Some(kemri))
}

/// Plain words for a KEMRecipientInfo's algorithms, for `inspect`.
pub fn describe(kemri: &KemRecipientInfo) -> String {
    let kem = match Level::from_oid(&kemri.kem.oid) {
        Some(level) => level.name().to_string(),
        None => format!("KEM {}", kemri.kem.oid),
    };
    let kdf = if kemri.kdf.oid == HKDF_WITH_SHA256 {
        "HKDF-SHA256".to_string()
    } else {
        format!("KDF {}", kemri.kdf.oid)
    };
    let wrap = match Wrap::from_algorithm(&kemri.wrap) {
        Ok(w) => w.name().to_string(),
        Err(_) => format!("key wrap {}", kemri.wrap.oid),
    };
    format!("{kem} ({kdf}, {wrap})")
}

/// Unwrap the content-encryption key from `kemri` with `key`.
///
/// `Ok(None)` when the kemri is for another KEM or parameter set than `key`'s. An error of kind
/// 77 means the key cannot open it (a wrong key and a forged ciphertext look alike: ML-KEM's
/// implicit rejection yields a secret that fails the key wrap's integrity check).
pub fn unwrap(
    kemri: &KemRecipientInfo,
    key: &MlKemPrivateKey,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if Level::from_oid(&kemri.kem.oid) != Some(key.level()) {
        return Ok(None);
    }
    if kemri.kem.parameters.is_some() {
        return Err(Error::data(
            "malformed CMS: the ML-KEM algorithm identifier has parameters",
        ));
    }
    if kemri.kdf.oid != HKDF_WITH_SHA256 {
        return Err(Error::data(format!(
            "the message uses key-derivation function {}, which sealmail does not support",
            kemri.kdf.oid
        ))
        .with_hint("sealmail reads KEMRecipientInfo with HKDF-SHA256 (RFC 9936)"));
    }
    if kemri.kdf.parameters.is_some() {
        return Err(Error::data(
            "malformed CMS: id-alg-hkdf-with-sha256 has parameters",
        ));
    }
    let wrap = Wrap::from_algorithm(&kemri.wrap)?;
    if usize::from(kemri.kek_length) != wrap.kek_len() {
        return Err(Error::data(format!(
            "malformed CMS: kekLength {} does not fit {}",
            kemri.kek_length,
            wrap.name()
        )));
    }
    let shared = key
        .decapsulate(kemri.kem_ct.as_bytes())
        .map_err(Error::data)?;
    let info = other_info_der(kemri.wrap.clone(), kemri.kek_length, kemri.ukm.clone())?;
    let kek = hkdf_sha256(&shared, &info, wrap.kek_len())?;
    wrap.unwrap(&kek, kemri.encrypted_key.as_bytes())
        .map(Some)
        .ok_or_else(|| Error::no_permission("the key cannot decrypt this session key"))
}

/// RFC 9629 §5: KEK = KDF(IKM = shared secret, L = kekLength, info = CMSORIforKEMOtherInfo);
/// HKDF is used without a salt (RFC 9936 §3).
fn hkdf_sha256(shared: &[u8], info: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut kek = Zeroizing::new(vec![0u8; len]);
    hkdf::Hkdf::<sha2::Sha256>::new(None, shared)
        .expand(info, &mut kek)
        .map_err(|_| Error::data("malformed CMS: impossible key-encryption key length"))?;
    Ok(kek)
}

fn other_info_der(
    wrap: AlgorithmIdentifierOwned,
    kek_length: u16,
    ukm: Option<OctetString>,
) -> Result<Zeroizing<Vec<u8>>> {
    let info = CmsOriForKemOtherInfo {
        wrap,
        kek_length,
        ukm,
    };
    Ok(Zeroizing::new(info.to_der().map_err(asn1_bug)?))
}

fn kek_length(wrap: Wrap) -> Result<u16> {
    u16::try_from(wrap.kek_len()).map_err(asn1_bug)
}

fn asn1_bug(e: impl std::fmt::Display) -> Error {
    Error::data(format!("internal error while encoding CMS: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms::enveloped_data::RecipientInfo;
    use der::Decode;
    use x509_cert::ext::pkix::SubjectKeyIdentifier;

    fn rid() -> RecipientIdentifier {
        RecipientIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
            OctetString::new(vec![7u8; 20]).unwrap(),
        ))
    }

    #[test]
    fn both_levels_round_trip_through_a_recipient_info() {
        let cek = [0x33u8; 32];
        for level in [Level::MlKem512, Level::MlKem768, Level::MlKem1024] {
            let key = MlKemPrivateKey::generate(level).unwrap();
            let ori = wrap(&key.public_key(), &rid(), &cek).unwrap();
            let ri = RecipientInfo::Ori(ori);
            let ri = RecipientInfo::from_der(&ri.to_der().unwrap()).unwrap();
            let RecipientInfo::Ori(ori) = ri else {
                panic!("not an ori")
            };
            let kemri = parse(&ori).unwrap().unwrap();
            assert_eq!(kemri.rid, rid());
            assert_eq!(kemri.kek_length, 32);
            assert_eq!(*unwrap(&kemri, &key).unwrap().unwrap(), cek);
            assert!(describe(&kemri).starts_with(level.name()));
        }
    }

    #[test]
    fn another_key_or_a_changed_ciphertext_is_no_permission() {
        let key = MlKemPrivateKey::generate(Level::MlKem768).unwrap();
        let other = MlKemPrivateKey::generate(Level::MlKem768).unwrap();
        let ori = wrap(&key.public_key(), &rid(), &[1u8; 16]).unwrap();
        let mut kemri = parse(&ori).unwrap().unwrap();
        assert_eq!(unwrap(&kemri, &other).unwrap_err().exit_code(), 77);
        let mut ct = kemri.kem_ct.as_bytes().to_vec();
        ct[100] ^= 1;
        kemri.kem_ct = OctetString::new(ct).unwrap();
        assert_eq!(unwrap(&kemri, &key).unwrap_err().exit_code(), 77);
        // A 1024 key does not answer a 768 kemri.
        let big = MlKemPrivateKey::generate(Level::MlKem1024).unwrap();
        assert!(unwrap(&kemri, &big).unwrap().is_none());
    }

    use crate::test_util::hex;

    /// RFC 9936 Appendix C, step by step: Bob's seed-form ML-KEM-512 key decapsulates the
    /// example's ciphertext to the published shared secret; the CMSORIforKEMOtherInfo, the
    /// HKDF-SHA256 key-encryption key and the unwrapped content-encryption key are the
    /// published ones.
    #[test]
    fn rfc9936_appendix_c_intermediate_values() {
        let key_pem = include_str!("../../../fixtures/rfc9936/bob-ml-kem-512.key");
        let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
        let key = MlKemPrivateKey::from_pkcs8_der(&key_der).unwrap();
        assert_eq!(key.level(), Level::MlKem512);
        // KeyGen_internal from the seed 00 01 .. 3f gives the published public key.
        let pub_pem = include_str!("../../../fixtures/rfc9936/bob-ml-kem-512.pub");
        let (_, pub_der) = der::pem::decode_vec(pub_pem.as_bytes()).unwrap();
        assert_eq!(key.public_key().to_spki_der().unwrap(), pub_der);

        let cms_pem = include_str!("../../../fixtures/rfc9936/example.cms");
        let (_, cms_der) = der::pem::decode_vec(cms_pem.as_bytes()).unwrap();
        let info = cms::content_info::ContentInfo::from_der(&cms_der).unwrap();
        let auth: cms::authenveloped_data::AuthEnvelopedData = info.content.decode_as().unwrap();
        let Some(RecipientInfo::Ori(ori)) = auth.recip_infos.0.iter().next() else {
            panic!("the example's recipient is an ori")
        };
        let kemri = parse(ori).unwrap().unwrap();

        let shared = key.decapsulate(kemri.kem_ct.as_bytes()).unwrap();
        assert_eq!(
            *shared,
            hex("7DF12D412AE299A24FDE6D7C3BB8E3194C80AD3C733DCF2775E09FE8BEDB86D8")
        );
        let other_info =
            other_info_der(kemri.wrap.clone(), kemri.kek_length, kemri.ukm.clone()).unwrap();
        assert_eq!(*other_info, hex("3010300B0609608648016503040105020110"));
        let kek = hkdf_sha256(&shared, &other_info, 16).unwrap();
        assert_eq!(*kek, hex("CF453A3E2BAE0A78701B8206C185A008"));
        assert_eq!(
            kemri.encrypted_key.as_bytes(),
            hex("C050E4392F9C14DD0AC2220203F317D701F94F9DD92778F5")
        );
        assert_eq!(
            *unwrap(&kemri, &key).unwrap().unwrap(),
            hex("C5153005588269A0A59F3C01943FDD56")
        );
    }

    #[test]
    fn a_mismatched_kek_length_is_malformed() {
        let key = MlKemPrivateKey::generate(Level::MlKem768).unwrap();
        let ori = wrap(&key.public_key(), &rid(), &[1u8; 16]).unwrap();
        let mut kemri = parse(&ori).unwrap().unwrap();
        kemri.kek_length = 16;
        assert_eq!(unwrap(&kemri, &key).unwrap_err().exit_code(), 65);
    }
}
