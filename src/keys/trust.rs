//! Trust: which certificates sealmail believes, and whether a signer's or recipient's
//! certificate chains to one of them (RFC 5280 §6 path validation, kept small).
//!
//! A [`TrustStore`] holds trust anchors (the system store, `--ca` bundles, the user's
//! `$XDG_CONFIG_HOME/sealmail/ca/`) and pinned certificates (the keyring's `pinned/` folder:
//! certificates the user, or `verify --import`, marked as trusted as they are).
//! [`TrustStore::validate`] builds a path from a leaf through the given intermediates to an
//! anchor and checks it: every signature (RSA PKCS#1 v1.5 and PSS, ECDSA P-256/P-384, Ed25519;
//! SHA-1 refused), issuer/subject name chaining, validity at the given time, basicConstraints cA
//! and pathLenConstraint, keyUsage keyCertSign on CAs, unknown critical extensions, and the
//! S/MIME purpose (emailProtection wherever extendedKeyUsage is present; the leaf's keyUsage).
//! The answer is a [`Verdict`] with a reason a person can act on.
//!
//! It is not a full RFC 5280 implementation: no revocation (CRL/OCSP), no certificate policies,
//! no name constraints (a certificate that marks them critical is refused), and names are
//! compared as encoded, not after RFC 4518 string preparation. It never fetches anything.

use super::{parse, signature};
use crate::error::{Error, Result};
use der::Encode;
use der::asn1::ObjectIdentifier;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

/// The longest chain looked at, leaf and anchor included. Real S/MIME chains have 2 to 4
/// certificates; a bound keeps hostile certificate sets from making path building expensive.
pub const MAX_CHAIN_LENGTH: usize = 8;
/// The most intermediate candidates considered for one validation (certificates in a message
/// plus those in the keyring).
pub const MAX_INTERMEDIATES: usize = 64;

const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const ID_CE_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// What the leaf certificate is to be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signing mail (openssl's `smimesign`): keyUsage, when present, has digitalSignature or
    /// nonRepudiation.
    EmailSigning,
    /// Encrypting mail to the subject (openssl's `smimeencrypt`): keyUsage, when present, has
    /// keyEncipherment or keyAgreement.
    EmailEncryption,
}

/// Where a trusted chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A trust anchor (system store, `--ca`, the user's `ca/` folder).
    Authority,
    /// A certificate pinned in the keyring's `pinned/` folder.
    Pinned,
}

/// The outcome of a path validation.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The leaf chains to an anchor: `chain` runs from the leaf to the anchor, both included.
    Trusted { chain: Vec<Certificate>, by: Anchor },
    /// Why not, in plain words ("the certificate of CN=x expired on ...").
    Untrusted { reason: String },
}

impl Verdict {
    pub fn is_trusted(&self) -> bool {
        matches!(self, Verdict::Trusted { .. })
    }

    /// One line for stderr: what it chains to, or why it does not.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Trusted { chain, by } => {
                let end = chain
                    .last()
                    .map(|c| c.tbs_certificate().subject().to_string())
                    .unwrap_or_default();
                match by {
                    Anchor::Authority => format!("trusted: chains to {end}"),
                    Anchor::Pinned => format!("trusted: pinned certificate {end}"),
                }
            }
            Verdict::Untrusted { reason } => format!("not trusted: {reason}"),
        }
    }
}

/// Where trust anchors come from; [`TrustStore::load`] reads them.
#[derive(Debug, Clone, Default)]
pub struct TrustSources {
    /// Read the system store: `$SSL_CERT_FILE` / `$SSL_CERT_DIR`, else
    /// `/etc/ssl/certs/ca-certificates.crt`, else every certificate in `/etc/ssl/certs`.
    pub system: bool,
    /// `--ca FILE` bundles (PEM or DER); each must hold at least one certificate.
    pub ca_files: Vec<PathBuf>,
    /// `$XDG_CONFIG_HOME/sealmail/ca/` (or `~/.config/sealmail/ca/`); missing is fine.
    pub config_ca_dir: Option<PathBuf>,
    /// The keyring; its `pinned/` sub-folder holds pinned certificates; missing is fine.
    pub keyring: Option<PathBuf>,
}

