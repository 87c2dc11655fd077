//! Encryption, top to bottom: read the message, split it into outer fields and the inner entity,
//! make one fresh session key, wrap it for every recipient, seal the entity with it as it streams
//! through, and write the CMS envelope inside its S/MIME (or PEM, or DER) framing.
//!
//! Not for: choosing recipients or opening files (see `app`), or any format detail (see `message`,
//! `entity`, `cms`, `smime`).

use crate::aead::{self, Sealer, SessionKey, SharedKeystream};
use crate::cbc::{CbcCipher, CbcEncryptor};
use crate::cms::{
    self, CbcAlgorithm, ContentAlgorithm, ContentEncryption, EnvelopeHead, EnvelopeWriter,
    KeyTransport,
};
use crate::entity::Canonicalizer;
use crate::error::{Error, Result};
use crate::keys::Recipient;
use crate::message::{self, BodyForm, Head, Protection, SplitMessage};
use crate::pipeline::worker_error;
use crate::policy::ContentChoice;
use crate::smime::SmimeType;
use crate::smime::{self, OutForm};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// How much of a stream is read ahead to learn its length (so small piped messages are DER too).
const READ_AHEAD: usize = 1 << 20;
/// Size of the pieces the body is sealed in.
const CHUNK: usize = 256 * 1024;
/// Pieces in the sealing pipeline at once: enough that neither thread waits on the other.
const DEPTH: usize = 4;

