//! `export` and `import`: moving an identity (a private key and its certificate) between
//! sealmail and mail clients as PKCS#12, and into the places `decrypt` looks without `-i`.
//!
//! The PKCS#12 format itself is `keys::pkcs12`; this module only decides which key, which
//! certificates and which passphrases, and where the files go.

use super::{PassphraseFrom, Passphrases, read_passphrase};
use crate::error::{Error, Result};
use crate::io::{self as sio, Output, Privacy};
use crate::keys::{self, KeyMaterial, PassphraseSource};
use std::path::{Path, PathBuf};
use x509_cert::Certificate;
use zeroize::Zeroizing;

pub struct ExportRequest {
    pub key: PathBuf,
    pub cert: Option<PathBuf>,
    pub chain: Vec<PathBuf>,
    pub output: PathBuf,
    /// Protects the written file.
    pub passphrase: PassphraseFrom,
    /// Opens an encrypted key.
    pub key_passphrase: PassphraseFrom,
    pub legacy: bool,
}

pub struct ImportRequest {
    pub file: PathBuf,
    pub cert: Option<PathBuf>,
    /// Opens FILE.
    pub passphrase: PassphraseFrom,
    /// Encrypts the stored key instead of the passphrase that opened FILE.
    pub new_passphrase: Option<PassphraseFrom>,
    pub keyring: Option<PathBuf>,
}

/// Largest key or certificate file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// A passphrase source that remembers what it handed out: `import` stores the key under the
/// passphrase that opened it.
struct Remembering {
    inner: Passphrases,
    given: Option<Zeroizing<String>>,
}

impl PassphraseSource for Remembering {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>> {
        let p = self.inner.passphrase(key_file)?;
        self.given = Some(p.clone());
        Ok(p)
    }
}

/// The one key of a key file, its certificate (from the file, `cert`, or beside the file) and
/// every other certificate found on the way (the chain).
struct Loaded {
    key: keys::IdentityKey,
    cert: Option<Certificate>,
    others: Vec<Certificate>,
}

fn load(path: &Path, cert: Option<&Path>, passphrase: &mut dyn PassphraseSource) -> Result<Loaded> {
    let bytes = Zeroizing::new(sio::read_small_file(path, MAX_KEY_FILE)?);
    let source = path.display().to_string();
    let KeyMaterial {
        mut keys,
        mut certs,
    } = keys::key_material_from_bytes(&bytes, &source, passphrase)?;
    if keys.len() != 1 {
        return Err(Error::config(format!(
            "{source} holds {} private keys; give a file with one",
            keys.len()
        )));
    }
    let key = keys.remove(0);
    let public = key.public();
    if let Some(cert_path) = cert {
        let given = read_certificates(cert_path)?;
        let Some(own) = given.iter().find(|c| keys::certificate_is_for(c, &public)) else {
            return Err(Error::config(format!(
                "the certificate in {} is not for the key in {source}",
                cert_path.display()
            ))
            .with_hint("give the certificate that belongs to this key"));
        };
        let own = own.clone();
        certs.retain(|c| *c != own);
        certs.insert(0, own);
        certs.extend(given);
    } else {
        certs.extend(certificates_beside(path));
    }
    let position = certs
        .iter()
        .position(|c| keys::certificate_is_for(c, &public));
    let cert = position.map(|i| certs.remove(i));
    let mut others: Vec<Certificate> = Vec::new();
    for c in certs {
        if Some(&c) != cert.as_ref() && !others.contains(&c) {
            others.push(c);
        }
    }
    Ok(Loaded { key, cert, others })
}

