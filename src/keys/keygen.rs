//! `sealmail keygen`: a fresh RSA key and a self-signed S/MIME certificate for it (SPEC §4).
//!
//! Returns PEM text only; writing the files (mode 0600, never overwriting) is the app layer's
//! job. The certificate is what `openssl cms -encrypt -recip` and other S/MIME agents need: v3,
//! subjectAltName rfc822Name, keyUsage keyEncipherment, extendedKeyUsage emailProtection,
//! subjectKeyIdentifier, basicConstraints CA:FALSE, signed with sha256WithRSAEncryption.

use super::{IdentityKey, parse, subject_key_identifier};
use crate::error::{Error, Result};
use der::asn1::{Any, Ia5String, ObjectIdentifier, OctetString};
use der::{Decode, Encode, EncodePem, Tag};
use pkcs8::{EncodePrivateKey, LineEnding};
use rsa::PrivateKey;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

/// id-at-commonName, X.520.
const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// pkcs-9-at-emailAddress, RFC 2985 §5.2.1 (kept for older mail agents, RFC 8550 §3).
const ID_EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
/// X.520 ub-common-name and RFC 5280 ub-emailaddress-length.
const UB_COMMON_NAME: usize = 64;
const UB_EMAIL_ADDRESS: usize = 255;

/// What to generate.
pub struct KeygenRequest {
    pub email: String,
    /// The certificate's common name; the email address when absent.
    pub name: Option<String>,
    /// 2048, 3072 or 4096.
    pub bits: usize,
    /// How many days from now the certificate is valid.
    pub days: u32,
    /// Encrypt the key (PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC) with this passphrase.
    pub passphrase: Option<Zeroizing<String>>,
}

/// The new key (PKCS#8 PEM, encrypted when a passphrase was given) and its certificate (PEM).
pub struct GeneratedKey {
    pub key_pem: Zeroizing<String>,
    pub cert_pem: String,
}

/// Generate a key and a self-signed certificate valid from now for `request.days` days.
pub fn keygen(request: &KeygenRequest) -> Result<GeneratedKey> {
    keygen_at(request, SystemTime::now())
}

/// [`keygen`] with the certificate's start time given.
pub fn keygen_at(request: &KeygenRequest, now: SystemTime) -> Result<GeneratedKey> {
    if ![2048, 3072, 4096].contains(&request.bits) {
        return Err(Error::usage(format!(
            "--bits must be 2048, 3072 or 4096, not {}",
            request.bits
        )));
    }
    if request.days == 0 {
        return Err(Error::usage("--days must be at least 1"));
    }
    let email = request.email.trim();
    check_email(email)?;
    let common_name = match &request.name {
        Some(name) => name.trim(),
        None => email,
    };
    check_common_name(common_name, request.name.is_some())?;

    let key = PrivateKey::new(&mut getrandom::SysRng, request.bits).map_err(|_| {
        Error::io("cannot generate an RSA key: the system's random number generator failed")
    })?;
    let cert_pem = self_signed_certificate(&key, email, common_name, request.days, now)?;
    let key_pem = match &request.passphrase {
        None => key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| Error::io("cannot write the new private key as PEM"))?,
        Some(passphrase) => encrypted_pkcs8_pem(&key, passphrase)?,
    };
    Ok(GeneratedKey { key_pem, cert_pem })
}

/// Only addresses a certificate can carry: rfc822Name and emailAddress are IA5String (ASCII).
fn check_email(email: &str) -> Result<()> {
    let bad = |why: &str| Error::usage(format!("--email '{email}': {why}"));
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad("not an email address (no @)"));
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return Err(bad("not an email address"));
    }
    if !email.is_ascii()
        || email
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(bad(
            "certificates carry only ASCII addresses without spaces",
        ));
    }
    if email.len() > UB_EMAIL_ADDRESS {
        return Err(bad("longer than 255 characters"));
    }
    Ok(())
}

fn check_common_name(name: &str, given: bool) -> Result<()> {
    let flag = if given {
        "--name"
    } else {
        "--email (used as the name)"
    };
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "{flag} must be a non-empty line of text"
        )));
    }
    if name.chars().count() > UB_COMMON_NAME {
        return Err(
            Error::usage(format!("{flag} is longer than {UB_COMMON_NAME} characters"))
                .with_hint("give a shorter --name"),
        );
    }
    Ok(())
}

