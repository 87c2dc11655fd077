//! Verifying, top to bottom: read the message's header, take the signed entity out of its
//! `multipart/signed` (detached) or `application/pkcs7-mime` signed-data (opaque) wrapping,
//! hash it while spooling it, check the signature, decide whether the signer is trusted, and
//! only then write the message without its signature layer.
//!
//! Not for: path validation itself (see `keys::trust`), CMS parsing (see `cms::signed`) or
//! choosing trust anchors (see `app`). Nothing is written before the signature is checked: the
//! content waits in a spool (memory up to 8 MiB, then an anonymous temporary file).

use crate::cms::signed::{self, SignedReader, ValidSignature};
use crate::entity::Decanonicalizer;
use crate::error::{Error, Result};
use crate::keys::signature::{Hash, Hasher};
use crate::keys::trust::{self, Purpose, TrustStore, Verdict};
use crate::message::{self, LineEnding};
use crate::smime::{self, InForm};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Content held in memory before the spool moves to a temporary file.
const SPOOL_MEMORY: usize = 8 << 20;
/// Pieces lines are read in: a longer line is read in several (it cannot be a boundary).
const LINE_PIECE: usize = 64 * 1024;

/// What to trust and what to let through, decided by `app` from the flags.
pub struct VerifyPlan {
    pub trust: TrustStore,
    /// Other certificates that may complete a chain (the keyring's).
    pub intermediates: Vec<x509_cert::Certificate>,
    pub allow_untrusted: bool,
    pub now: SystemTime,
}

/// The outcome of a valid signature: who signed, and whether they are trusted.
pub struct Verified {
    pub signature: ValidSignature,
    pub verdict: Verdict,
    /// Lines for stderr: who signed, and the trust verdict.
    pub report: Vec<String>,
}

/// Check `input`'s signature and, when it is valid and trusted (or untrusted ones are allowed),
/// write the message without its signature layer to `out`. Invalid: 65, nothing written.
/// Valid but untrusted without `allow_untrusted`: 77, nothing written.
pub fn verify(
    plan: &VerifyPlan,
    mut input: Box<dyn BufRead + '_>,
    out: &mut dyn Write,
) -> Result<Verified> {
    let header_section = message::read_header_section(&mut input)?;
    let eol = message::line_ending_of(&header_section);
    let from = from_addresses(&header_section);
    let checked = check(plan, &header_section, input, &from)?;
    if !checked.verified.verdict.is_trusted() && !plan.allow_untrusted {
        return Err(untrusted(&checked.verified));
    }
    let (mut entity, verified) = checked.into_entity()?;
    let inner = message::read_header_section(&mut entity)?;
    let outer = message::is_whole_message(&header_section).then_some(&header_section[..]);
    let restored = message::restore(outer, &inner, eol)?;
    out.write_all(&restored.header_section)?;
    copy_body(&mut entity, eol, out)?;
    out.flush()?;
    Ok(verified)
}

/// The error for a valid signature by a signer who is not trusted (77).
pub fn untrusted(verified: &Verified) -> Error {
    untrusted_with(verified, "see the content anyway with --allow-untrusted")
}

/// [`untrusted`], its hint ending in `instead` (what else the user can do). A CA does not help
/// when the chain is fine and only the From address is not the certificate's, so the hint then
/// says what is wrong instead of asking for one.
pub fn untrusted_with(verified: &Verified, instead: &str) -> Error {
    let reason = match &verified.verdict {
        Verdict::Untrusted { reason } => reason.clone(),
        Verdict::Trusted { .. } => String::new(),
    };
    let hint = if reason.ends_with(NOT_THE_SENDERS) {
        format!(
            "the signer's certificate is for another address than the From field: the message may not be from who it says; {instead}"
        )
    } else {
        format!("add the issuer's certificate with --ca FILE, or {instead}")
    };
    Error::no_permission(format!(
        "the signature by {} is valid but not trusted: {reason}",
        trust::describe_certificate(&verified.signature.signer)
    ))
    .with_hint(hint)
}

/// The end of the reason a trusted chain is still not trusted: the From address is not the
/// certificate's.
const NOT_THE_SENDERS: &str = ", which the certificate does not name";

