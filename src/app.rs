//! Turns a request (what the user asked for, free of clap types) into plans: which recipients,
//! which identities, which input and output. The core modules never look at flags or the
//! environment; this is the one place that does.

use crate::decrypt::{self, DecryptPlan};
use crate::encrypt::{self, EncryptPlan, Source};
use crate::error::{Error, Result};
use crate::io::{self as sio, Output, Privacy};
use crate::keys::{self, Identity, PassphraseSource, Recipient};
use crate::message::Protection;
use crate::policy::{self, CipherRequest, RecipientView};
use crate::smime::{InForm, OutForm};
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

mod identity;
pub use identity::{ExportRequest, ImportRequest};

pub enum Request {
    Encrypt(EncryptRequest),
    Decrypt(DecryptRequest),
    Keygen(KeygenRequest),
    Inspect(InspectRequest),
    NeomuttIndex(NeomuttIndexRequest),
    Sign(SignRequest),
    Verify(VerifyRequest),
    Export(ExportRequest),
    Import(ImportRequest),
}

pub struct EncryptRequest {
    pub input: Option<PathBuf>,
    pub recipients: Vec<String>,
    pub recipients_files: Vec<PathBuf>,
    pub header_recipients: bool,
    pub keyring: Option<PathBuf>,
    /// `--ca`: trust anchors that decide among the keyring's certificates for an address.
    pub ca: Vec<PathBuf>,
    pub cipher: CipherRequest,
    /// `-v` / `--explain`: say on stderr which format was chosen and why.
    pub explain: bool,
    pub entity: bool,
    pub outform: OutForm,
    pub compose: Option<Compose>,
    pub keep_subject: bool,
    pub output: Option<PathBuf>,
    pub force: bool,
    /// `--sign -i KEY`: sign, then encrypt.
    pub sign: Option<Box<SignKey>>,
}

/// Compose flags: build the message from a body and these.
#[derive(Debug, Clone, Default)]
pub struct Compose {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    pub attach: Vec<PathBuf>,
    /// The `--attach` value that INPUT came right after on the command line
    /// (`--attach a.log b.txt`): the user most likely meant two attachments, and b.txt would
    /// silently become the body instead of stdin.
    pub body_follows: Option<PathBuf>,
}

/// Where a key passphrase comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseFrom {
    File(PathBuf),
    Fd(u32),
    /// `$SEALMAIL_PASSPHRASE`, else a prompt on the terminal when there is one.
    Default,
}

pub struct DecryptRequest {
    pub input: Option<PathBuf>,
    pub identities: Vec<PathBuf>,
    pub passphrase: PassphraseFrom,
    pub entity: bool,
    pub inform: InForm,
    pub output: Option<PathBuf>,
    /// `--require-aead`; `$SEALMAIL_REQUIRE_AEAD=1` asks the same.
    pub require_aead: bool,
    /// Trust anchors for a signature inside (`--ca`), the keyring (pinned certificates,
    /// `--import`), and whether an untrusted inner signer is refused.
    pub ca: Vec<PathBuf>,
    pub keyring: Option<PathBuf>,
    pub import: bool,
    pub require_trusted: bool,
}

pub struct KeygenRequest {
    /// `None` for RSA with a self-signed certificate; otherwise a key without certificate.
    pub kind: Option<keys::ModernKind>,
    /// Required for RSA (the certificate's address).
    pub email: Option<String>,
    pub name: Option<String>,
    pub bits: usize,
    pub days: u32,
    pub prefix: Option<PathBuf>,
    /// `Some` to encrypt the key (the passphrase's source); `Default` is not used here.
    pub passphrase: Option<PassphraseFrom>,
    /// `--issuer-key/--issuer-cert`: issue the certificate with this key instead of
    /// self-signing (and make one for the kinds that cannot sign their own).
    pub issuer: Option<Issuer>,
    /// Also write PREFIX.p12.
    pub p12: bool,
}

/// The key and certificate that issue a new key's certificate.
pub struct Issuer {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub passphrase: PassphraseFrom,
}

/// `neomutt-index`: the folders default to `~/.smime/certificates` and `~/.smime/keys`.
pub struct NeomuttIndexRequest {
    pub files: Vec<PathBuf>,
    pub certificates: Option<PathBuf>,
    pub keys: Option<PathBuf>,
}

pub struct InspectRequest {
    pub input: Option<PathBuf>,
    pub inform: InForm,
    /// Where to look up the recipients' certificates (and the pinned ones).
    pub keyring: Option<PathBuf>,
    /// `--ca` bundles, as for encrypt.
    pub ca: Vec<PathBuf>,
}

pub fn run(request: Request) -> Result<()> {
    match request {
        Request::Encrypt(r) => run_encrypt(r),
        Request::Decrypt(r) => run_decrypt(r),
        Request::Keygen(r) => run_keygen(r),
        Request::Inspect(r) => run_inspect(r),
        Request::NeomuttIndex(r) => run_neomutt_index(r),
        Request::Sign(r) => run_sign(r),
        Request::Verify(r) => run_verify(r),
        Request::Export(r) => identity::run_export(r),
        Request::Import(r) => identity::run_import(r),
    }
}

/// `-` and absent both mean stdin/stdout.
fn named(path: &Option<PathBuf>) -> Option<&Path> {
    path.as_deref().filter(|p| *p != Path::new("-"))
}

/// A data error is about the input: name the file it came from (stdin needs no name).
fn name_input(err: Error, input: Option<&Path>) -> Error {
    match input {
        Some(path) if err.kind() == crate::Kind::Data => err.context(path.display()),
        _ => err,
    }
}

fn warn(message: &str) {
    eprintln!("sealmail: warning: {message}");
}

// ---------------------------------------------------------------------------------------------
// encrypt