/// What to encrypt to and how, decided by `app` from the flags.
pub struct EncryptPlan {
    /// The content cipher and the RSA key transport, as `policy` decided them.
    pub content: ContentChoice,
    pub transport: KeyTransport,
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

pub fn encrypt(plan: &EncryptPlan, source: Source<'_>, out: Box<dyn Write + '_>) -> Result<()> {
    encrypt_signed(plan, None, source, out)
}

/// `encrypt --sign` (with `sign`): the entity is signed first, and the signed entity
/// (`multipart/signed`, see [`crate::sign::SignedEntity`]) is what is sealed, in the same
/// streaming run; the outer fields stay outside the encryption as always.
pub fn encrypt_signed(
    plan: &EncryptPlan,
    sign: Option<&crate::sign::SignPlan<'_>>,
    mut source: Source<'_>,
    out: Box<dyn Write + '_>,
) -> Result<()> {
    if plan.recipients.is_empty() {
        return Err(Error::usage("no recipients")
            .with_hint("give at least one -r CERT, -R FILE or --header-recipients"));
    }

    // The message: its header section decides what stays outside and what is sealed. Input that
    // is not a message is sealed whole. What was read past the header section starts the body.
    let front = if plan.entity {
        Head {
            header_section: message::read_header_section(&mut source.reader)?,
            body_start: Vec::new(),
        }
    } else {
        message::read_head(&mut source.reader)?
    };
    let mut ahead = front.body_start;
    let complete = read_ahead(&mut *source.reader, &mut ahead)?;
    let mut split = split_message(&front.header_section, &ahead, complete, plan)?;
    let (mut source, ahead, complete) = match sign {
        None => (source, ahead, complete),
        Some(sign) => {
            // The signed entity takes the inner entity's place: its own header section and
            // canonical body come out of the signing reader, and nothing more is done to them.
            let signed = crate::sign::SignedEntity::new(
                sign,
                &split.inner_header_section,
                split.body,
                &ahead,
                source.reader,
            )?;
            split.inner_header_section = Vec::new();
            split.body = BodyForm::Binary;
            let mut reader: Box<dyn BufRead + '_> =
                Box::new(std::io::BufReader::with_capacity(CHUNK, signed));
            let mut ahead = Vec::new();
            let complete = read_ahead(&mut *reader, &mut ahead)?;
            (Source { reader, path: None }, ahead, complete)
        }
    };
    let cipher = match plan.content {
        ContentChoice::Aead(cipher) => cipher,
        ContentChoice::Cbc(cipher) => {
            let input = Input {
                header_len: front.header_section.len() as u64,
                ahead,
                complete,
            };
            return encrypt_cbc(plan, cipher, source, input, split, out);
        }
    };

    // One fresh session key for this message, wrapped for every recipient.
    let session_key = SessionKey::generate(cipher)?;
    let content = ContentAlgorithm::new(cipher, aead::random_nonce()?);
    let head = EnvelopeHead {
        recipient_infos: recipient_infos(session_key.as_bytes(), &plan.recipients, plan.transport)?,
        content: ContentEncryption::Aead(content),
    };

    // The first piece of content: the inner header section (already canonical), then the body
    // read ahead. The body's length, when it can be known without holding it, makes the
    // envelope DER: a body that fits the read-ahead is all there.
    let mut body = BodyStream::new(split.body);
    let mut first = split.inner_header_section.clone();
    body.push(&ahead, &mut first);
    let content_len = if complete {
        Some(first.len() as u64)
    } else {
        source
            .path
            .map(|p| measure_body(p, front.header_section.len() as u64, split.body))
            .transpose()?
            .map(|n| split.inner_header_section.len() as u64 + n)
    };

    // The envelope, sealed as the entity streams through.
    let sink = smime::envelope_writer(plan.outform, &split.outer_fields, split.line_ending, out)?;
    let mut envelope = EnvelopeWriter::start(sink, &head, content_len)?;
    let sealer = Sealer::new(&session_key, &content.nonce);
    let tag = if complete {
        // The whole body is in memory already: a second thread would only cost its start.
        let mut sealer = sealer;
        sealer.seal_in_place(&mut first)?;
        envelope.write_content(&first)?;
        sealer.finish()
    } else {
        let pipeline = Pipeline {
            body,
            shared: SharedKeystream::new(&session_key, &content.nonce),
            offset: 0,
            raw: ahead,
        };
        pipeline.seal_through(&mut *source.reader, first, sealer, &mut envelope)?
    };
    envelope.finish(Some(&tag))?.finish()
}

/// EnvelopedData with AES-CBC, for recipients not known to read an AEAD: one fresh key and IV,
/// the entity encrypted serially as it streams through (CBC chains every block to the one
/// before), PKCS#7 padding at the end. The envelope is DER when the length is known up front,
/// as for the AEADs.
fn encrypt_cbc(
    plan: &EncryptPlan,
    cipher: CbcCipher,
    mut source: Source<'_>,
    input: Input,
    split: SplitMessage,
    out: Box<dyn Write + '_>,
) -> Result<()> {
    let mut key = Zeroizing::new(vec![0u8; cipher.key_len()]);
    let mut iv = vec![0u8; cipher.block_len()];
    getrandom::fill(&mut key)
        .and_then(|()| getrandom::fill(&mut iv))
        .map_err(|_| Error::io("cannot get random bytes from the operating system"))?;
    let head = EnvelopeHead {
        recipient_infos: recipient_infos(&key, &plan.recipients, plan.transport)?,
        content: ContentEncryption::Cbc(CbcAlgorithm {
            cipher,
            iv: iv.clone(),
        }),
    };

    let mut body = BodyStream::new(split.body);
    let mut piece = split.inner_header_section.clone();
    body.push(&input.ahead, &mut piece);
    let more = !input.complete;
    let plain_len = if input.complete {
        Some(piece.len() as u64)
    } else {
        source
            .path
            .map(|p| measure_body(p, input.header_len, split.body))
            .transpose()?
            .map(|n| split.inner_header_section.len() as u64 + n)
    };

    let sink = smime::envelope_writer_for(
        SmimeType::EnvelopedData,
        plan.outform,
        &split.outer_fields,
        split.line_ending,
        out,
    )?;
    let mut envelope = EnvelopeWriter::start(sink, &head, plan_len_to_cbc(plain_len))?;
    let mut encryptor = CbcEncryptor::new(cipher, &key, &iv)?;
    encryptor.update(&mut piece);
    envelope.write_content(&piece)?;
    if more {
        let mut raw = Vec::new();
        loop {
            // Each piece starts with the bytes of the last one's incomplete block, so that
            // encryption works on whole blocks in place without moving the piece.
            let eof = match body.form {
                BodyForm::Binary => {
                    encryptor.carry_into(&mut piece);
                    fill_after(&mut *source.reader, &mut piece)?
                }
                BodyForm::Text => {
                    let eof = fill(&mut *source.reader, &mut raw)?;
                    encryptor.carry_into(&mut piece);
                    body.push(&raw, &mut piece);
                    eof
                }
            };
            encryptor.update(&mut piece);
            envelope.write_content(&piece)?;
            if eof {
                break;
            }
        }
    }
    envelope.write_content(&encryptor.finish())?;
    envelope.finish(None)?.finish()
}

/// What `encrypt` has read of the input when it hands over to `encrypt_cbc`: the header
/// section's length, the body read ahead, and whether that is all of it.
struct Input {
    header_len: u64,
    ahead: Vec<u8>,
    complete: bool,
}

/// The ciphertext length of a plaintext length, when known.
fn plan_len_to_cbc(plain_len: Option<u64>) -> Option<u64> {
    plain_len.map(crate::cbc::ciphertext_len)
}

/// One piece of the content on its way through the pipeline: `sealed` holds the canonical bytes
/// of which the first `encrypted` are encrypted already; the worker seals the rest in place.
/// The pieces go round between the two threads and are reused, so nothing is allocated per piece.
struct Piece {
    sealed: Vec<u8>,
    /// Where in the content the piece starts: the sealer refuses a piece that is not where its
    /// content ends (keystream must never be used twice).
    offset: u64,
    encrypted: usize,
}

/// The reading side of the sealing pipeline.
struct Pipeline {
    body: BodyStream,
    /// For the share of the encryption this thread takes on.
    shared: SharedKeystream,
    /// Content bytes handed to the worker so far: where the next piece starts.
    offset: u64,
    /// Text as read, before canonicalisation (binary is read straight into the piece).
    raw: Vec<u8>,
}

/// Of a piece of binary body, the reading thread encrypts this many eighths itself.
///
/// Text costs the reading thread its canonicalisation already, so it leaves all the encryption
/// to the worker; binary needs no canonicalisation, and the worker's encryption and MAC
/// outweigh reading, base64 and writing. Measured on a 2-core AVX-512 machine, a 100 MiB binary
/// entity to S/MIME, with the stdout hold and the sleeping channel of before: best of 25 runs,
/// 0 eighths 59 ms, 2 eighths 52 ms, 3 eighths 51.6 ms, 4 eighths 56 ms; once the reading
/// thread stopped holding the output and neither side slept (per-thread CPU: reading 47 ms,
/// worker 38 ms at 3 eighths), medians of 20 interleaved runs: 3 eighths 49-53 ms, 2 eighths
/// 46 ms.
const BINARY_SHARE_EIGHTHS: usize = 2;

impl Pipeline {
    /// Seal the body on two cores: this thread reads the input, canonicalises it and writes the
    /// envelope (its reader and writer are not `Send`, and stay here), while a worker seals the
    /// pieces in between. `first` is the first piece's content (inner header section and the
    /// body read so far). Returns the tag.
    ///
    /// At most `DEPTH` pieces exist, so memory stays bounded and neither bounded channel can
    /// block a send for good: a piece is only sent where a place for it is guaranteed.
    fn seal_through<W: Write>(
        mut self,
        reader: &mut dyn BufRead,
        first: Vec<u8>,
        sealer: Sealer,
        envelope: &mut EnvelopeWriter<W>,
    ) -> Result<[u8; aead::TAG_LEN]> {
        let (to_worker, worker_in) = crate::pipeline::channel::<Piece>(DEPTH);
        let (worker_out, from_worker) = crate::pipeline::channel::<Result<Piece>>(DEPTH);
        std::thread::scope(|scope| {
            let worker = crate::pipeline::spawn_with(
                scope,
                (sealer, worker_in, worker_out),
                |(mut sealer, worker_in, worker_out)| -> Result<[u8; aead::TAG_LEN]> {
                    for mut piece in worker_in {
                        let sealed = sealer
                            .seal_in_place_after(&mut piece.sealed, piece.offset, piece.encrypted)
                            .map(|()| piece);
                        let failed = sealed.is_err();
                        if worker_out.send(sealed).is_err() || failed {
                            // The reading side has gone (it has its own error to report) or this
                            // one failed and said so: stop either way.
                            return Err(pipeline_broken());
                        }
                    }
                    Ok(sealer.finish())
                },
            );
            let worker = match worker {
                Ok(worker) => worker,
                // No second thread to be had (a pids limit): the same work on this one.
                Err((sealer, _, _)) => return self.seal_alone(reader, first, sealer, envelope),
            };

            // Everything that talks to the worker lives in this block, so that the channel ends
            // are dropped (and the worker let go) on every exit path before it is joined below.
            let fed = (move || -> Result<()> {
                let mut spare: Vec<Vec<u8>> = (1..DEPTH)
                    .map(|_| Vec::with_capacity(CHUNK + CHUNK / 16))
                    .collect();
                let first = self.prepare(first, 0)?;
                to_worker
                    .send(first)
                    .map_err(|_| worker_error(&from_worker, pipeline_broken))?;
                let mut in_flight = 1;
                loop {
                    let mut sealed = match spare.pop() {
                        Some(sealed) => sealed,
                        None => {
                            let piece = receive(&from_worker)?;
                            in_flight -= 1;
                            envelope.write_content(&piece.sealed)?;
                            piece.sealed
                        }
                    };
                    let eof = self.read(reader, &mut sealed)?;
                    if sealed.is_empty() {
                        break;
                    }
                    let piece = self.prepare(sealed, BINARY_SHARE_EIGHTHS)?;
                    to_worker
                        .send(piece)
                        .map_err(|_| worker_error(&from_worker, pipeline_broken))?;
                    in_flight += 1;
                    if eof {
                        break;
                    }
                }
                drop(to_worker);
                for _ in 0..in_flight {
                    envelope.write_content(&receive(&from_worker)?.sealed)?;
                }
                Ok(())
            })();
            let sealed = worker
                .join()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(pipeline_broken()));
            // The first error to happen is the one to report: the worker's "pipeline broken" is
            // only an echo of a reading or writing error here.
            fed.and(sealed)
        })
    }

