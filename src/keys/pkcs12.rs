//! PKCS #12 (RFC 7292) files, the `.p12`/`.pfx` that CAs, Thunderbird, Outlook and macOS hand out:
//! reading the private keys and certificates from one, and writing one for a key and its
//! certificate chain.
//!
//! Reading checks the MAC before anything in the file is used, then opens what it protects:
//! PBES2 (PBKDF2 + AES-CBC, what openssl 3 and NSS write) through the `pkcs5` crate, and the
//! RFC 7292 Appendix C PBEs (3DES, 40- and 128-bit RC2, what Windows and macOS still write)
//! through [`kdf`]. Key bags come back as PKCS #8 DER for `keys` to turn into identities; this
//! module does not know what an identity is and never touches files. Public-key privacy and
//! integrity modes (envelopedData contents, signedData authSafe) are refused as unsupported.
//!
//! Writing makes what `openssl pkcs12 -export` makes by default (PBES2 with PBKDF2-HMAC-SHA256
//! and AES-256-CBC for the key and the certificates, HMAC-SHA-256 MAC), or with `legacy` the
//! 3DES / HMAC-SHA-1 file that older Outlook and macOS import.

mod asn1;
mod kdf;

use asn1::{
    CERT_BAG, CertBag, DigestInfo, EncryptedPrivateKeyInfo, FRIENDLY_NAME, ID_DATA,
    ID_ENCRYPTED_DATA, KEY_BAG, LOCAL_KEY_ID, MacData, Pfx, Pkcs12PbeParams, SAFE_CONTENTS_BAG,
    SHROUDED_KEY_BAG, SafeBag, X509_CERTIFICATE,
};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::encrypted_data::EncryptedData;
use cms::enveloped_data::EncryptedContentInfo;
use der::asn1::{Any, BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use hmac::{KeyInit, Mac};
use kdf::{LegacyPbe, Purpose};
use sha2::digest::Digest;
use sha2::digest::block_api::BlockSizeUser;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use zeroize::Zeroizing;

/// Limits on what a hostile file can make us do (SECURITY.md, "Limits on hostile input").
pub(crate) mod limits {
    /// Largest PKCS #12 file read.
    pub const MAX_FILE: usize = 1 << 20;
    /// Most iterations one key derivation may ask for. NSS writes 600,000 for PBKDF2 and the
    /// MAC; openssl 2,048.
    pub const MAX_ITERATIONS: u32 = 4_000_000;
    /// Most iterations all the derivations of one file may ask for together.
    pub const MAX_TOTAL_ITERATIONS: u64 = 8_000_000;
    /// Most safe bags read from one file, at every nesting level together.
    pub const MAX_BAGS: usize = 256;
    /// Deepest nesting of safeContentsBags.
    pub const MAX_NESTING: usize = 4;
}

/// What a PKCS #12 file holds that sealmail uses.
pub(crate) struct Opened {
    /// Every private key, as PKCS #8 PrivateKeyInfo DER.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Every X.509 certificate, in file order.
    pub certs: Vec<Certificate>,
}

/// Why a PKCS #12 file could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The MAC does not verify with this passphrase.
    WrongPassphrase,
    /// The file is not well-formed PKCS #12.
    Malformed(String),
    /// Well-formed, but uses something sealmail does not read.
    Unsupported(String),
    /// Asks for more work or holds more than [`limits`] allow.
    TooCostly(String),
}

fn malformed(what: &str) -> impl Fn(der::Error) -> Refusal + '_ {
    move |_| Refusal::Malformed(what.to_string())
}

/// Whether `bytes` are a PKCS #12 PFX (DER or BER), whatever the file is called.
pub(crate) fn is_pfx(bytes: &[u8]) -> bool {
    bytes.len() <= limits::MAX_FILE && Pfx::from_ber(bytes).is_ok_and(|pfx| pfx.version == 3)
}

