//! Keys: recipients' certificates and public keys, identities' private keys, the keyring,
//! RSA-OAEP key transport, and `keygen`.
//!
//! This module turns files into [`Recipient`]s (someone to encrypt to: a public key, the
//! RecipientIdentifier that names it in CMS, what it is known to read, and how to make its
//! RecipientInfo) and [`Identity`]s (a private key, the RecipientInfos it answers to, and how to
//! unwrap the content-encryption key from one), enforces SPEC §4's rules on recipients' keys, and wraps / unwraps session keys
//! with RSAES-OAEP. It knows nothing about CMS encoding, messages or the command line: it never
//! writes files (keygen returns PEM text) and never prompts (passphrases come from a
//! [`PassphraseSource`] the caller chooses).
//!
//! Error kinds: a missing or unreadable file is 66 ([`Error::read_file`]); a file that is not a
//! usable key or certificate is 78 ([`Error::config`]); an address without a certificate in the
//! keyring is 67; an identity that cannot unwrap a key is 77 ([`Error::no_permission`]), which the
//! decrypt path reports only after every identity has failed.

pub mod ec;
mod keygen;
mod keygen_modern;
mod keyring;
pub mod mlkem;
mod oaep;
pub(crate) mod parse;
pub(crate) mod pkcs12;
mod pkcs1v15;
pub(crate) mod raw_rsa;
pub mod signature;
pub mod trust;
pub mod x25519;

pub use keygen::{
    CertificateRequest, GeneratedKey, KeygenRequest, issued_certificate, keygen, keygen_at,
    private_key_pem,
};
pub use keygen_modern::{GeneratedModernKey, ModernKind, keygen_modern};
pub use keyring::{
    Choice, Keyring, PINNED as KEYRING_PINNED, authorities as keyring_authorities,
    certificate_files as keyring_certificate_files, default_identity_paths, default_keyring_dir,
    default_keys_dir, describe_certificate_in, find_by_recipient_id as find_in_keyring,
    identity_paths_from_env, keyring_dir_from_env, recorded_capabilities,
};
pub use pkcs12::{Protection as Pkcs12Protection, export as export_pkcs12};

use crate::cms::recipient::{kari, kemri};
use crate::cms::{self as envelope, Capabilities, KeyEncryption, KeyTransport, RecipientInfo};
use crate::error::{Error, Result};
use cms::cert::IssuerAndSerialNumber;
use der::asn1::OctetString;
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha1::Digest;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

pub use cms::enveloped_data::RecipientIdentifier;

/// A hash named in RSAES-OAEP-params (RFC 4055 / RFC 8017).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepHash {
    /// The hash's usual name, for `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            OaepHash::Sha1 => "SHA-1",
            OaepHash::Sha256 => "SHA-256",
            OaepHash::Sha384 => "SHA-384",
            OaepHash::Sha512 => "SHA-512",
        }
    }
}

/// The OAEP parameters of one KeyTransRecipientInfo (label always empty: pSource default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OaepParams {
    pub hash: OaepHash,
    pub mgf_hash: OaepHash,
}

/// The public key of a [`Recipient`]: one arm per kind of key sealmail encrypts to. A new kind
/// adds an arm here, its key operations in a file under `src/keys/`, and its RecipientInfo in
/// `src/cms/recipient/`.
#[derive(Clone)]
pub enum RecipientKey {
    /// RSA: key transport (KeyTransRecipientInfo), OAEP or PKCS#1 v1.5.
    Rsa(PublicKey),
    /// ECDH on P-256 / P-384: key agreement (KeyAgreeRecipientInfo, RFC 5753).
    Ec(ec::EcPublicKey),
    /// X25519: key agreement (KeyAgreeRecipientInfo, RFC 8418).
    X25519(x25519::X25519PublicKey),
    /// ML-KEM-768 / 1024: KEMRecipientInfo in an OtherRecipientInfo (RFC 9629, RFC 9936).
    MlKem(mlkem::MlKemPublicKey),
}

impl RecipientKey {
    /// From a SubjectPublicKeyInfo of any kind sealmail encrypts to; RSA keys get SPEC §4's
    /// size checks.
    fn from_spki(spki: &spki::SubjectPublicKeyInfoOwned) -> std::result::Result<Self, String> {
        let oid = spki.algorithm.oid;
        if oid == ec::ID_EC_PUBLIC_KEY {
            return ec::EcPublicKey::from_spki(spki).map(RecipientKey::Ec);
        }
        if oid == x25519::ID_X25519 {
            return x25519::X25519PublicKey::from_spki(spki).map(RecipientKey::X25519);
        }
        if mlkem::Level::from_oid(&oid).is_some() {
            return mlkem::MlKemPublicKey::from_spki(spki).map(RecipientKey::MlKem);
        }
        parse::recipient_key_from_spki(spki).map(RecipientKey::Rsa)
    }

    /// The subjectPublicKey BIT STRING's bytes (what the subject key identifier hashes).
    fn public_key_bits(&self) -> Result<Vec<u8>> {
        Ok(match self {
            RecipientKey::Rsa(k) => parse::pkcs1_public_der(k).map_err(Error::config)?,
            RecipientKey::Ec(k) => k.to_sec1(),
            RecipientKey::X25519(k) => k.0.to_vec(),
            RecipientKey::MlKem(k) => k.to_bytes(),
        })
    }

