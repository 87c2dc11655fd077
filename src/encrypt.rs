//! Encryption, top to bottom: read the message, split it into outer fields and the inner entity,
//! make one fresh session key, wrap it for every recipient, seal the entity with it as it streams
//! through, and write the CMS envelope inside its S/MIME (or PEM, or DER) framing.
//!
//! Not for: choosing recipients or opening files (see `app`), or any format detail (see `message`,
//! `entity`, `cms`, `smime`).

use crate::aead::{self, ContentCipher, Sealer, SessionKey};
use crate::cms::{self, ContentAlgorithm, EnvelopeHead, EnvelopeWriter};
use crate::entity::Canonicalizer;
use crate::error::{Error, Result};
use crate::keys::Recipient;
use crate::message::{self, BodyForm, Protection, SplitMessage};
use crate::smime::{self, OutForm};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// How much of a stream is read ahead to learn its length (so small piped messages are DER too).
const READ_AHEAD: usize = 1 << 20;
/// Size of the pieces the body is sealed in.
const CHUNK: usize = 256 * 1024;

/// What to encrypt to and how, decided by `app` from the flags.
pub struct EncryptPlan {
    pub cipher: ContentCipher,
    pub recipients: Vec<Recipient>,
    /// The input is a bare MIME entity (neomutt's `%f`): every header goes inside, only the
    /// S/MIME part comes out.
    pub entity: bool,
    pub protection: Protection,
    pub outform: OutForm,
}

/// The message to encrypt: a stream, and the file behind it when there is one (so the length can
/// be measured up front and the output written as DER rather than BER).
pub struct Source<'a> {
    pub reader: Box<dyn BufRead + 'a>,
    pub path: Option<&'a Path>,
}

pub fn encrypt(plan: &EncryptPlan, mut source: Source<'_>, out: Box<dyn Write + '_>) -> Result<()> {
    if plan.recipients.is_empty() {
        return Err(Error::usage("no recipients")
            .with_hint("give at least one -r CERT, -R FILE or --header-recipients"));
    }

    // The message: its header section decides what stays outside and what is sealed.
    let header_section = message::read_header_section(&mut source.reader)?;
    let split = split_message(&header_section, plan)?;

    // One fresh session key for this message, wrapped for every recipient.
    let session_key = SessionKey::generate(plan.cipher)?;
    let head = EnvelopeHead {
        recipient_infos: wrap_for_recipients(&session_key, &plan.recipients)?,
        content: ContentAlgorithm::new(plan.cipher, aead::random_nonce()?),
    };

    // The body's length, when it can be known without holding it, makes the envelope DER.
    let mut ahead = Vec::new();
    (&mut source.reader)
        .take(READ_AHEAD as u64)
        .read_to_end(&mut ahead)?;
    let body_len = if ahead.len() < READ_AHEAD {
        Some(canonical_len(&ahead, split.body))
    } else {
        source
            .path
            .map(|p| measure_body(p, header_section.len() as u64, split.body))
            .transpose()?
    };
    let content_len = body_len.map(|n| split.inner_header_section.len() as u64 + n);

    // The envelope, sealed as the entity streams through.
    let sink = smime::envelope_writer(plan.outform, &split.outer_fields, split.line_ending, out)?;
    let mut envelope = EnvelopeWriter::start(sink, &head, content_len)?;
    let mut sealer = Sealer::new(&session_key, &head.content.nonce);
    let mut body = BodyStream::new(split.body);
    let mut buf = split.inner_header_section.clone();
    body.push(&ahead, &mut buf);
    drop(ahead);
    let mut input = vec![0u8; CHUNK];
    loop {
        if buf.len() >= CHUNK || body.done {
            sealer.seal_in_place(&mut buf)?;
            envelope.write_content(&buf)?;
            buf.clear();
            if body.done {
                break;
            }
        }
        let n = read_some(&mut source.reader, &mut input)?;
        if n == 0 {
            body.done = true;
        } else {
            body.push(&input[..n], &mut buf);
        }
    }
    let tag = sealer.finish();
    envelope.finish(&tag)?.finish()
}

/// Split a whole message, or take a bare entity whole.
fn split_message(header_section: &[u8], plan: &EncryptPlan) -> Result<SplitMessage> {
    if !plan.entity && message::is_whole_message(header_section) {
        return message::split(header_section, plan.protection);
    }
    // A bare entity: all of its headers are sealed, nothing stays outside.
    let mut split = message::split(
        header_section,
        Protection {
            protect: false,
            keep_subject: true,
        },
    )?;
    let mut inner = Vec::with_capacity(header_section.len() + 64);
    Canonicalizer::default().push(header_section, &mut inner);
    if !inner.ends_with(b"\r\n\r\n") {
        // A header section that ran to EOF: the entity still needs its empty line.
        if !inner.ends_with(b"\r\n") {
            inner.extend(b"\r\n");
        }
        inner.extend(b"\r\n");
    }
    split.inner_header_section = inner;
    split.outer_fields.clear();
    Ok(split)
}

/// RSA-OAEP-wrap the session key for each recipient; the same recipient given twice counts once.
fn wrap_for_recipients(
    key: &SessionKey,
    recipients: &[Recipient],
) -> Result<Vec<cms::RecipientInfo>> {
    let mut infos = Vec::with_capacity(recipients.len());
    let mut seen = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        if seen.contains(&&recipient.id) {
            continue;
        }
        seen.push(&recipient.id);
        let wrapped = recipient.wrap(key.as_bytes())?;
        infos.push(cms::key_trans_recipient_info(
            recipient.id.clone(),
            wrapped,
        )?);
    }
    Ok(infos)
}

/// The length of a body after canonicalisation, for bytes already in memory.
fn canonical_len(body: &[u8], form: BodyForm) -> u64 {
    match form {
        BodyForm::Binary => body.len() as u64,
        BodyForm::Text => {
            let mut out = Vec::with_capacity(body.len() + body.len() / 16);
            Canonicalizer::default().push(body, &mut out);
            out.len() as u64
        }
    }
}

/// The length of a file's body after canonicalisation, read through a second handle.
fn measure_body(path: &Path, offset: u64, form: BodyForm) -> Result<u64> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read_file(path, &e))?;
    match form {
        BodyForm::Binary => Ok(file.metadata()?.len().saturating_sub(offset)),
        BodyForm::Text => {
            file.seek(SeekFrom::Start(offset))?;
            Ok(crate::entity::canonical_len(
                std::io::BufReader::with_capacity(CHUNK, file),
            )?)
        }
    }
}

/// The body on its way to the cipher: canonical CRLF text, or binary as it is.
struct BodyStream {
    form: BodyForm,
    canon: Canonicalizer,
    done: bool,
}

impl BodyStream {
    fn new(form: BodyForm) -> Self {
        BodyStream {
            form,
            canon: Canonicalizer::default(),
            done: false,
        }
    }
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match self.form {
            BodyForm::Text => self.canon.push(input, out),
            BodyForm::Binary => out.extend_from_slice(input),
        }
    }
}

fn read_some(r: &mut dyn BufRead, buf: &mut [u8]) -> Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e).context("reading the input")),
        }
    }
}
