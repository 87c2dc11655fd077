//! Signing, top to bottom: read the message, split it into outer fields and the entity to sign,
//! make that entity canonical and 7-bit safe, hash it as it streams out, then sign the digest:
//! `multipart/signed` with a detached signature (the default; readers without S/MIME still see
//! the text) or `application/pkcs7-mime; smime-type=signed-data` with the entity inside.
//!
//! Not for: choosing the key or certificate (see `app`), CMS encoding (see `cms::signed`) or
//! checking signatures (see `verify`).

use crate::cms::signed::{OpaqueWriter, Signer};
use crate::entity::{Canonicalizer, Decanonicalizer};
use crate::error::{Error, Result};
use crate::message::{self, LineEnding, Protection};
use base64::Engine as _;
use std::io::{BufRead, Read, Write};
use std::time::SystemTime;

/// The body read before the entity's header is written, to see whether it is 7-bit.
const LOOK_AHEAD: usize = 1 << 20;
/// Pieces the body is read in.
const CHUNK: usize = 256 * 1024;
/// RFC 2045 §6.8: base64 lines of at most 76 characters (57 input bytes).
const B64_LINE_INPUT: usize = 57;

/// What to sign with and how, decided by `app` from the flags.
pub struct SignPlan<'a> {
    pub signer: Signer<'a>,
    /// `application/pkcs7-mime; smime-type=signed-data` instead of multipart/signed.
    pub opaque: bool,
    pub time: SystemTime,
}