    /// Plain words for the kind of key, for messages and `inspect`.
    pub fn kind(&self) -> &'static str {
        match self {
            RecipientKey::Rsa(_) => "RSA",
            RecipientKey::Ec(k) => match k.curve() {
                ec::Curve::P256 => "ECDH P-256",
                ec::Curve::P384 => "ECDH P-384",
            },
            RecipientKey::X25519(_) => "X25519",
            RecipientKey::MlKem(k) => k.level().name(),
        }
    }

    /// What a key of this kind is known to read without being told: every implementation of
    /// RFC 8418 and RFC 9936 reads AuthEnvelopedData with AES-256-GCM; RSA and EC keys say
    /// nothing (the installed base).
    fn implied_capabilities(&self) -> Option<Capabilities> {
        match self {
            RecipientKey::X25519(_) | RecipientKey::MlKem(_) => {
                Some(Capabilities::none().with(envelope::Capability::Aes256Gcm))
            }
            RecipientKey::Rsa(_) | RecipientKey::Ec(_) => None,
        }
    }
}

/// Someone a message is encrypted to: who (the identifier that names them in CMS, and where they
/// came from), what they can read, and how to give them the content-encryption key
/// ([`Recipient::recipient_info`]).
#[derive(Clone)]
pub struct Recipient {
    /// issuerAndSerialNumber for a certificate, subjectKeyIdentifier for a bare key.
    pub id: RecipientIdentifier,
    pub key: RecipientKey,
    /// Where it came from, for messages: a file path or an email address.
    pub source: String,
    /// What the recipient is known to read (from its certificate's SMIMECapabilities extension
    /// or the keyring's `ADDRESS.caps`); `None` when nothing is known.
    pub capabilities: Option<Capabilities>,
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient")
            .field("id", &describe_recipient_id(&self.id))
            .field("source", &self.source)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl Recipient {
    /// The RecipientInfo giving this recipient the content-encryption key `cek`. `transport`
    /// says how RSA recipients get it (the policy decides it for all of them); other kinds of
    /// key have one way each.
    pub fn recipient_info(&self, cek: &[u8], transport: KeyTransport) -> Result<RecipientInfo> {
        match &self.key {
            RecipientKey::Rsa(public_key) => {
                let wrapped = match transport {
                    KeyTransport::RsaOaep => self.wrap(cek)?,
                    KeyTransport::RsaPkcs1v15 => public_key
                        .encrypt(&mut getrandom::SysRng, rsa::Pkcs1v15Encrypt, cek)
                        .map_err(|e| match e {
                            rsa::Error::MessageTooLong => self.cannot_encrypt(),
                            _ => rng_failed(),
                        })?,
                };
                envelope::key_trans_recipient_info(self.id.clone(), transport, wrapped)
            }
            RecipientKey::Ec(k) => Ok(RecipientInfo::Kari(kari::wrap(
                kari::AgreementPublicKey::Ec(k),
                &self.id,
                cek,
            )?)),
            RecipientKey::X25519(k) => Ok(RecipientInfo::Kari(kari::wrap(
                kari::AgreementPublicKey::X25519(k),
                &self.id,
                cek,
            )?)),
            RecipientKey::MlKem(k) => Ok(RecipientInfo::Ori(kemri::wrap(k, &self.id, cek)?)),
        }
    }

    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label (SPEC §1), randomised by the OS RNG.
    ///
    /// An RNG failure is an I/O error (74); a key too small for the session key is 78.
    pub fn wrap(&self, session_key: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            RecipientKey::Rsa(public_key) => {
                oaep::encrypt(public_key, session_key).map_err(|e| match e {
                    oaep::WrapError::Rng => rng_failed(),
                    oaep::WrapError::TooLong => self.cannot_encrypt(),
                })
            }
            _ => Err(self.cannot_encrypt()),
        }
    }

    fn cannot_encrypt(&self) -> Error {
        Error::config(format!("cannot encrypt the session key to {}", self.source))
    }

    /// The RSA public key, for an RSA recipient.
    pub fn rsa_public_key(&self) -> Option<&PublicKey> {
        match &self.key {
            RecipientKey::Rsa(key) => Some(key),
            _ => None,
        }
    }

    /// A recipient for a bare public key of any kind (SubjectPublicKeyInfo), named by its
    /// subjectKeyIdentifier; its capabilities are only what its kind implies.
    pub fn from_spki(spki: &spki::SubjectPublicKeyInfoOwned, source: &str) -> Result<Recipient> {
        let key = RecipientKey::from_spki(spki)
            .map_err(|reason| Error::config(format!("recipient {source}: {reason}")))?;
        let id = ski_recipient_id(&sha1::Sha1::digest(key.public_key_bits()?))?;
        Ok(Recipient {
            id,
            capabilities: key.implied_capabilities(),
            key,
            source: source.to_string(),
        })
    }

    /// A recipient named by the subjectKeyIdentifier of a bare public key (whose capabilities
    /// nothing says).
    pub fn from_public_key(public_key: PublicKey, source: impl Into<String>) -> Result<Recipient> {
        let source = source.into();
        let id = ski_recipient_id(&subject_key_identifier(&public_key)?)?;
        Ok(Recipient {
            id,
            key: RecipientKey::Rsa(public_key),
            source,
            capabilities: None,
        })
    }
}

/// The SHA-1 of the subjectPublicKey BIT STRING's bits, RFC 5280 §4.2.1.2 method (1): "The
/// keyIdentifier is composed of the 160-bit SHA-1 hash of the value of the BIT STRING
/// subjectPublicKey (excluding the tag, length, and number of unused bits)." For RSA those bits
/// are the DER RSAPublicKey.
pub fn subject_key_identifier(public_key: &PublicKey) -> Result<Vec<u8>> {
    let der = parse::pkcs1_public_der(public_key).map_err(Error::config)?;
    Ok(sha1::Sha1::digest(&der).to_vec())
}

