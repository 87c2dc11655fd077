//! ML-KEM-512, ML-KEM-768 and ML-KEM-1024 keys (FIPS 203) for KEMRecipientInfo recipients (RFC 9629/9936).
//!
//! This is the module edge around the `ml-kem` crate, which has not been independently audited
//! (SECURITY.md says so): nothing else in sealmail names its types. It loads public keys from
//! SubjectPublicKeyInfo and private keys from PKCS#8 as RFC 9935 (the LAMPS ML-KEM certificate
//! profile) defines them, generates keys in the seed form, and encapsulates / decapsulates.
//! The KDF, key wrap and ASN.1 of a KEMRecipientInfo live in `cms::recipient::kemri`.
//!
//! ```text
//! ML-KEM-PrivateKey ::= CHOICE {
//!   seed [0] OCTET STRING (SIZE (64)),
//!   expandedKey OCTET STRING (SIZE (1632 | 2400 | 3168)),
//!   both SEQUENCE {
//!       seed OCTET STRING (SIZE (64)),
//!       expandedKey OCTET STRING (SIZE (1632 | 2400 | 3168)) } }
//! ```
//!
//! sealmail writes the seed form and reads seed or both (checking that the two agree). An
//! expanded-only key is refused: it cannot be checked and the seed is the standard form.
//!
//! `keygen` offers only ML-KEM-768 and ML-KEM-1024 (categories 3 and 5); ML-KEM-512 (category
//! 1, which RFC 9936 allows and its example message uses) is read and encrypted to, so that mail
//! from other implementations opens.
//!
//! Not for: the KDF, key wrap or ASN.1 of a KEMRecipientInfo.

use super::ec::random_failed;
use crate::error::{Error, Result};
use der::asn1::{BitString, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, EncodePem, Reader, SliceReader, Tag, TagNumber};
#[allow(deprecated)]
use ml_kem::ExpandedKeyEncoding;
use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::{B32, DecapsulationKey, EncapsulationKey, MlKem512, MlKem768, MlKem1024, Seed};
use pkcs8::LineEnding;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

/// id-alg-ml-kem-512, FIPS 203 / RFC 9935: `{ nistAlgorithm kems(4) 1 }`.
pub const ID_ML_KEM_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.4.1");
/// id-alg-ml-kem-768: `{ nistAlgorithm kems(4) 2 }`.
pub const ID_ML_KEM_768: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.4.2");
/// id-alg-ml-kem-1024: `{ nistAlgorithm kems(4) 3 }`.
pub const ID_ML_KEM_1024: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.4.3");

/// The ML-KEM parameter sets sealmail uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    MlKem512,
    MlKem768,
    MlKem1024,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::MlKem512 => "ML-KEM-512",
            Level::MlKem768 => "ML-KEM-768",
            Level::MlKem1024 => "ML-KEM-1024",
        }
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Level::MlKem512 => ID_ML_KEM_512,
            Level::MlKem768 => ID_ML_KEM_768,
            Level::MlKem1024 => ID_ML_KEM_1024,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Level> {
        match *oid {
            ID_ML_KEM_512 => Some(Level::MlKem512),
            ID_ML_KEM_768 => Some(Level::MlKem768),
            ID_ML_KEM_1024 => Some(Level::MlKem1024),
            _ => None,
        }
    }

    /// `AlgorithmIdentifier { id-alg-ml-kem-* }`, parameters absent (RFC 9935 §3).
    pub fn algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }
}

/// A recipient's ML-KEM encapsulation key.
#[derive(Clone, Debug, PartialEq)]
pub enum MlKemPublicKey {
    MlKem512(Box<EncapsulationKey<MlKem512>>),
    MlKem768(Box<EncapsulationKey<MlKem768>>),
    MlKem1024(Box<EncapsulationKey<MlKem1024>>),
}

/// One encapsulation: the ciphertext for the recipient and the 32-byte shared secret.
pub struct Encapsulation {
    pub ciphertext: Vec<u8>,
    pub shared_secret: Zeroizing<Vec<u8>>,
}

