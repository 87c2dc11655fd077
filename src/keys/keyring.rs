//! The keyring: a directory of certificates found by the email addresses they name, the choice
//! among several for one address, and the default places sealmail looks for certificates and
//! identities.
//!
//! A keyring is a plain directory a user fills with `cp`; sealmail only reads it. One bad file
//! must not make every address unusable, so malformed files become warnings, not errors. Since
//! anyone can drop a certificate into it, the choice is decided by trust ([`Keyring::lookup`]):
//! the verdicts come from `keys::trust`, which this module asks and never second-guesses; it
//! validates no paths itself.

use super::trust::{Purpose, TrustStore, Verdict};
use super::{
    Recipient, RecipientIdentifier, RecipientKey, parse, recipient_from_certificate, serial_hex,
};
use crate::cms::Capabilities;
use crate::error::{Error, Result};
use sha1::Digest;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

/// The file names a keyring looks at (case-insensitive).
const CERT_EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];

/// A directory of certificates found by their email addresses.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub dir: PathBuf,
}

/// The certificate a keyring lookup chose for an address, and why.
#[derive(Debug, Clone)]
pub struct Choice {
    pub recipient: Recipient,
    /// The file the certificate is in.
    pub path: PathBuf,
    pub certificate: Certificate,
    /// How it stands with the trust store.
    pub verdict: Verdict,
    /// Which certificate was chosen and why, in one line (for `encrypt -v`).
    pub explanation: String,
    /// Files that could not be read, and the use of an untrusted certificate: one line each,
    /// for stderr.
    pub warnings: Vec<String>,
}

/// A usable certificate for the address, with its trust verdict.
struct Candidate {
    path: PathBuf,
    cert: Certificate,
    recipient: Recipient,
    verdict: Verdict,
    /// The key's bits: two certificates for one key are the same correspondent.
    key: Vec<u8>,
}

impl Candidate {
    fn not_before(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    fn not_after(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// "FILE (SUBJECT, serial 0x...)": which certificate, for people.
    fn describe(&self) -> String {
        describe_certificate_in(&self.path, &self.cert)
    }
}

/// "FILE (SUBJECT, serial 0x...)".
pub fn describe_certificate_in(path: &Path, cert: &Certificate) -> String {
    let tbs = cert.tbs_certificate();
    format!(
        "{} ({}, serial 0x{})",
        path.display(),
        tbs.subject(),
        serial_hex(tbs.serial_number().as_bytes())
    )
}

impl Keyring {
    pub fn new(dir: impl Into<PathBuf>) -> Keyring {
        Keyring { dir: dir.into() }
    }

    /// The certificate for `email`. Every *.pem/*.crt/*.cer/*.der file in the keyring and in
    /// its `pinned/` folder is read; certificates whose subjectAltName rfc822Name or subject
    /// emailAddress equals `email` (ASCII case-insensitively) and that are usable for
    /// encryption now are candidates, each validated against `trust` (anchors and pinned
    /// certificates; the keyring's CA certificates serve as intermediates).
    ///
    /// Trusted candidates win, and among them the newest (latest notBefore; then the one valid
    /// longest). An untrusted one is used only when no trusted one exists, and with a warning;
    /// untrusted candidates with different keys are refused (78) naming each, since sealmail
    /// cannot tell which is the correspondent's: encrypting to an impostor's key is the attack
    /// trust anchors are there to stop.
    ///
    /// Errors: no matching certificate, or a missing keyring directory, is 67; matching
    /// certificates that are all unusable (expired, wrong usage, weak key) is 78 naming the file
    /// and the reason, since that is what the user must fix.
    pub fn lookup(&self, email: &str, now: SystemTime, trust: &TrustStore) -> Result<Choice> {
        let email = email.trim();
        let dir = self.dir.display();
        let add_hint = format!(
            "copy {email}'s certificate (PEM or DER, named *.pem, *.crt, *.cer or *.der) into {dir}, \
             or give it with -r FILE"
        );
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::no_user(format!(
                    "no certificate for {email}: the keyring {dir} does not exist"
                ))
                .with_hint(format!("create {dir} and {add_hint}")));
            }
            Err(e) => return Err(Error::read_file(&self.dir, &e)),
        };
        let mut paths = certificate_paths(entries);
        paths.extend(certificate_files(&self.dir.join(PINNED)));