fn run_encrypt(request: EncryptRequest) -> Result<()> {
    let now = SystemTime::now();
    let input_path = named(&request.input);
    if let Some(key) = &request.sign
        && key.passphrase == PassphraseFrom::Fd(0)
        && request
            .recipients_files
            .iter()
            .any(|f| f.as_os_str() == "-")
    {
        return Err(
            Error::usage("stdin cannot carry both the recipients list and the passphrase")
                .with_hint("give the list as a file, or the passphrase with --passphrase-file"),
        );
    }
    // The signing key first: its passphrase may be asked for, before any output.
    let signing = match &request.sign {
        Some(key) => Some(load_signing_key(key, input_path)?),
        None => None,
    };
    let mut lookups = Lookups {
        keyring: request.keyring.clone().or_else(keys::default_keyring_dir),
        ca_files: request.ca.clone(),
        trust: None,
        explain: request.explain,
        now,
    };
    let mut recipients = Vec::new();
    for r in &request.recipients {
        recipients.extend(resolve_recipient(r, None, &mut lookups)?);
    }
    for list in &request.recipients_files {
        // `-R -`: the list on stdin, which then cannot also carry the message. Its relative
        // paths are relative to the working directory.
        let (list, base) = if list.as_os_str() == "-" {
            if input_path.is_none() {
                return Err(stdin_twice("the recipients list"));
            }
            (PathBuf::from("/dev/stdin"), None)
        } else {
            (list.clone(), list.parent().map(Path::to_path_buf))
        };
        for r in keys::read_recipients_list(&list)? {
            recipients.extend(resolve_recipient(&r, base.as_deref(), &mut lookups)?);
        }
    }

    let reader: Box<dyn BufRead> = match &request.compose {
        Some(compose) => {
            if let (Some(attached), Some(body)) = (&compose.body_follows, input_path) {
                return Err(Error::usage(format!(
                    "'{}' follows --attach {}, so it would be the message body, not an attachment",
                    body.display(),
                    attached.display()
                ))
                .with_hint(format!(
                    "attach each file with its own --attach (--attach {} --attach {}); to send \
                     a file as the body, give it before the first --attach or after --",
                    attached.display(),
                    body.display()
                )));
            }
            let mut body = Vec::new();
            sio::open_input(input_path)?
                .read_to_end(&mut body)
                .map_err(|e| Error::from(e).context("reading the body"))?;
            Box::new(std::io::Cursor::new(crate::compose::build(compose, &body)?))
        }
        None => with_progress(sio::open_input(input_path)?, "encrypting"),
    };
    let mut reader = reader;
    if request.header_recipients {
        let header = peek_header_section(&mut reader)?;
        recipients.extend(header_recipients(&header, &mut lookups)?);
    }
    if recipients.is_empty() {
        return Err(Error::usage("no recipients")
            .with_hint("give -r CERT or ADDRESS, -R FILE, or --header-recipients"));
    }

    let mut output = Output::new(named(&request.output), Privacy::Public);
    if request.outform == OutForm::Der
        && named(&request.output).is_none()
        && sio::stdout_is_terminal()
        && !request.force
    {
        return Err(Error::usage("refusing to write DER to a terminal")
            .with_hint("redirect the output, use -o FILE, or add --force"));
    }
    // A file whose envelope will not fit the hold (base64 makes it larger still) goes out as it
    // is sealed: past the hold a failure reaches stdout whatever we do, and before it the only
    // failures left are read errors and a file that changes while it is read, so holding would
    // buy little and cost about 8 % of the run. Pipes and smaller files keep the hold.
    let input_len = sio::input_len(input_path);
    if input_len.is_some_and(|len| len > sio::STDOUT_HOLD as u64) {
        output.write_through();
    }
    let views: Vec<RecipientView<'_>> = recipients
        .iter()
        .map(|r| RecipientView {
            name: &r.source,
            capabilities: r.capabilities,
            rsa: r.rsa_public_key().is_some(),
        })
        .collect();
    let decided = policy::decide(request.cipher, &views);
    drop(views);
    if request.explain {
        eprintln!("sealmail: format: {}", decided.reason);
    }
    let plan = EncryptPlan {
        content: decided.content,
        transport: decided.transport,
        recipients,
        entity: request.entity,
        protection: Protection {
            protect: !request.entity,
            keep_subject: request.keep_subject,
        },
        outform: request.outform,
    };
    let source = Source {
        reader,
        path: if request.compose.is_some() {
            None
        } else {
            input_path.filter(|_| input_len.is_some())
        },
    };
    let sign_plan = match (&signing, &request.sign) {
        (Some(signing), Some(key)) => Some(crate::sign::SignPlan {
            signer: signing.signer(key.pss)?,
            opaque: false,
            time: now,
        }),
        _ => None,
    };
    encrypt::encrypt_signed(&plan, sign_plan.as_ref(), source, output.writer()?)
        .map_err(|e| name_input(e, input_path))?;
    output.commit()
}

/// A `-r` value: a file (certificate or public key) or an email address for the keyring.
fn resolve_recipient(
    value: &str,
    base: Option<&Path>,
    lookups: &mut Lookups,
) -> Result<Vec<Recipient>> {
    let path = match base {
        Some(base) if Path::new(value).is_relative() => base.join(value),
        _ => PathBuf::from(value),
    };
    if looks_like_address(value) && !path.exists() {
        return lookups.address(value).map(|r| vec![r]);
    }
    keys::load_recipient_file(&path, lookups.now)
}

fn looks_like_address(value: &str) -> bool {
    value.contains('@') && !value.contains('/')
}

/// Address lookups of one run: the keyring, and the trust anchors that decide among its
/// certificates (read at the first address, so runs that name only files never read them).
struct Lookups {
    keyring: Option<PathBuf>,
    /// `--ca` bundles, besides the system store and `$XDG_CONFIG_HOME/sealmail/ca/`.
    ca_files: Vec<PathBuf>,
    trust: Option<keys::trust::TrustStore>,
    /// `-v`: say which certificate was chosen for each address, and why.
    explain: bool,
    now: SystemTime,
}

impl Lookups {
    fn trust(&mut self) -> Result<&keys::trust::TrustStore> {
        if self.trust.is_none() {
            self.trust = Some(load_trust(&self.ca_files, self.keyring.as_deref())?);
        }
        Ok(self.trust.get_or_insert_with(Default::default))
    }

    /// The keyring's certificate for `address` (trusted ones first; see `Keyring::lookup`),
    /// with what the keyring records of what the address reads.
    fn address(&mut self, address: &str) -> Result<Recipient> {
        let dir = self.keyring.clone().ok_or_else(|| {
            Error::no_user(format!("no keyring to look up {address} in")).with_hint(
                "set --keyring DIR or $SEALMAIL_KEYRING, or give the certificate file with -r",
            )
        })?;
        let now = self.now;
        let choice = keys::Keyring::new(&dir).lookup(address, now, self.trust()?)?;
        let recorded = keys::recorded_capabilities(&dir, address)?;
        for w in &choice.warnings {
            warn(w);
        }
        if self.explain {
            eprintln!("sealmail: recipient {}", choice.explanation);
        }
        let mut recipient = choice.recipient;
        if let Some(caps) = recorded {
            recipient.capabilities = Some(caps);
        }
        Ok(recipient)
    }
}

