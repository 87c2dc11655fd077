//! Decryption, top to bottom: open the S/MIME (or PEM, or DER) envelope, read the CMS head,
//! unwrap the session key with an identity, verify the tag over the whole ciphertext FIRST while
//! spooling the ciphertext aside, and only then decrypt it and put the message back together.
//! Plaintext whose tag did not verify never reaches the output. Content that is itself signed
//! (signed, then encrypted: `encrypt --sign`, Thunderbird, Outlook) has its signature checked by
//! `verify` before any of it is written ([`decrypt_verified`]).
//!
//! Also `inspect`: the same envelope reading without any key.
//!
//! Not for: finding identities or opening files (see `app`).

use crate::aead::{Decryptor, SessionKey, Verifier};
use crate::cbc::CbcDecryptor;
use crate::cms::{self, ContentEncryption, EnvelopeReader, ParsedHead};
use crate::entity::Decanonicalizer;
use crate::error::{Error, Result};
use crate::io::WipedPrefix;
use crate::keys::Identity;
use crate::keys::trust::{TrustSources, TrustStore};
use crate::message::{self, BodyForm, LineEnding};
use crate::pipeline::worker_error;
use crate::smime::{self, InForm};
use crate::verify::{InnerMessage, Verified, VerifyPlan};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use zeroize::Zeroizing;

/// Ciphertext up to this size is spooled in memory; beyond it, in an anonymous temporary file.
const SPOOL_IN_MEMORY: usize = 8 << 20;
const CHUNK: usize = 256 * 1024;
/// Pieces in each two-thread pipeline at once: enough that neither thread waits on the other.
const DEPTH: usize = 4;
/// When no RecipientInfo names one of our identities, at most this many (identity, recipient)
/// pairs are tried blind: each try is an RSA private-key operation.
const MAX_BLIND_TRIES: usize = 64;

pub struct DecryptPlan {
    pub identities: Vec<Identity>,
    pub inform: InForm,
    /// Output only the inner MIME entity (neomutt), not the restored whole message.
    pub entity: bool,
    /// Refuse content without integrity protection (EnvelopedData) before any output.
    pub require_aead: bool,
}

/// What a successful decryption says about the message, for the caller to tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// False for EnvelopedData (CBC): the content could have been altered unnoticed.
    pub integrity_protected: bool,
}

/// What `decrypt` does with a signature inside the encryption (signed, then encrypted): where
/// its trust anchors come from (read only when there is a signature to check) and whether an
/// untrusted signer is refused.
pub struct InnerSignatures {
    pub trust: TrustSources,
    pub require_trusted: bool,
    pub now: std::time::SystemTime,
}

/// A signature found inside the encryption: checked (`verified`), or not checkable because the
/// signer's certificate is not in the message (`verified` is `None` and the reason is among the
/// warnings); and the trust store's warnings.
pub struct InnerSigned {
    pub verified: Option<Verified>,
    pub warnings: Vec<String>,
}

pub fn decrypt(
    plan: &DecryptPlan,
    input: Box<dyn BufRead + '_>,
    out: &mut dyn Write,
) -> Result<Decrypted> {
    decrypt_verified(plan, None, input, out).map(|(decrypted, _)| decrypted)
}