        let mut warnings = Vec::new();
        let mut matching: Vec<(PathBuf, Certificate)> = Vec::new();
        let mut authorities: Vec<Certificate> = Vec::new();
        for path in paths {
            let certs = match read_certificates(&path) {
                Ok(certs) => certs,
                Err(reason) => {
                    warnings.push(format!(
                        "skipping {} in the keyring: {reason}",
                        path.display()
                    ));
                    continue;
                }
            };
            for cert in certs {
                let matches = parse::certificate_emails(&cert)
                    .iter()
                    .any(|addr| addr.trim().eq_ignore_ascii_case(email));
                if matches {
                    // The same certificate twice (verify --import writes it to the keyring
                    // and to pinned/) is one candidate.
                    if !matching.iter().any(|(_, c)| *c == cert) {
                        matching.push((path.clone(), cert));
                    }
                } else if parse::is_ca_certificate(&cert) && !authorities.contains(&cert) {
                    authorities.push(cert);
                }
            }
        }

        let mut candidates = Vec::new();
        let mut unusable: Vec<(PathBuf, String)> = Vec::new();
        for (path, cert) in matching {
            let source = format!("{email} ({})", path.display());
            match recipient_from_certificate(&cert, &source, now) {
                Ok(recipient) => {
                    let verdict =
                        trust.validate(&cert, &authorities, now, Purpose::EmailEncryption);
                    let key = recipient.key.public_key_bits()?;
                    candidates.push(Candidate {
                        path,
                        cert,
                        recipient,
                        verdict,
                        key,
                    });
                }
                Err(e) => unusable.push((path, unusable_reason(&e, &source))),
            }
        }

        if !candidates.is_empty() {
            return choose(email, candidates, warnings, &self.dir);
        }
        if let Some((path, reason)) = unusable.first() {
            let others = match unusable.len() {
                1 => String::new(),
                n => format!(" (and {} other unusable certificate(s))", n - 1),
            };
            return Err(Error::config(format!(
                "the certificate for {email} in the keyring ({}) is unusable: {reason}{others}",
                path.display()
            ))
            .with_hint(format!("put a current certificate for {email} into {dir}")));
        }
        Err(
            Error::no_user(format!("no certificate for {email} in the keyring {dir}"))
                .with_hint(add_hint),
        )
    }
}

/// The keyring's folder of pinned certificates (trusted as they are).
pub const PINNED: &str = "pinned";

/// Trusted first; then the newest (latest notBefore), then the one valid longest, then by file
/// name so that the choice never depends on the order a directory lists its files in.
fn choose(
    email: &str,
    mut candidates: Vec<Candidate>,
    mut warnings: Vec<String>,
    dir: &Path,
) -> Result<Choice> {
    candidates.sort_by(|a, b| {
        b.verdict
            .is_trusted()
            .cmp(&a.verdict.is_trusted())
            .then(b.not_before().cmp(&a.not_before()))
            .then(b.not_after().cmp(&a.not_after()))
            .then(a.path.cmp(&b.path))
    });
    let trusted = candidates.iter().filter(|c| c.verdict.is_trusted()).count();
    let untrusted = candidates.len() - trusted;
    if trusted == 0 {
        let mut keys: Vec<&Candidate> = Vec::new();
        for candidate in &candidates {
            if !keys.iter().any(|k| k.key == candidate.key) {
                keys.push(candidate);
            }
        }
        if keys.len() > 1 {
            let listed: Vec<String> = keys.iter().map(|c| c.describe()).collect();
            return Err(Error::config(format!(
                "{} untrusted certificates with different keys for {email}, and none is trusted: {}",
                keys.len(),
                listed.join("; ")
            ))
            .with_hint(format!(
                "sealmail cannot tell which is {email}'s: give the issuing CA with --ca, pin the \
                 right one (copy it into {}), or remove the other",
                dir.join(PINNED).display()
            )));
        }
    }
    let mut rest = candidates.into_iter();
    let Some(chosen) = rest.next() else {
        return Err(Error::no_user(format!("no certificate for {email}")));
    };
    let passed_over: Vec<String> = rest
        .filter(|c| !c.verdict.is_trusted() && chosen.verdict.is_trusted())
        .map(|c| format!("{} ({})", c.describe(), c.verdict.describe()))
        .collect();
    let mut explanation = format!(
        "{email}: {}; {}",
        chosen.describe(),
        chosen.verdict.describe()
    );
    if trusted > 0 {
        explanation.push_str(&match trusted {
            1 => "; the only trusted certificate for the address".to_string(),
            n => format!("; the newest of {n} trusted certificates"),
        });
        if !passed_over.is_empty() {
            explanation.push_str(&format!(
                "; passed over {untrusted} untrusted: {}",
                passed_over.join("; ")
            ));
        }
    } else {
        explanation
            .push_str("; no trusted certificate for the address, so the untrusted one is used");
        warnings.push(format!(
            "using an untrusted certificate for {email}: {} ({}); give its CA with --ca or pin \
             it (copy it into {}) to trust it",
            chosen.describe(),
            chosen.verdict.describe(),
            dir.join(PINNED).display()
        ));
    }
    Ok(Choice {
        recipient: chosen.recipient,
        path: chosen.path,
        certificate: chosen.cert,
        verdict: chosen.verdict,
        explanation,
        warnings,
    })
}