    /// [`Pipeline::seal_through`] on this thread alone, for when no worker can be started.
    fn seal_alone<W: Write>(
        mut self,
        reader: &mut dyn BufRead,
        mut piece: Vec<u8>,
        mut sealer: Sealer,
        envelope: &mut EnvelopeWriter<W>,
    ) -> Result<[u8; aead::TAG_LEN]> {
        let mut eof = false;
        loop {
            sealer.seal_in_place(&mut piece)?;
            envelope.write_content(&piece)?;
            if eof {
                break;
            }
            eof = self.read(reader, &mut piece)?;
            if piece.is_empty() {
                break;
            }
        }
        Ok(sealer.finish())
    }

    /// The next piece of canonical content into `sealed` (empty at the end); true at the end of
    /// the input.
    fn read(&mut self, reader: &mut dyn BufRead, sealed: &mut Vec<u8>) -> Result<bool> {
        match self.body.form {
            // Binary goes straight into the piece, to be sealed where it lies.
            BodyForm::Binary => fill(reader, sealed),
            BodyForm::Text => {
                let eof = fill(reader, &mut self.raw)?;
                sealed.clear();
                self.body.push(&self.raw, sealed);
                Ok(eof)
            }
        }
    }

    /// Encrypt this thread's share of a piece (binary only: `eighths` of it) and count it.
    fn prepare(&mut self, mut sealed: Vec<u8>, eighths: usize) -> Result<Piece> {
        let share = match self.body.form {
            BodyForm::Binary => sealed.len() / 8 * eighths,
            BodyForm::Text => 0,
        };
        let head = sealed.get_mut(..share).unwrap_or_default();
        let offset = self.offset;
        self.shared.encrypt_at(offset, head)?;
        self.offset += sealed.len() as u64;
        Ok(Piece {
            sealed,
            offset,
            encrypted: share,
        })
    }
}