pub fn sign(
    plan: &SignPlan<'_>,
    mut input: Box<dyn BufRead + '_>,
    out: &mut dyn Write,
) -> Result<()> {
    // The message: its Content-* fields and body are signed, the other fields stay outside.
    let header_section = message::read_header_section(&mut input)?;
    let split = message::split(
        &header_section,
        Protection {
            protect: false,
            keep_subject: true,
        },
    )?;
    let eol = split.line_ending;

    // The signed entity must survive relays that re-encode 8-bit: decide its transfer encoding
    // from the body's first MiB.
    let mut ahead = Vec::new();
    (&mut input)
        .take(LOOK_AHEAD as u64)
        .read_to_end(&mut ahead)?;
    let (entity_head, encoding) = seven_bit_entity(&split.inner_header_section, &ahead)?;
    let mut body = BodyEncoder::new(encoding);

    let mut head = split.outer_fields.clone();
    let mut line = |text: &str| {
        head.extend_from_slice(text.as_bytes());
        head.extend_from_slice(eol.as_bytes());
    };
    line("MIME-Version: 1.0");
    if plan.opaque {
        line("Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"");
        line("Content-Transfer-Encoding: base64");
        line("Content-Disposition: attachment; filename=\"smime.p7m\"");
        line("");
        out.write_all(&head)?;
        let mut b64 = Base64Lines::new(&mut *out, eol);
        let mut cms = OpaqueWriter::start(&mut b64)?;
        cms.write_content(&entity_head)?;
        stream_body(&mut input, ahead, &mut body, |canonical| {
            cms.write_content(canonical)
        })?;
        cms.finish(&plan.signer, plan.time)?;
        b64.finish()?;
    } else {
        let boundary = boundary()?;
        line(&format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={};",
            Signer::HASH.micalg()
        ));
        line(&format!(" boundary=\"{boundary}\""));
        line("");
        line("This is an S/MIME signed message.");
        line("");
        line(&format!("--{boundary}"));
        out.write_all(&head)?;

        // The entity goes out as it is hashed; its canonical form is what is signed.
        let mut hasher = crate::keys::signature::Hasher::new(Signer::HASH);
        let mut wire = WireForm::new(eol);
        let mut buf = Vec::with_capacity(CHUNK * 2);
        hasher.update(&entity_head);
        wire.push(&entity_head, &mut buf);
        out.write_all(&buf)?;
        stream_body(&mut input, ahead, &mut body, |canonical| {
            hasher.update(canonical);
            buf.clear();
            wire.push(canonical, &mut buf);
            out.write_all(&buf)?;
            Ok(())
        })?;
        buf.clear();
        wire.finish(&mut buf);
        out.write_all(&buf)?;

        let signature = plan.signer.detached(&hasher.finish(), plan.time)?;
        let mut tail = Vec::new();
        let mut line = |text: &str| {
            tail.extend_from_slice(text.as_bytes());
            tail.extend_from_slice(eol.as_bytes());
        };
        line("");
        line(&format!("--{boundary}"));
        line("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"");
        line("Content-Transfer-Encoding: base64");
        line("Content-Disposition: attachment; filename=\"smime.p7s\"");
        line("");
        out.write_all(&tail)?;
        let mut b64 = Base64Lines::new(&mut *out, eol);
        b64.write_all(&signature)?;
        b64.finish()?;
        out.write_all(format!("--{boundary}--").as_bytes())?;
        out.write_all(eol.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// The signed entity of `encrypt --sign`, as a stream to encrypt: `multipart/signed` around
/// the entity (its canonical header section, then its body), with the detached signature made
/// when the body has ended. Inside the encryption no relay sees the entity, so its body keeps
/// its transfer encoding (8-bit text is only made CRLF, as encrypt makes it) and decrypt gives
/// back the bytes that went in. What Thunderbird sends and Outlook reads: signed, then
/// encrypted (RFC 8551 §3.7).
pub struct SignedEntity<'p, 'r> {
    plan: &'p SignPlan<'p>,
    input: Box<dyn BufRead + 'r>,
    form: message::BodyForm,
    canonical: Canonicalizer,
    hasher: Option<crate::keys::signature::Hasher>,
    boundary: String,
    /// Bytes ready to be read, from `pos`.
    out: Vec<u8>,
    pos: usize,
    raw: Vec<u8>,
}

impl<'p, 'r> SignedEntity<'p, 'r> {
    /// `header_section`: the entity's canonical header section (empty line included); `ahead`:
    /// the body read so far; `input`: the rest of it.
    pub fn new(
        plan: &'p SignPlan<'p>,
        header_section: &[u8],
        form: message::BodyForm,
        ahead: &[u8],
        input: Box<dyn BufRead + 'r>,
    ) -> Result<Self> {
        let boundary = boundary()?;
        let mut out = format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={};\r\n boundary=\"{boundary}\"\r\n\r\nThis is an S/MIME signed message.\r\n\r\n--{boundary}\r\n",
            Signer::HASH.micalg()
        )
        .into_bytes();
        let signed_from = out.len();
        out.extend_from_slice(header_section);
        let mut entity = SignedEntity {
            plan,
            input,
            form,
            canonical: Canonicalizer::default(),
            hasher: Some(crate::keys::signature::Hasher::new(Signer::HASH)),
            boundary,
            out,
            pos: 0,
            raw: vec![0u8; CHUNK],
        };
        let mut body = Vec::with_capacity(ahead.len() + ahead.len() / 16);
        entity.push_body(ahead, &mut body);
        entity.out.extend_from_slice(&body);
        if let Some(h) = entity.hasher.as_mut() {
            h.update(entity.out.get(signed_from..).unwrap_or_default());
        }
        Ok(entity)
    }

    fn push_body(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        match self.form {
            message::BodyForm::Text => self.canonical.push(raw, out),
            message::BodyForm::Binary => out.extend_from_slice(raw),
        }
    }

    /// The next bytes into `self.out`: a piece of the body, or at its end the signature part.
    fn refill(&mut self) -> Result<()> {
        self.out.clear();
        self.pos = 0;
        if self.hasher.is_none() {
            return Ok(());
        }
        let n = loop {
            match self.input.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e).context("reading the input")),
            }
        };
        if n > 0 {
            let raw = std::mem::take(&mut self.raw);
            let mut out = std::mem::take(&mut self.out);
            self.push_body(raw.get(..n).unwrap_or_default(), &mut out);
            self.raw = raw;
            self.out = out;
            if let Some(h) = self.hasher.as_mut() {
                h.update(&self.out);
            }
            return Ok(());
        }
        let digest = self.hasher.take().map(|h| h.finish()).unwrap_or_default();
        let signature = self.plan.signer.detached(&digest, self.plan.time)?;
        let boundary = &self.boundary;
        self.out.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
            )
            .as_bytes(),
        );
        base64_lines(&signature, &mut self.out);
        self.out
            .extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Ok(())
    }
}