/// The trust store: the system store, `$XDG_CONFIG_HOME/sealmail/ca/`, `ca_files`, and the
/// keyring's pinned certificates. Folders' unreadable files are warnings.
fn load_trust(ca_files: &[PathBuf], keyring: Option<&Path>) -> Result<keys::trust::TrustStore> {
    use crate::keys::trust::{TrustSources, TrustStore};
    let mut sources = TrustSources::from_env(&|name| std::env::var_os(name));
    sources.ca_files = ca_files.to_vec();
    sources.keyring = keyring.map(Path::to_path_buf);
    let trust = TrustStore::load(&sources)?;
    for warning in trust.warnings() {
        warn(warning);
    }
    Ok(trust)
}

/// Read the header section (without its mbox `From ` line) without consuming it, so encrypt
/// still sees the whole message.
fn peek_header_section(reader: &mut Box<dyn BufRead>) -> Result<Vec<u8>> {
    let head = crate::message::read_head(reader)?;
    if !head.is_message() {
        return Err(Error::data(
            "--header-recipients needs a mail message, and the input has no header fields",
        )
        .with_hint("give the recipients with -r, or put To and Cc fields in front of the text"));
    }
    let header = crate::message::without_mbox_line(&head.header_section).to_vec();
    let front = [head.header_section, head.body_start].concat();
    let rest = std::mem::replace(reader, Box::new(std::io::empty()));
    *reader = Box::new(std::io::BufReader::new(
        std::io::Cursor::new(front).chain(rest),
    ));
    Ok(header)
}

