//! KeyAgreeRecipientInfo (RFC 5652 §6.2.2) for ephemeral-static ECDH recipients: P-256 and
//! P-384 with the ANSI X9.63 KDF (RFC 5753), X25519 with HKDF (RFC 8418); the content-encryption
//! key is AES-key-wrapped under the derived key.
//!
//! sealmail writes, for P-256, `dhSinglePass-stdDH-sha256kdf-scheme` (RFC 5753's MUST), for
//! P-384 `dhSinglePass-stdDH-sha384kdf-scheme` (its hash matches the curve, as RFC 5008 pairs
//! them), for X25519 `dhSinglePass-stdDH-hkdf-sha256-scheme`; always with id-aes256-wrap and no
//! ukm. It reads also the SHA-1 (openssl's default) and SHA-512 X9.63 schemes, any AES key wrap,
//! and a ukm.
//!
//! Not for: the curves' arithmetic (see `keys::ec`, `keys::x25519`), cofactor or MQV schemes,
//! or static-static agreement (originators named by certificate).

use super::keywrap::Wrap;
use crate::error::{Error, Result};
use crate::keys::ec::{Curve, EcPrivateKey, EcPublicKey, ID_EC_PUBLIC_KEY};
use crate::keys::x25519::{self, X25519PrivateKey, X25519PublicKey};
use cms::content_info::CmsVersion;
pub use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, OriginatorIdentifierOrKey,
    OriginatorPublicKey, RecipientEncryptedKey, RecipientIdentifier, RecipientKeyIdentifier,
};
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Encode, Sequence};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

/// The key-agreement scheme identifiers (keyEncryptionAlgorithm of a kari).
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// dhSinglePass-stdDH-sha1kdf-scheme, RFC 5753 §7.1.4 (x9-63-scheme 2).
    pub const STD_DH_SHA1KDF: Oid = Oid::new_unwrap("1.3.133.16.840.63.0.2");
    /// dhSinglePass-stdDH-sha256kdf-scheme, RFC 5753 §7.1.4 (secg-scheme 11 1).
    pub const STD_DH_SHA256KDF: Oid = Oid::new_unwrap("1.3.132.1.11.1");
    /// dhSinglePass-stdDH-sha384kdf-scheme, RFC 5753 §7.1.4 (secg-scheme 11 2).
    pub const STD_DH_SHA384KDF: Oid = Oid::new_unwrap("1.3.132.1.11.2");
    /// dhSinglePass-stdDH-sha512kdf-scheme, RFC 5753 §7.1.4 (secg-scheme 11 3).
    pub const STD_DH_SHA512KDF: Oid = Oid::new_unwrap("1.3.132.1.11.3");
    /// dhSinglePass-stdDH-hkdf-sha256-scheme, RFC 8418 §2.2 (smime-alg 19).
    pub const STD_DH_HKDF_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.3.19");
}

/// RFC 5753 §7.2:
///
/// ```text
/// ECC-CMS-SharedInfo ::= SEQUENCE {
///     keyInfo         AlgorithmIdentifier,
///     entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,
///     suppPubInfo [2] EXPLICIT OCTET STRING  }
/// ```
///
/// keyInfo is the key-wrap algorithm, entityUInfo the ukm when there is one, suppPubInfo the
/// key-encryption key's length in bits as a 32-bit big-endian number. RFC 8418 §2.3 uses the
/// same structure as HKDF's info.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EccCmsSharedInfo {
    pub key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub supp_pub_info: OctetString,
}

/// The KDF half of a key-agreement scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    X963Sha1,
    X963Sha256,
    X963Sha384,
    X963Sha512,
    HkdfSha256,
}

