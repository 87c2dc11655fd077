//! Keys: recipients' certificates and public keys, identities' private keys, the keyring,
//! RSA-OAEP key transport, and `keygen`.
//!
//! STUB: interface only; being written.

use crate::error::Result;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
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

/// The OAEP parameters of one KeyTransRecipientInfo (label always empty: pSource default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OaepParams {
    pub hash: OaepHash,
    pub mgf_hash: OaepHash,
}

/// Someone a message is encrypted to.
#[derive(Clone)]
pub struct Recipient {
    /// issuerAndSerialNumber for a certificate, subjectKeyIdentifier for a bare key.
    pub id: RecipientIdentifier,
    pub public_key: rsa::RsaPublicKey,
    /// Where it came from, for messages: a file path or an email address.
    pub source: String,
}

impl Recipient {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label.
    pub fn wrap(&self, session_key: &[u8]) -> Result<Vec<u8>> {
        let _ = session_key;
        todo!()
    }
}

/// Read a `-r` file: certificate(s) PEM/DER, SPKI PEM/DER, PKCS#1 public key PEM.
pub fn load_recipient_file(path: &Path, now: SystemTime) -> Result<Vec<Recipient>> {
    let _ = (path, now);
    todo!()
}

/// Read a `-R` file: one recipient (path or address) per line; `#` comments, blanks ignored.
pub fn read_recipients_list(path: &Path) -> Result<Vec<String>> {
    let _ = path;
    todo!()
}

/// A private key that may be able to decrypt. Zeroized on drop.
pub struct Identity {
    pub ids: Vec<RecipientIdentifier>,
    pub source: String,
}

impl Identity {
    pub fn matches(&self, rid: &RecipientIdentifier) -> bool {
        self.ids.contains(rid)
    }
    pub fn unwrap_key(
        &self,
        encrypted_key: &[u8],
        params: OaepParams,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let _ = (encrypted_key, params);
        todo!()
    }
}

/// Where a key passphrase comes from when a key file is encrypted.
pub trait PassphraseSource {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>>;
}

pub fn load_identity_file(
    path: &Path,
    passphrase: &mut dyn PassphraseSource,
) -> Result<Vec<Identity>> {
    let _ = (path, passphrase);
    todo!()
}

/// Plain words for a RecipientIdentifier, for `inspect` and error messages.
pub fn describe_recipient_id(rid: &RecipientIdentifier) -> String {
    let _ = rid;
    todo!()
}

/// A directory of certificates found by their email addresses.
pub struct Keyring {
    pub dir: PathBuf,
}

pub struct KeygenRequest {
    pub email: String,
    pub name: Option<String>,
    pub bits: usize,
    pub days: u32,
    pub passphrase: Option<Zeroizing<String>>,
}

pub struct GeneratedKey {
    pub key_pem: Zeroizing<String>,
    pub cert_pem: String,
}

pub fn keygen(request: &KeygenRequest) -> Result<GeneratedKey> {
    let _ = request;
    todo!()
}

impl Keyring {
    pub fn lookup(&self, email: &str, now: SystemTime) -> Result<(Recipient, Vec<String>)> {
        let _ = (email, now);
        todo!()
    }
}

pub fn default_keyring_dir() -> Option<PathBuf> {
    todo!()
}

pub fn default_identity_paths() -> Vec<PathBuf> {
    todo!()
}