/// [`decrypt`], and with `inner`, a signed entity inside is verified before any of it is
/// written: an invalid signature is 65, an untrusted signer 77 when `require_trusted`, and in
/// both cases nothing is written. What is written then is the message without its signature
/// layer, as `verify` writes it. Content that is not signed is written as [`decrypt`] writes it.
pub fn decrypt_verified(
    plan: &DecryptPlan,
    inner: Option<&InnerSignatures>,
    input: Box<dyn BufRead + '_>,
    out: &mut dyn Write,
) -> Result<(Decrypted, Option<InnerSigned>)> {
    let mut signed = None;
    let opened = smime::open_envelope(input, plan.inform)?;
    let mut envelope = EnvelopeReader::open(opened.cms)?;
    if plan.require_aead && !envelope.head.content.is_aead() {
        return Err(not_integrity_protected(&envelope.head));
    }
    let key = unwrap_content_key(&envelope.head, &plan.identities)?;
    let line_ending = opened.line_ending.unwrap_or(LineEnding::Lf);
    // The S/MIME part's own header section goes with the inner one, even when it holds no
    // routing fields (every field of the message may be sealed inside); DER and PEM have none.
    let outer = (!plan.entity).then(|| opened.header_section.as_deref().unwrap_or_default());
    let found = &mut signed;
    let restore_to = |plaintext: &mut dyn BufRead| match inner {
        Some(inner) => restore_verified(
            plaintext,
            inner,
            found,
            outer,
            plan.entity,
            line_ending,
            out,
        ),
        None => restore(plaintext, outer, plan.entity, line_ending, out),
    };

    let alg = match envelope.head.content.clone() {
        ContentEncryption::Aead(alg) => alg,
        ContentEncryption::Cbc(alg) => {
            let decryptor = CbcDecryptor::new(alg.cipher, &key, &alg.iv)?;
            decrypt_cbc(&mut envelope, decryptor, restore_to)?;
            envelope.finish()?;
            return Ok((
                Decrypted {
                    integrity_protected: false,
                },
                signed,
            ));
        }
    };
    let session_key = SessionKey::from_unwrapped(alg.cipher, key)?;
    let nonce = alg.nonce;

    // Pass 1: authenticate every ciphertext byte, keeping the ciphertext (never plaintext) aside.
    let (verifier, spool) = verify_and_spool(
        &mut envelope,
        Verifier::new(&session_key, &nonce),
        Spool::default(),
    )?;
    let tag = envelope.finish()?.unwrap_or_default();
    verifier.verify(&tag)?;

    // Pass 2: the content is authentic; decrypt it and restore the message.
    let decryptor = Decryptor::new(&session_key, &nonce);
    decrypt_and_restore(spool, decryptor, restore_to)?;
    Ok((
        Decrypted {
            integrity_protected: true,
        },
        signed,
    ))
}

/// The plaintext, when it is a signed entity: its signature checked (the signed content held
/// in `verify`'s spool meanwhile, nothing written), then the signed entity restored as
/// [`restore`] restores any. Otherwise [`restore`] itself.
fn restore_verified(
    plaintext: &mut dyn BufRead,
    inner: &InnerSignatures,
    found: &mut Option<InnerSigned>,
    outer: Option<&[u8]>,
    entity: bool,
    line_ending: LineEnding,
    out: &mut dyn Write,
) -> Result<()> {
    // The signed entity's header section is a few lines at the start of the first piece.
    let start = plaintext.fill_buf()?;
    let end = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| memchr::memmem::find(start, sep).map(|at| at + sep.len()))
        .min();
    let Some(header_section) = end
        .and_then(|end| start.get(..end))
        .filter(|h| crate::verify::is_signed(h))
        .map(<[u8]>::to_vec)
    else {
        if inner.require_trusted {
            return Err(Error::no_permission(
                "the message is not signed inside its encryption, and --require-trusted refuses it",
            )
            .with_hint("decrypt without --require-trusted to read it anyway"));
        }
        return restore(plaintext, outer, entity, line_ending, out);
    };
    plaintext.consume(header_section.len());
    let store = TrustStore::load(&inner.trust)?;
    let warnings = store.warnings().to_vec();
    let plan = VerifyPlan {
        trust: store,
        intermediates: Vec::new(),
        allow_untrusted: !inner.require_trusted,
        now: inner.now,
    };
    let from = outer.map(crate::verify::from_addresses).unwrap_or_default();
    let checked = crate::verify::check_inner(&plan, &header_section, Box::new(plaintext), &from)?;
    let mut warnings = warnings;
    match (&checked.verified, checked.uncheckable) {
        (_, Some(reason)) if inner.require_trusted => return Err(reason),
        (_, Some(reason)) => warnings.push(format!(
            "{}; the message is shown as it is",
            reason.message()
        )),
        (Some(verified), None) if !verified.verdict.is_trusted() && inner.require_trusted => {
            return Err(crate::verify::untrusted_with(
                verified,
                "decrypt without --require-trusted to read it anyway",
            ));
        }
        _ => {}
    }
    *found = Some(InnerSigned {
        verified: checked.verified,
        warnings,
    });
    match checked.message {
        InnerMessage::AsSigned(rest) => restore(
            std::io::Cursor::new(header_section).chain(rest),
            outer,
            entity,
            line_ending,
            out,
        ),
        InnerMessage::Entity(signed_entity) => restore(
            with_wrapper_fields(&header_section, signed_entity)?,
            outer,
            entity,
            line_ending,
            out,
        ),
    }
}