impl Kdf {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Kdf> {
        Some(match *oid {
            oid::STD_DH_SHA1KDF => Kdf::X963Sha1,
            oid::STD_DH_SHA256KDF => Kdf::X963Sha256,
            oid::STD_DH_SHA384KDF => Kdf::X963Sha384,
            oid::STD_DH_SHA512KDF => Kdf::X963Sha512,
            oid::STD_DH_HKDF_SHA256 => Kdf::HkdfSha256,
            _ => return None,
        })
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Kdf::X963Sha1 => oid::STD_DH_SHA1KDF,
            Kdf::X963Sha256 => oid::STD_DH_SHA256KDF,
            Kdf::X963Sha384 => oid::STD_DH_SHA384KDF,
            Kdf::X963Sha512 => oid::STD_DH_SHA512KDF,
            Kdf::HkdfSha256 => oid::STD_DH_HKDF_SHA256,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kdf::X963Sha1 => "X9.63 KDF with SHA-1",
            Kdf::X963Sha256 => "X9.63 KDF with SHA-256",
            Kdf::X963Sha384 => "X9.63 KDF with SHA-384",
            Kdf::X963Sha512 => "X9.63 KDF with SHA-512",
            Kdf::HkdfSha256 => "HKDF-SHA256",
        }
    }

    /// The key-encryption key from the shared secret Z and the DER ECC-CMS-SharedInfo.
    fn derive(
        self,
        z: &[u8],
        shared_info: &[u8],
        ukm: Option<&[u8]>,
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Kdf::X963Sha1 => Ok(x963::<sha1::Sha1>(z, shared_info, len)),
            Kdf::X963Sha256 => Ok(x963::<sha2::Sha256>(z, shared_info, len)),
            Kdf::X963Sha384 => Ok(x963::<sha2::Sha384>(z, shared_info, len)),
            Kdf::X963Sha512 => Ok(x963::<sha2::Sha512>(z, shared_info, len)),
            Kdf::HkdfSha256 => {
                // RFC 8418 §2.3: the ukm, when present, is HKDF's salt.
                let mut kek = Zeroizing::new(vec![0u8; len]);
                hkdf::Hkdf::<sha2::Sha256>::new(ukm, z)
                    .expand(shared_info, &mut kek)
                    .map_err(|_| {
                        Error::data("malformed CMS: impossible key-encryption key length")
                    })?;
                Ok(kek)
            }
        }
    }
}

/// ANSI X9.63 KDF (SEC 1 §3.6.1, as RFC 5753 §7.2 uses it): the concatenation of
/// Hash(Z || Counter || SharedInfo) for Counter = 1, 2, ... (32-bit big-endian), truncated.
fn x963<D: Digest>(z: &[u8], shared_info: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 64));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = D::new();
        h.update(z);
        h.update(counter.to_be_bytes());
        h.update(shared_info);
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn shared_info_der(
    wrap: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
    kek_len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let bits =
        u32::try_from(kek_len * 8).map_err(|_| Error::data("malformed CMS: key too long"))?;
    let info = EccCmsSharedInfo {
        key_info: wrap.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(bits.to_be_bytes().to_vec()).map_err(asn1_bug)?,
    };
    Ok(Zeroizing::new(info.to_der().map_err(asn1_bug)?))
}

/// A key-agreement recipient's public key.
#[derive(Clone, Copy)]
pub enum AgreementPublicKey<'a> {
    Ec(&'a EcPublicKey),
    X25519(&'a X25519PublicKey),
}

/// A key-agreement identity's private key.
#[derive(Clone, Copy)]
pub enum AgreementPrivateKey<'a> {
    Ec(&'a EcPrivateKey),
    X25519(&'a X25519PrivateKey),
}

/// The kari's RecipientEncryptedKey identifier for a recipient named by `rid`: the
/// issuerAndSerialNumber of its certificate, or rKeyId with the subjectKeyIdentifier of a bare key.
pub fn kari_rid(rid: &RecipientIdentifier) -> KeyAgreeRecipientIdentifier {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => {
            KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias.clone())
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                subject_key_identifier: ski.clone(),
                date: None,
                other: None,
            })
        }
    }
}