impl Read for SignedEntity<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.hasher.is_none() {
                return Ok(0);
            }
            self.refill().map_err(std::io::Error::from)?;
        }
        let available = self.out.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(available.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// Feed the body (the look-ahead, then the rest of the input) through the encoder, handing each
/// canonical piece to `sink`.
fn stream_body(
    input: &mut dyn BufRead,
    ahead: Vec<u8>,
    body: &mut BodyEncoder,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut canonical = Vec::with_capacity(CHUNK * 2);
    body.push(&ahead, &mut canonical)?;
    sink(&canonical)?;
    let mut raw = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut raw) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        canonical.clear();
        body.push(raw.get(..n).unwrap_or_default(), &mut canonical)?;
        sink(&canonical)?;
    }
    canonical.clear();
    body.finish(&mut canonical);
    sink(&canonical)
}

/// A random boundary: 128 bits, which no body contains by chance.
fn boundary() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| Error::io("the operating system's random generator failed"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("=_sealmail_{hex}"))
}

/// How the body of the signed entity is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Already 7-bit safe (7bit, quoted-printable, base64): only CRLF canonicalised.
    Canonical,
    /// Binary (or 8-bit non-text) bodies: base64.
    Base64,
    /// 8-bit text: quoted-printable, which keeps it readable.
    QuotedPrintable,
    /// A 7bit-declared body whose first MiB was 7-bit: canonicalised, and refused if an 8-bit
    /// byte turns up later.
    CheckedSevenBit,
}

/// The entity's header section (CRLF, final empty line included) with the transfer encoding
/// it will have, and how to encode its body. RFC 8551 §3.1.2: "the MIME entity [...] must be
/// 7-bit"; 8bit/binary bodies are re-encoded (multipart bodies cannot be, and pass unchanged).
pub fn seven_bit_entity(inner_header_section: &[u8], ahead: &[u8]) -> Result<(Vec<u8>, Encoding)> {
    let info = entity_info(inner_header_section);
    let eight_bit = ahead.iter().any(|&b| b >= 0x80 || b == 0);
    let encoding = match info.transfer_encoding.as_deref() {
        Some("base64") | Some("quoted-printable") => Encoding::Canonical,
        _ if info.multipart => Encoding::Canonical,
        Some("binary") => Encoding::Base64,
        Some("8bit") | None | Some("7bit")
            if eight_bit || info.transfer_encoding.as_deref() == Some("8bit") =>
        {
            if info.text {
                Encoding::QuotedPrintable
            } else {
                Encoding::Base64
            }
        }
        Some("7bit") | None => Encoding::CheckedSevenBit,
        Some(other) => {
            return Err(Error::data(format!(
                "unknown Content-Transfer-Encoding {other:?}"
            )));
        }
    };
    // The implicit text/plain that `message::split` marks for decrypt is not for a signed
    // entity, which the recipient sees as it is.
    let mut head = without_implicit_marker(inner_header_section);
    match encoding {
        Encoding::Base64 => head = message::with_transfer_encoding(&head, "base64")?,
        Encoding::QuotedPrintable => {
            head = message::with_transfer_encoding(&head, "quoted-printable")?
        }
        _ => {}
    }
    Ok((head, encoding))
}

/// What the entity's header says about its body.
struct EntityInfo {
    /// Content-Transfer-Encoding, lower-cased; `None` when absent (7bit).
    transfer_encoding: Option<String>,
    multipart: bool,
    /// text/* (or no Content-Type: text/plain).
    text: bool,
}

fn entity_info(header_section: &[u8]) -> EntityInfo {
    use mail_parser::MimeHeaders;
    let parsed = mail_parser::MessageParser::new().parse_headers(header_section);
    let ctype = parsed
        .as_ref()
        .and_then(|m| m.content_type())
        .map(|ct| ct.ctype().to_ascii_lowercase());
    EntityInfo {
        transfer_encoding: parsed
            .as_ref()
            .and_then(|m| m.content_transfer_encoding())
            .map(|cte| cte.trim().to_ascii_lowercase()),
        multipart: ctype.as_deref() == Some("multipart"),
        text: ctype.as_deref().is_none_or(|t| t == "text"),
    }
}