/// The signed entity with the wrapper's header fields in front of its own and the wrapper's
/// header-protection markers moved onto its Content-Type
/// ([`message::unwrapped_header_section`]), so that restoring finds the protected Subject, From,
/// ... as it would in an unsigned message. For signed-data and `encrypt --sign`'s messages, whose
/// signature layer comes off.
fn with_wrapper_fields(
    header_section: &[u8],
    mut signed_entity: impl BufRead,
) -> Result<impl BufRead> {
    let entity_header = message::read_header_section(&mut signed_entity)?;
    let head = message::unwrapped_header_section(header_section, &entity_header)?;
    Ok(std::io::Cursor::new(head).chain(signed_entity))
}

/// `--require-aead` against an EnvelopedData message.
fn not_integrity_protected(head: &ParsedHead) -> Error {
    Error::data(format!(
        "the message is not integrity-protected ({} in EnvelopedData), and --require-aead refuses it",
        head.content.name()
    ))
    .with_hint("ask the sender for AES-GCM or ChaCha20-Poly1305 (AuthEnvelopedData)")
}

/// EnvelopedData: CBC has no tag, so the plaintext is released as it is decrypted, one block
/// behind the ciphertext; the padding, checked at the end, decides whether the run succeeds (the
/// output is held until then as far as the output hold reaches).
///
/// Serial on one thread: CBC decryption in one stream is cheap next to base64 and the output,
/// and there is no second pass to overlap with.
fn decrypt_cbc<R: Read>(
    envelope: &mut EnvelopeReader<R>,
    decryptor: CbcDecryptor,
    restore: impl FnOnce(&mut dyn BufRead) -> Result<()>,
) -> Result<()> {
    let mut plaintext = CbcPlaintext {
        envelope,
        decryptor: Some(decryptor),
        piece: Vec::with_capacity(CHUNK + 32),
        pos: 0,
        failed: None,
    };
    let restored = restore(&mut plaintext);
    // Whatever `restore` made of the plaintext, a content that does not decrypt is reported as
    // such, in the same words as always: garbage from a wrong key must not show through as a
    // different error.
    if let Some(e) = plaintext.failed.take() {
        return Err(e);
    }
    if restored.is_err() {
        plaintext.drain()?;
    }
    restored
}

/// The plaintext of EnvelopedData as `restore` reads it, decrypted piece by piece from the
/// envelope.
struct CbcPlaintext<'a, R: Read> {
    envelope: &'a mut EnvelopeReader<R>,
    /// `None` once the padding has been checked.
    decryptor: Option<CbcDecryptor>,
    piece: Vec<u8>,
    pos: usize,
    /// The content did not decrypt: the error `restore` saw only as an I/O error.
    failed: Option<Error>,
}

impl<R: Read> CbcPlaintext<'_, R> {
    /// The next piece of plaintext into `self.piece`; empty at the end.
    fn next_piece(&mut self) -> Result<()> {
        self.piece.clear();
        self.pos = 0;
        while self.piece.is_empty() {
            let Some(decryptor) = self.decryptor.as_mut() else {
                return Ok(());
            };
            self.piece.resize(CHUNK, 0);
            let n = read_full(self.envelope, &mut self.piece)?;
            self.piece.truncate(n);
            if n == 0 {
                if let Some(last) = self
                    .decryptor
                    .take()
                    .map(CbcDecryptor::finish)
                    .transpose()?
                {
                    self.piece.extend_from_slice(&last);
                }
                return Ok(());
            }
            decryptor.update(&mut self.piece);
        }
        Ok(())
    }

    /// Read to the end after `restore` gave up, so the padding still decides the answer.
    fn drain(&mut self) -> Result<()> {
        while self.decryptor.is_some() {
            self.next_piece()?;
        }
        Ok(())
    }
}

impl<R: Read> BufRead for CbcPlaintext<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.piece.len()
            && self.decryptor.is_some()
            && let Err(e) = self.next_piece()
        {
            self.failed = Some(e.clone());
            return Err(std::io::Error::from(e));
        }
        Ok(self.piece.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.piece.len());
    }
}