/// The RecipientIdentifier that names the same key as a kari's identifier.
pub fn recipient_id_of(rid: &KeyAgreeRecipientIdentifier) -> RecipientIdentifier {
    match rid {
        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => {
            RecipientIdentifier::IssuerAndSerialNumber(ias.clone())
        }
        KeyAgreeRecipientIdentifier::RKeyId(r) => {
            RecipientIdentifier::SubjectKeyIdentifier(r.subject_key_identifier.clone())
        }
    }
}

/// Make the KeyAgreeRecipientInfo that gives `cek` to the holder of `key`, named by `rid`.
pub fn wrap(
    key: AgreementPublicKey<'_>,
    rid: &RecipientIdentifier,
    cek: &[u8],
) -> Result<KeyAgreeRecipientInfo> {
    let wrap = Wrap::Aes256;
    let wrap_alg = wrap.algorithm();
    let (kdf, originator_alg, originator_key, z) = match key {
        AgreementPublicKey::Ec(k) => {
            let agreement = k.agree_ephemeral()?;
            let kdf = match k.curve() {
                Curve::P256 => Kdf::X963Sha256,
                Curve::P384 => Kdf::X963Sha384,
            };
            // RFC 5753 §3.1.1: id-ecPublicKey; the curve is the recipient's, parameters absent.
            let alg = AlgorithmIdentifierOwned {
                oid: ID_EC_PUBLIC_KEY,
                parameters: None,
            };
            (kdf, alg, agreement.ephemeral_point, agreement.shared_secret)
        }
        AgreementPublicKey::X25519(k) => {
            let agreement = k.agree_ephemeral()?;
            (
                Kdf::HkdfSha256,
                x25519::algorithm(),
                agreement.ephemeral_public.to_vec(),
                agreement.shared_secret,
            )
        }
    };
    let info = shared_info_der(&wrap_alg, None, wrap.kek_len())?;
    let kek = kdf.derive(&z, &info, None, wrap.kek_len())?;
    let encrypted_key = wrap.wrap(&kek, cek)?;
    Ok(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm: originator_alg,
            public_key: BitString::from_bytes(&originator_key).map_err(asn1_bug)?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: kdf.oid(),
            parameters: Some(der::Any::encode_from(&wrap_alg).map_err(asn1_bug)?),
        },
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid: kari_rid(rid),
            enc_key: OctetString::new(encrypted_key).map_err(asn1_bug)?,
        }],
    })
}

/// What a kari says about itself: its scheme, for `inspect` and for choosing an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// "ECDH P-256", "ECDH P-384", "X25519", or "ECDH" when the curve cannot be told.
    pub kind: &'static str,
    pub kdf: Kdf,
    pub wrap: Wrap,
}

impl Scheme {
    pub fn describe(&self) -> String {
        format!("{} ({}, {})", self.kind, self.kdf.name(), self.wrap.name())
    }
}

/// The scheme of a kari, or why sealmail cannot read it.
pub fn scheme_of(kari: &KeyAgreeRecipientInfo) -> Result<Scheme> {
    let kdf = Kdf::from_oid(&kari.key_enc_alg.oid).ok_or_else(|| {
        Error::data(format!(
            "the message uses key-agreement scheme {}, which sealmail does not support",
            kari.key_enc_alg.oid
        ))
        .with_hint("sealmail reads ephemeral-static ECDH (RFC 5753) and X25519 (RFC 8418)")
    })?;
    let wrap_alg = wrap_algorithm(kari)?;
    let wrap = Wrap::from_algorithm(&wrap_alg)?;
    let kind = match &kari.originator {
        OriginatorIdentifierOrKey::OriginatorKey(k) if k.algorithm.oid == x25519::ID_X25519 => {
            "X25519"
        }
        OriginatorIdentifierOrKey::OriginatorKey(k) => match k.public_key.raw_bytes().len() {
            65 => "ECDH P-256",
            97 => "ECDH P-384",
            _ => "ECDH",
        },
        _ => "ECDH",
    };
    Ok(Scheme { kind, kdf, wrap })
}