/// Verify the MAC with `passphrase`, then read every key and certificate.
pub(crate) fn open(bytes: &[u8], passphrase: &str) -> Result<Opened, Refusal> {
    if bytes.len() > limits::MAX_FILE {
        return Err(Refusal::TooCostly(format!(
            "the file is larger than {} bytes",
            limits::MAX_FILE
        )));
    }
    let pfx = Pfx::from_ber(bytes).map_err(malformed("not a PKCS#12 PFX structure"))?;
    if pfx.version != 3 {
        return Err(Refusal::Unsupported(format!(
            "PKCS#12 version {} (only version 3 exists)",
            pfx.version
        )));
    }
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(Refusal::Unsupported(
            "a public-key integrity mode (signed PFX)".into(),
        ));
    }
    let auth_safe = asn1::octets(&pfx.auth_safe.content)
        .map_err(malformed("the authenticated safe is not an OCTET STRING"))?;
    let mac = pfx.mac_data.ok_or_else(|| {
        Refusal::Unsupported("a file without a MAC (its integrity cannot be checked)".into())
    })?;

    let mut work = Work::default();
    let password = Password::verified(&mac, &auth_safe, passphrase, &mut work)?;

    let contents = Vec::<ContentInfo>::from_ber(&auth_safe)
        .map_err(malformed("the authenticated safe is malformed"))?;
    let mut opened = Opened {
        keys: Vec::new(),
        certs: Vec::new(),
    };
    let mut reader = BagReader {
        password: &password,
        work: &mut work,
        bags: 0,
    };
    for content in &contents {
        let safe_contents = match content.content_type {
            ID_DATA => asn1::octets(&content.content)
                .map_err(malformed("a data content is not an OCTET STRING"))?,
            ID_ENCRYPTED_DATA => reader.decrypt_content(&content.content)?,
            other => {
                return Err(Refusal::Unsupported(format!(
                    "content of type {other} (public-key privacy mode)"
                )));
            }
        };
        reader.read_safe_contents(&safe_contents, 0, &mut opened)?;
    }
    Ok(opened)
}

/// The iterations spent so far on one file, against [`limits::MAX_TOTAL_ITERATIONS`].
#[derive(Default)]
struct Work {
    iterations: u64,
}

impl Work {
    fn spend(&mut self, iterations: u32) -> Result<(), Refusal> {
        if iterations == 0 {
            return Err(Refusal::Malformed("an iteration count of 0".into()));
        }
        if iterations > limits::MAX_ITERATIONS {
            return Err(Refusal::TooCostly(format!(
                "an iteration count of {iterations} (at most {} are accepted)",
                limits::MAX_ITERATIONS
            )));
        }
        self.iterations += u64::from(iterations);
        if self.iterations > limits::MAX_TOTAL_ITERATIONS {
            return Err(Refusal::TooCostly(format!(
                "more than {} key-derivation iterations in all",
                limits::MAX_TOTAL_ITERATIONS
            )));
        }
        Ok(())
    }
}

/// The passphrase in the forms PKCS #12 uses: as a BMPString for the MAC and the legacy PBEs,
/// as UTF-8 for PBES2 (what openssl and NSS both do).
struct Password {
    bmp: Zeroizing<Vec<u8>>,
    utf8: Zeroizing<Vec<u8>>,
}

impl Password {
    /// The passphrase, once the MAC over `auth_safe` verifies with it.
    ///
    /// An empty passphrase has two encodings in the wild (the two terminating zero octets, or
    /// nothing at all, RFC 7292 Appendix B.1's note); both are tried.
    fn verified(
        mac: &MacData,
        auth_safe: &[u8],
        passphrase: &str,
        work: &mut Work,
    ) -> Result<Password, Refusal> {
        let bmp = kdf::bmp_password(passphrase).ok_or_else(|| {
            Refusal::Unsupported(
                "a passphrase with characters outside Unicode's Basic Multilingual Plane".into(),
            )
        })?;
        let mut candidates = vec![bmp];
        if passphrase.is_empty() {
            candidates.push(Zeroizing::new(Vec::new()));
        }
        for bmp in candidates {
            if verify_mac(mac, auth_safe, &bmp, work)? {
                return Ok(Password {
                    bmp,
                    utf8: Zeroizing::new(passphrase.as_bytes().to_vec()),
                });
            }
        }
        Err(Refusal::WrongPassphrase)
    }
}

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// RFC 7292 §5.1: HMAC with the named hash, keyed by the Appendix B derivation (ID 3) of the
/// password and macSalt. The comparison is constant-time (`Mac::verify_slice`).
fn verify_mac(
    mac: &MacData,
    auth_safe: &[u8],
    password: &[u8],
    work: &mut Work,
) -> Result<bool, Refusal> {
    work.spend(mac.iterations)?;
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let ok = match mac.mac.algorithm.oid {
        SHA1 => hmac_verify::<sha1::Sha1>(password, salt, mac.iterations, auth_safe, expected),
        SHA256 => hmac_verify::<sha2::Sha256>(password, salt, mac.iterations, auth_safe, expected),
        SHA384 => hmac_verify::<sha2::Sha384>(password, salt, mac.iterations, auth_safe, expected),
        SHA512 => hmac_verify::<sha2::Sha512>(password, salt, mac.iterations, auth_safe, expected),
        other => {
            return Err(Refusal::Unsupported(format!("a MAC with the hash {other}")));
        }
    };
    Ok(ok)
}

