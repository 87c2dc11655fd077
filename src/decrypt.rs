//! Decryption, top to bottom: open the S/MIME (or PEM, or DER) envelope, read the CMS head,
//! unwrap the session key with an identity, verify the tag over the whole ciphertext FIRST while
//! spooling the ciphertext aside, and only then decrypt it and put the message back together.
//! Plaintext whose tag did not verify never reaches the output.
//!
//! Also `inspect`: the same envelope reading without any key.
//!
//! Not for: finding identities or opening files (see `app`).

use crate::aead::{Decryptor, SessionKey, Verifier};
use crate::cms::{self, EnvelopeReader, ParsedHead};
use crate::entity::Decanonicalizer;
use crate::error::{Error, Result};
use crate::keys::{self, Identity};
use crate::message::{self, BodyForm, LineEnding};
use crate::smime::{self, InForm};
use rsa::traits::PublicKeyParts;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};

/// Ciphertext up to this size is spooled in memory; beyond it, in an anonymous temporary file.
const SPOOL_IN_MEMORY: usize = 8 << 20;
const CHUNK: usize = 256 * 1024;
/// When no RecipientInfo names one of our identities, at most this many (identity, recipient)
/// pairs are tried blind: each try is an RSA private-key operation.
const MAX_BLIND_TRIES: usize = 64;

pub struct DecryptPlan {
    pub identities: Vec<Identity>,
    pub inform: InForm,
    /// Output only the inner MIME entity (neomutt), not the restored whole message.
    pub entity: bool,
}

pub fn decrypt(
    plan: &DecryptPlan,
    input: Box<dyn BufRead + '_>,
    out: &mut dyn Write,
) -> Result<()> {
    let opened = smime::open_envelope(input, plan.inform)?;
    let mut envelope = EnvelopeReader::open(opened.cms)?;
    let session_key = unwrap_session_key(&envelope.head, &plan.identities)?;
    let nonce = envelope.head.content.nonce;

    // Pass 1: authenticate every ciphertext byte, keeping the ciphertext (never plaintext) aside.
    let mut verifier = Verifier::new(&session_key, &nonce);
    let mut spool = Spool::default();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = envelope.read_content(&mut buf)?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
        spool.write(&buf[..n])?;
    }
    let tag = envelope.finish()?;
    verifier.verify(&tag)?;

    // Pass 2: the content is authentic; decrypt it and restore the message.
    let plaintext = Plaintext {
        spool: spool.into_reader()?,
        decryptor: Decryptor::new(&session_key, &nonce),
    };
    let line_ending = opened.line_ending.unwrap_or(LineEnding::Lf);
    // A bare S/MIME part (no routing fields, as openssl writes it) has nothing to merge: the
    // inner entity is the message.
    let outer = opened
        .header_section
        .as_deref()
        .filter(|h| !plan.entity && message::is_whole_message(h));
    restore(
        std::io::BufReader::with_capacity(CHUNK, plaintext),
        outer,
        line_ending,
        out,
    )
}

