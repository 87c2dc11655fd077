//! Elliptic-curve keys on P-256 and P-384 for ECDH key agreement (RFC 5753 kari recipients).
//!
//! Loads public keys from SubjectPublicKeyInfo (RFC 5480: id-ecPublicKey with a namedCurve) and
//! private keys from PKCS#8 or SEC1 `EC PRIVATE KEY` (RFC 5915), generates new ones, and does the
//! one operation CMS needs from them: the ECDH shared secret Z (the x-coordinate, SEC 1 §3.3.1).
//! The KDF, key wrap and ASN.1 of a KeyAgreeRecipientInfo live in `cms::recipient::kari`.
//!
//! Not for: ECDSA signatures, other curves (P-521, Brainpool), or explicit curve parameters.

use crate::error::{Error, Result};
use der::asn1::ObjectIdentifier;
use p256::elliptic_curve::Generate;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

/// id-ecPublicKey, RFC 5480 §2.1.1.
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1, RFC 5480 §2.1.1.1.
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1, RFC 5480 §2.1.1.1.
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The curves sealmail does ECDH on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }
}

/// A recipient's EC public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EcPublicKey {
    P256(p256::PublicKey),
    P384(p384::PublicKey),
}

/// The result of ephemeral-static ECDH: the originator's fresh public point and the secret Z.
pub struct Agreement {
    /// The ephemeral public key as an uncompressed SEC1 point (the ECPoint of RFC 5480).
    pub ephemeral_point: Vec<u8>,
    pub shared_secret: Zeroizing<Vec<u8>>,
}

impl EcPublicKey {
    /// From a SubjectPublicKeyInfo whose algorithm is id-ecPublicKey with a named curve.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> std::result::Result<Self, String> {
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
            return Err(format!(
                "not an EC public key (algorithm {})",
                spki.algorithm.oid
            ));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or("the EC public key does not name its curve")?;
        let point = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the EC public key is not a whole number of bytes")?;
        Self::from_sec1(curve_of(&curve)?, point)
    }

    /// From an encoded SEC1 point on `curve` (compressed or not); the identity is refused.
    pub fn from_sec1(curve: Curve, point: &[u8]) -> std::result::Result<Self, String> {
        let bad = |_| {
            format!(
                "the {} public key is not a point on the curve",
                curve.name()
            )
        };
        Ok(match curve {
            Curve::P256 => EcPublicKey::P256(p256::PublicKey::from_sec1_bytes(point).map_err(bad)?),
            Curve::P384 => EcPublicKey::P384(p384::PublicKey::from_sec1_bytes(point).map_err(bad)?),
        })
    }

    pub fn curve(&self) -> Curve {
        match self {
            EcPublicKey::P256(_) => Curve::P256,
            EcPublicKey::P384(_) => Curve::P384,
        }
    }

    /// The uncompressed SEC1 point: the subjectPublicKey BIT STRING's bytes.
    pub fn to_sec1(&self) -> Vec<u8> {
        match self {
            EcPublicKey::P256(k) => k.to_sec1_bytes().into_vec(),
            EcPublicKey::P384(k) => k.to_sec1_bytes().into_vec(),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let der = match self {
            EcPublicKey::P256(k) => k.to_public_key_der(),
            EcPublicKey::P384(k) => k.to_public_key_der(),
        };
        der.map(|d| d.into_vec())
            .map_err(|e| Error::data(format!("cannot encode an EC public key: {e}")))
    }

    /// Ephemeral-static ECDH (RFC 5753 §3.1.1): a fresh key pair on this key's curve, used once.
    pub fn agree_ephemeral(&self) -> Result<Agreement> {
        macro_rules! agree {
            ($curve:ident, $public:expr) => {{
                let secret =
                    $curve::ecdh::EphemeralSecret::try_generate_from_rng(&mut getrandom::SysRng)
                        .map_err(random_failed)?;
                let shared = secret.diffie_hellman($public);
                Agreement {
                    ephemeral_point: secret.public_key().to_sec1_bytes().into_vec(),
                    shared_secret: Zeroizing::new(shared.raw_secret_bytes().to_vec()),
                }
            }};
        }
        Ok(match self {
            EcPublicKey::P256(k) => agree!(p256, k),
            EcPublicKey::P384(k) => agree!(p384, k),
        })
    }
}

