//! `sealmail keygen --kind p256|x25519|ml-kem-768|ml-kem-1024`: a fresh key-agreement or KEM
//! key as PKCS#8 (for `-i`) and SubjectPublicKeyInfo (for `-r`), both PEM.
//!
//! Such a key cannot sign, so it gets no self-signed certificate. ML-KEM private keys are written
//! in the seed form of RFC 9935, which other implementations load.
//!
//! Not for: RSA keys and their self-signed certificates (see `keygen`), or writing files.

use super::{ec, mlkem, x25519};
use crate::error::{Error, Result};
use pkcs8::LineEnding;
use zeroize::Zeroizing;

/// The kinds of key `keygen --kind` makes besides RSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModernKind {
    P256,
    X25519,
    MlKem768,
    MlKem1024,
}

impl ModernKind {
    pub fn name(self) -> &'static str {
        match self {
            ModernKind::P256 => "P-256",
            ModernKind::X25519 => "X25519",
            ModernKind::MlKem768 => "ML-KEM-768",
            ModernKind::MlKem1024 => "ML-KEM-1024",
        }
    }
}

/// A new key: the private key (PKCS#8 PEM, encrypted when a passphrase was given) and its public
/// key (SPKI PEM).
pub struct GeneratedModernKey {
    pub key_pem: Zeroizing<String>,
    pub public_pem: String,
}

/// Generate a key of `kind`; with a passphrase the PKCS#8 is PBES2-encrypted as RSA keys are.
pub fn keygen_modern(
    kind: ModernKind,
    passphrase: Option<&Zeroizing<String>>,
) -> Result<GeneratedModernKey> {
    let (key_pem, spki_der) = match kind {
        ModernKind::P256 => {
            let key = ec::EcPrivateKey::generate(ec::Curve::P256)?;
            (key.to_pkcs8_pem()?, key.public_key().to_spki_der()?)
        }
        ModernKind::X25519 => {
            let key = x25519::X25519PrivateKey::generate()?;
            (key.to_pkcs8_pem()?, key.public_key().to_spki_der()?)
        }
        ModernKind::MlKem768 | ModernKind::MlKem1024 => {
            let level = if kind == ModernKind::MlKem768 {
                mlkem::Level::MlKem768
            } else {
                mlkem::Level::MlKem1024
            };
            let key = mlkem::MlKemPrivateKey::generate(level)?;
            (key.to_pkcs8_pem()?, key.public_key().to_spki_der()?)
        }
    };
    // Encoding a key just made fails only on an internal size overflow: no library text for it.
    let fail = || Error::io("cannot encode the new key as PEM");
    let public_pem =
        der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki_der).map_err(|_| fail())?;
    let key_pem = match passphrase {
        None => key_pem,
        Some(passphrase) => {
            let (_, der) = der::pem::decode_vec(key_pem.as_bytes()).map_err(|_| fail())?;
            let der = Zeroizing::new(der);
            super::keygen::encrypted_pkcs8_der_pem(&der, passphrase)?
        }
    };
    Ok(GeneratedModernKey {
        key_pem,
        public_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{
        FixedPassphrase, NoPassphrase, identities_from_bytes, recipients_from_bytes,
    };
    use std::time::SystemTime;

    #[test]
    fn every_kind_loads_back_as_recipient_and_identity() {
        for kind in [
            ModernKind::P256,
            ModernKind::X25519,
            ModernKind::MlKem768,
            ModernKind::MlKem1024,
        ] {
            let key = keygen_modern(kind, None).unwrap();
            assert!(key.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            let recipients =
                recipients_from_bytes(key.public_pem.as_bytes(), "k.pub", SystemTime::now())
                    .unwrap();
            let identities =
                identities_from_bytes(key.key_pem.as_bytes(), "k.key", &mut NoPassphrase).unwrap();
            // The bare public key's subjectKeyIdentifier is one the identity answers to.
            assert!(identities[0].matches(&recipients[0].id), "{}", kind.name());
        }
    }

    #[test]
    fn a_passphrase_encrypts_the_key() {
        let pass = Zeroizing::new("correct horse".to_string());
        let key = keygen_modern(ModernKind::X25519, Some(&pass)).unwrap();
        assert!(
            key.key_pem
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        );
        let mut source = FixedPassphrase(pass);
        assert_eq!(
            identities_from_bytes(key.key_pem.as_bytes(), "k.key", &mut source).unwrap()[0].kind(),
            "X25519"
        );
    }
}