fn wrap_algorithm(kari: &KeyAgreeRecipientInfo) -> Result<AlgorithmIdentifierOwned> {
    let params = kari.key_enc_alg.parameters.as_ref().ok_or_else(|| {
        Error::data("malformed CMS: the key-agreement algorithm does not name its key wrap")
    })?;
    params
        .decode_as()
        .map_err(|e| Error::data(format!("malformed CMS: bad key-wrap algorithm: {e}")))
}

/// Unwrap the content-encryption key from `kari` with `key`, using the RecipientEncryptedKey
/// for which `is_ours` holds.
///
/// `Ok(None)`: nothing in this kari is addressed to the key (or the kari is for another kind of
/// key). An error of kind 77 (no permission) means it is addressed to us but the key cannot open
/// it; the message never says why, so that a wrong key and a forgery look alike.
pub fn unwrap(
    kari: &KeyAgreeRecipientInfo,
    key: AgreementPrivateKey<'_>,
    is_ours: &dyn Fn(&RecipientIdentifier) -> bool,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let Some(rek) = kari
        .recipient_enc_keys
        .iter()
        .find(|rek| is_ours(&recipient_id_of(&rek.rid)))
    else {
        return Ok(None);
    };
    let scheme = scheme_of(kari)?;
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(Error::data(
            "the message uses static-static key agreement (originator named by certificate), which sealmail does not support",
        ));
    };
    let point = originator
        .public_key
        .as_bytes()
        .ok_or_else(|| Error::data("malformed CMS: the originator's key is not whole bytes"))?;
    let wrong_kind =
        || Error::data("malformed CMS: the key-agreement scheme does not fit the originator's key");
    let z = match key {
        AgreementPrivateKey::Ec(k) => {
            if scheme.kdf == Kdf::HkdfSha256 || originator.algorithm.oid != ID_EC_PUBLIC_KEY {
                return Ok(None);
            }
            check_ec_parameters(originator, k.curve())?;
            k.agree(point).map_err(Error::data)?
        }
        AgreementPrivateKey::X25519(k) => {
            if originator.algorithm.oid != x25519::ID_X25519 {
                return Ok(None);
            }
            if scheme.kdf != Kdf::HkdfSha256 {
                return Err(wrong_kind());
            }
            k.agree(point).map_err(Error::data)?
        }
    };
    let wrap_alg = wrap_algorithm(kari)?;
    let ukm = kari.ukm.as_ref();
    let info = shared_info_der(&wrap_alg, ukm, scheme.wrap.kek_len())?;
    let kek = scheme
        .kdf
        .derive(&z, &info, ukm.map(|u| u.as_bytes()), scheme.wrap.kek_len())?;
    scheme
        .wrap
        .unwrap(&kek, rek.enc_key.as_bytes())
        .map(Some)
        .ok_or_else(|| Error::no_permission("the key cannot decrypt this session key"))
}

/// RFC 5753 §3.1.1: the originator's id-ecPublicKey parameters are absent, NULL, or the curve.
fn check_ec_parameters(originator: &OriginatorPublicKey, curve: Curve) -> Result<()> {
    let Some(params) = &originator.algorithm.parameters else {
        return Ok(());
    };
    if der::Tagged::tag(params) == der::Tag::Null {
        return Ok(());
    }
    let named: ObjectIdentifier = params.decode_as().map_err(|_| {
        Error::data("malformed CMS: the originator's EC parameters are not a named curve")
    })?;
    let ours = match curve {
        Curve::P256 => crate::keys::ec::SECP256R1,
        Curve::P384 => crate::keys::ec::SECP384R1,
    };
    if named != ours {
        return Err(Error::data(
            "malformed CMS: the originator's key is on another curve than ours",
        ));
    }
    Ok(())
}