impl TrustSources {
    /// The system store and the user's `ca/` folder, located from the environment.
    pub fn from_env(env: &dyn Fn(&str) -> Option<OsString>) -> TrustSources {
        TrustSources {
            system: true,
            ca_files: Vec::new(),
            config_ca_dir: super::keyring::config_dir(env).map(|dir| dir.join("ca")),
            keyring: None,
        }
    }
}

/// Trust anchors and pinned certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
    pinned: Vec<Certificate>,
    warnings: Vec<String>,
}

impl TrustStore {
    /// A store that trusts nothing.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Read every source. A `--ca` file that cannot be read is 66, one without a valid
    /// certificate is 78: the user named it. Unreadable files in folders are warnings
    /// ([`TrustStore::warnings`]); unparseable entries of the system store are skipped silently
    /// (they are not the user's to fix).
    pub fn load(sources: &TrustSources) -> Result<TrustStore> {
        Self::load_with_env(sources, &|name| std::env::var_os(name))
    }

    /// [`TrustStore::load`] with the environment passed in (for tests).
    pub fn load_with_env(
        sources: &TrustSources,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<TrustStore> {
        let mut store = TrustStore::new();
        if sources.system {
            for cert in system_certificates(env) {
                store.add_anchor(cert);
            }
        }
        for path in &sources.ca_files {
            let bytes = std::fs::read(path).map_err(|e| Error::read_file(path, &e))?;
            let certs = certificates_from_bytes(&bytes).map_err(|reason| {
                Error::config(format!("CA file {}: {reason}", path.display()))
                    .with_hint("give a PEM bundle of CA certificates (or one DER certificate)")
            })?;
            for cert in certs {
                store.add_anchor(cert);
            }
        }
        if let Some(dir) = &sources.config_ca_dir {
            for cert in store.folder(dir) {
                store.add_anchor(cert);
            }
        }
        if let Some(keyring) = &sources.keyring {
            for cert in store.folder(&keyring.join("pinned")) {
                store.add_pinned(cert);
            }
        }
        Ok(store)
    }

    pub fn add_anchor(&mut self, cert: Certificate) {
        if !self.anchors.contains(&cert) {
            self.anchors.push(cert);
        }
    }

    pub fn add_pinned(&mut self, cert: Certificate) {
        if !self.pinned.contains(&cert) {
            self.pinned.push(cert);
        }
    }

    /// Files that were skipped while loading folders, one line each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether `cert` is one of the pinned certificates.
    pub fn is_pinned(&self, cert: &Certificate) -> bool {
        self.pinned.contains(cert)
    }

    /// Every certificate in a folder; a missing folder gives none.
    fn folder(&mut self, dir: &Path) -> Vec<Certificate> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut certs = Vec::new();
        for path in paths {
            match std::fs::read(&path)
                .map_err(|e| crate::error::io_reason(&e))
                .and_then(|bytes| certificates_from_bytes(&bytes))
            {
                Ok(found) => certs.extend(found),
                Err(reason) => self
                    .warnings
                    .push(format!("skipping {}: {reason}", path.display())),
            }
        }
        certs
    }

    /// Validate `leaf` for `purpose` at time `at`, building the path through `intermediates`
    /// (in any order; unrelated certificates are ignored) to an anchor or a pinned certificate.
    pub fn validate(
        &self,
        leaf: &Certificate,
        intermediates: &[Certificate],
        at: SystemTime,
        purpose: Purpose,
    ) -> Verdict {
        let pool: Vec<&Certificate> = intermediates.iter().take(MAX_INTERMEDIATES).collect();
        let mut search = Search {
            store: self,
            pool: &pool,
            at,
            purpose,
            failure: None,
            dead_end: None,
        };
        let mut path = vec![leaf];
        if let Some(verdict) = search.extend(&mut path) {
            return verdict;
        }
        let reason = search
            .failure
            .or(search.dead_end)
            .unwrap_or_else(|| "no chain to a trust anchor".into());
        Verdict::Untrusted { reason }
    }
}

/// Depth-first path building: from the last certificate of `path`, try every anchor, then every
/// intermediate, that could have issued it.
struct Search<'a> {
    store: &'a TrustStore,
    pool: &'a [&'a Certificate],
    at: SystemTime,
    purpose: Purpose,
    /// The first reason a complete path (one that reached an anchor) failed: the most useful.
    failure: Option<String>,
    /// Why the longest incomplete path stopped.
    dead_end: Option<String>,
}