/// An EC private key; the scalar is zeroized on drop by the elliptic-curve crate.
#[derive(Clone)]
pub enum EcPrivateKey {
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

impl EcPrivateKey {
    /// From a DER PKCS#8 PrivateKeyInfo with algorithm id-ecPublicKey.
    pub fn from_pkcs8_der(der: &[u8]) -> std::result::Result<Self, String> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|_| "the PKCS#8 private key is malformed".to_string())?;
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or("the EC private key does not name its curve")?;
        let invalid = |_| "the EC private key is not valid".to_string();
        Ok(match curve_of(&curve)? {
            Curve::P256 => {
                EcPrivateKey::P256(p256::SecretKey::from_pkcs8_der(der).map_err(invalid)?)
            }
            Curve::P384 => {
                EcPrivateKey::P384(p384::SecretKey::from_pkcs8_der(der).map_err(invalid)?)
            }
        })
    }

    /// From a DER SEC1 ECPrivateKey (`-----BEGIN EC PRIVATE KEY-----`, what `openssl ecparam
    /// -genkey` writes), which must name its curve.
    pub fn from_sec1_der(der: &[u8]) -> std::result::Result<Self, String> {
        // Each curve's decoder checks the namedCurve parameter against its own curve.
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Ok(EcPrivateKey::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            return Ok(EcPrivateKey::P384(k));
        }
        Err("the EC PRIVATE KEY is malformed or not on P-256 or P-384".into())
    }

    /// A fresh key from the OS CSPRNG.
    pub fn generate(curve: Curve) -> Result<Self> {
        let rng = &mut getrandom::SysRng;
        Ok(match curve {
            Curve::P256 => EcPrivateKey::P256(
                p256::SecretKey::try_generate_from_rng(rng).map_err(random_failed)?,
            ),
            Curve::P384 => EcPrivateKey::P384(
                p384::SecretKey::try_generate_from_rng(rng).map_err(random_failed)?,
            ),
        })
    }

    pub fn public_key(&self) -> EcPublicKey {
        match self {
            EcPrivateKey::P256(k) => EcPublicKey::P256(k.public_key()),
            EcPrivateKey::P384(k) => EcPublicKey::P384(k.public_key()),
        }
    }

    pub fn curve(&self) -> Curve {
        self.public_key().curve()
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let pem = match self {
            EcPrivateKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            EcPrivateKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map_err(|e| Error::io(format!("cannot encode the private key: {e}")))
    }

    /// Static ECDH with the originator's public point: Z, the shared x-coordinate.
    ///
    /// The point must be on this key's curve; anything else is refused, never "fixed up".
    pub fn agree(
        &self,
        originator_point: &[u8],
    ) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
        let peer = EcPublicKey::from_sec1(self.curve(), originator_point).map_err(|_| {
            format!(
                "the originator's key is not a {} point",
                self.curve().name()
            )
        })?;
        Ok(match (self, &peer) {
            (EcPrivateKey::P256(k), EcPublicKey::P256(p)) => {
                Zeroizing::new(k.diffie_hellman(p).raw_secret_bytes().to_vec())
            }
            (EcPrivateKey::P384(k), EcPublicKey::P384(p)) => {
                Zeroizing::new(k.diffie_hellman(p).raw_secret_bytes().to_vec())
            }
            _ => return Err("the originator's key is on another curve".into()),
        })
    }
}

fn curve_of(oid: &ObjectIdentifier) -> std::result::Result<Curve, String> {
    match *oid {
        SECP256R1 => Ok(Curve::P256),
        SECP384R1 => Ok(Curve::P384),
        other => Err(format!(
            "the EC key is on curve {other}; sealmail supports P-256 and P-384"
        )),
    }
}

pub(crate) fn random_failed(err: getrandom::Error) -> Error {
    Error::io(format!(
        "cannot get random bytes from the operating system: {err}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn both_sides_of_ecdh_agree_on_each_curve() {
        for curve in [Curve::P256, Curve::P384] {
            let key = EcPrivateKey::generate(curve).unwrap();
            let agreement = key.public_key().agree_ephemeral().unwrap();
            let z = key.agree(&agreement.ephemeral_point).unwrap();
            assert_eq!(*z, *agreement.shared_secret);
            assert_eq!(z.len(), if curve == Curve::P256 { 32 } else { 48 });
        }
    }

    #[test]
    fn keys_round_trip_through_pkcs8_and_spki() {
        let key = EcPrivateKey::generate(Curve::P384).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let (_, der) = pem_rfc7468_decode(&pem);
        let again = EcPrivateKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let spki =
            SubjectPublicKeyInfoOwned::from_der(&key.public_key().to_spki_der().unwrap()).unwrap();
        assert_eq!(EcPublicKey::from_spki(&spki).unwrap(), key.public_key());
    }

    #[test]
    fn a_point_on_the_other_curve_is_refused() {
        let p256 = EcPrivateKey::generate(Curve::P256).unwrap();
        let p384 = EcPrivateKey::generate(Curve::P384).unwrap();
        assert!(p256.agree(&p384.public_key().to_sec1()).is_err());
        assert!(p256.agree(&[0x04; 65]).is_err());
        assert!(p256.agree(&[]).is_err());
    }

    fn pem_rfc7468_decode(pem: &str) -> (String, Vec<u8>) {
        let (label, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        (label.to_string(), der)
    }
}