/// The PKCS#8 key encrypted with PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 at pkcs5's default
/// iteration count (600,000, OWASP) and AES-256-CBC — what `openssl pkcs8 -topk8 -v2 aes-256-cbc`
/// writes, with more iterations; every PKCS#8 reader understands it.
fn encrypted_pkcs8_pem(key: &PrivateKey, passphrase: &str) -> Result<Zeroizing<String>> {
    let plain = key.to_pkcs8_der().map_err(|_| encrypt_failed())?;
    encrypted_pkcs8_der_pem(plain.as_bytes(), passphrase)
}

/// A PKCS#8 PrivateKeyInfo (DER) encrypted as [`encrypted_pkcs8_pem`] does, for every key kind.
pub(super) fn encrypted_pkcs8_der_pem(der: &[u8], passphrase: &str) -> Result<Zeroizing<String>> {
    let fail = |_: &dyn std::fmt::Display| encrypt_failed();
    let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| fail(&e))?;
    let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2(&mut getrandom::SysRng)
        .map_err(|e| fail(&e))?;
    let encrypted = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| fail(&e))?;
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| fail(&e))
}

/// The steps fail only when the random number generator does or an encoding overflows; the
/// libraries' own texts would say nothing more to the user.
fn encrypt_failed() -> Error {
    Error::io(
        "cannot encrypt the private key with the passphrase (an encoding or random number step failed)",
    )
}

/// A private key of any kind as PKCS#8 PEM: encrypted as keygen encrypts it when a passphrase is
/// given, plain otherwise (`import` stores keys this way).
pub fn private_key_pem(key: &IdentityKey, passphrase: Option<&str>) -> Result<Zeroizing<String>> {
    match passphrase {
        Some(passphrase) => encrypted_pkcs8_der_pem(key.to_pkcs8_der()?.as_slice(), passphrase),
        None => key.to_pkcs8_pem(),
    }
}

/// The certificate's subject (CN=..., emailAddress=...) and its issuer: the subject itself for
/// keygen's self-signed certificates, the issuer certificate's subject otherwise.
struct Profile {
    subject: Name,
    issuer: Option<Name>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        // The extensions are added on the builder, where their errors are ours to map.
        Ok(Vec::new())
    }
}

/// Building a certificate fails only when an encoding or signing step does, or the RNG: the
/// libraries' own texts would say nothing more to the user.
fn build_failed(_: &dyn std::fmt::Display) -> Error {
    Error::io("cannot build the certificate (an encoding or signing step failed)")
}

/// What goes into an end-entity S/MIME certificate, self-signed or issued.
struct EndEntity<'a> {
    email: &'a str,
    common_name: &'a str,
    spki: SubjectPublicKeyInfoOwned,
    /// The subjectKeyIdentifier (SHA-1 of the public key bits, RFC 5280 §4.2.1.2 method 1).
    ski: Vec<u8>,
    key_usage: KeyUsage,
    validity: Validity,
}

/// The issuer of a certificate that is not self-signed: its name and subjectKeyIdentifier (for
/// the new certificate's authorityKeyIdentifier).
struct IssuerName {
    name: Name,
    key_id: Option<Vec<u8>>,
}

/// From now for `days` days, cut at `not_after` (an issued certificate ends no later than its
/// issuer's, or no chain would validate).
fn validity(days: u32, now: SystemTime, not_after: Option<SystemTime>) -> Result<Validity> {
    let start = now
        .duration_since(UNIX_EPOCH)
        .map_err(|e| build_failed(&e))?;
    let start = UNIX_EPOCH + Duration::from_secs(start.as_secs());
    let mut end = start + Duration::from_secs(u64::from(days) * 86_400);
    if let Some(limit) = not_after {
        end = end.min(limit);
    }
    Ok(Validity::new(
        Time::try_from(start).map_err(|e| build_failed(&e))?,
        Time::try_from(end)
            .map_err(|_| Error::usage(format!("--days {days} ends after the year 9999")))?,
    ))
}