/// Find the RecipientInfo meant for one of our identities and unwrap the session key: first by
/// identifier; only when none matches, blind tries (bounded), as other agents' identifiers may
/// not match how a key was loaded.
fn unwrap_session_key(head: &ParsedHead, identities: &[Identity]) -> Result<SessionKey> {
    if identities.is_empty() {
        return Err(Error::no_permission("no identity to decrypt with")
            .with_hint("give a private key with -i KEY, or set $SEALMAIL_IDENTITY"));
    }
    let cipher = head.content.cipher;
    let mut last_error = None;
    let mut matched = false;
    for ktri in &head.recipients {
        for identity in identities.iter().filter(|i| i.matches(&ktri.rid)) {
            matched = true;
            match try_unwrap(identity, ktri, cipher) {
                Ok(key) => return Ok(key),
                Err(e) => last_error = Some(e),
            }
        }
    }
    let mut blind_exhausted = false;
    if !matched {
        // Only a RecipientInfo whose wrapped key is as long as an identity's modulus can be for
        // that identity: the rest need no RSA operation at all.
        let mut pairs = head.recipients.iter().flat_map(|k| {
            identities
                .iter()
                .filter(move |i| k.enc_key.as_bytes().len() == i.public_key().size())
                .map(move |i| (i, k))
        });
        for (identity, ktri) in pairs.by_ref().take(MAX_BLIND_TRIES) {
            match try_unwrap(identity, ktri, cipher) {
                Ok(key) => return Ok(key),
                Err(e) => last_error = Some(e),
            }
        }
        blind_exhausted = pairs.next().is_some();
    }
    if let Some(e) = last_error.filter(|e| e.kind() != crate::Kind::NoPermission) {
        return Err(e);
    }
    let names: Vec<&str> = identities.iter().map(|i| i.source.as_str()).collect();
    let err = Error::no_permission(format!(
        "none of the identities ({}) can decrypt this message",
        names.join(", ")
    ));
    if blind_exhausted {
        return Err(err.with_hint(format!(
            "no recipient names your keys, and only {MAX_BLIND_TRIES} were tried blind; give -i the key file with its certificate in it, so it can be matched"
        )));
    }
    // Name a few recipients, not a thousand: the hint stays one readable line.
    const NAMED: usize = 4;
    let mut who: Vec<String> = head
        .recipients
        .iter()
        .take(NAMED)
        .map(|k| keys::describe_recipient_id(&k.rid))
        .collect();
    if head.recipients.len() > NAMED {
        who.push(format!("and {} more", head.recipients.len() - NAMED));
    }
    if who.is_empty() {
        return Err(err);
    }
    Err(err.with_hint(format!("it is encrypted to: {}", who.join("; "))))
}

fn try_unwrap(
    identity: &Identity,
    ktri: &cms::KeyTransRecipientInfo,
    cipher: crate::aead::ContentCipher,
) -> Result<SessionKey> {
    let params = cms::oaep_params_of(&ktri.key_enc_alg)?;
    let key = identity.unwrap_key(ktri.enc_key.as_bytes(), params)?;
    SessionKey::from_unwrapped(cipher, key)
}

/// Write the decrypted entity: the restored whole message, or the entity alone. Content that is
/// not a MIME entity at all (raw data someone encrypted with `openssl cms`) is written as it is.
fn restore(
    mut plaintext: impl BufRead,
    outer: Option<&[u8]>,
    line_ending: LineEnding,
    out: &mut dyn Write,
) -> Result<()> {
    let mut head = Vec::new();
    (&mut plaintext)
        .take(message::MAX_HEADER_SECTION as u64 + 4)
        .read_to_end(&mut head)?;
    let mut cursor = std::io::Cursor::new(&head[..]);
    let (header, body_start, form) = match message::read_header_section(&mut cursor) {
        Ok(inner) => {
            let restored = message::restore(outer, &inner, line_ending)?;
            (
                restored.header_section,
                cursor.position() as usize,
                restored.body,
            )
        }
        Err(_) => (Vec::new(), 0, BodyForm::Binary),
    };
    out.write_all(&header)?;
    let mut body = BodyWriter {
        form: if line_ending == LineEnding::Lf {
            form
        } else {
            BodyForm::Binary
        },
        decanon: Decanonicalizer::default(),
        buf: Vec::new(),
    };
    body.write(&head[body_start..], out)?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = plaintext.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.write(&chunk[..n], out)?;
    }
    body.finish(out)?;
    Ok(())
}

/// The body on its way out: CRLF -> LF for LF output of text, untouched otherwise.
struct BodyWriter {
    form: BodyForm,
    decanon: Decanonicalizer,
    buf: Vec<u8>,
}

impl BodyWriter {
    fn write(&mut self, data: &[u8], out: &mut dyn Write) -> Result<()> {
        match self.form {
            BodyForm::Binary => out.write_all(data)?,
            BodyForm::Text => {
                self.buf.clear();
                self.decanon.push(data, &mut self.buf);
                out.write_all(&self.buf)?;
            }
        }
        Ok(())
    }
    fn finish(self, out: &mut dyn Write) -> Result<()> {
        if self.form == BodyForm::Text {
            let mut buf = self.buf;
            buf.clear();
            self.decanon.finish(&mut buf);
            out.write_all(&buf)?;
        }
        Ok(())
    }
}

