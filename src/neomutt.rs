//! `sealmail neomutt-index`: put certificates and private keys where neomutt's classic S/MIME
//! support looks for them, and write the `.index` lines it reads to find them.
//!
//! neomutt finds a recipient's certificate in `$smime_certificates/.index`, and the user's own key
//! in `$smime_keys/.index`: one line per address, fields separated by spaces,
//!
//! ```text
//! MAILBOX NAME LABEL ISSUER TRUST PURPOSE
//! alice@example.org 3f2a9c01.0 Alice_Liddell ? t es
//! ```
//!
//! where NAME is the file's name in that folder (neomutt passes `$smime_certificates/NAME` as
//! `%c` and `$smime_keys/NAME` as `%k`, and `smime_default_key` is a NAME), LABEL is one word,
//! ISSUER the NAME of the issuer's certificate or `?`, TRUST one of `t` (trusted: used without
//! asking), `v`, `u`, `e` (expired), `i` (invalid), `r`, and PURPOSE holds `e` when the
//! certificate may encrypt and `s` when it may sign (neomutt's `ncrypt/smime.c`,
//! `smime_parse_key`). neomutt's own `smime_keys` script writes these lines with openssl and
//! wants PEM from a PKCS#12 file ("Bag Attributes"), so it refuses the files keygen writes.
//!
//! NAME here is the first 8 hex digits of the certificate's SHA-256 fingerprint and `.0`: the
//! shape of smime_keys' names (which use openssl's subject hash), unique per certificate, and the
//! same on every run, so running the command twice adds nothing. A key's file holds the key and
//! then its certificate, so that `sealmail decrypt -i %k` finds the key by issuer and serial
//! number.
//!
//! Not for: trust decisions beyond the certificate's dates (adding a certificate is the user's
//! decision, as with smime_keys' `add_cert`), or decrypting the key (it is copied as it is, with
//! its passphrase, if any).

use crate::error::{Error, Result, io_reason};
use crate::io::{self as sio, Privacy};
use crate::keys::parse;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};
use zeroize::Zeroizing;

/// anyExtendedKeyUsage, RFC 5280 §4.2.1.12: `anyExtendedKeyUsage OBJECT IDENTIFIER ::= {
/// id-ce-extKeyUsage 0 }`.
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// Key and certificate files larger than this are not key or certificate files.
const MAX_FILE: u64 = 1 << 20;

/// Where neomutt keeps certificates (`$smime_certificates`) and keys (`$smime_keys`), and the
/// files to add there.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    pub certificates: PathBuf,
    pub keys: PathBuf,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Certificate,
    Key,
}

/// One `.index` line that the run added (or found already there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub mailbox: String,
    pub name: String,
}

/// Add every file: a certificate (PEM, possibly several, or DER) goes into the certificates
/// folder; a PEM private key goes into the keys folder, together with its certificate (from the
/// same file, or `NAME.crt`, `.cer` or `.pem` beside it), which also goes into the certificates
/// folder. Returns the entries, in order.
pub fn add_to_index(request: &IndexRequest, now: SystemTime) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for path in &request.files {
        let file = read_file(path)?;
        let leaves: Vec<&Certificate> = file
            .certificates
            .iter()
            .filter(|c| !parse::is_ca_certificate(c))
            .collect();
        let Some(first) = leaves.first() else {
            return Err(Error::config(format!(
                "{}: no end-entity certificate (only CA certificates)",
                path.display()
            )));
        };
        if let Some(key) = &file.key {
            // A key file names one certificate: its own, the first end-entity one.
            let added = add_certificate(&request.certificates, first, now)?;
            let mut bytes = Zeroizing::new(key.to_vec());
            if !file.key_file_has_certificate {
                bytes.extend_from_slice(b"\n");
                bytes.extend_from_slice(added.pem.as_bytes());
            }
            write_once(&request.keys, &added.name, &bytes, Privacy::Private)?;
            append_index(&request.keys, &added.lines, Privacy::Private)?;
            entries.extend(added.entries(EntryKind::Certificate));
            entries.extend(added.entries(EntryKind::Key));
        } else {
            for cert in leaves {
                entries.extend(
                    add_certificate(&request.certificates, cert, now)?
                        .entries(EntryKind::Certificate),
                );
            }
        }
    }
    Ok(entries)
}