/// The to-be-signed certificate: v3, a random serial, subjectAltName rfc822Name,
/// keyUsage (critical), extendedKeyUsage emailProtection, basicConstraints CA:FALSE,
/// subjectKeyIdentifier, authorityKeyIdentifier when issued, and SMIMECapabilities (RFC 4262:
/// what this key's owner reads — sealmail reads all of it — so that senders choose the AEADs
/// and OAEP).
fn certificate_builder(
    ee: EndEntity<'_>,
    issuer: Option<IssuerName>,
) -> Result<CertificateBuilder<Profile>> {
    let fail = build_failed;
    let subject = subject_name(ee.email, ee.common_name).map_err(|e| fail(&e))?;

    // RFC 5280 §4.1.2.2: positive, at most 20 octets. 16 random octets with the top bit clear
    // and the next one set: always positive, always exactly 16 octets.
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| fail(&e))?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let serial = SerialNumber::new(&serial).map_err(|e| fail(&e))?;

    let authority_key_id = issuer.as_ref().and_then(|i| i.key_id.clone());
    let profile = Profile {
        subject,
        issuer: issuer.map(|i| i.name),
    };
    let mut builder =
        CertificateBuilder::new(profile, serial, ee.validity, ee.spki).map_err(|e| fail(&e))?;
    let mut extensions = vec![
        ext(
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
            true,
        ),
        ext(&ee.key_usage, true),
        ext(
            &ExtendedKeyUsage(vec![parse::ID_KP_EMAIL_PROTECTION]),
            false,
        ),
        Ia5String::new(ee.email)
            .and_then(|addr| ext(&SubjectAltName(vec![GeneralName::Rfc822Name(addr)]), false)),
        OctetString::new(ee.ski).and_then(|ski| ext(&SubjectKeyIdentifier(ski), false)),
    ];
    if let Some(key_id) = authority_key_id {
        extensions.push(OctetString::new(key_id).and_then(|key_id| {
            ext(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_id),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )
        }));
    }
    for extension in extensions {
        builder
            .add_extension(extension.map_err(|e| fail(&e))?)
            .map_err(|e| fail(&e))?;
    }
    let capabilities = Extension {
        extn_id: crate::cms::oid::SMIME_CAPABILITIES,
        critical: false,
        extn_value: OctetString::new(crate::cms::Capabilities::all().to_der()?)
            .map_err(|e| fail(&e))?,
    };
    builder.add_extension(capabilities).map_err(|e| fail(&e))?;
    Ok(builder)
}

fn self_signed_certificate(
    key: &PrivateKey,
    email: &str,
    common_name: &str,
    days: u32,
    now: SystemTime,
) -> Result<String> {
    let fail = build_failed;
    let public_key = key.to_public_key();
    let spki = {
        use pkcs8::EncodePublicKey;
        let der = public_key.to_public_key_der().map_err(|e| fail(&e))?;
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(|e| fail(&e))?
    };
    let builder = certificate_builder(
        EndEntity {
            email,
            common_name,
            spki,
            ski: subject_key_identifier(&public_key)?,
            key_usage: KeyUsage(KeyUsages::KeyEncipherment | KeyUsages::DigitalSignature),
            validity: validity(days, now, None)?,
        },
        None,
    )?;
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let cert = builder
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .map_err(|e| fail(&e))?;
    cert.to_pem(LineEnding::LF).map_err(|e| fail(&e))
}

/// What `keygen --issuer-key/--issuer-cert` needs to make a certificate for a new key.
pub struct CertificateRequest<'a> {
    pub email: &'a str,
    /// The common name; the address when absent.
    pub name: Option<&'a str>,
    pub days: u32,
    /// The new key's SubjectPublicKeyInfo (DER).
    pub spki_der: &'a [u8],
    /// The issuing key (RSA, or ECDSA P-256/P-384) and its certificate.
    pub issuer_key: &'a super::Identity,
    pub issuer_cert: &'a x509_cert::Certificate,
}