impl<'a> Search<'a> {
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<Verdict> {
        let &last = path.last()?;
        // A pinned or anchor certificate given as the leaf (or reached as an intermediate) is
        // trusted as it is: the path ends at it.
        for (list, by) in [
            (&self.store.pinned, Anchor::Pinned),
            (&self.store.anchors, Anchor::Authority),
        ] {
            if list.contains(last) {
                match check_path(path, self.at, self.purpose) {
                    Ok(()) => return Some(trusted(path, by)),
                    Err(reason) => {
                        self.failure.get_or_insert(reason);
                        return None;
                    }
                }
            }
        }
        if path.len() >= MAX_CHAIN_LENGTH {
            self.dead_end.get_or_insert_with(|| {
                format!("the chain is longer than {MAX_CHAIN_LENGTH} certificates")
            });
            return None;
        }
        let issuer = last.tbs_certificate().issuer();
        for (list, by) in [
            (&self.store.pinned, Anchor::Pinned),
            (&self.store.anchors, Anchor::Authority),
        ] {
            for anchor in list
                .iter()
                .filter(|a| a.tbs_certificate().subject() == issuer)
            {
                if path.contains(&anchor) {
                    continue;
                }
                path.push(anchor);
                let result = check_path(path, self.at, self.purpose);
                path.pop();
                match result {
                    Ok(()) => {
                        let mut chain = path.clone();
                        chain.push(anchor);
                        return Some(trusted(&chain, by));
                    }
                    Err(reason) => {
                        self.failure.get_or_insert(reason);
                    }
                }
            }
        }
        let candidates: Vec<&'a Certificate> = self
            .pool
            .iter()
            .copied()
            .filter(|c| c.tbs_certificate().subject() == issuer && !path.contains(c))
            .collect();
        if candidates.is_empty() {
            let reason = if last.tbs_certificate().subject() == issuer {
                format!("the chain ends at {issuer}, which is not a trust anchor")
            } else {
                format!("no chain to a trust anchor: the issuer {issuer} is unknown")
            };
            self.dead_end.get_or_insert(reason);
            return None;
        }
        for candidate in candidates {
            path.push(candidate);
            let verdict = self.extend(path);
            path.pop();
            if verdict.is_some() {
                return verdict;
            }
        }
        None
    }
}

fn trusted(path: &[&Certificate], by: Anchor) -> Verdict {
    Verdict::Trusted {
        chain: path.iter().map(|c| (*c).clone()).collect(),
        by,
    }
}

/// Check a complete path, leaf first, anchor last.
fn check_path(path: &[&Certificate], at: SystemTime, purpose: Purpose) -> Result<(), String> {
    let Some((&leaf, _)) = path.split_first() else {
        return Err("empty chain".into());
    };
    // The leaf first: its problems are the ones the user asked about.
    check_validity(leaf, at)?;
    check_critical_extensions(leaf)?;
    check_email_eku(leaf)?;
    check_leaf_key_usage(leaf, purpose)?;

    let last = path.len() - 1;
    // Certificates between this CA and the leaf that are not self-issued (RFC 5280 §6.1.4 (l)).
    let mut below = 0usize;
    for i in 1..path.len() {
        let (child, ca) = (path[i - 1], path[i]);
        // The child is an intermediate CA from the second step on.
        if i > 1 && child.tbs_certificate().subject() != child.tbs_certificate().issuer() {
            below += 1;
        }
        check_signature(child, ca)?;
        check_validity(ca, at)?;
        check_critical_extensions(ca)?;
        check_ca(ca, i == last, below)?;
        check_email_eku(ca)?;
    }
    Ok(())
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

fn check_validity(cert: &Certificate, at: SystemTime) -> Result<(), String> {
    let validity = cert.tbs_certificate().validity();
    if at < validity.not_before.to_system_time() {
        return Err(format!(
            "the certificate of {} is not valid before {}",
            subject(cert),
            validity.not_before
        ));
    }
    if at > validity.not_after.to_system_time() {
        return Err(format!(
            "the certificate of {} expired on {}",
            subject(cert),
            validity.not_after
        ));
    }
    Ok(())
}

/// RFC 5280 §4.2: a certificate with a critical extension that is not understood must be
/// rejected.
fn check_critical_extensions(cert: &Certificate) -> Result<(), String> {
    let known = [
        ID_CE_BASIC_CONSTRAINTS,
        ID_CE_KEY_USAGE,
        ID_CE_EXT_KEY_USAGE,
        ID_CE_SUBJECT_ALT_NAME,
        ID_CE_CERTIFICATE_POLICIES,
    ];
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.critical && !known.contains(&ext.extn_id) {
            return Err(format!(
                "the certificate of {} has a critical extension sealmail does not check ({})",
                subject(cert),
                ext.extn_id
            ));
        }
    }
    Ok(())
}