/// Whether an entity whose header section is `header_section` says it is signed
/// (multipart/signed, or application/pkcs7-mime with smime-type=signed-data): what `decrypt`
/// asks of the content it decrypted. Stricter than `verify`, which is told the input is signed:
/// a pkcs7-mime part without smime-type inside an encryption is passed on as it is.
pub fn is_signed(header_section: &[u8]) -> bool {
    use mail_parser::MimeHeaders;
    let Some(parsed) = mail_parser::MessageParser::new().parse_headers(header_section) else {
        return false;
    };
    let Some(ct) = parsed.content_type() else {
        return false;
    };
    let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
    match (ct.ctype().to_ascii_lowercase().as_str(), subtype.as_str()) {
        // S/MIME's protocols only: a PGP/MIME signature (application/pgp-signature) is not ours
        // to check. RFC 1847 requires the parameter; without it, S/MIME is assumed.
        ("multipart", "signed") => ct.attribute("protocol").is_none_or(|p| {
            let p = p.to_ascii_lowercase();
            p == "application/pkcs7-signature" || p == "application/x-pkcs7-signature"
        }),
        ("application", "pkcs7-mime" | "x-pkcs7-mime") => ct
            .attribute("smime-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("signed-data")),
        _ => false,
    }
}

/// A signature that checked out, with the signed entity waiting in its spool.
pub struct Checked {
    pub verified: Verified,
    spool: Spool,
}

impl Checked {
    /// The signed entity (canonical, CRLF line ends), read back from the spool.
    pub fn into_entity(mut self) -> Result<(impl BufRead, Verified)> {
        self.spool.rewind()?;
        Ok((self.spool, self.verified))
    }
}

/// Check the signature of a signed entity or message whose header section (already read) is
/// `header_section` and whose rest is `input`: the signed content goes to a spool as it is
/// hashed, and nothing of it is handed out before the signature is checked. Invalid: 65. The
/// trust verdict is in the result (`from`: the message's From addresses, which the certificate
/// must name); what to do about an untrusted signer is the caller's choice.
pub fn check(
    plan: &VerifyPlan,
    header_section: &[u8],
    input: Box<dyn BufRead + '_>,
    from: &[String],
) -> Result<Checked> {
    let mut spool = Spool::default();
    let verified = check_into(plan, header_section, input, from, &mut spool)?;
    Ok(Checked { verified, spool })
}

/// What `decrypt` makes of a signature inside the encryption: checked (`verified`), or not
/// checkable because the signer's certificate is not in the message (`uncheckable`: a signed
/// mail forwarded encrypted, signed with `-nocerts`), which is not the same as wrong: such
/// content is not shown to be altered, and is all the reader has. Either way `message` is what
/// to show, read back from a spool once the check is done: for multipart/signed the message
/// exactly as it was signed, signature included (a mail client's signed message that a filter
/// encrypted: it can be checked again later, by `sealmail verify` or the mail client); the
/// signed entity when it carries the header protection itself (`encrypt --sign`), and for
/// signed-data, whose content is unreadable inside the CMS.
pub struct Inner {
    pub verified: Option<Verified>,
    pub uncheckable: Option<Error>,
    pub message: InnerMessage,
}

/// What `decrypt` writes after an inner signature was checked.
pub enum InnerMessage {
    /// The multipart/signed body as it was read (after the header section the caller holds).
    AsSigned(Box<dyn BufRead>),
    /// signed-data: the entity that was inside it.
    Entity(Box<dyn BufRead>),
}

/// [`check`] for `decrypt` (see [`Inner`]).
pub fn check_inner(
    plan: &VerifyPlan,
    header_section: &[u8],
    input: Box<dyn BufRead + '_>,
    from: &[String],
) -> Result<Inner> {
    let detached = matches!(signed_kind(header_section)?, SignedKind::Detached { .. });
    let mut spool = Spool::default();
    let mut raw = Spool::default();
    let outcome = if detached {
        let mut tee = Tee {
            inner: input,
            copy: &mut raw,
            failed: None,
        };
        let outcome = check_into(plan, header_section, Box::new(&mut tee), from, &mut spool);
        // The epilogue after the closing boundary is part of the message as it was signed.
        if outcome.is_ok() || outcome.as_ref().is_err_and(signed::is_unknown_signer) {
            std::io::copy(&mut tee, &mut std::io::sink())?;
        }
        if let Some(e) = tee.failed {
            return Err(e.into());
        }
        outcome
    } else {
        check_into(plan, header_section, input, from, &mut spool)
    };
    let (verified, uncheckable) = match outcome {
        Ok(verified) => (Some(verified), None),
        Err(reason) if signed::is_unknown_signer(&reason) => (None, Some(reason)),
        Err(e) => return Err(e),
    };
    spool.rewind()?;
    let message = if detached && !carries_header_protection(&mut spool)? {
        drop(spool);
        raw.rewind()?;
        InnerMessage::AsSigned(Box::new(raw))
    } else {
        InnerMessage::Entity(Box::new(spool))
    };
    Ok(Inner {
        verified,
        uncheckable,
        message,
    })
}

/// Does the signed entity's own header carry header protection (`hp="cipher"`: the sender
/// signed the protected Subject, From, ... as `sealmail encrypt --sign` does)? Then `decrypt`
/// shows the entity, whose protected fields only restoring it brings back; otherwise the
/// message as it was signed.
fn carries_header_protection(spool: &mut Spool) -> Result<bool> {
    let start = spool.fill_buf()?;
    let Some(end) = memchr::memmem::find(start, b"\r\n\r\n") else {
        return Ok(false);
    };
    Ok(message::has_header_protection(
        start.get(..end + 4).unwrap_or_default(),
    ))
}

/// A reader that keeps a copy of everything read through it (what `decrypt` shows once the
/// signature is checked). A failure to keep the copy is remembered and reported after.
struct Tee<'a, 'b> {
    inner: Box<dyn BufRead + 'b>,
    copy: &'a mut Spool,
    failed: Option<std::io::Error>,
}

impl Read for Tee<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(buf.get(..n).unwrap_or_default())?;
        Ok(n)
    }
}