/// The reason part of a refused certificate's message ("recipient SOURCE: REASON").
fn unusable_reason(error: &Error, source: &str) -> String {
    let message = error.message();
    message
        .strip_prefix(&format!("recipient {source}: "))
        .unwrap_or(message)
        .to_string()
}

/// The certificate files in `dir` (sorted); none when it does not exist.
/// The certificate files (*.pem, *.crt, *.cer, *.der) directly in `dir`, sorted; none when it
/// cannot be read.
pub fn certificate_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(certificate_paths)
        .unwrap_or_default()
}

fn certificate_paths(entries: std::fs::ReadDir) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| has_cert_extension(path) && path.is_file())
        .collect();
    paths.sort();
    paths
}

/// Every certificate in the keyring (and its `pinned/` folder) that `rid` names — by issuer and
/// serial number, or by subject key identifier (the certificate's extension, or the SHA-1 of its
/// key) — with its file: what `inspect` names a message's recipients by.
pub fn find_by_recipient_id(dir: &Path, rid: &RecipientIdentifier) -> Vec<(PathBuf, Certificate)> {
    let mut found: Vec<(PathBuf, Certificate)> = Vec::new();
    let mut paths = certificate_files(dir);
    paths.extend(certificate_files(&dir.join(PINNED)));
    for path in paths {
        for cert in read_certificates(&path).unwrap_or_default() {
            if names(rid, &cert) && !found.iter().any(|(_, c)| *c == cert) {
                found.push((path.clone(), cert));
            }
        }
    }
    found
}

fn names(rid: &RecipientIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => {
            *tbs.issuer() == ias.issuer && *tbs.serial_number() == ias.serial_number
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            let extension = tbs.get_extension::<SubjectKeyIdentifier>();
            if matches!(extension, Ok(Some((_, theirs))) if theirs == *ski) {
                return true;
            }
            RecipientKey::from_spki(tbs.subject_public_key_info())
                .ok()
                .and_then(|key| key.public_key_bits().ok())
                .is_some_and(|bits| sha1::Sha1::digest(bits).as_slice() == ski.0.as_bytes())
        }
    }
}

/// Every CA certificate in the keyring: intermediates for path validation.
pub fn authorities(dir: &Path) -> Vec<Certificate> {
    let mut paths = certificate_files(dir);
    paths.extend(certificate_files(&dir.join(PINNED)));
    let mut found = Vec::new();
    for path in paths {
        for cert in read_certificates(&path).unwrap_or_default() {
            if parse::is_ca_certificate(&cert) && !found.contains(&cert) {
                found.push(cert);
            }
        }
    }
    found
}

/// What the keyring records of what `address` reads: the file `KEYRING/ADDRESS.caps` (address
/// lower-cased), one capability token per line (`chacha20-poly1305`, `aes-256-gcm`,
/// `aes-128-gcm`, `aes-256-cbc`, `aes-128-cbc`, `rsa-oaep`), `#` comments and blank lines
/// ignored. Filled from signed mail or written by hand; when present it is what sealmail knows
/// of the address, in place of the certificate's extension. `None` when there is no such file;
/// an unreadable file or an unknown token is 78, naming the file.
pub fn recorded_capabilities(dir: &Path, address: &str) -> Result<Option<Capabilities>> {
    let path = dir.join(format!("{}.caps", address.trim().to_lowercase()));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::config(format!(
                "cannot read {}: {}",
                path.display(),
                crate::error::io_reason(&e)
            )));
        }
    };
    Capabilities::parse_tokens(&text)
        .map(Some)
        .map_err(|reason| Error::config(format!("{}: {reason}", path.display())))
}

fn has_cert_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| CERT_EXTENSIONS.iter().any(|c| ext.eq_ignore_ascii_case(c)))
}

/// Every certificate in a keyring file (PEM may hold several), or why there is none.
fn read_certificates(path: &Path) -> std::result::Result<Vec<Certificate>, String> {
    let bytes = std::fs::read(path).map_err(|e| crate::error::io_reason(&e))?;
    if !parse::looks_like_pem(&bytes) {
        return parse::certificate_from_der(&bytes)
            .map(|cert| vec![cert])
            .ok_or_else(|| "not a certificate".to_string());
    }
    let mut certs = Vec::new();
    for block in parse::pem_blocks(&bytes)? {
        if block.label == "CERTIFICATE" || block.label == "X509 CERTIFICATE" {
            certs.push(
                parse::certificate_from_der(&block.der)
                    .ok_or_else(|| "a CERTIFICATE block is not a valid certificate".to_string())?,
            );
        }
    }
    if certs.is_empty() {
        return Err("not a certificate".into());
    }
    Ok(certs)
}

