//! X25519 keys (RFC 7748) for ECDH key agreement in CMS (RFC 8418 kari recipients).
//!
//! Loads public keys from SubjectPublicKeyInfo and private keys from PKCS#8 as RFC 8410 defines
//! them (id-X25519, parameters absent; the private key is `CurvePrivateKey ::= OCTET STRING`
//! inside the PKCS#8 privateKey), generates new ones, and computes the shared secret. The KDF,
//! key wrap and ASN.1 of a KeyAgreeRecipientInfo live in `cms::recipient::kari`.
//!
//! Not for: Ed25519 signatures or X448.

use super::ec::random_failed;
use crate::error::{Error, Result};
use der::asn1::{BitString, ObjectIdentifier, OctetString, OctetStringRef};
use der::{Decode, Encode, EncodePem};
use pkcs8::LineEnding;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// id-X25519, RFC 8410 §3: `id-X25519 OBJECT IDENTIFIER ::= { 1 3 101 110 }`.
pub const ID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// A recipient's X25519 public key (the 32-byte u-coordinate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X25519PublicKey(pub [u8; 32]);

/// The result of ephemeral-static X25519: the originator's fresh public key and the secret.
pub struct Agreement {
    pub ephemeral_public: [u8; 32],
    pub shared_secret: Zeroizing<Vec<u8>>,
}

impl X25519PublicKey {
    /// From a SubjectPublicKeyInfo with algorithm id-X25519 (RFC 8410 §4: parameters absent).
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> std::result::Result<Self, String> {
        if spki.algorithm.oid != ID_X25519 {
            return Err(format!(
                "not an X25519 public key (algorithm {})",
                spki.algorithm.oid
            ));
        }
        if spki.algorithm.parameters.is_some() {
            return Err("the X25519 public key has parameters, which RFC 8410 forbids".into());
        }
        Self::from_bytes(spki.subject_public_key.raw_bytes())
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("an X25519 public key is 32 bytes, not {}", bytes.len()))?;
        Ok(X25519PublicKey(key))
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: algorithm(),
            subject_public_key: BitString::from_bytes(&self.0).map_err(encoding)?,
        };
        spki.to_der().map_err(encoding)
    }

    /// Ephemeral-static X25519 (RFC 8418 §2): a fresh key used once. An all-zero result (a
    /// low-order public key) is refused, as RFC 7748 §6.1 allows.
    pub fn agree_ephemeral(&self) -> Result<Agreement> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(random_failed)?;
        let secret = StaticSecret::from(*bytes);
        let shared = secret.diffie_hellman(&PublicKey::from(self.0));
        if !shared.was_contributory() {
            return Err(Error::config(
                "the recipient's X25519 key is a low-order point, not a usable key",
            ));
        }
        Ok(Agreement {
            ephemeral_public: PublicKey::from(&secret).to_bytes(),
            shared_secret: Zeroizing::new(shared.as_bytes().to_vec()),
        })
    }
}

/// An X25519 private key; x25519-dalek zeroizes it on drop.
#[derive(Clone)]
pub struct X25519PrivateKey(StaticSecret);

impl X25519PrivateKey {
    /// From a DER PKCS#8 (v1 or v2) PrivateKeyInfo with algorithm id-X25519.
    pub fn from_pkcs8_der(der: &[u8]) -> std::result::Result<Self, String> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|_| "the PKCS#8 private key is malformed".to_string())?;
        if info.algorithm.oid != ID_X25519 {
            return Err(format!(
                "not an X25519 private key (algorithm {})",
                info.algorithm.oid
            ));
        }
        // CurvePrivateKey ::= OCTET STRING, itself inside the privateKey OCTET STRING.
        let inner = <&OctetStringRef>::from_der(info.private_key.as_bytes())
            .map_err(|_| "the X25519 private key is malformed".to_string())?;
        let bytes: [u8; 32] = inner
            .as_bytes()
            .try_into()
            .map_err(|_| "an X25519 private key is 32 bytes".to_string())?;
        let key = X25519PrivateKey(StaticSecret::from(bytes));
        if let Some(public) = info.public_key.as_ref().and_then(|p| p.as_bytes())
            && public != key.public_key().0
        {
            return Err("the PKCS#8 file's public key does not belong to its private key".into());
        }
        Ok(key)
    }

    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(random_failed)?;
        Ok(X25519PrivateKey(StaticSecret::from(*bytes)))
    }

    pub fn public_key(&self) -> X25519PublicKey {
        X25519PublicKey(PublicKey::from(&self.0).to_bytes())
    }

    /// PKCS#8 v1 PEM, as RFC 8410 §10.3's example and `openssl genpkey -algorithm X25519` write.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let secret = Zeroizing::new(self.0.to_bytes());
        let inner = Zeroizing::new(
            OctetString::new(secret.to_vec())
                .map_err(encoding)?
                .to_der()
                .map_err(encoding)?,
        );
        let info = pkcs8::PrivateKeyInfoRef::new(
            spki::AlgorithmIdentifier {
                oid: ID_X25519,
                parameters: None,
            },
            OctetStringRef::new(&inner).map_err(encoding)?,
        );
        info.to_pem(LineEnding::LF)
            .map(Zeroizing::new)
            .map_err(encoding)
    }

    /// X25519 with the originator's public key; an all-zero result is refused.
    pub fn agree(&self, originator: &[u8]) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
        let peer = X25519PublicKey::from_bytes(originator)?;
        let shared = self.0.diffie_hellman(&PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err("the originator's X25519 key is a low-order point".into());
        }
        Ok(Zeroizing::new(shared.as_bytes().to_vec()))
    }
}

/// `AlgorithmIdentifier { id-X25519 }` with parameters absent (RFC 8410 §3).
pub fn algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_X25519,
        parameters: None,
    }
}

fn encoding(e: der::Error) -> Error {
    Error::data(format!("cannot encode an X25519 key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7748 §6.1's Diffie-Hellman example: Alice's private key, Bob's public key, K.
    #[test]
    fn rfc7748_shared_secret() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let alice: [u8; 32] =
            hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .try_into()
                .unwrap();
        let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let key = X25519PrivateKey(StaticSecret::from(alice));
        assert_eq!(
            key.public_key().0.to_vec(),
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            *key.agree(&bob_public).unwrap(),
            hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
    }

    /// RFC 8410 §10.3's example private key.
    #[test]
    fn rfc8410_private_key_example_loads() {
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VuBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        let key = X25519PrivateKey::from_pkcs8_der(&der).unwrap();
        let again = key.to_pkcs8_pem().unwrap();
        assert_eq!(again.as_str(), pem);
    }

    #[test]
    fn low_order_points_are_refused() {
        let key = X25519PrivateKey::generate().unwrap();
        assert!(key.agree(&[0u8; 32]).is_err());
        assert!(X25519PublicKey([0u8; 32]).agree_ephemeral().is_err());
        assert!(key.agree(&[1u8; 31]).is_err());
    }

    #[test]
    fn spki_round_trip() {
        let key = X25519PrivateKey::generate().unwrap();
        let der = key.public_key().to_spki_der().unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(&der).unwrap();
        assert_eq!(X25519PublicKey::from_spki(&spki).unwrap(), key.public_key());
    }
}