/// `Read::read` for the plaintext readers, whose reading is their `BufRead`: copy what the
/// buffer holds, as much as fits, and consume it.
fn read_from_buffer(reader: &mut impl BufRead, buf: &mut [u8]) -> std::io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(buf.len());
    buf[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

impl<R: Read> Read for CbcPlaintext<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        read_from_buffer(self, buf)
    }
}

/// Pass 1 on two cores: this thread reads the envelope (base64 and CMS; the input is not `Send`)
/// while a worker runs the MAC over the ciphertext and spools it. Without a worker (no thread
/// to be had) this thread does both.
///
/// Pieces go round between the two threads and are reused; at most `DEPTH` exist, so memory
/// stays bounded and no send on the bounded channels can block for good.
fn verify_and_spool<R: Read>(
    envelope: &mut EnvelopeReader<R>,
    mut verifier: Verifier,
    mut spool: Spool,
) -> Result<(Verifier, Spool)> {
    // The first piece is read here: content that ends inside it (every small message) is
    // verified on this thread, without starting a worker for it.
    let mut first = vec![0u8; CHUNK];
    let n = read_full(envelope, &mut first)?;
    first.truncate(n);
    verifier.update(&first);
    spool.write(&first)?;
    if n < CHUNK {
        return Ok((verifier, spool));
    }
    let (to_worker, worker_in) = crate::pipeline::channel::<Vec<u8>>(DEPTH);
    let (worker_out, from_worker) = crate::pipeline::channel::<Result<Vec<u8>>>(DEPTH);
    std::thread::scope(|scope| {
        let worker = crate::pipeline::spawn_with(
            scope,
            (verifier, spool, worker_in, worker_out),
            |(mut verifier, mut spool, worker_in, worker_out)| -> Result<(Verifier, Spool)> {
                for piece in worker_in {
                    verifier.update(&piece);
                    if let Err(e) = spool.write(&piece) {
                        let _ = worker_out.send(Err(e.clone()));
                        return Err(e);
                    }
                    // The reading side may want no more pieces (the content has ended): not an
                    // error.
                    let _ = worker_out.send(Ok(piece));
                }
                Ok((verifier, spool))
            },
        );
        let worker = match worker {
            Ok(worker) => worker,
            Err((mut verifier, mut spool, _, _)) => {
                // No second thread to be had (a pids limit): the same work on this one.
                let mut piece = first;
                loop {
                    piece.resize(CHUNK, 0);
                    let n = read_full(envelope, &mut piece)?;
                    if n == 0 {
                        return Ok((verifier, spool));
                    }
                    verifier.update(&piece[..n]);
                    spool.write(&piece[..n])?;
                }
            }
        };
        // Every channel end this thread holds lives in this closure, so they are all dropped,
        // letting the worker go, before it is joined below.
        let fed = (move || -> Result<()> {
            let mut spare: Vec<Vec<u8>> = (1..DEPTH).map(|_| vec![0u8; CHUNK]).collect();
            spare.push(first);
            loop {
                let mut piece = match spare.pop() {
                    Some(piece) => piece,
                    None => from_worker.recv().map_err(|_| thread_stopped())??,
                };
                piece.resize(CHUNK, 0);
                let n = read_full(envelope, &mut piece)?;
                if n == 0 {
                    return Ok(());
                }
                piece.truncate(n);
                to_worker
                    .send(piece)
                    .map_err(|_| worker_error(&from_worker, thread_stopped))?;
            }
        })();
        let done = worker
            .join()
            .ok()
            .flatten()
            .unwrap_or_else(|| Err(thread_stopped()));
        // A read error here is the cause; the worker's "stopped" would only be its echo.
        fed.and(done)
    })
}

/// Fill `buf` from the envelope's content as far as it goes; the length read (short only at the
/// end).
fn read_full<R: Read>(envelope: &mut EnvelopeReader<R>, buf: &mut [u8]) -> Result<usize> {
    let mut len = 0;
    while let Some(rest) = buf.get_mut(len..).filter(|r| !r.is_empty()) {
        let n = envelope.read_content(rest)?;
        if n == 0 {
            break;
        }
        len += n;
    }
    Ok(len)
}