/// `$XDG_CONFIG_HOME/sealmail`, else `$HOME/.config/sealmail`. XDG says a relative
/// `$XDG_CONFIG_HOME` is invalid and must be ignored.
pub(crate) fn config_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let nonempty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(xdg) = nonempty("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("sealmail"));
    }
    nonempty("HOME").map(|home| home.join(".config").join("sealmail"))
}

/// The default keyring: `$SEALMAIL_KEYRING`, else `$XDG_CONFIG_HOME/sealmail/certs`, else
/// `~/.config/sealmail/certs`.
pub fn default_keyring_dir() -> Option<PathBuf> {
    keyring_dir_from_env(&|name| std::env::var_os(name))
}

/// [`default_keyring_dir`] with the environment passed in (for tests and for callers that
/// already captured it).
pub fn keyring_dir_from_env(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = env("SEALMAIL_KEYRING").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    config_dir(env).map(|dir| dir.join("certs"))
}

/// The keys directory `import` fills and `decrypt` reads without `-i`:
/// `$XDG_CONFIG_HOME/sealmail/keys`, else `~/.config/sealmail/keys`.
pub fn default_keys_dir() -> Option<PathBuf> {
    config_dir(&|name| std::env::var_os(name)).map(|dir| dir.join("keys"))
}

/// The default identities: the paths in `$SEALMAIL_IDENTITY` (several separated like `$PATH`),
/// else every key file in `$XDG_CONFIG_HOME/sealmail/keys/` (`~/.config/sealmail/keys/`).
pub fn default_identity_paths() -> Vec<PathBuf> {
    identity_paths_from_env(&|name| std::env::var_os(name))
}

/// [`default_identity_paths`] with the environment passed in.
///
/// In the keys directory, regular files are taken in name order, except hidden files, editor
/// backups (`~`) and certificates (`*.crt`, `*.cer`: keygen's PREFIX.crt often sits beside
/// PREFIX.key). A missing directory gives no paths.
pub fn identity_paths_from_env(env: &dyn Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    if let Some(list) = env("SEALMAIL_IDENTITY").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let Some(dir) = config_dir(env).map(|dir| dir.join("keys")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_cert = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("crt") || e.eq_ignore_ascii_case("cer"));
            !name.starts_with('.') && !name.ends_with('~') && !is_cert && path.is_file()
        })
        .collect();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn keyring_dir_prefers_sealmail_keyring_then_xdg_then_home() {
        let all = env_of(&[
            ("SEALMAIL_KEYRING", "/k"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(keyring_dir_from_env(&all), Some(PathBuf::from("/k")));
        let xdg = env_of(&[
            ("SEALMAIL_KEYRING", ""),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            keyring_dir_from_env(&xdg),
            Some(PathBuf::from("/x/sealmail/certs"))
        );
        let relative_xdg = env_of(&[("XDG_CONFIG_HOME", "rel"), ("HOME", "/h")]);
        assert_eq!(
            keyring_dir_from_env(&relative_xdg),
            Some(PathBuf::from("/h/.config/sealmail/certs"))
        );
        assert_eq!(keyring_dir_from_env(&env_of(&[])), None);
    }

    #[test]
    fn identity_paths_come_from_the_variable_or_the_keys_dir() {
        let listed = env_of(&[("SEALMAIL_IDENTITY", "/a.key:/b.key"), ("HOME", "/h")]);
        assert_eq!(
            identity_paths_from_env(&listed),
            vec![PathBuf::from("/a.key"), PathBuf::from("/b.key")]
        );

        let home = tempfile::tempdir().unwrap();
        let keys = home.path().join("sealmail").join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for name in ["b.key", "a.pem", ".hidden", "a.pem~", "me.crt", "me.CER"] {
            std::fs::write(keys.join(name), "x").unwrap();
        }
        std::fs::create_dir(keys.join("subdir")).unwrap();
        let xdg = home.path().to_str().unwrap().to_string();
        let from_dir = env_of(&[("XDG_CONFIG_HOME", &xdg)]);
        assert_eq!(
            identity_paths_from_env(&from_dir),
            vec![keys.join("a.pem"), keys.join("b.key")]
        );

        let missing = env_of(&[("XDG_CONFIG_HOME", "/nonexistent-sealmail-test")]);
        assert!(identity_paths_from_env(&missing).is_empty());
    }
}