/// The inner header section without the marker `message::split` puts on a Content-Type it
/// supplies (decrypt drops it; a signed entity is seen as it is).
fn without_implicit_marker(header_section: &[u8]) -> Vec<u8> {
    let marked = message::IMPLICIT_CONTENT_TYPE.as_bytes();
    match header_section.strip_prefix(marked) {
        Some(rest) => {
            let mut out = b"Content-Type: text/plain; charset=us-ascii".to_vec();
            out.extend_from_slice(rest);
            out
        }
        None => header_section.to_vec(),
    }
}

/// The body's streaming encoder to the canonical, 7-bit form.
struct BodyEncoder {
    encoding: Encoding,
    canonical: Canonicalizer,
    b64_carry: Vec<u8>,
    qp: QuotedPrintable,
}

impl BodyEncoder {
    fn new(encoding: Encoding) -> Self {
        BodyEncoder {
            encoding,
            canonical: Canonicalizer::default(),
            b64_carry: Vec::new(),
            qp: QuotedPrintable::default(),
        }
    }

    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self.encoding {
            Encoding::Canonical => self.canonical.push(input, out),
            Encoding::CheckedSevenBit => {
                if input.iter().any(|&b| b >= 0x80 || b == 0) {
                    return Err(Error::data(
                        "the body is declared 7bit but has 8-bit bytes past its first MiB",
                    )
                    .with_hint("declare Content-Transfer-Encoding: 8bit so it is re-encoded"));
                }
                self.canonical.push(input, out)
            }
            Encoding::Base64 => {
                self.b64_carry.extend_from_slice(input);
                let whole = self.b64_carry.len() / B64_LINE_INPUT * B64_LINE_INPUT;
                base64_lines(self.b64_carry.get(..whole).unwrap_or_default(), out);
                self.b64_carry.drain(..whole);
            }
            Encoding::QuotedPrintable => self.qp.push(input, out),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        match self.encoding {
            Encoding::Base64 => {
                let carry = std::mem::take(&mut self.b64_carry);
                base64_lines(&carry, out);
            }
            Encoding::QuotedPrintable => self.qp.finish(out),
            _ => {}
        }
    }
}

/// Base64 of `data` in CRLF-ended lines of 76 characters (the last one shorter).
fn base64_lines(data: &[u8], out: &mut Vec<u8>) {
    for line in data.chunks(B64_LINE_INPUT) {
        let start = out.len();
        out.resize(start + line.len().div_ceil(3) * 4, 0);
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(line, out.get_mut(start..).unwrap_or_default())
            .unwrap_or(0);
        out.truncate(start + written);
        out.extend_from_slice(b"\r\n");
    }
}

/// Quoted-printable (RFC 2045 §6.7) as a streaming transform; line ends in the input (LF or
/// CRLF) become CRLF hard breaks, long lines get soft breaks at 76 characters.
#[derive(Debug, Default)]
struct QuotedPrintable {
    column: usize,
    /// A space or tab not yet written: encoded if the line ends right after it.
    pending_space: Option<u8>,
    /// A CR not yet written: half of a line end if an LF follows.
    pending_cr: bool,
}

impl QuotedPrintable {
    const MAX: usize = 76;

    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 8);
        for &byte in input {
            if self.pending_cr {
                self.pending_cr = false;
                if byte == b'\n' {
                    self.end_line(out);
                    continue;
                }
                self.flush_space(out);
                self.encoded(b'\r', out);
            }
            match byte {
                b'\r' => self.pending_cr = true,
                b'\n' => self.end_line(out),
                b' ' | b'\t' => {
                    self.flush_space(out);
                    self.pending_space = Some(byte);
                }
                33..=60 | 62..=126 => {
                    self.flush_space(out);
                    self.literal(byte, out);
                }
                _ => {
                    self.flush_space(out);
                    self.encoded(byte, out);
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            self.flush_space(out);
            self.encoded(b'\r', out);
        }
        if let Some(space) = self.pending_space.take() {
            self.encoded(space, out);
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        if let Some(space) = self.pending_space.take() {
            self.encoded(space, out);
        }
        out.extend_from_slice(b"\r\n");
        self.column = 0;
    }

    fn flush_space(&mut self, out: &mut Vec<u8>) {
        if let Some(space) = self.pending_space.take() {
            self.literal(space, out);
        }
    }

    /// Room for `width` more characters and a soft break's `=` on this line.
    fn make_room(&mut self, width: usize, out: &mut Vec<u8>) {
        if self.column + width > Self::MAX - 1 {
            out.extend_from_slice(b"=\r\n");
            self.column = 0;
        }
    }

    fn literal(&mut self, byte: u8, out: &mut Vec<u8>) {
        self.make_room(1, out);
        out.push(byte);
        self.column += 1;
    }

    fn encoded(&mut self, byte: u8, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.make_room(3, out);
        out.extend_from_slice(&[
            b'=',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 15)],
        ]);
        self.column += 3;
    }
}