impl MlKemPublicKey {
    /// From a SubjectPublicKeyInfo (RFC 9935 §4: parameters absent, the key is the raw
    /// encapsulation key in the BIT STRING), with FIPS 203's modulus check on the key.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> std::result::Result<Self, String> {
        let level = Level::from_oid(&spki.algorithm.oid).ok_or_else(|| {
            format!(
                "not an ML-KEM-768/1024 key (algorithm {})",
                spki.algorithm.oid
            )
        })?;
        if spki.algorithm.parameters.is_some() {
            return Err(format!(
                "the {} public key has parameters, which RFC 9935 forbids",
                level.name()
            ));
        }
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the ML-KEM public key is not a whole number of bytes")?;
        Self::from_bytes(level, bytes)
    }

    pub fn from_bytes(level: Level, bytes: &[u8]) -> std::result::Result<Self, String> {
        let bad = || format!("the {} public key is not valid", level.name());
        Ok(match level {
            Level::MlKem512 => {
                let key = bytes.try_into().map_err(|_| bad())?;
                MlKemPublicKey::MlKem512(Box::new(EncapsulationKey::new(key).map_err(|_| bad())?))
            }
            Level::MlKem768 => {
                let key = bytes.try_into().map_err(|_| bad())?;
                MlKemPublicKey::MlKem768(Box::new(EncapsulationKey::new(key).map_err(|_| bad())?))
            }
            Level::MlKem1024 => {
                let key = bytes.try_into().map_err(|_| bad())?;
                MlKemPublicKey::MlKem1024(Box::new(EncapsulationKey::new(key).map_err(|_| bad())?))
            }
        })
    }

    pub fn level(&self) -> Level {
        match self {
            MlKemPublicKey::MlKem512(_) => Level::MlKem512,
            MlKemPublicKey::MlKem768(_) => Level::MlKem768,
            MlKemPublicKey::MlKem1024(_) => Level::MlKem1024,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            MlKemPublicKey::MlKem512(k) => k.to_bytes().to_vec(),
            MlKemPublicKey::MlKem768(k) => k.to_bytes().to_vec(),
            MlKemPublicKey::MlKem1024(k) => k.to_bytes().to_vec(),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: self.level().algorithm(),
            subject_public_key: BitString::from_bytes(&self.to_bytes()).map_err(encoding)?,
        };
        spki.to_der().map_err(encoding)
    }

    /// ML-KEM.Encaps (FIPS 203 Algorithm 20): 32 random bytes m from the OS CSPRNG, then the
    /// deterministic internal encapsulation.
    pub fn encapsulate(&self) -> Result<Encapsulation> {
        let mut m = Zeroizing::new(B32::default());
        getrandom::fill(m.as_mut_slice()).map_err(random_failed)?;
        Ok(self.encapsulate_with(&m))
    }

    /// ML-KEM.Encaps_internal with the given m: for known-answer tests only.
    pub(crate) fn encapsulate_with(&self, m: &B32) -> Encapsulation {
        let (ciphertext, shared) = match self {
            MlKemPublicKey::MlKem512(k) => {
                let (c, s) = k.encapsulate_deterministic(m);
                (c.to_vec(), s)
            }
            MlKemPublicKey::MlKem768(k) => {
                let (c, s) = k.encapsulate_deterministic(m);
                (c.to_vec(), s)
            }
            MlKemPublicKey::MlKem1024(k) => {
                let (c, s) = k.encapsulate_deterministic(m);
                (c.to_vec(), s)
            }
        };
        let shared_secret = Zeroizing::new(shared.to_vec());
        let mut shared = shared;
        zeroize::Zeroize::zeroize(shared.as_mut_slice());
        Encapsulation {
            ciphertext,
            shared_secret,
        }
    }
}

/// An ML-KEM decapsulation key, kept with the seed it was made from. The ml-kem crate zeroizes
/// its key on drop; the seed is zeroized here.
pub struct MlKemPrivateKey {
    key: DecapsulationKeyOf,
    seed: Zeroizing<[u8; 64]>,
}