/// The issuer's key verifies the child's signature, with the algorithm the child names twice
/// (RFC 5280 §4.1.1.2: signatureAlgorithm equals tbsCertificate.signature).
fn check_signature(child: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let named = child.signature_algorithm();
    if named != child.tbs_certificate().signature() {
        return Err(format!(
            "the certificate of {} names two different signature algorithms",
            subject(child)
        ));
    }
    let algorithm = signature::Algorithm::from_identifier(named, None)
        .map_err(|reason| format!("the certificate of {}: {reason}", subject(child)))?;
    let tbs = signature::tbs_der(child)?;
    let sig = child.signature().as_bytes().ok_or_else(|| {
        format!(
            "the certificate of {} has a malformed signature",
            subject(child)
        )
    })?;
    let key = issuer.tbs_certificate().subject_public_key_info();
    signature::verify(key, algorithm, &tbs, sig).map_err(|reason| {
        format!(
            "the signature on the certificate of {} by {}: {reason}",
            subject(child),
            subject(issuer)
        )
    })
}

/// basicConstraints cA, pathLenConstraint and keyUsage keyCertSign on a certificate that issued
/// another. `below` counts the non-self-issued intermediates between it and the leaf. A version 1
/// certificate has no extensions, so a v1 self-signed anchor is accepted as a CA (as openssl does).
fn check_ca(ca: &Certificate, is_anchor: bool, below: usize) -> Result<(), String> {
    let tbs = ca.tbs_certificate();
    let v1_root = is_anchor && tbs.version() == Version::V1 && tbs.subject() == tbs.issuer();
    match tbs.get_extension::<BasicConstraints>() {
        Err(_) => {
            return Err(format!(
                "the certificate of {} has a malformed basicConstraints",
                subject(ca)
            ));
        }
        Ok(Some((_, bc))) if bc.ca => {
            if let Some(max) = bc.path_len_constraint
                && below > usize::from(max)
            {
                return Err(format!(
                    "the CA {} allows {max} intermediate CA(s) below it, the chain has {below}",
                    subject(ca)
                ));
            }
        }
        _ if v1_root => {}
        _ => {
            return Err(format!(
                "{} issued a certificate but is not a CA (basicConstraints cA is not set)",
                subject(ca)
            ));
        }
    }
    match tbs.get_extension::<KeyUsage>() {
        Err(_) => Err(format!(
            "the certificate of {} has a malformed keyUsage",
            subject(ca)
        )),
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err(format!(
            "the CA {} may not sign certificates (keyUsage lacks keyCertSign)",
            subject(ca)
        )),
        Ok(_) => Ok(()),
    }
}

/// Where extendedKeyUsage is present it must allow email protection (RFC 8550 §4.4.4; on CAs as
/// openssl and the CA/Browser S/MIME requirements apply it).
fn check_email_eku(cert: &Certificate) -> Result<(), String> {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Err(_) => Err(format!(
            "the certificate of {} has a malformed extendedKeyUsage",
            subject(cert)
        )),
        Ok(Some((_, eku)))
            if !eku.0.iter().any(|oid| {
                *oid == parse::ID_KP_EMAIL_PROTECTION || *oid == ANY_EXTENDED_KEY_USAGE
            }) =>
        {
            Err(format!(
                "the certificate of {} is not for email (extendedKeyUsage lacks emailProtection)",
                subject(cert)
            ))
        }
        Ok(_) => Ok(()),
    }
}

fn check_leaf_key_usage(leaf: &Certificate, purpose: Purpose) -> Result<(), String> {
    let ku = match leaf.tbs_certificate().get_extension::<KeyUsage>() {
        Err(_) => {
            return Err(format!(
                "the certificate of {} has a malformed keyUsage",
                subject(leaf)
            ));
        }
        Ok(None) => return Ok(()),
        Ok(Some((_, ku))) => ku,
    };
    let (allowed, what) = match purpose {
        Purpose::EmailSigning => (
            ku.digital_signature() || ku.non_repudiation(),
            "digitalSignature (signing)",
        ),
        Purpose::EmailEncryption => (
            ku.key_encipherment() || ku.key_agreement(),
            "keyEncipherment (encryption)",
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "the keyUsage of {} does not allow {what}",
            subject(leaf)
        ))
    }
}