/// A certificate for a new key (of any kind sealmail makes) issued by the given key and
/// certificate, so that a key-agreement or KEM key — which cannot sign its own — can sit in a
/// keyring and be chosen by address like any other. keyUsage follows the key: keyAgreement for
/// ECDH and X25519 (RFC 8550 §4.4.2, RFC 8410 §5), keyEncipherment for RSA and ML-KEM
/// (RFC 9935 §5). The certificate ends no later than its issuer's.
pub fn issued_certificate(request: &CertificateRequest<'_>, now: SystemTime) -> Result<String> {
    use super::{IdentityKey, RecipientKey};
    let fail = build_failed;
    let email = request.email.trim();
    check_email(email)?;
    let common_name = request.name.map_or(email, str::trim);
    check_common_name(common_name, request.name.is_some())?;
    if request.days == 0 {
        return Err(Error::usage("--days must be at least 1"));
    }

    if matches!(
        request.issuer_key.key,
        IdentityKey::X25519(_) | IdentityKey::MlKem(_)
    ) {
        return Err(cannot_issue(request));
    }
    let issuer_tbs = request.issuer_cert.tbs_certificate();
    let issuer_key_bits = RecipientKey::from_spki(issuer_tbs.subject_public_key_info())
        .ok()
        .and_then(|k| k.public_key_bits().ok());
    if issuer_key_bits.is_none()
        || issuer_key_bits != request.issuer_key.key.public().public_key_bits().ok()
    {
        return Err(Error::config(format!(
            "the issuer key in {} is not the key of the issuer certificate",
            request.issuer_key.source
        ))
        .with_hint("give --issuer-key and --issuer-cert of the same issuer"));
    }
    let issuer_key_id = issuer_tbs
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, ski)| ski.0.as_bytes().to_vec());
    let issuer_not_after = issuer_tbs.validity().not_after.to_system_time();

    let spki = SubjectPublicKeyInfoOwned::from_der(request.spki_der).map_err(|e| fail(&e))?;
    let key = RecipientKey::from_spki(&spki).map_err(Error::config)?;
    let key_usage = match key {
        // An RSA key may sign its owner's mail too, as keygen's self-signed ones do.
        RecipientKey::Rsa(_) => KeyUsage(KeyUsages::KeyEncipherment | KeyUsages::DigitalSignature),
        RecipientKey::MlKem(_) => KeyUsage(KeyUsages::KeyEncipherment.into()),
        RecipientKey::Ec(_) | RecipientKey::X25519(_) => KeyUsage(KeyUsages::KeyAgreement.into()),
    };
    let builder = certificate_builder(
        EndEntity {
            email,
            common_name,
            spki,
            ski: <sha1::Sha1 as sha2::Digest>::digest(key.public_key_bits()?).to_vec(),
            key_usage,
            validity: validity(request.days, now, Some(issuer_not_after))?,
        },
        Some(IssuerName {
            name: issuer_tbs.subject().clone(),
            key_id: issuer_key_id,
        }),
    )?;
    let cert = match &request.issuer_key.key {
        IdentityKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
            builder.build::<_, rsa::pkcs1v15::Signature>(&signer)
        }
        IdentityKey::Ec(super::ec::EcPrivateKey::P256(k)) => {
            let signer = p256::ecdsa::SigningKey::from(k);
            builder.build::<_, p256::ecdsa::DerSignature>(&signer)
        }
        IdentityKey::Ec(super::ec::EcPrivateKey::P384(k)) => {
            let signer = p384::ecdsa::SigningKey::from(k);
            builder.build::<_, p384::ecdsa::DerSignature>(&signer)
        }
        IdentityKey::X25519(_) | IdentityKey::MlKem(_) => return Err(cannot_issue(request)),
    }
    .map_err(|e| fail(&e))?;
    cert.to_pem(LineEnding::LF).map_err(|e| fail(&e))
}

/// An issuer key of a kind that cannot sign (key agreement, KEM): 78.
fn cannot_issue(request: &CertificateRequest<'_>) -> Error {
    Error::config(format!(
        "the issuer key in {} ({}) cannot sign certificates",
        request.issuer_key.source,
        request.issuer_key.kind()
    ))
    .with_hint("give an RSA or EC (P-256, P-384) issuer key")
}

/// An extension with the criticality we choose (RFC 5280 §4.2: keyUsage SHOULD be critical;
/// basicConstraints MAY be either in an end-entity certificate).
fn ext<T: der::Encode + x509_cert::der::oid::AssociatedOid>(
    value: &T,
    critical: bool,
) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// `CN=<common name>, emailAddress=<email>` (UTF8String and IA5String, RFC 5280 §4.1.2.6).
fn subject_name(email: &str, common_name: &str) -> der::Result<Name> {
    let rdn = |oid, tag, value: &str| -> der::Result<RelativeDistinguishedName> {
        let atv = AttributeTypeAndValue {
            oid,
            value: Any::new(tag, value.as_bytes())?,
        };
        RelativeDistinguishedName::try_from(vec![atv])
    };
    let rdns = RdnSequence::from(vec![
        rdn(ID_AT_COMMON_NAME, Tag::Utf8String, common_name)?,
        rdn(ID_EMAIL_ADDRESS, Tag::Ia5String, email)?,
    ]);
    // Name's inner RdnSequence is crate-private in x509-cert; DER is the public road between them.
    Name::from_der(&rdns.to_der()?)
}