fn ski_recipient_id(ski: &[u8]) -> Result<RecipientIdentifier> {
    let octets = OctetString::new(ski)
        .map_err(|_| Error::config("cannot encode a subject key identifier"))?;
    Ok(RecipientIdentifier::SubjectKeyIdentifier(
        SubjectKeyIdentifier(octets),
    ))
}

fn issuer_and_serial(cert: &Certificate) -> RecipientIdentifier {
    let tbs = cert.tbs_certificate();
    RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    })
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| Error::read_file(path, &e))
}

/// Read a `-r` file: certificate(s) PEM/DER, SPKI PEM/DER, PKCS#1 public key PEM.
///
/// A PEM file yields one recipient per CERTIFICATE / PUBLIC KEY / RSA PUBLIC KEY block (other
/// blocks, e.g. a private key kept beside the certificate, are ignored). Every one of them must
/// be usable, or the whole file is refused: encrypting to only some of a bundle would silently
/// leave someone out.
pub fn load_recipient_file(path: &Path, now: SystemTime) -> Result<Vec<Recipient>> {
    let bytes = read(path)?;
    let source = path.display().to_string();
    recipients_from_bytes(&bytes, &source, now)
}

/// [`load_recipient_file`] on bytes already read; `source` names them in messages.
pub fn recipients_from_bytes(
    bytes: &[u8],
    source: &str,
    now: SystemTime,
) -> Result<Vec<Recipient>> {
    let refuse = |reason: String| Error::config(format!("recipient {source}: {reason}"));
    let not_a_key = || {
        Error::config(format!(
            "recipient {source}: not a certificate or public key"
        ))
        .with_hint("give an X.509 certificate (PEM or DER) or an RSA public key (SPKI or PKCS#1)")
    };

    if !parse::looks_like_pem(bytes) {
        if let Some(cert) = parse::certificate_from_der(bytes) {
            return Ok(vec![recipient_from_certificate(&cert, source, now)?]);
        }
        if let Ok(spki) = <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(bytes) {
            return Ok(vec![Recipient::from_spki(&spki, source)?]);
        }
        if <pkcs1::RsaPublicKeyRef as der::Decode>::from_der(bytes).is_ok() {
            let key = parse::recipient_key_from_pkcs1(bytes).map_err(refuse)?;
            return Ok(vec![Recipient::from_public_key(key, source)?]);
        }
        return Err(not_a_key());
    }

    let blocks = parse::pem_blocks(bytes).map_err(refuse)?;
    let mut certs = Vec::new();
    let mut recipients = Vec::new();
    for block in &blocks {
        match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => {
                certs.push(parse::certificate_from_der(&block.der).ok_or_else(|| {
                    refuse("a CERTIFICATE block is not a valid certificate".into())
                })?)
            }
            "PUBLIC KEY" => {
                let spki = <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(&block.der)
                    .map_err(|_| refuse("a PUBLIC KEY block is malformed".into()))?;
                recipients.push(Recipient::from_spki(&spki, source)?);
            }
            "RSA PUBLIC KEY" => {
                let key = parse::recipient_key_from_pkcs1(&block.der).map_err(refuse)?;
                recipients.push(Recipient::from_public_key(key, source)?);
            }
            _ => {}
        }
    }
    // A file of several certificates is often a chain (leaf + CA): the CA certificates in it
    // are not recipients. A lone certificate is always checked, so a CA given alone is refused
    // with its reason rather than silently ignored.
    let several = certs.len() > 1;
    for cert in &certs {
        if several && parse::is_ca_certificate(cert) {
            continue;
        }
        let named = match several {
            true => format!(
                "{source} (certificate of {})",
                cert.tbs_certificate().subject()
            ),
            false => source.to_string(),
        };
        recipients.push(recipient_from_certificate(cert, &named, now)?);
    }
    if recipients.is_empty() {
        return Err(not_a_key());
    }
    Ok(recipients)
}

fn recipient_from_certificate(
    cert: &Certificate,
    source: &str,
    now: SystemTime,
) -> Result<Recipient> {
    let unusable = |reason: String| {
        Error::config(format!("recipient {source}: {reason}"))
            .with_hint("ask the recipient for a current certificate meant for email encryption")
    };
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key = if spki.algorithm.oid == parse::RSA_ENCRYPTION {
        RecipientKey::Rsa(parse::check_recipient_certificate(cert, now).map_err(unusable)?)
    } else {
        let key = RecipientKey::from_spki(spki).map_err(unusable)?;
        // RFC 8550 §4.4.2: keyAgreement for ECDH keys; RFC 9935 §5: keyEncipherment for ML-KEM.
        let agreement = matches!(key, RecipientKey::Ec(_) | RecipientKey::X25519(_));
        parse::check_certificate_use(cert, now, agreement).map_err(unusable)?;
        key
    };
    Ok(Recipient {
        id: issuer_and_serial(cert),
        capabilities: Capabilities::from_certificate(cert).or(key.implied_capabilities()),
        key,
        source: source.to_string(),
    })
}