impl BufRead for Tee<'_, '_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        match self.inner.fill_buf() {
            Ok(buf) => {
                if let Err(e) = self.copy.write_all(buf.get(..amt).unwrap_or(buf)) {
                    self.failed.get_or_insert(e);
                }
            }
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
        self.inner.consume(amt);
    }
}

fn check_into(
    plan: &VerifyPlan,
    header_section: &[u8],
    mut input: Box<dyn BufRead + '_>,
    from: &[String],
    spool: &mut Spool,
) -> Result<Verified> {
    let kind = signed_kind(header_section)?;
    let signature = match kind {
        SignedKind::Detached { boundary, micalg } => {
            detached(&mut input, &boundary, micalg, spool)?
        }
        SignedKind::Opaque => {
            let whole: Box<dyn BufRead + '_> = Box::new(std::io::BufReader::new(
                std::io::Cursor::new(header_section.to_vec()).chain(input),
            ));
            opaque(whole, spool)?
        }
    };
    let verdict = trust_verdict(plan, &signature, from);
    let mut report = vec![format!(
        "signed by {}",
        trust::describe_signer(&signature.signer)
    )];
    report.push(verdict.describe());
    Ok(Verified {
        signature,
        verdict,
        report,
    })
}

/// How a message is signed, from its Content-Type.
enum SignedKind {
    Detached {
        boundary: String,
        micalg: Option<Hash>,
    },
    Opaque,
}

fn signed_kind(header_section: &[u8]) -> Result<SignedKind> {
    use mail_parser::MimeHeaders;
    let not_signed = || {
        Error::data("the message is not signed (no multipart/signed or application/pkcs7-mime)")
            .with_hint("an encrypted message is read with sealmail decrypt")
    };
    let parsed = mail_parser::MessageParser::new()
        .parse_headers(header_section)
        .ok_or_else(not_signed)?;
    let ct = parsed.content_type().ok_or_else(not_signed)?;
    let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
    match (ct.ctype().to_ascii_lowercase().as_str(), subtype.as_str()) {
        ("multipart", "signed") => {
            let boundary = ct
                .attribute("boundary")
                .filter(|b| !b.is_empty())
                .ok_or_else(|| Error::data("the multipart/signed message has no boundary"))?
                .to_string();
            let micalg = match ct
                .attribute("micalg")
                .map(|m| m.trim().to_ascii_lowercase())
            {
                Some(m) if m == "sha-256" => Some(Hash::Sha256),
                Some(m) if m == "sha-384" => Some(Hash::Sha384),
                Some(m) if m == "sha-512" => Some(Hash::Sha512),
                _ => None,
            };
            Ok(SignedKind::Detached { boundary, micalg })
        }
        ("application", "pkcs7-mime") | ("application", "x-pkcs7-mime") => {
            let smime_type = ct.attribute("smime-type").map(str::to_ascii_lowercase);
            if smime_type
                .as_deref()
                .is_some_and(|t| t.contains("enveloped"))
            {
                return Err(Error::data("the message is encrypted, not signed")
                    .with_hint("read it with sealmail decrypt"));
            }
            Ok(SignedKind::Opaque)
        }
        _ => Err(not_signed()),
    }
}