/// `--header-recipients`: every To/Cc address must be in the keyring; From only when it is. A
/// Bcc field is refused: its recipients would be named, by their RecipientInfos, in the one
/// envelope every other recipient gets.
fn header_recipients(header: &[u8], lookups: &mut Lookups) -> Result<Vec<Recipient>> {
    let addresses = crate::compose::header_addresses(header)?;
    if !addresses.bcc.is_empty() {
        let bcc = addresses.bcc.join(", ");
        return Err(Error::usage(format!(
            "the message has Bcc recipients ({bcc}): --header-recipients would name them to \
             every other recipient"
        ))
        .with_hint(format!(
            "encrypt the others' copy without the Bcc field, and give each Bcc recipient a \
             copy of their own in a separate run: sealmail encrypt -r {bcc0} MESSAGE | sendmail \
             {bcc0}",
            bcc0 = addresses.bcc[0]
        )));
    }
    let mut out = Vec::new();
    for address in &addresses.recipients {
        out.push(lookups.address(address)?);
    }
    if let Some(from) = &addresses.from {
        match lookups.address(from) {
            Ok(r) => out.push(r),
            Err(e) if e.kind() == crate::Kind::NoUser => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// decrypt

fn run_decrypt(request: DecryptRequest) -> Result<()> {
    let input_path = named(&request.input);
    if input_path.is_none() && request.passphrase == PassphraseFrom::Fd(0) {
        return Err(
            Error::usage("stdin cannot carry both the message and the passphrase")
                .with_hint("give the message as a file when using --passphrase-fd 0"),
        );
    }
    let mut passphrases = Passphrases {
        from: request.passphrase.clone(),
        cached: None,
    };
    if request.identities.iter().any(|p| p.as_os_str() == "-") {
        if input_path.is_none() {
            return Err(stdin_twice("the identity"));
        }
        if request.passphrase == PassphraseFrom::Fd(0) {
            return Err(
                Error::usage("stdin cannot carry both the identity and the passphrase")
                    .with_hint("give the key as a file, or the passphrase with --passphrase-file"),
            );
        }
    }
    let identities = load_identities(&request.identities, &mut passphrases)?;
    let plan = DecryptPlan {
        identities,
        inform: request.inform,
        entity: request.entity,
        require_aead: request.require_aead || require_aead_from_env(),
    };
    // The trust anchors are read only when the message turns out to be signed; a --ca file
    // that cannot be read is said now all the same.
    for ca in &request.ca {
        std::fs::metadata(ca).map_err(|e| Error::read_file(ca, &e))?;
    }
    let keyring = request.keyring.clone().or_else(keys::default_keyring_dir);
    let mut trust = crate::keys::trust::TrustSources::from_env(&|name| std::env::var_os(name));
    trust.ca_files = request.ca.clone();
    trust.keyring = keyring.clone();
    let inner = decrypt::InnerSignatures {
        trust,
        require_trusted: request.require_trusted,
        now: SystemTime::now(),
    };
    let input = with_progress(sio::open_input(input_path)?, "decrypting");
    let mut output = Output::new(named(&request.output), Privacy::Private);
    let (decrypted, signed) = {
        let mut writer = output.writer()?;
        decrypt::decrypt_verified(&plan, Some(&inner), input, &mut writer)
            .map_err(|e| name_input(e, input_path))?
    };
    match &signed {
        Some(signed) => {
            for warning in &signed.warnings {
                warn(warning);
            }
            if let Some(verified) = &signed.verified {
                for line in &verified.report {
                    eprintln!("sealmail: {line}");
                }
                if !verified.verdict.is_trusted() {
                    warn(
                        "the signer above is not trusted: the message may not be from who it says (--require-trusted refuses such messages)",
                    );
                }
            }
        }
        None if request.import => {
            warn("the message is not signed inside its encryption: there is no signer to import");
        }
        None => {}
    }
    if request.import
        && let Some(signed) = &signed
    {
        match &signed.verified {
            Some(verified) if verified.verdict.is_trusted() => {
                import_signer(keyring.as_deref(), verified)?;
            }
            Some(_) => warn("the signer is not trusted, so it was not imported"),
            None => warn("the signature could not be checked, so no signer was imported"),
        }
    }
    output.commit()?;
    // A valid signature inside covers what CBC does not: the content as the signer wrote it.
    if !decrypted.integrity_protected && signed.as_ref().is_none_or(|s| s.verified.is_none()) {
        warn(
            "the message was not integrity-protected (CBC in EnvelopedData): it decrypted, but \
             could have been altered on the way without anyone noticing",
        );
    }
    Ok(())
}

/// `$SEALMAIL_REQUIRE_AEAD`: `1` (or `yes`, `true`) asks what `--require-aead` asks.
fn require_aead_from_env() -> bool {
    std::env::var("SEALMAIL_REQUIRE_AEAD")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "yes" | "true"))
}

/// stdin serves one purpose per run (rage's rule): the message, or a key, or a list.
fn stdin_twice(what: &str) -> Error {
    Error::usage(format!("stdin cannot carry both the message and {what}"))
        .with_hint("give the message as a file (INPUT) when reading the other from -")
}

fn load_identities(paths: &[PathBuf], passphrases: &mut Passphrases) -> Result<Vec<Identity>> {
    if !paths.is_empty() {
        let mut identities = Vec::new();
        for path in paths {
            identities.extend(load_identity(path, passphrases)?);
        }
        return Ok(identities);
    }
    // Defaults: $SEALMAIL_IDENTITY, else every key in the keys directory. A default key that
    // cannot be loaded is skipped with a warning; an explicit one is an error.
    let defaults = keys::default_identity_paths();
    if defaults.is_empty() {
        return Err(Error::no_permission("no identity to decrypt with")
            .with_hint("give a private key with -i KEY, set $SEALMAIL_IDENTITY, or put keys in ~/.config/sealmail/keys/"));
    }
    let explicit = std::env::var_os("SEALMAIL_IDENTITY").is_some();
    let mut identities = Vec::new();
    for path in &defaults {
        match load_identity(path, passphrases) {
            Ok(ids) => identities.extend(ids),
            Err(e) if !explicit => warn(&format!("skipping {}: {}", path.display(), e.message())),
            Err(e) => return Err(e),
        }
    }
    Ok(identities)
}

/// One `-i` value: a key file (`-` for stdin) and, when a certificate with the same stem sits
/// beside it (keygen's `PREFIX.key` + `PREFIX.crt`), that certificate's identifiers too: the key
/// then answers to the issuerAndSerialNumber senders put in the message instead of needing a
/// blind try.
fn load_identity(path: &Path, passphrases: &mut Passphrases) -> Result<Vec<Identity>> {
    if path.as_os_str() == "-" {
        // Allocated once at the limit: a growing buffer would leave copies of the key behind
        // in freed memory that nothing wipes.
        let mut buffer = sio::WipedPrefix::zeroed(1 << 20);
        let bytes = buffer
            .fill_from(&mut std::io::stdin().lock())
            .map_err(|e| Error::from(e).context("reading the identity from stdin"))?;
        return keys::identities_from_bytes(bytes, "stdin", passphrases);
    }
    let mut identities = keys::load_identity_file(path, passphrases)?;
    for cert in candidate_certificates(path) {
        for identity in &mut identities {
            identity.add_certificate(&cert);
        }
    }
    Ok(identities)
}

/// Certificates that may be the key's own: `STEM.crt`, `STEM.cer` or `STEM.pem` beside the key
/// file `STEM.EXT` (also with STEM cut at its first dot: `alice.pkcs8.der` finds `alice.crt`),
/// then the keyring's certificates. Only one whose public key is the key's is used
/// (`Identity::add_certificate`). Unreadable or unparseable files are ignored: a certificate
/// only adds identifiers, the key works without it. Without them, mail that names its
/// recipients only by issuer and serial (PKCS#1 v1.5, which is never tried blind) cannot be
/// matched to a bare key.
fn candidate_certificates(key_path: &Path) -> Vec<x509_cert::Certificate> {
    let mut files = keys::certificate_files_beside(key_path);
    if let Some(dir) = keys::default_keyring_dir() {
        files.extend(keys::keyring_certificate_files(
            &dir.join(keys::KEYRING_PINNED),
        ));
        files.extend(keys::keyring_certificate_files(&dir));
    }
    files
        .iter()
        .filter(|f| f.is_file())
        .flat_map(|f| certificates_in(f))
        .collect()
}

/// The certificates in a file (PEM, possibly several, or DER); none when unreadable.
fn certificates_in(path: &Path) -> Vec<x509_cert::Certificate> {
    sio::read_small_file(path, 1 << 20)
        .ok()
        .and_then(|bytes| keys::trust::certificates_from_bytes(&bytes).ok())
        .unwrap_or_default()
}

/// Passphrases from the source the user named, read once.
struct Passphrases {
    from: PassphraseFrom,
    cached: Option<Zeroizing<String>>,
}

impl PassphraseSource for Passphrases {
    fn passphrase(&mut self, key_file: &str) -> Result<Zeroizing<String>> {
        if let Some(p) = &self.cached {
            return Ok(p.clone());
        }
        let p = read_passphrase(&self.from, key_file)?;
        self.cached = Some(p.clone());
        Ok(p)
    }
}

fn read_passphrase(from: &PassphraseFrom, key_file: &str) -> Result<Zeroizing<String>> {
    match from {
        PassphraseFrom::File(path) => {
            let bytes =
                Zeroizing::new(std::fs::read(path).map_err(|e| Error::read_file(path, &e))?);
            first_line(&bytes, &path.display().to_string())
        }
        PassphraseFrom::Fd(0) => read_first_line(std::io::stdin().lock(), "stdin"),
        PassphraseFrom::Fd(fd) => {
            // Without unsafe code, another descriptor is reached through the /dev/fd view of it.
            let path = PathBuf::from(format!("/dev/fd/{fd}"));
            let file = std::fs::File::open(&path).map_err(|e| {
                Error::no_input(format!(
                    "cannot read passphrase from file descriptor {fd}: {}",
                    crate::error::io_reason(&e)
                ))
            })?;
            read_first_line(
                std::io::BufReader::new(file),
                &format!("file descriptor {fd}"),
            )
        }
        PassphraseFrom::Default => {
            if let Ok(p) = std::env::var("SEALMAIL_PASSPHRASE") {
                return Ok(Zeroizing::new(p));
            }
            if std::fs::File::open("/dev/tty").is_ok() {
                let p =
                    rpassword::prompt_password(format!("sealmail: passphrase for {key_file}: "))
                        .map_err(|e| {
                            Error::io(format!(
                                "cannot read the passphrase from the terminal: {}",
                                crate::error::io_reason(&e)
                            ))
                        })?;
                return Ok(Zeroizing::new(p));
            }
            Err(Error::config(format!(
                "{key_file} is passphrase-protected and no passphrase was given"
            ))
            .with_hint(
                "give it with --passphrase-file FILE, --passphrase-fd N or $SEALMAIL_PASSPHRASE",
            ))
        }
    }
}

/// Longest passphrase line read; the buffer is allocated once at this size so that growing it
/// never leaves copies of the passphrase behind in freed memory.
const MAX_PASSPHRASE: usize = 4096;

fn read_first_line(reader: impl BufRead, what: &str) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE + 1));
    reader
        .take(MAX_PASSPHRASE as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::from(e).context(format!("reading the passphrase from {what}")))?;
    first_line(&line, what)
}

fn first_line(bytes: &[u8], what: &str) -> Result<Zeroizing<String>> {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let s = std::str::from_utf8(line)
        .map_err(|_| Error::config(format!("the passphrase from {what} is not UTF-8")))?;
    Ok(Zeroizing::new(s.to_string()))
}

// ---------------------------------------------------------------------------------------------
// progress