/// Read a `-R` file: one recipient (path or address) per line; `#` comments, blanks ignored.
///
/// A comment is a line whose first non-blank character is `#`; a `#` later in a line is part of
/// the entry (paths may contain one). Entries are trimmed.
pub fn read_recipients_list(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::read_file(path, &e))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::config(format!(
            "recipients file {}: not UTF-8 text",
            path.display()
        ))
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// A private key that may be able to decrypt. The key is zeroized on drop: `rsa::PrivateKey`
/// implements `Drop` by zeroizing d, the primes and the CRT values (rsa 0.10,
/// `impl ZeroizeOnDrop for PrivateKey`).
pub struct Identity {
    /// Every RecipientIdentifier this key answers to: its subjectKeyIdentifier (method 1),
    /// and with its certificate, that certificate's issuerAndSerialNumber and its
    /// SubjectKeyIdentifier extension when that differs.
    pub ids: Vec<RecipientIdentifier>,
    /// The file it came from, for messages.
    pub source: String,
    /// Every certificate that came in the same file (a PEM bundle or a PKCS#12 file), in file
    /// order: the key's own and its chain, which `sign` sends along.
    pub file_certificates: Vec<Certificate>,
    key: IdentityKey,
}

/// The private key of an [`Identity`]: one arm per kind of key sealmail decrypts with.
pub enum IdentityKey {
    Rsa(Box<PrivateKey>),
    Ec(ec::EcPrivateKey),
    X25519(x25519::X25519PrivateKey),
    MlKem(Box<mlkem::MlKemPrivateKey>),
}

impl IdentityKey {
    /// The public half, as a recipient's key.
    pub fn public(&self) -> RecipientKey {
        match self {
            IdentityKey::Rsa(k) => RecipientKey::Rsa(k.to_public_key()),
            IdentityKey::Ec(k) => RecipientKey::Ec(k.public_key()),
            IdentityKey::X25519(k) => RecipientKey::X25519(k.public_key()),
            IdentityKey::MlKem(k) => RecipientKey::MlKem(k.public_key()),
        }
    }