/// What one input file holds.
struct InputFile {
    certificates: Vec<Certificate>,
    /// The whole file when it holds a PEM private key.
    key: Option<Zeroizing<Vec<u8>>>,
    key_file_has_certificate: bool,
}

fn read_file(path: &Path) -> Result<InputFile> {
    let bytes = Zeroizing::new(sio::read_small_file(path, MAX_FILE)?);
    let unusable = |reason: String| Error::config(format!("{}: {reason}", path.display()));
    let (certificates, has_key) = if parse::looks_like_pem(&bytes) {
        let blocks = parse::pem_blocks(&bytes).map_err(unusable)?;
        let has_key = blocks.iter().any(|b| b.label.ends_with("PRIVATE KEY"));
        let mut certs = Vec::new();
        for block in blocks.iter().filter(|b| b.label == "CERTIFICATE") {
            certs.push(
                Certificate::from_der(&block.der)
                    .map_err(|_| unusable("a CERTIFICATE block is not a certificate".into()))?,
            );
        }
        (certs, has_key)
    } else {
        let cert = parse::certificate_from_der(&bytes)
            .ok_or_else(|| unusable("neither a certificate nor a private key in PEM".into()))?;
        (vec![cert], false)
    };
    if !has_key {
        if certificates.is_empty() {
            return Err(unusable("no certificate or private key in it".into()));
        }
        return Ok(InputFile {
            certificates,
            key: None,
            key_file_has_certificate: false,
        });
    }
    let key_file_has_certificate = !certificates.is_empty();
    let certificates = if key_file_has_certificate {
        certificates
    } else {
        sibling_certificates(path)
    };
    if certificates.is_empty() {
        return Err(
            unusable("a private key without its certificate".into()).with_hint(
                "put the certificate after the key in the same file, or beside it as NAME.crt \
                 (what sealmail keygen writes)",
            ),
        );
    }
    Ok(InputFile {
        certificates,
        key: Some(bytes),
        key_file_has_certificate,
    })
}

/// The certificates in the first certificate file beside the key file
/// ([`crate::keys::certificate_files_beside`]: `STEM.crt`, what keygen writes).
fn sibling_certificates(key_path: &Path) -> Vec<Certificate> {
    for candidate in crate::keys::certificate_files_beside(key_path) {
        if !candidate.is_file() {
            continue;
        }
        if let Ok(file) = read_file(&candidate)
            && file.key.is_none()
        {
            return file.certificates;
        }
    }
    Vec::new()
}

/// A certificate written into the certificates folder, with its `.index` lines.
struct Added {
    name: String,
    pem: String,
    mailboxes: Vec<String>,
    lines: Vec<String>,
}

impl Added {
    fn entries(&self, kind: EntryKind) -> impl Iterator<Item = Entry> + '_ {
        self.mailboxes.iter().map(move |mailbox| Entry {
            kind,
            mailbox: mailbox.clone(),
            name: self.name.clone(),
        })
    }
}

fn add_certificate(folder: &Path, cert: &Certificate, now: SystemTime) -> Result<Added> {
    let der = cert
        .to_der()
        .map_err(|_| Error::config("a certificate cannot be encoded again"))?;
    let name = file_name(&der);
    let mut mailboxes: Vec<String> = Vec::new();
    for address in parse::certificate_emails(cert) {
        let address = address.trim().to_ascii_lowercase();
        if !address.is_empty() && !mailboxes.contains(&address) {
            mailboxes.push(address);
        }
    }
    if mailboxes.is_empty() {
        return Err(Error::config(format!(
            "the certificate {} has no email address, so neomutt could not find it",
            subject_label(cert)
        )));
    }
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
        .map_err(|_| Error::config("a certificate cannot be written as PEM"))?;
    write_once(folder, &name, pem.as_bytes(), Privacy::Public)?;
    let label = subject_label(cert);
    let (trust, purpose) = (trust(cert, now), purpose(cert));
    let lines: Vec<String> = mailboxes
        .iter()
        .map(|m| format!("{m} {name} {label} ? {trust} {purpose}"))
        .collect();
    append_index(folder, &lines, Privacy::Public)?;
    Ok(Added {
        name,
        pem,
        mailboxes,
        lines,
    })
}