/// The From addresses of a whole message (none for a bare entity).
pub fn from_addresses(header_section: &[u8]) -> Vec<String> {
    let Some(parsed) = mail_parser::MessageParser::new().parse_headers(header_section) else {
        return Vec::new();
    };
    parsed
        .from()
        .map(|from| {
            from.iter()
                .filter_map(|a| a.address())
                .map(|a| a.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn trust_verdict(plan: &VerifyPlan, signature: &ValidSignature, from: &[String]) -> Verdict {
    // A certificate expired at signing time is not trusted; one that expired since still is.
    let at = signature.signing_time.unwrap_or(plan.now);
    let mut pool = signature.certificates.clone();
    pool.extend(plan.intermediates.iter().cloned());
    let verdict = plan
        .trust
        .validate(&signature.signer, &pool, at, Purpose::EmailSigning);
    if !verdict.is_trusted() {
        return verdict;
    }
    let emails = trust::certificate_emails(&signature.signer);
    for address in from {
        if !emails
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(address))
        {
            return Verdict::Untrusted {
                reason: format!("the message is from {address}{NOT_THE_SENDERS}"),
            };
        }
    }
    verdict
}

/// The canonical body from the spool, in the message's line ending.
fn copy_body(entity: &mut dyn BufRead, eol: LineEnding, out: &mut dyn Write) -> Result<()> {
    let mut d = Decanonicalizer::default();
    let mut buf = Vec::with_capacity(LINE_PIECE * 4);
    loop {
        let chunk = entity.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        match eol {
            LineEnding::CrLf => out.write_all(chunk)?,
            LineEnding::Lf => {
                buf.clear();
                d.push(chunk, &mut buf);
                out.write_all(&buf)?;
            }
        }
        entity.consume(n);
    }
    if eol == LineEnding::Lf {
        buf.clear();
        d.finish(&mut buf);
        out.write_all(&buf)?;
    }
    Ok(())
}

/// The signed content until its signature is checked: in memory up to [`SPOOL_MEMORY`], then in
/// an anonymous temporary file. It may be decrypted plaintext (`decrypt` of signed-then-encrypted
/// mail), so the memory is allocated once at its limit (growing would leave copies behind) and
/// wiped when dropped, as is the buffer the file is read back through.
#[derive(Default)]
struct Spool {
    memory: Zeroizing<Vec<u8>>,
    file: Option<std::fs::File>,
    /// Reading: the position in `memory`, or in `buf` (the file's bytes read so far).
    pos: usize,
    buf: Zeroizing<Vec<u8>>,
    buf_len: usize,
}

impl Spool {
    /// Back to the start, for reading.
    fn rewind(&mut self) -> std::io::Result<()> {
        self.pos = 0;
        self.buf_len = 0;
        if let Some(file) = &mut self.file {
            file.seek(SeekFrom::Start(0))?;
        }
        Ok(())
    }

    /// To the end, for writing on after a read.
    fn seek_to_end(&mut self) -> std::io::Result<()> {
        if let Some(file) = &mut self.file {
            file.seek(SeekFrom::End(0))?;
        }
        Ok(())
    }
}

impl Write for Spool {
    /// Appends (writing always goes to the end).
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = &mut self.file {
            file.write_all(data)?;
        } else if self.memory.len() + data.len() <= SPOOL_MEMORY {
            if self.memory.capacity() == 0 {
                self.memory.reserve_exact(SPOOL_MEMORY);
            }
            self.memory.extend_from_slice(data);
        } else {
            // Anonymous: unlinked at creation, so it disappears on every exit path.
            let mut file = tempfile::tempfile()?;
            file.write_all(&self.memory)?;
            file.write_all(data)?;
            // Wiped as it is dropped, and freed: the file holds it all now.
            self.memory = Zeroizing::default();
            self.file = Some(file);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BufRead for Spool {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let Some(file) = &mut self.file else {
            return Ok(self.memory.get(self.pos..).unwrap_or_default());
        };
        if self.pos >= self.buf_len {
            if self.buf.is_empty() {
                self.buf.resize(LINE_PIECE, 0);
            }
            self.buf_len = file.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(self.buf.get(self.pos..self.buf_len).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

impl Read for Spool {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(available.get(..n).unwrap_or_default());
        self.consume(n);
        Ok(n)
    }
}

/// The running digests of the content and the spool it goes to.
struct Digesting<'a> {
    hashers: Vec<(Hash, Hasher)>,
    spool: &'a mut dyn Write,
}

impl<'a> Digesting<'a> {
    fn new(hashes: &[Hash], spool: &'a mut dyn Write) -> Digesting<'a> {
        Digesting {
            hashers: hashes.iter().map(|&h| (h, Hasher::new(h))).collect(),
            spool,
        }
    }

    fn push(&mut self, canonical: &[u8]) -> Result<()> {
        for (_, h) in &mut self.hashers {
            h.update(canonical);
        }
        self.spool.write_all(canonical)?;
        Ok(())
    }

    fn finish(self) -> Vec<(Hash, Vec<u8>)> {
        self.hashers
            .into_iter()
            .map(|(h, d)| (h, d.finish()))
            .collect()
    }
}

/// The digests a SignerInfo may use that were not computed as the content passed: computed now
/// from the spool (only when the message's micalg named another hash).
fn complete_digests(
    parts: &signed::SignedParts,
    mut digests: Vec<(Hash, Vec<u8>)>,
    spool: &mut Spool,
) -> Result<Vec<(Hash, Vec<u8>)>> {
    for info in &parts.signer_infos {
        let Ok(hash) = Hash::from_oid(info.digest_alg.oid) else {
            continue;
        };
        if digests.iter().any(|(h, _)| *h == hash) {
            continue;
        }
        spool.rewind()?;
        let mut hasher = Hasher::new(hash);
        let mut buf = vec![0u8; LINE_PIECE];
        loop {
            let n = spool.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        digests.push((hash, hasher.finish()));
        spool.seek_to_end()?;
    }
    Ok(digests)
}

/// multipart/signed (RFC 1847, RFC 8551 §3.5.3): the first part is the signed entity, the
/// second the detached signature. The entity's canonical form is hashed and spooled as it is
/// read; the signature comes after it.
fn detached(
    input: &mut dyn BufRead,
    boundary: &str,
    micalg: Option<Hash>,
    spool: &mut Spool,
) -> Result<ValidSignature> {
    let not_signed =
        |what: &str| Error::data(format!("malformed multipart/signed message: {what}"));
    let mut lines = Lines::new(input);
    // The preamble.
    loop {
        match lines.next()? {
            None => return Err(not_signed("the boundary never appears")),
            Some(line) if line.start && delimiter(line.bytes, boundary).is_some() => break,
            Some(_) => {}
        }
    }
    // The signed entity: every line up to the next delimiter, whose CRLF belongs to it.
    let hash = micalg.unwrap_or(Hash::Sha256);
    let mut digesting = Digesting::new(&[hash], spool);
    let mut pending_eol = false;
    loop {
        let line = lines
            .next()?
            .ok_or_else(|| not_signed("it ends before the signature part"))?;
        if line.start
            && let Some(close) = delimiter(line.bytes, boundary)
        {
            if close {
                return Err(not_signed("it has no signature part"));
            }
            break;
        }
        if pending_eol {
            digesting.push(b"\r\n")?;
        }
        let (text, has_eol) = match line.bytes.strip_suffix(b"\n") {
            Some(t) => (t.strip_suffix(b"\r").unwrap_or(t), true),
            None => (line.bytes, false),
        };
        digesting.push(text)?;
        pending_eol = has_eol;
    }
    let digests = digesting.finish();

    // The signature part: its header, then base64 up to the closing delimiter.
    let reader = lines.into_inner();
    message::read_header_section(reader)?;
    let mut lines = Lines::new(reader);
    let mut b64 = Vec::new();
    loop {
        let line = lines
            .next()?
            .ok_or_else(|| not_signed("the signature part is not closed"))?;
        if line.start && delimiter(line.bytes, boundary).is_some() {
            break;
        }
        b64.extend(line.bytes.iter().filter(|b| !b.is_ascii_whitespace()));
        if b64.len() > signed::limits::MAX_DETACHED / 3 * 4 + 4 {
            return Err(not_signed("the signature part is too large"));
        }
    }
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &b64)
        .map_err(|_| not_signed("the signature part is not valid base64"))?;
    let reader = SignedReader::open(&der[..])?;
    if reader.has_content() {
        return Err(not_signed("the signature part carries content of its own"));
    }
    let parts = reader.finish()?;
    let digests = complete_digests(&parts, digests, spool)?;
    signed::check(&parts, &digests)
}

/// application/pkcs7-mime signed-data: the entity is inside the CMS, hashed and spooled as it
/// is decoded.
fn opaque(input: Box<dyn BufRead + '_>, spool: &mut Spool) -> Result<ValidSignature> {
    let opened = smime::open_envelope(input, InForm::Smime)?;
    let mut reader = SignedReader::open(opened.cms)?;
    if !reader.has_content() {
        return Err(Error::data(
            "the signed-data has no content (a detached signature without its message)",
        ));
    }
    let hashes = if reader.digest_algorithms.is_empty() {
        vec![Hash::Sha256]
    } else {
        reader.digest_algorithms.clone()
    };
    let mut digesting = Digesting::new(&hashes, spool);
    let mut buf = vec![0u8; LINE_PIECE * 4];
    loop {
        let n = reader.read_content(&mut buf)?;
        if n == 0 {
            break;
        }
        digesting.push(buf.get(..n).unwrap_or_default())?;
    }
    let digests = digesting.finish();
    let parts = reader.finish()?;
    let digests = complete_digests(&parts, digests, spool)?;
    signed::check(&parts, &digests)
}

/// `Some(is_close)` when `line` is a delimiter of `boundary`: `--boundary` (or `--boundary--`)
/// followed only by white space (RFC 2046 §5.1.1 transport padding).
fn delimiter(line: &[u8], boundary: &str) -> Option<bool> {
    let rest = line
        .strip_prefix(b"--")?
        .strip_prefix(boundary.as_bytes())?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .then_some(close)
}

/// One piece of a line: at most [`LINE_PIECE`] bytes; `start` when it begins a line.
struct Line<'a> {
    bytes: &'a [u8],
    start: bool,
}

/// Lines of a stream in bounded pieces.
struct Lines<'a, 'b> {
    input: &'a mut (dyn BufRead + 'b),
    buf: Vec<u8>,
    at_start: bool,
}

impl<'a, 'b> Lines<'a, 'b> {
    fn new(input: &'a mut (dyn BufRead + 'b)) -> Self {
        Lines {
            input,
            buf: Vec::with_capacity(LINE_PIECE),
            at_start: true,
        }
    }

    fn next(&mut self) -> Result<Option<Line<'_>>> {
        self.buf.clear();
        let n = (&mut *self.input)
            .take(LINE_PIECE as u64)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        let start = self.at_start;
        self.at_start = self.buf.ends_with(b"\n");
        Ok(Some(Line {
            bytes: &self.buf,
            start,
        }))
    }

    fn into_inner(self) -> &'a mut (dyn BufRead + 'b) {
        self.input
    }
}

/// `--import`: the signer's certificate into the keyring (as `ADDRESS.crt`, and pinned as
/// trusted in `pinned/ADDRESS.crt`) and its SMIMECapabilities into `ADDRESS.caps`, for each
/// address the certificate names. Returns what was written, for stderr.
///
/// `trusted`: the signer chains to an anchor. Only then is the certificate pinned (trusted for
/// later encrypts) and written as `ADDRESS.crt`. An untrusted signer imported on the user's word
/// (`--allow-untrusted`) goes in unpinned, under its own name `ADDRESS.FINGERPRINT.crt`, so it
/// neither replaces a certificate already there nor wins over a trusted one: the keyring's
/// choice (trusted first) still decides, and an untrusted one is used only with a warning; its
/// capabilities are not recorded.
pub fn import(
    keyring: &std::path::Path,
    signature: &ValidSignature,
    trusted: bool,
) -> Result<Vec<String>> {
    let addresses = trust::certificate_emails(&signature.signer);
    if addresses.is_empty() {
        return Err(Error::config(
            "cannot import the signer: the certificate names no email address",
        ));
    }
    let der = trust::certificate_der(&signature.signer)?;
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
        .map_err(|_| Error::config("cannot encode the signer's certificate"))?;
    let pinned = keyring.join("pinned");
    crate::io::create_dir_all(if trusted { &pinned } else { keyring })?;
    let write = |path: std::path::PathBuf, text: &str| -> Result<()> {
        std::fs::write(&path, text).map_err(|e| {
            Error::cant_create(format!(
                "cannot write {}: {}",
                path.display(),
                crate::error::io_reason(&e)
            ))
        })
    };
    let capabilities = match &signature.capabilities {
        Some(der) => Some(crate::cms::Capabilities::from_der(der)?),
        None => None,
    };
    let mut done = Vec::new();
    let mut written: Vec<String> = Vec::new();
    for address in addresses {
        let name = address.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
            continue;
        }
        // A certificate usually names its address twice (subjectAltName rfc822Name and the
        // subject's emailAddress, as keygen writes it): one file, and one line on stderr, each.
        if written.contains(&name) {
            continue;
        }
        written.push(name.clone());
        if trusted {
            write(keyring.join(format!("{name}.crt")), &pem)?;
            write(pinned.join(format!("{name}.crt")), &pem)?;
            done.push(format!(
                "imported {name}: certificate pinned in {}",
                pinned.display()
            ));
        } else {
            let fingerprint: String = <sha2::Sha256 as sha2::Digest>::digest(&der)
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect();
            let path = keyring.join(format!("{name}.{fingerprint}.crt"));
            write(path.clone(), &pem)?;
            done.push(format!(
                "imported {name}: certificate in {} (not pinned: the signer is not trusted)",
                path.display()
            ));
        }
        // What an untrusted signer says it reads is not taken: it would choose the format of
        // the genuine correspondent's mail.
        if let Some(caps) = capabilities.filter(|_| trusted) {
            let path = keyring.join(format!("{name}.caps"));
            write(
                path.clone(),
                &format!(
                    "# recorded from a signed message by sealmail verify --import\n{}",
                    caps.to_tokens()
                ),
            )?;
            done.push(format!(
                "imported {name}: capabilities in {}",
                path.display()
            ));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::{SPOOL_MEMORY, Spool, is_signed};
    use std::io::{Read, Write};

    /// Content that stays in memory and content that moves to the file part-way come back
    /// whole, read as often as the digests need.
    #[test]
    fn the_spool_gives_back_what_went_in_on_either_side_of_its_memory_limit() {
        for len in [0, 1000, SPOOL_MEMORY, SPOOL_MEMORY + 70_001] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut spool = Spool::default();
            for piece in data.chunks(65_537) {
                spool.write_all(piece).unwrap();
            }
            assert_eq!(spool.file.is_some(), len > SPOOL_MEMORY, "{len}");
            for _ in 0..2 {
                spool.rewind().unwrap();
                let mut back = Vec::new();
                spool.read_to_end(&mut back).unwrap();
                assert!(back == data, "{len}");
            }
        }
    }

    #[test]
    fn decrypt_takes_only_what_says_it_is_signed_for_a_signature() {
        assert!(is_signed(
            b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n"
        ));
        assert!(is_signed(
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\r\n"
        ));
        assert!(is_signed(
            b"Content-Type: application/x-pkcs7-mime; smime-type=Signed-Data\r\n\r\n"
        ));
        for not in [
            &b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n"[..],
            b"Content-Type: application/pkcs7-mime\r\n\r\n",
            b"Content-Type: text/plain\r\n\r\n",
            b"Subject: no content type\r\n\r\n",
            b"\x00\x01 not a header",
        ] {
            assert!(!is_signed(not), "{}", String::from_utf8_lossy(not));
        }
    }
}