    /// The key as plain PKCS#8 PEM, the form every kind is written in.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        use pkcs8::EncodePrivateKey;
        match self {
            IdentityKey::Rsa(k) => k
                .to_pkcs8_pem(der::pem::LineEnding::LF)
                .map_err(|_| Error::io("cannot encode the private key")),
            IdentityKey::Ec(k) => k.to_pkcs8_pem(),
            IdentityKey::X25519(k) => k.to_pkcs8_pem(),
            IdentityKey::MlKem(k) => k.to_pkcs8_pem(),
        }
    }

    /// The key as PKCS#8 PrivateKeyInfo DER (what PKCS#12 key bags and PBES2 encrypt).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let pem = self.to_pkcs8_pem()?;
        der::pem::decode_vec(pem.as_bytes())
            .map(|(_, der)| Zeroizing::new(der))
            .map_err(|_| Error::io("cannot encode the private key"))
    }

    /// The SHA-1 of the public key's bits (RFC 5280 §4.2.1.2 method 1), which names the key
    /// when it has no certificate.
    pub fn key_identifier(&self) -> Result<Vec<u8>> {
        Ok(sha1::Sha1::digest(self.public().public_key_bits()?).to_vec())
    }

    fn agreement(&self) -> Option<kari::AgreementPrivateKey<'_>> {
        match self {
            IdentityKey::Ec(k) => Some(kari::AgreementPrivateKey::Ec(k)),
            IdentityKey::X25519(k) => Some(kari::AgreementPrivateKey::X25519(k)),
            _ => None,
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.ids.iter().map(describe_recipient_id).collect();
        f.debug_struct("Identity")
            .field("ids", &ids)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// An identity for `key`, answering to its subjectKeyIdentifier only.
    pub fn new(key: PrivateKey, source: impl Into<String>) -> Result<Identity> {
        Self::from_key(IdentityKey::Rsa(Box::new(key)), source)
    }

    /// An identity for a key of any kind, answering to its subjectKeyIdentifier only.
    pub fn from_key(key: IdentityKey, source: impl Into<String>) -> Result<Identity> {
        let ski = sha1::Sha1::digest(key.public().public_key_bits()?);
        Ok(Identity {
            ids: vec![ski_recipient_id(&ski)?],
            source: source.into(),
            file_certificates: Vec::new(),
            key,
        })
    }

    /// Plain words for the kind of key ("RSA", "X25519", "ML-KEM-768", ...).
    pub fn kind(&self) -> &'static str {
        self.key.public().kind()
    }

    /// Add the identifiers of `cert` when it is this key's certificate; false when it is not.
    /// The certificate's dates are not checked: old mail must stay readable.
    pub fn add_certificate(&mut self, cert: &Certificate) -> bool {
        if !certificate_is_for(cert, &self.key.public()) {
            return false;
        }
        let mut push = |id: RecipientIdentifier| {
            if !self.ids.contains(&id) {
                self.ids.push(id);
            }
        };
        push(issuer_and_serial(cert));
        if let Ok(Some((_, ski))) = cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
        {
            push(RecipientIdentifier::SubjectKeyIdentifier(ski));
        }
        true
    }

    /// Does this identity know a certificate of its key (an issuer and serial number to answer
    /// to), or is it a bare key?
    pub fn has_certificate(&self) -> bool {
        self.ids
            .iter()
            .any(|id| matches!(id, RecipientIdentifier::IssuerAndSerialNumber(_)))
    }

    /// The RSA public key, for an RSA identity.
    pub fn public_key(&self) -> Option<&PublicKey> {
        match &self.key {
            IdentityKey::Rsa(k) => Some(k.as_public_key()),
            _ => None,
        }
    }

    pub fn matches(&self, rid: &RecipientIdentifier) -> bool {
        self.ids.contains(rid)
    }

    /// Does this RecipientInfo name this identity?
    pub fn answers_to(&self, info: &RecipientInfo) -> bool {
        match info {
            RecipientInfo::Ktri(ktri) => self.public_key().is_some() && self.matches(&ktri.rid),
            RecipientInfo::Kari(k) => {
                self.key.agreement().is_some()
                    && k.recipient_enc_keys
                        .iter()
                        .any(|rek| self.matches(&kari::recipient_id_of(&rek.rid)))
            }
            RecipientInfo::Ori(ori) => match (&self.key, kemri::parse(ori)) {
                (IdentityKey::MlKem(_), Ok(Some(k))) => self.matches(&k.rid),
                _ => false,
            },
            _ => false,
        }
    }

    /// May this RecipientInfo be for this identity although it names someone else (other agents
    /// name keys in ways a key loaded without its certificate does not know)? Only an RSA-OAEP
    /// block as long as this key's modulus can be. Never a PKCS#1 v1.5 block: with implicit
    /// rejection every try "succeeds" with some key, and a wrong one passes a CBC padding check
    /// now and then.
    pub fn may_answer_unnamed(&self, info: &RecipientInfo) -> bool {
        // Key agreement and KEM recipients are cheap to try: a wrong key fails the key wrap's
        // integrity check.
        match (info, &self.key) {
            (RecipientInfo::Ktri(ktri), IdentityKey::Rsa(k)) => {
                ktri.key_enc_alg.oid != envelope::oid::RSA_ENCRYPTION
                    && ktri.enc_key.as_bytes().len() == k.as_public_key().size()
            }
            (RecipientInfo::Kari(k), IdentityKey::Ec(_)) => {
                kari::scheme_of(k).is_ok_and(|s| s.kind.starts_with("ECDH"))
            }
            (RecipientInfo::Kari(k), IdentityKey::X25519(_)) => {
                kari::scheme_of(k).is_ok_and(|s| s.kind == "X25519")
            }
            (RecipientInfo::Ori(ori), IdentityKey::MlKem(key)) => matches!(
                kemri::parse(ori),
                Ok(Some(k)) if mlkem::Level::from_oid(&k.kem.oid) == Some(key.level())
            ),
            _ => false,
        }
    }

    /// The content-encryption key from one RecipientInfo meant for this identity; `cek_len` is
    /// the length the content cipher needs.
    ///
    /// Failure is [`Error::no_permission`] (77) when this identity cannot decrypt it, a data
    /// error (65) when the RecipientInfo itself is unusable. A PKCS#1 v1.5 block never fails
    /// (implicit rejection, `keys::pkcs1v15`): a bad one gives a key that will not decrypt the
    /// content, found out there.
    pub fn unwrap_from(&self, info: &RecipientInfo, cek_len: usize) -> Result<Zeroizing<Vec<u8>>> {
        match info {
            RecipientInfo::Ktri(ktri) => match envelope::key_encryption_of(&ktri.key_enc_alg)? {
                KeyEncryption::Oaep(params) => {
                    let key = self.unwrap_key(ktri.enc_key.as_bytes(), params)?;
                    // A key that OAEP-decodes but has the wrong length for the cipher is
                    // answered exactly like a padding failure: telling them apart would be an
                    // oracle on the decoded block.
                    if key.len() != cek_len {
                        return Err(self.cannot_unwrap());
                    }
                    Ok(key)
                }
                KeyEncryption::Pkcs1v15 => {
                    let IdentityKey::Rsa(rsa_key) = &self.key else {
                        return Err(self.cannot_unwrap());
                    };
                    pkcs1v15::decrypt_key(rsa_key, ktri.enc_key.as_bytes(), cek_len).map_err(|e| {
                        match e {
                            raw_rsa::RawRsaError::Rng => rng_failed(),
                            raw_rsa::RawRsaError::Invalid => self.cannot_unwrap(),
                        }
                    })
                }
            },
            RecipientInfo::Kari(k) => {
                let agreement = self.key.agreement().ok_or_else(|| self.cannot_unwrap())?;
                // The entry that names us, else (a blind try) the first one.
                let named = kari::unwrap(k, agreement, &|rid| self.matches(rid));
                let key = match named {
                    Ok(None) => kari::unwrap(k, agreement, &|_| true),
                    other => other,
                };
                self.checked_cek(key, cek_len)
            }
            RecipientInfo::Ori(ori) => {
                let IdentityKey::MlKem(key) = &self.key else {
                    return Err(self.cannot_unwrap());
                };
                let kemri = kemri::parse(ori)?.ok_or_else(|| self.cannot_unwrap())?;
                self.checked_cek(kemri::unwrap(&kemri, key), cek_len)
            }
            _ => Err(Error::no_permission(format!(
                "the key in {} cannot decrypt this kind of recipient",
                self.source
            ))),
        }
    }

    /// A key-agreement or KEM unwrap's result: every way of not getting a key of the right
    /// length is the one "cannot decrypt" answer; malformed CMS (65) and RNG failures stay.
    fn checked_cek(
        &self,
        key: Result<Option<Zeroizing<Vec<u8>>>>,
        cek_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        match key {
            Ok(Some(key)) if key.len() == cek_len => Ok(key),
            Ok(_) => Err(self.cannot_unwrap()),
            Err(e) if e.kind() == crate::Kind::NoPermission => Err(self.cannot_unwrap()),
            Err(e) => Err(e),
        }
    }

    /// RSAES-OAEP decryption of a wrapped session key with the given hashes and an empty label.
    ///
    /// Failure is [`Error::no_permission`] (77): it means "this identity cannot decrypt this",
    /// and the caller goes on to its other identities, reporting 77 only when none can. The
    /// message does not say why (padding vs. length): OAEP failures must look alike. The one
    /// exception is a failing system RNG (no randomness to blind with), an I/O error (74).
    pub fn unwrap_key(
        &self,
        encrypted_key: &[u8],
        params: OaepParams,
    ) -> Result<Zeroizing<Vec<u8>>> {
        use OaepHash::{Sha1, Sha256, Sha384, Sha512};
        use sha2::{Sha256 as S256, Sha384 as S384, Sha512 as S512};
        type S1 = sha1::Sha1;
        let IdentityKey::Rsa(rsa_key) = &self.key else {
            return Err(self.cannot_unwrap());
        };
        macro_rules! with_mgf {
            ($d:ty) => {
                match params.mgf_hash {
                    Sha1 => oaep::decrypt::<$d, S1>(rsa_key, encrypted_key),
                    Sha256 => oaep::decrypt::<$d, S256>(rsa_key, encrypted_key),
                    Sha384 => oaep::decrypt::<$d, S384>(rsa_key, encrypted_key),
                    Sha512 => oaep::decrypt::<$d, S512>(rsa_key, encrypted_key),
                }
            };
        }
        let result = match params.hash {
            Sha1 => with_mgf!(S1),
            Sha256 => with_mgf!(S256),
            Sha384 => with_mgf!(S384),
            Sha512 => with_mgf!(S512),
        };
        result.map_err(|e| match e {
            raw_rsa::RawRsaError::Rng => rng_failed(),
            raw_rsa::RawRsaError::Invalid => self.cannot_unwrap(),
        })
    }

    /// The one answer for every session key this identity cannot unwrap, whatever the reason
    /// (padding, length, or an unwrapped key of the wrong size for the cipher).
    pub fn cannot_unwrap(&self) -> Error {
        Error::no_permission(format!(
            "the key in {} cannot decrypt this session key",
            self.source
        ))
    }
}