/// A piece back from the worker, or the worker's own error.
fn receive(from_worker: &crate::pipeline::Receiver<Result<Piece>>) -> Result<Piece> {
    from_worker.recv().map_err(|_| pipeline_broken())?
}

fn pipeline_broken() -> Error {
    Error::io("the sealing thread stopped unexpectedly")
}

/// Read up to `CHUNK` bytes into `buf`, replacing what it held; true at the end of the input.
///
/// Each read asks for all that is still missing, which a `BufReader` with its own buffer empty
/// hands straight to the file (`read_to_end` would ask for 8 KiB first and have every byte
/// copied through that buffer). `buf` keeps its length from one piece to the next, so that it
/// is zeroed once, not for every piece.
fn fill(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> Result<bool> {
    buf.clear();
    fill_after(reader, buf)
}

/// [`fill`], after the bytes `buf` holds already: up to CHUNK more.
fn fill_after(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> Result<bool> {
    let start = buf.len();
    buf.resize(start + CHUNK, 0);
    let mut len = start;
    while let Some(rest) = buf.get_mut(len..).filter(|r| !r.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Errors of our own readers (the signing one) say what failed already.
                let ours = e.get_ref().is_some_and(|inner| inner.is::<Error>());
                let e = Error::from(e);
                return Err(if ours {
                    e
                } else {
                    e.context("reading the input")
                });
            }
        }
    }
    buf.truncate(len);
    Ok(len - start < CHUNK)
}

/// Read the body on to `READ_AHEAD` bytes (or to its end); true when `ahead` holds all of it.
fn read_ahead(reader: &mut dyn BufRead, ahead: &mut Vec<u8>) -> Result<bool> {
    let wanted = READ_AHEAD.saturating_sub(ahead.len()) as u64;
    let n = reader.take(wanted).read_to_end(ahead)?;
    Ok((n as u64) < wanted || (wanted == 0 && reader.fill_buf()?.is_empty()))
}