/// Wrap `reader` in a [`Progress`] line when stderr is a terminal; otherwise leave it alone
/// (scripts, mail clients and CI logs get no progress noise).
fn with_progress(reader: Box<dyn BufRead>, verb: &'static str) -> Box<dyn BufRead> {
    if std::io::stderr().is_terminal() {
        Box::new(Progress::new(reader, verb, Box::new(std::io::stderr())))
    } else {
        reader
    }
}

/// Counts the bytes read through it and, once a run has lasted [`Progress::QUIET`], rewrites
/// one line on the terminal (`sealmail: encrypting… 123 MiB`) at most every
/// [`Progress::EVERY`]. Short runs print nothing. The line is cleared when the reader is dropped,
/// so an error message that follows starts on a clean line.
struct Progress<R> {
    inner: R,
    verb: &'static str,
    sink: Box<dyn std::io::Write>,
    bytes: u64,
    started: Instant,
    last: Option<Instant>,
}

impl<R> Progress<R> {
    const QUIET: Duration = Duration::from_secs(2);
    const EVERY: Duration = Duration::from_millis(500);

    fn new(inner: R, verb: &'static str, sink: Box<dyn std::io::Write>) -> Self {
        Progress {
            inner,
            verb,
            sink,
            bytes: 0,
            started: Instant::now(),
            last: None,
        }
    }