/// The PFX's HMAC keyed the way RFC 7292 appendix B derives a MAC key from the password, as
/// both reading (verify) and writing (compute) need it.
fn keyed_mac<D>(password: &[u8], salt: &[u8], iterations: u32) -> Option<hmac::Hmac<D>>
where
    D: Digest + BlockSizeUser + hmac::digest::block_api::EagerHash,
{
    let key = kdf::derive::<D>(
        Purpose::Mac,
        password,
        salt,
        iterations,
        <D as Digest>::output_size(),
    );
    <hmac::Hmac<D> as KeyInit>::new_from_slice(&key).ok()
}

fn hmac_verify<D>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    data: &[u8],
    expected: &[u8],
) -> bool
where
    D: Digest + BlockSizeUser + hmac::digest::block_api::EagerHash,
{
    let Some(mut mac) = keyed_mac::<D>(password, salt, iterations) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(expected).is_ok()
}

fn hmac_compute<D>(password: &[u8], salt: &[u8], iterations: u32, data: &[u8]) -> Option<Vec<u8>>
where
    D: Digest + BlockSizeUser + hmac::digest::block_api::EagerHash,
{
    let mut mac = keyed_mac::<D>(password, salt, iterations)?;
    mac.update(data);
    Some(mac.finalize().into_bytes().to_vec())
}

/// Walks SafeContents, decrypting what is encrypted, within [`limits`].
struct BagReader<'a> {
    password: &'a Password,
    work: &'a mut Work,
    bags: usize,
}