/// The certificates in `STEM.crt`, `STEM.cer` or `STEM.pem` beside the key file `STEM.EXT`
/// (keygen's pair); unreadable files are skipped. Never the keyring's: every certificate found
/// here that is not the key's own goes into an exported file as its chain.
fn certificates_beside(key_path: &Path) -> Vec<Certificate> {
    ["crt", "cer", "pem"]
        .iter()
        .map(|ext| key_path.with_extension(ext))
        .filter(|candidate| candidate != key_path && candidate.is_file())
        .flat_map(|candidate| read_certificates(&candidate).unwrap_or_default())
        .collect()
}

/// Every certificate in a PEM (one or more) or DER file.
fn read_certificates(path: &Path) -> Result<Vec<Certificate>> {
    use der::Decode;
    let bytes = sio::read_small_file(path, MAX_KEY_FILE)?;
    let certs = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        Certificate::load_pem_chain(&bytes).ok()
    } else {
        Certificate::from_der(&bytes).ok().map(|c| vec![c])
    };
    match certs {
        Some(certs) if !certs.is_empty() => Ok(certs),
        _ => Err(Error::config(format!(
            "{}: not a certificate (PEM or DER)",
            path.display()
        ))),
    }
}

pub fn run_export(request: ExportRequest) -> Result<()> {
    let mut key_passphrase = Passphrases {
        from: request.key_passphrase.clone(),
        cached: None,
    };
    let loaded = load(&request.key, request.cert.as_deref(), &mut key_passphrase)?;
    let Some(cert) = loaded.cert else {
        return Err(Error::config(format!(
            "no certificate for the key in {}",
            request.key.display()
        ))
        .with_hint(
            "give it with --cert CRT: mail clients import a key only with its certificate",
        ));
    };
    let mut chain = loaded.others;
    for path in &request.chain {
        for c in read_certificates(path)? {
            if !chain.contains(&c) {
                chain.push(c);
            }
        }
    }
    let output = request.output.display().to_string();
    let passphrase = read_passphrase(&request.passphrase, &output)?;
    let protection = match request.legacy {
        true => keys::Pkcs12Protection::Legacy,
        false => keys::Pkcs12Protection::Modern,
    };
    let der = keys::export_pkcs12(&loaded.key, &cert, &chain, &passphrase, protection)?;
    let mut out = Output::new(Some(&request.output), Privacy::Private);
    {
        let mut writer = out.writer()?;
        writer
            .write_all(&der)
            .map_err(|e| Error::from(e).context(format!("writing {output}")))?;
    }
    out.commit()?;
    eprintln!(
        "sealmail: wrote {output} (PKCS#12: key, certificate and {} CA certificate(s))",
        chain.len()
    );
    Ok(())
}

use std::io::Write as _;

/// `keygen --p12`: PREFIX.p12 beside the new key and certificate, under the key's passphrase.
pub(super) fn write_keygen_p12(
    path: &Path,
    key_pem: &str,
    cert_pem: &str,
    passphrase: &Zeroizing<String>,
) -> Result<()> {
    let mut fixed = keys::FixedPassphrase(passphrase.clone());
    let KeyMaterial { mut keys, .. } =
        keys::key_material_from_bytes(key_pem.as_bytes(), &path.display().to_string(), &mut fixed)?;
    let key = keys
        .pop()
        .ok_or_else(|| Error::io("the new key cannot be read back"))?;
    let cert = Certificate::load_pem_chain(cert_pem.as_bytes())
        .ok()
        .and_then(|mut c| c.pop())
        .ok_or_else(|| Error::io("the new certificate cannot be read back"))?;
    let der = keys::export_pkcs12(&key, &cert, &[], passphrase, keys::Pkcs12Protection::Modern)?;
    sio::write_new_file(path, &der, Privacy::Private)
}