/// `3f2a9c01.0`: the first four octets of the SHA-256 fingerprint, in hex.
fn file_name(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{hex}.0")
}

/// One word for neomutt's menus: the subject's common name with blanks as `_`, else `-`.
fn subject_label(cert: &Certificate) -> String {
    let name = match cert.tbs_certificate().subject().common_name() {
        Ok(Some(cn)) => cn.value().into_owned(),
        _ => String::new(),
    };
    let label: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    if label.is_empty() { "-".into() } else { label }
}

/// `t` within the validity period, `e` after it, `i` before it.
fn trust(cert: &Certificate, now: SystemTime) -> char {
    let validity = cert.tbs_certificate().validity();
    if now > validity.not_after.to_system_time() {
        'e'
    } else if now < validity.not_before.to_system_time() {
        'i'
    } else {
        't'
    }
}

/// `e` when keyUsage (if present) allows key transport or agreement, `s` when it allows
/// signatures; neither when an extendedKeyUsage leaves out emailProtection (RFC 8550 §4.4).
fn purpose(cert: &Certificate) -> String {
    let tbs = cert.tbs_certificate();
    let for_email = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => eku
            .0
            .iter()
            .any(|oid| *oid == parse::ID_KP_EMAIL_PROTECTION || *oid == ANY_EXTENDED_KEY_USAGE),
        Ok(None) => true,
        Err(_) => false,
    };
    let (encrypt, sign) = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => (
            ku.key_encipherment() || ku.key_agreement(),
            ku.digital_signature() || ku.non_repudiation(),
        ),
        Ok(None) => (true, true),
        Err(_) => (false, false),
    };
    let mut purpose = String::new();
    if for_email && encrypt {
        purpose.push('e');
    }
    if for_email && sign {
        purpose.push('s');
    }
    if purpose.is_empty() {
        purpose.push('-');
    }
    purpose
}

/// The folder, made when missing (0700: it may hold keys).
fn make_folder(folder: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder).map_err(|e| {
        Error::cant_create(format!(
            "cannot create the folder {}: {}",
            folder.display(),
            io_reason(&e)
        ))
    })
}

/// Write `folder/name` unless it is there already with these bytes; a different file of that
/// name is never overwritten.
fn write_once(folder: &Path, name: &str, bytes: &[u8], privacy: Privacy) -> Result<()> {
    make_folder(folder)?;
    let path = folder.join(name);
    match std::fs::read(&path) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => {
            return Err(Error::cant_create(format!(
                "{} exists with other contents",
                path.display()
            ))
            .with_hint("remove it (and its .index lines) if it is stale, then run this again"));
        }
        Err(_) => {}
    }
    sio::write_new_file(&path, bytes, privacy)
}

/// Append the lines that `folder/.index` does not have yet (same mailbox and name).
fn append_index(folder: &Path, lines: &[String], privacy: Privacy) -> Result<()> {
    use std::io::Write;
    make_folder(folder)?;
    let path = folder.join(".index");
    let existing = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::read_file(&path, &e)),
    };
    let known = |line: &str| {
        let key: Vec<&str> = line.split_whitespace().take(2).collect();
        existing
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(key.iter().copied()))
    };
    let mut new = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        new.push('\n');
    }
    for line in lines.iter().filter(|l| !known(l)) {
        new.push_str(line);
        new.push('\n');
    }
    if new.trim().is_empty() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        if privacy == Privacy::Private {
            0o600
        } else {
            0o644
        },
    );
    let cant = |e: std::io::Error| {
        Error::cant_create(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    };
    let mut file = options.open(&path).map_err(cant)?;
    file.write_all(new.as_bytes()).map_err(cant)
}