    fn advance(&mut self, n: usize) {
        self.bytes += n as u64;
        let now = Instant::now();
        let due = match self.last {
            None => now.duration_since(self.started) >= Self::QUIET,
            Some(last) => now.duration_since(last) >= Self::EVERY,
        };
        if due {
            self.last = Some(now);
            // A progress line that cannot be written is not worth failing the run for.
            let _ = write!(
                self.sink,
                "\r\x1b[2Ksealmail: {}… {} MiB",
                self.verb,
                self.bytes >> 20
            );
            let _ = self.sink.flush();
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Progress<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.advance(amt);
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        if self.last.is_some() {
            let _ = write!(self.sink, "\r\x1b[2K");
            let _ = self.sink.flush();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// keygen, inspect

fn run_keygen(request: KeygenRequest) -> Result<()> {
    if let Some(kind) = request.kind {
        return run_keygen_modern(kind, &request);
    }
    let Some(email) = request.email.clone() else {
        return Err(Error::usage("keygen needs --email ADDR for an RSA key and its certificate")
            .with_hint("or make a key without certificate: --kind p256|x25519|ml-kem-768|ml-kem-1024 -o PREFIX"));
    };
    let prefix = request
        .prefix
        .clone()
        .unwrap_or_else(|| PathBuf::from(&email));
    let key_path = with_suffix(&prefix, "key");
    let cert_path = with_suffix(&prefix, "crt");
    let p12_path = p12_path_of(&request, &prefix)?;
    for path in [Some(&key_path), Some(&cert_path), p12_path.as_ref()]
        .into_iter()
        .flatten()
    {
        if path.exists() {
            return Err(
                Error::cant_create(format!("{} already exists", path.display())).with_hint(
                    "keygen never overwrites: choose another -o PREFIX or move the old files",
                ),
            );
        }
    }
    let issuer = request.issuer.as_ref().map(load_issuer).transpose()?;
    let passphrase = keygen_passphrase(request.passphrase.as_ref(), &key_path)?;
    let unencrypted = passphrase.is_none();
    let mut generated = keys::keygen(&keys::KeygenRequest {
        email,
        name: request.name.clone(),
        bits: request.bits,
        days: request.days,
        passphrase: passphrase.clone(),
    })?;
    if let Some(issuer) = &issuer {
        // The self-signed certificate carries the new key's SubjectPublicKeyInfo.
        let own = keys::trust::certificates_from_bytes(generated.cert_pem.as_bytes())
            .ok()
            .and_then(|certs| certs.into_iter().next())
            .ok_or_else(|| Error::io("cannot read back the new certificate"))?;
        let spki = der::Encode::to_der(own.tbs_certificate().subject_public_key_info())
            .map_err(|_| Error::io("cannot encode the new public key"))?;
        generated.cert_pem = issue_certificate(issuer, &request, &spki)?;
    }
    sio::write_new_file(&key_path, generated.key_pem.as_bytes(), Privacy::Private)?;
    if let Err(e) = sio::write_new_file(&cert_path, generated.cert_pem.as_bytes(), Privacy::Public)
    {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    if let (Some(p12_path), Some(passphrase)) = (&p12_path, &passphrase) {
        if let Err(e) = identity::write_keygen_p12(
            p12_path,
            &generated.key_pem,
            &generated.cert_pem,
            passphrase,
        ) {
            let _ = std::fs::remove_file(&key_path);
            let _ = std::fs::remove_file(&cert_path);
            return Err(e);
        }
        eprintln!(
            "sealmail: wrote {} (PKCS#12 for mail clients)",
            p12_path.display()
        );
    }
    eprintln!(
        "sealmail: wrote {} (private key) and {} ({})",
        key_path.display(),
        cert_path.display(),
        match &issuer {
            Some(issuer) => format!("certificate issued by {}", issuer.key.source),
            None => "self-signed certificate".to_string(),
        }
    );
    if unencrypted {
        note_unencrypted(&key_path);
    }
    Ok(())
}

/// `--p12`: PREFIX.p12, which needs a passphrase to protect it.
fn p12_path_of(request: &KeygenRequest, prefix: &Path) -> Result<Option<PathBuf>> {
    if !request.p12 {
        return Ok(None);
    }
    if request.passphrase.is_none() {
        return Err(Error::usage("keygen --p12 needs a passphrase")
            .with_hint("give it with --passphrase-file FILE or --passphrase-fd N: a PKCS#12 file is always protected by one"));
    }
    Ok(Some(with_suffix(prefix, "p12")))
}

/// `keygen --kind ...`: PREFIX.key (PKCS#8) and PREFIX.pub (SPKI); with an issuer also
/// PREFIX.crt, and with `--p12` PREFIX.p12 holding the key and that certificate.
fn run_keygen_modern(kind: keys::ModernKind, request: &KeygenRequest) -> Result<()> {
    if request.issuer.is_some() && request.email.is_none() {
        return Err(Error::usage(
            "keygen --issuer-key needs --email ADDR: the certificate is for an address",
        ));
    }
    if request.p12 && request.issuer.is_none() {
        // A mail client imports a PKCS#12 file for its certificate, and a --kind key has one
        // only when an issuer makes it.
        return Err(Error::usage(format!(
            "keygen --p12 needs a certificate, and a {} key gets one only from --issuer-key",
            kind.name()
        ))
        .with_hint(
            "give --issuer-key and --issuer-cert, leave out --kind for an RSA key with its own certificate, or leave out --p12 (sealmail export can pack a key and its certificate later)",
        ));
    }
    let Some(prefix) = request
        .prefix
        .clone()
        .or_else(|| request.email.as_ref().map(PathBuf::from))
    else {
        return Err(Error::usage(format!(
            "keygen --kind needs -o PREFIX (or --email) to name the {} key files",
            kind.name()
        )));
    };
    let key_path = with_suffix(&prefix, "key");
    let pub_path = with_suffix(&prefix, "pub");
    let cert_path = with_suffix(&prefix, "crt");
    let p12_path = p12_path_of(request, &prefix)?;
    let mut paths = vec![&key_path, &pub_path];
    if request.issuer.is_some() {
        paths.push(&cert_path);
    }
    paths.extend(p12_path.as_ref());
    for path in paths {
        if path.exists() {
            return Err(
                Error::cant_create(format!("{} already exists", path.display())).with_hint(
                    "keygen never overwrites: choose another -o PREFIX or move the old files",
                ),
            );
        }
    }
    let issuer = request.issuer.as_ref().map(load_issuer).transpose()?;
    let passphrase = keygen_passphrase(request.passphrase.as_ref(), &key_path)?;
    let generated = keys::keygen_modern(kind, passphrase.as_ref())?;
    let cert_pem = match &issuer {
        Some(issuer) => {
            let (_, spki) = der::pem::decode_vec(generated.public_pem.as_bytes())
                .map_err(|_| Error::io("cannot read back the new public key"))?;
            Some(issue_certificate(issuer, request, &spki)?)
        }
        None => None,
    };
    sio::write_new_file(&key_path, generated.key_pem.as_bytes(), Privacy::Private)?;
    let mut written = vec![&key_path];
    let mut outputs = vec![(&pub_path, generated.public_pem.as_str())];
    if let Some(cert_pem) = &cert_pem {
        outputs.push((&cert_path, cert_pem.as_str()));
    }
    for (path, text) in outputs {
        if let Err(e) = sio::write_new_file(path, text.as_bytes(), Privacy::Public) {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        written.push(path);
    }
    if let (Some(p12_path), Some(cert_pem), Some(passphrase)) = (&p12_path, &cert_pem, &passphrase)
    {
        if let Err(e) =
            identity::write_keygen_p12(p12_path, &generated.key_pem, cert_pem, passphrase)
        {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        eprintln!(
            "sealmail: wrote {} (PKCS#12 for mail clients)",
            p12_path.display()
        );
    }
    match &issuer {
        Some(issuer) => eprintln!(
            "sealmail: wrote {} ({} private key), {} (public key, for -r) and {} (certificate issued by {})",
            key_path.display(),
            kind.name(),
            pub_path.display(),
            cert_path.display(),
            issuer.key.source
        ),
        None => eprintln!(
            "sealmail: wrote {} ({} private key) and {} (public key, for -r)",
            key_path.display(),
            kind.name(),
            pub_path.display()
        ),
    }
    if passphrase.is_none() {
        note_unencrypted(&key_path);
    }
    Ok(())
}

/// `--issuer-key/--issuer-cert`, loaded and checked before any key is made.
struct LoadedIssuer {
    key: Identity,
    cert: x509_cert::Certificate,
}

fn load_issuer(issuer: &Issuer) -> Result<LoadedIssuer> {
    let mut passphrases = Passphrases {
        from: issuer.passphrase.clone(),
        cached: None,
    };
    let key = keys::load_identity_file(&issuer.key, &mut passphrases)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::config(format!("no private key in {}", issuer.key.display())))?;
    let cert = read_certificates(&issuer.cert)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::config(format!("no certificate in {}", issuer.cert.display())))?;
    Ok(LoadedIssuer { key, cert })
}

/// The certificate the issuer gives the new key (SubjectPublicKeyInfo DER `spki`).
fn issue_certificate(
    issuer: &LoadedIssuer,
    request: &KeygenRequest,
    spki: &[u8],
) -> Result<String> {
    let Some(email) = request.email.as_deref() else {
        return Err(Error::usage(
            "keygen --issuer-key needs --email ADDR: the certificate is for an address",
        ));
    };
    keys::issued_certificate(
        &keys::CertificateRequest {
            email,
            name: request.name.as_deref(),
            days: request.days,
            spki_der: spki,
            issuer_key: &issuer.key,
            issuer_cert: &issuer.cert,
        },
        SystemTime::now(),
    )
}

/// The passphrase to encrypt a new key with: from the option when there is one (an empty one
/// is refused, 64: it would protect nothing while looking as if it did); else, on a terminal,
/// asked twice (an empty answer means no passphrase); else none. A key written unencrypted is
/// said so on stderr. Nothing is ever prompted for without a terminal.
/// Said on stderr once an unencrypted key has been written.
fn note_unencrypted(key_path: &Path) {
    eprintln!(
        "sealmail: note: {} is written unencrypted; anyone who can read the file can decrypt your mail (give --passphrase-file or --passphrase-fd to encrypt it)",
        key_path.display()
    );
}

fn keygen_passphrase(
    from: Option<&PassphraseFrom>,
    key_path: &Path,
) -> Result<Option<Zeroizing<String>>> {
    let key_file = key_path.display().to_string();
    // The note that the key is unencrypted comes after the key is written (note_unencrypted), so
    // a keygen that fails on its other arguments prints only its error.
    let unencrypted = || Ok(None);
    if let Some(from) = from {
        let passphrase = read_passphrase(from, &key_file)?;
        if passphrase.is_empty() {
            return Err(Error::usage("the passphrase for the new key is empty")
                .with_hint("give a non-empty passphrase, or leave out the passphrase option for an unencrypted key"));
        }
        return Ok(Some(passphrase));
    }
    let on_terminal = std::io::stdin().is_terminal() && std::fs::File::open("/dev/tty").is_ok();
    if !on_terminal {
        return unencrypted();
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| {
                Error::io(format!(
                    "cannot read the passphrase from the terminal: {}",
                    crate::error::io_reason(&e)
                ))
            })
    };
    let first = ask(&format!(
        "sealmail: passphrase to encrypt {key_file} (empty for none): "
    ))?;
    if first.is_empty() {
        return unencrypted();
    }
    let again = ask("sealmail: the same passphrase again: ")?;
    if *again != *first {
        return Err(Error::usage(
            "the two passphrases differ; no key was written",
        ));
    }
    Ok(Some(first))
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn run_inspect(request: InspectRequest) -> Result<()> {
    let input = sio::open_input(named(&request.input))?;
    let inspection = decrypt::inspect(input, request.inform)
        .map_err(|e| name_input(e, named(&request.input)))?;
    let keyring = request.keyring.clone().or_else(keys::default_keyring_dir);
    let notes = match keyring.as_deref().filter(|dir| dir.is_dir()) {
        Some(dir) => Some(keyring_notes(&inspection, dir, &request.ca)?),
        None => None,
    };
    let mut output = Output::new(None, Privacy::Public);
    {
        let mut w = output.writer()?;
        write!(w, "{inspection}")?;
        if let (Some(notes), Some(dir)) = (notes, &keyring) {
            writeln!(w, "in the keyring {}:", dir.display())?;
            for (i, note) in notes.iter().enumerate() {
                writeln!(w, "  {}. {note}", i + 1)?;
            }
        }
    }
    output.commit()
}

/// For each recipient of an inspected message: its certificate in the keyring, whether it is
/// trusted, and whether it is the one `encrypt -r ADDRESS` would choose now (a message sealed to
/// another certificate for the address, say an impostor's, shows here).
fn keyring_notes(
    inspection: &decrypt::Inspection,
    dir: &Path,
    ca_files: &[PathBuf],
) -> Result<Vec<String>> {
    use crate::keys::trust::Purpose;
    let now = SystemTime::now();
    let trust = load_trust(ca_files, Some(dir))?;
    let authorities = keys::keyring_authorities(dir);
    let keyring = keys::Keyring::new(dir);
    let mut notes = Vec::new();
    for info in &inspection.head.recipients {
        let found: Vec<_> = crate::cms::recipient::recipient_ids(info)
            .iter()
            .flat_map(|rid| keys::find_in_keyring(dir, rid))
            .collect();
        let Some((path, cert)) = found.into_iter().next() else {
            notes.push("no certificate in the keyring names this recipient".to_string());
            continue;
        };
        let verdict = trust.validate(&cert, &authorities, now, Purpose::EmailEncryption);
        let described = keys::describe_certificate_in(&path, &cert);
        let Some(address) = keys::trust::certificate_emails(&cert).into_iter().next() else {
            notes.push(format!("{described}; {}", verdict.describe()));
            continue;
        };
        let choice = match keyring.lookup(&address, now, &trust) {
            Ok(choice) if choice.certificate == cert => {
                format!("the keyring's choice for {address}")
            }
            Ok(choice) => format!(
                "NOT the keyring's choice for {address}, which is {} ({})",
                keys::describe_certificate_in(&choice.path, &choice.certificate),
                choice.verdict.describe()
            ),
            Err(e) => format!("no keyring choice for {address}: {}", e.message()),
        };
        notes.push(format!(
            "{address}: {described}; {}; {choice}",
            verdict.describe()
        ));
    }
    Ok(notes)
}

// ---------------------------------------------------------------------------------------------
// neomutt-index

fn run_neomutt_index(request: NeomuttIndexRequest) -> Result<()> {
    use crate::neomutt::{self, EntryKind};
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let folder = |given: Option<PathBuf>, default: &str, flag: &str| {
        given
            .or_else(|| home.as_ref().map(|h| h.join(".smime").join(default)))
            .ok_or_else(|| {
                Error::usage(format!("no {flag} folder: $HOME is not set"))
                    .with_hint(format!("give it with {flag} DIR"))
            })
    };
    let request = neomutt::IndexRequest {
        certificates: folder(request.certificates, "certificates", "--certs")?,
        keys: folder(request.keys, "keys", "--keys")?,
        files: request.files,
    };
    let entries = neomutt::add_to_index(&request, SystemTime::now())?;
    let mut output = Output::new(None, Privacy::Public);
    {
        let mut w = output.writer()?;
        for entry in &entries {
            let (kind, folder) = match entry.kind {
                EntryKind::Certificate => ("certificate", &request.certificates),
                EntryKind::Key => ("key", &request.keys),
            };
            writeln!(
                w,
                "{kind} {} {} ({})",
                entry.name,
                entry.mailbox,
                folder.join(&entry.name).display()
            )?;
        }
    }
    output.commit()?;
    if let Some(key) = entries.iter().find(|e| e.kind == EntryKind::Key) {
        eprintln!(
            "sealmail: for neomutt: set smime_default_key = \"{}\"   # {}",
            key.name, key.mailbox
        );
    }
    Ok(())
}

use std::io::Write as _;

// ---------------------------------------------------------------------------------------------
// sign and verify

pub struct SignRequest {
    pub input: Option<PathBuf>,
    pub identity: PathBuf,
    pub cert: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    pub opaque: bool,
    pub pss: bool,
    pub passphrase: PassphraseFrom,
    pub output: Option<PathBuf>,
}

pub struct VerifyRequest {
    pub input: Option<PathBuf>,
    pub ca: Vec<PathBuf>,
    pub keyring: Option<PathBuf>,
    pub import: bool,
    pub allow_untrusted: bool,
    pub output: Option<PathBuf>,
}

fn run_sign(request: SignRequest) -> Result<()> {
    let input_path = named(&request.input);
    let key = SignKey {
        identity: request.identity.clone(),
        cert: request.cert.clone(),
        chain: request.chain.clone(),
        pss: request.pss,
        passphrase: request.passphrase.clone(),
    };
    let signing = load_signing_key(&key, input_path)?;
    let plan = crate::sign::SignPlan {
        signer: signing.signer(key.pss)?,
        opaque: request.opaque,
        time: SystemTime::now(),
    };
    let input = sio::open_input(input_path)?;
    let mut output = Output::new(named(&request.output), Privacy::Public);
    {
        let mut writer = output.writer()?;
        crate::sign::sign(&plan, input, &mut writer).map_err(|e| name_input(e, input_path))?;
    }
    output.commit()
}

/// The signing key's flags, shared by `sign` and `encrypt --sign`.
#[derive(Debug, Clone)]
pub struct SignKey {
    pub identity: PathBuf,
    pub cert: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    pub pss: bool,
    pub passphrase: PassphraseFrom,
}

/// A loaded signing key with its certificate and the chain to send along.
struct SigningKey {
    identity: Identity,
    certificate: x509_cert::Certificate,
    chain: Vec<x509_cert::Certificate>,
}

impl SigningKey {
    fn signer(&self, pss: bool) -> Result<crate::cms::signed::Signer<'_>> {
        use crate::keys::signature::RsaPadding;
        Ok(crate::cms::signed::Signer {
            identity: &self.identity,
            certificate: self.certificate.clone(),
            chain: self.chain.clone(),
            padding: if pss {
                RsaPadding::Pss
            } else {
                RsaPadding::Pkcs1v15
            },
            capabilities: crate::cms::Capabilities::all().to_der()?,
        })
    }
}

/// The key (its passphrase from the flags), its certificate (`--cert`, else in the key file or
/// beside it) and the chain. Refused before anything is read from the message: a key that
/// cannot sign, or a key without its certificate.
fn load_signing_key(key: &SignKey, input_path: Option<&Path>) -> Result<SigningKey> {
    if input_path.is_none() && key.passphrase == PassphraseFrom::Fd(0) {
        return Err(
            Error::usage("stdin cannot carry both the message and the passphrase")
                .with_hint("give the message as a file when using --passphrase-fd 0"),
        );
    }
    if input_path.is_none() && key.identity.as_os_str() == "-" {
        return Err(stdin_twice("the identity"));
    }
    let mut passphrases = Passphrases {
        from: key.passphrase.clone(),
        cached: None,
    };
    let mut identity = load_identity(&key.identity, &mut passphrases)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::config("no private key to sign with"))?;
    let source = key.identity.display().to_string();
    if !keys::signature::can_sign(&identity) {
        return Err(keys::signature::cannot_sign(&identity));
    }
    if key.pss && identity.public_key().is_none() {
        return Err(Error::usage(format!(
            "--pss is for RSA keys, and the key in {source} is not one"
        )));
    }
    let mut candidates = match &key.cert {
        Some(path) => read_certificates(path)?,
        None => {
            // The certificates of the key's own file (PEM or PKCS#12), then any beside it or
            // in the keyring.
            let mut found = identity.file_certificates.clone();
            found.extend(candidate_certificates(&key.identity));
            found
        }
    };
    let position = candidates
        .iter()
        .position(|cert| identity.add_certificate(cert))
        .ok_or_else(|| {
            Error::config(format!("no certificate for the key in {source}"))
                .with_hint("give the key's certificate with --cert FILE")
        })?;
    let certificate = candidates.remove(position);
    let mut chain = candidates;
    if let Some(path) = &key.chain {
        chain.extend(read_certificates(path)?);
    }
    Ok(SigningKey {
        identity,
        certificate,
        chain,
    })
}

/// Every certificate in a file the user named (66 when unreadable, 78 when it holds none).
fn read_certificates(path: &Path) -> Result<Vec<x509_cert::Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| Error::read_file(path, &e))?;
    keys::trust::certificates_from_bytes(&bytes)
        .map_err(|reason| Error::config(format!("{}: {reason}", path.display())))
}

/// `--import`: the signer's certificate (pinned when trusted) and its capabilities into the
/// keyring.
fn import_signer(keyring: Option<&Path>, verified: &crate::verify::Verified) -> Result<()> {
    let dir = keyring.ok_or_else(|| {
        Error::usage("--import needs a keyring")
            .with_hint("give --keyring DIR or set $SEALMAIL_KEYRING")
    })?;
    let trusted = verified.verdict.is_trusted();
    for line in crate::verify::import(dir, &verified.signature, trusted)? {
        eprintln!("sealmail: {line}");
    }
    Ok(())
}

fn run_verify(request: VerifyRequest) -> Result<()> {
    let input_path = named(&request.input);
    let keyring = request.keyring.clone().or_else(keys::default_keyring_dir);
    let trust = load_trust(&request.ca, keyring.as_deref())?;
    let plan = crate::verify::VerifyPlan {
        trust,
        intermediates: Vec::new(),
        allow_untrusted: request.allow_untrusted,
        now: SystemTime::now(),
    };
    let input = sio::open_input(input_path)?;
    let mut output = Output::new(named(&request.output), Privacy::Public);
    let verified = {
        let mut writer = output.writer()?;
        crate::verify::verify(&plan, input, &mut writer).map_err(|e| name_input(e, input_path))?
    };
    for line in &verified.report {
        eprintln!("sealmail: {line}");
    }
    if !verified.verdict.is_trusted() {
        warn("the content above comes from a signer who is not trusted (--allow-untrusted)");
    }
    if request.import {
        import_signer(keyring.as_deref(), &verified)?;
    }
    output.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink the test can read after the reader has been dropped.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn drain(mut reader: impl BufRead) -> u64 {
        let mut total = 0u64;
        loop {
            let n = reader.fill_buf().unwrap().len();
            if n == 0 {
                return total;
            }
            reader.consume(n);
            total += n as u64;
        }
    }

    #[test]
    fn progress_is_silent_for_a_short_run_and_counts_every_byte() {
        let sink = Shared::default();
        let data = vec![7u8; 3 << 20];
        let mut reader = Progress::new(
            std::io::BufReader::new(&data[..]),
            "encrypting",
            Box::new(sink.clone()),
        );
        let mut copy = Vec::new();
        reader.read_to_end(&mut copy).unwrap();
        assert_eq!(copy, data);
        assert_eq!(reader.bytes, 3 << 20);
        drop(reader);
        assert!(sink.0.lock().unwrap().is_empty());
    }

    #[test]
    fn progress_of_a_long_run_shows_mib_once_per_interval_and_clears_the_line() {
        let sink = Shared::default();
        let data = vec![0u8; 5 << 20];
        let mut reader = Progress::new(
            std::io::BufReader::with_capacity(1 << 20, &data[..]),
            "decrypting",
            Box::new(sink.clone()),
        );
        // As if the run had started long ago: the first read is past the quiet period.
        reader.started = Instant::now() - Duration::from_secs(60);
        assert_eq!(drain(&mut reader), 5 << 20);
        drop(reader);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("sealmail: decrypting… 1 MiB").count(),
            1,
            "{text:?}"
        );
        assert!(text.ends_with("\r\x1b[2K"), "{text:?}");
    }

    #[test]
    fn a_certificate_beside_a_key_adds_its_issuer_and_serial() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys");
        for name in ["alice.key", "alice.crt"] {
            std::fs::copy(fixtures.join(name), dir.path().join(name)).unwrap();
        }
        std::fs::copy(fixtures.join("bob.key"), dir.path().join("bob.key")).unwrap();
        let mut passphrases = Passphrases {
            from: PassphraseFrom::Default,
            cached: None,
        };
        let alice = load_identity(&dir.path().join("alice.key"), &mut passphrases).unwrap();
        let cert = keys::load_recipient_file(&fixtures.join("alice.crt"), SystemTime::now())
            .unwrap()
            .remove(0);
        assert!(matches!(
            cert.id,
            keys::RecipientIdentifier::IssuerAndSerialNumber(_)
        ));
        assert!(alice[0].matches(&cert.id), "{:?}", alice[0]);
        // bob.key has no certificate beside it: his key id only.
        let bob = load_identity(&dir.path().join("bob.key"), &mut passphrases).unwrap();
        assert_eq!(bob[0].ids.len(), 1);
    }
}