/// The system RNG failed: the system's fault, never the message's.
fn rng_failed() -> Error {
    Error::io("cannot get random bytes from the operating system")
}

/// Whether `cert` certifies `key` (of any kind sealmail reads).
pub fn certificate_is_for(cert: &Certificate, key: &RecipientKey) -> bool {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let theirs = RecipientKey::from_spki(spki)
        .ok()
        .and_then(|k| k.public_key_bits().ok());
    theirs.is_some() && theirs == key.public_key_bits().ok()
}

/// Where a key passphrase comes from when a key file is encrypted.
pub trait PassphraseSource {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>>;
}

/// For runs that have no passphrase: an encrypted key is a configuration error with a hint.
pub struct NoPassphrase;

impl PassphraseSource for NoPassphrase {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>> {
        Err(Error::config(format!("{key_file} is passphrase-protected")).with_hint(
            "give the passphrase with --passphrase-file, --passphrase-fd or $SEALMAIL_PASSPHRASE",
        ))
    }
}

/// One passphrase, already known, for every key file.
pub struct FixedPassphrase(pub Zeroizing<String>);

impl PassphraseSource for FixedPassphrase {
    fn passphrase(&mut self, _key_file: &str) -> Result<Zeroizing<String>> {
        Ok(self.0.clone())
    }
}

/// The files beside the key file `key_path` that may hold its certificate, in the order to try
/// them: `STEM.crt`, `.cer`, `.pem` (what keygen writes beside `STEM.key`), with STEM the name
/// without its last extension, then the name cut at its first dot (`alice.key.pem` is
/// `alice.crt`'s key). Existing or not; never `key_path` itself.
pub fn certificate_files_beside(key_path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let first_dot = key_path
        .parent()
        .zip(key_path.file_name())
        .and_then(|(dir, name)| {
            let name = name.to_string_lossy();
            name.split_once('.').map(|(first, _)| dir.join(first))
        });
    for ext in ["crt", "cer", "pem"] {
        let beside = [
            Some(key_path.with_extension(ext)),
            first_dot.as_ref().map(|stem| {
                let mut name = stem.clone().into_os_string();
                name.push(".");
                name.push(ext);
                PathBuf::from(name)
            }),
        ];
        for candidate in beside.into_iter().flatten() {
            if candidate != key_path && !files.contains(&candidate) {
                files.push(candidate);
            }
        }
    }
    files
}

/// Read a `-i` file: PKCS#8 (plain or PBES2-encrypted) or PKCS#1, PEM or DER, optionally with the
/// key's certificate (PEM) in the same file. The passphrase source is asked at most once per file,
/// and only when the file holds an encrypted key.
pub fn load_identity_file(
    path: &Path,
    passphrase: &mut dyn PassphraseSource,
) -> Result<Vec<Identity>> {
    let bytes = read(path)?;
    let source = path.display().to_string();
    identities_from_bytes(&bytes, &source, passphrase)
}

/// [`load_identity_file`] on bytes already read; `source` names them in messages.
pub fn identities_from_bytes(
    bytes: &[u8],
    source: &str,
    passphrase: &mut dyn PassphraseSource,
) -> Result<Vec<Identity>> {
    let material = key_material_from_bytes(bytes, source, passphrase)?;
    let mut identities = Vec::new();
    for key in material.keys {
        let mut identity = Identity::from_key(key, source)?;
        for cert in &material.certs {
            identity.add_certificate(cert);
        }
        identity.file_certificates = material.certs.clone();
        identities.push(identity);
    }
    Ok(identities)
}