impl BagReader<'_> {
    /// An encryptedData content (RFC 7292 §4.1: password privacy mode) opened to its
    /// SafeContents.
    fn decrypt_content(&mut self, content: &Any) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        let encrypted: EncryptedData =
            asn1::reparse(content).map_err(malformed("an encryptedData content is malformed"))?;
        let info = encrypted.enc_content_info;
        let ciphertext = info
            .encrypted_content
            .ok_or_else(|| Refusal::Malformed("an encryptedData content is empty".into()))?;
        self.decrypt(&info.content_enc_alg, ciphertext.as_bytes())
    }

    /// Decrypt with a PBES2 or RFC 7292 Appendix C algorithm.
    fn decrypt(
        &mut self,
        algorithm: &AlgorithmIdentifierOwned,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        let params = algorithm.parameters.as_ref().ok_or_else(|| {
            Refusal::Malformed("an encryption algorithm has no parameters".into())
        })?;
        if let Some(pbe) = LegacyPbe::from_oid(algorithm.oid) {
            let params: Pkcs12PbeParams = params
                .decode_as()
                .map_err(malformed("PKCS#12 PBE parameters are malformed"))?;
            self.work.spend(params.iterations)?;
            // Key and IV are two derivations.
            self.work.spend(params.iterations)?;
            return pbe
                .decrypt(
                    &self.password.bmp,
                    params.salt.as_bytes(),
                    params.iterations,
                    ciphertext,
                )
                .ok_or_else(|| {
                    Refusal::Malformed(
                        "an encrypted part does not decrypt although the MAC verified".into(),
                    )
                });
        }
        if algorithm.oid != pkcs5::pbes2::PBES2_OID {
            return Err(Refusal::Unsupported(format!(
                "the encryption algorithm {}",
                algorithm.oid
            )));
        }
        let params = pkcs5::pbes2::Parameters::try_from(params.to_ref())
            .map_err(|_| Refusal::Unsupported("these PBES2 parameters".into()))?;
        let Some(pbkdf2) = params.kdf.pbkdf2() else {
            return Err(Refusal::Unsupported(
                "PBES2 with a key derivation other than PBKDF2".into(),
            ));
        };
        self.work.spend(pbkdf2.iteration_count)?;
        let scheme = pkcs5::EncryptionScheme::Pbes2(params.clone());
        match scheme.decrypt(&self.password.utf8[..], ciphertext) {
            Ok(plain) => Ok(Zeroizing::new(plain)),
            // Some writers feed PBES2 the BMPString form, as for the legacy PBEs.
            Err(_) => {
                self.work.spend(pbkdf2.iteration_count)?;
                scheme
                    .decrypt(&self.password.bmp[..], ciphertext)
                    .map(Zeroizing::new)
                    .map_err(|_| {
                        Refusal::Malformed(
                            "an encrypted part does not decrypt although the MAC verified".into(),
                        )
                    })
            }
        }
    }

    /// RFC 7292 §4.2: `SafeContents ::= SEQUENCE OF SafeBag`.
    fn read_safe_contents(
        &mut self,
        der: &[u8],
        depth: usize,
        opened: &mut Opened,
    ) -> Result<(), Refusal> {
        if depth > limits::MAX_NESTING {
            return Err(Refusal::TooCostly(format!(
                "safe contents nested more than {} deep",
                limits::MAX_NESTING
            )));
        }
        let bags =
            Vec::<SafeBag>::from_ber(der).map_err(malformed("a SafeContents is malformed"))?;
        for bag in &bags {
            self.bags += 1;
            if self.bags > limits::MAX_BAGS {
                return Err(Refusal::TooCostly(format!(
                    "more than {} bags",
                    limits::MAX_BAGS
                )));
            }
            match bag.bag_id {
                KEY_BAG => {
                    // A plain PrivateKeyInfo; DER again so `keys` can read it.
                    let key: Zeroizing<Vec<u8>> = Zeroizing::new(
                        bag.bag_value
                            .to_der()
                            .map_err(malformed("a key bag is malformed"))?,
                    );
                    opened.keys.push(key);
                }
                SHROUDED_KEY_BAG => {
                    let info: EncryptedPrivateKeyInfo = asn1::reparse(&bag.bag_value)
                        .map_err(malformed("a shrouded key bag is malformed"))?;
                    let key =
                        self.decrypt(&info.encryption_algorithm, info.encrypted_data.as_bytes())?;
                    opened.keys.push(key);
                }
                CERT_BAG => {
                    let cert_bag: CertBag = asn1::reparse(&bag.bag_value)
                        .map_err(malformed("a certificate bag is malformed"))?;
                    // sdsiCertificate and other kinds are not X.509: nothing for sealmail.
                    if cert_bag.cert_id == X509_CERTIFICATE {
                        let der = asn1::octets(&cert_bag.cert_value)
                            .map_err(malformed("a certificate bag is malformed"))?;
                        let cert = Certificate::from_der(&der)
                            .map_err(malformed("a certificate bag holds no valid certificate"))?;
                        opened.certs.push(cert);
                    }
                }
                SAFE_CONTENTS_BAG => {
                    let inner = bag
                        .bag_value
                        .to_der()
                        .map_err(malformed("a nested safe contents is malformed"))?;
                    self.read_safe_contents(&inner, depth + 1, opened)?;
                }
                // CRLs and secrets: nothing sealmail uses.
                _ => {}
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// writing

/// The protection of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC; HMAC-SHA-256 MAC (openssl 3's default).
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the certificates; HMAC-SHA-1 MAC.
    Legacy,
}

/// Iterations of every derivation in a written file: what NSS writes and OWASP recommends for
/// PBKDF2-HMAC-SHA256.
const WRITE_ITERATIONS: u32 = 600_000;

/// What goes into a new file.
pub(crate) struct Contents<'a> {
    /// The private key, PKCS #8 PrivateKeyInfo DER.
    pub key: &'a [u8],
    /// The key's certificate first, then its chain.
    pub certs: &'a [Certificate],
    /// friendlyName of the key and its certificate: the name a mail client lists.
    pub name: Option<&'a str>,
}

/// A DER PKCS #12 file holding `contents`, protected with `passphrase`.
///
/// The layout is openssl's: one encryptedData content with the certificate bags, one data
/// content with the key in a pkcs8ShroudedKeyBag; the key and its certificate carry the same
/// localKeyId (the certificate's SHA-1) so importers pair them.
pub(crate) fn build(
    contents: &Contents<'_>,
    passphrase: &str,
    protection: Protection,
) -> Result<Vec<u8>, String> {
    let fail = encode_failed;
    let bmp = kdf::bmp_password(passphrase).ok_or_else(|| {
        "the passphrase has characters outside Unicode's Basic Multilingual Plane".to_string()
    })?;
    let password = Password {
        bmp,
        utf8: Zeroizing::new(passphrase.as_bytes().to_vec()),
    };

    let key_id = match contents.certs.first() {
        Some(cert) => {
            let der = cert.to_der().map_err(fail("certificate"))?;
            Some(sha1::Sha1::digest(&der).to_vec())
        }
        None => None,
    };
    let attributes = |with_id: bool| -> Result<Option<Any>, String> {
        let mut set = SetOfVec::new();
        if let Some(name) = contents.name {
            let value = BmpString::from_utf8(name).map_err(fail("friendly name"))?;
            set.insert(attribute(FRIENDLY_NAME, &value).map_err(fail("friendly name"))?)
                .map_err(fail("attributes"))?;
        }
        if let (true, Some(id)) = (with_id, &key_id) {
            let value = OctetString::new(id.clone()).map_err(fail("local key id"))?;
            set.insert(attribute(LOCAL_KEY_ID, &value).map_err(fail("local key id"))?)
                .map_err(fail("attributes"))?;
        }
        if set.is_empty() {
            return Ok(None);
        }
        Any::encode_from(&set).map(Some).map_err(fail("attributes"))
    };

    // The certificates, in an encrypted SafeContents.
    let mut cert_bags = Vec::new();
    for (i, cert) in contents.certs.iter().enumerate() {
        let der = cert.to_der().map_err(fail("certificate"))?;
        let cert_bag = CertBag {
            cert_id: X509_CERTIFICATE,
            cert_value: Any::encode_from(&OctetString::new(der).map_err(fail("certificate"))?)
                .map_err(fail("certificate"))?,
        };
        cert_bags.push(SafeBag {
            bag_id: CERT_BAG,
            bag_value: Any::encode_from(&cert_bag).map_err(fail("certificate bag"))?,
            bag_attributes: if i == 0 { attributes(true)? } else { None },
        });
    }
    let cert_safe = Zeroizing::new(cert_bags.to_der().map_err(fail("certificate bags"))?);
    let (algorithm, ciphertext) = encrypt(&password, &cert_safe, protection)?;
    let encrypted = EncryptedData {
        version: CmsVersion::V0,
        enc_content_info: EncryptedContentInfo {
            content_type: ID_DATA,
            content_enc_alg: algorithm,
            encrypted_content: Some(OctetString::new(ciphertext).map_err(fail("certificates"))?),
        },
        unprotected_attrs: None,
    };

    // The key, shrouded, in a plain SafeContents.
    let (algorithm, ciphertext) = encrypt(&password, contents.key, protection)?;
    let shrouded = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm,
        encrypted_data: OctetString::new(ciphertext).map_err(fail("key"))?,
    };
    let key_bag = SafeBag {
        bag_id: SHROUDED_KEY_BAG,
        bag_value: Any::encode_from(&shrouded).map_err(fail("key bag"))?,
        bag_attributes: attributes(true)?,
    };
    let key_safe = vec![key_bag].to_der().map_err(fail("key bag"))?;

    let auth_safe = vec![
        ContentInfo {
            content_type: ID_ENCRYPTED_DATA,
            content: Any::encode_from(&encrypted).map_err(fail("encrypted data"))?,
        },
        ContentInfo {
            content_type: ID_DATA,
            content: Any::encode_from(&OctetString::new(key_safe).map_err(fail("key"))?)
                .map_err(fail("key"))?,
        },
    ]
    .to_der()
    .map_err(fail("authenticated safe"))?;

    let salt = random(16)?;
    let (digest_oid, mac) = match protection {
        Protection::Modern => (
            SHA256,
            hmac_compute::<sha2::Sha256>(&password.bmp, &salt, WRITE_ITERATIONS, &auth_safe),
        ),
        Protection::Legacy => (
            SHA1,
            hmac_compute::<sha1::Sha1>(&password.bmp, &salt, WRITE_ITERATIONS, &auth_safe),
        ),
    };
    let mac = mac.ok_or("cannot compute the PKCS#12 MAC")?;
    let pfx = Pfx {
        version: 3,
        auth_safe: ContentInfo {
            content_type: ID_DATA,
            content: Any::encode_from(&OctetString::new(auth_safe).map_err(fail("content"))?)
                .map_err(fail("content"))?,
        },
        mac_data: Some(MacData {
            mac: DigestInfo {
                algorithm: AlgorithmIdentifierOwned {
                    oid: digest_oid,
                    parameters: Some(Any::null()),
                },
                digest: OctetString::new(mac).map_err(fail("MAC"))?,
            },
            mac_salt: OctetString::new(salt).map_err(fail("MAC"))?,
            iterations: WRITE_ITERATIONS,
        }),
    };
    pfx.to_der().map_err(fail("PFX"))
}