/// Split a whole message, take a bare entity whole, or seal an input that is not a message as
/// the body of a marked entity (`body_start`: the start of that input; `complete`: all of it).
fn split_message(
    header_section: &[u8],
    body_start: &[u8],
    complete: bool,
    plan: &EncryptPlan,
) -> Result<SplitMessage> {
    if header_section.is_empty() {
        return Ok(message::raw_input_split(body_start, complete));
    }
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

/// A RecipientInfo for every recipient, each giving it the session key; the same recipient given
/// twice counts once.
fn recipient_infos(
    key: &[u8],
    recipients: &[Recipient],
    transport: KeyTransport,
) -> Result<Vec<cms::RecipientInfo>> {
    let mut infos = Vec::with_capacity(recipients.len());
    let mut seen = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        if seen.contains(&&recipient.id) {
            continue;
        }
        seen.push(&recipient.id);
        infos.push(recipient.recipient_info(key, transport)?);
    }
    Ok(infos)
}

/// The length of a file's body after canonicalisation, read through other handles.
///
/// This pass has to end before the first output byte (the length comes first in DER), so a
/// large body is measured in two halves on two threads.
fn measure_body(path: &Path, offset: u64, form: BodyForm) -> Result<u64> {
    let end = std::fs::metadata(path)
        .map_err(|e| Error::read_file(path, &e))?
        .len();
    match form {
        BodyForm::Binary => Ok(end.saturating_sub(offset)),
        BodyForm::Text if end.saturating_sub(offset) < 4 * CHUNK as u64 => {
            count_canonical(path, offset, end, false)
        }
        BodyForm::Text => {
            let mid = offset + (end - offset) / 2;
            std::thread::scope(|scope| {
                let second = crate::pipeline::spawn_with(scope, (), |()| {
                    count_canonical(path, mid, end, true)
                });
                let first = count_canonical(path, offset, mid, false);
                let second = match second {
                    Ok(thread) => thread
                        .join()
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| Err(pipeline_broken())),
                    // No second thread: the other half after this one.
                    Err(()) => count_canonical(path, mid, end, true),
                };
                Ok(first? + second?)
            })
        }
    }
}

/// The canonical length of the file's bytes `from..to` (to the end of the file if it is
/// shorter). `look_behind`: the byte before `from` counts, since an LF right at `from` needs no
/// CR of its own when that byte is a CR.
fn count_canonical(path: &Path, from: u64, to: u64, look_behind: bool) -> Result<u64> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read_file(path, &e))?;
    let mut before = [0u8; 1];
    if look_behind && from > 0 {
        file.seek(SeekFrom::Start(from - 1))?;
        file.read_exact(&mut before)?;
    }
    file.seek(SeekFrom::Start(from))?;
    // canonical_len reads in large blocks itself; a BufReader would only add a copy.
    let range = file.take(to.saturating_sub(from));
    // A CR before the range goes in front of it, and its one byte comes off the count.
    let prefix: &[u8] = if before == *b"\r" { b"\r" } else { b"" };
    let len = crate::entity::canonical_len(prefix.chain(range))?;
    Ok(len.saturating_sub(prefix.len() as u64))
}

/// The body on its way to the cipher: canonical CRLF text, or binary as it is.
struct BodyStream {
    form: BodyForm,
    canon: Canonicalizer,
}

impl BodyStream {
    fn new(form: BodyForm) -> Self {
        BodyStream {
            form,
            canon: Canonicalizer::default(),
        }
    }
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match self.form {
            BodyForm::Text => self.canon.push(input, out),
            BodyForm::Binary => out.extend_from_slice(input),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two halves of the measuring pass meet in the middle of the body: a CRLF or a bare LF
    /// cut there must be counted as the one-pass count does.
    #[test]
    fn measuring_in_halves_matches_one_pass_at_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        let header = b"Subject: x\n\n";
        let mid_body = 2 * CHUNK + 1;
        let mut body: Vec<u8> = b"abc\nde\r\nf\r"
            .iter()
            .copied()
            .cycle()
            .take(2 * mid_body + 1)
            .collect();
        for (before, at) in [(b'\r', b'\n'), (b'x', b'\n'), (b'\r', b'y'), (b'\n', b'\n')] {
            body[mid_body - 1] = before;
            body[mid_body] = at;
            let mut file = header.to_vec();
            file.extend(&body);
            std::fs::write(&path, &file).unwrap();
            let one_pass = crate::entity::canonical_len(&body[..]).unwrap();
            let offset = header.len() as u64;
            // The cut is where the halves meet, so the case above is the one tested.
            assert_eq!(
                offset + (file.len() as u64 - offset) / 2,
                offset + mid_body as u64
            );
            assert_eq!(
                measure_body(&path, offset, BodyForm::Text).unwrap(),
                one_pass,
                "{before:?} {at:?}"
            );
        }
    }
}