/// The private keys and certificates of one key file, before they are paired up.
pub struct KeyMaterial {
    pub keys: Vec<IdentityKey>,
    /// Every certificate in the file (the keys' own and any chain), in file order.
    pub certs: Vec<Certificate>,
}

/// Read every private key (at least one) and certificate of a key file: PKCS#8 (plain or
/// PBES2-encrypted) or PKCS#1, PEM or DER, optionally with certificates in the same PEM; or a
/// PKCS#12 file (DER, told apart by its content, whatever its name). The passphrase source is
/// asked at most once, and only when the file holds something encrypted.
pub fn key_material_from_bytes(
    bytes: &[u8],
    source: &str,
    passphrase: &mut dyn PassphraseSource,
) -> Result<KeyMaterial> {
    let refuse = |reason: &str| Error::config(format!("identity {source}: {reason}"));
    let mut cached: Option<Zeroizing<String>> = None;
    let mut ask = |cached: &mut Option<Zeroizing<String>>| -> Result<Zeroizing<String>> {
        if let Some(p) = cached {
            return Ok(p.clone());
        }
        let p = passphrase.passphrase(source)?;
        *cached = Some(p.clone());
        Ok(p)
    };

    let mut keys = Vec::new();
    let mut certs = Vec::new();
    if parse::looks_like_pem(bytes) {
        let blocks = parse::pem_blocks(bytes).map_err(|r| refuse(&r))?;
        for block in &blocks {
            match block.label.as_str() {
                "PRIVATE KEY" => keys.push(key_from_pkcs8(&block.der, source)?),
                "RSA PRIVATE KEY" => keys.push(key_from_pkcs1(&block.der, source)?),
                "EC PRIVATE KEY" => keys.push(
                    ec::EcPrivateKey::from_sec1_der(&block.der)
                        .map(IdentityKey::Ec)
                        .map_err(|r| refuse(&r))?,
                ),
                "ENCRYPTED PRIVATE KEY" => {
                    let pass = ask(&mut cached)?;
                    keys.push(key_from_encrypted_pkcs8(&block.der, &pass, source)?);
                }
                "CERTIFICATE" | "X509 CERTIFICATE" => {
                    let cert = parse::certificate_from_der(&block.der)
                        .ok_or_else(|| refuse("a CERTIFICATE block is not a valid certificate"))?;
                    certs.push(cert);
                }
                _ => {}
            }
        }
    } else if pkcs12::is_pfx(bytes) {
        let pass = ask(&mut cached)?;
        let opened = pkcs12::open(bytes, &pass).map_err(|r| pkcs12_error(r, source))?;
        for key in &opened.keys {
            keys.push(key_from_pkcs8(key, source)?);
        }
        certs = opened.certs;
    } else if <pkcs8::PrivateKeyInfoRef as der::Decode>::from_der(bytes).is_ok() {
        keys.push(key_from_pkcs8(bytes, source)?);
    } else if <pkcs8::EncryptedPrivateKeyInfoRef as der::Decode>::from_der(bytes).is_ok() {
        let pass = ask(&mut cached)?;
        keys.push(key_from_encrypted_pkcs8(bytes, &pass, source)?);
    } else if <pkcs1::RsaPrivateKeyRef as der::Decode>::from_der(bytes).is_ok() {
        keys.push(key_from_pkcs1(bytes, source)?);
    }
    if keys.is_empty() {
        return Err(refuse(
            "no private key found (PKCS#8 or PKCS#1, PEM or DER, or PKCS#12)",
        ));
    }
    Ok(KeyMaterial { keys, certs })
}

/// A PKCS#12 file that did not open. A passphrase its MAC rejects is 77 (EX_NOPERM: the
/// passphrase, not the file, is at fault, and a script may ask again); anything else about the
/// file is 78 like every other unusable key.
fn pkcs12_error(refusal: pkcs12::Refusal, source: &str) -> Error {
    use pkcs12::Refusal;
    match refusal {
        Refusal::WrongPassphrase => Error::no_permission(format!(
            "wrong passphrase for {source}: the PKCS#12 file's integrity check fails with it"
        ))
        .with_hint("give the passphrase the file was exported with (--passphrase-file, --passphrase-fd or $SEALMAIL_PASSPHRASE)"),
        Refusal::Malformed(reason) => {
            Error::config(format!("identity {source}: malformed PKCS#12 file: {reason}"))
        }
        Refusal::Unsupported(what) => Error::config(format!(
            "identity {source}: the PKCS#12 file uses {what}, which sealmail does not read"
        ))
        .with_hint("export it again with: openssl pkcs12 -export (default PBES2/AES-256 and SHA-256 MAC)"),
        Refusal::TooCostly(what) => Error::config(format!(
            "identity {source}: refusing the PKCS#12 file: {what}"
        )),
    }
}