enum DecapsulationKeyOf {
    MlKem512(Box<DecapsulationKey<MlKem512>>),
    MlKem768(Box<DecapsulationKey<MlKem768>>),
    MlKem1024(Box<DecapsulationKey<MlKem1024>>),
}

impl MlKemPrivateKey {
    /// ML-KEM.KeyGen_internal from the 64-byte seed d || z (FIPS 203 Algorithm 16).
    pub fn from_seed(level: Level, seed: &[u8; 64]) -> Self {
        let s = Seed::from(*seed);
        let key = match level {
            Level::MlKem512 => {
                DecapsulationKeyOf::MlKem512(Box::new(DecapsulationKey::from_seed(s)))
            }
            Level::MlKem768 => {
                DecapsulationKeyOf::MlKem768(Box::new(DecapsulationKey::from_seed(s)))
            }
            Level::MlKem1024 => {
                DecapsulationKeyOf::MlKem1024(Box::new(DecapsulationKey::from_seed(s)))
            }
        };
        MlKemPrivateKey {
            key,
            seed: Zeroizing::new(*seed),
        }
    }

    /// A fresh key: a 64-byte seed from the OS CSPRNG.
    pub fn generate(level: Level) -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 64]);
        getrandom::fill(seed.as_mut()).map_err(random_failed)?;
        Ok(Self::from_seed(level, &seed))
    }

    /// From a DER PKCS#8 PrivateKeyInfo holding an ML-KEM-PrivateKey (seed or both).
    pub fn from_pkcs8_der(der: &[u8]) -> std::result::Result<Self, String> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|_| "the PKCS#8 private key is malformed".to_string())?;
        let level = Level::from_oid(&info.algorithm.oid).ok_or_else(|| {
            format!(
                "not an ML-KEM private key (algorithm {})",
                info.algorithm.oid
            )
        })?;
        let malformed = || format!("the {} private key is malformed", level.name());
        let body = info.private_key.as_bytes();
        let (seed, expanded) = match body.first() {
            // seed [0] IMPLICIT OCTET STRING
            Some(0x80) => {
                let mut r = SliceReader::new(body).map_err(|_| malformed())?;
                let seed = r
                    .context_specific::<&OctetStringRef>(TagNumber(0), der::TagMode::Implicit)
                    .map_err(|_| malformed())?
                    .ok_or_else(malformed)?;
                r.finish().map_err(|_| malformed())?;
                (seed.as_bytes(), None)
            }
            Some(0x30) => {
                let (seed, expanded) = decode_both(body).ok_or_else(malformed)?;
                (seed, Some(expanded))
            }
            Some(0x04) => {
                return Err(format!(
                    "the {} private key holds only the expanded key; sealmail reads the seed form (RFC 9935)",
                    level.name()
                ));
            }
            _ => return Err(malformed()),
        };
        let seed: &[u8; 64] = seed
            .try_into()
            .map_err(|_| format!("the {} seed is not 64 bytes", level.name()))?;
        let key = Self::from_seed(level, seed);
        if let Some(expanded) = expanded
            && !key.expanded_equals(expanded)
        {
            return Err(format!(
                "the {} private key's seed and expanded key do not agree",
                level.name()
            ));
        }
        Ok(key)
    }

    pub fn level(&self) -> Level {
        match self.key {
            DecapsulationKeyOf::MlKem512(_) => Level::MlKem512,
            DecapsulationKeyOf::MlKem768(_) => Level::MlKem768,
            DecapsulationKeyOf::MlKem1024(_) => Level::MlKem1024,
        }
    }

    pub fn public_key(&self) -> MlKemPublicKey {
        match &self.key {
            DecapsulationKeyOf::MlKem512(k) => {
                MlKemPublicKey::MlKem512(Box::new(k.encapsulation_key().clone()))
            }
            DecapsulationKeyOf::MlKem768(k) => {
                MlKemPublicKey::MlKem768(Box::new(k.encapsulation_key().clone()))
            }
            DecapsulationKeyOf::MlKem1024(k) => {
                MlKemPublicKey::MlKem1024(Box::new(k.encapsulation_key().clone()))
            }
        }
    }

    /// ML-KEM.Decaps (FIPS 203 Algorithm 21). A ciphertext of the wrong length is an error; a
    /// forged one of the right length yields the implicit-rejection secret, which then fails the
    /// key unwrap like any wrong key.
    pub fn decapsulate(
        &self,
        ciphertext: &[u8],
    ) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
        let wrong_len = || {
            format!(
                "the {} ciphertext is {} bytes long, which is not that parameter set's length",
                self.level().name(),
                ciphertext.len()
            )
        };
        let mut shared = match &self.key {
            DecapsulationKeyOf::MlKem512(k) => {
                k.decapsulate_slice(ciphertext).map_err(|_| wrong_len())?
            }
            DecapsulationKeyOf::MlKem768(k) => {
                k.decapsulate_slice(ciphertext).map_err(|_| wrong_len())?
            }
            DecapsulationKeyOf::MlKem1024(k) => {
                k.decapsulate_slice(ciphertext).map_err(|_| wrong_len())?
            }
        };
        let out = Zeroizing::new(shared.to_vec());
        zeroize::Zeroize::zeroize(shared.as_mut_slice());
        Ok(out)
    }

    /// PKCS#8 v1 PEM with the seed form of the private key (RFC 9935 §6).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let mut seed_der = Zeroizing::new(vec![0x80, 0x40]);
        seed_der.extend_from_slice(self.seed.as_ref());
        let info = pkcs8::PrivateKeyInfoRef::new(
            spki::AlgorithmIdentifier {
                oid: self.level().oid(),
                parameters: None,
            },
            OctetStringRef::new(&seed_der).map_err(encoding)?,
        );
        info.to_pem(LineEnding::LF)
            .map(Zeroizing::new)
            .map_err(encoding)
    }

    #[allow(deprecated)]
    fn expanded_equals(&self, expanded: &[u8]) -> bool {
        use ctutils::CtEq;
        let ours = match &self.key {
            DecapsulationKeyOf::MlKem512(k) => Zeroizing::new(k.to_expanded_bytes().to_vec()),
            DecapsulationKeyOf::MlKem768(k) => Zeroizing::new(k.to_expanded_bytes().to_vec()),
            DecapsulationKeyOf::MlKem1024(k) => Zeroizing::new(k.to_expanded_bytes().to_vec()),
        };
        ours.len() == expanded.len() && bool::from(ours.as_slice().ct_eq(expanded))
    }
}