pub fn run_import(request: ImportRequest) -> Result<()> {
    let mut passphrases = Remembering {
        inner: Passphrases {
            from: request.passphrase.clone(),
            cached: None,
        },
        given: None,
    };
    let loaded = load(&request.file, request.cert.as_deref(), &mut passphrases)?;
    let source = request.file.display().to_string();
    let store_passphrase = match &request.new_passphrase {
        Some(from) => Some(read_passphrase(from, "the stored key")?),
        None => passphrases.given.clone(),
    };

    let config = keys::default_keys_dir().ok_or_else(|| {
        Error::cant_create("no place for keys: neither $XDG_CONFIG_HOME nor $HOME is set")
    })?;
    let name = match &loaded.cert {
        Some(cert) => keys::trust::certificate_emails(cert)
            .into_iter()
            .next()
            .map(|e| e.trim().to_ascii_lowercase()),
        None => None,
    };
    let name = match name {
        Some(name) if is_safe_file_name(&name) => name,
        _ => {
            let ski = loaded.key.key_identifier()?;
            ski.iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    create_private_dir(&config)?;
    let key_path = config.join(format!("{name}.key"));
    if key_path.exists() {
        return Err(
            Error::cant_create(format!("{} already exists", key_path.display()))
                .with_hint("import never overwrites a key: move the old one away first"),
        );
    }
    let pem = keys::private_key_pem(&loaded.key, store_passphrase.as_deref().map(|p| p.as_str()))?;

    // The certificate goes beside the key (so the key answers to its issuer and serial number)
    // and into the keyring (so `encrypt -r ADDRESS` finds it).
    let mut written = Vec::new();
    let result = (|| -> Result<()> {
        sio::write_new_file(&key_path, pem.as_bytes(), Privacy::Private)?;
        written.push(key_path.clone());
        if let Some(cert) = &loaded.cert {
            let cert_pem = certificate_pem(cert)?;
            let beside = config.join(format!("{name}.crt"));
            if !beside.exists() {
                sio::write_new_file(&beside, cert_pem.as_bytes(), Privacy::Public)?;
                written.push(beside);
            }
            let keyring = request
                .keyring
                .clone()
                .or_else(keys::default_keyring_dir)
                .ok_or_else(|| Error::cant_create("no keyring directory"))?;
            // Pinned too: the user holds this certificate's private key, so it is theirs, and
            // encrypting to themselves must not lose to another certificate for the address.
            let pinned = keyring.join(keys::KEYRING_PINNED);
            sio::create_dir_all(&pinned)?;
            for in_keyring in [
                keyring.join(format!("{name}.crt")),
                pinned.join(format!("{name}.crt")),
            ] {
                match std::fs::read(&in_keyring) {
                    Ok(existing) if existing == cert_pem.as_bytes() => {}
                    Ok(_) => super::warn(&format!(
                        "{} already exists and holds another certificate; left as it is",
                        in_keyring.display()
                    )),
                    Err(_) => {
                        sio::write_new_file(&in_keyring, cert_pem.as_bytes(), Privacy::Public)?;
                        written.push(in_keyring);
                    }
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    let protected = match store_passphrase {
        Some(_) => "encrypted with a passphrase",
        None => "not encrypted: it had no passphrase",
    };
    eprintln!(
        "sealmail: imported the key of {source} as {} ({protected}){}",
        key_path.display(),
        match written.get(1..) {
            Some(rest) if !rest.is_empty() => format!(
                "; certificate: {}",
                rest.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => String::new(),
        }
    );
    Ok(())
}

fn certificate_pem(cert: &Certificate) -> Result<String> {
    use der::EncodePem;
    cert.to_pem(der::pem::LineEnding::LF)
        .map_err(|_| Error::io("cannot encode the certificate"))
}

/// An address usable as a file name as it is (no path separators, no leading dot).
fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c))
}

/// The keys directory: created 0700; an existing one readable by others is tightened to 0700,
/// since every key sealmail finds without `-i` lives there.
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let fail = |e: std::io::Error| {
        Error::cant_create(format!(
            "cannot create {}: {}",
            dir.display(),
            crate::error::io_reason(&e)
        ))
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(fail)?;
    let mode = std::fs::metadata(dir).map_err(fail)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    Ok(())
}