/// Ciphertext kept aside between the verify pass and the decrypt pass.
#[derive(Default)]
struct Spool {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
}

impl Spool {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(file) = &mut self.file {
            file.write_all(data).map_err(spool_error)?;
        } else if self.memory.len() + data.len() <= SPOOL_IN_MEMORY {
            self.memory.extend_from_slice(data);
        } else {
            // Anonymous: unlinked at creation, so it disappears on every exit path.
            let mut file = tempfile::tempfile().map_err(spool_error)?;
            file.write_all(&self.memory).map_err(spool_error)?;
            file.write_all(data).map_err(spool_error)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        Ok(())
    }

    fn into_reader(self) -> Result<Box<dyn Read>> {
        Ok(match self.file {
            Some(mut file) => {
                file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
                Box::new(std::io::BufReader::with_capacity(CHUNK, file))
            }
            None => Box::new(std::io::Cursor::new(self.memory)),
        })
    }
}

fn spool_error(e: std::io::Error) -> Error {
    Error::io(format!(
        "cannot spool the ciphertext to a temporary file: {}",
        crate::error::io_reason(&e)
    ))
    .with_hint("set TMPDIR to a directory with free space")
}

/// Decrypted bytes, produced only from verified ciphertext.
struct Plaintext {
    spool: Box<dyn Read>,
    decryptor: Decryptor,
}

impl Read for Plaintext {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.spool.read(buf)?;
        self.decryptor.decrypt_in_place(&mut buf[..n])?;
        Ok(n)
    }
}

/// What `inspect` reports about an envelope, without any key.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub form: &'static str,
    pub head: ParsedHead,
    pub content_len: u64,
    pub outer_header_section: Option<Vec<u8>>,
}

pub fn inspect(input: Box<dyn BufRead + '_>, inform: InForm) -> Result<Inspection> {
    let opened = smime::open_envelope(input, inform)?;
    let form = match (&opened.header_section, opened.line_ending) {
        (Some(_), _) => "S/MIME (application/pkcs7-mime, base64)",
        (None, Some(_)) => "PEM",
        (None, None) => "DER/BER",
    };
    let mut envelope = EnvelopeReader::open(opened.cms)?;
    let mut content_len = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = envelope.read_content(&mut buf)?;
        if n == 0 {
            break;
        }
        content_len += n as u64;
    }
    let head = envelope.head.clone();
    envelope.finish()?;
    Ok(Inspection {
        form,
        head,
        content_len,
        outer_header_section: opened.header_section,
    })
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.head.content;
        writeln!(f, "format: {}", self.form)?;
        writeln!(f, "content type: authEnvelopedData (RFC 5083)")?;
        writeln!(
            f,
            "cipher: {} ({}-byte nonce, {}-byte tag)",
            c.cipher.name(),
            c.nonce.len(),
            c.tag_len
        )?;
        writeln!(f, "encrypted content: {} bytes", self.content_len)?;
        writeln!(
            f,
            "recipients: {}",
            self.head.recipients.len() + self.head.other_recipients
        )?;
        for (i, k) in self.head.recipients.iter().enumerate() {
            let alg = match cms::oaep_params_of(&k.key_enc_alg) {
                Ok(p) => format!("RSAES-OAEP ({}, MGF1-{})", p.hash.name(), p.mgf_hash.name()),
                Err(e) => e.message().to_string(),
            };
            writeln!(
                f,
                "  {}. {}; {}",
                i + 1,
                keys::describe_recipient_id(&k.rid),
                alg
            )?;
        }
        if self.head.other_recipients > 0 {
            writeln!(
                f,
                "  (+{} recipients of kinds sealmail does not use: key agreement, KEK or password)",
                self.head.other_recipients
            )?;
        }
        Ok(())
    }
}