/// A PKCS#12 file (DER) for `key`, its certificate `cert` and the CA certificates `chain`,
/// protected with `passphrase`. The friendlyName mail clients list is the certificate's first
/// email address.
pub fn export(
    key: &super::IdentityKey,
    cert: &Certificate,
    chain: &[Certificate],
    passphrase: &str,
    protection: Protection,
) -> crate::Result<Vec<u8>> {
    if !super::certificate_is_for(cert, &key.public()) {
        return Err(crate::Error::config(format!(
            "the certificate of {} is not for this key",
            cert.tbs_certificate().subject()
        ))
        .with_hint("give the key's own certificate with --cert"));
    }
    let der = key.to_pkcs8_der()?;
    let mut certs = vec![cert.clone()];
    certs.extend(chain.iter().filter(|c| *c != cert).cloned());
    let name = super::parse::certificate_emails(cert).into_iter().next();
    let contents = Contents {
        key: der.as_slice(),
        certs: &certs,
        name: name.as_deref(),
    };
    build(&contents, passphrase, protection).map_err(crate::Error::io)
}

fn encode_failed(what: &'static str) -> impl Fn(der::Error) -> String {
    move |_| format!("cannot encode the PKCS#12 file ({what})")
}

fn attribute(
    oid: ObjectIdentifier,
    value: &(impl der::EncodeValue + der::Tagged),
) -> der::Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(Any::encode_from(value)?)?;
    Ok(Attribute { oid, values })
}