/// The system store: `$SSL_CERT_FILE` and `$SSL_CERT_DIR` as openssl reads them, else the
/// Debian/Ubuntu/Fedora bundle, else the certificates of `/etc/ssl/certs`. Certificates that do
/// not parse (x509-cert is strict DER) are skipped.
fn system_certificates(env: &dyn Fn(&str) -> Option<OsString>) -> Vec<Certificate> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut files: Vec<PathBuf> = Vec::new();
    let file = var("SSL_CERT_FILE");
    let dir = var("SSL_CERT_DIR");
    match (&file, &dir) {
        (None, None) => {
            let bundles = [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ];
            match bundles.iter().map(PathBuf::from).find(|p| p.is_file()) {
                Some(bundle) => files.push(bundle),
                None => files.extend(dir_files(Path::new("/etc/ssl/certs"))),
            }
        }
        _ => {
            files.extend(file);
            if let Some(dirs) = dir {
                for d in std::env::split_paths(&dirs) {
                    files.extend(dir_files(&d));
                }
            }
        }
    }
    let mut certs = Vec::new();
    for path in files {
        if let Ok(bytes) = std::fs::read(&path) {
            certs.extend(lenient_certificates(&bytes));
        }
    }
    certs
}

fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
}

/// Every certificate of a PEM file that parses; the rest are skipped.
fn lenient_certificates(bytes: &[u8]) -> Vec<Certificate> {
    if !parse::looks_like_pem(bytes) {
        return parse::certificate_from_der(bytes).into_iter().collect();
    }
    let mut certs = Vec::new();
    let mut rest = bytes;
    // One malformed block must not hide the rest of the bundle: split on END lines first.
    const END: &[u8] = b"-----END CERTIFICATE-----";
    while let Some(pos) = rest.windows(END.len()).position(|w| w == END) {
        let (block, tail) = rest.split_at(pos + END.len());
        if let Ok(blocks) = parse::pem_blocks(block) {
            certs.extend(
                blocks
                    .iter()
                    .filter(|b| b.label == "CERTIFICATE")
                    .filter_map(|b| parse::certificate_from_der(&b.der)),
            );
        }
        rest = tail;
    }
    certs
}

/// Every certificate in a PEM bundle or a DER certificate; an error when there is none or one
/// does not parse.
pub fn certificates_from_bytes(bytes: &[u8]) -> std::result::Result<Vec<Certificate>, String> {
    if !parse::looks_like_pem(bytes) {
        return parse::certificate_from_der(bytes)
            .map(|c| vec![c])
            .ok_or_else(|| "not a certificate".to_string());
    }
    let mut certs = Vec::new();
    for block in parse::pem_blocks(bytes)? {
        if block.label == "CERTIFICATE" || block.label == "X509 CERTIFICATE" {
            certs.push(
                parse::certificate_from_der(&block.der)
                    .ok_or("a CERTIFICATE block is not a valid certificate")?,
            );
        }
    }
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

/// The DER of a certificate, e.g. to write it into the keyring.
pub fn certificate_der(cert: &Certificate) -> Result<Vec<u8>> {
    cert.to_der()
        .map_err(|_| Error::config("cannot encode a certificate"))
}

/// The email addresses a certificate is for (subjectAltName rfc822Name, subject emailAddress).
pub fn certificate_emails(cert: &Certificate) -> Vec<String> {
    parse::certificate_emails(cert)
}

/// "alice@example.org (CN=Alice)": who a certificate is, in one phrase.
pub fn describe_certificate(cert: &Certificate) -> String {
    let subject = subject(cert);
    match certificate_emails(cert).first() {
        Some(address) => format!("{address} ({subject})"),
        None => subject,
    }
}

/// Who signed, for stderr: address, subject, issuer and validity.
pub fn describe_signer(cert: &Certificate) -> String {
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    format!(
        "{}, issued by {}, valid {} to {}",
        describe_certificate(cert),
        tbs.issuer(),
        validity.not_before,
        validity.not_after
    )
}