/// `both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }`.
fn decode_both(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut outer = SliceReader::new(body).ok()?;
    let header = der::Header::decode(&mut outer).ok()?;
    if header.tag() != Tag::Sequence {
        return None;
    }
    let seed = <&OctetStringRef>::decode(&mut outer).ok()?;
    let expanded = <&OctetStringRef>::decode(&mut outer).ok()?;
    outer.finish().ok()?;
    Some((seed.as_bytes(), expanded.as_bytes()))
}

fn encoding(e: der::Error) -> Error {
    Error::data(format!("cannot encode an ML-KEM key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulation_and_decapsulation_agree_at_both_levels() {
        for level in [Level::MlKem512, Level::MlKem768, Level::MlKem1024] {
            let key = MlKemPrivateKey::generate(level).unwrap();
            let enc = key.public_key().encapsulate().unwrap();
            assert_eq!(
                *key.decapsulate(&enc.ciphertext).unwrap(),
                *enc.shared_secret
            );
            assert!(key.decapsulate(&enc.ciphertext[1..]).is_err());
        }
    }

    #[test]
    fn seed_form_round_trips_through_pkcs8() {
        let key = MlKemPrivateKey::generate(Level::MlKem1024).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let (label, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        let again = MlKemPrivateKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let spki =
            SubjectPublicKeyInfoOwned::from_der(&key.public_key().to_spki_der().unwrap()).unwrap();
        assert_eq!(MlKemPublicKey::from_spki(&spki).unwrap(), key.public_key());
    }
}