/// The canonical entity as it goes on the wire: in the message's own line ending.
struct WireForm {
    lf: Option<Decanonicalizer>,
}

impl WireForm {
    fn new(eol: LineEnding) -> Self {
        WireForm {
            lf: (eol == LineEnding::Lf).then(Decanonicalizer::default),
        }
    }

    fn push(&mut self, canonical: &[u8], out: &mut Vec<u8>) {
        match &mut self.lf {
            Some(d) => d.push(canonical, out),
            None => out.extend_from_slice(canonical),
        }
    }

    fn finish(self, out: &mut Vec<u8>) {
        if let Some(d) = self.lf {
            d.finish(out);
        }
    }
}

/// Base64 in 76-character lines ended by `eol`, written as bytes come (the S/MIME framing of
/// the CMS bytes).
pub struct Base64Lines<W: Write> {
    out: W,
    eol: LineEnding,
    carry: Vec<u8>,
    line: Vec<u8>,
}

impl<W: Write> Base64Lines<W> {
    pub fn new(out: W, eol: LineEnding) -> Self {
        Base64Lines {
            out,
            eol,
            carry: Vec::with_capacity(B64_LINE_INPUT * 1024),
            line: Vec::with_capacity(80 * 1024),
        }
    }

    fn emit(&mut self, all: bool) -> std::io::Result<()> {
        let whole = if all {
            self.carry.len()
        } else {
            self.carry.len() / B64_LINE_INPUT * B64_LINE_INPUT
        };
        self.line.clear();
        base64_lines(self.carry.get(..whole).unwrap_or_default(), &mut self.line);
        if self.eol == LineEnding::Lf {
            self.line.retain(|&b| b != b'\r');
        }
        self.out.write_all(&self.line)?;
        self.carry.drain(..whole);
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        self.emit(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Base64Lines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.carry.extend_from_slice(buf);
        if self.carry.len() >= B64_LINE_INPUT * 1024 {
            self.emit(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(input: &[u8]) -> Vec<u8> {
        let mut q = QuotedPrintable::default();
        let mut out = Vec::new();
        // One byte at a time: every state must survive a chunk boundary.
        for b in input {
            q.push(std::slice::from_ref(b), &mut out);
        }
        q.finish(&mut out);
        out
    }

    #[test]
    fn quoted_printable_encodes_8bit_and_trailing_space() {
        assert_eq!(
            qp("Grüße \nok\r\nx=y\t".as_bytes()),
            b"Gr=C3=BC=C3=9Fe=20\r\nok\r\nx=3Dy=09".to_vec()
        );
        assert_eq!(qp(b"a\rb"), b"a=0Db".to_vec());
    }

    #[test]
    fn quoted_printable_lines_stay_within_76_characters() {
        let long = vec![b'a'; 200];
        let out = qp(&long);
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{}", line.len());
        }
        let decoded: Vec<u8> = String::from_utf8(out)
            .unwrap()
            .replace("=\r\n", "")
            .into_bytes();
        assert_eq!(decoded, long);
    }

    #[test]
    fn base64_bodies_are_76_character_crlf_lines() {
        let mut enc = BodyEncoder::new(Encoding::Base64);
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut out = Vec::new();
        for piece in data.chunks(7) {
            enc.push(piece, &mut out).unwrap();
        }
        enc.finish(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.trim_end().len() <= 76));
        let joined: String = text.split("\r\n").collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
            data
        );
    }
}