/// Pass 2 on two cores: a worker reads the verified ciphertext back from the spool and decrypts
/// it, while this thread hands the plaintext to `restore` (which writes to the output, and the
/// output is not `Send`). Without a worker, this thread decrypts as `restore` reads.
///
/// Every buffer that holds plaintext is a [`Zeroizing`] one, wiped when it is dropped.
fn decrypt_and_restore(
    spool: Spool,
    decryptor: Decryptor,
    restore: impl FnOnce(&mut dyn BufRead) -> Result<()>,
) -> Result<()> {
    let spool = match spool.into_small() {
        Ok(small) => {
            // All of it fits one piece: decrypt it here, no worker needed.
            let mut small = Zeroizing::new(small);
            let mut decryptor = decryptor;
            decryptor.decrypt_in_place(&mut small)?;
            return restore(&mut std::io::Cursor::new(&small[..]));
        }
        Err(spool) => spool.into_reader()?,
    };
    let (worker_out, from_worker) = crate::pipeline::channel::<Result<Zeroizing<Vec<u8>>>>(DEPTH);
    let (recycle, recycled) = crate::pipeline::channel::<Zeroizing<Vec<u8>>>(DEPTH);
    std::thread::scope(|scope| {
        let worker = crate::pipeline::spawn_with(
            scope,
            (spool, decryptor, worker_out, recycled),
            |(mut spool, mut decryptor, worker_out, recycled)| {
                let mut fresh = DEPTH;
                loop {
                    let mut piece = if fresh > 0 {
                        fresh -= 1;
                        Zeroizing::new(Vec::with_capacity(CHUNK))
                    } else {
                        match recycled.recv() {
                            Ok(piece) => piece,
                            // The restoring side has stopped (its own error, or done early).
                            Err(_) => return,
                        }
                    };
                    let decrypted =
                        next_plaintext(&mut spool, &mut decryptor, &mut piece).map(|()| piece);
                    // An empty piece is the end of the plaintext.
                    let last = decrypted.as_ref().map_or(true, |p| p.is_empty());
                    if worker_out.send(decrypted).is_err() || last {
                        return;
                    }
                }
            },
        );
        let worker = match worker {
            Ok(worker) => worker,
            // No second thread to be had (a pids limit): decrypt on this one as it is read.
            Err((spool, decryptor, _, _)) => {
                return restore(&mut std::io::BufReader::with_capacity(
                    CHUNK,
                    Decrypting {
                        spool,
                        decryptor,
                        piece: Zeroizing::new(Vec::with_capacity(CHUNK)),
                        pos: 0,
                    },
                ));
            }
        };
        let restored = restore(&mut Plaintext {
            from_worker,
            recycle,
            piece: Zeroizing::new(Vec::new()),
            pos: 0,
            ended: false,
        });
        // The worker does not fail on its own: its errors came through the channel.
        let joined = worker.join().map(drop).map_err(|_| thread_stopped());
        restored.and(joined)
    })
}

/// The next piece of plaintext into `piece` (replacing what it held; empty at the end).
fn next_plaintext(
    spool: &mut dyn Read,
    decryptor: &mut Decryptor,
    piece: &mut Zeroizing<Vec<u8>>,
) -> Result<()> {
    piece.clear();
    spool
        .take(CHUNK as u64)
        .read_to_end(piece)
        .map_err(spool_error)?;
    decryptor.decrypt_in_place(piece)
}

/// Plaintext decrypted on the reading thread, for when there is no worker.
struct Decrypting {
    spool: Box<dyn Read + Send>,
    decryptor: Decryptor,
    piece: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl Read for Decrypting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.piece.len() {
            next_plaintext(&mut self.spool, &mut self.decryptor, &mut self.piece)?;
            self.pos = 0;
        }
        let available = self.piece.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        Ok(n)
    }
}

fn thread_stopped() -> Error {
    Error::io("a decrypting thread stopped unexpectedly")
}