fn asn1_bug(e: impl std::fmt::Display) -> Error {
    Error::data(format!("internal error while encoding CMS: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use x509_cert::ext::pkix::SubjectKeyIdentifier;

    fn ski(byte: u8) -> RecipientIdentifier {
        RecipientIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
            OctetString::new(vec![byte; 20]).unwrap(),
        ))
    }

    #[test]
    fn x963_kdf_matches_sec1_known_answer() {
        // ANSI X9.63 KDF with SHA-256, from NIST CAVS 12.0 (X9.63 KDF, [SHA-256] COUNT = 0):
        // Z = 96c05619d56c328ab95fe84b18264b08725b85e33fd34f08, no SharedInfo, 128 bits.
        let z = hex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08");
        let k = x963::<sha2::Sha256>(&z, &[], 16);
        assert_eq!(*k, hex("443024c3dae66b95e6f5670601558f71"));
    }

    #[test]
    fn every_kind_round_trips_and_strangers_are_not_addressed() {
        let cek = [0x5au8; 32];
        let p256 = EcPrivateKey::generate(Curve::P256).unwrap();
        let p384 = EcPrivateKey::generate(Curve::P384).unwrap();
        let x = X25519PrivateKey::generate().unwrap();
        let (p256_pub, p384_pub, x_pub) = (p256.public_key(), p384.public_key(), x.public_key());
        let cases: [(AgreementPublicKey, AgreementPrivateKey, &str); 3] = [
            (
                AgreementPublicKey::Ec(&p256_pub),
                AgreementPrivateKey::Ec(&p256),
                "ECDH P-256",
            ),
            (
                AgreementPublicKey::Ec(&p384_pub),
                AgreementPrivateKey::Ec(&p384),
                "ECDH P-384",
            ),
            (
                AgreementPublicKey::X25519(&x_pub),
                AgreementPrivateKey::X25519(&x),
                "X25519",
            ),
        ];
        for (public, private, kind) in cases {
            let kari = wrap(public, &ski(1), &cek).unwrap();
            // Through DER and back, as a reader meets it.
            let kari = KeyAgreeRecipientInfo::from_der(&kari.to_der().unwrap()).unwrap();
            assert_eq!(scheme_of(&kari).unwrap().kind, kind);
            let got = unwrap(&kari, private, &|rid| *rid == ski(1))
                .unwrap()
                .unwrap();
            assert_eq!(*got, cek);
            assert!(
                unwrap(&kari, private, &|rid| *rid == ski(2))
                    .unwrap()
                    .is_none()
            );
        }
        // The right identifier but another key: 77, not a detail.
        let other = EcPrivateKey::generate(Curve::P256).unwrap();
        let kari = wrap(AgreementPublicKey::Ec(&p256_pub), &ski(1), &cek).unwrap();
        let err = unwrap(&kari, AgreementPrivateKey::Ec(&other), &|_| true).unwrap_err();
        assert_eq!(err.exit_code(), 77);
        // An X25519 identity skips an EC kari instead of failing on it.
        assert!(
            unwrap(&kari, AgreementPrivateKey::X25519(&x), &|_| true)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn written_kari_names_sha256kdf_and_aes256_wrap() {
        let key = EcPrivateKey::generate(Curve::P256).unwrap();
        let kari = wrap(
            AgreementPublicKey::Ec(&key.public_key()),
            &ski(1),
            &[1u8; 16],
        )
        .unwrap();
        assert_eq!(kari.key_enc_alg.oid, oid::STD_DH_SHA256KDF);
        assert_eq!(wrap_algorithm(&kari).unwrap(), Wrap::Aes256.algorithm());
        assert_eq!(kari.version, CmsVersion::V3);
        assert!(kari.ukm.is_none());
    }

    #[test]
    fn unknown_schemes_are_refused_by_name() {
        let key = EcPrivateKey::generate(Curve::P256).unwrap();
        let mut kari = wrap(
            AgreementPublicKey::Ec(&key.public_key()),
            &ski(1),
            &[1u8; 16],
        )
        .unwrap();
        kari.key_enc_alg.oid = ObjectIdentifier::new_unwrap("1.3.132.1.14.1");
        let err = unwrap(&kari, AgreementPrivateKey::Ec(&key), &|_| true).unwrap_err();
        assert_eq!(err.exit_code(), 65);
        assert!(
            err.message().contains("1.3.132.1.14.1"),
            "{}",
            err.message()
        );
    }

    use crate::test_util::hex;
}