fn random(n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|_| "the system random number generator failed".to_string())?;
    Ok(bytes)
}

/// Encrypt one part of a new file; returns its AlgorithmIdentifier and ciphertext.
fn encrypt(
    password: &Password,
    plaintext: &[u8],
    protection: Protection,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), String> {
    let fail = |_| "cannot encrypt the PKCS#12 contents".to_string();
    let failed = || "cannot encrypt the PKCS#12 contents".to_string();
    let salt = random(16)?;
    match protection {
        Protection::Modern => {
            let mut iv = [0u8; 16];
            iv.copy_from_slice(&random(16)?);
            let params = pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
                WRITE_ITERATIONS,
                &salt,
                iv,
            )
            .map_err(fail)?;
            let ciphertext = params
                .encrypt(&password.utf8[..], plaintext)
                .map_err(fail)?;
            let parameters = Any::encode_from(&params).map_err(|_| failed())?;
            Ok((
                AlgorithmIdentifierOwned {
                    oid: pkcs5::pbes2::PBES2_OID,
                    parameters: Some(parameters),
                },
                ciphertext,
            ))
        }
        Protection::Legacy => {
            let ciphertext =
                LegacyPbe::encrypt_3des(&password.bmp, &salt, WRITE_ITERATIONS, plaintext)
                    .ok_or_else(failed)?;
            let params = Pkcs12PbeParams {
                salt: OctetString::new(salt).map_err(|_| failed())?,
                iterations: WRITE_ITERATIONS,
            };
            Ok((
                AlgorithmIdentifierOwned {
                    oid: kdf::PBE_SHA1_3DES,
                    parameters: Some(Any::encode_from(&params).map_err(|_| failed())?),
                },
                ciphertext,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery staple";

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/pkcs12")
            .join(name);
        std::fs::read(&path).unwrap()
    }

    fn alice_cert() -> Certificate {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/alice.crt");
        Certificate::from_pem(std::fs::read(path).unwrap()).unwrap()
    }

    /// alice.key is PKCS#8 PEM, what openssl puts into a key bag.
    fn alice_pkcs8() -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/alice.key");
        der::pem::decode_vec(&std::fs::read(path).unwrap())
            .unwrap()
            .1
    }

    use der::DecodePem;

    /// openssl's default layout, its legacy PBEs and 128-bit RC2 all give alice's key (byte for
    /// byte the PKCS#8 openssl writes) and her certificate.
    #[test]
    fn openssl_files_open_to_alices_key_and_certificates() {
        for (name, certs) in [
            ("openssl-default.p12", 2),
            ("openssl-legacy.pfx", 2),
            ("openssl-3des-rc2-40.bin", 1),
            ("openssl-rc2-128.p12", 1),
        ] {
            let bytes = fixture(name);
            assert!(is_pfx(&bytes), "{name}");
            let opened = open(&bytes, PASS).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(opened.keys.len(), 1, "{name}");
            assert!(opened.keys[0][..] == alice_pkcs8()[..], "{name}");
            assert_eq!(opened.certs.len(), certs, "{name}");
            assert_eq!(opened.certs[0], alice_cert(), "{name}");
        }
    }

    #[test]
    fn a_wrong_passphrase_is_told_by_the_mac() {
        for name in ["openssl-default.p12", "openssl-legacy.pfx"] {
            assert_eq!(
                open(&fixture(name), "correct horse battery stapler").err(),
                Some(Refusal::WrongPassphrase),
                "{name}"
            );
        }
    }

    #[test]
    fn a_file_without_a_mac_is_refused() {
        let err = open(&fixture("openssl-nomac.p12"), PASS).err().unwrap();
        assert!(
            matches!(&err, Refusal::Unsupported(w) if w.contains("without a MAC")),
            "{err:?}"
        );
    }

    /// A flipped bit anywhere in what the MAC covers is caught before any bag is read.
    #[test]
    fn a_changed_byte_in_the_protected_content_fails_the_mac() {
        let mut pfx = Pfx::from_der(&fixture("openssl-default.p12")).unwrap();
        let mut content = asn1::octets(&pfx.auth_safe.content).unwrap().to_vec();
        let last = content.len() - 1;
        content[last] ^= 1;
        pfx.auth_safe.content = Any::encode_from(&OctetString::new(content).unwrap()).unwrap();
        assert_eq!(
            open(&pfx.to_der().unwrap(), PASS).err(),
            Some(Refusal::WrongPassphrase)
        );
    }

    #[test]
    fn absurd_iteration_counts_are_refused_before_any_work() {
        let mut pfx = Pfx::from_der(&fixture("openssl-default.p12")).unwrap();
        let mac = pfx.mac_data.as_mut().unwrap();
        mac.iterations = u32::MAX;
        let err = open(&pfx.to_der().unwrap(), PASS).err().unwrap();
        assert!(
            matches!(&err, Refusal::TooCostly(w) if w.contains("4294967295")),
            "{err:?}"
        );
        let mut work = Work::default();
        for _ in 0..2 {
            work.spend(limits::MAX_ITERATIONS).unwrap();
        }
        assert!(matches!(work.spend(1), Err(Refusal::TooCostly(_))));
        assert!(matches!(
            Work::default().spend(0),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = fixture("openssl-legacy.pfx");
        for n in 0..bytes.len() {
            assert!(open(&bytes[..n], PASS).is_err(), "{n}");
        }
        assert!(!is_pfx(b"not der"));
        assert!(!is_pfx(&alice_pkcs8()));
    }

    #[test]
    fn written_files_open_again_in_both_protections() {
        let cert = alice_cert();
        let contents = Contents {
            key: &alice_pkcs8(),
            certs: std::slice::from_ref(&cert),
            name: Some("alice@example.org"),
        };
        for protection in [Protection::Modern, Protection::Legacy] {
            let bytes = build(&contents, "pw", protection).unwrap();
            let opened = open(&bytes, "pw").unwrap();
            assert!(opened.keys[0][..] == alice_pkcs8()[..]);
            assert_eq!(opened.certs, vec![cert.clone()]);
            assert_eq!(open(&bytes, "pW").err(), Some(Refusal::WrongPassphrase));
        }
    }
}