fn key_from_pkcs8(der: &[u8], source: &str) -> Result<IdentityKey> {
    use pkcs8::DecodePrivateKey;
    let info = <pkcs8::PrivateKeyInfoRef as der::Decode>::from_der(der).map_err(|_| {
        Error::config(format!(
            "identity {source}: the PKCS#8 private key is malformed"
        ))
    })?;
    let refuse = |reason: String| Error::config(format!("identity {source}: {reason}"));
    let oid = info.algorithm.oid;
    if oid == ec::ID_EC_PUBLIC_KEY {
        return ec::EcPrivateKey::from_pkcs8_der(der)
            .map(IdentityKey::Ec)
            .map_err(refuse);
    }
    if oid == x25519::ID_X25519 {
        return x25519::X25519PrivateKey::from_pkcs8_der(der)
            .map(IdentityKey::X25519)
            .map_err(refuse);
    }
    if mlkem::Level::from_oid(&oid).is_some() {
        return mlkem::MlKemPrivateKey::from_pkcs8_der(der)
            .map(|k| IdentityKey::MlKem(Box::new(k)))
            .map_err(refuse);
    }
    if oid != parse::RSA_ENCRYPTION {
        // Named for the keys people have at hand (RFC 8410 and DSA); others by number.
        let what = match oid.to_string().as_str() {
            "1.3.101.111" => "an X448 key".to_string(),
            "1.3.101.112" => "an Ed25519 key".to_string(),
            "1.3.101.113" => "an Ed448 key".to_string(),
            "1.2.840.10040.4.1" => "a DSA key".to_string(),
            _ => format!("a key of algorithm {oid}"),
        };
        return Err(refuse(format!("{what}, which sealmail does not use")).with_hint(
            "sealmail decrypts with RSA, P-256/P-384, X25519 and ML-KEM keys, and signs and issues certificates with RSA and P-256/P-384",
        ));
    }
    PrivateKey::from_pkcs8_der(der)
        .map(|k| IdentityKey::Rsa(Box::new(k)))
        .map_err(|_| refuse("the RSA private key is not valid".into()))
}

fn key_from_pkcs1(der: &[u8], source: &str) -> Result<IdentityKey> {
    use pkcs1::DecodeRsaPrivateKey;
    PrivateKey::from_pkcs1_der(der)
        .map(|k| IdentityKey::Rsa(Box::new(k)))
        .map_err(|_| {
            Error::config(format!(
                "identity {source}: the RSA private key is not valid"
            ))
        })
}

fn key_from_encrypted_pkcs8(der: &[u8], passphrase: &str, source: &str) -> Result<IdentityKey> {
    let info = <pkcs8::EncryptedPrivateKeyInfoRef as der::Decode>::from_der(der).map_err(|_| {
        Error::config(format!(
            "identity {source}: the encrypted PKCS#8 private key is malformed"
        ))
    })?;
    // A wrong passphrase shows up as bad CBC padding or as garbage that is not DER; the two are
    // indistinguishable from a corrupt file, so the message names both.
    let plain = info.decrypt(passphrase.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. })
        | pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid {
            ..
        }) => Error::config(format!(
            "identity {source}: the key is encrypted with an unsupported scheme"
        ))
        .with_hint("re-encrypt it with: openssl pkcs8 -topk8 -v2 aes-256-cbc"),
        _ => Error::config(format!("wrong passphrase for {source} or corrupt key")),
    })?;
    key_from_pkcs8(plain.as_bytes(), source)
}

/// A serial number's bytes in lower-case hex without leading zeros (nor the sign octet).
pub(crate) fn serial_hex(serial: &[u8]) -> String {
    let digits: String = serial.iter().map(|b| format!("{b:02x}")).collect();
    match digits.trim_start_matches('0') {
        "" => "0".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// Plain words for a RecipientIdentifier, for `inspect` and error messages.
pub fn describe_recipient_id(rid: &RecipientIdentifier) -> String {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => {
            let serial = serial_hex(ias.serial_number.as_bytes());
            format!("issuer {} serial 0x{serial}", ias.issuer)
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            let hex: Vec<String> = ski
                .0
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("subject key identifier {}", hex.join(":"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use der::Decode;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;

    #[test]
    fn serials_are_shown_in_hex_without_the_sign_octet() {
        let issuer = Name::from_der(&[0x30, 0x00]).unwrap();
        for (bytes, shown) in [
            (&[0x00, 0x80, 0x01][..], "0x8001"),
            (&[0x00][..], "0x0"),
            (&[0x0a][..], "0xa"),
        ] {
            let rid = RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: issuer.clone(),
                serial_number: SerialNumber::new(bytes).unwrap(),
            });
            assert_eq!(
                describe_recipient_id(&rid),
                format!("issuer  serial {shown}")
            );
        }
    }

    #[test]
    fn ski_identifiers_are_shown_as_colon_hex() {
        let rid = ski_recipient_id(&[0x01, 0xab, 0xff]).unwrap();
        assert_eq!(
            describe_recipient_id(&rid),
            "subject key identifier 01:ab:ff"
        );
    }

    #[test]
    fn a_non_utf8_recipients_list_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list");
        std::fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        assert_eq!(
            read_recipients_list(&path).unwrap_err().kind(),
            Kind::Config
        );
    }

    #[test]
    fn pem_with_only_unrelated_blocks_is_not_a_recipient() {
        let text = b"-----BEGIN CMS-----\nAAEC\n-----END CMS-----\n";
        let err = recipients_from_bytes(text, "x.pem", SystemTime::now()).unwrap_err();
        assert_eq!(err.kind(), Kind::Config);
        assert!(err.message().contains("not a certificate or public key"));
        let err = identities_from_bytes(text, "x.pem", &mut NoPassphrase).unwrap_err();
        assert!(
            err.message().contains("no private key"),
            "{}",
            err.message()
        );
    }
}