/// Find the RecipientInfo meant for one of our identities and unwrap the session key: first by
/// identifier; only when none matches, blind tries (bounded), as other agents' identifiers may
/// not match how a key was loaded.
fn unwrap_content_key(head: &ParsedHead, identities: &[Identity]) -> Result<Zeroizing<Vec<u8>>> {
    if identities.is_empty() {
        return Err(Error::no_permission("no identity to decrypt with")
            .with_hint("give a private key with -i KEY, or set $SEALMAIL_IDENTITY"));
    }
    let key_len = head.content.key_len();
    let mut last_error = None;
    let mut matched = false;
    // One private-key operation per identity and identifier: a RecipientInfo that repeats an
    // identifier already tried for that identity (up to 1024 of them) costs nothing more. An
    // RSA identity has at most three identifiers, so at most three operations.
    let mut tried: Vec<(usize, &crate::keys::RecipientIdentifier)> = Vec::new();
    for info in &head.recipients {
        for (index, identity) in identities.iter().enumerate() {
            if !identity.answers_to(info) {
                continue;
            }
            if let cms::RecipientInfo::Ktri(ktri) = info {
                if tried.contains(&(index, &ktri.rid)) {
                    continue;
                }
                tried.push((index, &ktri.rid));
            }
            matched = true;
            match identity.unwrap_from(info, key_len) {
                Ok(key) => return Ok(key),
                Err(e) if e.kind() == crate::Kind::Io => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
    }
    let mut blind_exhausted = false;
    if !matched {
        // Only RecipientInfos that could be for an identity are tried: for RSA, a wrapped key as
        // long as its modulus, and each distinct wrapped key once per identity. The rest need no
        // private-key operation at all.
        let mut tried_blocks: Vec<(usize, &[u8])> = Vec::new();
        let mut tries = 0;
        'infos: for info in &head.recipients {
            for (index, identity) in identities.iter().enumerate() {
                if !identity.may_answer_unnamed(info) {
                    continue;
                }
                if let cms::RecipientInfo::Ktri(ktri) = info {
                    let block = ktri.enc_key.as_bytes();
                    if tried_blocks.contains(&(index, block)) {
                        continue;
                    }
                    tried_blocks.push((index, block));
                }
                if tries == MAX_BLIND_TRIES {
                    blind_exhausted = true;
                    break 'infos;
                }
                tries += 1;
                match identity.unwrap_from(info, key_len) {
                    Ok(key) => return Ok(key),
                    Err(e) if e.kind() == crate::Kind::Io => return Err(e),
                    Err(e) => last_error = Some(e),
                }
            }
        }
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
        .map(cms::recipient::describe_whom)
        .collect();
    if head.recipients.len() > NAMED {
        who.push(format!("and {} more", head.recipients.len() - NAMED));
    }
    if who.is_empty() {
        return Err(err);
    }
    // PKCS#1 v1.5 blocks are never tried blind, so a bare key cannot answer them at all.
    let pkcs1v15 = head.recipients.iter().any(|info| {
        matches!(info, cms::RecipientInfo::Ktri(k) if k.key_enc_alg.oid == cms::oid::RSA_ENCRYPTION)
    });
    if let Some(bare) = identities.iter().find(|i| !i.has_certificate())
        && pkcs1v15
    {
        return Err(err.with_hint(format!(
            "it is encrypted to: {}; {} is a key without its certificate, and PKCS#1 v1.5 recipients are matched by certificate only: put the certificate beside the key as NAME.crt, after the key in the same file, or in the keyring",
            who.join("; "),
            bare.source
        )));
    }
    Err(err.with_hint(format!("it is encrypted to: {}", who.join("; "))))
}

/// Write the decrypted entity: the restored whole message, or the entity alone (`entity`). An
/// input that was not a message comes back as it went in: the marked entity's body alone, byte
/// for byte. Content that is not a MIME entity at all (raw data someone encrypted with `openssl
/// cms`) is written as it is.
fn restore(
    mut plaintext: impl BufRead,
    outer: Option<&[u8]>,
    entity: bool,
    line_ending: LineEnding,
    out: &mut dyn Write,
) -> Result<()> {
    // Allocated once at its limit, so that growing it leaves no copies of plaintext behind.
    let mut head = WipedPrefix::zeroed(message::MAX_HEADER_SECTION + 4);
    let head = head.fill_from(&mut plaintext)?;
    let mut cursor = std::io::Cursor::new(head);
    let (header, body_start, form) = match message::read_header_section(&mut cursor) {
        Ok(inner) => {
            let restored = message::restore(outer, &inner, line_ending)?;
            let header = if restored.raw_input && !entity {
                Vec::new()
            } else {
                restored.header_section
            };
            (
                Zeroizing::new(header),
                cursor.position() as usize,
                restored.body,
            )
        }
        Err(_) => (Zeroizing::new(Vec::new()), 0, BodyForm::Binary),
    };
    out.write_all(&header)?;
    let mut body = BodyWriter {
        form: if line_ending == LineEnding::Lf {
            form
        } else {
            BodyForm::Binary
        },
        decanon: Decanonicalizer::default(),
        buf: Zeroizing::new(Vec::new()),
    };
    body.write(&head[body_start..], out)?;
    let mut chunk = WipedPrefix::zeroed(CHUNK);
    loop {
        let n = chunk.read_from(&mut plaintext)?;
        if n == 0 {
            break;
        }
        body.write(&chunk.buf[..n], out)?;
    }
    body.finish(out)?;
    Ok(())
}

/// The body on its way out: CRLF -> LF for LF output of text, untouched otherwise.
struct BodyWriter {
    form: BodyForm,
    decanon: Decanonicalizer,
    buf: Zeroizing<Vec<u8>>,
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

    /// The ciphertext itself when it is in memory and no longer than one piece; else the spool.
    fn into_small(self) -> std::result::Result<Vec<u8>, Spool> {
        if self.file.is_none() && self.memory.len() <= CHUNK {
            Ok(self.memory)
        } else {
            Err(self)
        }
    }

    fn into_reader(self) -> Result<Box<dyn Read + Send>> {
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

/// Decrypted bytes, produced only from verified ciphertext, as they come from the decrypting
/// worker; each piece used up goes back to it.
struct Plaintext {
    from_worker: crate::pipeline::Receiver<Result<Zeroizing<Vec<u8>>>>,
    recycle: crate::pipeline::Sender<Zeroizing<Vec<u8>>>,
    piece: Zeroizing<Vec<u8>>,
    pos: usize,
    ended: bool,
}

impl BufRead for Plaintext {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.piece.len() && !self.ended {
            let next = self
                .from_worker
                .recv()
                .map_err(|_| thread_stopped())?
                .map_err(std::io::Error::from)?;
            self.ended = next.is_empty();
            let used = std::mem::replace(&mut self.piece, next);
            self.pos = 0;
            // The worker may have stopped already (at the end); then the piece is not needed.
            if used.capacity() > 0 {
                let _ = self.recycle.try_send(used);
            }
        }
        Ok(self.piece.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.piece.len());
    }
}

impl Read for Plaintext {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        read_from_buffer(self, buf)
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

impl Inspection {
    /// The key transports of the recipients, in words, each named once.
    fn key_transport(&self) -> String {
        let mut kinds: Vec<String> = Vec::new();
        for info in &self.head.recipients {
            let how = cms::recipient::describe_how(info);
            if !kinds.contains(&how) {
                kinds.push(how);
            }
        }
        if kinds.is_empty() {
            return "none sealmail knows".to_string();
        }
        kinds.join("; ")
    }
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "format: {}", self.form)?;
        writeln!(f, "content type: {}", self.head.content.envelope_name())?;
        match &self.head.content {
            ContentEncryption::Aead(c) => writeln!(
                f,
                "cipher: {} ({}-byte nonce, {}-byte tag)",
                c.cipher.name(),
                c.nonce.len(),
                c.tag_len
            )?,
            ContentEncryption::Cbc(c) => {
                writeln!(f, "cipher: {} ({}-byte IV)", c.cipher.name(), c.iv.len())?
            }
        }
        writeln!(f, "key transport: {}", self.key_transport())?;
        writeln!(
            f,
            "integrity protection: {}",
            match self.head.content.is_aead() {
                true => "yes (authenticated encryption)",
                false => "NO (CBC without a MAC: the content could be altered unnoticed)",
            }
        )?;
        writeln!(f, "encrypted content: {} bytes", self.content_len)?;
        writeln!(
            f,
            "recipients: {}",
            self.head.recipients.len() + self.head.undecoded_recipients
        )?;
        for (i, info) in self.head.recipients.iter().enumerate() {
            writeln!(
                f,
                "  {}. {}; {}",
                i + 1,
                cms::recipient::describe_whom(info),
                cms::recipient::describe_how(info)
            )?;
        }
        if self.head.undecoded_recipients > 0 {
            writeln!(
                f,
                "  (+{} recipients of kinds sealmail does not know)",
                self.head.undecoded_recipients
            )?;
        }
        Ok(())
    }
}
